"""Query/Retrieve and PACS nodes dialogs driven against the session's Orthanc (offscreen)."""

from __future__ import annotations

from pathlib import Path

import pytest
from orthanc import OrthancServer

from namecar_viewer.pacs import (
    DicomWebNode,
    DimseNode,
    LocalAe,
    LocalStore,
    NodeSettings,
    SeriesStatus,
)

SHOTS = Path("/tmp/shots")


@pytest.fixture
def settings(local_ae: LocalAe, dimse_node: DimseNode, web_node: DicomWebNode) -> NodeSettings:
    return NodeSettings(local=local_ae, dimse=[dimse_node], dicomweb=[web_node])


def test_query_retrieve_dialog_search_retrieve_cancel_retry(
    qtbot, settings: NodeSettings, demo_on_server: list[Path], tmp_path: Path
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QProgressBar

    from namecar_viewer.gui.pacs import QueryRetrieveDialog

    store = LocalStore(tmp_path / "store")
    dlg = QueryRetrieveDialog(settings, store)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.fields["subject_id"].setText("NAMECAR-001")
    qtbot.mouseClick(dlg.search_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.study_table.rowCount() == 7, timeout=20000)
    assert "7 studies found" in dlg.status.text()
    # the PET study: its one series appears
    pet_row = next(i for i, s in enumerate(dlg.studies) if s.modalities == "PT")
    dlg.study_table.selectRow(pet_row)
    qtbot.waitUntil(
        lambda: dlg.series_table.rowCount() == 1 and dlg.series[0].modality == "PT", timeout=20000
    )
    with qtbot.waitSignal(dlg.retrieved, timeout=60000) as sig:
        qtbot.mouseClick(dlg.retrieve_all_btn, Qt.MouseButton.LeftButton)
    (folder,) = sig.args[0]
    assert len(list(folder.glob("*.dcm"))) == 56
    bar = dlg.series_table.cellWidget(0, 4)
    assert isinstance(bar, QProgressBar) and (bar.value(), bar.maximum()) == (56, 56)
    assert dlg.series_table.item(0, 5).text().startswith("done")

    # a CT study by C-MOVE, cancelled after a few instances, then retried
    ct_row = next(i for i, s in enumerate(dlg.studies) if s.study_date == "20250115")
    dlg.study_table.selectRow(ct_row)
    qtbot.waitUntil(
        lambda: dlg.series_table.rowCount() == 1 and dlg.series[0].modality == "CT", timeout=20000
    )
    dlg.method_box.setCurrentIndex(1)  # C-MOVE
    assert dlg.method_box.currentText().startswith("C-MOVE")

    with qtbot.waitSignal(dlg.retrieved, timeout=60000):
        dlg.retrieve(selected_only=False)
        # cancel from the GUI thread once some instances arrived
        qtbot.waitUntil(
            lambda: (
                dlg.progress.get(dlg.series[0].series_instance_uid) is not None
                and dlg.progress[dlg.series[0].series_instance_uid].received >= 5
            ),
            timeout=30000,
        )
        qtbot.mouseClick(dlg.cancel_btn, Qt.MouseButton.LeftButton)
    rep = dlg.last_report
    assert rep.series[0].status is SeriesStatus.CANCELLED
    kept = rep.series[0].done
    assert 5 <= kept < 84
    assert dlg.retry_btn.isEnabled()
    SHOTS.mkdir(exist_ok=True)
    dlg.grab().save(str(SHOTS / "pacs_query_retrieve_cancelled.png"))
    with qtbot.waitSignal(dlg.retrieved, timeout=60000):
        qtbot.mouseClick(dlg.retry_btn, Qt.MouseButton.LeftButton)
    rep = dlg.last_report
    assert rep.ok and rep.series[0].skipped == kept and rep.series[0].done == 84
    dlg.grab().save(str(SHOTS / "pacs_query_retrieve.png"))
    dlg.close()


def test_nodes_dialog_edit_test_and_save(
    qtbot, settings: NodeSettings, orthanc: OrthancServer, tmp_path: Path
) -> None:
    from namecar_viewer.gui.pacs import NodesDialog

    path = tmp_path / "nodes.json"
    dlg = NodesDialog(settings, path)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.dimse.selectRow(0)
    dlg.test_selected(dlg.dimse)
    qtbot.waitUntil(lambda: dlg.status.text().startswith(("OK", "Failed")), timeout=20000)
    assert dlg.status.text().startswith("OK: test-orthanc: C-ECHO"), dlg.status.text()
    dlg.web.selectRow(0)
    dlg.test_selected(dlg.web)
    qtbot.waitUntil(
        lambda: dlg.status.text().startswith(("OK", "Failed")) and "QIDO" in dlg.status.text(),
        timeout=20000,
    )
    SHOTS.mkdir(exist_ok=True)
    dlg.grab().save(str(SHOTS / "pacs_nodes.png"))
    dlg.save()
    again = NodeSettings.load(path)
    assert again.dimse[0].port == orthanc.dicom_port
    assert again.dicomweb[0].password == settings.dicomweb[0].password
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # a bad port is refused with the row named
    dlg2 = NodesDialog(again, path)
    qtbot.addWidget(dlg2)
    dlg2.dimse.item(0, 3).setText("abc")
    dlg2.test_selected(dlg2.dimse)
    assert dlg2.status.text() == "Invalid settings: DIMSE row 1: port 'abc' is not a number"


def test_main_window_file_menu_retrieve_lands_in_index(
    qtbot,
    settings: NodeSettings,
    demo_on_server: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PySide6.QtCore import Qt

    import namecar_viewer.gui.pacs.qr_dialog as qr
    import namecar_viewer.pacs.nodes as nodes
    from namecar_viewer.gui.main_window import MainWindow

    cfg = tmp_path / "nodes.json"
    settings.save(cfg)
    monkeypatch.setattr(nodes, "default_settings_path", lambda: cfg)
    monkeypatch.setattr(qr, "default_store", lambda: LocalStore(tmp_path / "store"))
    w = MainWindow()
    qtbot.addWidget(w)
    assert w.actions_by_name["pacs_qr"].text() == "Query/&Retrieve from PACS..."
    assert "pacs_nodes" in w.actions_by_name
    w.actions_by_name["pacs_qr"].trigger()
    (dlg,) = [c for c in w.findChildren(qr.QueryRetrieveDialog)]
    qtbot.addWidget(dlg)
    dlg.fields["modality"].setText("PT")
    dlg.fields["patient_id"].setText("NAMECAR-001")
    qtbot.mouseClick(dlg.search_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.study_table.rowCount() == 1, timeout=20000)
    qtbot.waitUntil(lambda: dlg.series_table.rowCount() == 1, timeout=20000)
    with qtbot.waitSignal(dlg.retrieved, timeout=60000):
        qtbot.mouseClick(dlg.retrieve_all_btn, Qt.MouseButton.LeftButton)
    # the main window indexed what arrived (its in-memory study index) and lists it
    qtbot.waitUntil(lambda: w.index.counts()["instances"] == 56, timeout=30000)
    assert w.index.counts()["studies"] == 1
    dlg.close()

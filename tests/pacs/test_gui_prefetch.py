"""The worklist dock prefetches the next cases from the configured PACS node (status bar says
what is fetched), opens a prefetched case from the local disk, and fetches a case that is not
local with a progress dialog before opening it (offscreen, against the session's Orthanc)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from namecar_viewer.app.auth import AuthService
from namecar_viewer.pacs import DicomWebNode, LocalAe, NodeSettings
from namecar_viewer.pacs.nodes import PrefetchSettings
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.persistence.users import Role

PASSWORD = "correct horse 42"


@pytest.fixture(autouse=True)
def _no_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")


def _reader_window(
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: NodeSettings,
) -> tuple[Any, Any]:
    import namecar_viewer.pacs.local_store as local_store
    import namecar_viewer.pacs.nodes as nodes
    from namecar_viewer.gui.login import ReviewContext
    from namecar_viewer.gui.main_window import MainWindow

    cfg = tmp_path / "nodes.json"
    settings.save(cfg)
    monkeypatch.setattr(nodes, "default_settings_path", lambda: cfg)
    monkeypatch.setattr(local_store, "default_retrieve_dir", lambda: tmp_path / "pacs")
    db = ReadsDatabase(tmp_path / "reads.sqlite")
    auth = AuthService(db.engine)
    admin = auth.first_run("admin")
    auth.set_password(admin, PASSWORD)
    auth.create_user(admin, "reader1", {Role.READER}, PASSWORD)
    actx = ReviewContext.for_user(db, auth, admin)
    case = actx.worklist.create_case("admin", "NAMECAR-001", "FU03M", "NAMECAR-001")
    actx.worklist.assign("admin", case, "reader1")
    ctx = ReviewContext.for_user(db, auth, auth.login("reader1", PASSWORD))
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.set_review(ctx)
    w.show()
    dock = w.review.show_worklist()
    return w, dock


def test_worklist_prefetches_next_case_and_opens_it_from_disk(
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    demo_on_server: list[Path],
    local_ae: LocalAe,
    web_node: DicomWebNode,
) -> None:
    settings = NodeSettings(local=local_ae, dicomweb=[web_node])
    w, dock = _reader_window(qtbot, tmp_path, monkeypatch, settings)
    assert dock.prefetcher is not None
    texts: list[str] = []
    dock._bridge.status.connect(lambda _st: texts.append(dock.prefetch_label.text()))
    qtbot.waitUntil(
        lambda: dock.prefetch_label.text().startswith("Next cases prefetched"), timeout=120000
    )
    assert any(t.startswith("Prefetching ") and "images" in t and "MB/s" in t for t in texts), texts
    assert len(list((tmp_path / "pacs").rglob("*.dcm"))) == len(demo_on_server)
    assert w.index.counts()["instances"] == 0  # fetched, not yet indexed
    # opening the case: indexed from the local disk at once, its CT on screen
    dock.open_case(dock.panel.items[0])
    assert w.index.counts()["instances"] == len(demo_on_server)
    assert not hasattr(dock, "fetch_dialog")
    dock.prefetcher.stop()


def test_opening_a_case_not_local_fetches_it_with_progress(
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    demo_on_server: list[Path],
    local_ae: LocalAe,
    web_node: DicomWebNode,
) -> None:
    settings = NodeSettings(
        local=local_ae, dicomweb=[web_node], prefetch=PrefetchSettings(cases_ahead=0)
    )
    w, dock = _reader_window(qtbot, tmp_path, monkeypatch, settings)
    dock.open_case(dock.panel.items[0])
    dlg = dock.fetch_dialog
    labels: list[str] = []
    qtbot.waitUntil(
        lambda: labels.append(dlg.labelText()) or w.index.counts()["instances"] > 0, timeout=120000
    )
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=120000)
    assert w.index.counts()["instances"] == len(demo_on_server)
    assert any("images" in t and "MB/s" in t for t in labels), labels
    dock.prefetcher.stop()

"""PET numbers in one place (issue 16, part 6): SUVpeak beside every ROI drawn on the PET (grid,
fused view), the MRI-PET lesion table kept with the ancillary MRI-PET record and reopened, its
"MRI/CT size" filled from the linked lesion, the PET tab's buttons whole, the SUV readout
outlined.  The workstation opens as ``namecar-viewer --demo --user "Demo Reader"`` does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QAbstractButton, QComboBox, QWidget
from pytestqt.qtbot import QtBot

from namecar_viewer.app.pet import SUV_UNIT, is_suv
from namecar_viewer.app.pet_lesions import (
    LESION_TABLE_KEY,
    LesionTableState,
    PetLesion,
    ReferenceVoi,
    Threshold,
    anatomical_size,
    lesion_table_in,
    measurement_suv_peak,
)
from namecar_viewer.app.read_session import CreateLesion, next_lesion
from namecar_viewer.core.measure import Measurement, MeasurementKind
from namecar_viewer.core.reads import LesionRole, Site
from namecar_viewer.core.suv import ReferenceRegion, SphereVoi, ThresholdKind
from namecar_viewer.gui.main import start_review
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.gui.tools.tools import EllipseTool, SphereTool
from namecar_viewer.persistence.study_index import StudyIndex

SHOTS = Path("/tmp/shots/display")


@pytest.fixture
def demo_db(small_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from namecar_viewer.phantom.demo_read import ensure_demo_read

    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")
    monkeypatch.setenv("NAMECAR_READS_DB", str(tmp_path / "own.sqlite"))
    db = tmp_path / "reads.sqlite"
    uid, why = ensure_demo_read(small_demo, db)
    assert uid is not None, why
    return db


def _open(qtbot: QtBot, demo: Path, db: Path) -> MainWindow:
    w = MainWindow(index=StudyIndex(":memory:"))
    qtbot.addWidget(w)
    assert start_review(w, str(db), "Demo Reader", True) == ""
    w.resize(1600, 1000)
    w.show()
    qtbot.waitExposed(w)
    w.open_paths([str(demo)])
    qtbot.waitUntil(lambda: not w.reading.loading, timeout=30000)
    return w


def _t1(truth: dict[str, Any]) -> dict[str, Any]:
    return next(les for les in truth["lesions"] if les["id"] == "T1")


def test_suv_peak_of_rois_on_the_pet(
    qtbot: QtBot, small_demo: Path, demo_db: Path, ground_truth: dict[str, Any]
) -> None:
    """Ellipse and sphere drawn on the PET of the grid: SUVpeak (PERCIST 1 cm3) in the label.
    The kidney tumour holds SUV 11.5 in every voxel: the peak sphere inside it means 11.5."""
    from test_fusion_grid import drag

    w = _open(qtbot, small_demo, demo_db)
    w.set_layout("1x1")
    vp = w.viewports[0]
    row = next(r for r in w.index.stack_rows() if r.modality == "PT")
    w.reading.load_into(vp, row.id)
    qtbot.waitUntil(lambda: not w.reading.loading, timeout=30000)
    assert is_suv(vp.model.volume)
    c = np.asarray(_t1(ground_truth)["pet"]["centre_mm"], dtype=np.float64)
    vp.model.move_to_point(c)
    w.reads.set_tool(EllipseTool)
    drag(
        vp,
        vp.patient_to_screen(c - np.array([10.0, 8.0, 0.0])),
        vp.patient_to_screen(c + np.array([10.0, 8.0, 0.0])),
    )
    m = w.reads.ancillary_session.read.measurements[-1].measurement
    assert m.kind is MeasurementKind.ELLIPSE
    assert w.reads.layer.suv_peak(vp, m) == pytest.approx(11.5, abs=1e-3)
    assert f"SUVpeak 11.50 {SUV_UNIT}" in w.reads.layer.label_text(vp, m)
    w.reads.set_tool(SphereTool)
    drag(vp, vp.patient_to_screen(c), vp.patient_to_screen(c + np.array([12.0, 0.0, 0.0])))
    sphere = w.reads.ancillary_session.read.measurements[-1].measurement
    assert sphere.kind is MeasurementKind.SPHERE
    assert f"SUVpeak 11.50 {SUV_UNIT}" in w.reads.layer.label_text(vp, sphere)
    w.reads.layer.close_chooser()  # left unassigned: the labels are what this looks at
    vp._cursor = QPointF(vp.patient_to_screen(c))
    vp.update()
    qtbot.wait(30)
    SHOTS.mkdir(parents=True, exist_ok=True)
    vp.grab().save(str(SHOTS / "pet_grid_suvpeak.png"))


def test_suv_peak_needs_suv(ground_truth: dict[str, Any]) -> None:
    """A non-PET volume or a raw PET gives no SUVpeak (its values are not uptake)."""
    from gui_synthetic import synthetic_ct

    ct = synthetic_ct()
    m = Measurement.create(MeasurementKind.SPHERE, [(0.0, 0.0, 0.0), (5.0, 0.0, 0.0)])
    assert measurement_suv_peak(ct, m) is None


def test_lesion_table_state_round_trip() -> None:
    state = LesionTableState(
        (PetLesion("A1", "A1", SphereVoi((1.0, 2.0, 3.0), 15.0)),),
        ReferenceVoi(ReferenceRegion.LIVER, SphereVoi((4.0, 5.0, 6.0), 10.0)),
        Threshold(2.5, ThresholdKind.ABSOLUTE),
    )
    assert LesionTableState.from_json(state.to_json()) == state
    assert lesion_table_in({LESION_TABLE_KEY: state.to_json()}) == state
    assert lesion_table_in({}) is None
    with pytest.raises(ValueError, match="lesion table"):
        LesionTableState.from_json("{not json")


def _whole(widget: QWidget) -> list[str]:
    cut = []
    for child in widget.findChildren(QWidget):
        texty = isinstance(child, QAbstractButton | QComboBox) and child.isVisibleTo(widget)
        if texty and child.sizeHint().width() > child.width() + 1:
            cut.append(child.text() if isinstance(child, QAbstractButton) else "combo box")
    return cut


def test_lesion_table_kept_with_the_record_and_sized_from_the_linked_lesion(
    qtbot: QtBot, small_demo: Path, demo_db: Path, ground_truth: dict[str, Any]
) -> None:
    w = _open(qtbot, small_demo, demo_db)
    reads = w.reads
    # the reader's ancillary lesion A1 is the RECIST read's T1 (as the chooser links it)
    anc = reads.ancillary_session.read
    a1 = replace(
        next_lesion(anc, LesionRole.ANCILLARY, Site.KIDNEY), description="same lesion as T1 kidney"
    )
    reads.ancillary_undo.push_command(CreateLesion(a1))
    size = anatomical_size("A1", reads.ancillary_session.read, reads.session.read)
    # T1's latest diameter in the demo read: 60 x 48 mm at fu09m
    assert size is not None and (size.long_axis_mm, size.short_axis_mm) == (60.0, 48.0)
    assert (size.record, size.lesion_label, size.timepoint_label) == ("recist", "T1", "fu09m")

    w.actions_by_name["mri_pet_layout"].trigger()
    host = w.mri_pet_window
    host.resize(1280, 800)
    qtbot.waitExposed(host)
    view = host.centralWidget()
    view.side.setCurrentWidget(view.lesions)
    qtbot.wait(30)
    panel = view.lesions
    assert _whole(panel) == []  # the PET tab's buttons and choices whole at 1280x800
    pet = view.pet
    t1 = _t1(ground_truth)["pet"]
    w.state.set_crosshair(np.asarray(t1["centre_mm"], dtype=np.float64), pet.frame_of_reference_uid)
    panel.id_edit.setText("A1")
    panel.add_button.click()
    (row,) = panel.rows
    assert row.suv_peak == pytest.approx(11.5, abs=1e-3)
    assert row.suv_max == pytest.approx(11.5, abs=1e-3)
    size_item = panel.table.item(0, panel.table.columnCount() - 1)
    assert size_item.text() == "60.0 x 48.0 mm"
    assert size_item.toolTip() == "RECIST read, lesion T1 at fu09m"
    stored = lesion_table_in(reads.ancillary_session.read.settings)
    assert stored is not None and [les.lesion_id for les in stored.lesions] == ["A1"]
    # the threshold is kept too
    panel.threshold.setValue(50.0)
    assert lesion_table_in(reads.ancillary_session.read.settings).threshold.value == 50.0
    SHOTS.mkdir(parents=True, exist_ok=True)
    host.grab().save(str(SHOTS / "mri_pet_lesions_1280x800.png"))

    # committed with the record: the database copy holds it
    db = reads._database(create=False)
    assert db is not None
    saved = db.load_read(reads.ancillary_session.read.uid)
    assert lesion_table_in(saved.settings) == stored.__class__(
        stored.lesions, stored.reference, Threshold(50.0, ThresholdKind.PERCENT_OF_MAX)
    )
    # undo takes the threshold back, then the lesion; redo brings it back
    reads.ancillary_undo.undo()
    assert panel.threshold.value() == 41.0 and len(panel.rows) == 1
    reads.ancillary_undo.undo()
    assert panel.rows == [] and panel.table.rowCount() == 0
    reads.ancillary_undo.redo()
    assert [r.lesion_id for r in panel.rows] == ["A1"]

    # reopened: a new MRI-PET window shows the table the record holds
    host.close()
    w.actions_by_name["mri_pet_layout"].trigger()
    again = w.mri_pet_window.centralWidget().lesions
    assert again is not panel
    assert [r.lesion_id for r in again.rows] == ["A1"]
    assert again.rows[0].suv_peak == pytest.approx(11.5, abs=1e-3)
    w.mri_pet_window.close()

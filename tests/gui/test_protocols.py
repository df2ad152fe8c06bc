"""Hanging protocols in the window, linked scrolling, and a manual offset between timepoints."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from namecar_viewer.core.geometry import Volume
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.gui.study_browser import STACK_MIME
from namecar_viewer.persistence.study_index import StudyIndex


@pytest.fixture
def window(qtbot: QtBot, demo_index: StudyIndex) -> MainWindow:
    w = MainWindow(index=demo_index)
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    w.browser.refresh()
    return w


def _wait_loaded(qtbot: QtBot, w: MainWindow) -> None:
    qtbot.waitUntil(lambda: not w.reading.loading, timeout=30000)


def _uid(truth: dict, **match: object) -> str:
    return next(
        s["series_instance_uid"]
        for s in truth["series"]
        if all(s.get(k) == v for k, v in match.items())
    )


def _shown(w: MainWindow) -> list[str | None]:
    return [
        vp.model.volume.series_instance_uid if vp.model.volume is not None else None
        for vp in w.visible_viewports()
    ]


def test_each_protocol_on_the_demo(
    qtbot: QtBot, window: MainWindow, ground_truth: dict, shots_dir: str
) -> None:
    w = window
    w.actions_by_name["protocol_recist"].trigger()
    _wait_loaded(qtbot, w)
    assert w.layout_name == "1x2"
    # the reader's own read is empty: the next CT to read (the inclusion scan) beside the
    # baseline, never the latest CT past the unread ones (tests/app/test_reading_order.py)
    assert _shown(w) == [
        _uid(ground_truth, timepoint="baseline"),
        _uid(ground_truth, timepoint="inclusion"),
    ]
    w.grab().save(f"{shots_dir}/protocol_recist.png")

    w.actions_by_name["protocol_eligibility"].trigger()
    _wait_loaded(qtbot, w)
    assert _shown(w) == [
        _uid(ground_truth, timepoint="baseline"),
        _uid(ground_truth, timepoint="inclusion"),
    ]
    w.grab().save(f"{shots_dir}/protocol_eligibility.png")

    w.actions_by_name["protocol_mri_pet"].trigger()
    _wait_loaded(qtbot, w)
    assert w.layout_name == "2x2"
    assert _shown(w) == [
        _uid(ground_truth, description="T2 TSE AX"),
        _uid(ground_truth, modality="PT"),
        None,
        None,
    ]
    # the fusion and MIP slots hold the PET/MRI work's views (tests/gui/test_fusion_grid.py)
    assert w.reading.pet.fusion_slot().host is w.viewports[2]
    assert w.reading.pet.mip_slot().host is w.viewports[3]
    w.grab().save(f"{shots_dir}/protocol_mri_pet.png")

    # the reader overrides a slot: the 3-month CT dropped on the RECIST "current" viewport
    w.actions_by_name["protocol_recist"].trigger()
    _wait_loaded(qtbot, w)
    fu3 = _uid(ground_truth, timepoint="fu03m")
    row = next(r for r in w.index.stack_rows() if r.series_instance_uid == fu3)
    w.reading.drop_stack(w.viewports[1], row.id)
    _wait_loaded(qtbot, w)
    assert _shown(w) == [_uid(ground_truth, timepoint="baseline"), fu3]
    assert STACK_MIME  # the browser drags this MIME type (tested in test_browser)


def test_layout_screenshots(
    qtbot: QtBot, window: MainWindow, ground_truth: dict, shots_dir: str
) -> None:
    w = window
    w.actions_by_name["protocol_eligibility"].trigger()
    _wait_loaded(qtbot, w)
    for name in ("1x1", "1x2", "2x2", "1x3"):
        w.set_layout(name)
        qtbot.wait(20)
        w.grab().save(f"{shots_dir}/protocol_layout_{name}.png")
    assert w.layout_name == "1x3"


def _same_for_pair(truth: dict) -> tuple[str, str]:
    return _uid(truth, description="T2 TSE AX"), _uid(truth, description="DWI b0 b800 AX")


def test_linked_scrolling_same_frame_of_reference(
    qtbot: QtBot, window: MainWindow, ground_truth: dict
) -> None:
    """T2 (128 x 128) and DWI (64 x 64) of the renal MRI share one frame of reference."""
    w = window
    w.set_layout("1x2")
    t2_uid, dwi_uid = _same_for_pair(ground_truth)
    rows = w.index.stack_rows()
    t2 = next(r for r in rows if r.series_instance_uid == t2_uid)
    dwi = next(r for r in rows if r.series_instance_uid == dwi_uid and r.label == "b=800")
    assert t2.frame_of_reference_uid == dwi.frame_of_reference_uid
    a, b = w.viewports[0], w.viewports[1]
    w.reading.load_into(a, t2.id)
    w.reading.load_into(b, dwi.id)
    _wait_loaded(qtbot, w)
    a.setFocus()
    for key, steps in ((Qt.Key.Key_Down, 1), (Qt.Key.Key_PageDown, 10), (Qt.Key.Key_Up, 1)):
        before = a.model.index
        qtbot.keyClick(a, key)
        assert a.model.index == before + (steps if key != Qt.Key.Key_Up else -1)
        za, zb = a.model.slice_centre()[2], b.model.slice_centre()[2]
        # the follower is on its slice nearest to the leader's position
        assert abs(za - zb) <= b.model.geometry.slice_spacing / 2 + 1e-6
    # switched off, the other viewport stays
    w.actions_by_name["link_scrolling"].trigger()
    idx_b = b.model.index
    qtbot.keyClick(a, Qt.Key.Key_Down)
    assert b.model.index == idx_b
    w.actions_by_name["link_scrolling"].trigger()


def _click_at(qtbot: QtBot, vp: object, point_lps: list[float]) -> None:
    s = vp.patient_to_screen(point_lps)  # type: ignore[attr-defined]
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=QPoint(round(s.x()), round(s.y())))


def test_manual_offset_maps_lesions_between_timepoints(
    qtbot: QtBot, window: MainWindow, ground_truth: dict, shots_dir: str
) -> None:
    """The reader clicks the kidney tumour T1 in the baseline and in the inclusion scan; then
    every other lesion's baseline centre maps onto its inclusion centre within one slice."""
    w = window
    w.actions_by_name["protocol_eligibility"].trigger()
    _wait_loaded(qtbot, w)
    base, incl = w.viewports[0], w.viewports[1]
    vb: Volume = base.model.volume
    vi: Volume = incl.model.volume
    assert vb.frame_of_reference_uid != vi.frame_of_reference_uid
    lesions = {les["id"]: les["ct"] for les in ground_truth["lesions"]}
    t1b, t1i = lesions["T1"]["baseline"]["centre_mm"], lesions["T1"]["inclusion"]["centre_mm"]
    # not linked yet: a crosshair in the baseline leaves the inclusion viewport alone
    idx_i = incl.model.index
    w.state.set_crosshair(t1b, vb.frame_of_reference_uid)
    assert incl.model.index == idx_i
    # the reader brings T1 into view in each, then picks it in both
    incl.model.move_to_point(t1i)
    w.actions_by_name["link_offset"].trigger()
    _click_at(qtbot, base, t1b)
    _click_at(qtbot, incl, t1i)
    m = w.state.transform(vb.frame_of_reference_uid, vi.frame_of_reference_uid)
    assert m is not None
    shift = np.subtract(t1i, t1b)  # the phantom's patient shift between the two studies
    # a click lands on a screen pixel (< 0.5 mm at this zoom) of the nearest slice (z < 1.25 mm)
    assert np.allclose(m[:3, 3][:2], shift[:2], atol=0.5)
    assert abs(m[2, 3] - shift[2]) <= 2.5 / 2 + 1e-6
    assert w.actions_by_name["tool_crosshair"].isChecked()
    spacing = incl.model.geometry.slice_spacing
    for lid in ("T2", "T3", "T4", "T5", "NT1"):
        pb = lesions[lid]["baseline"]["centre_mm"]
        pi = np.asarray(lesions[lid]["inclusion"]["centre_mm"])
        w.state.set_crosshair(pb, vb.frame_of_reference_uid)
        # the inclusion viewport moved to the lesion there, within one slice
        assert abs(float(incl.model.plane.distance([pi])[0])) <= spacing, lid
        mapped = w.state.crosshair_in(vi.frame_of_reference_uid)
        assert np.linalg.norm(mapped - pi) <= spacing, lid
    w.grab().save(f"{shots_dir}/protocol_offset_linked.png")
    # linked scrolling now follows across the timepoints by patient position
    base.setFocus()
    qtbot.keyClick(base, Qt.Key.Key_PageDown)
    zb = base.model.slice_centre()[2]
    zi = incl.model.slice_centre()[2]
    assert abs((zb + m[2, 3]) - zi) <= spacing / 2 + 1e-6

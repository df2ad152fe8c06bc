"""Main window: layouts, menus, shortcut list, screenshots of each layout."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from namecar_viewer.app.view_state import ViewportModel
from namecar_viewer.core.geometry import Volume, affine_from_dicom
from namecar_viewer.core.geometry.reslice import SliceOrientation, edge_letters
from namecar_viewer.gui.main_window import LAYOUTS, MainWindow
from namecar_viewer.gui.viewport import SliceViewport


def _window(qtbot: QtBot) -> MainWindow:
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitUntil(w.isVisible)
    return w


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layout_screenshots(qtbot: QtBot, ct_volume: Volume, shots_dir: str, layout: str) -> None:
    w = _window(qtbot)
    w.show_volume(ct_volume, "Synthetic CT 2.5 mm", ["DOE^JANE", "NAMECAR-001", "20250101 CT CAP"])
    w.actions_by_name[f"layout_{layout}"].trigger()
    rows, cols = LAYOUTS[layout]
    visible = [vp for vp in w.viewports if vp.isVisible()]
    assert len(visible) == rows * cols
    # a crosshair through the sphere centre (10, -10, 110) so the linked views show it
    w.state.set_crosshair([10.0, -10.0, 110.0], ct_volume.frame_of_reference_uid)
    qtbot.wait(20)
    w.grab().save(f"{shots_dir}/layout_{layout}.png")
    # every visible viewport is on the slice through the sphere centre
    for vp in visible:
        plane = vp.model.plane
        assert abs(plane.distance([10.0, -10.0, 110.0])[0]) <= max((*plane.pixel_spacing, 2.5)) / 2


def test_blinded_mode_hides_patient_text(qtbot: QtBot, ct_volume: Volume, shots_dir: str) -> None:
    w = _window(qtbot)
    w.show_volume(ct_volume, "CT", ["DOE^JANE", "NAMECAR-001"])
    assert "DOE^JANE" in w.viewports[0].overlay_texts()["top_left"]
    w.actions_by_name["blinded"].trigger()
    for vp in w.viewports:
        assert "DOE^JANE" not in "".join(vp.overlay_texts().values())
    w.grab().save(f"{shots_dir}/blinded_1x3.png")


def test_shortcut_dialog_lists_every_action_key(qtbot: QtBot, shots_dir: str) -> None:
    w = _window(qtbot)
    dlg = w.show_shortcuts()
    qtbot.addWidget(dlg)
    keys = {dlg.table.item(r, 2).text() for r in range(dlg.table.rowCount())}
    for act in w.actions_by_name.values():
        if not act.shortcut().isEmpty():
            assert (
                act.shortcut().toString() in keys
                or act.shortcut().toString(act.shortcut().SequenceFormat.NativeText) in keys
            )
    assert "Page Down / Page Up" in keys
    dlg.grab().save(f"{shots_dir}/shortcuts_dialog.png")


def test_presets_and_invert_by_key(qtbot: QtBot, ct_volume: Volume) -> None:
    w = _window(qtbot)
    w.show_volume(ct_volume, "CT")
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    w.viewports[0].setFocus()
    # through the QWindow so that the shortcut map sees the key, as for a real key press
    qtbot.keyClick(w.windowHandle(), Qt.Key.Key_2)  # lung
    assert (w.active.model.window.width, w.active.model.window.center) == (1500.0, -600.0)
    qtbot.keyClick(w.windowHandle(), Qt.Key.Key_I)
    assert w.active.model.invert


def test_missing_loader_or_bad_stack_shows_reason(qtbot: QtBot, shots_dir: str) -> None:
    w = _window(qtbot)
    w.show_error("no ImagePositionPatient in IM0001 (0020,0032)", "MR T2 axial")
    assert w.active.model.error is not None
    w.grab().save(f"{shots_dir}/load_error.png")


def test_screenshot_command_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run(
        [sys.executable, "-m", "namecar_viewer", "--screenshot", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 1000


def _mr700_files() -> list[str]:
    ref = get_testdata_file("MR_small.dcm")
    assert ref is not None
    root = os.path.join(os.path.dirname(ref), "dicomdirtests", "98892003", "MR700")
    return sorted(glob.glob(os.path.join(root, "*")))


# Expected letters worked by hand from ImageOrientationPatient of each MR700 image:
# 4467: row (0.654, 0.757, 0.004) -> P (0.757) then L (0.654); column (-0.001, 0.006, -1.0) -> F
# 4528: row (0.959, 0.283, 0.000) -> L then P (0.283 >= 0.25)
# 4648: row (-0.143, 0.990, 0.006) -> P only (0.143 < 0.25 threshold)
# 4558: row (1.000, 0.001, -0.001) -> L
MR700_RIGHT = {"4467": "PL", "4528": "LP", "4648": "P", "4558": "L"}
MR700_LEFT = {"4467": "AR", "4528": "RA", "4648": "A", "4558": "R"}


@pytest.mark.parametrize("name", sorted(MR700_RIGHT))
def test_orientation_letters_of_oblique_mr700(qtbot: QtBot, name: str, shots_dir: str) -> None:
    path = next(f for f in _mr700_files() if os.path.basename(f) == name)
    ds = pydicom.dcmread(path)
    aff = affine_from_dicom(
        [float(v) for v in ds.ImageOrientationPatient],
        [float(v) for v in ds.PixelSpacing],
        [float(v) for v in ds.ImagePositionPatient],
    )
    vol = Volume(
        ds.pixel_array[None].astype(np.float32),
        aff,
        frame_of_reference_uid=ds.FrameOfReferenceUID,
        modality="MR",
    )
    model = ViewportModel()
    vp = SliceViewport(model)
    qtbot.addWidget(vp)
    vp.resize(300, 300)
    model.set_volume(vol, SliceOrientation.ACQUISITION, name)
    letters = edge_letters(model.plane)
    assert letters["right"] == MR700_RIGHT[name]
    assert letters["left"] == MR700_LEFT[name]
    assert letters["bottom"] == "F"
    assert letters["top"] == "H"
    if name == "4467":
        vp.grab().save(f"{shots_dir}/mr700_oblique_{name}.png")
    # clicking a pixel gives the patient point IPP + col * 0.390625 * row_cos + row * 0.390625 *
    # col_cos; the stored IOP has 6 significant digits and is not exactly unit length, which
    # moves points by a few nanometres (1e-5 mm tolerance); against the volume's own affine the
    # plane mapping is exact.
    vp.show()
    qtbot.waitUntil(vp.isVisible)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=QPoint(150, 150))
    p = vp.state.crosshair
    rc = model.plane.patient_to_pixel(p[None])[0]
    iop = np.array(ds.ImageOrientationPatient, float)
    expect = (
        np.array(ds.ImagePositionPatient, float)
        + rc[1] * 0.390625 * iop[:3]
        + rc[0] * 0.390625 * iop[3:]
    )
    assert p == pytest.approx(expect, abs=1e-5)
    assert p == pytest.approx(vol.index_to_patient([[0.0, rc[0], rc[1]]])[0], abs=1e-9)

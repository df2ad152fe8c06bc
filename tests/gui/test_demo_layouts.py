"""The window on the phantom demo patient: each layout looked at, crosshair on a lesion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from namecar_viewer.gui import main as gui_main
from namecar_viewer.gui.main_window import LAYOUTS, MainWindow
from namecar_viewer.phantom.demo import write_demo_patient


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    write_demo_patient(out, size="small")
    return out


def test_demo_patient_layouts(qtbot: QtBot, demo_folder: Path, shots_dir: str) -> None:
    truth = json.loads((demo_folder / "ground_truth.json").read_text())
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    qtbot.waitUntil(w.isVisible)
    w.open_paths([str(demo_folder)])
    vol = w.volume
    assert vol is not None and vol.modality == "CT"
    # the first stack by date is the baseline CT (study dates sort the browser)
    assert w.active.model.error is None
    # crosshair on the primary kidney tumour's baseline centre from the ground truth
    t1 = next(les for les in truth["lesions"] if les["id"] == "T1")
    centre = t1["ct"]["baseline"]["centre_mm"]
    w.state.set_crosshair(centre, vol.frame_of_reference_uid)
    for name in LAYOUTS:
        w.set_layout(name)
        qtbot.wait(10)
        w.grab().save(f"{shots_dir}/demo_layout_{name}.png")
    for vp in w.viewports[:3]:
        plane = vp.model.plane
        step = vp.model.geometry.slice_spacing
        assert abs(plane.distance(centre)[0]) <= step / 2 + 1e-6
        sl = vp.model.current_slice()
        r, c = (round(x) for x in plane.patient_to_pixel([centre])[0])
        # the tumour is 48-60 mm across: its centre pixel is tumour tissue (ct_hu, plus noise)
        assert abs(float(sl.pixels[r, c]) - t1["ct_hu"]) < 60
    # the axial view of the axial CT numbers slices like the loaded stack (k); the ground truth
    # counts instances from the head, the loader orders k along +z (from the feet):
    # k = n - 1 - slice_index
    axial = w.viewports[0].model
    k = vol.patient_to_index([centre])[0][0]
    assert axial.index == round(k) == vol.shape[0] - 1 - t1["ct"]["baseline"]["slice_index"]
    w.actions_by_name["preset_2"].trigger()
    assert w.active.model.window.width == 1500.0
    qtbot.keyClick(w.viewports[0], Qt.Key.Key_Down)


def test_run_gui_demo_screenshot(
    tmp_path: Path, demo_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the real command writes size="full" into the user data dir; here it reuses the small demo
    target = tmp_path / "demo-patient"
    monkeypatch.setattr(gui_main, "demo_dir", lambda: target)
    import namecar_viewer.phantom.demo as demo_mod

    calls: list[str] = []

    def fake_write(out: Path, size: str = "full") -> None:
        calls.append(size)
        import shutil

        shutil.copytree(demo_folder, out, dirs_exist_ok=True)

    monkeypatch.setattr(demo_mod, "write_demo_patient", fake_write)
    shot = tmp_path / "shot.png"
    assert gui_main.run_gui([], demo=True, screenshot=str(shot)) == 0
    assert calls == ["full"]
    assert shot.stat().st_size > 10_000
    # second start: the completed demo is reused, not written again
    assert gui_main.run_gui([], demo=True, screenshot=str(shot)) == 0
    assert calls == ["full"]

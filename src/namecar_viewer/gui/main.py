"""GUI entry point called by the CLI: ``namecar-viewer [PATH...] [--demo] [--screenshot F]``."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

APP_NAME = "namecar-viewer"
# Marker written beside (not inside, where a scan would list it) the demo folder once complete,
# so a half-written demo patient is written again.
_DEMO_DONE_SUFFIX = ".complete"


def demo_dir() -> Path:
    """Where the demo patient lives (the user data directory, per platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "demo-patient"


def ensure_demo_patient() -> tuple[Path | None, str]:
    """Write the demo patient once; return its folder or ``None`` with the reason."""
    out = demo_dir()
    done = out.with_name(out.name + _DEMO_DONE_SUFFIX)
    if done.exists() and out.is_dir():
        return out, _demo_read(out)
    try:
        module = importlib.import_module("namecar_viewer.phantom.demo")
        write = module.write_demo_patient
    except (ImportError, AttributeError):
        return None, "the demo patient generator (namecar_viewer.phantom.demo) is not available yet"
    out.mkdir(parents=True, exist_ok=True)
    try:
        write(out, size="full")
    except Exception as exc:  # noqa: BLE001 - reported in the window, not a traceback
        return None, f"writing the demo patient failed: {exc}"
    done.write_text("ok\n", encoding="utf-8")
    return out, _demo_read(out)


def _demo_read(folder: Path) -> str:
    """The finished demo read in the reads database (saved once; "" or why not)."""
    from namecar_viewer.phantom.demo_read import ensure_demo_read

    return ensure_demo_read(folder)[1]


def run_gui(paths: list[str], demo: bool, screenshot: str | None) -> int:
    """Open the main window on ``paths`` (and the demo); with ``screenshot`` save a PNG and exit."""
    if screenshot and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    from namecar_viewer.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("NAMECAR Viewer")
    from namecar_viewer.persistence.study_index import StudyIndex, default_db_path

    index_problem = ""
    try:
        # the persistent index survives restarts; a --screenshot run (docs, checks) leaves it alone
        index: StudyIndex | None = None if screenshot else StudyIndex(default_db_path())
    except Exception as exc:  # noqa: BLE001 - the window opens on a temporary index instead
        index = None
        index_problem = f"The study index cannot be opened ({exc}); using a temporary one."
    window = MainWindow(index=index)
    if index_problem:
        window.statusBar().showMessage(index_problem)
    window.resize(1600, 1000)
    all_paths = list(paths)
    if demo:
        folder, reason = ensure_demo_patient()
        if folder is None:
            window.statusBar().showMessage(f"Demo patient unavailable: {reason}")
            window.browser.show_message(f"Demo patient unavailable: {reason}")
        else:
            all_paths.append(str(folder))
            if reason:
                window.statusBar().showMessage(reason)
    window.show()
    window.open_paths(all_paths)
    if screenshot:
        for _ in range(3):
            app.processEvents()
        ok = window.grab().save(screenshot, "PNG")
        window.close()
        if not ok:
            print(f"Could not write the screenshot to {screenshot}", file=sys.stderr)
            return 1
        return 0
    return int(app.exec())

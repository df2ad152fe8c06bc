"""GUI entry point called by the CLI:
``namecar-viewer [PATH...] [--demo] [--screenshot F] [--db URL] [--user NAME]``."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication

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
        return None, QCoreApplication.translate(
            "run_gui",
            "the demo patient generator (namecar_viewer.phantom.demo) is not available yet",
        )
    out.mkdir(parents=True, exist_ok=True)
    try:
        write(out, size="full")
    except Exception as exc:  # noqa: BLE001 - reported in the window, not a traceback
        from namecar_viewer.gui.i18n import error_text

        return None, QCoreApplication.translate(
            "run_gui", "writing the demo patient failed: {reason}"
        ).format(reason=error_text(exc))
    done.write_text("ok\n", encoding="utf-8")
    return out, _demo_read(out)


def _demo_read(folder: Path) -> str:
    """The finished demo read in the reads database (saved once; "" or why not)."""
    from namecar_viewer.phantom.demo_read import ensure_demo_read

    return ensure_demo_read(folder)[1]


def start_review(window: Any, db: str | None, user: str | None, screenshot: bool) -> str | None:
    """Open the reads database (``--db``, ``$NAMECAR_DB``, else the default file; a screenshot
    run without either uses a throwaway one), log the user in and bind the window to them.

    Returns None when the login was cancelled (the application quits), else a problem to show
    ("" when none).  A screenshot run never opens a dialog: the single-user default logs in.
    """
    from namecar_viewer.gui.i18n import error_text
    from namecar_viewer.gui.login import log_in, login_cancelled
    from namecar_viewer.gui.tools.controller import reader_name, reads_database_path
    from namecar_viewer.persistence.engine import DB_ENV
    from namecar_viewer.persistence.reads_db import ReadsDatabase, ReadsDatabaseError

    location: str | Path | None = db or os.environ.get(DB_ENV) or None
    if location is None:
        if screenshot:
            import atexit
            import shutil
            import tempfile

            folder = tempfile.mkdtemp(prefix="namecar-shot-")
            atexit.register(shutil.rmtree, folder, True)  # a throwaway database, gone at exit
            location = Path(folder) / "reads.sqlite"
        else:
            location = reads_database_path()
    try:
        rdb = ReadsDatabase(location)
    except (ReadsDatabaseError, ValueError) as exc:
        return QCoreApplication.translate(
            "run_gui", "Reads database unavailable ({reason}); working without login and signing."
        ).format(reason=error_text(exc))
    ctx, why = log_in(
        rdb, username=user, interactive=not screenshot, fallback_name=reader_name(), parent=None
    )
    if ctx is None:
        if screenshot:
            return why
        return None if why == login_cancelled() else why
    window.set_review(ctx)
    return ""


def run_gui(
    paths: list[str],
    demo: bool,
    screenshot: str | None,
    db: str | None = None,
    user: str | None = None,
) -> int:
    """Open the main window on ``paths`` (and the demo); with ``screenshot`` save a PNG and exit.

    ``db``: reads database (file path or ``postgresql://`` URL, else ``$NAMECAR_DB``); ``user``:
    log in as this user without the dialog (scripted runs, tests).
    """
    if screenshot and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    from namecar_viewer.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("NAMECAR Viewer")
    from namecar_viewer.gui import i18n

    # the reader's language ($NAMECAR_LANG, Help > Language, else the system's) before any
    # widget exists: every text below is built translated
    i18n.install(app)
    from namecar_viewer.resources import window_icon

    app.setWindowIcon(window_icon())
    from namecar_viewer.persistence.study_index import StudyIndex, default_db_path

    index_problem = ""
    try:
        # the persistent index survives restarts; a --screenshot run (docs, checks) leaves it alone
        index: StudyIndex | None = None if screenshot else StudyIndex(default_db_path())
    except Exception as exc:  # noqa: BLE001 - the window opens on a temporary index instead
        index = None
        index_problem = QCoreApplication.translate(
            "run_gui", "The study index cannot be opened ({reason}); using a temporary one."
        ).format(reason=i18n.error_text(exc))
    window = MainWindow(index=index)
    if index_problem:
        window.statusBar().showMessage(index_problem)
    review_problem = start_review(window, db, user, bool(screenshot))
    if review_problem is None:
        window.close()
        return 1
    if review_problem:
        window.statusBar().showMessage(review_problem)
    window.resize(1600, 1000)
    all_paths = list(paths)
    if demo:
        folder, reason = ensure_demo_patient()
        if folder is None:
            why = QCoreApplication.translate(
                "run_gui", "Demo patient unavailable: {reason}"
            ).format(reason=reason)
            window.statusBar().showMessage(why)
            window.browser.show_message(why)
        else:
            all_paths.append(str(folder))
            if window.review is not None:
                # the demo read also goes to the database this session reads (--db, $NAMECAR_DB)
                from namecar_viewer.phantom.demo_read import ensure_demo_read

                reason = ensure_demo_read(folder, window.review.ctx.db.url)[1] or reason
            if reason:
                from namecar_viewer.gui.i18n import app_text

                window.statusBar().showMessage(app_text(reason))
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

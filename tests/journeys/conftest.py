"""Journeys: the real main window driven with QTest mouse and keyboard events, as readers work.

Each journey starts the workstation the way ``namecar-viewer --demo --user NAME`` does (the
reads database holds the finished demo read of the Demo Reader; the user logs in without a
dialog), on the small demo patient.  :class:`Workstation` sends key presses to whatever widget
has the keyboard focus and mouse events to the viewport's widget: no controller method is
called where a reader would click or type.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _english(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Windows open in English whatever the system's language (LANG=fr_FR would otherwise make
    run_gui French), with settings of their own; a test that switches to French is put back."""
    from namecar_viewer.gui import i18n

    monkeypatch.setenv(i18n.LANGUAGE_ENV, "en")
    monkeypatch.setenv(i18n.SETTINGS_ENV, str(tmp_path_factory.mktemp("settings") / "s.ini"))
    yield
    if i18n.language() != "en":
        from PySide6.QtCore import QCoreApplication

        i18n.install(QCoreApplication.instance(), "en")


@pytest.fixture
def shots_dir() -> str:
    path = "/tmp/shots/journeys"
    os.makedirs(path, exist_ok=True)
    return path


@pytest.fixture
def demo_db(small_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A reads database holding the finished demo read (as ``--demo`` writes it)."""
    from namecar_viewer.phantom.demo_read import ensure_demo_read

    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")
    db = tmp_path / "reads.sqlite"
    uid, why = ensure_demo_read(small_demo, db)
    assert uid is not None, why
    return db

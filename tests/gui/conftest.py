"""GUI tests run offscreen; synthetic volumes with known geometry come from gui_synthetic."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from collections.abc import Callable

import pytest
from gui_synthetic import synthetic_ct

from namecar_viewer.app.importer import import_paths
from namecar_viewer.core.geometry import Volume
from namecar_viewer.persistence.study_index import StudyIndex


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
def ct_volume() -> Volume:
    return synthetic_ct()


@pytest.fixture
def shots_dir() -> str:
    os.makedirs("/tmp/shots", exist_ok=True)
    return "/tmp/shots"


@pytest.fixture(scope="module")
def demo_index(small_demo: Path) -> StudyIndex:
    """The small demo patient imported into an in-memory study index (one per test module)."""
    idx = StudyIndex(":memory:")
    import_paths(idx, [small_demo])
    return idx


@pytest.fixture
def reader_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """``reader_env(name)``: windows opened next keep reads in tmp_path as reader ``name``,
    without dialogs; returns the reads database path."""

    def use(reader: str) -> Path:
        db = tmp_path / "reads.sqlite"
        monkeypatch.setenv("NAMECAR_READS_DB", str(db))
        monkeypatch.setenv("NAMECAR_READER", reader)
        monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")
        return db

    return use

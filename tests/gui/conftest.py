"""GUI tests run offscreen; synthetic volumes with known geometry come from gui_synthetic."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from collections.abc import Callable

import pytest
from gui_synthetic import synthetic_ct

from namecar_viewer.app.importer import import_paths
from namecar_viewer.core.geometry import Volume
from namecar_viewer.persistence.study_index import StudyIndex


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

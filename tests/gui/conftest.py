"""GUI tests run offscreen; synthetic volumes with known geometry come from gui_synthetic."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

import pytest
from gui_synthetic import synthetic_ct

from namecar_viewer.core.geometry import Volume


@pytest.fixture
def ct_volume() -> Volume:
    return synthetic_ct()


@pytest.fixture
def shots_dir() -> str:
    os.makedirs("/tmp/shots", exist_ok=True)
    return "/tmp/shots"

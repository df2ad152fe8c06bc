"""One small demo patient per test session, written through the ``namecar-viewer demo`` CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from namecar_viewer.cli import main

    out = tmp_path_factory.mktemp("demo") / "patient"
    assert main(["demo", str(out), "--small"]) == 0
    return out


@pytest.fixture(scope="session")
def ground_truth(small_demo: Path) -> dict[str, Any]:
    return json.loads((small_demo / "ground_truth.json").read_text(encoding="utf-8"))

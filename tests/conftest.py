"""Session fixtures shared by every test folder: the small demo patient and data locations."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_TESTDATA = PROJECT_ROOT.parent / "shared" / "testdata"


@pytest.fixture(autouse=True)
def _reads_never_in_the_users_database(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window opened by a test keeps its reads in a folder of its own, never in the user's
    reads database (tests that need a named database set NAMECAR_READS_DB themselves)."""
    folder = tmp_path_factory.mktemp("user-reads")
    monkeypatch.setenv("NAMECAR_READS_DB", str(folder / "reads.sqlite"))


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """The real DICOM files in ../shared/testdata (see its README for origin and licence)."""
    assert SHARED_TESTDATA.is_dir(), f"{SHARED_TESTDATA} is missing: tests need ../shared/testdata"
    return SHARED_TESTDATA


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small demo patient per session, written through the ``namecar-viewer demo`` CLI."""
    from namecar_viewer.cli import main

    out = tmp_path_factory.mktemp("demo") / "patient"
    assert main(["demo", str(out), "--small"]) == 0
    return out


@pytest.fixture(scope="session")
def ground_truth(small_demo: Path) -> dict[str, Any]:
    return json.loads((small_demo / "ground_truth.json").read_text(encoding="utf-8"))

"""Session fixtures shared by every test folder: the small demo patient and data locations."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from testsupport import REAL_DATA

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _reads_never_in_the_users_database(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window opened by a test keeps its reads in a folder of its own, never in the user's
    reads database (tests that need a named database set NAMECAR_READS_DB themselves)."""
    folder = tmp_path_factory.mktemp("user-reads")
    monkeypatch.setenv("NAMECAR_READS_DB", str(folder / "reads.sqlite"))


@pytest.fixture(autouse=True)
def _no_automatic_alignment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window opened by a test does not start aligning timepoints in the background by itself
    (gui/alignment.py): a test of something else must not find an alignment landing in its read,
    its undo stack or its audit trail.  Tests of the alignment set NAMECAR_AUTO_ALIGN=1."""
    monkeypatch.setenv("NAMECAR_AUTO_ALIGN", "0")


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real DICOM files in tests/data/real (tests/data/README.md: origin, licence, users)."""
    if not REAL_DATA.is_dir():
        pytest.fail(f"{REAL_DATA} is missing: it is part of the repository", pytrace=False)
    return REAL_DATA


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

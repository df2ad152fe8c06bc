"""The finished demo read of the session's small demo patient and its image headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from namecar_viewer.core.reads import Read
from namecar_viewer.core.reports.sources import HeaderIndex
from namecar_viewer.phantom.demo_read import build_demo_read


@pytest.fixture(scope="session")
def demo_read(small_demo: Path) -> Read:
    return build_demo_read(small_demo)


@pytest.fixture(scope="session")
def demo_headers(small_demo: Path) -> HeaderIndex:
    return HeaderIndex.from_folders([small_demo])

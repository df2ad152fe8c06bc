"""namecar_viewer.resources finds every shipped resource in the source tree or a packaged copy."""

from __future__ import annotations

import configparser
import json
import struct
from pathlib import Path

import pytest

from namecar_viewer import resources
from namecar_viewer.app.eligibility import load_criteria

ROOT = Path(__file__).resolve().parents[1]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_source_checkout_reads_top_level_resources() -> None:
    # no copy inside src/: the checkout's resources/ is the one source (resources/README.md)
    assert not resources.PACKAGED.exists()
    assert resources.resources_dir() == ROOT / "resources"


def test_icon_svg_and_every_png_size() -> None:
    svg = resources.resource_path(resources.ICON_SVG)
    assert "<svg" in svg.read_text(encoding="utf-8")
    for size in resources.ICON_SIZES:
        assert png_size(resources.resource_path(resources.icon_png(size))) == (size, size)


def test_desktop_entry() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(resources.resource_path(resources.DESKTOP_ENTRY), encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"].split()[0] == "namecar-viewer"
    assert desktop["Icon"] == resources.ICON_NAME
    assert desktop["Name"] == "NAMECAR Viewer"


def test_eligibility_criteria_load_from_resources() -> None:
    criteria = load_criteria()
    assert Path(criteria.path) == resources.resource_path(resources.ELIGIBILITY_CRITERIA)
    assert len(criteria.inclusion) == 7
    assert len(criteria.exclusion) == 10


def test_case_schema_when_present() -> None:
    if not (ROOT / "resources" / resources.CASE_SCHEMA).exists():
        pytest.skip("resources/case.schema.json is not written yet")
    schema = json.loads(resources.resource_path(resources.CASE_SCHEMA).read_text("utf-8"))
    assert isinstance(schema, dict)
    assert "$schema" in schema or "type" in schema


def test_missing_resource_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "PACKAGED", tmp_path / "_resources")
    (tmp_path / "_resources").mkdir()
    assert resources.resources_dir() == tmp_path / "_resources"  # a packaged copy comes first
    with pytest.raises(FileNotFoundError, match=r"namecar_eligibility_criteria\.json"):
        resources.resource_path(resources.ELIGIBILITY_CRITERIA)
    monkeypatch.setattr(resources, "PACKAGED", tmp_path / "nowhere")
    monkeypatch.setattr(resources, "CHECKOUT", tmp_path / "nowhere-either")
    with pytest.raises(FileNotFoundError, match="Reinstall"):
        resources.resources_dir()

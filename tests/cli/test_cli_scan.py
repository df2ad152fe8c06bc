"""``namecar-viewer scan``: the JSON document and the text report name every problem."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest

from namecar_viewer.cli import main

DIRTESTS = Path(pydicom.__file__).parent / "data" / "test_files" / "dicomdirtests"


def test_scan_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "junk.dcm").write_bytes(b"hello")
    assert main(["scan", "--json", str(DIRTESTS / "98892001" / "CT5N"), str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"stacks", "unreadable", "non_image"}
    (stack,) = doc["stacks"]
    for key in (
        "series_instance_uid",
        "modality",
        "shape",
        "spacing_mm",
        "frame_of_reference_uid",
        "files",
        "problems",
    ):
        assert key in stack
    assert stack["shape"] == [5, 16, 16] and stack["spacing_mm"] == [2.5, 0.488281, 0.488281]
    assert len(stack["files"]) == 5
    assert doc["unreadable"] == [
        {
            "path": str(tmp_path / "junk.dcm"),
            "reason": "not a DICOM file (no preamble, no DICOM tags)",
        }
    ]


def test_scan_text_lists_problems_and_non_image(
    capsys: pytest.CaptureFixture[str], real_data: Path
) -> None:
    assert (
        main(
            [
                "scan",
                str(DIRTESTS / "77654033" / "CT2"),
                str(real_data / "dcmqi" / "sr-example"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "gap of 202.50 mm" in out
    assert "SR " in out and "SEG" in out
    assert "stack(s)" in out


def test_scan_nothing_found_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(tmp_path)]) == 1

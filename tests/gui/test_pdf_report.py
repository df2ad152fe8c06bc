"""PDF response report of the demo read: pages rendered with pdftoppm (looked at), text checked
with pdftotext, blinded report free of identifiers, key images with the measurement drawn."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from namecar_viewer.app.blinding import BlindingPolicy
from namecar_viewer.core.reports.sources import HeaderIndex
from namecar_viewer.gui.reports.pdf_report import write_pdf_report
from namecar_viewer.phantom.demo_read import build_demo_read
from testsupport import require_tool

SHOTS = Path("/tmp/shots/pdf_report")


@pytest.fixture(scope="module")
def demo(small_demo: Path) -> tuple[object, HeaderIndex]:
    return build_demo_read(small_demo), HeaderIndex.from_folders([small_demo])


def _pages(pdf: Path, prefix: str) -> list[Path]:
    pdftoppm = require_tool("pdftoppm", "poppler-utils")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob(f"{prefix}-*.png"):
        old.unlink()
    subprocess.run([pdftoppm, "-r", "80", "-png", str(pdf), str(SHOTS / prefix)], check=True)
    return sorted(SHOTS.glob(f"{prefix}-*.png"))


def _text(pdf: Path) -> str:
    return subprocess.run(
        [require_tool("pdftotext", "poppler-utils"), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_report_pages(qapp: object, demo: tuple[object, HeaderIndex], tmp_path: Path) -> None:
    read, headers = demo
    pdf = tmp_path / "report.pdf"
    warnings = write_pdf_report(read, pdf, headers=headers)  # type: ignore[arg-type]
    assert warnings == []
    pages = _pages(pdf, "demo")
    assert len(pages) == 3  # summary, charts, key images (5 targets x 5 timepoints fit one page)
    text = _text(pdf)
    for s in (
        "Subject: NAMECAR-001",
        "Reader: Demo Reader",
        "Status: draft - not signed",
        "Eligible: metastatic PR -77.8%",  # (24 - 108) / 108 from the ground truth sums
        "PD: sum 99 mm, +22.2% from nadir 81 mm",
        "2026-04-09",
        "kidney (primary)",
        "25.0 x 18.0",  # T5 baseline node
    ):
        assert s in text, s
    # Key images: the long axis is drawn in yellow (#ffd000) on page 3, the short axis in cyan.
    img = QImage(str(pages[2])).convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    rgb = arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).astype(int)
    yellow = (rgb[..., 0] > 200) & (rgb[..., 1] > 170) & (rgb[..., 2] < 90)
    cyan = (rgb[..., 0] < 90) & (rgb[..., 1] > 170) & (rgb[..., 2] > 200)
    assert yellow.sum() > 300 and cyan.sum() > 300


def test_blinded_report_hides_identifiers(
    qapp: object, demo: tuple[object, HeaderIndex], tmp_path: Path
) -> None:
    read, headers = demo
    pdf = tmp_path / "blinded.pdf"
    write_pdf_report(read, pdf, headers=headers, blinding=BlindingPolicy())  # type: ignore[arg-type]
    _pages(pdf, "blinded")
    text = _text(pdf)
    assert "NAMECAR-001" not in text and "NAMECAR^DEMO" not in text
    for d in (
        "2025-01-15",
        "2025-07-10",
        "2025-10-09",
        "2026-01-08",
        "2026-04-09",
        "2025-07",
        "2026-04",
    ):
        assert d not in text, d
    assert "Day 449" in text  # fu09m: 2025-01-15 -> 2026-04-09
    assert "Subject " in text

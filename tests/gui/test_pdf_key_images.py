"""The PDF's key images, rendered with pdftoppm and measured in the PNG (saved under
/tmp/shots/keyimages, looked at): the small lesions of the demo phantom (T2 and T3 at the
inclusion scan are 6 and 4 mm in ground_truth.json) are drawn enlarged with their calipers
beside them, and no caliper pixel covers the lesion; a large lesion keeps its calipers over it;
the reader's flagged images get a page of their own.
"""

from __future__ import annotations

import json
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PySide6.QtGui import QImage

from namecar_viewer.core.measure.record import ImageRef
from namecar_viewer.core.reads import Read
from namecar_viewer.core.reports.key_images import FLAGGED_SETTING, FlaggedImage
from namecar_viewer.core.reports.layout import KeyImage, build_key_images
from namecar_viewer.core.reports.sources import HeaderIndex
from namecar_viewer.gui.reports.pdf_report import write_pdf_report
from namecar_viewer.phantom.demo_read import build_demo_read
from testsupport import require_tool

SHOTS = Path("/tmp/shots/keyimages")
DPI = 150  # the PDF is laid out at 150 dpi: one PNG pixel is one layout pixel


@pytest.fixture(scope="module")
def report(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo read with one flagged slice (fu03m, image 40), its PDF and pages as PNG."""
    import pydicom

    read = build_demo_read(small_demo)
    headers = HeaderIndex.from_folders([small_demo])
    f = sorted((small_demo / "CT_2025-10-09_fu03m").glob("*.dcm"))
    flagged = next(
        ds
        for ds in (pydicom.dcmread(p, stop_before_pixels=True) for p in f)
        if int(ds.InstanceNumber) == 40
    )
    flag = FlaggedImage(
        ImageRef(str(flagged.SOPInstanceUID)),
        str(flagged.StudyInstanceUID),
        str(flagged.SeriesInstanceUID),
    )
    read = read.with_setting(FLAGGED_SETTING, json.dumps([flag.to_json()]))
    pdf = tmp_path_factory.mktemp("pdf") / "key_images.pdf"
    assert write_pdf_report(read, pdf, headers=headers) == []
    pdftoppm = require_tool("pdftoppm", "poppler-utils")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("report-*.png"):
        old.unlink()
    subprocess.run([pdftoppm, "-r", str(DPI), "-png", str(pdf), str(SHOTS / "report")], check=True)
    return {
        "read": read,
        "pdf": pdf,
        "pages": sorted(SHOTS.glob("report-*.png")),
        "plan": build_key_images(read, headers.path),
    }


def _rgb(path: Path) -> npt.NDArray[np.int64]:
    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).astype(np.int64)


def _runs(flags: npt.NDArray[np.bool_], min_len: int) -> list[tuple[int, int]]:
    out, start = [], None
    for i, f in enumerate([*flags.tolist(), False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            if i - start >= min_len:
                out.append((start, i))
            start = None
    return out


def _cells(
    rgb: npt.NDArray[np.int64], row_fraction: float = 0.5
) -> list[list[tuple[int, int, int, int]]]:
    """The image cells of a key-image page, found in the PNG: bands of rows mostly covered by
    non-white pixels, then in each band the runs of columns with ink (the white gaps between
    cells have none)."""
    ink = rgb.min(axis=2) < 250
    bands = _runs(ink.mean(axis=1) > row_fraction, 100)
    out = []
    for y0, y1 in bands:
        cols = _runs(ink[y0:y1].mean(axis=0) > 0.5, 100)
        out.append([(x0, y0, x1, y1) for x0, x1 in cols])
    return out


def _coloured(rgb: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Caliper colours (yellow #ffd000, cyan #00d0ff and their antialiased edges): far from
    grey, which every image pixel is."""
    return (rgb.max(axis=2) - rgb.min(axis=2)) > 60


def _key(plan: Any, lesion: str, timepoint: str) -> KeyImage:
    row = next(r for r in plan.rows if r.lesion_label == lesion)
    (cell,) = [c for c in row.cells if isinstance(c, KeyImage) and c.timepoint_label == timepoint]
    return cell


def _to_png(cell: tuple[int, int, int, int], ki: KeyImage, pt: tuple[float, float]) -> Any:
    x0, y0, x1, _ = cell
    s = (x1 - x0) / ki.pixels.shape[1]
    return np.array([x0 + pt[0] * s, y0 + pt[1] * s])


def test_pages_and_text(report: dict[str, Any]) -> None:
    assert len(report["pages"]) == 4  # summary, charts, T1-T5 key images, the flagged image
    text = subprocess.run(
        [require_tool("pdftotext", "poppler-utils"), "-layout", str(report["pdf"]), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # -layout spaces words as drawn; NFKC undoes the fl ligature the font draws
    text = unicodedata.normalize("NFKC", " ".join(text.split()))
    assert "Key images: each lesion at each timepoint" in text
    assert "enlarged x2.8" in text  # T3 (4 mm) at inclusion
    assert "Key images flagged by the reader" in text
    assert "fu03m: image 40" in text


@pytest.mark.parametrize(("lesion", "size_mm"), [("T3", 4.0), ("T2", 6.0)])
def test_small_lesion_enlarged_with_calipers_beside_it(
    report: dict[str, Any], ground_truth: dict[str, Any], lesion: str, size_mm: float
) -> None:
    truth = next(les for les in ground_truth["lesions"] if les["id"] == lesion)["ct"]
    assert truth["inclusion"]["long_axis_mm"] == size_mm
    rgb = _rgb(report["pages"][2])
    cells = _cells(rgb)
    assert [len(r) for r in cells] == [5, 5, 5, 5, 5]  # T1-T5 x 5 timepoints
    row = ["T1", "T2", "T3", "T4", "T5"].index(lesion)
    cell = cells[row][1]  # inclusion
    ki = _key(report["plan"], lesion, "inclusion")
    assert ki.enlarged and ki.lines == []
    x0, y0, x1, y1 = cell
    px_per_mm = (x1 - x0) / (ki.mm_per_pixel * ki.pixels.shape[1])
    standard = (x1 - x0) / 60.0  # the standard 60 mm field of view of a small lesion
    assert px_per_mm >= 2.0 * standard, (px_per_mm, standard)

    # the lesion, bright in the lung window, is at least twice as wide as in the standard view
    centre = _to_png(cell, ki, ki.centre)
    cy, cx = round(centre[1]), round(centre[0])
    grey = rgb[..., 1]
    line = grey[cy, x0:x1]
    bright = line > (int(line.max()) + int(np.median(line))) / 2
    runs = _runs(bright, 1)
    width = max((b - a for a, b in runs if a <= cx - x0 <= b), default=0)
    assert width >= 2.0 * size_mm * standard, (width, size_mm * standard)

    # no caliper pixel on the lesion: none within the long axis's half length of its centre,
    # and the pixels along both true caliper segments are grey (the lesion shows through)
    coloured = _coloured(rgb)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    radius = size_mm / 2.0 * px_per_mm + 2.0
    disc = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius**2
    assert not coloured[y0:y1, x0:x1][disc].any()
    for a, b in ki.axes:
        pa, pb = _to_png(cell, ki, a), _to_png(cell, ki, b)
        for t in np.linspace(0.0, 1.0, 25):
            x, y = pa + t * (pb - pa)
            patch = coloured[round(y) - 2 : round(y) + 3, round(x) - 2 : round(x) + 3]
            assert not patch.any(), (lesion, t)
    assert grey[cy, cx] > np.median(grey[y0:y1, x0:x1]) + 40  # the lesion is visible there

    # the calipers are beside it: both colours drawn in the cell, outside that disc
    yellow = (rgb[..., 0] > 200) & (rgb[..., 1] > 150) & (rgb[..., 2] < 110)
    cyan = (rgb[..., 0] < 110) & (rgb[..., 1] > 150) & (rgb[..., 2] > 200)
    for colour in (yellow, cyan):
        inside = colour[y0:y1, x0:x1]
        assert inside.sum() > 40
        assert not inside[disc].any()


def test_large_lesion_keeps_its_calipers_over_it(report: dict[str, Any]) -> None:
    rgb = _rgb(report["pages"][2])
    cell = _cells(rgb)[0][0]  # T1 (60 mm) at baseline
    ki = _key(report["plan"], "T1", "baseline")
    assert not ki.enlarged and len(ki.lines) == 2
    centre = _to_png(cell, ki, ki.centre)
    coloured = _coloured(rgb)
    cy, cx = round(centre[1]), round(centre[0])
    assert coloured[cy - 3 : cy + 4, cx - 3 : cx + 4].any()  # the calipers cross there


def test_flagged_image_page(report: dict[str, Any]) -> None:
    rgb = _rgb(report["pages"][3])
    (row,) = _cells(rgb, row_fraction=0.1)
    assert len(row) == 1
    x0, y0, x1, y1 = row[0]
    assert abs((x1 - x0) - (y1 - y0)) <= 2  # the whole slice in a square cell
    (flagged,) = report["plan"].flagged
    assert flagged.timepoint_label == "fu03m" and flagged.instance == "image 40"
    assert not _coloured(rgb)[y0:y1, x0:x1].any()  # nothing drawn on a flagged slice


def test_read_without_images_still_reports(small_demo: Path, tmp_path: Path) -> None:
    """No header index: every cell says why there is no image, nothing fails."""
    read: Read = build_demo_read(small_demo)
    plan = build_key_images(read, None)
    assert plan.flagged == [] and len(plan.rows) == 5
    assert all(not isinstance(c, KeyImage) for r in plan.rows for c in r.cells)
    assert write_pdf_report(read, tmp_path / "no_images.pdf") == []


def test_a_new_lesion_gets_its_row(small_demo: Path) -> None:
    """A new lesion measured at fu09m (drawn here where T4 is, on T4's slice) has its own row:
    its key image at fu09m, 'not measured' before."""
    import dataclasses

    from namecar_viewer.core.reads import Lesion, LesionMeasurement, LesionRole, Site
    from namecar_viewer.core.reports.layout import KeyImageCell, KeyImageGap

    read = build_demo_read(small_demo)
    t4 = next(les for les in read.lesions if les.label == "T4")
    fu09 = next(tp for tp in read.timepoints if tp.label == "fu09m")
    m = read.assessment(t4.uid, fu09.uid).measurement
    assert m is not None
    new = dataclasses.replace(m, uid="n1-fu09m", label="N1")
    read = read.with_lesion(Lesion("n1", "N1", LesionRole.NEW, Site.LIVER)).with_measurement(
        LesionMeasurement(new, "n1", fu09.uid)
    )
    plan = build_key_images(read, HeaderIndex.from_folders([small_demo]).path)
    row = next(r for r in plan.rows if r.lesion_label == "N1")
    assert row.role is LesionRole.NEW
    *before, last = row.cells
    assert isinstance(last, KeyImage) and last.timepoint_label == "fu09m"
    assert last.caption.startswith("N1 24.0 x 20.0 mm")  # T4's fu09m size (ground truth)
    assert all(isinstance(c, KeyImageCell) and c.gap is KeyImageGap.NOT_MEASURED for c in before)

"""Qt-free content of the PDF response report: texts, tables and key-image geometry.

The GUI layer (:mod:`namecar_viewer.gui.reports.pdf_report`) only paints what this returns, so
what the report says is tested without Qt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from namecar_viewer.core.reads.model import LesionRole, Read, ReadTimepoint, Site
from namecar_viewer.core.reports.sr_export import Blinding
from namecar_viewer.core.reports.status import DRAFT, ReadStatus

# CT windows (width, level) for the key images: lung lesions in the lung window.
SOFT_TISSUE_WINDOW = (400.0, 40.0)
LUNG_WINDOW = (1500.0, -600.0)
KEY_IMAGE_MIN_FOV_MM = 60.0
KEY_IMAGE_FOV_FACTOR = 2.5


@dataclass
class ReportText:
    title: str
    subject: str
    reader: str
    status: str
    timepoints: list[tuple[str, str, str]]  # label, date or Day N, role
    lesion_header: list[str]
    lesion_rows: list[list[str]]
    warnings: list[str] = field(default_factory=list)


def timepoint_when(read: Read, tp: ReadTimepoint, blinded: bool) -> str:
    base = read.baseline()
    if blinded:
        if base is None or base.date is None or tp.date is None:
            return "Day ?"
        return f"Day {(tp.date - base.date).days}"
    return tp.date.isoformat() if tp.date else "undated"


def ordered(read: Read) -> list[ReadTimepoint]:
    tps = list(read.ordered_timepoints())
    base = read.baseline()
    if base is not None and tps and tps[0].uid != base.uid:
        tps.remove(base)
        tps.insert(0, base)
    return tps


def read_status(
    read: Read, status: ReadStatus | None = None, blinding: Blinding | None = None
) -> str:
    """``draft`` or, per timepoint, ``signed by <reader> on <UTC time>, version N`` from the
    signing model (:class:`~namecar_viewer.core.reports.status.ReadStatus`)."""
    if status is None:
        return DRAFT
    return status.summary([(tp.uid, tp.label) for tp in ordered(read)], blinding)


def report_text(
    read: Read,
    subject_id: str | None = None,
    blinding: Blinding | None = None,
    status: ReadStatus | None = None,
) -> ReportText:
    blinded = blinding is not None and blinding.enabled
    sid = subject_id or read.patient_id or "?"
    subject = blinding.subject(sid) if blinded and blinding is not None else sid
    tps = ordered(read)
    header = ["Lesion", "Role", "Site", *[tp.label for tp in tps]]
    rows = []
    for les in read.lesions:
        flags = []
        if les.nodal:
            flags.append("node")
        if les.is_primary_renal:
            flags.append("primary")
        site = les.site.value + (f" {les.station}" if les.station else "")
        if flags:
            site += f" ({', '.join(flags)})"
        cells = [read.assessment(les.uid, tp.uid).cell_text() or "-" for tp in tps]
        rows.append([les.label, les.role.value.replace("_", "-"), site, *cells])
    return ReportText(
        title="NAMECAR response report - RECIST 1.1",
        subject=subject,
        reader=read.reader or "?",
        status=read_status(read, status, blinding),
        timepoints=[
            (tp.label, timepoint_when(read, tp, blinded), tp.role.value.replace("_", " "))
            for tp in tps
        ],
        lesion_header=header,
        lesion_rows=rows,
    )


@dataclass
class KeyImage:
    """A windowed crop of the source slice with the measurement in crop pixel coordinates."""

    lesion_label: str
    timepoint_label: str
    pixels: npt.NDArray[np.uint8]  # (rows, columns)
    lines: list[tuple[tuple[float, float], tuple[float, float]]]
    caption: str
    mm_per_pixel: float


def key_image_plan(read: Read) -> list[tuple[str, str, Any]]:
    """(lesion label, timepoint label, measurement) for every target at every timepoint."""
    out = []
    for les in read.lesions:
        if les.role is not LesionRole.TARGET:
            continue
        for tp in ordered(read):
            m = read.assessment(les.uid, tp.uid).measurement
            out.append((les.label, tp.label, m))
    return out


def window_for(site: Site) -> tuple[float, float]:
    return LUNG_WINDOW if site is Site.LUNG else SOFT_TISSUE_WINDOW


def key_image(
    measurement: Any,
    header: Dataset,
    pixels_hu: npt.NDArray[np.floating[Any]] | npt.NDArray[np.integer[Any]],
    window: tuple[float, float],
    lesion_label: str,
    timepoint_label: str,
) -> KeyImage | None:
    """Crop the slice around the measurement, window it, map the measurement to crop pixels.

    ``pixels_hu`` is the slice in modality units (rescale applied).  None when the measurement
    does not lie on this slice (more than half a pixel off its plane).
    """
    ipp = np.asarray([float(v) for v in header.ImagePositionPatient])
    iop = np.asarray([float(v) for v in header.ImageOrientationPatient])
    sp_r, sp_c = (float(v) for v in header.PixelSpacing)
    row_dir, col_dir = iop[:3], iop[3:]
    normal = np.cross(row_dir, col_dir)
    pts = measurement.array
    rel = pts - ipp
    if np.max(np.abs(rel @ normal)) > 0.5 * min(sp_r, sp_c):
        return None
    cols = rel @ row_dir / sp_c
    rows = rel @ col_dir / sp_r
    centre_c, centre_r = float(cols[:2].mean()), float(rows[:2].mean())
    long_mm = float(measurement.long_axis_mm or measurement.length_mm or 10.0)
    fov = max(KEY_IMAGE_MIN_FOV_MM, KEY_IMAGE_FOV_FACTOR * long_mm)
    half = int(np.ceil(fov / 2.0 / min(sp_r, sp_c)))
    nr, nc = pixels_hu.shape
    r0 = round(centre_r) - half
    c0 = round(centre_c) - half
    crop = np.full((2 * half + 1, 2 * half + 1), -1024.0)
    rs, re_ = max(r0, 0), min(r0 + 2 * half + 1, nr)
    cs, ce = max(c0, 0), min(c0 + 2 * half + 1, nc)
    if rs < re_ and cs < ce:
        crop[rs - r0 : re_ - r0, cs - c0 : ce - c0] = pixels_hu[rs:re_, cs:ce]
    width, level = window
    lo = level - width / 2.0
    img = np.clip((crop - lo) / width * 255.0, 0, 255).astype(np.uint8)
    lines = []
    for a, b in ((0, 1), (2, 3)) if len(pts) == 4 else ((0, 1),):
        lines.append(((cols[a] - c0, rows[a] - r0), (cols[b] - c0, rows[b] - r0)))
    return KeyImage(
        lesion_label,
        timepoint_label,
        img,
        [((float(p[0]), float(p[1])), (float(q[0]), float(q[1]))) for p, q in lines],
        measurement.summary(),
        sp_c,
    )


def slice_pixels(path: str) -> tuple[Dataset, npt.NDArray[np.float64]]:
    """One image file in modality units (rescale slope/intercept applied)."""
    import pydicom

    ds = pydicom.dcmread(path)
    arr = ds.pixel_array.astype(np.float64)
    slope = float(getattr(ds, "RescaleSlope", 1.0) or 1.0)
    intercept = float(getattr(ds, "RescaleIntercept", 0.0) or 0.0)
    return ds, arr * slope + intercept


def build_key_images(
    read: Read, file_of: Callable[[str], str | None] | None
) -> tuple[list[KeyImage | str], list[str]]:
    """Key images in plan order (a str where none can be shown, saying why) and warnings."""
    out: list[KeyImage | str] = []
    warnings: list[str] = []
    sites = {les.label: les.site for les in read.lesions}
    for les_label, tp_label, m in key_image_plan(read):
        if m is None:
            out.append(f"{les_label} {tp_label}: not measured")
            continue
        if not m.images or file_of is None:
            out.append(f"{les_label} {tp_label}: source image unknown")
            continue
        path = file_of(m.images[0].sop_instance_uid)
        if path is None:
            out.append(f"{les_label} {tp_label}: source image not found")
            warnings.append(
                f"{les_label} {tp_label}: image {m.images[0].sop_instance_uid} not found"
            )
            continue
        try:
            ds, hu = slice_pixels(path)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the report
            out.append(f"{les_label} {tp_label}: image unreadable")
            warnings.append(f"{les_label} {tp_label}: {path}: {exc}")
            continue
        ki = key_image(m, ds, hu, window_for(sites[les_label]), les_label, tp_label)
        out.append(ki if ki is not None else f"{les_label} {tp_label}: drawn off the image plane")
    return out, warnings


def today() -> str:
    return dt.date.today().isoformat()

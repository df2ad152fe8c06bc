"""Qt-free content of the PDF response report: texts, tables and key-image geometry.

The GUI layer (:mod:`namecar_viewer.gui.reports.pdf_report`) only paints what this returns, so
what the report says is tested without Qt.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from namecar_viewer.core.measure.record import MeasurementKind
from namecar_viewer.core.reads.model import LesionRole, LesionStatus, Read, ReadTimepoint, Site
from namecar_viewer.core.reports.key_images import SMALL_LESION_MM
from namecar_viewer.core.reports.sr_export import Blinding
from namecar_viewer.core.reports.status import DRAFT, ReadStatus

# CT windows (width, level) for the key images: lung lesions in the lung window.
SOFT_TISSUE_WINDOW = (400.0, 40.0)
LUNG_WINDOW = (1500.0, -600.0)
KEY_IMAGE_MIN_FOV_MM = 60.0
KEY_IMAGE_FOV_FACTOR = 2.5
KEY_IMAGE_PX = 256  # a key image's crop is resampled to this many pixels a side


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


Point2 = tuple[float, float]
Segment = tuple[Point2, Point2]


@dataclass
class KeyImage:
    """A windowed crop of a key image, resampled to ``pixels`` (``KEY_IMAGE_PX`` a side), with
    what to draw on it in crop coordinates: (x, y) from the crop's top left corner, one unit a
    crop pixel (a pixel's centre is at i + 0.5).

    ``lines``: the calipers, drawn over the lesion (a lesion over 10 mm) or a marker (point,
    arrow, ROI axes).  A lesion of 10 mm or less is ``enlarged``: a field of view ``zoom`` times
    smaller than the standard one, ``lines`` empty, and its calipers drawn *beside* it as
    dimension lines: ``beside`` holds each axis's segments (the dimension line parallel to the
    axis, outside the lesion, and the two extension lines pointing at the axis's endpoints,
    starting a gap away from them), ``labels`` each axis's length and where to write it.
    ``context`` is then the standard crop with ``context_box`` (x0, y0, x1, y1) the enlarged
    part.  ``centre`` is the lesion centre (the long axis's middle) and ``axes`` the calipers'
    true endpoints, both in crop coordinates (what the tests check the drawing against).
    """

    lesion_label: str
    timepoint_label: str
    pixels: npt.NDArray[np.uint8]  # (rows, columns)
    lines: list[Segment]
    caption: str
    mm_per_pixel: float
    enlarged: bool = False
    zoom: float = 1.0
    beside: list[list[Segment]] = field(default_factory=list)
    labels: list[tuple[Point2, str]] = field(default_factory=list)
    centre: Point2 = (0.0, 0.0)
    axes: list[Segment] = field(default_factory=list)
    context: npt.NDArray[np.uint8] | None = None
    context_box: tuple[float, float, float, float] | None = None
    scale_bar_mm: float = 0.0


class KeyImageGap(enum.Enum):
    """Why a key-image cell of the report shows no image."""

    NOT_MEASURED = "not measured"
    IMAGE_UNKNOWN = "source image unknown"
    IMAGE_NOT_FOUND = "source image not found"
    UNREADABLE = "image unreadable"
    OFF_PLANE = "drawn off the image plane"


@dataclass
class KeyImageCell:
    """A report cell without an image: why, and the lesion's status there (if any)."""

    gap: KeyImageGap
    status: LesionStatus | None = None


@dataclass
class KeyImageRow:
    """One lesion of the key-image pages: a cell per timepoint (report order)."""

    lesion_label: str
    role: LesionRole
    cells: list[KeyImage | KeyImageCell]


@dataclass
class FlaggedKeyImage:
    """A key image the reader flagged: the whole slice, and where it belongs."""

    timepoint_label: str
    instance: str  # "image 42" (instance number) or the SOP instance UID
    image: KeyImage | KeyImageCell


@dataclass
class KeyImagePlan:
    rows: list[KeyImageRow]
    flagged: list[FlaggedKeyImage]
    warnings: list[str] = field(default_factory=list)


def window_for(site: Site) -> tuple[float, float]:
    return LUNG_WINDOW if site is Site.LUNG else SOFT_TISSUE_WINDOW


def _first(value: Any) -> float:
    """The first value of a (possibly multi-valued) number attribute."""
    from pydicom.multival import MultiValue

    if isinstance(value, MultiValue | list | tuple):
        value = value[0]
    return float(value)


@dataclass(frozen=True)
class _Plane:
    ipp: npt.NDArray[np.float64]
    row_dir: npt.NDArray[np.float64]
    col_dir: npt.NDArray[np.float64]
    spacing: tuple[float, float]  # between rows, between columns

    @property
    def normal(self) -> npt.NDArray[np.float64]:
        return np.asarray(np.cross(self.row_dir, self.col_dir), dtype=np.float64)

    def to_pixel(self, pts: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], ...]:
        """(columns, rows, distance off the plane) of LPS points; pixel centres at integers."""
        rel = pts - self.ipp
        return (
            rel @ self.row_dir / self.spacing[1],
            rel @ self.col_dir / self.spacing[0],
            rel @ self.normal,
        )


def image_plane(header: Dataset, frame_number: int | None = None) -> _Plane:
    """The image's plane (a frame's, for an enhanced multi-frame image).

    Raises ``ValueError`` when the header does not say where the image is."""
    try:
        if "ImagePositionPatient" in header:
            ipp = [float(v) for v in header.ImagePositionPatient]
            iop = [float(v) for v in header.ImageOrientationPatient]
            spacing = [float(v) for v in header.PixelSpacing]
        else:
            shared = header.SharedFunctionalGroupsSequence[0]
            frame = header.PerFrameFunctionalGroupsSequence[(frame_number or 1) - 1]

            def find(keyword: str) -> Any:
                for group in (frame, shared):
                    if keyword in group:
                        return group[keyword].value[0]
                raise AttributeError(keyword)

            ipp = [float(v) for v in find("PlanePositionSequence").ImagePositionPatient]
            iop = [float(v) for v in find("PlaneOrientationSequence").ImageOrientationPatient]
            spacing = [float(v) for v in find("PixelMeasuresSequence").PixelSpacing]
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"no image plane in the header ({exc})") from None
    return _Plane(
        np.asarray(ipp, dtype=np.float64),
        np.asarray(iop[:3], dtype=np.float64),
        np.asarray(iop[3:], dtype=np.float64),
        (spacing[0], spacing[1]),
    )


def _bilinear(
    image: npt.NDArray[np.float64],
    rows: npt.NDArray[np.float64],
    cols: npt.NDArray[np.float64],
    fill: float,
) -> npt.NDArray[np.float64]:
    """``image`` sampled at fractional (row, column) indices; ``fill`` outside it."""
    nr, nc = image.shape
    r0 = np.floor(rows).astype(np.int64)
    c0 = np.floor(cols).astype(np.int64)
    fr = rows - r0
    fc = cols - c0
    out = np.zeros(rows.shape, dtype=np.float64)
    for dr, wr in ((0, 1.0 - fr), (1, fr)):
        for dc, wc in ((0, 1.0 - fc), (1, fc)):
            rr = r0 + dr
            cc = c0 + dc
            inside = (rr >= 0) & (rr < nr) & (cc >= 0) & (cc < nc)
            v = np.full(rows.shape, fill, dtype=np.float64)
            v[inside] = image[rr[inside], cc[inside]]
            out += wr * wc * v
    return out


def _window(values: npt.NDArray[np.float64], window: tuple[float, float]) -> npt.NDArray[np.uint8]:
    width, level = window
    lo = level - width / 2.0
    return np.asarray(np.clip((values - lo) / width * 255.0, 0, 255), dtype=np.uint8)


def _resample(
    hu: npt.NDArray[np.float64],
    plane: _Plane,
    centre: Point2,
    fov_mm: float,
    size: int,
    window: tuple[float, float],
) -> npt.NDArray[np.uint8]:
    """A ``size`` x ``size`` crop of ``fov_mm`` centred on ``centre`` (column, row indices of
    the slice), bilinear, windowed; air (-1024) outside the slice."""
    mm = fov_mm / size
    offsets = (np.arange(size, dtype=np.float64) + 0.5 - size / 2.0) * mm
    rows, cols = np.meshgrid(
        centre[1] + offsets / plane.spacing[0],
        centre[0] + offsets / plane.spacing[1],
        indexing="ij",
    )
    return _window(_bilinear(hu, rows, cols, -1024.0), window)


def _unit(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else np.array([1.0, 0.0])


def _dimension_lines(
    axes: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]],
    values_mm: list[float],
    px_per_mm: float,
    gap_mm: float,
) -> tuple[list[list[Segment]], list[tuple[Point2, str]], float]:
    """Dimension lines beside a small lesion, in crop coordinates (see :class:`KeyImage`).

    The long axis's line is moved off the lesion perpendicular to it, towards the top of the
    image; the short axis's along the long axis, towards the right.  Each is ``gap_mm`` beyond
    the lesion's extent on that side (the other axis's endpoints).  Nothing is drawn within
    ``R`` of the long axis's middle, ``R`` the farthest caliper endpoint from it plus half the
    gap: the lesion, which the calipers span, stays uncovered even blurred by the zoom.
    Returns the segments per axis, the label anchors, and the farthest distance drawn from
    the long axis's middle.
    """
    gap = gap_mm * px_per_mm
    tick = 0.35 * gap
    out: list[list[Segment]] = []
    labels: list[tuple[Point2, str]] = []
    long_u = _unit(axes[0][1] - axes[0][0])
    centre = (axes[0][0] + axes[0][1]) / 2.0
    clear = max(float(np.linalg.norm(p - centre)) for ab in axes for p in ab) + 0.5 * gap
    far = 0.0
    for n_axis, (a, b) in enumerate(axes):
        u = _unit(b - a)
        if n_axis == 0:
            side = np.array([u[1], -u[0]])  # perpendicular ...
            if side[1] > 0 or (abs(side[1]) < 1e-9 and side[0] > 0):
                side = -side  # ... towards the top (then the left)
        else:
            side = long_u.copy()
            if side[0] < 0 or (abs(side[0]) < 1e-9 and side[1] < 0):
                side = -side  # towards the right (then the bottom)
        # how far the lesion reaches on that side of this axis: the other axes' endpoints
        reach = 0.0
        for m_axis, (p, q) in enumerate(axes):
            if m_axis != n_axis:
                reach = max(reach, float((p - a) @ side), float((q - a) @ side))
        d = max(reach + gap, clear - float((a - centre) @ side))
        a2, b2 = a + d * side, b + d * side
        segs: list[Segment] = [((float(a2[0]), float(a2[1])), (float(b2[0]), float(b2[1])))]
        for end in (a, b):
            w = end - centre
            ws = float(w @ side)
            disc = ws * ws - float(w @ w) + clear * clear
            t0 = max(0.5 * gap, -ws + float(np.sqrt(disc)) if disc > 0 else 0.0)
            s0 = end + t0 * side
            s1 = end + (d + tick) * side
            segs.append(((float(s0[0]), float(s0[1])), (float(s1[0]), float(s1[1]))))
        out.append(segs)
        mid = (a2 + b2) / 2.0 + (tick + 0.9 * gap) * side
        labels.append(((float(mid[0]), float(mid[1])), f"{values_mm[n_axis]:.1f}"))
        for pt in (a2, b2, a + (d + tick) * side, b + (d + tick) * side, mid):
            far = max(far, float(np.linalg.norm(pt - centre)))
    return out, labels, far


def _marker_points(m: Any) -> tuple[npt.NDArray[np.float64], list[tuple[int, int]]]:
    """The LPS points to draw for a record and which pairs are segments."""
    p = m.array
    if m.kind is MeasurementKind.BIDIRECTIONAL:
        return p[:4], [(0, 1), (2, 3)]
    if m.kind in (MeasurementKind.LINE, MeasurementKind.ARROW):
        return p[:2], [(0, 1)]
    if m.kind is MeasurementKind.ELLIPSE:
        c, a, b = p[0], p[1], p[2]
        return np.array([2 * c - a, a, 2 * c - b, b]), [(0, 1), (2, 3)]
    if m.kind is MeasurementKind.SPHERE:
        c, s = p[0], p[1]
        return np.array([2 * c - s, s]), [(0, 1)]
    return p[:1], []


def key_image(
    measurement: Any,
    header: Dataset,
    pixels_hu: npt.NDArray[np.floating[Any]] | npt.NDArray[np.integer[Any]],
    window: tuple[float, float],
    lesion_label: str,
    timepoint_label: str,
    *,
    frame_number: int | None = None,
    size: int = KEY_IMAGE_PX,
) -> KeyImage | None:
    """The key image of a record on its slice: a crop around it, windowed, with the calipers.

    ``pixels_hu`` is the slice in modality units (rescale applied).  Standard crop: a field of
    view of ``max(60 mm, 2.5 x the long axis)`` with the calipers over the lesion.  A diameter
    record of at most :data:`~.key_images.SMALL_LESION_MM` is enlarged (``max(4 x its long
    axis, 16 mm)``, at most 40 mm and at least 10 source pixels) with its calipers beside it
    (:class:`KeyImage`).  None when the record does not lie on this slice (more than half a
    pixel off its plane).  Raises ``ValueError`` when the header has no image plane.
    """
    plane = image_plane(header, frame_number)
    pts, pairs = _marker_points(measurement)
    cols, rows, off = plane.to_pixel(pts)
    if np.max(np.abs(off)) > 0.5 * min(plane.spacing):
        return None
    hu = np.asarray(pixels_hu, dtype=np.float64)
    centre = (
        (float(cols[:2].mean()), float(rows[:2].mean()))
        if len(pts) >= 2 and measurement.kind is not MeasurementKind.ARROW
        else (float(cols[0]), float(rows[0]))
    )
    extent = [float(np.linalg.norm(pts[i] - pts[j])) for i, j in pairs] or [0.0]
    long_mm = max(extent)
    standard_fov = max(KEY_IMAGE_MIN_FOV_MM, KEY_IMAGE_FOV_FACTOR * long_mm)
    diameter = measurement.kind in (MeasurementKind.BIDIRECTIONAL, MeasurementKind.LINE)
    small = diameter and 0.0 < long_mm <= SMALL_LESION_MM
    spacing_min = min(plane.spacing)

    def to_crop(i: int, fov: float) -> npt.NDArray[np.float64]:
        px_per_mm = size / fov
        return np.array(
            [
                size / 2.0 + (cols[i] - centre[0]) * plane.spacing[1] * px_per_mm,
                size / 2.0 + (rows[i] - centre[1]) * plane.spacing[0] * px_per_mm,
            ]
        )

    def seg(i: int, j: int, fov: float) -> Segment:
        p, q = to_crop(i, fov), to_crop(j, fov)
        return ((float(p[0]), float(p[1])), (float(q[0]), float(q[1])))

    caption = measurement.summary()
    if not small:
        fov = standard_fov
        img = _resample(hu, plane, centre, fov, size, window)
        lines = [seg(i, j, fov) for i, j in pairs]
        if not pairs:  # a point: a cross around it, its centre left free
            c = size / 2.0
            r0, r1 = 0.03 * size, 0.09 * size
            lines = [
                ((c - r1, c), (c - r0, c)),
                ((c + r0, c), (c + r1, c)),
                ((c, c - r1), (c, c - r0)),
                ((c, c + r0), (c, c + r1)),
            ]
        return KeyImage(
            lesion_label,
            timepoint_label,
            img,
            lines,
            caption,
            fov / size,
            centre=(size / 2.0, size / 2.0),
            axes=[seg(i, j, fov) for i, j in pairs],
        )
    # enlarged: a smaller field of view, the calipers beside the lesion
    values = (
        [float(measurement.long_axis_mm or 0.0), float(measurement.short_axis_mm or 0.0)]
        if measurement.kind is MeasurementKind.BIDIRECTIONAL
        else [float(measurement.length_mm or 0.0)]
    )
    gap_mm = max(1.5 * spacing_min, 0.3 * long_mm, 1.5)
    fov = min(max(4.0 * long_mm, 16.0, 10.0 * spacing_min), 40.0)
    for _ in range(3):  # the dimension lines and their labels must fit in the crop
        axes = [(to_crop(i, fov), to_crop(j, fov)) for i, j in pairs]
        beside, labels, far = _dimension_lines(axes, values, size / fov, gap_mm)
        need = 2.0 * (far / (size / fov) + 2.5)  # mm, with a margin for the label's text
        if need <= fov:
            break
        fov = need
    img = _resample(hu, plane, centre, fov, size, window)
    context_size = size // 2
    context = _resample(hu, plane, centre, standard_fov, context_size, window)
    half = fov / standard_fov * context_size / 2.0
    c = context_size / 2.0
    bar = 5.0 if fov <= 30.0 else 10.0
    return KeyImage(
        lesion_label,
        timepoint_label,
        img,
        [],
        caption,
        fov / size,
        enlarged=True,
        zoom=standard_fov / fov,
        beside=beside,
        labels=labels,
        centre=(size / 2.0, size / 2.0),
        axes=[seg(i, j, fov) for i, j in pairs],
        context=context,
        context_box=(c - half, c - half, c + half, c + half),
        scale_bar_mm=bar,
    )


def slice_pixels(
    path: str, frame_number: int | None = None
) -> tuple[Dataset, npt.NDArray[np.float64]]:
    """One image (a frame of a multi-frame image) in modality units (rescale applied)."""
    import pydicom

    ds = pydicom.dcmread(path)
    arr = ds.pixel_array.astype(np.float64)
    if arr.ndim == 3 and int(getattr(ds, "NumberOfFrames", 1) or 1) > 1:
        arr = arr[(frame_number or 1) - 1]
    slope = float(getattr(ds, "RescaleSlope", 1.0) or 1.0)
    intercept = float(getattr(ds, "RescaleIntercept", 0.0) or 0.0)
    return ds, arr * slope + intercept


def whole_slice(
    header: Dataset,
    pixels_hu: npt.NDArray[np.float64],
    timepoint_label: str,
    size: int = KEY_IMAGE_PX,
) -> KeyImage:
    """A flagged key image: the whole slice in a square, in its own window (else soft tissue)."""
    nr, nc = pixels_hu.shape
    try:
        sp_r, sp_c = (float(v) for v in header.PixelSpacing)
    except (AttributeError, TypeError, ValueError):
        sp_r = sp_c = 1.0
    window = SOFT_TISSUE_WINDOW
    try:
        width = _first(header.WindowWidth)
        level = _first(header.WindowCenter)
        if width > 1:
            window = (width, level)
    except (AttributeError, IndexError, TypeError, ValueError):
        pass
    fov = max(nr * sp_r, nc * sp_c)
    plane = _Plane(np.zeros(3), np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), (sp_r, sp_c))
    centre = ((nc - 1) / 2.0, (nr - 1) / 2.0)
    img = _resample(pixels_hu, plane, centre, fov, size, window)
    return KeyImage("", timepoint_label, img, [], "", fov / size, centre=(size / 2.0, size / 2.0))


def build_key_images(read: Read, file_of: Callable[[str], str | None] | None) -> KeyImagePlan:
    """The key-image pages' content: a row per lesion with a key image (every target, too) with
    a cell per timepoint, then the reader's flagged images; warnings for images not found."""
    from namecar_viewer.core.reports.key_images import (
        KeyImageSource,
        key_images,
        key_records,
    )

    warnings: list[str] = []
    tps = ordered(read)
    pixels: dict[tuple[str, int | None], tuple[Dataset, npt.NDArray[np.float64]] | None] = {}

    def load(
        uid: str, frame: int | None, where: str
    ) -> tuple[Dataset, npt.NDArray[np.float64]] | KeyImageGap:
        if file_of is None:
            return KeyImageGap.IMAGE_UNKNOWN
        key = (uid, frame)
        if key not in pixels:
            path = file_of(uid)
            if path is None:
                warnings.append(f"{where}: image {uid} not found")
                pixels[key] = None
                return KeyImageGap.IMAGE_NOT_FOUND
            try:
                pixels[key] = slice_pixels(path, frame)
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the report
                warnings.append(f"{where}: {path}: {exc}")
                pixels[key] = None
                return KeyImageGap.UNREADABLE
        got = pixels[key]
        return KeyImageGap.UNREADABLE if got is None else got

    rows: list[KeyImageRow] = []
    for les in read.lesions:
        cells: list[KeyImage | KeyImageCell] = []
        any_image = False
        for tp in tps:
            status = read.statuses.get((les.uid, tp.uid))
            records = [m for m in key_records(read, les.uid, tp.uid) if m.images]
            if not key_records(read, les.uid, tp.uid):
                cells.append(KeyImageCell(KeyImageGap.NOT_MEASURED, status))
                continue
            if not records:
                cells.append(KeyImageCell(KeyImageGap.IMAGE_UNKNOWN, status))
                continue
            m = records[0]
            ref = m.images[0]
            where = f"{les.label} {tp.label}"
            got = load(ref.sop_instance_uid, ref.frame_number, where)
            if isinstance(got, KeyImageGap):
                cells.append(KeyImageCell(got, status))
                continue
            ds, hu = got
            try:
                ki = key_image(
                    m,
                    ds,
                    hu,
                    window_for(les.site),
                    les.label,
                    tp.label,
                    frame_number=ref.frame_number,
                )
            except ValueError as exc:
                warnings.append(f"{where}: {exc}")
                ki = None
            if ki is None:
                cells.append(KeyImageCell(KeyImageGap.OFF_PLANE, status))
                continue
            any_image = True
            cells.append(ki)
        if any_image or les.role is LesionRole.TARGET:
            rows.append(KeyImageRow(les.label, les.role, cells))

    flagged: list[FlaggedKeyImage] = []
    tp_label = {tp.uid: tp.label for tp in tps}
    for k in key_images(read):
        if k.source is not KeyImageSource.FLAGGED:
            continue
        label = tp_label.get(k.timepoint_uid or "", "")
        uid = k.image.sop_instance_uid
        got = load(uid, k.image.frame_number, f"flagged {label}".strip())
        if isinstance(got, KeyImageGap):
            flagged.append(FlaggedKeyImage(label, uid, KeyImageCell(got)))
            continue
        ds, hu = got
        number = str(getattr(ds, "InstanceNumber", "") or "")
        frame = f", frame {k.image.frame_number}" if k.image.frame_number else ""
        name = (f"image {number}" if number else uid) + frame
        flagged.append(FlaggedKeyImage(label, name, whole_slice(ds, hu, label, 2 * KEY_IMAGE_PX)))
    return KeyImagePlan(rows, flagged, warnings)


def today() -> str:
    return dt.date.today().isoformat()

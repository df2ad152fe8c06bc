"""Proposed measurements at a follow-up: each lesion found again where it is expected.

At a follow-up every lesion of the read that is expected there (targets and non-targets from
the baseline, a new lesion from the timepoint after the one it appeared at) gets a proposal,
computed here and shown by the GUI; nothing enters the read until the reader acts on it.

* **Where** (:func:`expected_location`): the lesion's latest earlier measurement, its centre
  mapped into the follow-up's frame of reference through the timepoint alignment (the
  ``mapper``: :meth:`~namecar_viewer.app.view_state.ViewState.map_point`, so a manual offset
  today and the automatic alignment when it is stored both work); without a transform the same
  patient coordinates, flagged as not aligned.
* **What** (:func:`find_lesion`): the semi-automatic diameter of the SemiAuto tool
  (:func:`~namecar_viewer.core.measure.propose_diameters`, long and short axis) on the best
  slice around the expected point: a few slices either side (:data:`SEARCH_MM`), on each the
  region grown from the expected point (else from the nearest pixels that stand out from their
  surroundings, for a small lesion the alignment misses by a few millimetres); a region is the
  lesion when its centre lies near the expected point (the tolerance of
  :mod:`~namecar_viewer.app.lesion_assignment`) and its size is plausible beside the previous
  one; of those the slice with the longest diameter is proposed (RECIST 1.1 measures the
  longest diameter in the axial plane).  A lesion a few pixels across is too small for the
  region growing's neighbourhood statistics: the same algorithm then runs on the slice
  magnified by pixel replication (the contour still falls on the image's pixel edges, the
  diameters are those of the original pixels).  A region must stand out from the ring of
  pixels around it (a patch of noise in the lung does not), and on the slices next to the
  one nearest the expected point only the same region counts.  Nothing near: *not found*.
* **Non-targets** (and a new lesion recorded by its status only): the previous answer
  (present, absent, ...) is proposed again, to confirm (:func:`previous_answer`).

Acting on a proposal goes through the read's one command path and the assignment rules of
:mod:`~namecar_viewer.app.lesion_assignment`: :func:`accept_command` stores the measurement
and gives it to the lesion in one undo step (never a new target), :func:`status_command` sets a
status.  Each also writes a read setting ``proposal/<timepoint uid>/<lesion uid>`` (JSON): what
was proposed, where it was expected, and whether the reader accepted it as proposed, edited it
or replaced it, and the answer (:func:`record_json`, :func:`records_in`), so the read keeps which
values were proposed without a schema change.  Undoing the step removes the record with it.

Qt-free.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.app.i18n import QT_TRANSLATE_NOOP
from namecar_viewer.app.lesion_assignment import (
    NEAR_MIN_MM,
    UNALIGNED_EXTRA_MM,
    NewLesionDetails,
    Option,
    Plan,
    assignment_command,
    plan_assignment,
)
from namecar_viewer.app.read_session import (
    AddMeasurement,
    AddTimepoint,
    Batch,
    Command,
    DeleteMeasurement,
    SetReadSetting,
    SetStatus,
)
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.geometry.reslice import (
    Plane,
    SliceGeometry,
    SliceOrientation,
    reslice,
)
from namecar_viewer.core.measure import (
    Measurement,
    MeasurementKind,
    PlaneRef,
    Point,
    SegmentationError,
    images_for_points,
    propose_diameters,
)
from namecar_viewer.core.measure.semiauto import DEFAULT_MAX_RADIUS_MM, DiameterProposal
from namecar_viewer.core.reads.model import (
    Lesion,
    LesionRole,
    LesionStatus,
    Read,
    ReadKind,
    ReadTimepoint,
)

# What the record says computed the proposal (kept with each record).
ALGORITHM = "semi-automatic diameter (ConfidenceConnected region), best slice within 5 mm"
SETTING_PREFIX = "proposal/"
# Slices searched either side of the expected point: as many as lie within this distance.
SEARCH_MM = 5.0
# Seeds tried on a slice: the expected point, then pixels standing out near it.
MAX_SEEDS = 4
# A pixel "stands out" when it differs from the median around it by this many robust SDs.
OUTLIER_SD = 4.0
# Seeds are looked for within this distance of the expected point (or half the previous
# diameter and a few millimetres, if larger): the alignment's error on a small lesion.
SEED_RADIUS_MM = 5.0
# Where no region grows on the slice as it is, the slice magnified this much by pixel
# replication, within this radius (a lesion a few pixels across).
MAGNIFY = 4
MAGNIFIED_RADIUS_MM = 20.0
# A region is a lesion when its median differs from the ring of pixels around it (this many
# pixels wide) by this many robust SDs of the ring.
CONTRAST_SD = 3.0
RING_PX = 3.0
DIAMETER_KINDS = (MeasurementKind.LINE, MeasurementKind.BIDIRECTIONAL)

# Maps a point between frames of reference (ViewState.map_point), None when they are unrelated.
Mapper = Callable[[npt.ArrayLike, str | None, str | None], "npt.NDArray[np.float64] | None"]


class ProposalKind(enum.Enum):
    """What is proposed for one lesion."""

    DIAMETER = "diameter"  # a semi-automatic diameter was found near the expected point
    NOT_FOUND = "not_found"  # nothing near the expected point
    STATUS = "status"  # a non-target (or a new lesion marked by status): the previous answer


class Outcome(enum.Enum):
    """What the reader made of a proposal."""

    ACCEPTED = "accepted"  # as proposed (the diameter, or the previous answer confirmed)
    EDITED = "edited"  # the proposed diameter with a handle moved
    REPLACED = "replaced"  # another answer: the reader's own measurement, or another status


@dataclass(frozen=True)
class Expected:
    """Where a lesion is expected at a timepoint (LPS mm in the timepoint's frame)."""

    point: tuple[float, float, float]
    frame_of_reference_uid: str | None
    from_timepoint_uid: str
    from_label: str
    aligned: bool  # same frame of reference, or mapped through a transform
    prior: Measurement

    @property
    def prior_diameter_mm(self) -> float | None:
        """The previous long axis (a line's length), if the previous record was a diameter."""
        return self.prior.long_axis_mm

    @property
    def tolerance_mm(self) -> float:
        """How far from the expected point the lesion still counts as found (the tolerance of
        the assignment rules: 15 mm or half the previous diameter, more when not aligned)."""
        radius = (self.prior.long_axis_mm or 0.0) / 2.0 or self.prior.radius_mm or 0.0
        return max(NEAR_MIN_MM, float(radius)) + (0.0 if self.aligned else UNALIGNED_EXTRA_MM)


@dataclass(frozen=True)
class Finding:
    """A semi-automatic diameter found on one slice."""

    slice_index: int
    plane: Plane
    slice_spacing_mm: float
    points: tuple[Point, Point, Point, Point]  # long axis, then short axis
    contour: tuple[Point, ...]
    long_axis_mm: float
    short_axis_mm: float
    magnified: bool  # found on the slice magnified by pixel replication

    @property
    def centre(self) -> tuple[float, float, float]:
        a = np.asarray(self.points[:2], dtype=np.float64).mean(axis=0)
        return (float(a[0]), float(a[1]), float(a[2]))


@dataclass(frozen=True)
class Proposal:
    """What the workstation proposes for one lesion at one timepoint."""

    lesion_uid: str
    label: str
    role: LesionRole
    nodal: bool
    timepoint_uid: str
    kind: ProposalKind
    expected: Expected | None
    finding: Finding | None = None
    status: LesionStatus | None = None  # STATUS: the previous answer, to confirm
    status_from: str = ""  # the label of the timepoint that answer comes from

    @property
    def recist_diameter_mm(self) -> float | None:
        """The proposed value RECIST sums: the short axis of a node, else the long axis."""
        f = self.finding
        if f is None:
            return None
        return f.short_axis_mm if self.nodal else f.long_axis_mm

    @property
    def point(self) -> tuple[float, float, float] | None:
        """Where to show the lesion: the finding's centre, else the expected point."""
        if self.finding is not None:
            return self.finding.centre
        return None if self.expected is None else self.expected.point


# --- which lesions, what they had before ---------------------------------------------------


def _timepoints_before(read: Read, tp: ReadTimepoint) -> list[ReadTimepoint]:
    """The read's timepoints dated before ``tp`` (or, when ``tp`` is undated, all others)."""
    order = [t for t in read.ordered_timepoints() if t.uid != tp.uid]
    if tp.date is None:
        return order
    return [t for t in order if t.date is None or t.date < tp.date]


def _measured_at(read: Read, lesion_uid: str, tp_uid: str) -> bool:
    return any(
        lm.lesion_uid == lesion_uid and lm.timepoint_uid == tp_uid for lm in read.measurements
    )


def _answered_at(read: Read, lesion_uid: str, tp_uid: str) -> bool:
    return (lesion_uid, tp_uid) in read.statuses or _measured_at(read, lesion_uid, tp_uid)


def answered(read: Read, lesion_uid: str, tp_uid: str) -> bool:
    """Whether the read already holds a measurement or a status of the lesion there."""
    return _answered_at(read, lesion_uid, tp_uid)


def lesions_to_propose(read: Read, tp: ReadTimepoint) -> list[Lesion]:
    """The lesions expected at the follow-up ``tp``: targets, then non-targets, then new
    lesions recorded at an earlier timepoint (each group in the read's order).  Empty at the
    baseline and in the ancillary record."""
    if read.kind is not ReadKind.RECIST:
        return []
    base = read.baseline()
    if base is None or base.uid == tp.uid:
        return []
    before = {t.uid for t in _timepoints_before(read, tp)}
    rank = {LesionRole.TARGET: 0, LesionRole.NON_TARGET: 1, LesionRole.NEW: 2}
    out = []
    for les in read.lesions:
        if les.role not in rank:
            continue
        if les.role is LesionRole.NEW and not any(_answered_at(read, les.uid, t) for t in before):
            continue  # a new lesion is expected from the timepoint after it appeared
        out.append(les)
    return sorted(out, key=lambda les: rank[les.role])


def _last_measurement(
    read: Read, lesion_uid: str, tp: ReadTimepoint
) -> tuple[Measurement, ReadTimepoint] | None:
    """The lesion's latest measurement before ``tp`` (a diameter first), else a later one."""
    before = _timepoints_before(read, tp)
    later = [t for t in read.ordered_timepoints() if t.uid != tp.uid and t not in before]
    for t in [*reversed(before), *later]:
        ms = [
            lm.measurement
            for lm in read.measurements
            if lm.lesion_uid == lesion_uid and lm.timepoint_uid == t.uid
        ]
        if ms:
            ms.sort(key=lambda m: m.kind not in DIAMETER_KINDS)
            return ms[0], t
    return None


def expected_location(
    read: Read,
    lesion_uid: str,
    tp: ReadTimepoint,
    frame_of_reference_uid: str | None,
    mapper: Mapper | None = None,
) -> Expected | None:
    """Where the lesion is expected at ``tp`` (whose images are in ``frame_of_reference_uid``):
    its latest earlier measurement's centre mapped through the timepoint alignment; None when
    the lesion was never measured (a non-target recorded by its status only)."""
    last = _last_measurement(read, lesion_uid, tp)
    if last is None:
        return None
    m, at = last
    point = np.asarray(m.centre, dtype=np.float64)
    aligned = (
        m.frame_of_reference_uid is None
        or frame_of_reference_uid is None
        or m.frame_of_reference_uid == frame_of_reference_uid
    )
    if not aligned and mapper is not None:
        mapped = mapper(point, m.frame_of_reference_uid, frame_of_reference_uid)
        if mapped is not None:
            point = np.asarray(mapped, dtype=np.float64).reshape(3)
            aligned = True
    return Expected(
        (float(point[0]), float(point[1]), float(point[2])),
        frame_of_reference_uid,
        at.uid,
        at.label,
        aligned,
        m,
    )


def previous_answer(
    read: Read, lesion_uid: str, tp: ReadTimepoint
) -> tuple[LesionStatus | None, str]:
    """The lesion's answer at the latest earlier timepoint that has one, and that timepoint's
    label: its status, else *present* when it was marked or measured there."""
    for t in reversed(_timepoints_before(read, tp)):
        st = read.statuses.get((lesion_uid, t.uid))
        if st is not None:
            return st, t.label
        if _measured_at(read, lesion_uid, t.uid):
            return LesionStatus.PRESENT, t.label
    return None, ""


# --- finding the lesion on the follow-up's images ------------------------------------------


def _magnified(
    pixels: npt.NDArray[Any],
    plane: Plane,
    seed_rc: tuple[float, float],
    max_radius_mm: float,
    factor: int = MAGNIFY,
) -> DiameterProposal:
    """:func:`propose_diameters` on the slice around the seed magnified ``factor`` times by
    pixel replication: every original pixel becomes a block of identical pixels, so the
    region's edge, and the diameters, still lie on the original pixel edges."""
    rows, cols = pixels.shape
    r, c = round(seed_rc[0]), round(seed_rc[1])
    hr = math.ceil(max_radius_mm / plane.pixel_spacing[0]) + 1
    hc = math.ceil(max_radius_mm / plane.pixel_spacing[1]) + 1
    r0, r1 = max(r - hr, 0), min(r + hr + 1, rows)
    c0, c1 = max(c - hc, 0), min(c + hc + 1, cols)
    crop = np.asarray(pixels[r0:r1, c0:c1])
    big = np.repeat(np.repeat(crop, factor, axis=0), factor, axis=1)
    half = 0.5 / factor - 0.5  # the centre of a magnified pixel in original pixel units
    origin = plane.pixel_to_patient([[r0 + half, c0 + half]])[0]
    mplane = Plane(
        origin=origin,
        row_direction=plane.row_direction,
        column_direction=plane.column_direction,
        pixel_spacing=(plane.pixel_spacing[0] / factor, plane.pixel_spacing[1] / factor),
        shape=(int(big.shape[0]), int(big.shape[1])),
    )
    seed = ((seed_rc[0] - r0 + 0.5) * factor - 0.5, (seed_rc[1] - c0 + 0.5) * factor - 0.5)
    return propose_diameters(big, mplane, seed, max_radius_mm)


def _clusters(mask: npt.NDArray[np.bool_]) -> list[npt.NDArray[np.float64]]:
    """The 8-connected groups of True pixels of a small mask, each as an (n, 2) array."""
    seen = np.zeros_like(mask, dtype=bool)
    rows, cols = mask.shape
    out = []
    for r0, c0 in zip(*np.nonzero(mask), strict=True):
        if seen[r0, c0]:
            continue
        stack, group = [(int(r0), int(c0))], []
        seen[r0, c0] = True
        while stack:
            r, c = stack.pop()
            group.append((r, c))
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < rows and 0 <= cc < cols and mask[rr, cc] and not seen[rr, cc]:
                        seen[rr, cc] = True
                        stack.append((rr, cc))
        out.append(np.asarray(group, dtype=np.float64))
    return out


def _seeds(
    pixels: npt.NDArray[Any], rc: npt.NDArray[np.float64], radius_px: tuple[float, float]
) -> list[tuple[float, float]]:
    """Where to grow the region from: the expected pixel and the centres of the groups of
    pixels near it that stand out from their surroundings (a small lesion the alignment misses
    by a pixel or two), nearest first; a group touching the expected pixel comes first (its
    centre, not its edge: the region's statistics are then the lesion's)."""
    rows, cols = pixels.shape
    expected = (float(rc[0]), float(rc[1]))
    r, c = round(rc[0]), round(rc[1])
    hr, hc = math.ceil(radius_px[0]), math.ceil(radius_px[1])
    r0, r1 = max(r - hr, 0), min(r + hr + 1, rows)
    c0, c1 = max(c - hc, 0), min(c + hc + 1, cols)
    if r0 >= r1 or c0 >= c1:
        return [expected]
    win = np.asarray(pixels[r0:r1, c0:c1], dtype=np.float64)
    ok = np.isfinite(win)
    # the surroundings: a wider window (three times the radius) around the expected point
    wr0, wr1 = max(r - 3 * hr, 0), min(r + 3 * hr + 1, rows)
    wc0, wc1 = max(c - 3 * hc, 0), min(c + 3 * hc + 1, cols)
    around = np.asarray(pixels[wr0:wr1, wc0:wc1], dtype=np.float64)
    around = around[np.isfinite(around)]
    if ok.sum() < 9 or around.size < 9:
        return [expected]
    med = float(np.median(around))
    sd = max(1.4826 * float(np.median(np.abs(around - med))), 1.0)
    yy, xx = np.mgrid[r0:r1, c0:c1]
    inside = ((yy - rc[0]) / max(radius_px[0], 1e-9)) ** 2 + (
        (xx - rc[1]) / max(radius_px[1], 1e-9)
    ) ** 2 <= 1.0
    odd = ok & inside & (np.abs(np.where(ok, win, med) - med) > OUTLIER_SD * sd)
    ranked = []
    for group in _clusters(odd):
        pts = group + np.array([r0, c0], dtype=np.float64)
        gap = float(np.min(np.hypot(pts[:, 0] - rc[0], pts[:, 1] - rc[1])))
        centre = pts.mean(axis=0)
        ranked.append((gap, (float(centre[0]), float(centre[1]))))
    ranked.sort(key=lambda x: x[0])
    seeds = [p for _gap, p in ranked]
    if ranked and ranked[0][0] <= 1.5:
        seeds.insert(1, expected)
    else:
        seeds.insert(0, expected)
    return seeds[:MAX_SEEDS]


def _in_plane_distance(plane: Plane, a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    d = np.asarray(a, dtype=np.float64).reshape(3) - np.asarray(b, dtype=np.float64).reshape(3)
    d -= np.dot(d, plane.normal) * plane.normal
    return float(np.linalg.norm(d))


def plausible_diameter(long_axis_mm: float, prior_mm: float | None) -> bool:
    """Whether a region of this long axis can be the lesion that measured ``prior_mm`` last
    time (a lesion may grow: three times, or 30 mm more, at the most)."""
    if prior_mm is None or prior_mm <= 0:
        return True
    return long_axis_mm <= max(3.0 * prior_mm, prior_mm + 30.0)


def _inside_polygon(rc: npt.NDArray[np.float64], poly: npt.NDArray[np.float64]) -> Any:
    """Even-odd rule: which (row, col) points lie inside the closed polygon (rows, cols)."""
    inside = np.zeros(len(rc), dtype=bool)
    y, x = rc[:, 0], rc[:, 1]
    n = len(poly)
    for i in range(n):
        (y1, x1), (y2, x2) = poly[i], poly[(i + 1) % n]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < xc)
    return inside


def stands_out(pixels: npt.NDArray[Any], plane: Plane, contour: Sequence[Any]) -> bool:
    """Whether the region inside ``contour`` differs from the ring of pixels around it by at
    least :data:`CONTRAST_SD` robust SDs of the ring (a lesion, not a patch of noise)."""
    poly = plane.patient_to_pixel(np.asarray(contour, dtype=np.float64).reshape(-1, 3))
    centre = poly.mean(axis=0)
    reach = float(np.max(np.hypot(*(poly - centre).T))) + RING_PX
    rows, cols = pixels.shape
    r0, r1 = max(int(centre[0] - reach), 0), min(int(centre[0] + reach) + 2, rows)
    c0, c1 = max(int(centre[1] - reach), 0), min(int(centre[1] + reach) + 2, cols)
    yy, xx = np.mgrid[r0:r1, c0:c1]
    rc = np.stack([yy.ravel(), xx.ravel()], axis=1).astype(np.float64)
    values = np.asarray(pixels[r0:r1, c0:c1], dtype=np.float64).ravel()
    inside = _inside_polygon(rc, poly)
    near = np.hypot(rc[:, 0] - centre[0], rc[:, 1] - centre[1]) <= reach
    ring = values[near & ~inside & np.isfinite(values)]
    core = values[inside & np.isfinite(values)]
    if core.size == 0 or ring.size < 8:
        return False
    med = float(np.median(ring))
    sd = max(1.4826 * float(np.median(np.abs(ring - med))), 1.0)
    return abs(float(np.median(core)) - med) >= CONTRAST_SD * sd


def _on_slice(
    pixels: npt.NDArray[Any],
    plane: Plane,
    point: npt.NDArray[np.float64],
    prior_mm: float | None,
    tolerance_mm: float,
) -> tuple[DiameterProposal, bool] | None:
    rc = plane.patient_to_pixel(point.reshape(1, 3))[0]
    rows, cols = pixels.shape
    if not (-0.5 <= rc[0] <= rows - 0.5 and -0.5 <= rc[1] <= cols - 0.5):
        return None
    max_radius = max(DEFAULT_MAX_RADIUS_MM, 1.2 * (prior_mm or 0.0))
    seed_mm = max(SEED_RADIUS_MM, 0.5 * (prior_mm or 0.0) + 3.0)
    radius_px = (seed_mm / plane.pixel_spacing[0], seed_mm / plane.pixel_spacing[1])
    for seed in _seeds(pixels, rc, radius_px):
        # the slice as it is; a region too small for that, on the slice magnified (a small
        # lesion: within a small radius, which also keeps it quick)
        for magnified, radius in ((False, max_radius), (True, MAGNIFIED_RADIUS_MM)):
            try:
                prop = (
                    _magnified(pixels, plane, seed, radius)
                    if magnified
                    else propose_diameters(pixels, plane, seed, radius)
                )
            except SegmentationError:
                continue
            centre = np.asarray(prop.contour, dtype=np.float64).mean(axis=0)
            if _in_plane_distance(plane, centre, point) > tolerance_mm:
                break
            if not plausible_diameter(prop.long_axis_mm, prior_mm):
                break
            if magnified and prop.n_pixels < 2 * MAGNIFY * MAGNIFY:
                continue  # one pixel: too few to tell a lesion's edge
            if not stands_out(pixels, plane, prop.contour):
                continue  # a patch of noise: the magnified slice may still find the lesion
            return prop, magnified
    return None


def diameter_at(pixels: npt.NDArray[Any], plane: Plane, point: npt.ArrayLike) -> DiameterProposal:
    """The semi-automatic diameter of the lesion under ``point`` (the reader's click): the
    slice as it is, else magnified (a lesion a few pixels across).  Raises
    :class:`~namecar_viewer.core.measure.SegmentationError` when no region grows."""
    rc = plane.patient_to_pixel(np.asarray(point, dtype=np.float64).reshape(1, 3))[0]
    seed = (float(rc[0]), float(rc[1]))
    try:
        return propose_diameters(pixels, plane, seed)
    except SegmentationError as first:
        try:
            prop = _magnified(pixels, plane, seed, MAGNIFIED_RADIUS_MM)
        except SegmentationError:
            raise first from None
        if prop.n_pixels < 2 * MAGNIFY * MAGNIFY:
            raise first from None
        return prop


def find_lesion(
    volume: Volume,
    geometry: SliceGeometry,
    orientation: SliceOrientation,
    point: npt.ArrayLike,
    prior_mm: float | None = None,
    tolerance_mm: float = NEAR_MIN_MM,
    search_mm: float = SEARCH_MM,
) -> Finding | None:
    """The semi-automatic diameter of the lesion expected at ``point``, on the slice (within
    ``search_mm`` of it) where its diameter is longest; None when nothing is found near it."""
    p = np.asarray(point, dtype=np.float64).reshape(3)
    spacing = geometry.slice_spacing or 1.0
    frac = geometry.fractional_index(p)
    n = max(1, math.ceil(search_mm / spacing))
    if frac < -n or frac > geometry.count - 1 + n:
        return None  # outside the scanned range
    centre = geometry.index_of(p)
    found: list[Finding] = []
    for k in range(max(centre - n, 0), min(centre + n, geometry.count - 1) + 1):
        sl = reslice(volume, orientation, k, geometry)
        hit = _on_slice(sl.pixels, sl.plane, p, prior_mm, tolerance_mm)
        if hit is None:
            continue
        prop, magnified = hit
        found.append(
            Finding(
                k,
                sl.plane,
                spacing,
                prop.points,
                prop.contour,
                prop.long_axis_mm,
                prop.short_axis_mm,
                magnified,
            )
        )
    if not found:
        return None
    # the lesion: the region nearest the expected point, and the same region on the slices
    # next to it (centres close in the plane); of those the longest diameter, of equal ones
    # the slice nearest the expected point
    anchor = min(found, key=lambda f: float(np.linalg.norm(np.asarray(f.centre) - p)))
    by_slice = {f.slice_index: f for f in found}
    run = [anchor]
    for step in (-1, 1):
        prev = anchor
        k = anchor.slice_index + step
        while k in by_slice:
            f = by_slice[k]
            near = max(0.5 * prev.long_axis_mm, 2.0 * max(anchor.plane.pixel_spacing))
            if _in_plane_distance(anchor.plane, f.centre, prev.centre) > near:
                break
            run.append(f)
            prev, k = f, k + step
    return max(run, key=lambda f: (round(f.long_axis_mm, 3), -abs(f.slice_index - frac)))


def make_proposal(
    read: Read,
    tp: ReadTimepoint,
    lesion: Lesion,
    volume: Volume,
    geometry: SliceGeometry,
    orientation: SliceOrientation,
    mapper: Mapper | None = None,
    expected: Expected | None = None,
) -> Proposal:
    """The proposal for ``lesion`` at ``tp`` on ``volume`` (the timepoint's CT)."""
    if expected is None:
        expected = expected_location(read, lesion.uid, tp, volume.frame_of_reference_uid, mapper)
    finding = None
    if expected is not None:
        finding = find_lesion(
            volume,
            geometry,
            orientation,
            expected.point,
            expected.prior_diameter_mm,
            expected.tolerance_mm,
        )
    measured_before = expected is not None and expected.prior.kind in DIAMETER_KINDS
    by_status = lesion.role is LesionRole.NON_TARGET or (
        lesion.role is LesionRole.NEW and not measured_before
    )
    if by_status:
        status, where = previous_answer(read, lesion.uid, tp)
        return Proposal(
            lesion.uid,
            lesion.label,
            lesion.role,
            lesion.nodal,
            tp.uid,
            ProposalKind.STATUS,
            expected,
            finding,
            status or LesionStatus.PRESENT,
            where,
        )
    return Proposal(
        lesion.uid,
        lesion.label,
        lesion.role,
        lesion.nodal,
        tp.uid,
        ProposalKind.DIAMETER if finding is not None else ProposalKind.NOT_FOUND,
        expected,
        finding,
    )


# --- acting on a proposal ------------------------------------------------------------------


def measurement_from(
    volume: Volume,
    plane: Plane,
    slice_spacing_mm: float | None,
    kind: MeasurementKind,
    points: Sequence[Any],
) -> Measurement:
    """The measurement record of points on ``plane`` of ``volume`` (as the tools make them)."""
    return Measurement.create(
        kind,
        points,
        plane=PlaneRef.from_plane(plane, slice_spacing_mm),
        series_instance_uid=volume.series_instance_uid,
        images=images_for_points(volume, points),
        frame_of_reference_uid=volume.frame_of_reference_uid,
        study_instance_uid=volume.study_instance_uid,
    )


def assignment_plan(
    read: Read,
    tp: ReadTimepoint,
    proposal: Proposal,
    measurement: Measurement,
    mapper: Mapper | None = None,
) -> Plan:
    """The assignment rules' plan for the measurement with the proposal's lesion selected:
    automatic when it lies where the lesion is expected and no other lesion is nearer."""
    return plan_assignment(read, tp, measurement, proposal.lesion_uid, mapper)


def attaches_to_lesion(plan: Plan, proposal: Proposal) -> bool:
    """Whether the plan gives the measurement to the proposal's lesion without asking."""
    return plan.automatic and plan.chosen.lesion_uid == proposal.lesion_uid


def _ensure(read: Read, tp: ReadTimepoint) -> tuple[Command, ...]:
    return () if any(t.uid == tp.uid for t in read.timepoints) else (AddTimepoint(tp),)


def _rounded(points: Sequence[Any]) -> list[list[float]]:
    return [[round(float(x), 3) for x in p] for p in points]


def record_key(lesion_uid: str, timepoint_uid: str) -> str:
    """The read setting holding what was proposed for a lesion at a timepoint."""
    return f"{SETTING_PREFIX}{timepoint_uid}/{lesion_uid}"


def record_json(
    proposal: Proposal,
    timepoint_label: str,
    outcome: Outcome,
    answer: Mapping[str, Any],
) -> str:
    """What was proposed, where it was expected, the reader's outcome and answer (JSON)."""
    proposed: dict[str, Any] = {"kind": proposal.kind.value}
    f = proposal.finding
    if f is not None:
        proposed.update(
            points=_rounded(f.points),
            long_axis_mm=round(f.long_axis_mm, 2),
            short_axis_mm=round(f.short_axis_mm, 2),
            slice_index=f.slice_index,
            magnified=f.magnified,
        )
    if proposal.kind is ProposalKind.STATUS and proposal.status is not None:
        proposed.update(status=proposal.status.value, status_from=proposal.status_from)
    ex = proposal.expected
    doc = {
        "lesion": proposal.label,
        "timepoint": timepoint_label,
        "proposed": proposed,
        "expected": None
        if ex is None
        else {
            "point": _rounded([ex.point])[0],
            "from": ex.from_label,
            "aligned": ex.aligned,
        },
        "outcome": outcome.value,
        "answer": dict(answer),
        "algorithm": ALGORITHM,
    }
    return json.dumps(doc, sort_keys=True)


def records_in(settings: Mapping[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """The proposal records of a read: (lesion uid, timepoint uid) -> the record."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key, value in settings.items():
        if not key.startswith(SETTING_PREFIX):
            continue
        parts = key[len(SETTING_PREFIX) :].split("/")
        if len(parts) != 2:
            continue
        try:
            doc = json.loads(value)
        except ValueError:
            continue
        if isinstance(doc, dict):
            out[(parts[1], parts[0])] = doc
    return out


def accept_command(
    read: Read,
    tp: ReadTimepoint,
    proposal: Proposal,
    measurement: Measurement,
    option: Option,
    outcome: Outcome,
    details: NewLesionDetails | None = None,
) -> Command:
    """One undo step: store the measurement at ``tp`` and give it its place (``option``: the
    plan's automatic choice or the reader's in the chooser); when that is the proposal's lesion,
    its status there is cleared (a measured lesion) and the proposal's record written."""
    cmds: list[Command] = [*_ensure(read, tp), AddMeasurement(measurement, None, tp)]
    assign = assignment_command(
        read, option, measurement.uid, tp.uid, details or NewLesionDetails()
    )
    if assign is not None:
        cmds.append(assign)
    if option.lesion_uid == proposal.lesion_uid:
        if (proposal.lesion_uid, tp.uid) in read.statuses:
            cmds.append(SetStatus(proposal.lesion_uid, tp.uid, None))
        answer = {
            "measurement_uid": measurement.uid,
            "kind": measurement.kind.value,
            "long_axis_mm": round(float(measurement.long_axis_mm or 0.0), 2),
        }
        if measurement.short_axis_mm is not None:
            answer["short_axis_mm"] = round(float(measurement.short_axis_mm), 2)
        cmds.append(
            SetReadSetting(
                record_key(proposal.lesion_uid, tp.uid),
                record_json(proposal, tp.label, outcome, answer),
            )
        )
    text = (
        QT_TRANSLATE_NOOP("proposals", "Accept the proposed measurement of {label}")
        if outcome is Outcome.ACCEPTED
        else QT_TRANSLATE_NOOP("proposals", "Measure {label}")
    ).format(label=proposal.label)
    return Batch(tuple(cmds), text)


def status_command(
    read: Read,
    tp: ReadTimepoint,
    proposal: Proposal,
    status: LesionStatus,
) -> Command:
    """One undo step: the lesion's status at ``tp`` (its diameters there removed: a target
    absent, too small or not evaluable has no measured diameter) and the proposal's record;
    the outcome is *accepted* when the status is the previous answer proposed."""
    outcome = (
        Outcome.ACCEPTED
        if proposal.kind is ProposalKind.STATUS and status is proposal.status
        else Outcome.REPLACED
    )
    cmds: list[Command] = list(_ensure(read, tp))
    for lm in read.measurements:
        if (
            lm.lesion_uid == proposal.lesion_uid
            and lm.timepoint_uid == tp.uid
            and lm.measurement.kind in DIAMETER_KINDS
        ):
            cmds.append(DeleteMeasurement(lm.uid))
    cmds.append(SetStatus(proposal.lesion_uid, tp.uid, status))
    cmds.append(
        SetReadSetting(
            record_key(proposal.lesion_uid, tp.uid),
            record_json(proposal, tp.label, outcome, {"status": status.value}),
        )
    )
    return Batch(
        tuple(cmds),
        QT_TRANSLATE_NOOP("proposals", "Set the status of {label}").format(label=proposal.label),
    )


__all__ = [
    "ALGORITHM",
    "SEARCH_MM",
    "Expected",
    "Finding",
    "Outcome",
    "Proposal",
    "ProposalKind",
    "accept_command",
    "answered",
    "assignment_plan",
    "attaches_to_lesion",
    "diameter_at",
    "expected_location",
    "find_lesion",
    "lesions_to_propose",
    "make_proposal",
    "measurement_from",
    "plausible_diameter",
    "previous_answer",
    "record_json",
    "record_key",
    "records_in",
    "status_command",
]

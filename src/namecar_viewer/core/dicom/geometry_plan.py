"""Order the images of a stack in space and decide how they become one volume with one affine.

Slices are ordered by their position along the slice normal (PS3.3 C.7.6.2.1.1), never by
InstanceNumber or file name.  Real series are imperfect, so the plan also says what was found:
a gap where slices are missing (filled with blank slices so that every other slice keeps its exact
position), non-uniform spacing (resampled to a uniform grid), a gantry tilt (kept exact through a
sheared affine), duplicate positions (the first kept), slice thickness unlike the spacing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.dicom.model import InstanceRef
from namecar_viewer.core.geometry.volume import affine_from_dicom
from namecar_viewer.core.problems import Problem, Severity

POSITION_TOLERANCE_MM = 1e-3  # positions closer than this are the same slice
SPACING_RELATIVE_TOLERANCE = 0.01  # 1% of the spacing: beyond it spacing is non-uniform
SPACING_ABSOLUTE_TOLERANCE_MM = 0.01
GAP_FACTOR = 1.5  # a step this many times the usual spacing is a gap
TILT_TOLERANCE_DEG = 0.01
MAX_BLANK_SLICES = 2000  # never allocate more filler than this for gaps
MAX_RESAMPLE_FACTOR = 3  # irregular spacing never makes more than this many slices per image


@dataclass
class GeometryPlan:
    """How the (already ordered) source images map onto the slices of one volume."""

    order: list[int]  # indices into the stack's instances, in slice order, duplicates removed
    affine: npt.NDArray[np.float64]
    n_slices: int
    # For each output slice: (source position in ``order``, weight) pairs; empty means blank.
    slots: list[list[tuple[int, float]]]
    problems: list[Problem] = field(default_factory=list)
    calibrated: bool = True  # False when patient geometry tags were missing
    slice_spacing: float = 1.0

    @property
    def is_direct(self) -> bool:
        """True when output slice k is exactly source slice k (no blanks, no resampling, no
        image left out: a resampled grid can hold fewer slices than there are images)."""
        return len(self.slots) == len(self.order) and all(
            s == [(k, 1.0)] for k, s in enumerate(self.slots)
        )


def _names(instances: list[InstanceRef], idx: list[int]) -> tuple[str, ...]:
    out = []
    for i in idx:
        inst = instances[i]
        name = inst.path if inst.member is None else f"{inst.path}!{inst.member}"
        out.append(name if inst.frame is None else f"{name} (frame {inst.frame})")
    return tuple(out)


def plan_geometry(instances: list[InstanceRef]) -> GeometryPlan:
    """Order ``instances`` along the slice normal and plan a volume with an exact affine."""
    problems: list[Problem] = []
    n = len(instances)
    if n == 0:
        raise ValueError("a stack needs at least one image")
    first = instances[0]
    given = first.pixel_spacing
    spacing_ok = given is not None and all(float(x) > 0 for x in given)
    ps: tuple[float, ...] = tuple(given) if given is not None and spacing_ok else (1.0, 1.0)
    with_geometry = [i for i, inst in enumerate(instances) if inst.position and inst.orientation]
    if not with_geometry:
        seq = sorted(range(n), key=lambda i: (instances[i].instance_number or 0, i))
        problems.append(
            Problem(
                "missing-geometry",
                "ImagePositionPatient (0020,0032) / ImageOrientationPatient (0020,0037) missing: "
                "images shown in acquisition order with a nominal geometry; distances are in "
                "pixel spacing units only"
                + ("" if spacing_ok else " (PixelSpacing missing or not positive: 1 mm assumed)"),
                Severity.WARNING,
                _names(instances, seq[:1]),
            )
        )
        affine = affine_from_dicom([1, 0, 0, 0, 1, 0], ps, (0, 0, 0), (0, 0, 1.0))
        return GeometryPlan(seq, affine, n, [[(k, 1.0)] for k in range(n)], problems, False, 1.0)
    if len(with_geometry) < n:
        missing = [i for i in range(n) if i not in set(with_geometry)]
        problems.append(
            Problem(
                "missing-position",
                f"{len(missing)} image(s) lack ImagePositionPatient (0020,0032) or "
                "ImageOrientationPatient (0020,0037) and were left out of the volume",
                Severity.WARNING,
                _names(instances, missing),
            )
        )
    if not spacing_ok:
        what = (
            "missing"
            if first.pixel_spacing is None
            else "/".join(f"{float(x):g}" for x in first.pixel_spacing) + ", not positive"
        )
        problems.append(
            Problem(
                "missing-pixel-spacing",
                f"PixelSpacing (0028,0030) {what}: 1 mm assumed, distances are not calibrated",
                Severity.WARNING,
                _names(instances, [0]),
            )
        )
    ref = instances[with_geometry[0]]
    iop = np.asarray(ref.orientation, dtype=np.float64)
    # unit vectors before any distance or angle: cosines stored to 6-8 digits are not quite
    # unit length, and an unnormalised normal reads as a 0.01-0.02 degree "tilt" on straight MR
    row_dir = iop[:3] / np.linalg.norm(iop[:3])
    col_dir = iop[3:] / np.linalg.norm(iop[3:])
    normal = np.cross(row_dir, col_dir)
    normal /= np.linalg.norm(normal)
    positions = np.array([instances[i].position for i in with_geometry], dtype=np.float64)
    dist = positions @ normal
    sort = np.argsort(dist, kind="stable")
    # Duplicates: same position along the normal and in plane; keep the lowest InstanceNumber.
    order: list[int] = []
    dup: list[int] = []
    last_d: float | None = None
    group: list[int] = []

    def flush() -> None:
        if not group:
            return
        group.sort(key=lambda g: (instances[with_geometry[g]].instance_number or 0, g))
        order.append(group[0])
        dup.extend(group[1:])

    if len(sort) < 2 or bool(np.all(np.diff(dist[sort]) >= POSITION_TOLERANCE_MM)):
        order = sort.tolist()  # no two images at one position: the usual series, no loop
    else:
        for s in sort:
            d = float(dist[s])
            if last_d is not None and abs(d - last_d) < POSITION_TOLERANCE_MM:
                group.append(int(s))
            else:
                flush()
                group = [int(s)]
            last_d = d
        flush()
    if dup:
        problems.append(
            Problem(
                "duplicate-position",
                f"{len(dup)} image(s) repeat a slice position already present; the first "
                "(lowest InstanceNumber) was kept",
                Severity.WARNING,
                _names(instances, [with_geometry[d] for d in dup]),
            )
        )
    src = [with_geometry[o] for o in order]
    pos = positions[order]
    d_sorted = dist[order]
    m = len(src)
    ps_row, ps_col = float(ps[0]), float(ps[1])
    if m == 1:
        thickness = first.slice_thickness
        step_len = float(thickness) if thickness and thickness > 0 else 1.0
        affine = affine_from_dicom(iop, (ps_row, ps_col), pos[0], normal * step_len)
        return GeometryPlan(src, affine, 1, [[(0, 1.0)]], problems, True, step_len)

    diffs = np.diff(d_sorted)
    spacing = float(np.median(diffs))
    # Step vector between slices: its direction can differ from the normal (gantry tilt).
    step_vec = (pos[-1] - pos[0]) / float(d_sorted[-1] - d_sorted[0]) * spacing
    cos = float(np.dot(step_vec, normal) / np.linalg.norm(step_vec))
    tilt = float(np.degrees(np.arccos(min(1.0, abs(cos)))))
    if tilt > TILT_TOLERANCE_DEG:
        problems.append(
            Problem(
                "gantry-tilt",
                f"slices are sheared (gantry tilt {tilt:.2f} degrees): loaded exactly through a "
                "sheared affine",
                Severity.INFO,
                _names(instances, [src[0]]),
            )
        )
    tol = max(SPACING_ABSOLUTE_TOLERANCE_MM, SPACING_RELATIVE_TOLERANCE * spacing)
    slots: list[list[tuple[int, float]]]
    n_out = m
    uniform = bool(np.all(np.abs(diffs - spacing) <= tol))
    if uniform:
        slots = [[(k, 1.0)] for k in range(m)]
    else:
        multiples = diffs / spacing
        integral = bool(np.all(np.abs(multiples - np.round(multiples)) * spacing <= tol))
        counts = np.round(multiples).astype(int)
        blanks = int(np.sum(counts - 1))
        if integral and blanks <= MAX_BLANK_SLICES:
            slots = []
            for k in range(m):
                slots.append([(k, 1.0)])
                if k < m - 1:
                    slots.extend([] for _ in range(int(counts[k]) - 1))
            n_out = len(slots)
            for k in (int(x) for x in np.nonzero(counts > 1)[0]):
                gap = float(diffs[k])
                problems.append(
                    Problem(
                        "gap",
                        f"gap of {gap:.2f} mm between slice positions {d_sorted[k]:.2f} and "
                        f"{d_sorted[k + 1]:.2f} mm ({int(counts[k]) - 1} missing slice(s) at "
                        f"{spacing:.2f} mm): shown as blank slices",
                        Severity.WARNING,
                        _names(instances, [src[k], src[k + 1]]),
                    )
                )
        else:
            # Irregular spacing: resample linearly onto a uniform grid at the smallest spacing
            # that is not an outlier (a lone short gap, under half the median, is left out:
            # it would multiply the slices for one pair of images), and never at one that
            # makes more than MAX_RESAMPLE_FACTOR slices per image (then the median); the
            # message says which gap was used and why.
            extent = float(d_sorted[-1] - d_sorted[0])
            median = float(np.median(diffs))
            smallest = float(np.min(diffs))
            usual = diffs[diffs >= 0.5 * median]
            spacing = float(np.min(usual)) if usual.size else median
            why = (
                "the smallest gap"
                if spacing == smallest
                else (f"the smallest usual gap (a lone {smallest:.3f} mm gap left out)")
            )
            if extent / spacing + 1 > MAX_RESAMPLE_FACTOR * m:
                spacing = median
                why = (
                    f"the median gap (a smaller one would make over {MAX_RESAMPLE_FACTOR}x "
                    "the slices)"
                )
            if extent / spacing + 1 > MAX_RESAMPLE_FACTOR * m:
                # one gap far beyond the others (a damaged position): even the median would
                # make millions of slices; the grid is bounded, never the memory it costs
                spacing = extent / (MAX_RESAMPLE_FACTOR * m - 1)
                why = (
                    f"a grid of {MAX_RESAMPLE_FACTOR * m} slices over the whole extent (even "
                    f"the median gap would make over {MAX_RESAMPLE_FACTOR}x the slices)"
                )
            n_out = int(np.floor(extent / spacing + 1e-6)) + 1
            targets = d_sorted[0] + spacing * np.arange(n_out)
            slots = []
            for t in targets:
                j = int(np.searchsorted(d_sorted, t, side="right") - 1)
                j = min(max(j, 0), m - 1)
                if j == m - 1 or abs(t - d_sorted[j]) <= POSITION_TOLERANCE_MM:
                    slots.append([(j, 1.0)])
                else:
                    w = float((t - d_sorted[j]) / (d_sorted[j + 1] - d_sorted[j]))
                    slots.append([(j, 1.0 - w), (j + 1, w)])
            gaps, counts_of = np.unique(np.round(diffs, 2), return_counts=True)
            listed = ", ".join(
                f"{g:g} mm x {c}" for g, c in zip(gaps[:6], counts_of[:6], strict=True)
            ) + (" ..." if len(gaps) > 6 else "")
            problems.append(
                Problem(
                    "non-uniform-spacing",
                    f"slice spacing varies ({listed}): resampled linearly every "
                    f"{spacing:.3f} mm, {why}: {m} images became {n_out} slices",
                    Severity.WARNING,
                    _names(instances, [src[0], src[-1]]),
                )
            )
    if slots and all(len(sl) <= 1 for sl in slots):
        # Direct or blank-filled: the step is exact from the first and last positions.
        step_vec = (pos[-1] - pos[0]) / float(n_out - 1)
    else:
        direction = (pos[-1] - pos[0]) / np.linalg.norm(pos[-1] - pos[0])
        step_vec = direction * spacing / abs(cos)
    thickness = first.slice_thickness
    if thickness and abs(float(thickness) - spacing) > tol:
        kind = "overlapping" if float(thickness) > spacing else "with gaps between slices"
        problems.append(
            Problem(
                "thickness-spacing-mismatch",
                f"SliceThickness (0018,0050) {float(thickness):g} mm differs from the spacing "
                f"between slice positions {spacing:.3f} mm ({kind}); the positions are used",
                Severity.INFO,
                _names(instances, [src[0]]),
            )
        )
    affine = affine_from_dicom(iop, (ps_row, ps_col), pos[0], step_vec)
    return GeometryPlan(src, affine, n_out, slots, problems, True, spacing)

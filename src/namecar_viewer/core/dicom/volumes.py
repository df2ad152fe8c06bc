"""Split images that repeat slice positions into the volumes they belong to.

A 4D series (fMRI, DWI, dynamic contrast, ASL, multi-echo) stores several volumes at the same
slice positions.  What tells the volumes apart varies by vendor and sequence, so the attributes
are tried in order (see ``VOLUME_KEYS``): temporal position, trigger time, acquisition time and
number, diffusion b-value and gradient direction, echo, Philips label type, image type, the
enhanced objects' dimension indices.  An attribute splits the images when it is constant within
each volume, i.e. its values cover most slice positions each (a volume cut short only positions
the others cover); one that changes within a volume (slice timing, or a time that ticks over to
the next second mid-volume) only orders the images.  Images still repeating a
position after that are told apart by their order at each position (acquisition order: trigger
time, acquisition time, instance and frame number), the last resort, with NumberOfTemporalPositions
to confirm the count; a volume is never dropped, and what is guessed is said.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from namecar_viewer.core.dicom.geometry_plan import POSITION_TOLERANCE_MM
from namecar_viewer.core.problems import Problem, Severity

# Attributes that may tell volumes apart, in the order they are tried.
VOLUME_KEYS = (
    "time",  # TemporalPositionIdentifier (0020,0100) / TemporalPositionIndex (0020,9128)
    "trigger",  # TriggerTime (0018,1060) / NominalCardiacTriggerDelayTime (0020,9153)
    "phase_number",  # Philips Phase Number (2001,xx08): cardiac phase, ASL label delay
    "acq_time",  # AcquisitionTime (0008,0032) / FrameAcquisitionDateTime (0018,9074)
    "acquisition",  # AcquisitionNumber (0020,0012) / FrameAcquisitionNumber (0020,9156)
    "content_time",  # ContentTime (0008,0033)
    "b",  # DiffusionBValue (0018,9087) and the vendors' private b-values
    "direction",  # DiffusionGradientOrientation (0018,9089) and private gradient directions
    "echo",  # EchoNumbers (0018,0086) / EffectiveEchoTime (0018,9082)
    "label_type",  # Philips ASL label type (2005,xx29 of "Philips MR Imaging DD 005")
    "image_type",  # ImageType (0008,0008) / FrameType (0008,9007)
    "dims",  # enhanced objects: DimensionIndexValues (0020,9157) of non-spatial dimensions
)
# What orders the images at one position when nothing splits them.
ORDER_KEYS = ("time", "trigger", "phase_number", "acq_time", "acquisition", "content_time")
# Shown in a volume's label when they differ between volumes; then the first temporal one.
SEMANTIC_KEYS = ("b", "direction", "echo", "label_type", "image_type")
TEMPORAL_KEYS = (
    "time",
    "trigger",
    "phase_number",
    "acquisition",
    "acq_time",
    "content_time",
    "dims",
)


@dataclass
class Volume:
    """One volume of a series: the indices of its images and what tells it apart."""

    members: list[int]
    values: dict[str, Any] = field(default_factory=dict)  # keys constant within the volume
    order: tuple[Any, ...] = ()
    label: str = ""
    rank: int | None = None  # 1-based position in acquisition order when split by order
    problems: list[Problem] = field(default_factory=list)


def position_clusters(
    positions: Sequence[tuple[float, ...] | None], normal: Any
) -> list[int | None]:
    """A slice index per image (same distance along ``normal`` = same slice), None if unplaced."""
    out: list[int | None] = [None] * len(positions)
    idx = [i for i, p in enumerate(positions) if p is not None]
    if not idx:
        return out
    dist = np.asarray([positions[i] for i in idx], dtype=np.float64) @ np.asarray(
        normal, dtype=np.float64
    )
    order = np.argsort(dist, kind="stable")
    steps = np.diff(dist[order]) >= POSITION_TOLERANCE_MM
    clusters = np.concatenate(([0], np.cumsum(steps)))
    for k, c in zip(order.tolist(), clusters.tolist(), strict=True):
        out[idx[k]] = int(c)
    return out


def _coverage(members: list[int], clusters: list[int | None]) -> int:
    return len({clusters[i] for i in members if clusters[i] is not None})


def _repeats(members: list[int], clusters: list[int | None]) -> bool:
    placed = [clusters[i] for i in members if clusters[i] is not None]
    return len(set(placed)) < len(placed)


def _per_position(members: list[int], clusters: list[int | None]) -> dict[int, int]:
    """How many of ``members`` sit at each slice position (unplaced images left out)."""
    count: dict[int, int] = defaultdict(int)
    for i in members:
        c = clusters[i]
        if c is not None:
            count[c] += 1
    return count


def _mostly_repeated(members: list[int], clusters: list[int | None]) -> bool:
    """More than half the positions hold several images: several volumes, not duplicates."""
    count = _per_position(members, clusters)
    return 2 * sum(1 for n in count.values() if n > 1) > len(count)


def _sortable(v: Any) -> tuple[int, Any]:
    """Values of one key, None first, comparable whatever their types."""
    if v is None:
        return (0, 0)
    if isinstance(v, (int, float)):
        return (1, float(v))
    if isinstance(v, tuple):
        return (2, tuple(_sortable(x) for x in v))
    return (3, str(v))


def split_volumes(
    clusters: list[int | None],
    values: Callable[[int], dict[str, Any]],
    order: Sequence[tuple[Any, ...]],
    temporal_positions: int | None,
    names: Callable[[list[int]], tuple[str, ...]],
) -> list[Volume]:
    """Split images (indices 0..n-1, ``clusters`` from ``position_clusters``) into volumes.

    ``values(i)`` gives image i's attributes by ``VOLUME_KEYS`` (read only when positions
    repeat); ``order[i]`` its acquisition order (instance, frame, tile numbers); ``names``
    the files of some images, for problems.  Volumes come in acquisition order.
    """
    n = len(clusters)
    everyone = list(range(n))
    if not _repeats(everyone, clusters):
        return [Volume(everyone, order=min(order) if order else ())]
    n_pos = _coverage(everyone, clusters)
    vals = [values(i) for i in everyone]
    groups = [everyone]
    for key in VOLUME_KEYS:
        if not any(_repeats(g, clusters) for g in groups):
            break
        refined: list[list[int]] = []
        for g in groups:
            by_value: dict[Any, list[int]] = defaultdict(list)
            for i in g:
                by_value[vals[i].get(key)].append(i)
            refined.extend(by_value.values())
        if len(refined) == len(groups):
            continue
        if _splits_volumes(refined, clusters, n_pos, n):
            groups = refined
    volumes: list[Volume] = []
    for g in groups:
        if _repeats(g, clusters) and _mostly_repeated(g, clusters):
            volumes.extend(_split_by_order(g, clusters, vals, order, temporal_positions, names))
        else:
            # no repeats, or a few duplicate images in one volume: the geometry plan keeps
            # the first at each position and names the others
            volumes.append(Volume(g))
    for v in volumes:
        v.order = min(order[i] for i in v.members)
        first = vals[v.members[0]]
        v.values = {
            k: first.get(k)
            for k in VOLUME_KEYS
            if all(vals[i].get(k) == first.get(k) for i in v.members)
        }
    volumes.sort(key=lambda v: v.order)
    _label(volumes)
    return volumes


def _splits_volumes(
    groups: list[list[int]], clusters: list[int | None], n_pos: int, n: int
) -> bool:
    """Whether ``groups`` (the images by one key's value) are volumes, not parts of them.

    A key constant within each volume gives groups that each cover most slice positions; the
    images of groups covering more than half of them must be at least half of all images.  A
    group covering fewer positions (a volume cut short, the few files kept of a series) is
    accepted only where it repeats positions the big groups hold in full.  A key that changes
    within a volume puts its small groups where the big ones lack images instead: beside them
    (GE multiband writes AcquisitionTime per slice, ticking over one second mid-volume: slabs)
    or in their holes (Philips classic DTI stores a few slices of every volume under another
    AcquisitionNumber).
    """
    big: list[list[int]] = []
    small: list[list[int]] = []
    for g in groups:
        (big if 2 * _coverage(g, clusters) > n_pos else small).append(g)
    if 2 * sum(len(g) for g in big) < n:
        return False
    held = _per_position([i for g in big for i in g], clusters)  # the big groups' images
    full = max(held.values(), default=0)
    for g in small:
        placed = [c for c in (clusters[i] for i in g) if c is not None]
        in_full = sum(1 for c in placed if held.get(c, 0) == full)
        if placed and 2 * in_full <= len(placed):  # mostly where the big groups are short
            return False
    # a hole filler may cover many positions (a few holes in each of many volumes): no group
    # may sit mostly where the largest group has some of its images but not all of them
    main = max(groups, key=len)
    in_main = _per_position(main, clusters)
    main_full = max(in_main.values(), default=0)
    for g in groups:
        if g is main:
            continue
        placed = [c for c in (clusters[i] for i in g) if c is not None]
        filling = sum(1 for c in placed if 0 < in_main.get(c, 0) < main_full)
        if 2 * filling > len(placed):
            return False
    return True


def _split_by_order(
    members: list[int],
    clusters: list[int | None],
    vals: list[dict[str, Any]],
    order: Sequence[tuple[Any, ...]],
    temporal_positions: int | None,
    names: Callable[[list[int]], tuple[str, ...]],
) -> list[Volume]:
    """The last resort: the k-th image at each position (in acquisition order) is volume k."""
    at: dict[int | None, list[int]] = defaultdict(list)
    for i in members:
        at[clusters[i]].append(i)

    def key(i: int) -> tuple[Any, ...]:
        return (*(_sortable(vals[i].get(k)) for k in ORDER_KEYS), order[i])

    ranks: dict[int, list[int]] = defaultdict(list)
    for c, imgs in at.items():
        imgs.sort(key=key)
        if c is None:
            ranks[0].extend(imgs)  # unplaced images go with the first volume (and are named)
            continue
        for r, i in enumerate(imgs):
            ranks[r].append(i)
    counts = sorted({len(imgs) for c, imgs in at.items() if c is not None})
    n_vol = max(counts)
    problems: list[Problem] = []
    if len(counts) > 1:
        short = [i for c, imgs in at.items() if c is not None and len(imgs) < n_vol for i in imgs]
        problems.append(
            Problem(
                "uneven-volumes",
                f"slice positions hold {counts[0]} to {n_vol} images each and nothing in the "
                f"headers tells their volumes apart: split into {n_vol} volumes by acquisition "
                "order; the volumes after a missing image may mix time points",
                Severity.WARNING,
                names(short[:50]),
            )
        )
    elif temporal_positions is not None and temporal_positions != n_vol:
        problems.append(
            Problem(
                "volumes-by-order",
                f"{n_vol} images at each slice position and nothing in the headers tells their "
                f"volumes apart: split by acquisition order, although NumberOfTemporalPositions "
                f"(0020,0105) says {temporal_positions}",
                Severity.WARNING,
                names(members[:1]),
            )
        )
    elif temporal_positions is None:
        problems.append(
            Problem(
                "volumes-by-order",
                f"{n_vol} images at each slice position and nothing in the headers tells their "
                "volumes apart: split into volumes by acquisition order",
                Severity.INFO,
                names(members[:1]),
            )
        )
    out = []
    for r in sorted(ranks):
        out.append(Volume(ranks[r], rank=r + 1, problems=list(problems)))
    return out


_NAMES = {
    "time": "phase",
    "trigger": "trigger time",
    "phase_number": "Philips phase",
    "acquisition": "acquisition number",
    "acq_time": "acquisition time",
    "content_time": "content time",
    "echo": "echo",
    "image_type": "image type",
    "dims": "dimension index",
}


def _fmt(key: str, v: Any) -> str:
    if v is None and key != "b":
        return f"no {_NAMES.get(key, key)}"
    if key == "b":
        return "b not stated" if v is None else f"b={v:g}"
    if key == "echo":
        return f"echo {v:g}" if isinstance(v, float) else f"echo {v}"
    if key == "label_type":
        return str(v) if v else "no label type"
    if key == "image_type":
        return "\\".join(v) if isinstance(v, tuple) else str(v)
    if key == "time":
        return f"phase {v:g}" if isinstance(v, float) else f"phase {v}"
    if key == "trigger":
        return f"trigger {v:g} ms" if isinstance(v, float) else f"trigger {v}"
    if key == "phase_number":
        return f"Philips phase {v:g}" if isinstance(v, float) else f"Philips phase {v}"
    if key == "acquisition":
        return f"acquisition {v:g}" if isinstance(v, float) else f"acquisition {v}"
    if key in ("acq_time", "content_time"):
        return f"time {v}"
    if key == "dims":
        return "index " + ".".join(str(x) for x in v) if isinstance(v, tuple) else f"index {v}"
    return f"{key} {v}"


def _image_type_parts(volumes: list[Volume]) -> dict[int, str]:
    """Only the ImageType values that differ between volumes (e.g. "M" vs "P")."""
    types = [v.values.get("image_type") for v in volumes]
    tuples = [t for t in types if isinstance(t, tuple)]
    if not tuples:
        return {}
    width = max(len(t) for t in tuples)
    differing = [k for k in range(width) if len({t[k] if k < len(t) else "" for t in tuples}) > 1]
    out = {}
    for n, t in enumerate(types):
        if isinstance(t, tuple):
            out[n] = "\\".join(t[k] for k in differing if k < len(t)) or "\\".join(t)
    return out


def _label(volumes: list[Volume]) -> None:
    """Name each volume by what differs between them: b-value, direction, echo, label type..."""
    if len(volumes) < 2:
        return

    def varies(key: str) -> bool:
        if any(key not in v.values for v in volumes):
            return False
        return len({repr(v.values[key]) for v in volumes}) > 1

    directions: dict[Any, int] = {}
    image_types = _image_type_parts(volumes)
    labels: list[list[str]] = [[] for _ in volumes]
    for key in SEMANTIC_KEYS:
        if not varies(key):
            continue
        for n, v in enumerate(volumes):
            value = v.values[key]
            if key == "direction":
                if value is None or not any(abs(x) > 1e-6 for x in value):
                    continue
                directions.setdefault(value, len(directions) + 1)
                labels[n].append(f"direction {directions[value]}")
            elif key == "image_type":
                labels[n].append(image_types.get(n, _fmt(key, value)))
            else:
                labels[n].append(_fmt(key, value))

    def unique() -> bool:
        joined = [", ".join(p) for p in labels]
        return len(set(joined)) == len(joined)

    # then what orders them in time, as many as it takes to tell them apart (a key whose
    # words are already there, ContentTime equal to AcquisitionTime, adds nothing)
    for key in TEMPORAL_KEYS:
        if unique():
            break
        if varies(key):
            words = [_fmt(key, v.values[key]) for v in volumes]
            if all(w in labels[n] for n, w in enumerate(words)):
                continue
            for n, w in enumerate(words):
                labels[n].append(w)
    if not unique():
        for n, v in enumerate(volumes):
            if v.rank is not None:
                labels[n].append(f"volume {v.rank}")
    for n, v in enumerate(volumes):
        v.label = ", ".join(labels[n])

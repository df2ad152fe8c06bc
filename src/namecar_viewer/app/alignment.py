"""Automatic alignment of a patient's CT timepoints (issue 16): what to align, the job that
aligns, and the record kept with the read.  Qt-free; ``gui/alignment.py`` runs the job in a
worker thread when a study of the patient opens.

When a CT of the patient is opened, every other CT timepoint of the patient is aligned to it
(:func:`~namecar_viewer.core.registration.timepoints.align_prepared`: rigid, multi-resolution,
body-masked), then refined around each lesion of the read that has a measurement in one of the
two studies (:func:`~namecar_viewer.core.registration.timepoints.refine_locally`, kept only
where it helps).  A pair already related in the read (an alignment, a manual offset, an
accepted registration) or in this session is not aligned again.

Each result is an :class:`AlignmentRecord`, stored as the read setting
``link/alignment/<fixed frame>/<moving frame>`` (``app.pet.ALIGNMENT_PREFIX``): the global
matrix in the form of every other frame link (``app.pet.RegistrationRecord`` reads it, so
``frame_links_in`` restores it into the view state like an offset), plus what a reviewer needs:
the studies and their labels, the metric before and after, the time taken and each lesion's
local refinement.  A manual offset between the same two frames wins over it
(``app.pet.frame_links_in``); withdrawing the offset brings the alignment back.  Every matrix
maps fixed LPS points to moving LPS points.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.app.i18n import QT_TRANSLATE_NOOP
from namecar_viewer.app.pet import (
    ALIGNMENT_PREFIX,
    TIMEPOINT_ALIGNMENT,
    RegistrationRecord,
    frame_links_in,
)
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.registration.optimiser import RegistrationCancelled
from namecar_viewer.core.registration.timepoints import (
    TimepointAlignment,
    align_prepared,
    prepare_ct,
    refine_locally,
)
from namecar_viewer.core.registration.transforms import (
    FloatArray,
    check_matrix,
    rotation_angle_deg,
)

Matrix = tuple[tuple[float, ...], ...]
PointMapper = Callable[[Any, str | None, str | None], Any]

__all__ = [
    "AlignmentFailure",
    "AlignmentJob",
    "AlignmentRecord",
    "CtTimepoint",
    "LesionPoint",
    "LocalAlignment",
    "alignment_between",
    "alignment_command",
    "alignment_records_in",
    "choose_ct_stacks",
    "lesion_points",
    "local_point_mapper",
    "targets_to_align",
]


def _matrix(m: Any) -> Matrix:
    a = check_matrix(m)
    return tuple(tuple(float(x) for x in row) for row in a)


@dataclass(frozen=True)
class LocalAlignment:
    """One lesion's local refinement of an alignment (``matrix``: fixed -> moving near it)."""

    lesion_uid: str
    label: str
    centre_mm: tuple[float, float, float]  # in the fixed frame
    box_mm: float
    matrix: Matrix
    accepted: bool
    shift_mm: float
    gain: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "lesion_uid": self.lesion_uid,
            "label": self.label,
            "centre_mm": list(self.centre_mm),
            "box_mm": self.box_mm,
            "matrix": [list(r) for r in self.matrix],
            "accepted": self.accepted,
            "shift_mm": self.shift_mm,
            "gain": self.gain,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LocalAlignment:
        c = [float(v) for v in d["centre_mm"]]
        return cls(
            str(d.get("lesion_uid", "")),
            str(d.get("label", "")),
            (c[0], c[1], c[2]),
            float(d.get("box_mm", 0.0)),
            _matrix(d["matrix"]),
            bool(d.get("accepted", False)),
            float(d.get("shift_mm", 0.0)),
            float(d.get("gain", 0.0)),
            str(d.get("reason", "")),
        )

    def holds(self, point_fixed: npt.ArrayLike) -> bool:
        """True when the point lies in this refinement's box (fixed frame)."""
        p = np.asarray(point_fixed, dtype=np.float64).reshape(3)
        return bool(np.max(np.abs(p - np.asarray(self.centre_mm))) <= self.box_mm / 2.0)


@dataclass(frozen=True)
class AlignmentRecord:
    """An automatic alignment of two CT timepoints, as kept with the read (module docstring)."""

    fixed_frame: str
    moving_frame: str
    matrix: Matrix
    metric: float
    initial_metric: float
    fixed_study: str = ""
    moving_study: str = ""
    fixed_label: str = ""
    moving_label: str = ""
    seconds: float = 0.0
    local: tuple[LocalAlignment, ...] = field(default=())

    @property
    def array(self) -> FloatArray:
        return np.asarray(self.matrix, dtype=np.float64)

    @property
    def registration(self) -> RegistrationRecord:
        """The global transform as every frame link is kept (``app.pet``)."""
        return RegistrationRecord.of(
            self.fixed_frame, self.moving_frame, self.matrix, self.metric, TIMEPOINT_ALIGNMENT
        )

    @property
    def key(self) -> str:
        return f"{ALIGNMENT_PREFIX}{self.fixed_frame}/{self.moving_frame}"

    @property
    def pair(self) -> frozenset[str]:
        return frozenset((self.fixed_frame, self.moving_frame))

    @property
    def rotation_deg(self) -> float:
        return rotation_angle_deg(self.array)

    @property
    def translation_mm(self) -> tuple[float, float, float]:
        t = self.array[:3, 3]
        return (float(t[0]), float(t[1]), float(t[2]))

    @property
    def refined(self) -> tuple[LocalAlignment, ...]:
        """The lesions whose local refinement is used."""
        return tuple(x for x in self.local if x.accepted)

    def to_json(self) -> str:
        d = json.loads(self.registration.to_json())
        d["alignment"] = {
            "fixed_study_instance_uid": self.fixed_study,
            "moving_study_instance_uid": self.moving_study,
            "fixed_label": self.fixed_label,
            "moving_label": self.moving_label,
            "initial_metric": self.initial_metric,
            "metric_kind": "mean squared difference (HU^2)",
            "seconds": self.seconds,
            "local": [x.to_dict() for x in self.local],
        }
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AlignmentRecord:
        rec = RegistrationRecord.from_json(text)
        try:
            d = json.loads(text).get("alignment") or {}
            return cls(
                rec.fixed_frame,
                rec.moving_frame,
                rec.matrix,
                float(rec.metric if rec.metric is not None else math.nan),
                float(d.get("initial_metric", math.nan)),
                str(d.get("fixed_study_instance_uid", "")),
                str(d.get("moving_study_instance_uid", "")),
                str(d.get("fixed_label", "")),
                str(d.get("moving_label", "")),
                float(d.get("seconds", 0.0)),
                tuple(LocalAlignment.from_dict(x) for x in d.get("local", ())),
            )
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"Stored alignment is not readable: {text[:80]!r}") from exc

    def command(self) -> Any:
        """The audited, undoable read edit keeping this alignment."""
        from namecar_viewer.app.read_session import SetReadSetting

        return SetReadSetting(self.key, self.to_json(), self.description)

    @property
    def description(self) -> str:
        """The undo text (marked for the GUI's translation)."""
        return QT_TRANSLATE_NOOP("alignment", "Align {moving} to {fixed}").format(
            moving=self.moving_label or "?", fixed=self.fixed_label or "?"
        )

    def matrix_for(self, point: npt.ArrayLike, frame: str | None) -> FloatArray:
        """The fixed -> moving matrix to use at ``point`` (LPS mm in ``frame``, one of the
        pair's two frames): the local refinement whose box holds it, else the global one."""
        p = np.asarray(point, dtype=np.float64).reshape(3)
        if frame == self.moving_frame:
            p = (np.linalg.inv(self.array) @ np.append(p, 1.0))[:3]
        best: LocalAlignment | None = None
        best_d = math.inf
        for ref in self.refined:
            d = float(np.linalg.norm(p - np.asarray(ref.centre_mm)))
            if ref.holds(p) and d < best_d:
                best, best_d = ref, d
        return self.array if best is None else np.asarray(best.matrix, dtype=np.float64)

    def map_point(
        self, point: npt.ArrayLike, from_frame: str | None, to_frame: str | None
    ) -> FloatArray | None:
        """``point`` carried between the pair's frames (local refinement where there is one)."""
        if {from_frame, to_frame} != {self.fixed_frame, self.moving_frame}:
            return None
        m = self.matrix_for(point, from_frame)
        if from_frame == self.moving_frame:
            m = np.asarray(np.linalg.inv(m), dtype=np.float64)
        p = np.append(np.asarray(point, dtype=np.float64).reshape(3), 1.0)
        out: FloatArray = (m @ p)[:3]
        return out

    @classmethod
    def of(
        cls,
        fixed: CtTimepoint,
        moving: CtTimepoint,
        result: TimepointAlignment,
        labels: Mapping[str, str] | None = None,
        seconds: float | None = None,
    ) -> AlignmentRecord:
        names = labels or {}
        local = tuple(
            LocalAlignment(
                x.key,
                names.get(x.key, x.key),
                x.centre_mm,
                x.box_mm,
                _matrix(x.matrix),
                x.accepted,
                round(x.shift_mm, 3),
                round(x.gain, 4) if math.isfinite(x.gain) else 0.0,
                x.reason,
            )
            for x in result.local
        )
        return cls(
            fixed.frame_of_reference_uid,
            moving.frame_of_reference_uid,
            _matrix(result.matrix),
            float(result.metric_value),
            float(result.initial_metric_value),
            fixed.study_instance_uid,
            moving.study_instance_uid,
            fixed.label,
            moving.label,
            round(float(result.elapsed_s if seconds is None else seconds), 3),
            local,
        )


def alignment_records_in(settings: Mapping[str, str]) -> list[AlignmentRecord]:
    """Every automatic alignment a read holds (unreadable entries are skipped)."""
    out = []
    for key, text in sorted(settings.items()):
        if key.startswith(ALIGNMENT_PREFIX) and text:
            try:
                out.append(AlignmentRecord.from_json(text))
            except ValueError:
                continue
    return out


def alignment_between(settings: Mapping[str, str], a: str, b: str) -> AlignmentRecord | None:
    """The stored alignment relating frames ``a`` and ``b`` (either direction), if any."""
    for rec in alignment_records_in(settings):
        if rec.pair == frozenset((a, b)):
            return rec
    return None


def alignment_command(records: Sequence[AlignmentRecord], fixed_label: str = "") -> Any:
    """One undo step keeping several alignments (a job's results) with the read."""
    from namecar_viewer.app.read_session import Batch

    if len(records) == 1:
        return records[0].command()
    return Batch(
        tuple(r.command() for r in records),
        QT_TRANSLATE_NOOP("alignment", "Align {n} timepoints to {fixed}").format(
            n=len(records), fixed=fixed_label or "?"
        ),
    )


def local_point_mapper(
    settings: Callable[[], Mapping[str, str]], fallback: PointMapper
) -> PointMapper:
    """A ``(point, from_frame, to_frame)`` mapper that uses a lesion's local refinement when
    the two frames have a stored alignment (and no manual offset or registration overrides it)
    and the point lies in a refined box; anything else goes to ``fallback`` (the view state's
    ``map_point``, which uses the global transforms)."""

    def mapper(point: Any, a: str | None, b: str | None) -> Any:
        if a and b and a != b:
            s = settings()
            overridden = any(
                r.method != TIMEPOINT_ALIGNMENT and {r.fixed_frame, r.moving_frame} == {a, b}
                for r in frame_links_in(s)
            )
            rec = None if overridden else alignment_between(s, a, b)
            if rec is not None and rec.refined:
                return rec.map_point(point, a, b)
        return fallback(point, a, b)

    return mapper


# --- what to align ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CtTimepoint:
    """A CT timepoint of the patient: its study, frame, label and what to load it from (a
    loaded :class:`Volume`, or a scanned stack for ``core.dicom.load_stack``)."""

    study_instance_uid: str
    frame_of_reference_uid: str
    label: str
    source: Any = None


@dataclass(frozen=True)
class LesionPoint:
    """Where a lesion of the read was measured: its centre (LPS mm) in a frame."""

    lesion_uid: str
    label: str
    frame_of_reference_uid: str
    point: tuple[float, float, float]


@dataclass(frozen=True)
class AlignmentFailure:
    """A pair that could not be aligned, and why (in English; the GUI translates)."""

    fixed: CtTimepoint
    moving: CtTimepoint
    reason: str


def choose_ct_stacks(rows: Iterable[Any], prefer_description: str = "") -> dict[str, Any]:
    """One CT stack per study (study UID -> row): loadable, not a localizer, with a frame of
    reference; the series described like ``prefer_description`` first, then the most images."""
    best: dict[str, Any] = {}
    for r in rows:
        if r.modality != "CT" or not r.loadable or r.is_localizer or not r.frame_of_reference_uid:
            continue
        if r.n_images < 8:
            continue
        key = (r.series_description == prefer_description, r.n_images)
        cur = best.get(r.study_instance_uid)
        if cur is None or key > (cur.series_description == prefer_description, cur.n_images):
            best[r.study_instance_uid] = r
    return best


def targets_to_align(
    fixed: CtTimepoint,
    others: Iterable[CtTimepoint],
    settings: Mapping[str, str],
    done: Iterable[frozenset[str]] = (),
) -> list[CtTimepoint]:
    """The timepoints to align to ``fixed``: another frame of reference, not related to it yet
    in the read (any frame link, either direction) nor in this session (``done``); one per
    frame."""
    linked = {frozenset((r.fixed_frame, r.moving_frame)) for r in frame_links_in(settings)}
    linked |= set(done)
    out: list[CtTimepoint] = []
    seen = {fixed.frame_of_reference_uid}
    for tp in others:
        f = tp.frame_of_reference_uid
        if not f or f in seen or frozenset((fixed.frame_of_reference_uid, f)) in linked:
            continue
        seen.add(f)
        out.append(tp)
    return out


def lesion_points(read: Any) -> list[LesionPoint]:
    """Each measured lesion's centre in each frame it was measured in (the read's lesions)."""
    labels = {les.uid: les.label for les in read.lesions}
    out: dict[tuple[str, str], LesionPoint] = {}
    for lm in read.measurements:
        m = lm.measurement
        if lm.lesion_uid is None or lm.lesion_uid not in labels or not m.frame_of_reference_uid:
            continue
        c = np.asarray(m.centre, dtype=np.float64).reshape(3)
        out.setdefault(
            (lm.lesion_uid, m.frame_of_reference_uid),
            LesionPoint(
                lm.lesion_uid,
                labels[lm.lesion_uid],
                m.frame_of_reference_uid,
                (float(c[0]), float(c[1]), float(c[2])),
            ),
        )
    return list(out.values())


# --- the job ---------------------------------------------------------------------------------


def _load(tp: CtTimepoint, cancel: threading.Event) -> Volume:
    if isinstance(tp.source, Volume):
        return tp.source
    from namecar_viewer.core.dicom import LoadCancelled, load_stack

    try:
        return load_stack(tp.source, cancel=cancel)
    except LoadCancelled as exc:
        raise RegistrationCancelled("alignment cancelled while loading") from exc


class AlignmentJob:
    """Aligns each of ``targets`` to ``fixed``, one pair after another, then refines around
    the lesions (meant for a worker thread).

    Progress is read, not pushed: ``done`` pairs finished of ``total``, ``fraction`` of the
    current pair, ``current`` (the timepoint being aligned) and ``phase`` ("loading",
    "aligning", "refining").  ``cancel`` stops it at the next optimiser iteration, slice load
    or lesion.
    """

    def __init__(
        self,
        fixed: CtTimepoint,
        targets: Sequence[CtTimepoint],
        lesions: Sequence[LesionPoint] = (),
        cancel: threading.Event | None = None,
    ) -> None:
        self.fixed = fixed
        self.targets = list(targets)
        self.lesions = list(lesions)
        self.cancel = cancel or threading.Event()
        self.done = 0
        self.total = len(self.targets)
        self.fraction = 0.0
        self.current: CtTimepoint | None = None
        self.phase = ""
        self.records: list[AlignmentRecord] = []
        self.failures: list[AlignmentFailure] = []

    @property
    def overall(self) -> float:
        """Share of the whole job done, 0..1."""
        return min(1.0, (self.done + self.fraction) / max(1, self.total))

    def _progress(self, f: float) -> None:
        self.fraction = 0.8 * f

    def run(self, emit: Callable[[AlignmentRecord | AlignmentFailure], None]) -> None:
        """Align every target, calling ``emit`` with each record (or failure) as it is done.

        Raises
        ------
        RegistrationCancelled
            When cancelled; the records emitted so far stand.
        """
        fixed_volume = _load(self.fixed, self.cancel)
        fixed_prep = prepare_ct(fixed_volume)
        labels = {p.lesion_uid: p.label for p in self.lesions}
        for tp in self.targets:
            if self.cancel.is_set():
                raise RegistrationCancelled("alignment cancelled")
            self.current, self.fraction, self.phase = tp, 0.0, "loading"
            start = time.perf_counter()
            try:
                moving = _load(tp, self.cancel)
                self.phase = "aligning"
                result = align_prepared(
                    fixed_prep,
                    prepare_ct(moving, mask=False),
                    progress=self._progress,
                    cancel=self.cancel,
                )
                self.phase = "refining"
                local = self._refine(fixed_volume, moving, tp, result)
            except RegistrationCancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - one pair failing never stops the others
                fail = AlignmentFailure(self.fixed, tp, str(exc) or type(exc).__name__)
                self.failures.append(fail)
                self.done += 1
                self.fraction = 0.0
                emit(fail)
                continue
            full = TimepointAlignment(
                result.matrix,
                result.metric_value,
                result.initial_metric_value,
                result.iterations,
                result.stop_condition,
                result.elapsed_s,
                result.start,
                local,
            )
            rec = AlignmentRecord.of(
                self.fixed, tp, full, labels, seconds=time.perf_counter() - start
            )
            self.records.append(rec)
            self.done += 1
            self.fraction = 0.0
            emit(rec)
        self.current, self.phase = None, ""

    def _refine(
        self, fixed: Volume, moving: Volume, tp: CtTimepoint, result: TimepointAlignment
    ) -> tuple[Any, ...]:
        """Each lesion measured in either study, refined in a box around it (fixed frame)."""
        inv = np.linalg.inv(result.matrix)
        points: dict[str, npt.NDArray[np.float64]] = {}
        for p in self.lesions:  # a measurement in the fixed frame comes first
            if p.frame_of_reference_uid == self.fixed.frame_of_reference_uid:
                points[p.lesion_uid] = np.asarray(p.point, dtype=np.float64)
        for p in self.lesions:
            if p.frame_of_reference_uid == tp.frame_of_reference_uid and p.lesion_uid not in points:
                points[p.lesion_uid] = np.asarray((inv @ np.append(p.point, 1.0))[:3], np.float64)
        out = []
        for n, (uid, point) in enumerate(points.items()):
            if self.cancel.is_set():
                raise RegistrationCancelled("alignment cancelled")
            out.append(
                refine_locally(fixed, moving, result.matrix, point, key=uid, cancel=self.cancel)
            )
            self.fraction = 0.8 + 0.2 * (n + 1) / len(points)
        return tuple(out)

"""Where a new measurement belongs: which record, which lesion, decided explicitly.

A measurement lands on a lesion only by an unambiguous choice, never because a row happened to
be selected (the defect of the first version: a follow-up line attached to the last active
lesion, the next one created a *target* at a follow-up).  Qt-free; the GUI shows the result:

* **which record** (:func:`record_for_study`): measurements on the protocol's response imaging
  (CT in NAMECAR), or on a study the reader added to the RECIST read explicitly, belong to the
  RECIST read; everything else (the renal MRI, the PSMA PET) to the ancillary MRI-PET record;
* **which lesion** (:func:`plan_assignment`): at the baseline a new measurement starts a new
  lesion whose role and site the reader confirms (defaults: a diameter is a target while RECIST
  allows one more, a point or arrow a non-target, an area or volume ROI no lesion at all); at a
  follow-up it attaches to the selected lesion only when it lies near where that lesion is
  expected (its last location mapped through the timepoint alignment) and no other lesion is
  nearer, otherwise the reader picks from the lesions ranked by distance, a new lesion, or
  "not part of the RECIST read".  Targets and non-targets are never created after the baseline.

The tolerance is a workstation choice, not a RECIST rule: a lesion's centre moves with its
growth and with breathing, and without an alignment the two studies' patient coordinates differ
by the patient's position on the table.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from namecar_viewer.app.i18n import QT_TRANSLATE_NOOP, Source
from namecar_viewer.core.measure.record import Measurement, MeasurementKind

if TYPE_CHECKING:
    from namecar_viewer.app.read_session import Command
from namecar_viewer.core.reads.model import (
    Lesion,
    LesionRole,
    Read,
    ReadKind,
    ReadTimepoint,
    Site,
    TimepointRole,
)
from namecar_viewer.core.recist.constants import MAX_TARGETS, MAX_TARGETS_PER_ORGAN

# Imaging that the NAMECAR protocol reads by RECIST 1.1 (CT every 3 months).
RECIST_MODALITIES = frozenset({"CT"})
# "Near its expected location": within this many mm, or half the lesion's prior long axis (its
# extent) if larger.
NEAR_MIN_MM = 15.0
# Added when the expected location could not be mapped through an alignment (same patient
# coordinates in both studies: the patient lies a few millimetres elsewhere on the table).
UNALIGNED_EXTRA_MM = 10.0
DIAMETER_KINDS = (MeasurementKind.LINE, MeasurementKind.BIDIRECTIONAL)
MARKER_KINDS = (MeasurementKind.POINT, MeasurementKind.ARROW)

# Maps a point from one frame of reference to another (None when they are not related).
PointMapper = Callable[[npt.ArrayLike, str | None, str | None], "npt.NDArray[np.float64] | None"]


def record_for_study(read: Read, modality: str, study_instance_uid: str | None) -> ReadKind:
    """The record a measurement on this study belongs to (see the module docstring)."""
    if modality.upper() in RECIST_MODALITIES:
        return ReadKind.RECIST
    if read.kind is ReadKind.RECIST and read.timepoint_for_study(study_instance_uid) is not None:
        return ReadKind.RECIST  # an MRI timepoint the reader added to the RECIST read
    return ReadKind.ANCILLARY_MRI_PET


class Choice(enum.Enum):
    """What the reader can make of a new measurement."""

    LESION = "lesion"  # an existing lesion (``Option.lesion_uid``)
    NEW_TARGET = "new_target"  # baseline only
    NEW_NON_TARGET = "new_non_target"  # baseline only
    NEW_LESION = "new_lesion"  # a new finding at a follow-up (RECIST "new lesion")
    NEW_ANCILLARY = "new_ancillary"  # a lesion of the ancillary MRI-PET record
    ANNOTATION = "annotation"  # kept in the record, part of no lesion (no RECIST sum)


@dataclass(frozen=True)
class Option:
    """One line of the chooser."""

    choice: Choice
    text: str
    lesion_uid: str | None = None
    distance_mm: float | None = None
    near: bool = False
    replaces: str | None = None  # uid of the lesion's diameter at this timepoint it replaces


@dataclass(frozen=True)
class Plan:
    """``automatic``: attach to ``options[default]`` without asking (announced with Undo)."""

    options: tuple[Option, ...]
    default: int
    automatic: bool
    reason: str
    is_baseline: bool

    @property
    def chosen(self) -> Option:
        return self.options[self.default]


@dataclass(frozen=True)
class _Candidate:
    lesion: Lesion
    distance_mm: float | None
    tolerance_mm: float
    aligned: bool
    seen_at: str
    replaces: str | None


def is_baseline_timepoint(read: Read, tp: ReadTimepoint | None) -> bool:
    """True for the read's baseline, or for the first study of a read that has none yet."""
    if tp is None:
        return False
    if not read.timepoints or not any(t.uid == tp.uid for t in read.timepoints):
        # a study not yet in the read: it is the baseline only when the read is empty or it is
        # marked as the pre-treatment baseline
        return not read.timepoints or tp.role is TimepointRole.PRE_TREATMENT_BASELINE
    base = read.baseline()
    return base is not None and base.uid == tp.uid


def target_room(read: Read, site: Site) -> bool:
    """Whether RECIST 1.1 still allows a target in ``site`` (5 in all, 2 per organ)."""
    targets = [les for les in read.lesions if les.role is LesionRole.TARGET]
    if len(targets) >= MAX_TARGETS:
        return False
    if site is Site.OTHER:
        return True  # organ not said yet: only the total applies until the reader picks one
    nodal = site is Site.LYMPH_NODE
    same = [t for t in targets if (t.nodal if nodal else (t.site is site and not t.nodal))]
    return len(same) < MAX_TARGETS_PER_ORGAN


def _last_location(
    read: Read, lesion_uid: str, before: ReadTimepoint | None
) -> tuple[Measurement, ReadTimepoint] | None:
    """The lesion's latest measurement at a timepoint other than ``before`` (earlier first)."""
    order = list(read.ordered_timepoints())
    if before is not None and before in order:
        idx = order.index(before)
        ranked = [*reversed(order[:idx]), *order[idx + 1 :]]
    else:
        ranked = list(reversed(order))
    for tp in ranked:
        for lm in read.measurements:
            if lm.lesion_uid == lesion_uid and lm.timepoint_uid == tp.uid:
                return lm.measurement, tp
    return None


def _diameter_here(read: Read, lesion_uid: str, tp: ReadTimepoint | None) -> str | None:
    if tp is None:
        return None
    for lm in read.measurements:
        if (
            lm.lesion_uid == lesion_uid
            and lm.timepoint_uid == tp.uid
            and lm.measurement.kind in DIAMETER_KINDS
        ):
            return lm.uid
    return None


def _candidates(
    read: Read,
    tp: ReadTimepoint | None,
    m: Measurement,
    mapper: PointMapper | None,
) -> list[_Candidate]:
    out = []
    centre = np.asarray(m.centre, dtype=np.float64)
    for les in read.lesions:
        last = _last_location(read, les.uid, tp)
        replaces = _diameter_here(read, les.uid, tp) if m.kind in DIAMETER_KINDS else None
        if last is None:
            out.append(_Candidate(les, None, NEAR_MIN_MM, False, "", replaces))
            continue
        prior, prior_tp = last
        point = np.asarray(prior.centre, dtype=np.float64)
        aligned = prior.frame_of_reference_uid == m.frame_of_reference_uid
        if not aligned and mapper is not None:
            mapped = mapper(point, prior.frame_of_reference_uid, m.frame_of_reference_uid)
            if mapped is not None:
                point = np.asarray(mapped, dtype=np.float64)
                aligned = True
        radius = (prior.long_axis_mm or 0.0) / 2.0 or prior.radius_mm or 0.0
        tol = max(NEAR_MIN_MM, float(radius)) + (0.0 if aligned else UNALIGNED_EXTRA_MM)
        dist = float(np.linalg.norm(point - centre))
        out.append(_Candidate(les, dist, tol, aligned, prior_tp.label, replaces))
    return out


def _lesion_text(c: _Candidate) -> str:
    """``T1 kidney, expected here (4 mm)``: marked for the GUI's translation (the site by
    ``Site``'s value, which the GUI's catalogue lists)."""
    les = c.lesion
    site: str = Source("Site", les.site.value)
    if les.station:
        site = QT_TRANSLATE_NOOP("lesion_assignment", "{site} {station}").format(
            site=site, station=les.station
        )
    if c.distance_mm is None:
        tmpl = QT_TRANSLATE_NOOP("lesion_assignment", "{label} {site}, not located yet")
    elif c.distance_mm <= c.tolerance_mm:
        tmpl = (
            QT_TRANSLATE_NOOP("lesion_assignment", "{label} {site}, expected here ({mm:.0f} mm)")
            if c.aligned
            else QT_TRANSLATE_NOOP(
                "lesion_assignment", "{label} {site}, expected here ({mm:.0f} mm, not aligned)"
            )
        )
    else:
        tmpl = QT_TRANSLATE_NOOP("lesion_assignment", "{label} {site}, expected {mm:.0f} mm away")
    values = {"label": les.label, "site": site}
    if c.distance_mm is not None:
        values["mm"] = c.distance_mm
    text = tmpl.format(**values)
    if c.replaces is not None:
        text = QT_TRANSLATE_NOOP(
            "lesion_assignment", "{lesion}: replaces its measurement here"
        ).format(lesion=text)
    return text


def _distance_key(c: _Candidate) -> float:
    return math.inf if c.distance_mm is None else c.distance_mm


def plan_assignment(
    read: Read,
    timepoint: ReadTimepoint | None,
    measurement: Measurement,
    selected_lesion_uid: str | None = None,
    mapper: PointMapper | None = None,
    site: Site = Site.OTHER,
) -> Plan:
    """The reader's options for ``measurement`` drawn at ``timepoint`` of ``read``.

    ``selected_lesion_uid`` is the lesion the reader selected (lesion table row); ``mapper``
    maps the lesions' earlier locations into the measurement's frame of reference (the
    timepoint alignment); ``site`` is the guessed site of a new lesion.
    """
    kind = measurement.kind
    cands = sorted(_candidates(read, timepoint, measurement, mapper), key=_distance_key)
    if read.kind is ReadKind.ANCILLARY_MRI_PET:
        return _plan_ancillary(read, cands, selected_lesion_uid, kind)
    baseline = is_baseline_timepoint(read, timepoint)
    options: list[Option] = []
    if baseline:
        can_target = kind in DIAMETER_KINDS and target_room(read, site)
        options.append(
            Option(Choice.NEW_TARGET, QT_TRANSLATE_NOOP("lesion_assignment", "New target lesion"))
        )
        options.append(
            Option(
                Choice.NEW_NON_TARGET,
                QT_TRANSLATE_NOOP("lesion_assignment", "New non-target lesion"),
            )
        )
        options.append(
            Option(
                Choice.ANNOTATION,
                QT_TRANSLATE_NOOP("lesion_assignment", "Not part of the RECIST read (annotation)"),
            )
        )
        # an existing baseline lesion recorded without a measurement (a non-target marked
        # present from the table) can take this one
        for c in cands:
            if c.distance_mm is None or c.replaces is not None:
                options.append(
                    Option(
                        Choice.LESION,
                        _lesion_text(c),
                        c.lesion.uid,
                        c.distance_mm,
                        False,
                        c.replaces,
                    )
                )
        if kind in DIAMETER_KINDS:
            default = 0 if can_target else 1
        elif kind in MARKER_KINDS:
            default = 1
        else:
            default = 2
        why: str = (
            QT_TRANSLATE_NOOP("lesion_assignment", "baseline: a new lesion")
            if default < 2
            else QT_TRANSLATE_NOOP(
                "lesion_assignment",
                "baseline: an area or volume ROI is no lesion unless you say so",
            )
        )
        if kind in DIAMETER_KINDS and not can_target:
            why = QT_TRANSLATE_NOOP(
                "lesion_assignment",
                "baseline: RECIST allows no more targets here (5 in all, 2 per organ)",
            )
        return Plan(tuple(options), default, False, why, True)
    options.extend(_lesion_option(c) for c in cands)
    options.append(
        Option(
            Choice.NEW_LESION,
            QT_TRANSLATE_NOOP("lesion_assignment", "New lesion (a new finding at this follow-up)"),
        )
    )
    options.append(
        Option(
            Choice.ANNOTATION,
            QT_TRANSLATE_NOOP("lesion_assignment", "Not part of the RECIST read (annotation)"),
        )
    )
    return _decide(options, cands, selected_lesion_uid, kind, new_index=len(cands))


def _decide(
    options: list[Option],
    cands: Sequence[_Candidate],
    selected: str | None,
    kind: MeasurementKind,
    new_index: int,
) -> Plan:
    annotation = len(options) - 1
    if kind not in (*DIAMETER_KINDS, *MARKER_KINDS, MeasurementKind.SPHERE):
        return Plan(
            tuple(options),
            annotation,
            False,
            QT_TRANSLATE_NOOP("lesion_assignment", "an area ROI is no lesion unless chosen"),
            False,
        )
    sel = next((i for i, c in enumerate(cands) if c.lesion.uid == selected), None)
    if sel is not None:
        c = cands[sel]
        nearest = next((x for x in cands if x.distance_mm is not None), None)
        near = c.distance_mm is not None and c.distance_mm <= c.tolerance_mm
        if near and c.replaces is None and nearest is c:
            return Plan(
                tuple(options),
                sel,
                True,
                QT_TRANSLATE_NOOP(
                    "lesion_assignment", "{label} selected and expected here ({mm:.0f} mm)"
                ).format(label=c.lesion.label, mm=c.distance_mm),
                False,
            )
        if near:
            why = (
                QT_TRANSLATE_NOOP(
                    "lesion_assignment", "{label} already has a measurement here"
                ).format(label=c.lesion.label)
                if c.replaces is not None
                else QT_TRANSLATE_NOOP(
                    "lesion_assignment", "another lesion is nearer than {label}"
                ).format(label=c.lesion.label)
            )
            return Plan(tuple(options), sel, False, why, False)
        return Plan(
            tuple(options),
            next((i for i, o in enumerate(options) if o.near), new_index),
            False,
            QT_TRANSLATE_NOOP(
                "lesion_assignment", "{label} is selected but expected elsewhere: choose"
            ).format(label=c.lesion.label),
            False,
        )
    first_near = next((i for i, o in enumerate(options) if o.near), None)
    return Plan(
        tuple(options),
        first_near if first_near is not None else new_index,
        False,
        QT_TRANSLATE_NOOP("lesion_assignment", "no lesion selected: choose")
        if first_near is not None
        else QT_TRANSLATE_NOOP("lesion_assignment", "no lesion expected here"),
        False,
    )


def _lesion_option(c: _Candidate) -> Option:
    """The chooser's line for an existing lesion (near: within its tolerance)."""
    near = c.distance_mm is not None and c.distance_mm <= c.tolerance_mm
    return Option(Choice.LESION, _lesion_text(c), c.lesion.uid, c.distance_mm, near, c.replaces)


def _plan_ancillary(
    read: Read, cands: Sequence[_Candidate], selected: str | None, kind: MeasurementKind
) -> Plan:
    options = [_lesion_option(c) for c in cands]
    new_index = len(options)
    options.append(
        Option(
            Choice.NEW_ANCILLARY,
            QT_TRANSLATE_NOOP("lesion_assignment", "New lesion of the MRI-PET record"),
        )
    )
    options.append(
        Option(Choice.ANNOTATION, QT_TRANSLATE_NOOP("lesion_assignment", "Annotation (no lesion)"))
    )
    if not cands:
        default = new_index if kind is not MeasurementKind.ELLIPSE else new_index + 1
        return Plan(
            tuple(options),
            default,
            False,
            QT_TRANSLATE_NOOP("lesion_assignment", "first lesion of the MRI-PET record"),
            False,
        )
    return _decide(options, cands, selected, kind, new_index)


def new_lesion_role(choice: Choice) -> LesionRole | None:
    """The role of the lesion a choice creates (None: no new lesion)."""
    return {
        Choice.NEW_TARGET: LesionRole.TARGET,
        Choice.NEW_NON_TARGET: LesionRole.NON_TARGET,
        Choice.NEW_LESION: LesionRole.NEW,
        Choice.NEW_ANCILLARY: LesionRole.ANCILLARY,
    }.get(choice)


@dataclass(frozen=True)
class NewLesionDetails:
    """What the reader says of a lesion the choice creates."""

    site: Site = Site.OTHER
    link_label: str = ""  # ancillary lesion: the RECIST lesion it is the same as ("T1 kidney")
    primary_renal: bool = False  # the primary kidney tumour (left out of NAMECAR eligibility)


def assignment_command(
    read: Read,
    option: Option,
    measurement_uid: str,
    timepoint_uid: str | None,
    details: NewLesionDetails | Site = Site.OTHER,
) -> Command | None:
    """The one undo step that gives the (already stored, unassigned) measurement its place.

    ``None`` for an annotation: it stays in the record as it is.  ``details`` (or just a site)
    describe a lesion the choice creates; an ancillary lesion's link is kept in its
    description ("same lesion as T1 kidney").
    """
    if isinstance(details, Site):
        details = NewLesionDetails(site=details)
    from namecar_viewer.app.read_session import (
        AssignMeasurement,
        Batch,
        CreateLesion,
        DeleteMeasurement,
        next_lesion,
    )

    if option.choice is Choice.ANNOTATION:
        return None
    if option.choice is Choice.LESION:
        assert option.lesion_uid is not None
        label = read.lesion(option.lesion_uid).label
        assign = AssignMeasurement(measurement_uid, option.lesion_uid, timepoint_uid)
        if option.replaces is not None and option.replaces != measurement_uid:
            return Batch(
                (DeleteMeasurement(option.replaces), assign),
                QT_TRANSLATE_NOOP("lesion_assignment", "Re-measure {label}").format(label=label),
            )
        return Batch(
            (assign,), QT_TRANSLATE_NOOP("lesion_assignment", "Measure {label}").format(label=label)
        )
    role = new_lesion_role(option.choice)
    assert role is not None
    les = next_lesion(
        read,
        role,
        details.site,
        is_primary_renal=details.primary_renal and details.site is Site.KIDNEY,
    )
    if details.link_label:
        from dataclasses import replace

        les = replace(les, description=f"same lesion as {details.link_label}")
    return Batch(
        (CreateLesion(les), AssignMeasurement(measurement_uid, les.uid, timepoint_uid)),
        QT_TRANSLATE_NOOP("lesion_assignment", "Create lesion {label}").format(label=les.label),
    )


# HU below which the surroundings of a lesion are lung (air-filled parenchyma).
LUNG_SURROUND_HU = -500.0


def guess_site(values_around: npt.ArrayLike, modality: str) -> Site | None:
    """A site guessed from the image around a new lesion, or None when nothing is sure.

    Only what the image tells without an organ segmentation: on CT a lesion surrounded mostly
    by air (median of the ring around it below -500 HU) is in the lung.
    """
    if modality.upper() != "CT":
        return None
    v = np.asarray(values_around, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < 8:
        return None
    return Site.LUNG if float(np.median(v)) < LUNG_SURROUND_HU else None


__all__ = [
    "NEAR_MIN_MM",
    "RECIST_MODALITIES",
    "Choice",
    "NewLesionDetails",
    "Option",
    "Plan",
    "assignment_command",
    "guess_site",
    "is_baseline_timepoint",
    "new_lesion_role",
    "plan_assignment",
    "record_for_study",
    "target_room",
]

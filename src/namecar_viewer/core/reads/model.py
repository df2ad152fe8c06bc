"""The read: lesions tracked across timepoints, each with a measurement or a status per timepoint.

A :class:`Read` is immutable; every edit makes a new one (``dataclasses.replace``), so undo is
"go back to the previous read" and saving is "write the difference" (see :mod:`.diff`).

Entities and their stable keys:

* :class:`Lesion` (``uid``): label (T1.., NT1.., N1..), role, site, node and primary flags;
* :class:`ReadTimepoint` (``uid``): label, date, study instance UID, role;
* :class:`LesionMeasurement` (``measurement.uid``): a measurement record attached to a lesion at
  a timepoint (several for a split lesion's fragments), or free (no lesion);
* a status per (lesion uid, timepoint uid): present, absent, ... (:class:`LesionStatus`).

Examples
--------
>>> r = Read.new(patient_id="NAMECAR-001")
>>> r = r.with_lesion(Lesion("L1", "T1", LesionRole.TARGET, Site.LIVER))
>>> [les.label for les in r.lesions]
['T1']
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from namecar_viewer.core.measure.record import Measurement, MeasurementKind, new_uid


class ReadKind(enum.Enum):
    """What a read records; the two never mix (a model rule, not only a GUI habit).

    ``RECIST`` is the central reader's read of the response-imaging studies (CT in NAMECAR):
    target, non-target and new lesions feeding the RECIST engine.  ``ANCILLARY_MRI_PET`` is the
    ancillary study's record of the renal MRI and PSMA PET of the same patient: its own lesions
    (role ``ANCILLARY``), optionally linked by the reader to a RECIST lesion, never in a sum.
    """

    RECIST = "recist"
    ANCILLARY_MRI_PET = "ancillary_mri_pet"


class LesionRole(enum.Enum):
    """RECIST role chosen when the lesion is first recorded (``ANCILLARY``: MRI-PET record)."""

    TARGET = "target"
    NON_TARGET = "non_target"
    NEW = "new"
    ANCILLARY = "ancillary"


RECIST_ROLES = (LesionRole.TARGET, LesionRole.NON_TARGET, LesionRole.NEW)


class Site(enum.Enum):
    """Organ list of the NAMECAR case report form (RECIST organ for the 2-per-organ rule)."""

    LUNG = "lung"
    LIVER = "liver"
    LYMPH_NODE = "lymph node"
    KIDNEY = "kidney"
    ADRENAL = "adrenal"
    BONE = "bone"
    PANCREAS = "pancreas"
    BRAIN = "brain"
    PERITONEUM = "peritoneum"
    SOFT_TISSUE = "soft tissue"
    OTHER = "other"


class TimepointRole(enum.Enum):
    """Where a timepoint sits in the NAMECAR schedule."""

    PRE_TREATMENT_BASELINE = "pre_treatment_baseline"
    INCLUSION = "inclusion"
    FOLLOW_UP = "follow_up"


class LesionStatus(enum.Enum):
    """What the reader records at a timepoint instead of (or besides) a measurement.

    ``EQUIVOCAL`` is for new lesions only: a finding that may be a new lesion (RECIST 1.1
    sec. 4.3.5), confirmed or not at a later timepoint.
    """

    PRESENT = "present"
    ABSENT = "absent"
    UNEQUIVOCAL_PROGRESSION = "unequivocal_progression"
    TOO_SMALL = "too_small"
    NOT_EVALUABLE = "not_evaluable"
    SPLIT = "split"
    COALESCED = "coalesced"
    EQUIVOCAL = "equivocal"


LABEL_PREFIX: dict[LesionRole, str] = {
    LesionRole.TARGET: "T",
    LesionRole.NON_TARGET: "NT",
    LesionRole.NEW: "N",
    LesionRole.ANCILLARY: "A",
}


def roles_of(kind: ReadKind) -> tuple[LesionRole, ...]:
    """The lesion roles a read of ``kind`` may hold."""
    return RECIST_ROLES if kind is ReadKind.RECIST else (LesionRole.ANCILLARY,)


@dataclass(frozen=True)
class Lesion:
    """One lesion with a stable identity across timepoints."""

    uid: str
    label: str
    role: LesionRole
    site: Site
    station: str = ""  # lymph-node station (e.g. "4R", "paraaortic")
    is_lymph_node: bool = False
    is_primary_renal: bool = False
    description: str = ""

    @property
    def nodal(self) -> bool:
        """Measured by its short axis (RECIST 1.1 sec. 3.1.1)."""
        return self.is_lymph_node or self.site is Site.LYMPH_NODE


@dataclass(frozen=True)
class ReadTimepoint:
    """One imaging assessment of the read."""

    uid: str
    label: str
    date: dt.date | None
    study_instance_uid: str | None
    role: TimepointRole
    slice_thickness_mm: float | None = None


@dataclass(frozen=True)
class LesionMeasurement:
    """A measurement record and where it belongs in the read."""

    measurement: Measurement
    lesion_uid: str | None
    timepoint_uid: str | None

    @property
    def uid(self) -> str:
        return self.measurement.uid


@dataclass(frozen=True)
class Assessment:
    """Everything recorded for one lesion at one timepoint."""

    lesion: Lesion
    timepoint: ReadTimepoint
    status: LesionStatus | None
    measurements: tuple[Measurement, ...]

    @property
    def measurement(self) -> Measurement | None:
        """The diameter measurement (first line or bidirectional), if any."""
        for m in self.measurements:
            if m.kind in (MeasurementKind.BIDIRECTIONAL, MeasurementKind.LINE):
                return m
        return None

    @property
    def long_axis_mm(self) -> float | None:
        m = self.measurement
        return None if m is None else m.long_axis_mm

    @property
    def short_axis_mm(self) -> float | None:
        m = self.measurement
        return None if m is None else m.short_axis_mm

    @property
    def recist_diameter_mm(self) -> float | None:
        """Short axis for nodes, long axis otherwise (a line on a node counts as its short axis)."""
        m = self.measurement
        if m is None:
            return None
        if self.lesion.nodal and m.short_axis_mm is not None:
            return m.short_axis_mm
        return m.long_axis_mm

    def cell_text(self) -> str:
        """What the lesion table shows for this lesion at this timepoint."""
        parts: list[str] = []
        m = self.measurement
        if m is not None:
            if m.short_axis_mm is not None:
                parts.append(f"{m.long_axis_mm:.1f} x {m.short_axis_mm:.1f}")
            else:
                parts.append(f"{m.long_axis_mm:.1f} mm")
        elif self.measurements:
            # marked without a diameter (a non-target shown by a point or an arrow): present
            kinds = sorted({x.kind.value for x in self.measurements})
            parts.append(f"marked ({', '.join(kinds)})")
        if self.status is not None:
            parts.append(self.status.value.replace("_", " "))
        return " / ".join(parts)


@dataclass(frozen=True)
class Read:
    """One reader's read of one patient: lesions, timepoints, measurements, statuses."""

    uid: str
    patient_id: str = ""
    reader: str = ""
    lesions: tuple[Lesion, ...] = ()
    timepoints: tuple[ReadTimepoint, ...] = ()
    measurements: tuple[LesionMeasurement, ...] = ()
    statuses: Mapping[tuple[str, str], LesionStatus] = field(default_factory=dict)
    # Read-level settings and answers stored with the read, key -> JSON text (the app layer
    # gives them meaning: "recist/baseline", "eligibility/I1", ...).
    settings: Mapping[str, str] = field(default_factory=dict)
    kind: ReadKind = ReadKind.RECIST

    def __post_init__(self) -> None:
        allowed = roles_of(self.kind)
        for les in self.lesions:
            if les.role not in allowed:
                raise ValueError(
                    f"A {self.kind.value} read cannot hold a {les.role.value} lesion "
                    f"({les.label}): the ancillary MRI-PET record and the RECIST read never mix."
                )

    @classmethod
    def new(
        cls,
        patient_id: str = "",
        reader: str = "",
        uid: str | None = None,
        kind: ReadKind = ReadKind.RECIST,
    ) -> Read:
        return cls(uid=uid or new_uid(), patient_id=patient_id, reader=reader, kind=kind)

    # --- look-ups --------------------------------------------------------------------------
    def lesion(self, uid: str) -> Lesion:
        for les in self.lesions:
            if les.uid == uid:
                return les
        raise KeyError(f"No lesion {uid} in read {self.uid}.")

    def timepoint(self, uid: str) -> ReadTimepoint:
        for tp in self.timepoints:
            if tp.uid == uid:
                return tp
        raise KeyError(f"No timepoint {uid} in read {self.uid}.")

    def timepoint_for_study(self, study_instance_uid: str | None) -> ReadTimepoint | None:
        for tp in self.timepoints:
            if study_instance_uid is not None and tp.study_instance_uid == study_instance_uid:
                return tp
        return None

    def measurement(self, uid: str) -> LesionMeasurement:
        for lm in self.measurements:
            if lm.uid == uid:
                return lm
        raise KeyError(f"No measurement {uid} in read {self.uid}.")

    def has_measurement(self, uid: str) -> bool:
        return any(lm.uid == uid for lm in self.measurements)

    def ordered_timepoints(self) -> tuple[ReadTimepoint, ...]:
        """Timepoints by date (undated last, in insertion order)."""
        dated = sorted(
            (tp for tp in self.timepoints if tp.date is not None),
            key=lambda tp: tp.date or dt.date.min,
        )
        return (*dated, *(tp for tp in self.timepoints if tp.date is None))

    def baseline(self) -> ReadTimepoint | None:
        """The pre-treatment baseline (else the earliest timepoint)."""
        for tp in self.ordered_timepoints():
            if tp.role is TimepointRole.PRE_TREATMENT_BASELINE:
                return tp
        tps = self.ordered_timepoints()
        return tps[0] if tps else None

    def assessment(self, lesion_uid: str, timepoint_uid: str) -> Assessment:
        return Assessment(
            lesion=self.lesion(lesion_uid),
            timepoint=self.timepoint(timepoint_uid),
            status=self.statuses.get((lesion_uid, timepoint_uid)),
            measurements=tuple(
                lm.measurement
                for lm in self.measurements
                if lm.lesion_uid == lesion_uid and lm.timepoint_uid == timepoint_uid
            ),
        )

    def next_label(self, role: LesionRole) -> str:
        """First free label of a role: T3 after T1, T2."""
        prefix = LABEL_PREFIX[role]
        used = {les.label for les in self.lesions}
        n = 1
        while f"{prefix}{n}" in used:
            n += 1
        return f"{prefix}{n}"

    # --- edits (each returns a new read) ---------------------------------------------------
    def with_lesion(self, lesion: Lesion) -> Read:
        """Add ``lesion`` or replace the lesion with the same uid (order kept).

        Raises ``ValueError`` for a role this kind of read does not hold (a RECIST target in
        the ancillary record, an ancillary lesion in the RECIST read).
        """
        if any(les.uid == lesion.uid for les in self.lesions):
            return replace(
                self,
                lesions=tuple(lesion if les.uid == lesion.uid else les for les in self.lesions),
            )
        return replace(self, lesions=(*self.lesions, lesion))

    def without_lesion(self, uid: str) -> Read:
        """Remove a lesion with its measurements and statuses."""
        self.lesion(uid)
        return replace(
            self,
            lesions=tuple(les for les in self.lesions if les.uid != uid),
            measurements=tuple(lm for lm in self.measurements if lm.lesion_uid != uid),
            statuses={k: v for k, v in self.statuses.items() if k[0] != uid},
        )

    def with_timepoint(self, tp: ReadTimepoint) -> Read:
        if any(t.uid == tp.uid for t in self.timepoints):
            return replace(
                self, timepoints=tuple(tp if t.uid == tp.uid else t for t in self.timepoints)
            )
        return replace(self, timepoints=(*self.timepoints, tp))

    def with_measurement(self, lm: LesionMeasurement) -> Read:
        if lm.lesion_uid is not None:
            self.lesion(lm.lesion_uid)
        if lm.timepoint_uid is not None:
            self.timepoint(lm.timepoint_uid)
        if self.has_measurement(lm.uid):
            return replace(
                self,
                measurements=tuple(lm if x.uid == lm.uid else x for x in self.measurements),
            )
        return replace(self, measurements=(*self.measurements, lm))

    def without_measurement(self, uid: str) -> Read:
        self.measurement(uid)
        return replace(self, measurements=tuple(x for x in self.measurements if x.uid != uid))

    def with_setting(self, key: str, value: str | None) -> Read:
        """Set (or with ``None`` remove) one read-level setting, a JSON text."""
        if not key:
            raise ValueError("A read setting needs a key.")
        st = dict(self.settings)
        if value is None:
            st.pop(key, None)
        else:
            st[key] = value
        return replace(self, settings=st)

    def with_status(self, lesion_uid: str, timepoint_uid: str, status: LesionStatus | None) -> Read:
        self.lesion(lesion_uid)
        self.timepoint(timepoint_uid)
        st = dict(self.statuses)
        if status is None:
            st.pop((lesion_uid, timepoint_uid), None)
        else:
            st[(lesion_uid, timepoint_uid)] = status
        return replace(self, statuses=st)

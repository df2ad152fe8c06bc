"""Hanging protocols: which series go in which viewport for each kind of NAMECAR read.

Qt-free.  A protocol looks at the stacks of one patient (rows of the study index, or anything
with the same attributes) and returns a :class:`ProtocolResult`: a layout and one
:class:`ViewportAssignment` per viewport, each with the reason it was chosen (or why nothing
was), so the reader sees what the protocol did and can override any slot by dropping another
series on it.

Slots are typed by :class:`SlotKind`.  ``SERIES`` slots show one stack; ``FUSION`` and ``MIP``
slots are derived views whose renderer comes with the PET/MRI work (issue 6): the *MRI-PET*
protocol already returns them with their source slots, and the GUI shows a placeholder until a
renderer is registered for that kind.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from namecar_viewer.core.geometry.reslice import SliceOrientation
from namecar_viewer.core.reads.model import Read


class Candidate(Protocol):
    """What a protocol needs to know about a stack (``StackRow`` of the study index has it)."""

    @property
    def id(self) -> Any: ...
    @property
    def study_instance_uid(self) -> str: ...
    @property
    def study_date(self) -> str: ...
    @property
    def modality(self) -> str: ...
    @property
    def series_description(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def n_images(self) -> int: ...
    @property
    def is_localizer(self) -> bool: ...
    @property
    def loadable(self) -> bool: ...
    @property
    def frame_of_reference_uid(self) -> str | None: ...


class StudyRole(enum.Enum):
    """How a reader marked a study (overrides the choice by date)."""

    PRE_TREATMENT_BASELINE = "pre-treatment baseline"
    INCLUSION = "inclusion"
    FOLLOW_UP = "follow-up"


class SlotKind(enum.Enum):
    SERIES = "series"
    FUSION = "fusion"  # PET over the anatomical series (issue 6)
    MIP = "mip"  # rotating PET MIP (issue 6)


@dataclass(frozen=True)
class ViewportAssignment:
    """What one viewport of a protocol shows."""

    slot: str  # "baseline", "current", "mri", "pet", "fusion", ...
    title: str  # shown above the image ("Baseline CT 2025-01-15")
    kind: SlotKind = SlotKind.SERIES
    stack: Any | None = None  # the chosen candidate (SERIES slots)
    orientation: SliceOrientation = SliceOrientation.AXIAL
    sources: tuple[str, ...] = ()  # slots a derived view (FUSION, MIP) is made from
    reason: str = ""


@dataclass(frozen=True)
class ProtocolResult:
    name: str
    layout: str  # a key of the main window's LAYOUTS
    assignments: tuple[ViewportAssignment, ...]
    link_timepoints: bool = False  # the SERIES slots are linked across frames of reference
    missing: tuple[str, ...] = ()  # what the protocol needed and did not find

    def slot(self, name: str) -> ViewportAssignment:
        for a in self.assignments:
            if a.slot == name:
                return a
        raise KeyError(name)


@dataclass(frozen=True)
class HangingProtocol:
    key: str
    name: str
    description: str
    shortcut: str = ""


RECIST_READ = HangingProtocol(
    "recist",
    "RECIST read",
    "The nadir (or a prior you pick) and the previous CT beside the current one, linked.",
    "Alt+1",
)
ELIGIBILITY = HangingProtocol(
    "eligibility",
    "Eligibility",
    "Pre-treatment baseline CT beside the inclusion CT (NAMECAR eligibility: metastatic response).",
    "Alt+2",
)
MRI_PET = HangingProtocol(
    "mri_pet",
    "MRI-PET",
    "Renal MRI (axial T2) beside the PSMA PET, with fusion and MIP slots.",
    "Alt+3",
)
PROTOCOLS = (RECIST_READ, ELIGIBILITY, MRI_PET)


def _fmt_date(d: str) -> str:
    return f"{d[:4]}-{d[4:6]}-{d[6:8]}" if len(d) == 8 and d.isdigit() else d


def _prefixed(word: str, description: str) -> str:
    """``"PET PSMA AC"`` stays as is, ``"T2 TSE AX"`` becomes ``"MRI T2 TSE AX"``."""
    return description if description.upper().startswith(word) else f"{word} {description}"


def _usable(c: Candidate) -> bool:
    return c.loadable and not c.is_localizer and c.n_images > 0


def _ct_score(c: Candidate) -> tuple[int, int]:
    """The reading CT of a study: an axial volume with the most images (thinnest slices)."""
    desc = c.series_description.lower()
    derived = any(w in desc for w in ("mip", "scout", "topogram", "dose", "lung recon"))
    return (0 if derived else 1, c.n_images)


@dataclass
class _Study:
    uid: str
    date: str
    cts: list[Candidate] = field(default_factory=list)

    def best_ct(self) -> Candidate:
        return max(self.cts, key=_ct_score)


def _ct_studies(stacks: Sequence[Candidate]) -> list[_Study]:
    by_uid: dict[str, _Study] = {}
    for c in stacks:
        if c.modality == "CT" and _usable(c):
            st = by_uid.setdefault(c.study_instance_uid, _Study(c.study_instance_uid, c.study_date))
            st.cts.append(c)
    return sorted(by_uid.values(), key=lambda s: (s.date, s.uid))


def _marked(
    studies: list[_Study], marks: Mapping[str, StudyRole] | None, role: StudyRole
) -> _Study | None:
    if not marks:
        return None
    for s in studies:
        if marks.get(s.uid) is role:
            return s
    return None


def _ct_slot(slot: str, label: str, study: _Study | None, reason: str) -> ViewportAssignment:
    if study is None:
        return ViewportAssignment(slot, f"{label}: none", reason=reason)
    ct = study.best_ct()
    return ViewportAssignment(slot, f"{label} CT {_fmt_date(study.date)}", stack=ct, reason=reason)


def recist_read(
    stacks: Sequence[Candidate],
    marks: Mapping[str, StudyRole] | None = None,
    read: Read | None = None,
    prior: str | None = None,
) -> ProtocolResult:
    """The timepoint to read beside the ones it is compared with.

    Without a read: the baseline (marked, else the first CT) beside the latest CT.  With the
    reader's read: *current* is the first CT after the baseline that the read has not fully
    assessed (every CT assessed: the latest), beside the *previous* CT and the *nadir* (the
    assessed timepoint with the smallest complete sum before it, RECIST 1.1 sec. 4.3.1; the
    baseline when the nadir is the previous one), or the ``prior`` study the reader picked.
    """
    studies = _ct_studies(stacks)
    base = _marked(studies, marks, StudyRole.PRE_TREATMENT_BASELINE)
    why_base = "marked as baseline" if base is not None else "first CT by study date"
    if base is None and studies:
        base = studies[0]
    later = [s for s in studies if base is not None and s.date >= base.date and s is not base]
    if read is None:
        current = later[-1] if later else None
        missing = []
        if base is None:
            missing.append("no CT study")
        if current is None:
            missing.append("no follow-up CT after the baseline")
        return ProtocolResult(
            RECIST_READ.name,
            "1x2",
            (
                _ct_slot("baseline", "Baseline", base, why_base),
                _ct_slot("current", "Current", current, "latest CT by study date"),
            ),
            link_timepoints=True,
            missing=tuple(missing),
        )
    from namecar_viewer.app.reading_order import complete_studies, nadir_study

    done = complete_studies(read)
    todo = [s for s in later if s.uid not in done]
    if todo:
        current, why_current = todo[0], "first CT not fully read yet, in date order"
    elif later:
        current, why_current = later[-1], "every CT read: the latest"
    else:
        current, why_current = None, ""
    missing = []
    if base is None:
        missing.append("no CT study")
    if current is None:
        return ProtocolResult(
            RECIST_READ.name,
            "1x2",
            (
                _ct_slot("baseline", "Baseline", base, why_base),
                _ct_slot("current", "Current", None, ""),
            ),
            link_timepoints=True,
            missing=(*missing, "no follow-up CT after the baseline"),
        )
    before = [s for s in studies if s.date < current.date or (s.date == current.date and s is base)]
    before = [s for s in before if s is not current]
    previous = before[-1] if before else base
    by_uid = {s.uid: s for s in studies}
    if prior is not None and prior in by_uid and by_uid[prior] is not current:
        left, left_label, why_left = by_uid[prior], "Prior", "the prior you picked"
    else:
        from namecar_viewer.app.reading_order import parse_dicom_date

        nadir_uid = nadir_study(read, current.uid, parse_dicom_date(current.date))
        nadir = by_uid.get(nadir_uid) if nadir_uid is not None else None
        if nadir is None or nadir is base or nadir is previous:
            # the nadir is already on screen as the previous CT: the baseline beside it
            left, left_label, why_left = base, "Baseline", why_base
        else:
            left, left_label, why_left = nadir, "Nadir", "smallest sum of target diameters so far"
    slots = []
    if left is not None and left is not previous:
        slots.append(_ct_slot(left_label.lower(), left_label, left, why_left))
    prev_label = "Baseline" if previous is base else "Previous"
    slots.append(
        _ct_slot(
            prev_label.lower() if previous is base else "previous",
            prev_label,
            previous,
            "the CT just before the current one",
        )
    )
    slots.append(_ct_slot("current", "Current", current, why_current))
    return ProtocolResult(
        RECIST_READ.name,
        "1x3" if len(slots) == 3 else "1x2",
        tuple(slots),
        link_timepoints=True,
        missing=tuple(missing),
    )


def eligibility(
    stacks: Sequence[Candidate], marks: Mapping[str, StudyRole] | None = None
) -> ProtocolResult:
    """Pre-treatment baseline beside the inclusion scan: the first and the second CT by date,
    unless studies are marked."""
    studies = _ct_studies(stacks)
    base = _marked(studies, marks, StudyRole.PRE_TREATMENT_BASELINE)
    incl = _marked(studies, marks, StudyRole.INCLUSION)
    why_base = "marked as pre-treatment baseline" if base is not None else "first CT by date"
    why_incl = "marked as inclusion scan" if incl is not None else "second CT by date"
    if base is None:
        rest = [s for s in studies if s is not incl]
        base = rest[0] if rest else None
    if incl is None:
        rest = [s for s in studies if s is not base and (base is None or s.date >= base.date)]
        incl = rest[0] if rest else None
    missing = []
    if base is None:
        missing.append("no pre-treatment baseline CT")
    if incl is None:
        missing.append("no inclusion CT after the baseline")
    return ProtocolResult(
        ELIGIBILITY.name,
        "1x2",
        (
            _ct_slot("baseline", "Pre-treatment", base, why_base),
            _ct_slot("inclusion", "Inclusion", incl, why_incl),
        ),
        link_timepoints=True,
        missing=tuple(missing),
    )


_MR_PREFERENCE = (("t2",), ("t1", "dyn"), ("dwi",), ())


def _mr_score(c: Candidate) -> tuple[int, int, int]:
    desc = f"{c.series_description} {c.label}".lower()
    rank = len(_MR_PREFERENCE)
    for n, words in enumerate(_MR_PREFERENCE):
        if all(w in desc for w in words):
            rank = n
            break
    axial = 1 if ("ax" in desc or "tra" in desc) else 0
    return (-rank, axial, c.n_images)


def _pet_score(c: Candidate) -> tuple[int, int, int]:
    desc = c.series_description.lower()
    nac = "nac" in desc or "non ac" in desc or "uncorrected" in desc
    psma = "psma" in desc
    return (0 if nac else 1, 1 if psma else 0, c.n_images)


def mri_pet(
    stacks: Sequence[Candidate], marks: Mapping[str, StudyRole] | None = None
) -> ProtocolResult:
    """Renal MRI (axial T2 first, then dynamic T1, then DWI) beside the PSMA PET (attenuation
    corrected), and their fusion and MIP slots (rendered by the PET/MRI work)."""
    mrs = [c for c in stacks if c.modality == "MR" and _usable(c)]
    pets = [c for c in stacks if c.modality == "PT" and _usable(c)]
    mr = max(mrs, key=_mr_score) if mrs else None
    pet = max(pets, key=_pet_score) if pets else None
    missing = []
    if mr is None:
        missing.append("no MRI series")
    if pet is None:
        missing.append("no PET series")
    mr_slot = ViewportAssignment(
        "mri",
        f"{_prefixed('MRI', mr.series_description)} {_fmt_date(mr.study_date)}"
        if mr
        else "MRI: none",
        stack=mr,
        reason="axial T2 preferred, then dynamic T1, then DWI",
    )
    pet_slot = ViewportAssignment(
        "pet",
        f"{_prefixed('PET', pet.series_description)} {_fmt_date(pet.study_date)}"
        if pet
        else "PET: none",
        stack=pet,
        reason="attenuation-corrected PSMA PET",
    )
    return ProtocolResult(
        MRI_PET.name,
        "2x2",
        (
            mr_slot,
            pet_slot,
            ViewportAssignment(
                "fusion",
                "Fusion PET on MRI",
                SlotKind.FUSION,
                sources=("mri", "pet"),
                reason="PET over the MRI once registered (PET/MRI work, issue 6)",
            ),
            ViewportAssignment(
                "mip",
                "PET MIP",
                SlotKind.MIP,
                orientation=SliceOrientation.CORONAL,
                sources=("pet",),
                reason="rotating MIP of the PET (PET/MRI work, issue 6)",
            ),
        ),
        link_timepoints=True,
        missing=tuple(missing),
    )


_APPLY = {RECIST_READ.key: recist_read, ELIGIBILITY.key: eligibility, MRI_PET.key: mri_pet}


def apply_protocol(
    key: str,
    stacks: Sequence[Candidate],
    marks: Mapping[str, StudyRole] | None = None,
    read: Read | None = None,
    prior: str | None = None,
) -> ProtocolResult:
    """Run the protocol ``key`` (``"recist"``, ``"eligibility"``, ``"mri_pet"``); the RECIST
    read protocol follows the reader's ``read`` (and ``prior`` study) when given."""
    try:
        fn = _APPLY[key]
    except KeyError:
        raise ValueError(
            f"Unknown hanging protocol {key!r}; known: {', '.join(sorted(_APPLY))}."
        ) from None
    if key == RECIST_READ.key:
        return recist_read(stacks, marks, read, prior)
    return fn(stacks, marks)

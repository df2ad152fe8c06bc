"""Timepoints read in order: which CT studies of the patient the read has not assessed, and the
nadir the current timepoint is compared with.

RECIST 1.1 measures progression from the nadir, the smallest sum so far (sec. 4.3.1): a reader
who skips follow-ups can miss the nadir and call PR what is PD (the demo patient read at
baseline and fu09m only: -40.9% from baseline, PR; +22.2% from the 81 mm nadir at fu06m, PD).
So every response-imaging study of the patient that the read has not assessed is named, and
those dated before a timepoint that is read make its response doubtful.  Qt-free.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from namecar_viewer.core.reads.model import Read, ReadKind, ReadTimepoint


@dataclass(frozen=True)
class PatientStudy:
    """A response-imaging study of the patient in the store (CT in NAMECAR)."""

    study_instance_uid: str
    date: dt.date | None
    label: str  # the trial timepoint (ClinicalTrialTimePointID), else the date


@dataclass(frozen=True)
class UnreadStudy:
    """A study of the patient the read has not assessed."""

    study: PatientStudy
    before_read: bool  # dated before a timepoint that is read: the nadir may be wrong


def assessed_timepoints(read: Read) -> list[ReadTimepoint]:
    """Timepoints with at least one measurement or status (by date)."""
    used = {lm.timepoint_uid for lm in read.measurements if lm.lesion_uid is not None}
    used |= {tp for (_les, tp) in read.statuses}
    return [tp for tp in read.ordered_timepoints() if tp.uid in used]


def complete_studies(read: Read) -> set[str]:
    """Studies of the read's timepoints where every lesion that exists by then has a
    measurement or a status (a timepoint read to the end)."""
    out: set[str] = set()
    base = read.baseline()
    for tp in read.ordered_timepoints():
        if tp.study_instance_uid is None:
            continue
        lesions = [
            les
            for les in read.lesions
            # new lesions are only expected from the timepoint they appeared at
            if les.role.value != "new" or _first_seen(read, les.uid, tp)
        ]
        if not lesions and (base is None or tp.uid != base.uid):
            continue
        assessed = {lm.lesion_uid for lm in read.measurements if lm.timepoint_uid == tp.uid}
        assessed |= {les for (les, t) in read.statuses if t == tp.uid}
        if lesions and all(les.uid in assessed for les in lesions):
            out.add(tp.study_instance_uid)
    return out


def _first_seen(read: Read, lesion_uid: str, tp: ReadTimepoint) -> bool:
    """Whether the lesion was recorded at ``tp`` or before it."""
    order = list(read.ordered_timepoints())
    upto = {t.uid for t in order[: order.index(tp) + 1]} if tp in order else {tp.uid}
    return any(
        lm.lesion_uid == lesion_uid and lm.timepoint_uid in upto for lm in read.measurements
    ) or any(les == lesion_uid and t in upto for (les, t) in read.statuses)


def parse_dicom_date(text: str) -> dt.date | None:
    t = (text or "").strip()
    if len(t) == 8 and t.isdigit():
        try:
            return dt.date(int(t[:4]), int(t[4:6]), int(t[6:]))
        except ValueError:
            return None
    return None


def unread_studies(read: Read, studies: Iterable[PatientStudy]) -> list[UnreadStudy]:
    """The patient's studies that the read has not assessed, by date."""
    if read.kind is not ReadKind.RECIST:
        return []
    assessed = assessed_timepoints(read)
    done = {tp.study_instance_uid for tp in assessed}
    dates = [tp.date for tp in assessed if tp.date is not None]
    last = max(dates) if dates else None
    out = []
    for st in sorted(studies, key=lambda s: (s.date or dt.date.max, s.label)):
        if st.study_instance_uid in done:
            continue
        before = last is not None and st.date is not None and st.date < last
        out.append(UnreadStudy(st, before))
    return out


def unread_before_read_labels(read: Read, studies: Iterable[PatientStudy]) -> list[str]:
    """Labels of the unread studies dated before a timepoint that is read."""
    return [u.study.label for u in unread_studies(read, studies) if u.before_read]


def unread_message(unread: Sequence[UnreadStudy]) -> str:
    """``"fu03m, fu06m not read: the nadir may be wrong"``, or the studies still to read."""
    if not unread:
        return ""
    before = [u.study.label for u in unread if u.before_read]
    after = [u.study.label for u in unread if not u.before_read]
    parts = []
    if before:
        verb = "is" if len(before) == 1 else "are"
        parts.append(
            f"{', '.join(before)} {verb} not read: the nadir (and every response after it) "
            "may be wrong"
        )
    if after:
        parts.append(f"still to read: {', '.join(after)}")
    return "; ".join(parts)


def unread_before(
    read: Read, timepoint_uid: str, studies: Iterable[PatientStudy]
) -> list[PatientStudy]:
    """Studies dated before the timepoint that the read has not assessed (signing asks why)."""
    tp = read.timepoint(timepoint_uid)
    if tp.date is None:
        return []
    return [
        u.study
        for u in unread_studies(read, studies)
        if u.study.date is not None and u.study.date < tp.date
    ]


def nadir_study(
    read: Read, current_study_uid: str | None, current_date: dt.date | None = None
) -> str | None:
    """The study of the nadir the current timepoint is compared with (RECIST 1.1 sec. 4.3.1):
    the assessed timepoint before it with the smallest complete sum of target diameters (the
    earliest when equal); None when nothing before it is assessed.  ``current_date`` dates a
    study the read does not hold yet."""
    from fractions import Fraction

    from namecar_viewer.core.reads.recist_bridge import read_to_recist_case
    from namecar_viewer.core.recist.model import LesionKind
    from namecar_viewer.core.recist.sums import target_sum

    if read.kind is not ReadKind.RECIST:
        return None
    current = read.timepoint_for_study(current_study_uid)
    when = current.date if current is not None else current_date
    try:
        case = read_to_recist_case(read)
    except ValueError:
        return None
    targets = [les for les in case.lesions if les.kind is LesionKind.TARGET]
    if not targets:
        return None
    by_label = {tp.label: tp for tp in read.timepoints}
    best: tuple[Fraction, str] | None = None
    for tp_case in case.timepoints:
        rtp = by_label.get(tp_case.label)
        if rtp is None or rtp.study_instance_uid is None:
            continue
        if current is not None and rtp.uid == current.uid:
            continue
        if when is not None and rtp.date is not None and rtp.date >= when:
            continue
        s = target_sum(targets, tp_case)
        if not s.complete:
            continue
        if best is None or s.sum_mm < best[0]:
            best = (s.sum_mm, rtp.study_instance_uid)
    return None if best is None else best[1]


__all__ = [
    "PatientStudy",
    "UnreadStudy",
    "assessed_timepoints",
    "complete_studies",
    "nadir_study",
    "parse_dicom_date",
    "unread_before",
    "unread_before_read_labels",
    "unread_message",
    "unread_studies",
]

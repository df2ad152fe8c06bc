"""One command path for every edit of a read: validate, apply, commit at once, undo/redo, events.

Every change a reader makes (create a lesion, add or move a measurement, drag a handle, relabel,
change role or site, set a status, delete) is a :class:`Command` applied through
:meth:`ReadSession.execute`.  The session

* applies it to the immutable :class:`~namecar_viewer.core.reads.Read` (an invalid command
  raises :class:`CommandError` and changes nothing);
* commits the difference to the reads database in one transaction right away; an undo or redo
  is committed the same way;
* keeps an undo stack in which commands with the same ``merge_id`` in a row become one step
  (a handle drag is many moves and one undo);
* emits ``changed(events)`` with one :class:`ReadEvent` (added/updated/removed) per row, for the
  views (viewport overlays, lesion table, response panel).

When the database refuses a write (read-only, locked, connection lost) the edit stays applied
in memory and pending: nothing is dropped.  ``execute`` raises :class:`ReadSaveError` with the
reason for the reader, every later edit (or :meth:`ReadSession.retry_save`) writes all pending
changes at once, and ``pending`` tells whether anything is unsaved.

Qt-free: ``gui/undo.py`` mirrors this stack in a QUndoStack for Edit > Undo/Redo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from namecar_viewer.app.view_state import Event
from namecar_viewer.core.measure.record import Measurement
from namecar_viewer.core.reads.diff import ChangeOp, diff_reads
from namecar_viewer.core.reads.model import (
    LABEL_PREFIX,
    Lesion,
    LesionMeasurement,
    LesionRole,
    LesionStatus,
    Read,
    ReadTimepoint,
    Site,
    TimepointRole,
)
from namecar_viewer.persistence.reads_db import ReadsDatabase, ReadsDatabaseError


class CommandError(ValueError):
    """A command that does not fit the read (unknown lesion, duplicate label...)."""


class ReadSaveError(RuntimeError):
    """The edit is applied in memory but could not be saved; it stays pending."""


class ReadLockedError(CommandError):
    """The edit touches a signed timepoint: unlock it with a reason first."""


class NotYourReadError(ReadLockedError):
    """The read belongs to another reader: it can be viewed, never changed by this user."""


@dataclass(frozen=True)
class ReadEvent:
    """One row changed: ``op`` added/updated/removed, ``entity`` table name, ``key``."""

    op: ChangeOp
    entity: str
    key: str


# --- commands --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """An edit of a read.  ``merge_id``: consecutive commands with the same id are one step."""

    def apply(self, read: Read) -> Read:
        raise NotImplementedError

    @property
    def text(self) -> str:
        return type(self).__name__

    @property
    def merge_id(self) -> str | None:
        return None


def _ensure_timepoint(read: Read, tp: ReadTimepoint | None) -> Read:
    if tp is None or any(t.uid == tp.uid for t in read.timepoints):
        return read
    return read.with_timepoint(tp)


@dataclass(frozen=True)
class AddTimepoint(Command):
    timepoint: ReadTimepoint

    def apply(self, read: Read) -> Read:
        if any(t.uid == self.timepoint.uid for t in read.timepoints):
            raise CommandError(f"Timepoint {self.timepoint.label} already exists.")
        return read.with_timepoint(self.timepoint)

    @property
    def text(self) -> str:
        return f"Add timepoint {self.timepoint.label}"


@dataclass(frozen=True)
class SetTimepoint(Command):
    """Change a timepoint's label, date, role or slice thickness."""

    timepoint: ReadTimepoint

    def apply(self, read: Read) -> Read:
        read.timepoint(self.timepoint.uid)
        return read.with_timepoint(self.timepoint)

    @property
    def text(self) -> str:
        return f"Edit timepoint {self.timepoint.label}"


@dataclass(frozen=True)
class CreateLesion(Command):
    """A new lesion, optionally with its first measurement (and the timepoint if it is new)."""

    lesion: Lesion
    measurement: Measurement | None = None
    timepoint: ReadTimepoint | None = None

    def apply(self, read: Read) -> Read:
        if any(les.uid == self.lesion.uid for les in read.lesions):
            raise CommandError(f"Lesion {self.lesion.uid} already exists.")
        _check_label(read, self.lesion.label, None)
        read = _ensure_timepoint(read, self.timepoint).with_lesion(self.lesion)
        if self.measurement is not None:
            tp = self.timepoint.uid if self.timepoint is not None else None
            m = replace(self.measurement, label=self.lesion.label)
            read = read.with_measurement(LesionMeasurement(m, self.lesion.uid, tp))
        return read

    @property
    def text(self) -> str:
        return f"Create lesion {self.lesion.label}"


@dataclass(frozen=True)
class AddMeasurement(Command):
    """A measurement for a lesion at a timepoint (or a free annotation without a lesion)."""

    measurement: Measurement
    lesion_uid: str | None = None
    timepoint: ReadTimepoint | None = None

    def apply(self, read: Read) -> Read:
        if read.has_measurement(self.measurement.uid):
            raise CommandError(f"Measurement {self.measurement.uid} already exists.")
        read = _ensure_timepoint(read, self.timepoint)
        m = self.measurement
        if self.lesion_uid is not None:
            m = replace(m, label=_lesion(read, self.lesion_uid).label)
        tp = self.timepoint.uid if self.timepoint is not None else None
        return read.with_measurement(LesionMeasurement(m, self.lesion_uid, tp))

    @property
    def text(self) -> str:
        return f"Add {self.measurement.kind.value}"


@dataclass(frozen=True)
class SetMeasurementPoints(Command):
    """Move a handle or the whole measurement; ``drag_id`` merges one drag into one step."""

    uid: str
    points: tuple[tuple[float, float, float], ...]
    drag_id: str | None = None

    def apply(self, read: Read) -> Read:
        lm = _measurement(read, self.uid)
        try:
            m = lm.measurement.with_points(self.points)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        return read.with_measurement(replace(lm, measurement=m))

    @property
    def merge_id(self) -> str | None:
        return None if self.drag_id is None else f"drag:{self.drag_id}"

    @property
    def text(self) -> str:
        return "Move measurement"


@dataclass(frozen=True)
class AssignMeasurement(Command):
    """Attach a measurement to a lesion and timepoint (or detach with ``None``)."""

    uid: str
    lesion_uid: str | None
    timepoint_uid: str | None

    def apply(self, read: Read) -> Read:
        lm = _measurement(read, self.uid)
        label = lm.measurement.label
        if self.lesion_uid is not None:
            label = _lesion(read, self.lesion_uid).label
        if self.timepoint_uid is not None:
            _timepoint(read, self.timepoint_uid)
        m = replace(lm.measurement, label=label)
        return read.with_measurement(LesionMeasurement(m, self.lesion_uid, self.timepoint_uid))

    @property
    def text(self) -> str:
        return "Assign measurement"


@dataclass(frozen=True)
class DeleteMeasurement(Command):
    uid: str

    def apply(self, read: Read) -> Read:
        _measurement(read, self.uid)
        return read.without_measurement(self.uid)

    @property
    def text(self) -> str:
        return "Delete measurement"


@dataclass(frozen=True)
class RelabelLesion(Command):
    uid: str
    label: str

    def apply(self, read: Read) -> Read:
        les = _lesion(read, self.uid)
        label = self.label.strip()
        _check_label(read, label, self.uid)
        return _relabel(read, replace(les, label=label))

    @property
    def text(self) -> str:
        return f"Relabel lesion {self.label}"


@dataclass(frozen=True)
class ChangeRole(Command):
    """Target / non-target / new; the label follows the role (T2 -> NT1) unless ``keep_label``."""

    uid: str
    role: LesionRole
    keep_label: bool = False

    def apply(self, read: Read) -> Read:
        les = _lesion(read, self.uid)
        if les.role is self.role:
            return read
        label = les.label
        if not self.keep_label and label.startswith(LABEL_PREFIX[les.role]):
            label = read.next_label(self.role)
        return _relabel(read, replace(les, role=self.role, label=label))

    @property
    def text(self) -> str:
        return f"Change role to {self.role.value}"


@dataclass(frozen=True)
class ChangeSite(Command):
    """Organ site (and lymph-node station); choosing lymph node sets the node flag."""

    uid: str
    site: Site
    station: str = ""

    def apply(self, read: Read) -> Read:
        les = _lesion(read, self.uid)
        node = les.is_lymph_node or self.site is Site.LYMPH_NODE
        if self.site is not Site.LYMPH_NODE and les.site is Site.LYMPH_NODE:
            node = False
        return read.with_lesion(
            replace(les, site=self.site, station=self.station, is_lymph_node=node)
        )

    @property
    def text(self) -> str:
        return f"Change site to {self.site.value}"


@dataclass(frozen=True)
class SetLesionFlags(Command):
    uid: str
    is_lymph_node: bool | None = None
    is_primary_renal: bool | None = None
    description: str | None = None

    def apply(self, read: Read) -> Read:
        les = _lesion(read, self.uid)
        changes: dict[str, Any] = {}
        if self.is_lymph_node is not None:
            changes["is_lymph_node"] = self.is_lymph_node
        if self.is_primary_renal is not None:
            changes["is_primary_renal"] = self.is_primary_renal
        if self.description is not None:
            changes["description"] = self.description
        return read.with_lesion(replace(les, **changes))

    @property
    def text(self) -> str:
        return "Change lesion flags"


@dataclass(frozen=True)
class SetStatus(Command):
    lesion_uid: str
    timepoint_uid: str
    status: LesionStatus | None

    def apply(self, read: Read) -> Read:
        _lesion(read, self.lesion_uid)
        _timepoint(read, self.timepoint_uid)
        return read.with_status(self.lesion_uid, self.timepoint_uid, self.status)

    @property
    def text(self) -> str:
        return "Set status" if self.status is None else f"Set status {self.status.value}"


@dataclass(frozen=True)
class SetReadSetting(Command):
    """Set (``value`` JSON text) or clear (``None``) a read-level setting, e.g. the RECIST
    baseline choice or one eligibility answer; ``description`` is the undo text."""

    key: str
    value: str | None
    description: str = ""

    def apply(self, read: Read) -> Read:
        return read.with_setting(self.key, self.value)

    @property
    def text(self) -> str:
        return self.description or f"Set {self.key}"


@dataclass(frozen=True)
class DeleteLesion(Command):
    uid: str

    def apply(self, read: Read) -> Read:
        les = _lesion(read, self.uid)
        return read.without_lesion(les.uid)

    @property
    def text(self) -> str:
        return "Delete lesion"


@dataclass(frozen=True)
class Batch(Command):
    """Several commands as one step (assign a measurement and create its lesion together)."""

    commands: tuple[Command, ...]
    description: str = ""

    def apply(self, read: Read) -> Read:
        for c in self.commands:
            read = c.apply(read)
        return read

    @property
    def text(self) -> str:
        return self.description or "; ".join(c.text for c in self.commands)


def _lesion(read: Read, uid: str) -> Lesion:
    try:
        return read.lesion(uid)
    except KeyError as exc:
        raise CommandError(f"The lesion {uid} is not in this read (deleted?).") from exc


def _timepoint(read: Read, uid: str) -> ReadTimepoint:
    try:
        return read.timepoint(uid)
    except KeyError as exc:
        raise CommandError(f"The timepoint {uid} is not in this read.") from exc


def _measurement(read: Read, uid: str) -> LesionMeasurement:
    try:
        return read.measurement(uid)
    except KeyError as exc:
        raise CommandError(f"The measurement {uid} is not in this read (deleted?).") from exc


def _check_label(read: Read, label: str, own_uid: str | None) -> None:
    if not label:
        raise CommandError("A lesion label cannot be empty.")
    for les in read.lesions:
        if les.label == label and les.uid != own_uid:
            raise CommandError(f"The label {label} is already used by another lesion.")


def _relabel(read: Read, lesion: Lesion) -> Read:
    """Replace the lesion and carry its label onto its measurements."""
    read = read.with_lesion(lesion)
    for lm in read.measurements:
        if lm.lesion_uid == lesion.uid and lm.measurement.label != lesion.label:
            read = read.with_measurement(
                replace(lm, measurement=replace(lm.measurement, label=lesion.label))
            )
    return read


# --- session ---------------------------------------------------------------------------------


@dataclass
class _Step:
    command: Command
    before: Read
    after: Read
    sealed: bool = False


@dataclass(frozen=True)
class ExecuteResult:
    """What :meth:`ReadSession.execute` did: changed the read, merged into the previous step."""

    changed: bool
    merged: bool


class ReadSession:
    """The read being edited, its undo stack and its link to the reads database.

    Events: ``changed(list[ReadEvent])`` after every applied edit, undo or redo;
    ``save_failed(message)`` when a commit fails (the edit stays pending);
    ``saved()`` when everything pending has been committed.
    """

    def __init__(
        self,
        read: Read,
        db: ReadsDatabase | None = None,
        *,
        stored: bool = False,
        user: str | None = None,
    ):
        self._read = read
        self.db = db
        # Who edits: every commit writes audit entries in its transaction under this name.
        self.user = user or read.reader or "unknown"
        # A read belongs to its reader: another user's session views it and changes nothing
        # (every execute, undo and redo is refused), whatever the GUI lets them click.
        self.read_only_reason: str | None = None
        if read.reader and self.user != read.reader:
            self.read_only_reason = (
                f"This read belongs to {read.reader}; {self.user} can view it but not change "
                "it. File > Start my read opens your own read of this patient."
            )
        self.audit = True
        # Signing: returns why a change from the first read to the second is refused (a signed
        # timepoint), or None; set by app/signing.SigningService.
        self.guard: Callable[[Read, Read], str | None] | None = None
        self._actions: list[str] = []
        self._committed: Read | None = read if stored else None
        self._steps: list[_Step] = []
        self._index = 0  # steps[:index] are done
        self.changed = Event()
        self.save_failed = Event()
        self.saved = Event()
        self.last_error: str | None = None
        self.last_result = ExecuteResult(False, False)
        if db is not None and not stored:
            self._commit()

    def attach_database(self, db: ReadsDatabase) -> None:
        """Start saving a read edited so far in memory only (the whole read is written now)."""
        self.db = db
        self._committed = None
        self._actions.append("Create read")
        self._commit()

    @classmethod
    def open(cls, db: ReadsDatabase, uid: str) -> ReadSession:
        """Resume a stored read exactly as last committed."""
        return cls(db.load_read(uid), db, stored=True)

    @property
    def read(self) -> Read:
        return self._read

    @property
    def read_only(self) -> bool:
        """True when this session's user is not the read's reader (view only)."""
        return self.read_only_reason is not None

    @property
    def pending(self) -> bool:
        """True while some applied edit is not in the database."""
        return self.db is not None and self._committed is not self._read

    # --- editing ---------------------------------------------------------------------------
    def execute(self, command: Command) -> ExecuteResult:
        """Apply ``command``, record it for undo (merging drags) and commit it at once."""
        before = self._read
        try:
            after = command.apply(before)
        except CommandError:
            raise
        except (KeyError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if after == before:
            self.last_result = ExecuteResult(False, False)
            return self.last_result
        self._check_guard(before, after)
        merged = False
        mid = command.merge_id
        if self._index > 0 and mid is not None:
            top = self._steps[self._index - 1]
            if not top.sealed and top.command.merge_id == mid and self._index == len(self._steps):
                top.after = after
                top.command = command
                merged = True
        if not merged:
            del self._steps[self._index :]
            self._steps.append(_Step(command, before, after))
            self._index = len(self._steps)
        # Set before committing: when the save fails the caller still learns what happened.
        self.last_result = ExecuteResult(True, merged)
        self._actions.append(command.text)
        self._set(after)
        return self.last_result

    def clear_history(self) -> None:
        """Forget the undo stack (after a signature: undo never crosses a signature)."""
        self._steps.clear()
        self._index = 0

    def end_merge(self) -> None:
        """Close the current drag: the next command starts a new undo step."""
        if self._index > 0:
            self._steps[self._index - 1].sealed = True

    def undo(self) -> bool:
        if not self.can_undo:
            return False
        step = self._steps[self._index - 1]
        self._check_guard(self._read, step.before)
        self._index -= 1
        step.sealed = True
        self._actions.append(f"Undo {step.command.text}")
        self._set(step.before)
        return True

    def redo(self) -> bool:
        if not self.can_redo:
            return False
        step = self._steps[self._index]
        self._check_guard(self._read, step.after)
        self._index += 1
        self._actions.append(f"Redo {step.command.text}")
        self._set(step.after)
        return True

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._steps)

    @property
    def undo_text(self) -> str:
        return self._steps[self._index - 1].command.text if self.can_undo else ""

    @property
    def redo_text(self) -> str:
        return self._steps[self._index].command.text if self.can_redo else ""

    # --- saving ----------------------------------------------------------------------------
    def retry_save(self) -> bool:
        """Write everything pending; True when the database now holds the read."""
        if not self.pending:
            return True
        try:
            self._commit()
        except ReadSaveError:
            return False
        return True

    def _set(self, read: Read) -> None:
        old = self._read
        self._read = read
        events = [
            ReadEvent(c.op, c.table, c.key)
            for c in diff_reads(old, read).changes
            if c.table != "reads"
        ]
        try:
            if self.db is not None:
                self._commit()
        finally:
            if events:
                self.changed.emit(events)

    def _check_guard(self, before: Read, after: Read) -> None:
        if self.read_only_reason is not None:
            raise NotYourReadError(self.read_only_reason)
        if self.guard is not None:
            why = self.guard(before, after)
            if why:
                raise ReadLockedError(why)

    def _commit(self) -> None:
        assert self.db is not None
        target = self._read
        diff = diff_reads(self._committed, target)
        on_commit = None
        if self.audit:
            from namecar_viewer.persistence.audit import append, entries_for_diff

            entries = entries_for_diff(self.user, target.uid, diff, "; ".join(self._actions))

            def on_commit(conn: Any) -> None:
                append(conn, entries)

        try:
            self.db.apply(target.uid, diff, on_commit=on_commit)
        except ReadsDatabaseError as exc:
            msg = (
                f"{exc}\nThe edit is kept in this window and not yet saved; it will be saved "
                "with the next edit or when you choose File > Retry saving."
            )
            self.last_error = msg
            self.save_failed.emit(msg)
            raise ReadSaveError(msg) from exc
        self._committed = target
        self._actions = []
        self.last_error = None
        self.saved.emit()


def next_lesion(
    read: Read,
    role: LesionRole,
    site: Site,
    *,
    uid: str | None = None,
    station: str = "",
    is_primary_renal: bool = False,
) -> Lesion:
    """A new lesion with the next free label of its role (T3 after T1, T2)."""
    from namecar_viewer.core.measure.record import new_uid

    return Lesion(
        uid=uid or new_uid(),
        label=read.next_label(role),
        role=role,
        site=site,
        station=station,
        is_lymph_node=site is Site.LYMPH_NODE,
        is_primary_renal=is_primary_renal,
    )


def timepoint_for(
    read: Read,
    study_instance_uid: str | None,
    label: str,
    date: Any = None,
    slice_thickness_mm: float | None = None,
) -> ReadTimepoint:
    """The read's timepoint of a study, or a new one (the first is the pre-treatment baseline)."""
    tp = read.timepoint_for_study(study_instance_uid)
    if tp is not None:
        return tp
    from namecar_viewer.core.measure.record import new_uid

    role = TimepointRole.PRE_TREATMENT_BASELINE if not read.timepoints else TimepointRole.FOLLOW_UP
    return ReadTimepoint(new_uid(), label, date, study_instance_uid, role, slice_thickness_mm)


__all__ = [
    "AddMeasurement",
    "AddTimepoint",
    "AssignMeasurement",
    "Batch",
    "ChangeRole",
    "ChangeSite",
    "Command",
    "CommandError",
    "CreateLesion",
    "DeleteLesion",
    "DeleteMeasurement",
    "ExecuteResult",
    "NotYourReadError",
    "ReadEvent",
    "ReadLockedError",
    "ReadSaveError",
    "ReadSession",
    "RelabelLesion",
    "SetLesionFlags",
    "SetMeasurementPoints",
    "SetReadSetting",
    "SetStatus",
    "SetTimepoint",
    "next_lesion",
    "timepoint_for",
]

"""The worklist: cases (trial subject + timepoint) assigned to readers, each reader seeing only
their own work, with the case status of the central-review workflow."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.engine import Engine

from namecar_viewer.persistence.audit import AuditAction, NewEntry, append
from namecar_viewer.persistence.review import assignments_table, cases_table


class CaseStatus(enum.Enum):
    NOT_STARTED = "not started"
    IN_PROGRESS = "in progress"
    SIGNED = "signed"
    NEEDS_ADJUDICATION = "needs adjudication"
    ADJUDICATED = "adjudicated"


class Task(enum.Enum):
    READ = "read"
    ADJUDICATE = "adjudicate"


@dataclass(frozen=True)
class WorkItem:
    """One row of a reader's worklist."""

    case_uid: str
    assignment_uid: str
    subject_id: str
    timepoint_label: str
    patient_id: str
    task: Task
    status: CaseStatus
    read_uid: str | None


class WorklistService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_case(
        self, admin: str, subject_id: str, timepoint_label: str, patient_id: str
    ) -> str:
        uid = f"2.25.{uuid.uuid4().int}"
        with self.engine.begin() as conn:
            conn.execute(
                cases_table.insert().values(
                    uid=uid,
                    subject_id=subject_id,
                    timepoint_label=timepoint_label,
                    patient_id=patient_id,
                    status=CaseStatus.NOT_STARTED.value,
                    created_utc=dt.datetime.now(dt.UTC),
                    row_version=1,
                )
            )
            append(
                conn,
                [
                    NewEntry(
                        admin,
                        AuditAction.CREATE,
                        "case",
                        uid,
                        None,
                        {"subject": subject_id, "timepoint": timepoint_label},
                    )
                ],
            )
        return uid

    def assign(self, admin: str, case_uid: str, username: str, task: Task = Task.READ) -> str:
        uid = f"2.25.{uuid.uuid4().int}"
        with self.engine.begin() as conn:
            conn.execute(
                assignments_table.insert().values(
                    uid=uid,
                    case_uid=case_uid,
                    username=username,
                    task=task.value,
                    read_uid=None,
                    status=CaseStatus.NOT_STARTED.value,
                    row_version=1,
                )
            )
            append(
                conn,
                [
                    NewEntry(
                        admin,
                        AuditAction.ASSIGN,
                        "case",
                        case_uid,
                        None,
                        {"user": username, "task": task.value},
                    )
                ],
            )
        return uid

    def set_status(
        self, user: str, assignment_uid: str, status: CaseStatus, read_uid: str | None = None
    ) -> None:
        t = assignments_table
        with self.engine.begin() as conn:
            old = conn.execute(select(t).where(t.c.uid == assignment_uid)).one()
            values: dict[str, object] = {"status": status.value, "row_version": old.row_version + 1}
            if read_uid is not None:
                values["read_uid"] = read_uid
            res = conn.execute(
                t.update()
                .where(and_(t.c.uid == assignment_uid, t.c.row_version == old.row_version))
                .values(**values)
            )
            if res.rowcount == 0:
                raise RuntimeError("The worklist item was changed by someone else; reload it.")
            append(
                conn,
                [
                    NewEntry(
                        user,
                        AuditAction.CHANGE,
                        "assignment",
                        assignment_uid,
                        {"status": old.status},
                        {"status": status.value},
                        read_uid=read_uid or old.read_uid,
                    )
                ],
            )

    def set_case_status(self, user: str, case_uid: str, status: CaseStatus) -> None:
        with self.engine.begin() as conn:
            old = conn.execute(select(cases_table).where(cases_table.c.uid == case_uid)).one()
            conn.execute(
                cases_table.update()
                .where(cases_table.c.uid == case_uid)
                .values(status=status.value, row_version=old.row_version + 1)
            )
            append(
                conn,
                [
                    NewEntry(
                        user,
                        AuditAction.CHANGE,
                        "case",
                        case_uid,
                        {"status": old.status},
                        {"status": status.value},
                    )
                ],
            )

    def work_of(self, username: str) -> list[WorkItem]:
        """Only this user's assignments (a reader never sees another reader's work)."""
        a, c = assignments_table, cases_table
        q = (
            select(
                a,
                c.c.subject_id,
                c.c.timepoint_label,
                c.c.patient_id,
                c.c.status.label("case_status"),
            )
            .join(c, c.c.uid == a.c.case_uid)
            .where(a.c.username == username)
            .order_by(c.c.subject_id, c.c.timepoint_label)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        out = []
        for r in rows:
            status = CaseStatus(r.status)
            if r.case_status in (CaseStatus.NEEDS_ADJUDICATION.value, CaseStatus.ADJUDICATED.value):
                status = CaseStatus(r.case_status)
            out.append(
                WorkItem(
                    r.case_uid,
                    r.uid,
                    r.subject_id,
                    r.timepoint_label,
                    r.patient_id,
                    Task(r.task),
                    status,
                    r.read_uid,
                )
            )
        return out

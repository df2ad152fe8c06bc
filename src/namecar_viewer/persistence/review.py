"""Tables of the central-review workflow (created by migration 0003): worklist cases and
assignments, signatures, kept read versions, adjudications."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text

UID = 128
TS = DateTime(timezone=True)
review_metadata = MetaData()

cases_table = Table(
    "review_cases",
    review_metadata,
    Column("uid", String(UID), primary_key=True),
    Column("subject_id", String(64), nullable=False),
    Column("timepoint_label", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_utc", TS, nullable=False),
    Column("row_version", Integer, nullable=False),
)

assignments_table = Table(
    "review_assignments",
    review_metadata,
    Column("uid", String(UID), primary_key=True),
    Column("case_uid", String(UID), nullable=False),
    Column("username", String(128), nullable=False),
    Column("task", String(32), nullable=False),
    Column("read_uid", String(UID), nullable=True),
    Column("status", String(32), nullable=False),
    Column("row_version", Integer, nullable=False),
)

signatures_table = Table(
    "read_signatures",
    review_metadata,
    Column("uid", String(UID), primary_key=True),
    Column("read_uid", String(UID), nullable=False),
    Column("timepoint_uid", String(UID), nullable=False),
    Column("username", String(128), nullable=False),
    Column("meaning", Text, nullable=False),
    Column("signed_utc", TS, nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("revoked_utc", TS, nullable=True),
    Column("revoke_reason", Text, nullable=True),
)

versions_table = Table(
    "read_versions",
    review_metadata,
    Column("read_uid", String(UID), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("created_utc", TS, nullable=False),
    Column("username", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("read_json", Text, nullable=False),
)

adjudications_table = Table(
    "adjudications",
    review_metadata,
    Column("case_uid", String(UID), primary_key=True),
    Column("adjudicator", String(128), nullable=False),
    Column("chosen_read_uid", String(UID), nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_utc", TS, nullable=False),
    Column("row_version", Integer, nullable=False),
)

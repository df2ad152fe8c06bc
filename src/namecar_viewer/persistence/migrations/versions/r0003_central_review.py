"""Central review: users, append-only audit trail, worklist, signatures, read versions,
adjudications, review settings.

Revision ID: 0003_central_review
Revises: 0002_read_settings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_central_review"
down_revision = "0002_read_settings"
branch_labels = None
depends_on = None

UID = 128
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("username", sa.String(128), primary_key=True),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("roles", sa.String(256), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_utc", TS, nullable=False),
        sa.Column("row_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ts_utc", sa.String(40), nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_key", sa.String(300), nullable=False),
        sa.Column("read_uid", sa.String(UID), nullable=True),
        sa.Column("old_value", sa.Text, nullable=True),
        sa.Column("new_value", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # The chain head: every append locks and advances this one row, so concurrent writers
    # (PostgreSQL) queue up instead of forking the chain.
    head = sa.table(
        "audit_head", sa.column("id", sa.Integer), sa.column("seq", sa.Integer), sa.column("hash")
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])
    op.create_index("ix_audit_log_username", "audit_log", ["username"])
    op.create_index("ix_audit_log_read_uid", "audit_log", ["read_uid"])
    op.create_table(
        "review_cases",
        sa.Column("uid", sa.String(UID), primary_key=True),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("timepoint_label", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_utc", TS, nullable=False),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.UniqueConstraint("subject_id", "timepoint_label", name="uq_review_case"),
    )
    op.create_table(
        "review_assignments",
        sa.Column("uid", sa.String(UID), primary_key=True),
        sa.Column("case_uid", sa.String(UID), sa.ForeignKey("review_cases.uid"), nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("read_uid", sa.String(UID), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.UniqueConstraint("case_uid", "username", "task", name="uq_review_assignment"),
    )
    op.create_index("ix_review_assignments_username", "review_assignments", ["username"])
    op.create_table(
        "read_signatures",
        sa.Column("uid", sa.String(UID), primary_key=True),
        sa.Column("read_uid", sa.String(UID), nullable=False),
        sa.Column("timepoint_uid", sa.String(UID), nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("meaning", sa.Text, nullable=False),
        sa.Column("signed_utc", TS, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("revoked_utc", TS, nullable=True),
        sa.Column("revoke_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_read_signatures_read_uid", "read_signatures", ["read_uid"])
    op.create_table(
        "read_versions",
        sa.Column("read_uid", sa.String(UID), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("created_utc", TS, nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("read_json", sa.Text, nullable=False),
    )
    op.create_table(
        "adjudications",
        sa.Column("case_uid", sa.String(UID), sa.ForeignKey("review_cases.uid"), primary_key=True),
        sa.Column("adjudicator", sa.String(128), nullable=False),
        sa.Column("chosen_read_uid", sa.String(UID), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decided_utc", TS, nullable=False),
        sa.Column("row_version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "adjudications",
        "read_versions",
        "read_signatures",
        "review_assignments",
        "review_cases",
        "audit_log",
        "audit_head",
        "users",
        "review_settings",
    ):
        op.drop_table(name)

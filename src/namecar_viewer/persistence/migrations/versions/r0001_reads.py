"""Reads tables as of reads schema version 1 (adopts databases created before Alembic).

Revision ID: 0001_reads
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_reads"
down_revision = None
branch_labels = None
depends_on = None

UID = 128


def _has(name: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if not _has("schema_version"):
        op.create_table(
            "schema_version",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("applied_utc", sa.DateTime(timezone=True), nullable=False),
        )
    if not _has("reads"):
        op.create_table(
            "reads",
            sa.Column("uid", sa.String(UID), primary_key=True),
            sa.Column("patient_id", sa.String(64), nullable=False),
            sa.Column("reader", sa.String(128), nullable=False),
            sa.Column("created_utc", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_utc", sa.DateTime(timezone=True), nullable=False),
            sa.Column("row_version", sa.Integer, nullable=False),
        )
    if not _has("read_timepoints"):
        op.create_table(
            "read_timepoints",
            sa.Column("uid", sa.String(UID), primary_key=True),
            sa.Column("read_uid", sa.String(UID), sa.ForeignKey("reads.uid"), nullable=False),
            sa.Column("sort_order", sa.Integer, nullable=False),
            sa.Column("label", sa.String(64), nullable=False),
            sa.Column("date", sa.Date, nullable=True),
            sa.Column("study_instance_uid", sa.String(UID), nullable=True),
            sa.Column("role", sa.String(32), nullable=False),
            sa.Column("slice_thickness_mm", sa.Float, nullable=True),
            sa.Column("row_version", sa.Integer, nullable=False),
        )
        op.create_index("ix_read_timepoints_read_uid", "read_timepoints", ["read_uid"])
    if not _has("read_lesions"):
        op.create_table(
            "read_lesions",
            sa.Column("uid", sa.String(UID), primary_key=True),
            sa.Column("read_uid", sa.String(UID), sa.ForeignKey("reads.uid"), nullable=False),
            sa.Column("sort_order", sa.Integer, nullable=False),
            sa.Column("label", sa.String(32), nullable=False),
            sa.Column("role", sa.String(32), nullable=False),
            sa.Column("site", sa.String(32), nullable=False),
            sa.Column("station", sa.String(64), nullable=False),
            sa.Column("is_lymph_node", sa.Boolean, nullable=False),
            sa.Column("is_primary_renal", sa.Boolean, nullable=False),
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("row_version", sa.Integer, nullable=False),
        )
        op.create_index("ix_read_lesions_read_uid", "read_lesions", ["read_uid"])
    if not _has("read_measurements"):
        op.create_table(
            "read_measurements",
            sa.Column("uid", sa.String(UID), primary_key=True),
            sa.Column("read_uid", sa.String(UID), sa.ForeignKey("reads.uid"), nullable=False),
            sa.Column("lesion_uid", sa.String(UID), sa.ForeignKey("read_lesions.uid")),
            sa.Column("timepoint_uid", sa.String(UID), sa.ForeignKey("read_timepoints.uid")),
            sa.Column("sort_order", sa.Integer, nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("points_json", sa.Text, nullable=False),
            sa.Column("plane_json", sa.Text, nullable=True),
            sa.Column("series_instance_uid", sa.String(UID), nullable=True),
            sa.Column("study_instance_uid", sa.String(UID), nullable=True),
            sa.Column("frame_of_reference_uid", sa.String(UID), nullable=True),
            sa.Column("images_json", sa.Text, nullable=False),
            sa.Column("unit", sa.String(16), nullable=False),
            sa.Column("label", sa.String(64), nullable=False),
            sa.Column("long_axis_mm", sa.Float, nullable=True),
            sa.Column("short_axis_mm", sa.Float, nullable=True),
            sa.Column("row_version", sa.Integer, nullable=False),
        )
        op.create_index("ix_read_measurements_read_uid", "read_measurements", ["read_uid"])
    if not _has("read_lesion_statuses"):
        op.create_table(
            "read_lesion_statuses",
            sa.Column(
                "lesion_uid", sa.String(UID), sa.ForeignKey("read_lesions.uid"), primary_key=True
            ),
            sa.Column(
                "timepoint_uid",
                sa.String(UID),
                sa.ForeignKey("read_timepoints.uid"),
                primary_key=True,
            ),
            sa.Column("read_uid", sa.String(UID), sa.ForeignKey("reads.uid"), nullable=False),
            sa.Column("status", sa.String(32), nullable=False),
            sa.Column("row_version", sa.Integer, nullable=False),
        )
        op.create_index("ix_read_lesion_statuses_read_uid", "read_lesion_statuses", ["read_uid"])


def downgrade() -> None:
    for name in (
        "read_lesion_statuses",
        "read_measurements",
        "read_lesions",
        "read_timepoints",
        "reads",
    ):
        op.drop_table(name)

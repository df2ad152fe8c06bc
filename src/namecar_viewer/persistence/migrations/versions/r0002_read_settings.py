"""Read-level settings (RECIST baseline choice, eligibility answers): reads schema version 2.

Revision ID: 0002_read_settings
Revises: 0001_reads
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_read_settings"
down_revision = "0001_reads"
branch_labels = None
depends_on = None

UID = 128


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("read_settings"):
        return
    op.create_table(
        "read_settings",
        sa.Column("read_uid", sa.String(UID), sa.ForeignKey("reads.uid"), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value_json", sa.Text, nullable=False),
        sa.Column("row_version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("read_settings")

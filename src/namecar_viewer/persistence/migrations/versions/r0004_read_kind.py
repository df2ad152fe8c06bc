"""Read kind: a RECIST read or the ancillary MRI-PET record (reads schema version 3).

Every read stored before this revision is a RECIST read (the column's default).

Revision ID: 0004_read_kind
Revises: 0003_central_review
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_read_kind"
down_revision = "0003_central_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    cols = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("reads")}
    if "kind" in cols:
        return
    with op.batch_alter_table("reads") as batch:
        batch.add_column(sa.Column("kind", sa.String(32), nullable=False, server_default="recist"))


def downgrade() -> None:
    with op.batch_alter_table("reads") as batch:
        batch.drop_column("kind")

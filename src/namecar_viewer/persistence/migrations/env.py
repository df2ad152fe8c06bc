"""Alembic environment: always run programmatically with a live connection (see __init__.py)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when someone runs the alembic CLI
    raise RuntimeError(
        "Run NAMECAR Viewer migrations through namecar_viewer.persistence.migrations.upgrade()."
    )
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""Alembic environment: runs migrations on the connection handed over by corral.storage.migrate."""

from __future__ import annotations

from alembic import context

from corral.storage.tables import emulator_metadata, metadata

config = context.config
target = [metadata, emulator_metadata]
connection = config.attributes.get("connection")

if connection is None:  # pragma: no cover - used only by `alembic revision --autogenerate`
    import sqlalchemy as sa

    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()

"""Schema migrations with Alembic, run programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from corral.storage.database import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def migrate(db: Database) -> None:
    """Bring the schema to the newest revision (idempotent; serialised by the write lock)."""
    cfg = alembic_config()
    with db.write() as conn:
        db.lock_global(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")

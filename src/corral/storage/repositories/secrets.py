"""Named server secrets, generated once per database and then only read."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from corral.storage import tables as t
from corral.storage.database import Tx


class SecretRepository:
    def get_or_create(self, tx: Tx, name: str, candidate: str) -> str:
        """The secret called `name`; `candidate` becomes it when there is none yet. Two
        processes racing here agree: the first insert wins, the other's does nothing."""
        insert = pg_insert if tx.dialect.name == "postgresql" else sqlite_insert
        tx.execute(insert(t.secrets).values(name=name, value=candidate)
                   .on_conflict_do_nothing(index_elements=["name"]))
        return str(tx.execute(sa.select(t.secrets.c.value)
                              .where(t.secrets.c.name == name)).scalar_one())

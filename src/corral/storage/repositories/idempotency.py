"""Stored answers of writes sent with an Idempotency-Key, and the lock twins wait on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from corral.storage import tables as t
from corral.storage.database import Tx
from corral.storage.errors import is_lock_timeout

# pg_advisory_xact_lock(int, int): the first int says the lock is an idempotency key's, so it
# never meets the write path's one-bigint key locks.
LOCK_CLASS = 0x1D3


@dataclass(frozen=True)
class StoredAnswer:
    user_id: int
    key: str
    request_hash: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    created_time: datetime
    expires_time: datetime


def _lock_id(user_id: int, key: str) -> int:
    digest = hashlib.blake2b(f"{user_id}:{key}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


class IdempotencyRepository:
    def lock(self, tx: Tx, user_id: int, key: str, wait_seconds: float) -> bool:
        """Hold the key until the transaction ends, waiting up to `wait_seconds` for another
        transaction holding it; False when that wait ran out. SQLite: the write transaction
        (BEGIN IMMEDIATE) already serialises every writer."""
        if tx.dialect.name != "postgresql":
            return True
        timeout = f"{max(1, int(wait_seconds * 1000))}ms"
        before = tx.execute(sa.select(sa.func.current_setting("lock_timeout"))).scalar_one()
        tx.execute(sa.select(sa.func.set_config("lock_timeout", timeout, True)))
        try:
            with tx.begin_nested():
                tx.execute(sa.select(sa.func.pg_advisory_xact_lock(
                    LOCK_CLASS, _lock_id(user_id, key))))
        except DBAPIError as exc:
            if not is_lock_timeout(exc):
                raise
            return False
        finally:
            tx.execute(sa.select(sa.func.set_config("lock_timeout", before, True)))
        return True

    def find(self, tx: Tx, user_id: int, key: str, now: datetime) -> StoredAnswer | None:
        c = t.idempotency_keys.c
        row = tx.execute(sa.select(t.idempotency_keys).where(
            c.user_id == user_id, c.key == key, c.expires_time > now)).first()
        if row is None:
            return None
        return StoredAnswer(user_id=row.user_id, key=row.key, request_hash=row.request_hash,
                            status=row.status,
                            headers=tuple((str(n), str(v)) for n, v in row.headers),
                            body=bytes(row.body), created_time=row.created_time,
                            expires_time=row.expires_time)

    def store(self, tx: Tx, answer: StoredAnswer) -> None:
        """Keep `answer`, replacing an expired one under the same key, and drop expired
        answers (of anyone) so the table holds about one day of keyed writes."""
        c = t.idempotency_keys.c
        tx.execute(sa.delete(t.idempotency_keys).where(
            c.expires_time <= answer.created_time))
        tx.execute(sa.delete(t.idempotency_keys).where(
            c.user_id == answer.user_id, c.key == answer.key))
        tx.execute(sa.insert(t.idempotency_keys).values(
            user_id=answer.user_id, key=answer.key, request_hash=answer.request_hash,
            status=answer.status, headers=[list(h) for h in answer.headers], body=answer.body,
            created_time=answer.created_time, expires_time=answer.expires_time))

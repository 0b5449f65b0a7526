"""Idempotency keys: a keyed write's answer is stored in the write's own transaction and
given again, byte for byte, to a repeat of the same request within 24 hours.

A repeat that arrives while the first call still runs waits for it: on a lock per key in this
process, then (PostgreSQL, other processes) on an advisory lock the first call's transaction
holds; SQLite's BEGIN IMMEDIATE serialises writers of every process anyway. Only past the
wait does it get IDEMPOTENCY_KEY_IN_USE. Nothing is stored for a call that failed as a whole
(a raised error rolls its transaction back), so it may be retried with the same key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from corral.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from corral.storage.database import Database
from corral.storage.repositories.idempotency import IdempotencyRepository, StoredAnswer

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """A response as stored: status, the headers that matter, body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class IdempotencyKeys:
    def __init__(self, db: Database, clock: Callable[[], datetime], wait: float) -> None:
        self.db = db
        self.clock = clock
        self.wait = wait
        self.repo = IdempotencyRepository()
        self._mutex = threading.Lock()
        self._locks: dict[tuple[int, str], tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def _held(self, user_id: int, key: str, deadline: float) -> Iterator[None]:
        """This process's lock on the key, waited for until `deadline`."""
        ident = (user_id, key)
        with self._mutex:
            lock, users = self._locks.setdefault(ident, (threading.Lock(), [0]))
            users[0] += 1
        try:
            if not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise IdempotencyKeyInUse()
            try:
                yield
            finally:
                lock.release()
        finally:
            with self._mutex:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[ident]

    def run(self, user_id: int, key: str, request_hash: str, work: Callable[[], T],
            keep: Callable[[T], Answer | None]) -> T | Answer:
        """`work()`'s result, its answer (`keep(result)`, None: not kept) stored under the key
        in the same transaction as every write `work` makes; or the stored answer of an
        earlier identical request. IDEMPOTENCY_KEY_REUSED when the key served another request.
        """
        deadline = time.monotonic() + self.wait
        with self._held(user_id, key, deadline), self.db.ambient() as tx:
            if not self.repo.lock(tx, user_id, key, max(0.0, deadline - time.monotonic())):
                raise IdempotencyKeyInUse()
            now = self.clock()
            stored = self.repo.find(tx, user_id, key, now)
            if stored is not None:
                if stored.request_hash != request_hash:
                    raise IdempotencyKeyReused(details={"header": "Idempotency-Key"})
                return Answer(stored.status, stored.headers, stored.body)
            result = work()
            answer = keep(result)
            if answer is not None:
                self.repo.store(tx, StoredAnswer(
                    user_id=user_id, key=key, request_hash=request_hash, status=answer.status,
                    headers=answer.headers, body=answer.body, created_time=now,
                    expires_time=now + TTL))
            return result

"""Reliable webhook delivery from the outbox: at least once, with retries and back-off.

A row is claimed with a short lease in its own transaction, POSTed outside any transaction (so
a slow receiver never holds the database), and its outcome recorded in another. A crash after
the write but before delivery leaves the row pending; a crash during delivery lets the lease
run out, and the row is delivered again (receivers get the outbox id to deduplicate).
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson

from corral.storage.database import Database
from corral.storage.repositories.outbox import Delivery, OutboxRepository

log = logging.getLogger("corral.webhooks")

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, 600))


class WebhookDeliverer:
    def __init__(self, db: Database, clock: Callable[[], datetime], *, timeout: float = 10,
                 backoff: Callable[[int], timedelta] = backoff) -> None:
        self.db = db
        self.clock = clock
        self.timeout = timeout
        self.backoff = backoff
        self.outbox = OutboxRepository()
        # Emulator mode journals every delivery: (url, body, status or None, seconds taken).
        self.on_delivery: Callable[[str, bytes, int | None, float], None] | None = None

    def deliver_once(self) -> bool:
        """Deliver one due row; False when none is due."""
        now = self.clock()
        # Look first in a read transaction: idle worker threads (one per server process) must
        # not take SQLite's write lock on every poll.
        with self.db.read() as tx:
            if not self.outbox.any_due(tx, now):
                return False
        with self.db.write() as tx:
            row = self.outbox.claim_due(tx, now, now + LEASE)
        if row is None:
            return False
        # A notification callback is Zoho's body exactly; a workflow webhook carries the
        # outbox id for receivers to deduplicate.
        body = row.payload if row.channel_key is not None else {"delivery_id": str(row.id),
                                                                **row.payload}
        code, error = self._post(row.url, body)
        attempts = row.attempts + 1
        done = self.clock()
        with self.db.write() as tx:
            if code is not None and 200 <= code < 300:
                status, retry_at = "delivered", None
            elif attempts >= MAX_ATTEMPTS:
                status, retry_at = "failed", None
            else:
                status, retry_at = None, done + self.backoff(attempts)
            self.outbox.record_attempt(
                tx, row.id, status_code=code, error=error, status=status,
                delivered_time=done if status == "delivered" else None,
                next_attempt_time=retry_at, attempt=attempts, attempted_time=done)
        return True

    def _post(self, url: str, body: dict[str, Any]) -> tuple[int | None, str | None]:
        data = orjson.dumps(body)
        started = time.perf_counter()
        result = self._send(url, data)
        if self.on_delivery is not None:
            self.on_delivery(url, data, result[0], time.perf_counter() - started)
        return result

    def _send(self, url: str, data: bytes) -> tuple[int | None, str | None]:
        req = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "Corral-Webhook/1"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return resp.status, None
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code, f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            return None, str(exc)[:500]

    def deliveries(self, *, rule_id: int | None = None, status: str | None = None,
                   limit: int = 200, channel_keys: list[str] | None = None) -> list[Delivery]:
        with self.db.read() as tx:
            return self.outbox.deliveries(tx, rule_id=rule_id, status=status, limit=limit,
                                          channel_keys=channel_keys)

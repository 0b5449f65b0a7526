"""webhook_outbox: calls to make, written in the triggering transaction, sent by a worker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class OutboxRow:
    id: int
    rule_id: int
    module_id: int
    record_id: int
    url: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Delivery:
    """An outbox row as the deliveries listing shows it."""

    id: int
    rule_id: int
    module_id: int
    record_id: int
    url: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_time: datetime
    last_status_code: int | None
    last_error: str | None
    created_time: datetime
    delivered_time: datetime | None


class OutboxRepository:
    def add(self, tx: Tx, rows: Sequence[OutboxRow], now: datetime) -> None:
        if not rows:
            return
        tx.execute(sa.insert(t.webhook_outbox), [{
            "id": r.id, "rule_id": r.rule_id, "module_id": r.module_id,
            "record_id": r.record_id, "url": r.url, "payload": r.payload,
            "status": "pending", "attempts": 0, "next_attempt_time": now,
            "last_status_code": None, "last_error": None, "created_time": now,
            "delivered_time": None} for r in rows])

    def claim_due(self, tx: Tx, now: datetime, lease_until: datetime) -> OutboxRow | None:
        """The next due pending row, leased (its next attempt moved to `lease_until`)."""
        row = tx.execute(sa.select(t.webhook_outbox).where(
            t.webhook_outbox.c.status == "pending",
            t.webhook_outbox.c.next_attempt_time <= now)
            .order_by(t.webhook_outbox.c.next_attempt_time, t.webhook_outbox.c.id)
            .limit(1).with_for_update(skip_locked=True)).first()
        if row is None:
            return None
        tx.execute(sa.update(t.webhook_outbox).where(t.webhook_outbox.c.id == row.id)
                   .values(next_attempt_time=lease_until,
                           attempts=t.webhook_outbox.c.attempts + 1))
        return OutboxRow(id=row.id, rule_id=row.rule_id, module_id=row.module_id,
                         record_id=row.record_id, url=row.url, payload=row.payload,
                         attempts=row.attempts)

    def record_attempt(self, tx: Tx, row_id: int, *, status_code: int | None,
                       error: str | None, status: str | None = None,
                       delivered_time: datetime | None = None,
                       next_attempt_time: datetime | None = None) -> None:
        values: dict[str, Any] = {"last_status_code": status_code, "last_error": error}
        if status is not None:
            values["status"] = status
        if delivered_time is not None:
            values["delivered_time"] = delivered_time
        if next_attempt_time is not None:
            values["next_attempt_time"] = next_attempt_time
        tx.execute(sa.update(t.webhook_outbox).where(t.webhook_outbox.c.id == row_id)
                   .values(**values))

    def deliveries(self, tx: Tx, *, rule_id: int | None, status: str | None,
                   limit: int) -> list[Delivery]:
        q = sa.select(t.webhook_outbox).order_by(t.webhook_outbox.c.id.desc()).limit(limit)
        if rule_id is not None:
            q = q.where(t.webhook_outbox.c.rule_id == rule_id)
        if status is not None:
            q = q.where(t.webhook_outbox.c.status == status)
        return [Delivery(**{c: getattr(r, c) for c in Delivery.__dataclass_fields__})
                for r in tx.execute(q)]

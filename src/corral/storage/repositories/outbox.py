"""webhook_outbox: calls to make, written in the triggering transaction, sent by a worker.

Workflow webhooks and instant notifications share it. Rows with a `channel_key` (a
notification channel) are delivered one at a time in id order per channel: a row waits while
an earlier row of its channel is still pending (ids come from the `counters` row, which a
transaction holds locked from its reservation to its commit, so id order is commit order).
"""

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
    channel_key: str | None = None


@dataclass(frozen=True)
class Attempt:
    attempt: int
    attempted_time: datetime
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class Delivery:
    """An outbox row as the deliveries listing shows it, with every attempt made."""

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
    channel_key: str | None = None
    history: tuple[Attempt, ...] = ()


class OutboxRepository:
    def add(self, tx: Tx, rows: Sequence[OutboxRow], now: datetime) -> None:
        if not rows:
            return
        tx.execute(sa.insert(t.webhook_outbox), [{
            "id": r.id, "rule_id": r.rule_id, "module_id": r.module_id,
            "record_id": r.record_id, "url": r.url, "payload": r.payload,
            "status": "pending", "attempts": 0, "next_attempt_time": now,
            "last_status_code": None, "last_error": None, "created_time": now,
            "delivered_time": None, "channel_key": r.channel_key} for r in rows])

    def any_due(self, tx: Tx, now: datetime) -> bool:
        """Whether some pending row's attempt time has come (a cheap look before a claim)."""
        box = t.webhook_outbox
        return tx.execute(sa.select(box.c.id).where(
            box.c.status == "pending", box.c.next_attempt_time <= now).limit(1)
        ).first() is not None

    def claim_due(self, tx: Tx, now: datetime, lease_until: datetime) -> OutboxRow | None:
        """The next due pending row, leased (its next attempt moved to `lease_until`); a row of
        a channel is due only when no earlier row of that channel is pending."""
        box = t.webhook_outbox
        earlier = box.alias("earlier")
        first_of_channel = ~sa.exists().where(earlier.c.channel_key == box.c.channel_key,
                                              earlier.c.status == "pending",
                                              earlier.c.id < box.c.id)
        row = tx.execute(sa.select(box).where(
            box.c.status == "pending", box.c.next_attempt_time <= now, first_of_channel)
            .order_by(box.c.next_attempt_time, box.c.id)
            .limit(1).with_for_update(skip_locked=True)).first()
        if row is None:
            return None
        tx.execute(sa.update(box).where(box.c.id == row.id)
                   .values(next_attempt_time=lease_until, attempts=box.c.attempts + 1))
        return OutboxRow(id=row.id, rule_id=row.rule_id, module_id=row.module_id,
                         record_id=row.record_id, url=row.url, payload=row.payload,
                         attempts=row.attempts, channel_key=row.channel_key)

    def record_attempt(self, tx: Tx, row_id: int, *, status_code: int | None,
                       error: str | None, status: str | None = None,
                       delivered_time: datetime | None = None,
                       next_attempt_time: datetime | None = None,
                       attempt: int | None = None, attempted_time: datetime | None = None,
                       ) -> None:
        values: dict[str, Any] = {"last_status_code": status_code, "last_error": error}
        if status is not None:
            values["status"] = status
        if delivered_time is not None:
            values["delivered_time"] = delivered_time
        if next_attempt_time is not None:
            values["next_attempt_time"] = next_attempt_time
        tx.execute(sa.update(t.webhook_outbox).where(t.webhook_outbox.c.id == row_id)
                   .values(**values))
        if attempt is not None and attempted_time is not None:
            tx.execute(sa.insert(t.delivery_attempts).values(
                outbox_id=row_id, attempt=attempt, attempted_time=attempted_time,
                status_code=status_code, error=error))

    def deliveries(self, tx: Tx, *, rule_id: int | None, status: str | None,
                   limit: int, channel_keys: Sequence[str] | None = None,
                   ) -> list[Delivery]:
        box = t.webhook_outbox
        q = sa.select(box).order_by(box.c.id.desc()).limit(limit)
        if rule_id is not None:
            q = q.where(box.c.rule_id == rule_id)
        if status is not None:
            q = q.where(box.c.status == status)
        if channel_keys is not None:
            q = q.where(box.c.channel_key.in_(list(channel_keys)))
        rows = list(tx.execute(q))
        history: dict[int, list[Attempt]] = {}
        if rows:
            att = t.delivery_attempts
            for a in tx.execute(sa.select(att).where(att.c.outbox_id.in_([r.id for r in rows]))
                                .order_by(att.c.outbox_id, att.c.attempt, att.c.id)):
                history.setdefault(a.outbox_id, []).append(
                    Attempt(a.attempt, a.attempted_time, a.status_code, a.error))
        fields = [f for f in Delivery.__dataclass_fields__ if f != "history"]
        return [Delivery(**{c: getattr(r, c) for c in fields},
                         history=tuple(history.get(r.id, ()))) for r in rows]

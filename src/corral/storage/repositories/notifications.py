"""notification_channels: the /actions/watch subscriptions, one row per channel and module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class Channel:
    id: int
    channel_id: str
    module_id: int
    events: tuple[str, ...]  # create | edit | delete
    notify_url: str
    token: str | None
    channel_expiry: datetime
    resource_uri: str
    notify_on_related_action: bool
    return_affected_field_values: bool
    fields: tuple[str, ...] | None
    condition: Any
    created_by: int
    created_time: datetime


def _channel(row: Any) -> Channel:
    return Channel(id=row.id, channel_id=row.channel_id, module_id=row.module_id,
                   events=tuple(row.events), notify_url=row.notify_url, token=row.token,
                   channel_expiry=row.channel_expiry, resource_uri=row.resource_uri,
                   notify_on_related_action=row.notify_on_related_action,
                   return_affected_field_values=row.return_affected_field_values,
                   fields=tuple(row.fields) if row.fields is not None else None,
                   condition=row.condition, created_by=row.created_by,
                   created_time=row.created_time)


# Built once: the write path asks every batch.
_ACTIVE_FOR_MODULE = (sa.select(t.notification_channels)
                      .where(t.notification_channels.c.module_id == sa.bindparam("mid"),
                             t.notification_channels.c.channel_expiry > sa.bindparam(
                                 "now", type_=t.notification_channels.c.channel_expiry.type))
                      .order_by(t.notification_channels.c.id))

class NotificationRepository:
    def active_for_module(self, tx: Tx, module_id: int, now: datetime) -> list[Channel]:
        return [_channel(r) for r in tx.execute(_ACTIVE_FOR_MODULE, {"mid": module_id,
                                                                      "now": now})]

    def active_related(self, tx: Tx, module_ids: Sequence[int], now: datetime,
                       ) -> list[Channel]:
        """Live channels of the modules that asked to hear of their related records."""
        c = t.notification_channels.c
        if not module_ids:
            return []
        return [_channel(r) for r in tx.execute(
            sa.select(t.notification_channels).where(
                c.module_id.in_(list(module_ids)), c.channel_expiry > now,
                c.notify_on_related_action.is_(True)).order_by(c.id))]

    def channels(self, tx: Tx, *, channel_ids: Sequence[str] | None = None,
                 module_id: int | None = None) -> list[Channel]:
        c = t.notification_channels.c
        q = sa.select(t.notification_channels).order_by(c.id)
        if channel_ids is not None:
            q = q.where(c.channel_id.in_(list(channel_ids)))
        if module_id is not None:
            q = q.where(c.module_id == module_id)
        return [_channel(r) for r in tx.execute(q)]

    def channel_count(self, tx: Tx) -> int:
        c = t.notification_channels.c
        return int(tx.execute(sa.select(sa.func.count(sa.distinct(c.channel_id)))).scalar_one())

    def save(self, tx: Tx, channel: Channel) -> None:
        """Insert the channel's row for its module, or replace the existing one."""
        c = t.notification_channels.c
        values = asdict(channel)
        values["events"] = list(channel.events)
        values["fields"] = list(channel.fields) if channel.fields is not None else None
        tx.execute(sa.delete(t.notification_channels).where(
            c.channel_id == channel.channel_id, c.module_id == channel.module_id))
        tx.execute(sa.insert(t.notification_channels).values(**values))

    def delete(self, tx: Tx, *, channel_id: str, module_ids: Sequence[int] | None = None,
               ) -> int:
        c = t.notification_channels.c
        q = sa.delete(t.notification_channels).where(c.channel_id == channel_id)
        if module_ids is not None:
            q = q.where(c.module_id.in_(list(module_ids)))
        return int(tx.execute(q).rowcount or 0)

"""Zoho instant notifications (/actions/watch): channels, and the write-path step that matches.

`InstantNotifications` is a step of the one write path, so every door that writes records
(the API, mass update jobs, workflow field updates, lead conversion, deletes, automation's
follow-up writes) is covered without knowing about it. Its `effects` turn the batch's accepted
records into one outbox row per matching channel and operation — Zoho's callback carries the
ids of one operation of one write together — written in the batch's own transaction, so a
rolled-back write notifies nobody and a committed one is never lost. `automation.webhooks`
delivers the rows (retries with back-off, in order per channel).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from corral.auth.service import Principal
from corral.errors import (
    InvalidData,
    LimitExceeded,
    MandatoryNotFound,
    NotSubscribed,
    RequiredParamMissing,
)
from corral.metadata.model import Field, Module
from corral.metadata.registry import Registry
from corral.records.attachments import FIELD as ATTACHMENTS
from corral.records.writes import Batch, FollowUp, Item, OutboxEntry, Step, lookup_target
from corral.storage.database import Database, Tx
from corral.storage.repositories.notifications import Channel, NotificationRepository
from corral.storage.repositories.records import RecordRepository, StoredRecord

CHANNELS = "notification_channels"
RELATED = "notification_related_channels"
# A restored record (a revert of its delete) re-appears to a syncing client: Zoho documents
# only create/edit/delete events, so Corral announces a restore as a create (operation
# `insert`; COMPATIBILITY.md Behaviours).
OPERATIONS = {"insert": "create", "update": "edit", "convert": "edit", "delete": "delete",
              "restore": "create", "unconvert": "create"}  # an un-converted Lead re-appears
CALLBACK_OPERATION = {"create": "insert", "edit": "update", "delete": "delete"}
EVENTS = ("create", "edit", "delete")
DEFAULT_EXPIRY = timedelta(hours=1)  # Zoho: one hour when absent or beyond the maximum
# Zoho documents no count limits; Corral's, so a runaway client is refused (COMPATIBILITY.md).
MAX_CHANNELS = 100
MAX_EVENTS = 100
MAX_TOKEN = 50  # Zoho: "Maximum length of characters is 50"


def max_expiry(version: str) -> timedelta:
    """Zoho: at most one day ahead on v2 and v3 (v2.1 included), one week from v4 on."""
    return timedelta(days=1) if version in {"v2", "v2.1", "v3"} else timedelta(days=7)


def epoch_ms(dt: datetime) -> int:
    return int(dt.replace(tzinfo=UTC).timestamp() * 1000)


# ----------------------------------------------------------------------------- the step
def _changed(item: Item) -> list[str]:
    """Fields whose value the write changed (Owner included), in the module's order."""
    old, new = item.old, item.new
    if old is None:
        return []
    # `$`-keys are Corral's pseudo-fields ($attachments, $se_module), never Zoho fields.
    names = [k for k in new.data if old.data.get(k) != new.data.get(k) and k[:1] != "$"]
    names += [k for k in old.data if k not in new.data and k[:1] != "$"]
    if old.owner_id != new.owner_id:
        names.append("Owner")
    return list(dict.fromkeys(names))


def _attachments_only(item: Item) -> bool:
    """An update that only attached or removed files: a related action of the record."""
    old = item.old
    return (old is not None and item.op == "update" and not _changed(item)
            and old.data.get(ATTACHMENTS) != item.new.data.get(ATTACHMENTS))


def _condition_fields(condition: Any) -> set[str]:
    """Field api_names named anywhere in a notification_condition's field_selection."""
    found: set[str] = set()
    stack = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            f = node.get("field")
            if isinstance(f, dict) and isinstance(f.get("api_name"), str):
                found.add(f["api_name"])
            stack.extend(v for k, v in node.items() if k != "field")
    return found


def callback_body(channel: Channel, module: Module, event: str, items: Sequence[Item],
                  now: datetime) -> dict[str, Any]:
    """Zoho's callback: query_params of notify_url, module, resource_uri, ids,
    affected_fields (per updated record, the fields the write changed), operation,
    channel_id, token, server_time, and affected_values when asked."""
    changed = {str(i.new.id): _changed(i) for i in items} if event == "edit" else {}
    body: dict[str, Any] = {
        "server_time": epoch_ms(now),
        "query_params": dict(parse_qsl(urlsplit(channel.notify_url).query)),
        "module": module.api_name, "resource_uri": channel.resource_uri,
        "ids": [str(i.new.id) for i in items],
        "affected_fields": [{rid: names} for rid, names in changed.items()],
        "operation": CALLBACK_OPERATION[event], "channel_id": channel.channel_id,
        "token": channel.token}
    if channel.return_affected_field_values:
        values = []
        for i in items:
            names = (list(channel.fields) if channel.fields
                     else changed.get(str(i.new.id)) or list(i.new.data))
            values.append({"record_id": str(i.new.id),
                           "values": {n: (i.new.data.get(n) if n != "Owner"
                                          else {"id": str(i.new.owner_id)}) for n in names}})
        body["affected_values"] = values
    return body


def related_callback_body(channel: Channel, module: Module, parent_ids: Sequence[int],
                          now: datetime) -> dict[str, Any]:
    """A related action (a note, attachment, link or other record pointing at the watched
    record was written): an `update` of the parents whose own fields did not change. Zoho
    documents the flag but not this body; Corral's choice (COMPATIBILITY.md)."""
    ids = [str(i) for i in parent_ids]
    body: dict[str, Any] = {
        "server_time": epoch_ms(now),
        "query_params": dict(parse_qsl(urlsplit(channel.notify_url).query)),
        "module": module.api_name, "resource_uri": channel.resource_uri, "ids": ids,
        "affected_fields": [{rid: []} for rid in ids], "operation": "update",
        "channel_id": channel.channel_id, "token": channel.token}
    if channel.return_affected_field_values:
        body["affected_values"] = [{"record_id": rid, "values": {}} for rid in ids]
    return body


@dataclass(frozen=True)
class _Parents:
    """A module records of the batch point at: its channels with notify_on_related_action
    and which of the pointed-at ids are live records."""

    module: Module
    channels: list[Channel]
    live: set[int]


def _lookups(module: Module) -> list[Field]:
    return [f for f in module.fields if f.data_type == "lookup" and f.lookup_module]


def _pointed_at(lookups: list[Field], data: dict[str, Any]) -> list[tuple[str, int]]:
    """(module api_name, id) of every record the lookups of `data` name."""
    out: list[tuple[str, int]] = []
    for f in lookups:
        value = data.get(f.api_name)
        if value and str(value).isdigit():
            out.append((lookup_target(f, data), int(value)))
    return out


class InstantNotifications(Step):
    """Effects: one outbox row per live channel watching the module and each operation, and
    one per live channel of a parent module (notify_on_related_action) the batch's records
    point at through their lookups."""

    name = "instant_notifications"
    ops = frozenset(OPERATIONS)

    def __init__(self, registry: Registry) -> None:
        self.repo = NotificationRepository()
        self.registry = registry

    def prepare(self, tx: Tx, batch: Batch) -> None:
        batch.memo[CHANNELS] = self.repo.active_for_module(tx, batch.module.id, batch.now)
        batch.memo[RELATED] = self._parents(tx, batch)

    def _parents(self, tx: Tx, batch: Batch) -> dict[str, _Parents]:
        """Per parent module with related-action channels, which named parents are live.
        No query when the batch's records name no parent, one for the channels, and one per
        parent module that has such a channel. Parents are read before the batch writes,
        after earlier batches of the transaction: a note deleted with its parent (a follow-up
        of the parent's delete) does not announce the deleted parent."""
        lookups = _lookups(batch.module)
        if not lookups:
            return {}
        wanted: dict[str, set[int]] = {}
        for p in batch.plans:
            if p.checked.error is None:
                for name, rid in _pointed_at(lookups, p.checked.values):
                    wanted.setdefault(name, set()).add(rid)
        for rec in batch.current.values():  # targets, key holders, records to restore
            for name, rid in _pointed_at(lookups, rec.data):
                wanted.setdefault(name, set()).add(rid)
        modules = [m for m in (self.registry.get(n) for n in wanted) if m is not None]
        if not modules:
            return {}
        channels = self.repo.active_related(tx, [m.id for m in modules], batch.now)
        out: dict[str, _Parents] = {}
        records = RecordRepository()
        for m in modules:
            mine = [c for c in channels if c.module_id == m.id and "edit" in c.events
                    and not c.condition]  # a field condition: no watched field changed
            if mine:
                out[m.api_name] = _Parents(m, mine, records.live_ids(
                    tx, m.id, wanted[m.api_name]))
        return out

    def effects(self, accepted: list[Item], batch: Batch) -> FollowUp | None:
        follow = FollowUp()
        channels: list[Channel] = batch.memo.get(CHANNELS) or []
        if channels:
            by_event: dict[str, list[Item]] = {}
            for item in accepted:
                event = OPERATIONS.get(item.op)
                if event is not None:  # an operation no event names is announced to nobody
                    by_event.setdefault(event, []).append(item)
            for channel in channels:
                self._own(channel, by_event, batch, follow)
        related: dict[str, _Parents] = batch.memo.get(RELATED) or {}
        if related:
            self._related(related, accepted, batch, follow)
        return follow if follow.outbox else None

    @staticmethod
    def _own(channel: Channel, by_event: dict[str, list[Item]], batch: Batch,
             follow: FollowUp) -> None:
        """The channel's callbacks of the watched module's own writes, one per event."""
        for event, items in by_event.items():
            if event not in channel.events:
                continue
            watched = _condition_fields(channel.condition) if channel.condition else set()
            if watched and event == "edit":
                items = [i for i in items if watched & set(_changed(i))]
            if event == "edit" and not channel.notify_on_related_action:
                items = [i for i in items if not _attachments_only(i)]
            if not items:
                continue
            follow.outbox.append(OutboxEntry(
                channel.id, items[0].new.id, channel.notify_url,
                callback_body(channel, batch.module, event, items, batch.now),
                channel_key=channel.channel_id))

    @staticmethod
    def _related(related: dict[str, _Parents], accepted: list[Item], batch: Batch,
                 follow: FollowUp) -> None:
        """The parents each written record points at, before and after the write (a record
        moved from one parent to another is a related action of both)."""
        parents: dict[str, dict[int, None]] = {}
        lookups = _lookups(batch.module)
        for item in accepted:
            recs: list[StoredRecord] = [r for r in (item.old, item.new) if r is not None]
            for rec in recs:
                for name, rid in _pointed_at(lookups, rec.data):
                    if name in related and rid in related[name].live:
                        parents.setdefault(name, {})[rid] = None
        for name, ids in parents.items():
            target = related[name]
            for channel in target.channels:
                follow.outbox.append(OutboxEntry(
                    channel.id, next(iter(ids)), channel.notify_url,
                    related_callback_body(channel, target.module, list(ids), batch.now),
                    channel_key=channel.channel_id))


# ----------------------------------------------------------------------------- the service
@dataclass(frozen=True)
class Subscribed:
    """What one /actions/watch item did: the channel rows it wrote."""

    channels: list[Channel]


class NotificationService:
    def __init__(self, db: Database, registry: Registry, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.registry = registry
        self.clock = clock
        self.repo = NotificationRepository()

    # -- parsing
    def _events(self, raw: Any, at: str, principal: Principal) -> dict[Module, list[str]]:
        if raw is None or raw == []:
            raise MandatoryNotFound(details={"api_name": "events", "json_path": f"{at}.events"})
        if not isinstance(raw, list) or not all(isinstance(e, str) for e in raw):
            raise InvalidData("invalid data", {"api_name": "events",
                                               "json_path": f"{at}.events",
                                               "expected_data_type": "jsonarray"})
        if len(raw) > MAX_EVENTS:
            raise LimitExceeded("the number of events exceeds the limit",
                                {"api_name": "events", "json_path": f"{at}.events",
                                 "limit": MAX_EVENTS})
        out: dict[Module, list[str]] = {}
        for j, text in enumerate(raw):
            name, _, op = text.rpartition(".")
            module = self.registry.get(name) if name else None
            if module is None or op not in (*EVENTS, "all"):
                raise InvalidData("invalid data", {"api_name": "events",
                                                   "json_path": f"{at}.events[{j}]"})
            principal.require_module_permission(module.api_name, "view",
                                                "permission denied to watch the module")
            ops = out.setdefault(module, [])
            ops += [e for e in (EVENTS if op == "all" else (op,)) if e not in ops]
        return out

    def _expiry(self, raw: Any, at: str, version: str, now: datetime) -> datetime:
        if raw is None:
            return now + DEFAULT_EXPIRY
        try:
            parsed = datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise InvalidData("invalid data", {"api_name": "channel_expiry",
                                               "json_path": f"{at}.channel_expiry",
                                               "expected_data_type": "datetime"}) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        expiry = parsed.astimezone(UTC).replace(tzinfo=None)
        if expiry <= now:
            raise InvalidData("the channel expiry time must be in the future",
                              {"api_name": "channel_expiry",
                               "json_path": f"{at}.channel_expiry"})
        # Zoho: "If it is not specified or set for more than [the maximum], the default
        # expiry time is for one hour."
        return expiry if expiry - now <= max_expiry(version) else now + DEFAULT_EXPIRY

    @staticmethod
    def _channel_id(raw: Any, at: str) -> str:
        if raw is None or raw == "":
            raise MandatoryNotFound(details={"api_name": "channel_id",
                                             "json_path": f"{at}.channel_id"})
        text = str(raw).strip() if isinstance(raw, (int, str)) and not isinstance(
            raw, bool) else ""
        if not text.isdigit() or len(text) > 19:
            raise InvalidData("invalid data", {"api_name": "channel_id",
                                               "json_path": f"{at}.channel_id",
                                               "expected_data_type": "long"})
        return text

    @staticmethod
    def _notify_url(raw: Any, at: str) -> str:
        if raw is None or raw == "":
            raise MandatoryNotFound(details={"api_name": "notify_url",
                                             "json_path": f"{at}.notify_url"})
        parts = urlsplit(raw) if isinstance(raw, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc \
                or len(raw) > 2000:
            raise InvalidData("invalid data", {"api_name": "notify_url",
                                               "json_path": f"{at}.notify_url"})
        return str(raw)

    @staticmethod
    def _token(raw: Any, at: str) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str) or len(raw) > MAX_TOKEN:
            raise InvalidData("invalid data", {"api_name": "token", "json_path": f"{at}.token",
                                               "maximum_length": MAX_TOKEN})
        return raw

    @staticmethod
    def _flag(raw: Any, name: str, at: str, default: bool) -> bool:
        if raw is None:
            return default
        if not isinstance(raw, bool):
            raise InvalidData("invalid data", {"api_name": name, "json_path": f"{at}.{name}",
                                               "expected_data_type": "boolean"})
        return raw

    @staticmethod
    def _fields(raw: Any, module: Module, at: str) -> tuple[str, ...] | None:
        """`fields`: {"<Module>": ["Field", ...]} (or a plain list) of values to return."""
        if raw is None:
            return None
        names = raw.get(module.api_name) if isinstance(raw, dict) else raw
        if names is None:
            return None
        if not isinstance(names, list) or not all(
                isinstance(n, str) and n in module.by_name for n in names):
            raise InvalidData("invalid data", {"api_name": "fields", "json_path": f"{at}.fields"})
        return tuple(names)

    # -- operations
    def subscribe(self, item: Any, index: int, principal: Principal, *, version: str,
                  base_url: str, replace_events: bool = True) -> Subscribed:
        """POST (and PUT): create or replace the channel's rows for the modules of `events`."""
        at = f"$.watch[{index}]"
        if not isinstance(item, dict):
            raise InvalidData("invalid data", {"json_path": at, "expected_data_type": "jsonobject"})
        channel_id = self._channel_id(item.get("channel_id"), at)
        events = self._events(item.get("events"), at, principal)
        url = self._notify_url(item.get("notify_url"), at)
        token = self._token(item.get("token"), at)
        now = self.clock()
        expiry = self._expiry(item.get("channel_expiry"), at, version, now)
        related = self._flag(item.get("notify_on_related_action"), "notify_on_related_action",
                             at, True)
        values = self._flag(item.get("return_affected_field_values"),
                            "return_affected_field_values", at, False)
        rows = [Channel(id=0, channel_id=channel_id, module_id=m.id, events=tuple(ops),
                        notify_url=url, token=token, channel_expiry=expiry,
                        resource_uri=f"{base_url}/crm/{version}/{m.api_name}",
                        notify_on_related_action=related, return_affected_field_values=values,
                        fields=self._fields(item.get("fields"), m, at),
                        condition=item.get("notification_condition"),
                        created_by=principal.user.id, created_time=now)
                for m, ops in events.items()]
        with self.db.write() as tx:
            existing = self.repo.channels(tx, channel_ids=[channel_id])
            if not existing and self.repo.channel_count(tx) >= MAX_CHANNELS:
                raise LimitExceeded("the number of channels exceeds the limit",
                                    {"api_name": "channel_id", "json_path": f"{at}.channel_id",
                                     "limit": MAX_CHANNELS})
            if replace_events and existing:
                self.repo.delete(tx, channel_id=channel_id)
            ids = self.db.reserve_in(tx, len(rows))
            rows = [replace(r, id=i) for r, i in zip(rows, ids, strict=True)]
            for r in rows:
                self.repo.save(tx, r)
        return Subscribed(rows)

    def update(self, item: Any, index: int, principal: Principal, *, version: str,
               base_url: str, partial: bool) -> Subscribed:
        """PUT replaces a subscribed channel's details; PATCH changes only those given
        (channel_expiry renews), or with `_delete_events: true` unsubscribes the events."""
        at = f"$.watch[{index}]"
        if not isinstance(item, dict):
            raise InvalidData("invalid data", {"json_path": at, "expected_data_type": "jsonobject"})
        channel_id = self._channel_id(item.get("channel_id"), at)
        with self.db.read() as tx:
            existing = self.repo.channels(tx, channel_ids=[channel_id])
        if not existing:
            raise NotSubscribed(details={"api_name": "channel_id",
                                         "json_path": f"{at}.channel_id"})
        if not partial:
            return self.subscribe(item, index, principal, version=version, base_url=base_url)
        if item.get("_delete_events") is True:
            return self._unsubscribe_events(item, at, channel_id, existing, principal)
        return self._patch(item, at, existing, principal, version)

    def _patch(self, item: dict[str, Any], at: str, existing: list[Channel],
               principal: Principal, version: str) -> Subscribed:
        now = self.clock()
        changes: dict[str, Any] = {}
        if "notify_url" in item:
            changes["notify_url"] = self._notify_url(item["notify_url"], at)
        if "token" in item:
            changes["token"] = self._token(item["token"], at)
        if "channel_expiry" in item or not changes:
            changes["channel_expiry"] = self._expiry(item.get("channel_expiry"), at, version,
                                                     now)
        for name in ("notify_on_related_action", "return_affected_field_values"):
            if name in item:
                changes[name] = self._flag(item[name], name, at, False)
        if "notification_condition" in item:
            changes["condition"] = item["notification_condition"]
        events = self._events(item["events"], at, principal) if item.get("events") else {}
        by_module = {c.module_id: c for c in existing}
        rows = [replace(c, **changes) for c in existing]
        with self.db.write() as tx:
            new = [m for m in events if m.id not in by_module]
            ids = self.db.reserve_in(tx, len(new))
            template = rows[0]
            for m, i in zip(new, ids, strict=True):
                rows.append(replace(template, id=i, module_id=m.id, events=tuple(events[m]),
                                    resource_uri=template.resource_uri.rsplit("/", 1)[0]
                                    + f"/{m.api_name}", fields=None))
            rows = [replace(r, events=tuple(dict.fromkeys(
                        [*r.events, *events.get(self._module(r), [])])))
                    if r.module_id in by_module else r for r in rows]
            for r in rows:
                self.repo.save(tx, r)
        return Subscribed(rows)

    def _module(self, channel: Channel) -> Module:
        module = self.registry.by_id(channel.module_id)
        assert module is not None
        return module

    def _unsubscribe_events(self, item: dict[str, Any], at: str, channel_id: str,
                            existing: list[Channel], principal: Principal) -> Subscribed:
        events = self._events(item.get("events"), at, principal)
        kept: list[Channel] = []
        with self.db.write() as tx:
            for c in existing:
                drop = set(events.get(self._module(c), []))
                left = tuple(e for e in c.events if e not in drop)
                if not left:
                    self.repo.delete(tx, channel_id=channel_id, module_ids=[c.module_id])
                elif drop:
                    kept.append(replace(c, events=left))
                    self.repo.save(tx, kept[-1])
        return Subscribed(kept)

    def delete(self, channel_ids: Sequence[str]) -> None:
        with self.db.write() as tx:
            for cid in channel_ids:
                self.repo.delete(tx, channel_id=cid)

    def channels(self, *, channel_id: str | None = None, module: Module | None = None,
                 ) -> list[Channel]:
        with self.db.read() as tx:
            return self.repo.channels(
                tx, channel_ids=[channel_id] if channel_id is not None else None,
                module_id=module.id if module is not None else None)

    def channel_ids(self, raw: str | None) -> list[str]:
        """DELETE's `channel_ids` query parameter: comma-separated longs."""
        if not raw:
            raise RequiredParamMissing(details={"param_name": "channel_ids",
                                                "param": "channel_ids"})
        ids = [p.strip() for p in raw.split(",") if p.strip()]
        if not ids or not all(p.isdigit() and len(p) <= 19 for p in ids):
            raise InvalidData("invalid data", {"param_name": "channel_ids", "param": raw})
        return ids

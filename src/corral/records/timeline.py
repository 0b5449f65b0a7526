"""A record's timeline (Zoho's `__timeline`, issue 14 item 4), read from the change log.

Each write to the record is one event: the log entries it left share the record, the time,
the user, the request or job and the source, and arrive together (one batch flushes them in
one statement). An insert's event carries the whole record as `added`; an update's, every
changed field with its old and new value; a delete, restore or conversion says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from corral.errors import InvalidData
from corral.metadata.model import Module
from corral.metadata.registry import Registry
from corral.records.attachments import FIELD as ATTACHMENTS_FIELD
from corral.records.notes import MAX_NOTES, NOTES, has_notes
from corral.storage.database import Database, Tx
from corral.storage.filters import And, Column, Cond, JsonField, Op
from corral.storage.repositories.attachments import AttachmentRepository
from corral.storage.repositories.automation_rules import AutomationRuleRepository
from corral.storage.repositories.change_log import ChangeEntry, ChangeLogRepository
from corral.storage.repositories.record_search import RecordSearch
from corral.storage.repositories.records import RecordRepository, StoredRecord

ACTIONS = {"insert": "added", "update": "updated", "delete": "deleted", "restore": "restored",
           "convert": "converted",
           # Zoho has no un-convert (Corral's revert of a conversion): its field changes show
           "unconvert": "updated"}
MAX_PER_PAGE = 200
FILTER_FIELDS = frozenset({"action", "source", "done_by", "audited_time"})
COMPARATORS = frozenset({"equal", "not_equal", "in", "not_in", "between"})


@dataclass(frozen=True)
class FieldChange:
    api_name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Related:
    """The related record an event is about: a note or attachment added to or removed from
    the record (Zoho's `related_record`)."""

    id: int
    name: str
    module: str
    module_id: int | None = None


@dataclass
class Event:
    """One write to the record, as the timeline shows it."""

    id: int
    at: datetime
    action: str
    user_id: int
    source: str
    request_id: str | None
    job_id: int | None
    automation: str | None
    changes: list[FieldChange] = field(default_factory=list)
    related: Related | None = None


@dataclass(frozen=True)
class Page:
    events: list[Event]
    record: StoredRecord
    rule_names: dict[str, str]  # "workflow:<id>" -> the rule's name
    page: int
    per_page: int
    more: bool


def _same_write(a: ChangeEntry, b: ChangeEntry) -> bool:
    return (a.at, a.user_id, a.request_id, a.job_id, a.source) == (
        b.at, b.user_id, b.request_id, b.job_id, b.source) and b.operation == "update"


def _attachment_events(e: ChangeEntry) -> list[Event]:
    """An update of the record's attachment list as one event per attachment added or
    removed (names filled in later from the attachments still stored)."""
    old = {str(x) for x in e.old_value or []}
    new = {str(x) for x in e.new_value or []}
    return [Event(id=int(a), at=e.at, action=action, user_id=e.user_id,
                  source=e.source or "api", request_id=e.request_id, job_id=e.job_id,
                  automation=e.automation, related=Related(int(a), a, "Attachments"))
            for action, ids in (("added", new - old), ("deleted", old - new))
            for a in sorted(ids) if a.isdigit()]


def events_of(entries: Sequence[ChangeEntry]) -> list[Event]:
    """Fold the record's log entries (oldest first) into one event per write."""
    out: list[Event] = []
    prev: ChangeEntry | None = None
    for e in entries:
        if e.operation == "update" and e.field == ATTACHMENTS_FIELD:
            out += _attachment_events(e)
            prev = None
            continue
        if prev is None or not _same_write(prev, e) or out[-1].related is not None \
                or out[-1].action in (
                "deleted", "restored", "converted"):
            out.append(Event(id=e.id or 0, at=e.at, action=ACTIONS.get(e.operation, e.operation),
                             user_id=e.user_id, source=e.source or "api",
                             request_id=e.request_id, job_id=e.job_id,
                             automation=e.automation))
        event = out[-1]
        if e.operation == "insert" and isinstance(e.new_value, dict):
            event.changes += [FieldChange(k, None, val) for k, val in e.new_value.items()
                              if val is not None]
        elif e.operation == "update" and e.field is not None:
            if event.action == "added":  # set by the same write (workflow, approval state)
                event.changes = [c for c in event.changes if c.api_name != e.field]
            event.changes.append(FieldChange(e.field, e.old_value, e.new_value))
            event.automation = event.automation or e.automation
        prev = e
    return out


def _utc(raw: Any) -> datetime | None:
    """An ISO date-time with offset as naive UTC (as stored), or None."""
    if not isinstance(raw, str):
        return None
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo is not None else None


def _condition(raw: Any) -> Callable[[Event], bool]:
    if not isinstance(raw, dict):
        raise InvalidData("the relation name given seems to be invalid",
                          {"param_name": "filters"})
    if "group" in raw:
        group, op = raw.get("group"), str(raw.get("group_operator", "and")).lower()
        if not isinstance(group, list) or not group or op not in ("and", "or"):
            raise InvalidData("the relation name given seems to be invalid",
                              {"param_name": "filters"})
        parts = [_condition(g) for g in group]
        combine = all if op == "and" else any
        return lambda ev: combine(p(ev) for p in parts)
    name = (raw.get("field") or {}).get("api_name") if isinstance(raw.get("field"), dict) \
        else None
    comparator, value = raw.get("comparator"), raw.get("value")
    if name not in FILTER_FIELDS or comparator not in COMPARATORS:
        raise InvalidData("the relation name given seems to be invalid",
                          {"param_name": "filters"})
    values = value if isinstance(value, list) else [value]
    if name == "audited_time":
        bounds = [_utc(x) for x in values]
        if comparator != "between" or len(bounds) != 2 or None in bounds:
            raise InvalidData("the relation name given seems to be invalid",
                              {"param_name": "filters"})
        lo, hi = bounds
        return lambda ev: lo <= ev.at <= hi  # type: ignore[operator]

    def of(ev: Event) -> str:
        return {"action": ev.action, "source": ev.source, "done_by": str(ev.user_id)}[name]

    wanted = {str(x) for x in values}
    negate = comparator in ("not_equal", "not_in")
    return lambda ev: (of(ev) in wanted) != negate


def parse_filters(raw: str | None) -> Callable[[Event], bool] | None:
    """Zoho's criteria JSON over action, source, done_by (user id) and audited_time."""
    if raw is None or raw == "":
        return None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidData("the relation name given seems to be invalid",
                          {"param_name": "filters"}) from None
    return _condition(doc)


def _note_events(notes: Sequence[StoredRecord], module_id: int) -> list[Event]:
    """A note's addition (and its deletion, if deleted) as events of its parent record."""
    out = []
    for n in notes:
        title = n.data.get("Note_Title") or str(n.data.get("Note_Content") or "")[:50]
        related = Related(n.id, str(title or n.id), NOTES, module_id)
        out.append(Event(id=n.id, at=n.created_time, action="added", user_id=n.created_by,
                         source="api", request_id=None, job_id=None, automation=None,
                         related=related))
        if n.deleted_time is not None:
            out.append(Event(id=n.id, at=n.deleted_time, action="deleted",
                             user_id=n.deleted_by or n.modified_by, source="api",
                             request_id=None, job_id=None, automation=None, related=related))
    return out


class TimelineService:
    def __init__(self, db: Database, registry: Registry | None = None) -> None:
        self.db = db
        self.registry = registry
        self.log = ChangeLogRepository()
        self.records = RecordRepository()
        self.search = RecordSearch()
        self.attachments = AttachmentRepository()

    def _related(self, tx: Tx, module: Module, record_id: int,
                 events: list[Event]) -> list[Event]:
        """Name the attachments of `events` and add the record's notes (live and deleted)."""
        ids = [e.related.id for e in events if e.related and e.related.module == "Attachments"]
        stored = self.attachments.by_ids(tx, record_id, ids)
        for e in events:
            if e.related and e.related.id in stored:
                e.related = Related(e.related.id, stored[e.related.id].file_name
                                    or str(e.related.id), "Attachments")
        notes = self.registry.get(NOTES) if self.registry is not None else None
        if notes is None or not has_notes(module):
            return events
        where = And((Cond(Column("module_id"), Op.EQ, (notes.id,)),
                     Cond(JsonField("$se_module"), Op.EQ, (module.api_name,)),
                     Cond(JsonField("Parent_Id"), Op.EQ, (str(record_id),))))
        found, _ = self.search.fetch(tx, where, sort_by="id", sort_order="asc", offset=0,
                                     limit=MAX_NOTES)
        merged = events + _note_events(found, notes.id)
        merged.sort(key=lambda e: e.at)  # stable: a write's own order is kept
        return merged

    def page(self, module: Module, record_id: int, *, page: int = 1,
             per_page: int = MAX_PER_PAGE, newest_first: bool = True,
             keep: Callable[[Event], bool] | None = None) -> Page:
        with self.db.read() as tx:
            rec = self.records.load(tx, module.id, [record_id], live_only=False).get(record_id)
            if rec is None:
                raise InvalidData("the related id given seems to be invalid",
                                  {"resource_path_index": 1})
            events = self._related(tx, module, record_id,
                                   events_of(self.log.of_record(tx, record_id)))
            rules = {f"{r.kind}:{r.id}": r.name for kind in ("workflow", "approval")
                     for r in AutomationRuleRepository().rules_of_kind(tx, module.id, kind)}
        if keep is not None:
            events = [e for e in events if keep(e)]
        if newest_first:
            events.reverse()
        start = (page - 1) * per_page
        return Page(events[start:start + per_page], rec, rules, page, per_page,
                    more=len(events) > start + per_page)


# ----------------------------------------------------------------------------- page tokens
# Zoho pages a long timeline with `page_token` (from `info.next_page_token` /
# `previous_page_token`); `per_page` is given on the first page only. The token is an opaque,
# URL-safe text naming the record, the page, its size, the order and a digest of the filters;
# a token that does not decode, or was made for another record, order or filter, is refused.
@dataclass(frozen=True)
class PageAt:
    page: int
    per_page: int


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_token(record_id: int, page: int, per_page: int, order: str, filters: str) -> str:
    doc = {"r": record_id, "p": page, "n": per_page, "o": order, "f": _digest(filters)}
    return base64.urlsafe_b64encode(orjson.dumps(doc)).decode().rstrip("=")


def read_token(token: str, record_id: int, order: str, filters: str) -> PageAt:
    bad = InvalidData(details={"param_name": "page_token"})
    try:
        doc = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise bad from None
    if not isinstance(doc, dict) or doc.get("r") != record_id or doc.get("o") != order \
            or doc.get("f") != _digest(filters):
        raise bad
    page, per_page = doc.get("p"), doc.get("n")
    if not isinstance(page, int) or not isinstance(per_page, int) or page < 1 \
            or not 1 <= per_page <= MAX_PER_PAGE:
        raise bad
    return PageAt(page, per_page)

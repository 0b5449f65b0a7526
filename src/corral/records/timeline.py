"""A record's timeline (Zoho's `__timeline`, issue 14 item 4), read from the change log.

Each write to the record is one event: the log entries it left share the record, the time,
the user, the request or job and the source, and arrive together (one batch flushes them in
one statement). An insert's event carries the whole record as `added`; an update's, every
changed field with its old and new value; a delete, restore or conversion says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from corral.errors import InvalidData
from corral.metadata.model import Module
from corral.storage.database import Database
from corral.storage.repositories.automation_rules import AutomationRuleRepository
from corral.storage.repositories.change_log import ChangeEntry, ChangeLogRepository
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


def events_of(entries: Sequence[ChangeEntry]) -> list[Event]:
    """Fold the record's log entries (oldest first) into one event per write."""
    out: list[Event] = []
    prev: ChangeEntry | None = None
    for e in entries:
        if prev is None or not _same_write(prev, e) or out[-1].action in (
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


class TimelineService:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.log = ChangeLogRepository()
        self.records = RecordRepository()

    def page(self, module: Module, record_id: int, *, page: int = 1,
             per_page: int = MAX_PER_PAGE, newest_first: bool = True,
             keep: Callable[[Event], bool] | None = None) -> Page:
        with self.db.read() as tx:
            rec = self.records.load(tx, module.id, [record_id], live_only=False).get(record_id)
            if rec is None:
                raise InvalidData("the related id given seems to be invalid",
                                  {"resource_path_index": 1})
            events = events_of(self.log.of_record(tx, record_id))
            rules = {f"{r.kind}:{r.id}": r.name for kind in ("workflow", "approval")
                     for r in AutomationRuleRepository().rules_of_kind(tx, module.id, kind)}
        if keep is not None:
            events = [e for e in events if keep(e)]
        if newest_first:
            events.reverse()
        start = (page - 1) * per_page
        return Page(events[start:start + per_page], rec, rules, page, per_page,
                    more=len(events) > start + per_page)

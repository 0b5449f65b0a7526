"""Record reads: lists, search, counts, the recycle bin, custom views.

Criteria are checked against the module's fields (field exists, operator allowed for its type,
values parse) and become a neutral filter (`corral.storage.filters`) that the storage layer
compiles to SQL. Search (`mode="search"`) follows Zoho's documented quirk that `equals` on text
fields behaves like "contains"; custom views (`mode="view"`) compare exactly. Text comparisons are
case-insensitive on both databases.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from corral.auth.service import Principal, User, user_from_stored
from corral.errors import InvalidQuery, NoPermission
from corral.metadata.model import Field, Module
from corral.metadata.registry import Registry
from corral.metadata.text_index import contains
from corral.records import criteria as cr
from corral.records.service import RecordService
from corral.records.validate import format_utc, parse_record_id
from corral.records.writes import lookup_target
from corral.storage.database import Database
from corral.storage.filters import (
    Always,
    And,
    Column,
    Cond,
    Filter,
    JsonField,
    Never,
    Not,
    Op,
    Operand,
    Or,
    Value,
    column,
)
from corral.storage.repositories.auth import AuthRepository
from corral.storage.repositories.change_log import ChangeEntry, ChangeLogRepository
from corral.storage.repositories.jobs import JobRepository
from corral.storage.repositories.record_search import RecordSearch, SortColumn
from corral.storage.repositories.records import RecordRepository, StoredRecord
from corral.storage.repositories.secrets import SecretRepository
from corral.storage.repositories.tags import TagRepository
from corral.storage.repositories.views import StoredView, ViewRepository

TEXT_TYPES = frozenset({"text", "email", "phone", "website", "textarea"})
NUMBER_TYPES = frozenset({"integer", "bigint", "double", "currency", "percent", "decimal"})
ALLOWED_OPERATORS: dict[str, frozenset[str]] = {
    **{k: frozenset({"equals", "not_equal", "starts_with", "in"}) for k in TEXT_TYPES},
    "textarea": frozenset({"equals", "not_equal", "starts_with"}),
    **{k: frozenset({"equals", "not_equal", "greater_equal", "greater_than", "less_equal",
                     "less_than", "between", "in"}) for k in NUMBER_TYPES | {"date", "datetime"}},
    "boolean": frozenset({"equals", "not_equal"}),
    "picklist": frozenset({"equals", "not_equal", "in"}),
    "multiselectpicklist": frozenset({"equals", "not_equal", "in", "starts_with"}),
    "lookup": frozenset({"equals", "not_equal", "in"}),
    "ownerlookup": frozenset({"equals", "not_equal", "in"}),
}
# ASCII only: float() also takes "nan", "inf", "1_000" and non-ASCII digits.
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
INTEGER_RE = re.compile(r"[+-]?[0-9]+")
ONE_SECOND = timedelta(seconds=1)
# SQLite refuses LIKE patterns over 50,000 bytes (a compile-time cap that setlimit cannot
# raise); escaped, a value takes at most 12 bytes a character (a JSON-escaped surrogate pair),
# so a value up to this length always fits. Search itself caps values at 255 (criteria.py).
MAX_LIKE_VALUE = 4000
# sort_by as the API names it -> the record column.
SORTABLE: dict[str, SortColumn] = {"id": "id", "Created_Time": "created_time",
                                   "Modified_Time": "modified_time"}
# Search operator -> neutral operator, for exact comparisons (numbers, dates, ids, lookups).
_COMPARE: dict[str, Op] = {
    "equals": Op.EQ, "not_equal": Op.NE, "in": Op.IN, "greater_than": Op.GT,
    "greater_equal": Op.GE, "less_than": Op.LT, "less_equal": Op.LE, "between": Op.BETWEEN,
    "starts_with": Op.STARTS_WITH,
}


@dataclass(frozen=True)
class Filters:
    converted: str = "false"  # true | false | both
    approved: str = "true"  # true | false | both


def _bad(reason: str, **details: Any) -> InvalidQuery:
    return InvalidQuery(details={"reason": reason, **details})


class RecordQuery:
    def __init__(self, db: Database, registry: Registry, service: RecordService) -> None:
        self.db = db
        self.registry = registry
        self.service = service
        self.search = RecordSearch()
        self.records = RecordRepository()
        self.stored_views = ViewRepository()
        self.auth_users = AuthRepository()
        self.secrets = SecretRepository()
        self._page_secret: bytes | None = None
        self.tags = TagRepository()
        self.change_log = ChangeLogRepository()

    # ----------------------------------------------------------------- criteria compilation
    def compile(self, module: Module, criteria: cr.Criteria, *, tz: ZoneInfo,
                mode: str = "search") -> Filter:
        """The records `criteria` select; an `InvalidQuery` names the field or value at fault."""
        if isinstance(criteria, cr.Group):
            parts = tuple(self.compile(module, c, tz=tz, mode=mode) for c in criteria.items)
            return And(parts) if criteria.operator == "and" else _any_in_module(module, parts)
        return self._condition(module, criteria, tz=tz, mode=mode)

    def _condition(self, module: Module, c: cr.Condition, *, tz: ZoneInfo,
                   mode: str) -> Filter:
        if c.field == "id":
            return self._id_condition(c)
        if c.field == "Tag":
            return self._tag_condition(module, c)
        f = module.field(c.field)
        if f is None:
            raise _bad("the api name given seems to be invalid", api_name=c.field)
        allowed = ALLOWED_OPERATORS.get(f.data_type, frozenset())
        if c.operator not in allowed:
            raise _bad("invalid operator found", api_name=f.api_name, operator=c.operator)
        values = list(c.value) if isinstance(c.value, tuple) else [c.value]
        if any("\x00" in x for x in values):  # PostgreSQL refuses NUL; SQLite's LIKE stops at it
            raise _bad("invalid value", api_name=f.api_name)
        if any(len(x) > MAX_LIKE_VALUE for x in values):  # stored views skip search's cap
            raise _bad("value too long", api_name=f.api_name, maximum_length=MAX_LIKE_VALUE)
        if f.column is not None:
            return self._column_condition(f, c.operator, values, tz)
        if f.data_type in NUMBER_TYPES | {"boolean", "date", "datetime"}:
            return self._typed_condition(f, c.operator, values, tz)
        return self._text_condition(module, f, c.operator, values, mode)

    def _tag_condition(self, module: Module, c: cr.Condition) -> Filter:
        """`Tag` (records hold tag ids): equals / not_equal / in by tag name, ignoring case;
        a name no tag has selects nothing."""
        values = c.value if isinstance(c.value, tuple) else (c.value,)
        if c.operator not in {"equals", "not_equal", "in"}:
            raise _bad("invalid operator found", api_name="Tag", operator=c.operator)
        wanted = {str(x).strip().lower() for x in values}
        with self.db.read() as tx:
            ids = tuple(str(t.id) for t in self.tags.of_module(tx, module.id)
                        if t.name.lower() in wanted)
        has = Cond(JsonField("Tag"), Op.HAS_ITEM, ids) if ids else Never()
        if c.operator == "not_equal":
            return Or((Cond(JsonField("Tag"), Op.IS_NULL), Not(has))) if ids else Always()
        return has

    @staticmethod
    def _id_condition(c: cr.Condition) -> Filter:
        values = c.value if isinstance(c.value, tuple) else (c.value,)
        ids = [parse_record_id(x) for x in values]
        if any(i is None for i in ids) or c.operator not in {"equals", "not_equal", "in"}:
            raise _bad("invalid value or operator for id", api_name="id")
        return Cond(Column("id"), Op.NOT_IN if c.operator == "not_equal" else Op.IN,
                    tuple(i for i in ids if i is not None))

    def _typed_condition(self, f: Field, op: str, values: list[str], tz: ZoneInfo) -> Filter:
        """Numbers, booleans, dates and datetimes kept in the record's JSON."""
        dt = f.data_type
        if dt == "bigint":  # up to 18 digits: compare exactly, not as floats
            return _compare(JsonField(f.api_name, "bigint"), op,
                            [self._integer(f, x) for x in values])
        if dt in NUMBER_TYPES:
            return _compare(JsonField(f.api_name, "float"), op,
                            [self._number(f, x) for x in values])
        if dt == "boolean":
            if values[0].lower() not in {"true", "false"}:
                raise _bad("invalid value", api_name=f.api_name)
            return Cond(JsonField(f.api_name, "boolean"), Op.EQ if op == "equals" else Op.NE,
                        (values[0].lower() == "true",))
        if dt == "date":
            try:  # stored as yyyy-MM-dd; compare the same spelling ("2024-1-5" is not one)
                days = [date.fromisoformat(x.strip()).isoformat() for x in values]
            except ValueError:
                raise _bad("invalid value", api_name=f.api_name) from None
            return _compare(JsonField(f.api_name), op, days)
        return _compare(JsonField(f.api_name), op,  # datetime, stored as UTC ISO text
                        [format_utc(self._datetime(f, x, tz)) for x in values])

    @staticmethod
    def _text_condition(module: Module, f: Field, op: str, values: list[str],
                        mode: str) -> Filter:
        """Text, picklists, multi-select picklists and lookups kept in the record's JSON."""
        field = JsonField(f.api_name)
        dt = f.data_type
        if dt == "multiselectpicklist":
            if op == "starts_with":
                return Cond(field, Op.HAS_ITEM_PREFIX, (values[0],))
            matches = Cond(field, Op.HAS_ITEM, tuple(values))
            return matches if op != "not_equal" else Or((Cond(field, Op.IS_NULL),
                                                         Not(matches)))
        if dt in {"lookup", "ownerlookup"}:
            return _compare(field, op, values)
        if op == "equals":
            if mode == "search" and dt != "picklist":
                return contains(module, [f], values[0])
            return Cond(field, Op.I_EQ, (values[0],))
        if op == "not_equal":
            return Or((Cond(field, Op.IS_NULL), Not(Cond(field, Op.I_EQ, (values[0],)))))
        if op == "starts_with":
            return Cond(field, Op.I_STARTS_WITH, (values[0],))
        return Cond(field, Op.I_IN, tuple(values))

    def _column_condition(self, f: Field, op: str, values: list[str], tz: ZoneInfo) -> Filter:
        col = column(f.column or "")
        if f.data_type == "datetime":
            stamps = [self._datetime(f, x, tz).replace(tzinfo=None, microsecond=0)
                      for x in values]
            return _compare_seconds(col, op, stamps)
        ids = [parse_record_id(x) for x in values]
        if any(i is None for i in ids):
            raise _bad("invalid value", api_name=f.api_name)
        return _compare(col, op, [i for i in ids if i is not None])

    @staticmethod
    def _number(f: Field, text: str) -> float:
        value = float(text) if NUMBER_RE.fullmatch(text.strip()) else math.nan
        if not math.isfinite(value):
            raise _bad("invalid value", api_name=f.api_name)
        return value

    @staticmethod
    def _integer(f: Field, text: str) -> int:
        ok = INTEGER_RE.fullmatch(text.strip()) and len(text.strip()) <= 20
        value = int(text) if ok else 2**63
        if not -2**63 < value < 2**63:
            raise _bad("invalid value", api_name=f.api_name)
        return value

    @staticmethod
    def _datetime(f: Field, text: str, tz: ZoneInfo) -> datetime:
        """Aware UTC; a value without offset is in the user's time zone."""
        try:
            parsed = datetime.fromisoformat(text.strip())
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
            utc = parsed.astimezone(UTC)
            if utc.replace(tzinfo=None) > datetime.max - ONE_SECOND:  # whole-second ranges
                raise OverflowError
        except (ValueError, OverflowError):
            raise _bad("invalid value", api_name=f.api_name) from None
        return utc

    # ----------------------------------------------------------------- base filters
    @staticmethod
    def base_where(module: Module, filters: Filters) -> list[Filter]:
        """The module's live records, converted and approved as `filters` ask (all must hold)."""
        return [Cond(Column("module_id"), Op.EQ, (module.id,)),
                *RecordQuery.state_where(filters)]

    @staticmethod
    def state_where(filters: Filters) -> list[Filter]:
        """Live records of any module, converted and approved as `filters` ask."""
        where: list[Filter] = [Cond(Column("deleted_time"), Op.IS_NULL)]
        if filters.converted == "false":
            where.append(Cond(Column("converted"), Op.EQ, (False,)))
        elif filters.converted == "true":
            where.append(Cond(Column("converted"), Op.EQ, (True,)))
        approved = Cond(Column("approval_state"), Op.EQ, ("approved",))
        if filters.approved == "true":
            where.append(approved)
        elif filters.approved == "false":
            where.append(Not(approved))
        return where

    @staticmethod
    def ids_where(ids: list[int]) -> Filter:
        """The records with these ids (`ids=` of the list API)."""
        return Cond(Column("id"), Op.IN, tuple(ids))

    @staticmethod
    def modified_since_where(since: datetime) -> Filter:
        """Records modified at or after `since` (naive UTC; If-Modified-Since)."""
        return Cond(Column("modified_time"), Op.GE, (since,))

    def special_where(self, module: Module, *, email: str | None = None,
                      phone: str | None = None, word: str | None = None) -> Filter:
        """`email=` (every email field), `phone=` (every phone field), `word=` (text fields)."""
        if "\x00" in (email or phone or word or ""):  # no stored value holds NUL
            return Never()
        if len(email or phone or word or "") > MAX_LIKE_VALUE:
            raise _bad("value too long", maximum_length=MAX_LIKE_VALUE)
        if email is not None:
            return _any_in_module(module, tuple(
                Cond(JsonField(f.api_name), Op.I_EQ, (email.strip(),))
                for f in module.fields if f.data_type == "email"))
        if phone is not None:
            return _contains_any(module, [f for f in module.fields if f.data_type == "phone"],
                                 phone.strip())
        assert word is not None
        return _contains_any(module, [f for f in module.fields
                                      if f.data_type in TEXT_TYPES | {"picklist"}
                                      and f.column is None], word)

    # ----------------------------------------------------------------- queries
    def fetch(self, module: Module, where: list[Filter], *, offset: int, limit: int,
              sort_by: str = "id", sort_order: str = "desc",
              ) -> tuple[list[StoredRecord], bool]:
        """One page of the records all of `where` select; whether more follow."""
        with self.db.read() as tx:
            return self.search.fetch(tx, And(tuple(where)), sort_by=SORTABLE[sort_by],
                                     sort_order="desc" if sort_order == "desc" else "asc",
                                     offset=offset, limit=limit)

    def fetch_from(self, module: Module, where: list[Filter], *, sort_by: str, sort_order: str,
                   key: str | int, record_id: int, forward: bool, limit: int,
                   ) -> tuple[list[StoredRecord], bool]:
        """One page of keyset pagination: the `limit` records that follow (`forward`) or
        precede the row (`key`, `record_id`) in the listing's order, in that order; whether
        more lie beyond them in the direction of travel."""
        after = _keyset(SORTABLE[sort_by], key, record_id,
                        descending=(sort_order == "desc") == forward)
        order = sort_order if forward else ("asc" if sort_order == "desc" else "desc")
        recs, more = self.fetch(module, [*where, after], offset=0, limit=limit,
                                sort_by=sort_by, sort_order=order)
        return (recs if forward else recs[::-1]), more

    @staticmethod
    def sort_key(rec: StoredRecord, sort_by: str) -> str | int:
        """The value a page token keeps for a row: its id or its time as ISO text."""
        column_name = SORTABLE[sort_by]
        if column_name == "id":
            return rec.id
        stamp: datetime = rec.created_time if column_name == "created_time" else rec.modified_time
        return stamp.isoformat()

    def forget_secret(self) -> None:
        """Read the page-token key again (the database was restored from a snapshot)."""
        self._page_secret = None

    def page_secret(self) -> bytes:
        """The HMAC key page tokens are signed with: made once per database, then cached."""
        if self._page_secret is None:
            with self.db.write() as tx:
                value = self.secrets.get_or_create(tx, "page_token", secrets.token_hex(32))
            self._page_secret = bytes.fromhex(value)
        return self._page_secret

    def count(self, where: list[Filter]) -> int:
        with self.db.read() as tx:
            return self.search.count(tx, And(tuple(where)))

    def counts_by_module(self, filters: Filters) -> dict[int, int]:
        """Live records per module id (as `base_where` selects them), one query for all."""
        with self.db.read() as tx:
            return self.search.count_by_module(tx, And(tuple(self.state_where(filters))))

    def get_one(self, module: Module, record_id: int) -> StoredRecord | None:
        with self.db.read() as tx:
            return self.records.load(tx, module.id, [record_id]).get(record_id)

    def history(self, record_id: int) -> list[ChangeEntry]:
        """Every change-log entry of a record, oldest first (the console's history)."""
        with self.db.read() as tx:
            return self.change_log.of_record(tx, record_id)

    def writes_per_hour(self, since: datetime, modules: Sequence[Module],
                        ) -> list[tuple[str, str, int]]:
        """Change-log rows of these modules per UTC hour and source since `since` (the
        console's dashboard)."""
        with self.db.read() as tx:
            return self.change_log.writes_per_hour(tx, since, [m.id for m in modules])

    def jobs_per_hour(self, since: datetime, modules: Sequence[Module],
                      ) -> list[tuple[str, str, int, int]]:
        """Jobs of these modules finished per UTC hour and kind since `since`, with their
        records (the console's dashboard)."""
        with self.db.read() as tx:
            return JobRepository().finished_per_hour(tx, since, [m.id for m in modules])

    def deleted(self, module: Module, *, offset: int, limit: int,
                ) -> tuple[list[StoredRecord], bool]:
        with self.db.read() as tx:
            return self.search.deleted(tx, module.id, offset=offset, limit=limit)

    def view(self, module: Module, cvid: int) -> StoredView | None:
        with self.db.read() as tx:
            return self.stored_views.get(tx, module.id, cvid)

    def visible_view(self, module: Module, cvid: object,
                     principal: Principal) -> StoredView | None:
        """The custom view `cvid` of `module` if the user may use it; None when unknown."""
        vid = parse_record_id(cvid)
        view = self.view(module, vid) if vid else None
        if view is not None and not view.shared and view.owner_id not in (None,
                                                                          principal.user.id):
            raise NoPermission("Customview not accessible")
        return view

    def view_condition(self, module: Module, view: StoredView, principal: Principal,
                       ) -> Filter:
        """The records a custom view selects (system views: all, converted, the user's own)."""
        if view.system_name == "CONVERTEDVIEWS":
            return Cond(Column("converted"), Op.EQ, (True,))
        parts: list[Filter] = []
        if view.system_name == "MYVIEWS":
            parts.append(Cond(Column("owner_id"), Op.EQ, (principal.user.id,)))
        if view.criteria:
            crit = cr.criteria_from_v8(orjson.loads(view.criteria))
            parts.append(self.compile(module, crit, tz=self.principal_tz(principal),
                                      mode="view"))
        return And(tuple(parts))

    def views(self, module: Module) -> list[StoredView]:
        with self.db.read() as tx:
            return self.stored_views.of_module(tx, module.id)

    # ----------------------------------------------------------------- rendering support
    def users(self) -> dict[int, User]:
        with self.db.read() as tx:
            stored = self.auth_users.all_users(tx)
        return {u.id: user_from_stored(u) for u in stored}

    def users_of(self, ids: Collection[int]) -> dict[int, User]:
        """Only the users with these ids (a write's answer names its records' writers)."""
        with self.db.read() as tx:
            stored = self.auth_users.users_by_ids(tx, ids)
        return {u.id: user_from_stored(u) for u in stored}

    def lookup_names(self, module: Module, recs: list[StoredRecord]) -> dict[int, str | None]:
        """Display names of every record the given records look up (one query per module)."""
        wanted: dict[str, set[int]] = {}
        for f in module.fields:
            if f.data_type == "lookup" and f.lookup_module:
                for r in recs:
                    value = r.data.get(f.api_name)
                    if value:
                        wanted.setdefault(lookup_target(f, r.data), set()).add(int(value))
        names: dict[int, str | None] = {}
        with self.db.read() as tx:
            for mod_name, ids in wanted.items():
                target = self.registry.get(mod_name)
                if target is None:
                    continue
                for rid, data in self.records.display_values(tx, ids).items():
                    names[rid] = data.get(target.display_field)
        return names

    def principal_tz(self, principal: Principal) -> ZoneInfo:
        return ZoneInfo(principal.user.time_zone)


def _any_in_module(module: Module, parts: tuple[Filter, ...]) -> Filter:
    """Or(parts), each part repeating the module condition: SQLite uses a field's partial
    index (`WHERE module_id = ...`) for a branch of an OR only when the branch itself says
    which module (the condition outside the OR is not enough)."""
    in_module = Cond(Column("module_id"), Op.EQ, (module.id,))
    return Or(tuple(And((in_module, p)) for p in parts))


def _keyset(column_name: SortColumn, key: str | int, record_id: int, *,
            descending: bool) -> Filter:
    """Rows strictly beyond (`key`, `record_id`) in (sort column, id) order, downwards when
    `descending`. Ties on the sort column are broken by id, as `RecordSearch.fetch` orders."""
    beyond = Op.LT if descending else Op.GT
    after_id = Cond(Column("id"), beyond, (record_id,))
    if column_name == "id":
        return after_id
    try:
        stamp = datetime.fromisoformat(str(key))
    except ValueError:
        return Never()  # signed tokens always carry a time; nothing to continue from
    col = Column(column_name)
    return Or((Cond(col, beyond, (stamp,)), And((Cond(col, Op.EQ, (stamp,)), after_id))))


def _contains_any(module: Module, fields: list[Field], text: str) -> Filter:
    """One of `fields` contains `text` ignoring case (no field: no record)."""
    return contains(module, fields, text) if fields else Or(())


def _compare(operand: Operand, op: str, values: Sequence[Value]) -> Filter:
    """An exact comparison (numbers, dates and datetimes as text, ids, lookups)."""
    neutral = _COMPARE.get(op)
    if neutral is None:
        raise _bad("invalid operator found", operator=op)
    count = {Op.IN: len(values), Op.BETWEEN: 2}.get(neutral, 1)
    return Cond(operand, neutral, tuple(values[:count]))


def _compare_seconds(col: Column, op: str, stamps: list[datetime]) -> Filter:
    """Stored times keep microseconds but are shown to the second: compare whole seconds."""

    def at_or_after(s: datetime) -> Filter:
        return Cond(col, Op.GE, (s,))

    def before(s: datetime) -> Filter:
        return Cond(col, Op.LT, (s,))

    first = stamps[0]
    if op == "equals":
        return And((at_or_after(first), before(first + ONE_SECOND)))
    if op == "not_equal":
        return Or((before(first), at_or_after(first + ONE_SECOND)))
    if op == "in":
        return Or(tuple(And((at_or_after(s), before(s + ONE_SECOND))) for s in stamps))
    if op == "greater_than":
        return at_or_after(first + ONE_SECOND)
    if op == "less_equal":
        return before(first + ONE_SECOND)
    if op == "between":
        return And((at_or_after(stamps[0]), before(stamps[1] + ONE_SECOND)))
    return _compare(col, op, stamps)

"""Record reads: lists, search, counts, the recycle bin; criteria compiled to SQLAlchemy Core.

Search (`mode="search"`) follows Zoho's documented quirk that `equals` on text fields behaves
like "contains"; custom views (`mode="view"`) compare exactly. Text comparisons are
case-insensitive on both databases.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from corral.auth.service import Principal, User, user_from_row
from corral.errors import InvalidQuery, NoPermission
from corral.metadata.model import Field, Module
from corral.metadata.registry import Registry
from corral.records import criteria as cr
from corral.records.service import RecordService, StoredRecord
from corral.records.validate import format_utc, parse_record_id
from corral.storage import tables as t
from corral.storage.database import Database

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
SORTABLE = {"id": t.records.c.id, "Created_Time": t.records.c.created_time,
            "Modified_Time": t.records.c.modified_time}


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

    # ----------------------------------------------------------------- criteria compilation
    def compile(self, module: Module, criteria: cr.Criteria, *, tz: ZoneInfo,
                mode: str = "search") -> ColumnElement[bool]:
        if isinstance(criteria, cr.Group):
            parts = [self.compile(module, c, tz=tz, mode=mode) for c in criteria.items]
            return sa.and_(*parts) if criteria.operator == "and" else sa.or_(*parts)
        return self._condition(module, criteria, tz=tz, mode=mode)

    def _condition(self, module: Module, c: cr.Condition, *, tz: ZoneInfo,
                   mode: str) -> ColumnElement[bool]:
        if c.field == "id":
            values = c.value if isinstance(c.value, tuple) else (c.value,)
            ids = [parse_record_id(x) for x in values]
            if any(i is None for i in ids) or c.operator not in {"equals", "not_equal", "in"}:
                raise _bad("invalid value or operator for id", api_name="id")
            col = t.records.c.id
            return col.in_(ids) if c.operator != "not_equal" else col.not_in(ids)
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
        dt = f.data_type
        elem = t.records.c.data[f.api_name]
        if dt == "bigint":  # up to 18 digits: compare exactly, not as floats
            ints = [self._integer(f, x) for x in values]
            return _compare(sa.cast(elem.as_string(), sa.BigInteger), c.operator, ints)
        if dt in NUMBER_TYPES:
            nums = [self._number(f, x) for x in values]
            return _compare(elem.as_float(), c.operator, nums)
        if dt == "boolean":
            if values[0].lower() not in {"true", "false"}:
                raise _bad("invalid value", api_name=f.api_name)
            want = values[0].lower() == "true"
            col = elem.as_boolean()
            return col.is_(want) if c.operator == "equals" else sa.or_(col.is_(None),
                                                                       col.is_not(want))
        if dt == "date":
            try:  # stored as yyyy-MM-dd; compare the same spelling ("2024-1-5" is not one)
                days = [date.fromisoformat(x.strip()).isoformat() for x in values]
            except ValueError:
                raise _bad("invalid value", api_name=f.api_name) from None
            return _compare(elem.as_string(), c.operator, days)
        if dt == "datetime":
            return _compare(elem.as_string(), c.operator,
                            [format_utc(self._datetime(f, x, tz)) for x in values])
        if dt == "multiselectpicklist":
            # The column holds the JSON text of the array: look for the JSON string literal.
            col = elem.as_string()
            if c.operator == "starts_with":
                return sa.or_(*[col.contains(n[:-1], autoescape=True)
                                for n in _json_literals(values[0])])
            matches = sa.or_(*[col.contains(n, autoescape=True) for x in values
                               for n in _json_literals(x)])
            return matches if c.operator != "not_equal" else sa.or_(col.is_(None),
                                                                    sa.not_(matches))
        col = elem.as_string()
        if dt in {"lookup", "ownerlookup"}:
            return _compare(col, c.operator, values)
        low = sa.func.lower(col)
        if c.operator == "equals":
            if mode == "search" and dt != "picklist":
                return col.icontains(values[0], autoescape=True)
            return low == _lower(values[0])
        if c.operator == "not_equal":
            return sa.or_(col.is_(None), low != _lower(values[0]))
        if c.operator == "starts_with":
            return col.istartswith(values[0], autoescape=True)
        return low.in_([_lower(x) for x in values])

    def _column_condition(self, f: Field, op: str, values: list[str],
                          tz: ZoneInfo) -> ColumnElement[bool]:
        col = getattr(t.records.c, f.column or "")
        if f.data_type == "datetime":
            stamps = [self._datetime(f, x, tz).replace(tzinfo=None, microsecond=0)
                      for x in values]
            return _compare_seconds(col, op, stamps)
        ids = [parse_record_id(x) for x in values]
        if any(i is None for i in ids):
            raise _bad("invalid value", api_name=f.api_name)
        return _compare(col, op, ids)

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
    def base_where(module: Module, filters: Filters) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [t.records.c.module_id == module.id,
                                            t.records.c.deleted_time.is_(None)]
        if filters.converted == "false":
            where.append(t.records.c.converted.is_(False))
        elif filters.converted == "true":
            where.append(t.records.c.converted.is_(True))
        if filters.approved == "true":
            where.append(t.records.c.approval_state == "approved")
        elif filters.approved == "false":
            where.append(t.records.c.approval_state != "approved")
        return where

    def special_where(self, module: Module, *, email: str | None = None,
                      phone: str | None = None, word: str | None = None,
                      ) -> ColumnElement[bool]:
        """`email=` (every email field), `phone=` (every phone field), `word=` (text fields)."""
        if "\x00" in (email or phone or word or ""):  # no stored value holds NUL
            return sa.false()
        if len(email or phone or word or "") > MAX_LIKE_VALUE:
            raise _bad("value too long", maximum_length=MAX_LIKE_VALUE)
        if email is not None:
            cols = [t.records.c.data[f.api_name].as_string() for f in module.fields
                    if f.data_type == "email"]
            return sa.or_(sa.false(), *[sa.func.lower(c) == _lower(email.strip()) for c in cols])
        if phone is not None:
            cols = [t.records.c.data[f.api_name].as_string() for f in module.fields
                    if f.data_type == "phone"]
            return sa.or_(sa.false(), *[c.icontains(phone.strip(), autoescape=True)
                                        for c in cols])
        assert word is not None
        cols = [t.records.c.data[f.api_name].as_string() for f in module.fields
                if f.data_type in TEXT_TYPES | {"picklist"} and f.column is None]
        return sa.or_(sa.false(), *[c.icontains(word, autoescape=True) for c in cols])

    # ----------------------------------------------------------------- queries
    def fetch(self, module: Module, where: list[ColumnElement[bool]], *, offset: int,
              limit: int, sort_by: str = "id", sort_order: str = "desc",
              ) -> tuple[list[StoredRecord], bool]:
        col = SORTABLE[sort_by]
        order = [col.desc(), t.records.c.id.desc()] if sort_order == "desc" else \
            [col.asc(), t.records.c.id.asc()]
        with self.db.read() as conn:
            rows = conn.execute(sa.select(t.records).where(*where).order_by(*order)
                                .offset(offset).limit(limit + 1)).all()
        recs = [self.service._row_to_record(r) for r in rows[:limit]]
        return recs, len(rows) > limit

    def count(self, where: list[ColumnElement[bool]]) -> int:
        with self.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t.records)
                                    .where(*where)).scalar_one())

    def get_one(self, module: Module, record_id: int) -> StoredRecord | None:
        with self.db.read() as conn:
            return self.service.load(conn, module, [record_id]).get(record_id)

    def deleted(self, module: Module, *, offset: int, limit: int,
                ) -> tuple[list[StoredRecord], bool]:
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(t.records).where(t.records.c.module_id == module.id,
                                           t.records.c.deleted_time.is_not(None))
                .order_by(t.records.c.deleted_time.desc(), t.records.c.id.desc())
                .offset(offset).limit(limit + 1)).all()
        return [self.service._row_to_record(r) for r in rows[:limit]], len(rows) > limit

    def view(self, module: Module, cvid: int) -> Any:
        with self.db.read() as conn:
            return conn.execute(sa.select(t.custom_views).where(
                t.custom_views.c.id == cvid, t.custom_views.c.module_id == module.id)).first()

    def visible_view(self, module: Module, cvid: Any, principal: Principal) -> Any:
        """The custom view `cvid` of `module` if the user may use it; None when unknown."""
        vid = parse_record_id(cvid)
        row = self.view(module, vid) if vid else None
        if row is not None and not row.shared and row.owner_id not in (None,
                                                                       principal.user.id):
            raise NoPermission("Customview not accessible")
        return row

    def view_condition(self, module: Module, row: Any, principal: Principal,
                       ) -> ColumnElement[bool]:
        """The records a custom view selects (system views: all, converted, the user's own)."""
        if row.system_name == "CONVERTEDVIEWS":
            return t.records.c.converted.is_(True)
        parts: list[ColumnElement[bool]] = []
        if row.system_name == "MYVIEWS":
            parts.append(t.records.c.owner_id == principal.user.id)
        if row.criteria:
            crit = cr.criteria_from_v8(orjson.loads(row.criteria))
            parts.append(self.compile(module, crit, tz=self.principal_tz(principal),
                                      mode="view"))
        return sa.and_(sa.true(), *parts)

    def views(self, module: Module) -> list[Any]:
        with self.db.read() as conn:
            return list(conn.execute(sa.select(t.custom_views)
                                     .where(t.custom_views.c.module_id == module.id)
                                     .order_by(t.custom_views.c.id)))

    # ----------------------------------------------------------------- rendering support
    def users(self) -> dict[int, User]:
        with self.db.read() as conn:
            rows = conn.execute(sa.select(t.users, t.profiles.c.name.label("profile_name"))
                                .join(t.profiles, t.profiles.c.id == t.users.c.profile_id))
            return {r.id: user_from_row(r, r.profile_name) for r in rows}

    def lookup_names(self, module: Module, recs: list[StoredRecord]) -> dict[int, str | None]:
        """Display names of every record the given records look up (one query per module)."""
        wanted: dict[str, set[int]] = {}
        for f in module.fields:
            if f.data_type == "lookup" and f.lookup_module:
                for r in recs:
                    value = r.data.get(f.api_name)
                    if value:
                        wanted.setdefault(f.lookup_module, set()).add(int(value))
        names: dict[int, str | None] = {}
        with self.db.read() as conn:
            for mod_name, ids in wanted.items():
                target = self.registry.get(mod_name)
                if target is None:
                    continue
                for row in conn.execute(sa.select(t.records.c.id, t.records.c.data)
                                        .where(t.records.c.id.in_(list(ids)))):
                    names[row.id] = (row.data or {}).get(target.display_field)
        return names

    def principal_tz(self, principal: Principal) -> ZoneInfo:
        return ZoneInfo(principal.user.time_zone)


def _json_literals(value: str) -> list[str]:
    """`value` as a JSON string, with non-ASCII escaped or not (serializers differ)."""
    return list(dict.fromkeys([json.dumps(value, ensure_ascii=False), json.dumps(value)]))


def _lower(value: str) -> ColumnElement[str]:
    """The database lowercases the value too: SQLite's lower() folds ASCII only, Python's more."""
    return sa.func.lower(sa.literal(value, sa.String))


def _compare(col: Any, op: str, values: list[Any]) -> ColumnElement[bool]:
    first = values[0]
    if op == "equals":
        return col == first
    if op == "not_equal":
        return sa.or_(col.is_(None), col != first)
    if op == "in":
        return col.in_(values)
    if op == "greater_than":
        return col > first
    if op == "greater_equal":
        return col >= first
    if op == "less_than":
        return col < first
    if op == "less_equal":
        return col <= first
    if op == "between":
        return col.between(values[0], values[1])
    if op == "starts_with":
        return col.startswith(first, autoescape=True)
    raise _bad("invalid operator found", operator=op)


def _compare_seconds(col: Any, op: str, stamps: list[datetime]) -> ColumnElement[bool]:
    """Stored times keep microseconds but are shown to the second: compare whole seconds."""
    first = stamps[0]
    if op == "equals":
        return sa.and_(col >= first, col < first + ONE_SECOND)
    if op == "not_equal":
        return sa.or_(col < first, col >= first + ONE_SECOND)
    if op == "in":
        return sa.or_(*[sa.and_(col >= s, col < s + ONE_SECOND) for s in stamps])
    if op == "greater_than":
        return col >= first + ONE_SECOND
    if op == "less_equal":
        return col < first + ONE_SECOND
    if op == "between":
        return sa.and_(col >= stamps[0], col < stamps[1] + ONE_SECOND)
    return _compare(col, op, stamps)

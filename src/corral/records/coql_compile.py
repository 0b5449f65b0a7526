"""COQL: a parsed query checked against the module's fields and Zoho's limits, compiled to the
neutral `storage.filters.Selection` that storage turns into SQL, then run.

Field names are looked up in the module registry and become `Column` / `JsonField` /
`Related` / `UserAttr` operands; values are parsed for the field's type and travel as bound
values. No text of the query ever reaches SQL.

Comparisons follow the criteria of search and views: text compares ignoring case; `!=`,
`not in` and `not like` also select records where the field is empty (Zoho's not_equal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from corral.errors import DuplicateAlias, DuplicateData, InvalidAlias, InvalidQuery, LimitExceeded
from corral.errors import QuerySyntaxError as SyntaxErr
from corral.metadata.model import Field, Module
from corral.metadata.registry import Registry
from corral.metadata.text_index import contains
from corral.records import coql as q
from corral.records.keys import normalise
from corral.records.query import (
    INTEGER_RE,
    NUMBER_RE,
    NUMBER_TYPES,
    TEXT_TYPES,
    Filters,
    RecordQuery,
)
from corral.records.query import _compare_seconds as compare_seconds
from corral.records.validate import format_utc, parse_record_id
from corral.storage.database import Database
from corral.storage.filters import (
    Aggregate,
    AggregateName,
    And,
    Column,
    Cond,
    Filter,
    HasKey,
    JsonField,
    JsonKind,
    Not,
    Op,
    Operand,
    Or,
    Output,
    Related,
    Selection,
    Sort,
    UserAttr,
    UserAttrName,
    Value,
    column,
)
from corral.storage.repositories.record_search import RecordSearch

MAX_COLUMNS = 50
MAX_CRITERIA = q.MAX_CRITERIA
MAX_IN_VALUES = 50
MAX_ORDER_BY = 10
MAX_GROUP_BY = 4
MAX_AGGREGATES = 5
MAX_RELATIONS = 2
DEFAULT_LIMIT = 200
USER_ATTRS = ("email", "first_name", "last_name")
USER_COLUMNS = frozenset({"owner_id", "created_by", "modified_by"})
AGGREGATES = frozenset({"count", "sum", "min", "max", "avg"})
ORDERED_TYPES = NUMBER_TYPES | {"date", "datetime"}
# Comparators per kind of field; anything else is INVALID_QUERY "data type not supported".
_NULLS = frozenset({"is null", "is not null"})
_EQUALITY = frozenset({"=", "!=", "in", "not in"}) | _NULLS
ALLOWED: dict[str, frozenset[str]] = {
    "text": _EQUALITY | {"like", "not like"},
    "ordered": _EQUALITY | {"<", "<=", ">", ">=", "between"},
    "boolean": frozenset({"=", "!="}),
    "id": _EQUALITY,
    "multiselectpicklist": _EQUALITY,
}
_ORDER_OPS: dict[str, Op] = {"=": Op.EQ, "<": Op.LT, "<=": Op.LE, ">": Op.GT, ">=": Op.GE,
                             "in": Op.IN, "between": Op.BETWEEN}
# COQL comparator -> the criteria operator name `_compare_seconds` takes.
_CRITERIA_NAMES = {"=": "equals", "!=": "not_equal", "in": "in", ">": "greater_than",
                   ">=": "greater_equal", "<": "less_than", "<=": "less_equal",
                   "between": "between"}


def version_limits(version: str) -> tuple[int, int, bool]:
    """(rows per call, offset + rows ceiling, WHERE mandatory) for an API version, as Zoho's
    COQL pages of that version document them."""
    old = version in {"v2", "v2.1", "v3"}
    ceiling = 100_000 if version in {"v7", "v8"} else 10_000
    return (200 if old else 2000), ceiling, version in {"v2", "v2.1", "v3", "v4", "v5"}


@dataclass(frozen=True)
class Resolved:
    """A path made an operand; `field` is the field whose value it reads (None for ids and
    user attributes), `modules` the modules it reads records of."""

    operand: Operand
    field: Field | None
    modules: tuple[str, ...]


@dataclass(frozen=True)
class OutputColumn:
    """One key of each response row: the value of `field`, or of an aggregate over it."""

    key: str
    field: Field | None
    aggregate: str | None = None


@dataclass(frozen=True)
class Compiled:
    module: Module
    selection: Selection
    columns: tuple[OutputColumn, ...]
    modules: frozenset[str]  # every module whose records the query reads


@dataclass(frozen=True)
class CoqlPage:
    columns: tuple[OutputColumn, ...]
    rows: tuple[tuple[Any, ...], ...]
    more: bool


def _invalid_column(path: str) -> InvalidQuery:
    return InvalidQuery("column given seems to be invalid", {"column_name": path})


def _invalid_value(path: str, f: Field | None) -> InvalidQuery:
    return InvalidQuery("value given seems to be invalid for the column",
                        {"column_name": path, "expected_data_type": f.data_type if f else "id"})


def _unsupported(path: str, f: Field | None, operator: str) -> InvalidQuery:
    return InvalidQuery("data type not supported",
                        {"column_name": path, "operator": operator,
                         "data_type": f.data_type if f else "id"})


def _limit(clause: str, limit: int) -> LimitExceeded:
    return LimitExceeded("limit exceeded", {"clause": clause, "limit": limit})


def _kind(f: Field) -> JsonKind:
    if f.data_type == "bigint":
        return "bigint"
    if f.data_type in NUMBER_TYPES:
        return "float"
    return "boolean" if f.data_type == "boolean" else "text"


def _family(f: Field | None) -> str:
    """Which comparators a field takes (see ALLOWED)."""
    if f is None or f.data_type in {"lookup", "ownerlookup"} or f.column in USER_COLUMNS:
        return "id"
    if f.data_type in ORDERED_TYPES:
        return "ordered"
    if f.data_type in TEXT_TYPES | {"picklist"} and f.data_type != "textarea":
        return "text"
    return f.data_type  # boolean, multiselectpicklist, or unsupported (textarea, subform)


def _leaf(operand: Operand) -> Operand:
    """What a lookup path finally reads (the innermost target)."""
    return _leaf(operand.target) if isinstance(operand, Related) else operand


class CoqlService:
    """Parses, checks and runs COQL queries for one caller at a time (stateless)."""

    def __init__(self, db: Database, registry: Registry) -> None:
        self.db = db
        self.registry = registry
        self.search = RecordSearch()

    @staticmethod
    def parse(text: str) -> q.Query:
        return q.parse(text)

    def run(self, compiled: Compiled) -> CoqlPage:
        with self.db.read() as tx:
            page = self.search.select(tx, compiled.selection)
        return CoqlPage(compiled.columns, page.rows, page.more)

    # ------------------------------------------------------------------------- compilation
    def compile(self, query: q.Query, module: Module, *, version: str,
                tz: ZoneInfo) -> Compiled:
        """The selection `query` describes on `module`; Zoho's errors for what it may not."""
        per_call, ceiling, where_required = version_limits(version)
        if query.where is None and where_required:
            raise SyntaxErr("WHERE clause is mandatory in this API version", {"clause": "where"})
        limit = DEFAULT_LIMIT if query.limit is None else query.limit
        offset = query.offset or 0
        if limit < 1:
            raise InvalidQuery("invalid query formed", {"clause": "limit",
                                                        "reason": "LIMIT must be at least 1"})
        if limit > per_call:
            raise _limit("limit", per_call)
        if offset + limit > ceiling:
            raise _limit("offset", ceiling)
        checks = _QueryChecks(self, module, tz)
        outputs, columns = checks.select(query)
        where = checks.where(query.where)
        group_by = checks.group_by(query, outputs)
        order = checks.order_by(query, outputs, columns, grouped=bool(group_by) or any(
            isinstance(o, Aggregate) for o in outputs))
        base = RecordQuery.base_where(module, Filters())  # live, unconverted, approved
        selection = Selection(where=And((*base, where)), outputs=tuple(outputs), order=order,
                              group_by=group_by, offset=offset, limit=limit)
        return Compiled(module, selection, tuple(columns), frozenset(checks.modules))

    def resolve(self, module: Module, path: q.Path) -> Resolved:
        """A field or lookup path of `module` as an operand (INVALID_QUERY when unknown)."""
        return self._resolve(module, path.parts, None, path.text, (module.api_name,))

    def _resolve(self, module: Module, parts: Sequence[str], via: JsonField | Related | None,
                 text: str, modules: tuple[str, ...]) -> Resolved:
        name, rest = parts[0], parts[1:]

        def wrap(leaf: Column | JsonField) -> Operand:
            return leaf if via is None else Related(via, leaf)

        if name.lower() == "id":
            if rest:
                raise _invalid_column(text)
            return Resolved(wrap(Column("id")), None, modules)
        f = module.field(name)
        if f is None or f.data_type == "subform":
            raise _invalid_column(text)
        leaf: Column | JsonField = (column(f.column) if f.column is not None
                                    else JsonField(f.api_name, _kind(f)))
        if not rest:
            return Resolved(wrap(leaf), f, modules)
        if f.data_type == "ownerlookup" or f.column in USER_COLUMNS:
            if len(rest) != 1 or rest[0] not in (*USER_ATTRS, "id"):
                raise _invalid_column(text)
            user = wrap(leaf)
            if rest[0] == "id":
                return Resolved(user, f, modules)
            assert isinstance(user, (Column, JsonField, Related))
            return Resolved(UserAttr(user, cast(UserAttrName, rest[0])), None, modules)
        target = self.registry.get(f.lookup_module or "") if f.data_type == "lookup" else None
        if target is None or f.api_name in ("What_Id", "Parent_Id"):
            raise _invalid_column(text)  # not a lookup, or one to several modules
        if len(modules) > MAX_RELATIONS:
            raise InvalidQuery("invalid query formed", {
                "column_name": text, "reason": f"at most {MAX_RELATIONS} relations in a path"})
        step = JsonField(f.api_name, "text")
        next_via: JsonField | Related = step if via is None else Related(via, step)
        return self._resolve(target, rest, next_via, text, (*modules, target.api_name))


class _QueryChecks:
    """The checks and translation of one query's clauses (keeps `compile` short)."""

    def __init__(self, service: CoqlService, module: Module, tz: ZoneInfo) -> None:
        self.service = service
        self.module = module
        self.tz = tz
        self.modules: set[str] = {module.api_name}
        self.aliases: dict[str, Output] = {}

    def resolve(self, path: q.Path) -> Resolved:
        r = self.service.resolve(self.module, path)
        self.modules.update(r.modules)
        return r

    # ------------------------------------------------------------------------- SELECT
    def select(self, query: q.Query) -> tuple[list[Output], list[OutputColumn]]:
        if len(query.items) > MAX_COLUMNS:
            raise _limit("select", MAX_COLUMNS)
        outputs: list[Output] = []
        columns: list[OutputColumn] = []
        aggregates = [i for i in query.items if isinstance(i.expr, q.AggregateCall)]
        if len(aggregates) > MAX_AGGREGATES:
            raise _limit("aggregate", MAX_AGGREGATES)
        for item in query.items:
            output, col = self.select_item(item)
            if output in outputs and isinstance(output, Aggregate):
                raise DuplicateData("duplicate data", {"clause": "aggregate",
                                                       "column_name": col.key})
            if item.alias is not None:
                self.alias(item.alias, output)
            if output not in outputs or item.alias is not None:
                outputs.append(output)
                columns.append(col)
        # Zoho always returns the record id with plain rows.
        if not aggregates and not query.group_by and Column("id") not in outputs:
            outputs.append(Column("id"))
            columns.append(OutputColumn("id", None))
        return outputs, columns

    def select_item(self, item: q.Item) -> tuple[Output, OutputColumn]:
        if isinstance(item.expr, q.Path):
            r = self.resolve(item.expr)
            return r.operand, OutputColumn(item.alias or item.expr.text, r.field)
        agg, f = self.aggregate(item.expr)
        return agg, OutputColumn(item.alias or item.expr.text, f, agg.func)

    def aggregate(self, call: q.AggregateCall) -> tuple[Aggregate, Field | None]:
        func = call.func.lower()
        if func not in AGGREGATES:
            raise InvalidQuery("invalid query formed", {"column_name": call.text,
                                                        "reason": "unsupported function"})
        r = self.resolve(call.arg)
        dt = r.field.data_type if r.field is not None and r.operand != Column("id") else "id"
        ok = (func == "count" or (func in {"sum", "avg"} and dt in NUMBER_TYPES)
              or (func in {"min", "max"} and dt in ORDERED_TYPES))
        if not ok:
            raise _unsupported(call.arg.text, r.field, call.func.upper())
        return Aggregate(cast(AggregateName, func), r.operand), r.field

    def alias(self, alias: str, output: Output) -> None:
        if alias in self.aliases:
            raise DuplicateAlias("duplicate alias", {"alias": alias})
        if self.module.field(alias) is not None or alias.lower() == "id":
            raise InvalidAlias("alias cannot be a field's api name", {"alias": alias})
        self.aliases[alias] = output

    # ------------------------------------------------------------------------- GROUP/ORDER
    def group_by(self, query: q.Query, outputs: list[Output]) -> tuple[Operand, ...]:
        if len(query.group_by) > MAX_GROUP_BY:
            raise _limit("group by", MAX_GROUP_BY)
        groups: list[Operand] = []
        for path in query.group_by:
            r = self.resolve(path)
            if r.operand in groups:
                raise DuplicateData("duplicate data", {"clause": "group by",
                                                       "column_name": path.text})
            groups.append(r.operand)
        aggregated = bool(groups) or any(isinstance(o, Aggregate) for o in outputs)
        for o in outputs:
            if aggregated and not isinstance(o, Aggregate) and o not in groups:
                raise InvalidQuery("invalid query formed", {
                    "reason": "a selected column that is not aggregated must be grouped by"})
        return tuple(groups)

    def order_by(self, query: q.Query, outputs: list[Output], columns: list[OutputColumn],
                 *, grouped: bool) -> tuple[Sort, ...]:
        if len(query.order_by) > MAX_ORDER_BY:
            raise _limit("order by", MAX_ORDER_BY)
        keys: list[Output] = []
        for key in query.order_by:
            output = self.sort_output(key.expr)
            if output in keys:
                raise DuplicateData("duplicate data", {"clause": "order by",
                                                       "column_name": key.expr.text})
            if not grouped and isinstance(output, Aggregate):
                raise InvalidQuery("invalid query formed", {
                    "column_name": key.expr.text,
                    "reason": "only a grouped or aggregated query orders by an aggregate"})
            if grouped and output not in outputs and not isinstance(output, Aggregate):
                raise InvalidQuery("invalid query formed", {
                    "column_name": key.expr.text,
                    "reason": "a grouped query orders by its groups or aggregates"})
            keys.append(output)
        return tuple(Sort(k, key.descending) for k, key in zip(keys, query.order_by,
                                                               strict=True))

    def sort_output(self, expr: q.Expr) -> Output:
        if isinstance(expr, q.Path) and len(expr.parts) == 1 and expr.text in self.aliases:
            return self.aliases[expr.text]
        if isinstance(expr, q.AggregateCall):
            return self.aggregate(expr)[0]
        r = self.resolve(expr)
        if r.field is not None and r.field.data_type in {"textarea", "multiselectpicklist"}:
            raise _unsupported(expr.text, r.field, "order by")
        return r.operand

    # ------------------------------------------------------------------------- WHERE
    def where(self, criteria: q.Criteria | None) -> Filter:
        conds = q.conditions(criteria)
        if len(conds) > MAX_CRITERIA:
            raise _limit("where", MAX_CRITERIA)
        return self.criteria(criteria) if criteria is not None else And(())

    def criteria(self, c: q.Criteria) -> Filter:
        if isinstance(c, q.Logic):
            parts = (self.criteria(c.left), self.criteria(c.right))
            return And(parts) if c.op == "and" else Or(parts)
        if len(c.values) > MAX_IN_VALUES:
            raise _limit("in", MAX_IN_VALUES)
        r = self.resolve(c.path)
        family = _family(r.field)
        if r.field is None and not isinstance(r.operand, (Column, Related)):
            family = "text"  # a user attribute (Owner.email)
        if c.op not in ALLOWED.get(family, frozenset()):
            raise _unsupported(c.path.text, r.field, c.op)
        built = _Condition(r, c, self.tz, family).build()
        return self.narrowed(r, c, built)

    def narrowed(self, r: Resolved, c: q.Condition, built: Filter) -> Filter:
        """`=` / `in` on a duplicate-check or unique text field of the module itself: also
        the records holding the values' keys in record_keys, so an index finds them. The
        exact comparison stays: equal ignoring case implies equal keys, never the reverse.
        `like '%x%'` on a text field of the module: also looked up in its text index."""
        f = r.field
        if (c.op == "like" and f is not None and isinstance(built, Cond)
                and built.op is Op.I_CONTAINS and isinstance(r.operand, JsonField)):
            return contains(self.module, [f], str(built.values[0]))
        if (c.op not in {"=", "in"} or f is None or not isinstance(r.operand, JsonField)
                or f not in self.module.key_fields
                or not (f.case_insensitive or f.data_type == "phone")):
            return built
        keys = [normalise(f, v.text) for v in c.values]
        if any(k is None for k in keys):
            return built
        return And((HasKey(f.id, frozenset(k for k in keys if k is not None)), built))


class _Condition:
    """One comparison of WHERE as a neutral filter, its values parsed for the field's type."""

    def __init__(self, r: Resolved, c: q.Condition, tz: ZoneInfo, family: str) -> None:
        self.r = r
        self.c = c
        self.tz = tz
        self.family = family
        self.operand = r.operand
        self.texts = [v.text for v in c.values]

    def build(self) -> Filter:
        op = self.c.op
        if op == "is null":
            return Cond(self.operand, Op.IS_NULL)
        if op == "is not null":
            return Cond(self.operand, Op.IS_NOT_NULL)
        if any("\x00" in x for x in self.texts):
            raise _invalid_value(self.c.path.text, self.r.field)
        positive = self.positive(op.removeprefix("not ").replace("!=", "="))
        if op in {"!=", "not in", "not like"}:
            return Or((Cond(self.operand, Op.IS_NULL), Not(positive)))
        return positive

    def positive(self, op: str) -> Filter:
        f = self.r.field
        if self.family == "text":
            return self.text(op)
        if self.family == "boolean":
            value = self.texts[0].lower()
            if value not in {"true", "false"}:
                raise _invalid_value(self.c.path.text, f)
            return Cond(self.operand, Op.EQ, (value == "true",))
        if self.family == "multiselectpicklist":
            items = [i for x in self.texts for i in x.split(";")] if op == "in" else \
                self.texts[0].split(";")
            has = [Cond(self.operand, Op.HAS_ITEM, (i,)) for i in items]
            return And(tuple(has)) if op == "=" else Or(tuple(has))
        if self.family == "id":
            ids = [parse_record_id(x) for x in self.texts]
            if any(i is None for i in ids):
                raise _invalid_value(self.c.path.text, f)
            numeric = isinstance(_leaf(self.operand), Column)  # lookups hold id strings
            clean: list[Value] = [i if numeric else str(i) for i in ids if i is not None]
            return Cond(self.operand, _ORDER_OPS[op], tuple(clean))
        return self.ordered(op)

    def text(self, op: str) -> Filter:
        if op == "in":
            return Cond(self.operand, Op.I_IN, tuple(self.texts))
        if op == "=":
            return Cond(self.operand, Op.I_EQ, (self.texts[0],))
        pattern = self.texts[0]  # like: %x (ends with), x% (starts with), %x% (contains)
        core = pattern.strip("%")
        starts, ends = pattern.startswith("%"), pattern.endswith("%") and len(pattern) > 1
        if "%" in core or not core and pattern != "%":
            raise _invalid_value(self.c.path.text, self.r.field)
        if starts and ends or pattern == "%":
            return Cond(self.operand, Op.I_CONTAINS, (core,))
        if starts:
            return Cond(self.operand, Op.I_ENDS_WITH, (core,))
        if ends:
            return Cond(self.operand, Op.I_STARTS_WITH, (core,))
        return Cond(self.operand, Op.I_EQ, (core,))

    def ordered(self, op: str) -> Filter:
        """Numbers, dates and datetimes."""
        f = self.r.field
        assert f is not None
        if f.data_type == "datetime":
            stamps = [self.datetime(x) for x in self.texts]
            if isinstance(self.operand, Column):
                naive = [s.replace(tzinfo=None, microsecond=0) for s in stamps]
                return compare_seconds(self.operand, _CRITERIA_NAMES[op], naive)
            values: list[Value] = [format_utc(s) for s in stamps]
        elif f.data_type == "date":
            try:
                values = [date.fromisoformat(x.strip()).isoformat() for x in self.texts]
            except ValueError:
                raise _invalid_value(self.c.path.text, f) from None
        else:
            values = [self.number(x, f) for x in self.texts]
        return Cond(self.operand, _ORDER_OPS[op], tuple(values))

    def number(self, text: str, f: Field) -> Value:
        text = text.strip()
        if f.data_type == "bigint":
            if not INTEGER_RE.fullmatch(text) or len(text) > 19 or abs(int(text)) >= 2**63:
                raise _invalid_value(self.c.path.text, f)
            return int(text)
        value = float(text) if NUMBER_RE.fullmatch(text) else math.nan
        if not math.isfinite(value):
            raise _invalid_value(self.c.path.text, f)
        return value

    def datetime(self, text: str) -> datetime:
        """Aware UTC; a value without offset is in the caller's time zone."""
        try:
            parsed = datetime.fromisoformat(text.strip())
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=self.tz)
            utc = parsed.astimezone(UTC)
            if utc.replace(tzinfo=None) > datetime.max - timedelta(seconds=1):
                raise OverflowError
        except (ValueError, OverflowError):
            raise _invalid_value(self.c.path.text, self.r.field) from None
        return utc

"""Record reads by filter: the neutral `storage.filters` tree compiled to SQL, then pages, counts,
ids, the recycle bin and the territory tree that mass update filters by.

One compilation serves SQLite and PostgreSQL: SQLAlchemy renders the JSON extraction
(`json_extract` / `->>`), and text comparisons that ignore case lower() both sides in the
database, so the two databases fold case the same way for a value and a stored text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.sql.expression import Executable

from corral.storage import tables as t
from corral.storage.database import Tx
from corral.storage.field_values import (
    folded,
    json_value,
    literal_int,
    names_key,
    prefix_range,
)
from corral.storage.filters import (
    Aggregate,
    Always,
    And,
    Column,
    Cond,
    Filter,
    HasKey,
    InTerritories,
    JsonField,
    Never,
    Not,
    Op,
    Operand,
    Or,
    Output,
    Related,
    Selection,
    Sort,
    TextMatch,
    UserAttr,
)
from corral.storage.repositories.records import StoredRecord, record_from_row
from corral.storage.repositories.text_index import resolve_text_matches, text_match_sql

SortColumn = Literal["id", "created_time", "modified_time"]
SortOrder = Literal["asc", "desc"]


def compile_filter(node: Filter, positive: bool = True) -> ColumnElement[bool]:
    """The SQL condition on `records` that `node` describes (binds every value); `positive`:
    not under a NOT (see `_indexable`)."""
    if isinstance(node, Cond):
        cond = _condition(node)
        return _indexable(node, cond) if positive else cond
    if isinstance(node, And):
        # true()/false() first: SQLAlchemy drops them beside other parts and keeps an empty
        # group meaningful.
        return sa.and_(sa.true(), *[compile_filter(p, positive) for p in node.parts])
    if isinstance(node, Or):
        return sa.or_(sa.false(), *[compile_filter(p, positive) for p in node.parts])
    if isinstance(node, Not):
        return sa.not_(compile_filter(node.part, not positive))
    if isinstance(node, InTerritories):
        return t.records.c.id.in_(
            sa.select(t.record_territories.c.record_id)
            .where(t.record_territories.c.territory_id.in_(sorted(node.territory_ids))))
    if isinstance(node, HasKey):
        return t.records.c.id.in_(
            sa.select(t.record_keys.c.record_id)
            .where(t.record_keys.c.field_id == node.field_id,
                   t.record_keys.c.value.in_(sorted(node.keys))))
    if isinstance(node, TextMatch):
        return text_match_sql(node)
    if isinstance(node, Always):
        return sa.true()
    if isinstance(node, Never):
        return sa.false()
    raise TypeError(f"not a filter: {node!r}")


def compile_where(tx: Tx, node: Filter) -> ColumnElement[bool]:
    """`compile_filter` of `node` once its text matches are narrowed for `tx`'s database
    (`resolve_text_matches`): what every query outside `RecordSearch` selecting records by a
    filter compiles."""
    return compile_filter(resolve_text_matches(tx, node))


# Comparisons that hold only for a record with a value in the field.
_NEEDS_VALUE = frozenset({Op.EQ, Op.IN, Op.GT, Op.GE, Op.LT, Op.LE, Op.BETWEEN,
                          Op.STARTS_WITH, Op.I_EQ, Op.I_IN, Op.I_STARTS_WITH})


def _indexable(c: Cond, cond: ColumnElement[bool]) -> ColumnElement[bool]:
    """`cond` with, before it, what the field's index requires of a record (`names_key`),
    when `cond` implies it: a partial index serves only a query that states its WHERE.
    Only outside a NOT: NOT (names AND x = 1) would also select the records without the
    field, which NOT (x = 1) does not (x = 1 is NULL there)."""
    if not isinstance(c.operand, JsonField) or c.op not in _NEEDS_VALUE \
            or any(v is None for v in c.values):  # `= None` is rendered IS NULL
        return cond
    names = names_key(t.records, c.operand.key)
    return cond if names is None else sa.and_(names, cond)


def _operand(operand: Operand, table: sa.FromClause = t.records) -> ColumnElement[Any]:
    """The operand's value on a row of `table` (the records table or an alias of it)."""
    if isinstance(operand, Column):
        return table.c[operand.name]
    # Lookup paths are scalar subqueries by primary key (one index probe each), correlated
    # explicitly: a path through a lookup to a user nests one inside another.
    if isinstance(operand, Related):
        target = t.records.alias()
        return (sa.select(_operand(operand.target, target))
                .where(target.c.id == _record_id(operand.via, table),
                       target.c.deleted_time.is_(None))
                .correlate(table).scalar_subquery())
    if isinstance(operand, UserAttr):
        return (sa.select(t.users.c[operand.name])
                .where(t.users.c.id == _record_id(operand.via, table))
                .correlate(table).scalar_subquery())
    return json_value(table, operand.key, operand.kind)


def _record_id(via: Column | JsonField | Related, table: sa.FromClause) -> ColumnElement[Any]:
    """A lookup's value as the integer id it holds (ids are validated when written)."""
    if isinstance(via, JsonField):
        return sa.cast(table.c.data[via.key].as_string(), sa.BigInteger)
    value = _operand(via, table)
    return value if isinstance(via, Column) else sa.cast(value, sa.BigInteger)


def _condition(c: Cond) -> ColumnElement[bool]:
    x = _operand(c.operand)
    values = list(c.values)
    first = values[0] if values else None
    match c.op:
        case Op.EQ if c.operand == _MODULE_ID and type(first) is int:
            return x == literal_int(first)  # what the field indexes' WHERE says
        case Op.EQ if isinstance(first, bool):
            # `IS true` implies no NULL to neither database's planner; the field index
            # holds the records with a value (`field_indexes._index`), so say so. The same
            # rows, negated too: NOT (x IS NOT NULL AND x IS true) is x IS NOT true.
            return sa.and_(x.is_not(None), x.is_(first))
        case Op.EQ:
            return x == first
        case Op.NE:
            return sa.or_(x.is_(None), x.is_not(first) if isinstance(first, bool)
                          else x != first)
        case Op.IN:
            return x.in_(values)
        case Op.NOT_IN:
            return x.not_in(values)
        case Op.GT:
            return x > first
        case Op.GE:
            return x >= first
        case Op.LT:
            return x < first
        case Op.LE:
            return x <= first
        case Op.BETWEEN:
            return x.between(values[0], values[1])
        case Op.STARTS_WITH:
            return x.startswith(first, autoescape=True)
        case Op.I_EQ:
            return folded(x) == _lower(str(first))
        case Op.I_IN:
            return folded(x).in_([_lower(str(v)) for v in values])
        case Op.I_STARTS_WITH:
            return sa.and_(*_prefix_range(x, str(first)), x.istartswith(first, autoescape=True))
        case Op.I_CONTAINS:
            return x.icontains(first, autoescape=True)
        case Op.I_ENDS_WITH:
            return x.iendswith(first, autoescape=True)
        case Op.HAS_ITEM:
            return sa.or_(*[x.contains(n, autoescape=True)
                            for v in values for n in _json_literals(str(v))])
        case Op.HAS_ITEM_PREFIX:  # the item's literal without its closing quote
            return sa.or_(*[x.contains(n[:-1], autoescape=True)
                            for n in _json_literals(str(first))])
        case Op.IS_NULL:
            return x.is_(None)
        case Op.IS_NOT_NULL:
            return x.is_not(None)
    raise TypeError(f"unknown operator {c.op!r}")


_MODULE_ID = Column("module_id")


def _prefix_range(x: ColumnElement[Any], prefix: str) -> list[ColumnElement[bool]]:
    """`folded(x)` within the range of strings that start with the lower-cased `prefix`: the
    field index narrows to it (LIKE cannot use an index on an expression), the LIKE beside it
    decides. ASCII prefixes only, which every database lower-cases as Python does; the range
    is in code-point order (`prefix_range`), as the field index serves it."""
    if not prefix or not prefix.isascii():
        return []
    low = prefix.lower()
    return prefix_range(folded(x), low, low[:-1] + chr(ord(low[-1]) + 1))


def _lower(value: str) -> ColumnElement[str]:
    """The database lowercases the value too: SQLite's lower() folds ASCII only, Python's more."""
    return sa.func.lower(sa.literal(value, sa.String))


def _json_literals(value: str) -> list[str]:
    """`value` as a JSON string, with non-ASCII escaped or not (serializers differ)."""
    return list(dict.fromkeys([json.dumps(value, ensure_ascii=False), json.dumps(value)]))


@dataclass(frozen=True)
class SelectedRows:
    """A page of a `Selection`: one tuple of output values per row; whether more follow."""

    rows: tuple[tuple[Any, ...], ...]
    more: bool


def _aggregate(func: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    match func:
        case "count":
            return sa.func.count(value)
        case "sum":
            return sa.func.sum(value)
        case "min":
            return sa.func.min(value)
        case "max":
            return sa.func.max(value)
        case "avg":
            return sa.func.avg(value)
    raise TypeError(f"unknown aggregate {func!r}")


def _sorted(expr: ColumnElement[Any], sort: Sort) -> Any:
    """NULLs first ascending, last descending, on both databases (PostgreSQL's default is the
    opposite of SQLite's)."""
    return expr.desc().nulls_last() if sort.descending else expr.asc().nulls_first()


def _ungrouped(sel: Selection) -> sa.Select[Any]:
    def value(o: Output) -> ColumnElement[Any]:
        if isinstance(o, Aggregate):
            raise TypeError("an aggregate in an ungrouped selection")
        return _operand(o)

    return (sa.select(*[value(o) for o in sel.outputs]).where(compile_filter(sel.where))
            .order_by(*[_sorted(value(s.key), s) for s in sel.order], t.records.c.id.asc()))


def _grouped(sel: Selection) -> sa.Select[Any]:
    """Groups over a subquery that computes each operand once as a named column, so that
    PostgreSQL sees the SELECT and GROUP BY expressions as the same columns."""
    operands: list[Operand] = list(dict.fromkeys(
        [*sel.group_by, *[o.operand if isinstance(o, Aggregate) else o
                          for o in (*sel.outputs, *[s.key for s in sel.order])]]))
    inner = sa.select(*[_operand(o).label(f"v{i}") for i, o in enumerate(operands)]).where(
        compile_filter(sel.where)).subquery()
    col = {o: inner.c[f"v{i}"] for i, o in enumerate(operands)}

    def value(o: Output) -> ColumnElement[Any]:
        if isinstance(o, Aggregate):
            return _aggregate(o.func, col[o.operand])
        return col[o]

    groups = [col[g] for g in sel.group_by]
    return (sa.select(*[value(o) for o in sel.outputs]).group_by(*groups)
            .order_by(*[_sorted(value(s.key), s) for s in sel.order],
                      *[g.asc().nulls_first() for g in groups]))


def _page(where: Filter, sort_by: SortColumn, sort_order: SortOrder) -> sa.Select[Any]:
    col = t.records.c[sort_by]
    order = ([col.desc(), t.records.c.id.desc()] if sort_order == "desc"
             else [col.asc(), t.records.c.id.asc()])
    return sa.select(t.records).where(compile_filter(where)).order_by(*order)


def _counted(where: Filter) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(t.records).where(compile_filter(where))


class _Explain(Executable, ClauseElement):
    """`EXPLAIN [QUERY PLAN] <query>`, with the query's parameters bound as it runs them."""

    inherit_cache = False

    def __init__(self, query: sa.Select[Any]) -> None:
        self.query = query


@compiles(_Explain, "sqlite")
def _explain_sqlite(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN QUERY PLAN " + compiler.process(element.query, **kw)


@compiles(_Explain, "postgresql")
def _explain_pg(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN " + compiler.process(element.query, **kw)


def _plan(tx: Tx, query: sa.Select[Any]) -> str:
    rows = tx.execute(_Explain(query)).all()
    # SQLite: (id, parent, notused, detail); PostgreSQL: one line of text per row.
    return "\n".join(str(r[-1]) for r in rows)


class RecordSearch:
    """Records selected by a filter. Pages report whether more records follow."""

    def fetch(self, tx: Tx, where: Filter, *, sort_by: SortColumn = "id",
              sort_order: SortOrder = "desc", offset: int, limit: int,
              ) -> tuple[list[StoredRecord], bool]:
        """One page in `sort_by` order, ties broken by id in the same direction."""
        where = resolve_text_matches(tx, where)
        rows = tx.execute(_page(where, sort_by, sort_order).offset(offset)
                          .limit(limit + 1)).all()
        return [record_from_row(r) for r in rows[:limit]], len(rows) > limit

    def explain(self, tx: Tx, where: Filter, *, sort_by: SortColumn = "id",
                sort_order: SortOrder = "desc", count: bool = False, limit: int = 200,
                prefer_indexes: bool = False) -> str:
        """The database's plan for `fetch` (or `count`) of `where`, as text: which indexes
        the query uses (tests check that searches use the field and text indexes).

        `prefer_indexes` (PostgreSQL): plan as on a large table. A test table has a few hundred
        rows, for which the planner rightly prefers a module's B-tree or a sequential scan to
        any other index; so, inside a savepoint rolled back at once, sequential scans and
        ordered index walks (the primary key read backwards for a page) are turned off and the
        per-module B-trees (`ix_records_module_*`) set aside, leaving the bitmap scans of the
        search indexes."""
        where = resolve_text_matches(tx, where)
        query = (_counted(where) if count
                 else _page(where, sort_by, sort_order).limit(limit + 1))
        if not prefer_indexes or tx.dialect.name != "postgresql":
            return _plan(tx, query)
        with tx.begin_nested() as savepoint:
            tx.exec_driver_sql("SET LOCAL enable_seqscan = off")
            tx.exec_driver_sql("SET LOCAL enable_indexscan = off")
            for index in t.records.indexes:
                if index.name and index.name.startswith("ix_records_module_"):
                    tx.exec_driver_sql(f"DROP INDEX {index.name}")
            plan = _plan(tx, query)
            savepoint.rollback()
        return plan

    def explain_select(self, tx: Tx, sel: Selection) -> str:
        """The database's plan for `select` (COQL), as text."""
        sel = replace(sel, where=resolve_text_matches(tx, sel.where))
        query = _grouped(sel) if sel.grouped else _ungrouped(sel)
        return _plan(tx, query.offset(sel.offset).limit(sel.limit + 1))

    def select(self, tx: Tx, sel: Selection) -> SelectedRows:
        """One page of a selection's rows (COQL): its outputs in its order."""
        sel = replace(sel, where=resolve_text_matches(tx, sel.where))
        query = _grouped(sel) if sel.grouped else _ungrouped(sel)
        rows = tx.execute(query.offset(sel.offset).limit(sel.limit + 1)).all()
        return SelectedRows(tuple(tuple(r) for r in rows[:sel.limit]), len(rows) > sel.limit)

    def count(self, tx: Tx, where: Filter) -> int:
        return int(tx.execute(_counted(resolve_text_matches(tx, where))).scalar_one())

    def count_by_module(self, tx: Tx, where: Filter) -> dict[int, int]:
        """Selected records per module, in one grouped query (not one count per module)."""
        col = t.records.c.module_id
        return {int(m): int(n) for m, n in tx.execute(
            sa.select(col, sa.func.count()).where(compile_where(tx, where)).group_by(col))}

    def ids(self, tx: Tx, where: Filter, *, limit: int, offset: int = 0) -> list[int]:
        """Ids of the selected records in id order, at most `limit` of them after `offset`."""
        return [int(r[0]) for r in tx.execute(
            sa.select(t.records.c.id).where(compile_where(tx, where))
            .order_by(t.records.c.id).offset(offset).limit(limit))]

    def deleted(self, tx: Tx, module_id: int, *, offset: int, limit: int,
                ) -> tuple[list[StoredRecord], bool]:
        """The module's recycle bin, most recently deleted first."""
        rows = tx.execute(
            sa.select(t.records).where(t.records.c.module_id == module_id,
                                       t.records.c.deleted_time.is_not(None))
            .order_by(t.records.c.deleted_time.desc(), t.records.c.id.desc())
            .offset(offset).limit(limit + 1)).all()
        return [record_from_row(r) for r in rows[:limit]], len(rows) > limit

    def territory_parents(self, tx: Tx) -> dict[int, int | None]:
        """Every territory id -> its parent's id (None at the root)."""
        return {int(r.id): r.parent_id for r in tx.execute(
            sa.select(t.territories.c.id, t.territories.c.parent_id))}

"""Record reads by filter: the neutral `storage.filters` tree compiled to SQL, then pages, counts,
ids, the recycle bin and the territory tree that mass update filters by.

One compilation serves SQLite and PostgreSQL: SQLAlchemy renders the JSON extraction
(`json_extract` / `->>`), and text comparisons that ignore case lower() both sides in the
database, so the two databases fold case the same way for a value and a stored text.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from corral.storage import tables as t
from corral.storage.database import Tx
from corral.storage.filters import (
    Always,
    And,
    Column,
    Cond,
    Filter,
    InTerritories,
    Never,
    Not,
    Op,
    Operand,
    Or,
)
from corral.storage.repositories.records import StoredRecord, record_from_row

SortColumn = Literal["id", "created_time", "modified_time"]
SortOrder = Literal["asc", "desc"]


def compile_filter(node: Filter) -> ColumnElement[bool]:
    """The SQL condition on `records` that `node` describes (binds every value)."""
    if isinstance(node, Cond):
        return _condition(node)
    if isinstance(node, And):
        # true()/false() first: SQLAlchemy drops them beside other parts and keeps an empty
        # group meaningful.
        return sa.and_(sa.true(), *[compile_filter(p) for p in node.parts])
    if isinstance(node, Or):
        return sa.or_(sa.false(), *[compile_filter(p) for p in node.parts])
    if isinstance(node, Not):
        return sa.not_(compile_filter(node.part))
    if isinstance(node, InTerritories):
        return t.records.c.id.in_(
            sa.select(t.record_territories.c.record_id)
            .where(t.record_territories.c.territory_id.in_(sorted(node.territory_ids))))
    if isinstance(node, Always):
        return sa.true()
    if isinstance(node, Never):
        return sa.false()
    raise TypeError(f"not a filter: {node!r}")


def _operand(operand: Operand) -> ColumnElement[Any]:
    if isinstance(operand, Column):
        return t.records.c[operand.name]
    elem = t.records.c.data[operand.key]
    value: ColumnElement[Any]
    if operand.kind == "float":
        value = elem.as_float()
    elif operand.kind == "bigint":  # up to 18 digits: compare exactly, not as floats
        value = sa.cast(elem.as_string(), sa.BigInteger)
    elif operand.kind == "boolean":
        value = elem.as_boolean()
    else:
        value = elem.as_string()
    return value


def _condition(c: Cond) -> ColumnElement[bool]:
    x = _operand(c.operand)
    values = list(c.values)
    first = values[0] if values else None
    match c.op:
        case Op.EQ:
            return x.is_(first) if isinstance(first, bool) else x == first
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
            return sa.func.lower(x) == _lower(str(first))
        case Op.I_IN:
            return sa.func.lower(x).in_([_lower(str(v)) for v in values])
        case Op.I_STARTS_WITH:
            return x.istartswith(first, autoescape=True)
        case Op.I_CONTAINS:
            return x.icontains(first, autoescape=True)
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


def _lower(value: str) -> ColumnElement[str]:
    """The database lowercases the value too: SQLite's lower() folds ASCII only, Python's more."""
    return sa.func.lower(sa.literal(value, sa.String))


def _json_literals(value: str) -> list[str]:
    """`value` as a JSON string, with non-ASCII escaped or not (serializers differ)."""
    return list(dict.fromkeys([json.dumps(value, ensure_ascii=False), json.dumps(value)]))


class RecordSearch:
    """Records selected by a filter. Pages report whether more records follow."""

    def fetch(self, tx: Tx, where: Filter, *, sort_by: SortColumn = "id",
              sort_order: SortOrder = "desc", offset: int, limit: int,
              ) -> tuple[list[StoredRecord], bool]:
        """One page in `sort_by` order, ties broken by id in the same direction."""
        col = t.records.c[sort_by]
        order = ([col.desc(), t.records.c.id.desc()] if sort_order == "desc"
                 else [col.asc(), t.records.c.id.asc()])
        rows = tx.execute(sa.select(t.records).where(compile_filter(where)).order_by(*order)
                          .offset(offset).limit(limit + 1)).all()
        return [record_from_row(r) for r in rows[:limit]], len(rows) > limit

    def count(self, tx: Tx, where: Filter) -> int:
        return int(tx.execute(sa.select(sa.func.count()).select_from(t.records)
                              .where(compile_filter(where))).scalar_one())

    def count_by_module(self, tx: Tx, where: Filter) -> dict[int, int]:
        """Selected records per module, in one grouped query (not one count per module)."""
        col = t.records.c.module_id
        return {int(m): int(n) for m, n in tx.execute(
            sa.select(col, sa.func.count()).where(compile_filter(where)).group_by(col))}

    def ids(self, tx: Tx, where: Filter, *, limit: int) -> list[int]:
        """Ids of the selected records in id order, at most `limit` of them."""
        return [int(r[0]) for r in tx.execute(
            sa.select(t.records.c.id).where(compile_filter(where))
            .order_by(t.records.c.id).limit(limit))]

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

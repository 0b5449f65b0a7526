"""How SQL reads a field of a record's JSON document: one function for the search queries and
for the per-field expression indexes (`repositories/field_indexes.py`).

A database uses an expression index only when the query spells exactly the indexed
expression, so both are built here. Two details make them match:

- the JSON path is rendered as a literal (`json_extract(data, '$."Email"')`, `data ->> 'Email'`)
  rather than bound, for keys that are plain identifiers only (`IDENTIFIER`); any other key
  stays a bound parameter: no index, still correct, and user text never becomes SQL text;
- text compared ignoring case is `lower(value)`; a prefix is searched as a range in code-point
  order (`prefix_range`): SQLite's BINARY collation orders so, and on PostgreSQL the index of
  such a field uses `text_pattern_ops` and the range its operators `~>=~` / `~<~`. (A COLLATE
  "C" on the expression would order so too, but PostgreSQL then no longer matches the query's
  expression to the index's statistics and estimates every equality at 0.5% of the rows.)
"""

from __future__ import annotations

import re
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from corral.storage.filters import JsonKind

IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# How an index reads a field: its text ignoring case, its raw text (lookup ids, ISO dates and
# datetimes), a float, an exact 64-bit integer, a boolean.
IndexKind = Literal["itext", "text", "float", "bigint", "boolean"]


def literal_int(value: int) -> ColumnElement[int]:
    """An integer rendered into the statement: a partial index `WHERE module_id = 7` serves only
    queries that say `module_id = 7` literally (SQLite; PostgreSQL's generic plans)."""
    return sa.bindparam(None, int(value), type_=sa.BigInteger, literal_execute=True)


def json_value(table: sa.FromClause, key: str, kind: JsonKind) -> ColumnElement[Any]:
    """The value under `key` in `table.data` (a records table or an alias), read as `kind`."""
    path: Any = key
    if IDENTIFIER.match(key):
        path = sa.bindparam(None, key, type_=sa.JSON.JSONStrIndexType(), literal_execute=True)
    elem = table.c.data[path]
    value: ColumnElement[Any]
    if kind == "float":
        value = elem.as_float()
    elif kind == "bigint":  # up to 18 digits: compare exactly, not as floats
        value = sa.cast(elem.as_string(), sa.BigInteger)
    elif kind == "boolean":
        value = elem.as_boolean()
    else:
        value = elem.as_string()
    return value


def folded(value: ColumnElement[Any]) -> ColumnElement[str]:
    """`value` lower-cased for comparisons that ignore case (equality, IN, prefix ranges)."""
    return sa.func.lower(value)


class _PrefixBound(ColumnElement[bool]):
    """`value >= bound` (or `<`) in code-point order: plain on SQLite (BINARY collation),
    PostgreSQL's pattern operators `~>=~` / `~<~`, which compare bytes whatever the
    database's collation and are what a `text_pattern_ops` index serves."""

    inherit_cache = True
    _is_implicitly_boolean = True  # a comparison: no "= 1" appended in a WHERE
    _traverse_internals = [("value", InternalTraversal.dp_clauseelement),
                           ("bound", InternalTraversal.dp_clauseelement),
                           ("upper", InternalTraversal.dp_boolean)]
    type = sa.Boolean()

    def __init__(self, value: ColumnElement[Any], bound: str, upper: bool) -> None:
        self.value = value
        self.bound = sa.bindparam(None, bound, type_=sa.String)
        self.upper = upper


@compiles(_PrefixBound)
def _prefix_bound(element: _PrefixBound, compiler: SQLCompiler, **kw: Any) -> str:
    op = "<" if element.upper else ">="
    return f"{compiler.process(element.value, **kw)} {op} {compiler.process(element.bound, **kw)}"


@compiles(_PrefixBound, "postgresql")
def _prefix_bound_pg(element: _PrefixBound, compiler: SQLCompiler, **kw: Any) -> str:
    op = "~<~" if element.upper else "~>=~"
    return (f"{compiler.process(element.value, **kw)} {op} "
            f"CAST({compiler.process(element.bound, **kw)} AS TEXT)")


def prefix_range(value: ColumnElement[Any], low: str, high: str) -> list[ColumnElement[bool]]:
    """`low <= value < high` in code-point order (see `_PrefixBound`)."""
    return [_PrefixBound(value, low, False), _PrefixBound(value, high, True)]


class _Names(ColumnElement[bool]):
    """Whether a record's JSON text names `key`, without parsing it (PostgreSQL: `strpos`;
    `data` is `json`, which `->>` parses again for each field it reads). Every record that
    holds a value under `key` names it, so it is the WHERE of PostgreSQL's field indexes
    (`repositories/field_indexes._index`), and a search on the field states it beside its
    comparison so the planner can prove that the index covers the condition (a partial
    index serves only a query that implies its WHERE). SQLite's indexes are `<value> IS
    NOT NULL`, which every comparison implies: there it is a plain true."""

    inherit_cache = True
    _is_implicitly_boolean = True
    _traverse_internals = [("data", InternalTraversal.dp_clauseelement),
                           ("field", InternalTraversal.dp_string)]
    type = sa.Boolean()

    def __init__(self, data: ColumnElement[Any], key: str) -> None:
        if not IDENTIFIER.match(key):
            raise ValueError(f"not an identifier: {key!r}")
        self.data = data
        self.field = key  # not `key`: a ColumnElement's own attribute


@compiles(_Names)
def _names(element: _Names, compiler: SQLCompiler, **kw: Any) -> str:
    return "1"


@compiles(_Names, "postgresql")
def _names_pg(element: _Names, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{key_position_pg(compiler.process(element.data, **kw), element.field)} > 0"


def key_position_pg(data: str, key: str) -> str:
    """PostgreSQL: where `"key"` starts in the text of the JSON column `data` (0: absent).
    The key is an identifier (letters, digits, "_"): safe as a literal, and rendered
    literally because a partial index's WHERE matches only the same constant."""
    if not IDENTIFIER.match(key):
        raise ValueError(f"not an identifier: {key!r}")
    return f"strpos(CAST({data} AS TEXT), '\"{key}\"')"


def names_key(table: sa.FromClause, key: str) -> ColumnElement[bool] | None:
    """`_Names` for `table.data` and `key`, or None for a key that gets no field index."""
    return _Names(table.c.data, key) if IDENTIFIER.match(key) else None


def indexed_value(table: sa.FromClause, key: str, kind: IndexKind) -> ColumnElement[Any]:
    """The expression a field index of `kind` holds, as queries on that field spell it."""
    if kind == "itext":
        return folded(json_value(table, key, "text"))
    return json_value(table, key, kind)

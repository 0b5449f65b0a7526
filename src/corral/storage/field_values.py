"""How SQL reads a field of a record's JSON document: one function for the search queries and
for the per-field expression indexes (`repositories/field_indexes.py`).

A database uses an expression index only when the query spells exactly the indexed
expression, so both are built here. Two details make them match:

- the JSON path is rendered as a literal (`json_extract(data, '$."Email"')`, `data ->> 'Email'`)
  rather than bound, for keys that are plain identifiers only (`IDENTIFIER`); any other key
  stays a bound parameter: no index, still correct, and user text never becomes SQL text;
- text compared ignoring case is `lower(value)`, and on PostgreSQL in the "C" collation
  (`FOLDED`), so that a prefix is a contiguous range of the index in code-point order on both
  databases (SQLite's default BINARY collation already orders UTF-8 by code point).
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
INDEX_KINDS: frozenset[str] = frozenset({"itext", "text", "float", "bigint", "boolean"})


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


class _Folded(ColumnElement[str]):
    """lower(value), in the "C" collation on PostgreSQL (see the module docstring)."""

    inherit_cache = True
    _traverse_internals = [("value", InternalTraversal.dp_clauseelement)]
    type = sa.String()

    def __init__(self, value: ColumnElement[Any]) -> None:
        self.value = sa.func.lower(value)


@compiles(_Folded)
def _folded(element: _Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.value, **kw)


@compiles(_Folded, "postgresql")
def _folded_pg(element: _Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.value, **kw)} COLLATE "C")'


def folded(value: ColumnElement[Any]) -> ColumnElement[str]:
    """`value` lower-cased for comparisons that ignore case (equality, IN, prefix ranges)."""
    return _Folded(value)


def indexed_value(table: sa.FromClause, key: str, kind: IndexKind) -> ColumnElement[Any]:
    """The expression a field index of `kind` holds, as queries on that field spell it."""
    if kind == "itext":
        return folded(json_value(table, key, "text"))
    return json_value(table, key, kind)

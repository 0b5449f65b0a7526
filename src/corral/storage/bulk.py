"""executemany of the write path's hot statements without SQLAlchemy's per-row overhead.

`tx.execute(stmt, rows)` builds a parameter dictionary per row through the compiled statement's
generic machinery (`construct_params`) before applying each column type's bind processor. For
the few statements the write path runs with hundreds of rows per batch (records, record_keys,
change_log), that bookkeeping costs more than the database does. `execute_many` compiles the
statement once per dialect, keeps the same bind processors SQLAlchemy would apply (JSON
serialisation, SQLite's datetime text, ...), applies them in one loop and hands the rows to the
driver's executemany: identical values in the database, a fraction of the Python work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

Processor = Callable[[Any], Any] | None
Dml = sa.Insert | sa.Update | sa.Delete


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # the row keys, in the statement's parameter order
    processors: tuple[Processor, ...]
    positional: bool
    indices: tuple[int, ...]  # where each name sits in the row keys

    def params(self, rows: Sequence[Any], *, by_position: bool = False) -> list[Any]:
        """The driver's parameters, built column by column (one comprehension per column is
        several times cheaper than a generator per row). Rows are mappings by key, or with
        `by_position` sequences in the order of the keys."""
        at: tuple[str | int, ...] = self.indices if by_position else self.names
        columns = [_column(rows, k, p) for k, p in zip(at, self.processors, strict=True)]
        if self.positional:
            return list(zip(*columns, strict=True))
        return [dict(zip(self.names, values, strict=True))
                for values in zip(*columns, strict=True)]


def _column(rows: Sequence[Any], at: str | int, proc: Processor) -> list[Any]:
    values = [row[at] for row in rows]
    if proc is None:
        return values
    if not isinstance(values[0], datetime):
        return [proc(v) for v in values]
    # Timestamps repeat within a batch (every row of it is stamped with the same `now`):
    # SQLite's datetime processor formats each distinct one once.
    done: dict[Any, Any] = {}
    out = []
    for v in values:
        hit = done.get(v, _MISSING)
        if hit is _MISSING:
            hit = done[v] = proc(v)
        out.append(hit)
    return out


_MISSING = object()


_PLANS: dict[tuple[int, str, tuple[str, ...]], tuple[Dml, _Plan]] = {}


def _plan(dialect: Dialect, stmt: Dml, keys: tuple[str, ...]) -> _Plan:
    cache_key = (id(stmt), dialect.name, keys)
    hit = _PLANS.get(cache_key)
    if hit is not None and hit[0] is stmt:
        return hit[1]
    target = stmt
    if isinstance(stmt, sa.Insert):
        # Python-side column defaults are applied by SQLAlchemy's own path only: demand them.
        missing = [c.name for c in stmt.table.c if c.default is not None and c.name not in keys]
        if missing:
            raise ValueError(f"execute_many needs values for {missing}")
        target = stmt.inline()  # no RETURNING of the generated key
    compiled = target.compile(dialect=dialect, column_keys=list(keys))
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
    processors = tuple(compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect)
                       for n in names)
    plan = _Plan(compiled.string, names, processors, compiled.positional,
                 tuple(keys.index(n) for n in names))
    _PLANS[cache_key] = (stmt, plan)
    return plan


def execute_many(tx: Connection, stmt: Dml, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run `stmt` (a module-level INSERT, UPDATE or DELETE whose parameters are the rows' keys)
    once per row, as one driver executemany. Every row has the same keys."""
    if not rows:
        return
    plan = _plan(tx.dialect, stmt, tuple(rows[0]))
    tx.exec_driver_sql(plan.sql, plan.params(rows))


def execute_tuples(tx: Connection, stmt: Dml, keys: Sequence[str],
                   rows: Sequence[Sequence[Any]]) -> None:
    """`execute_many` of rows given as sequences (named tuples) whose first items are the
    values of `keys`, in that order: no dictionary per row."""
    if not rows:
        return
    plan = _plan(tx.dialect, stmt, tuple(keys))
    tx.exec_driver_sql(plan.sql, plan.params(rows, by_position=True))

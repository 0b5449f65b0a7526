"""Criteria evaluated on one record in memory (pure), with custom-view semantics.

Used where a rule must be decided inside a write (blueprint entry criteria, and later workflow
and approval criteria), mirroring `RecordQuery.compile(mode="view")`: text compares exactly but
case-insensitively, numbers numerically, multi-select values by membership.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from corral.metadata.model import Module
from corral.records import criteria as cr
from corral.records.validate import format_utc


def _value(module: Module, rec: Any, name: str) -> Any:
    if name == "id":
        return str(rec.id)
    f = module.field(name)
    if f is not None and f.column is not None:
        value = getattr(rec, f.column)
        if isinstance(value, datetime):
            return format_utc(value.replace(tzinfo=UTC) if value.tzinfo is None
                              else value)
        return str(value) if value is not None else None
    return rec.data.get(name)


def _num(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def matches(module: Module, criteria: cr.Criteria, rec: Any, *, tz: ZoneInfo) -> bool:
    if isinstance(criteria, cr.Group):
        results = (matches(module, c, rec, tz=tz) for c in criteria.items)
        return all(results) if criteria.operator == "and" else any(results)
    c = criteria
    f = module.field(c.field)
    data_type = f.data_type if f is not None else "text"
    wanted = list(c.value) if isinstance(c.value, tuple) else [c.value]
    actual = _value(module, rec, c.field)
    if data_type == "datetime":
        def norm_dt(x: str) -> str:
            parsed = datetime.fromisoformat(x.strip())
            return format_utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=tz))
        try:
            wanted = [norm_dt(w) for w in wanted]
        except ValueError:
            return False
    if data_type == "multiselectpicklist":
        have = [str(x).lower() for x in (actual or [])]
        want = [w.lower() for w in wanted]
        if c.operator == "starts_with":
            return any(h.startswith(want[0]) for h in have)
        hit = any(w in have for w in want)
        return hit if c.operator != "not_equal" else not hit
    if actual is None:
        return c.operator == "not_equal"
    if data_type in {"integer", "bigint", "double", "currency", "percent", "decimal"}:
        a, ws = _num(actual), [_num(w) for w in wanted]
        if a is None or any(w is None for w in ws):
            return False
        return _compare(a, c.operator, ws)
    if data_type == "boolean":
        want_bool = wanted[0].lower() == "true"
        return (actual is want_bool) == (c.operator == "equals")
    if isinstance(actual, str) and data_type not in {"date", "datetime"}:
        return _compare(actual.lower(), c.operator, [w.lower() for w in wanted])
    return _compare(str(actual), c.operator, wanted)


def _compare(a: Any, op: str, ws: list[Any]) -> bool:
    if op == "equals":
        return bool(a == ws[0])
    if op == "not_equal":
        return bool(a != ws[0])
    if op == "in":
        return a in ws
    if op == "starts_with":
        return str(a).startswith(str(ws[0]))
    if op == "greater_than":
        return bool(a > ws[0])
    if op == "greater_equal":
        return bool(a >= ws[0])
    if op == "less_than":
        return bool(a < ws[0])
    if op == "less_equal":
        return bool(a <= ws[0])
    if op == "between":
        return bool(ws[0] <= a <= ws[1])
    return False

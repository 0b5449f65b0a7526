"""Zoho search criteria: parse, render and convert to/from v8 criteria JSON (pure, stdlib only)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

OPERATORS: tuple[str, ...] = (
    "equals",
    "not_equal",
    "starts_with",
    "in",
    "greater_equal",
    "greater_than",
    "less_equal",
    "less_than",
    "between",
)
GROUP_OPERATORS: tuple[str, ...] = ("and", "or")
MAX_CONDITIONS = 10
MAX_IN_VALUES = 100
# Not a Zoho rule: bounds recursion so `((((...` yields INVALID_QUERY instead of RecursionError.
MAX_DEPTH = 32
# Longest search value (each criteria value, `word`, `email`, `phone`). Zoho documents none;
# 255 is its Single Line field maximum, longer than any searchable field but a text area holds,
# and far below what makes a database pattern too complex (SQLite: 50,000 bytes).
MAX_SEARCH_VALUE = 255

_LIST_OPERATORS = ("in", "between")
_ESCAPABLE = "(),\\"
_FIELD_RE = re.compile(r"[A-Za-z0-9_$.]+")

# v8 comparator -> search operator. The v8 schema also lists contains, ends_with, not_contains,
# not_in and not_between; the search grammar has no equivalent, so those are rejected.
_V8_TO_OPERATOR = {
    "equal": "equals",
    "not_equal": "not_equal",
    "starts_with": "starts_with",
    "in": "in",
    "greater_equal": "greater_equal",
    "greater_than": "greater_than",
    "less_equal": "less_equal",
    "less_than": "less_than",
    "between": "between",
}
_OPERATOR_TO_V8 = {op: v8 for v8, op in _V8_TO_OPERATOR.items()}


class CriteriaError(ValueError):
    """reason: short human text saying which part is wrong (goes into INVALID_QUERY details)."""

    def __init__(self, reason: str, *, part: str | None = None) -> None:
        super().__init__(reason if part is None else f"{reason} (at {part!r})")
        self.reason = reason
        self.part = part


@dataclass(frozen=True)
class Condition:
    field: str  # api_name
    operator: str  # one of OPERATORS
    value: str | tuple[str, ...]  # tuple for `in` (1..100 values) and `between` (exactly 2)

    def __post_init__(self) -> None:
        if not isinstance(self.field, str) or not _FIELD_RE.fullmatch(self.field):
            reason = (
                "empty field name" if self.field == "" else f"invalid field name {self.field!r}"
            )
            raise CriteriaError(reason, part=_as_part(self.field))
        if self.operator not in OPERATORS:
            raise CriteriaError(f"unknown operator {self.operator!r}", part=_as_part(self.operator))
        if self.operator in _LIST_OPERATORS:
            if not isinstance(self.value, tuple):
                raise CriteriaError(f"{self.operator!r} needs a tuple of values")
            for item in self.value:
                _check_scalar(item, self.field)
            count = len(self.value)
            if self.operator == "between" and count != 2:
                raise CriteriaError(
                    f"'between' needs exactly 2 values, got {count}", part=self.field
                )
            if self.operator == "in" and not 1 <= count <= MAX_IN_VALUES:
                raise CriteriaError(
                    f"'in' takes 1 to {MAX_IN_VALUES} values, got {count}", part=self.field
                )
        else:
            _check_scalar(self.value, self.field)


@dataclass(frozen=True)
class Group:
    operator: str  # "and" | "or"
    items: tuple[Condition | Group, ...]

    def __post_init__(self) -> None:
        if self.operator not in GROUP_OPERATORS:
            raise CriteriaError(f"unknown group operator {self.operator!r}")
        if not isinstance(self.items, tuple) or len(self.items) < 2:
            # A one-item group would render as redundant parentheses and parse back as its item.
            raise CriteriaError("a group needs at least 2 items")
        for item in self.items:
            if not isinstance(item, (Condition, Group)):
                raise CriteriaError(f"group item must be a Condition or Group, not {item!r}")


Criteria = Condition | Group


def _as_part(obj: object) -> str | None:
    return obj if isinstance(obj, str) else None


def _check_scalar(value: object, field: str) -> None:
    if not isinstance(value, str):
        raise CriteriaError(f"value must be a string, not {type(value).__name__}", part=field)
    if value.strip() == "":
        raise CriteriaError("empty value", part=field)


# --- parsing ---------------------------------------------------------------------------------


def parse_criteria(text: str) -> Criteria:
    """Parse a search `criteria` string; raise CriteriaError saying which part is wrong."""
    if not isinstance(text, str) or text.strip() == "":
        raise CriteriaError("criteria is empty")
    stripped = text.strip()
    if stripped.startswith("("):
        criteria = _Parser(stripped).parse()
    else:
        # Zoho allows a single criterion without parentheses: `Campaign_Name:equals:CRM`.
        end = _scan_condition_body(stripped, 0)
        if end != len(stripped):
            raise CriteriaError(
                "unbalanced parentheses: unexpected ')'; wrap each criterion in parentheses",
                part=stripped,
            )
        criteria = _build_condition(stripped)
    count = sum(1 for _ in iter_conditions(criteria))
    if count > MAX_CONDITIONS:
        raise CriteriaError(
            f"too many conditions: {count}, the limit is {MAX_CONDITIONS}",
        )
    return criteria


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> Criteria:
        criteria = self._expr(depth=0)
        self._skip_ws()
        if self.pos < len(self.text):
            if self.text[self.pos] == ")":
                raise CriteriaError(
                    "unbalanced parentheses: unexpected ')'", part=self.text[self.pos :]
                )
            raise CriteriaError("unexpected text after criteria", part=self.text[self.pos :])
        return criteria

    def _skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _expr(self, depth: int) -> Criteria:
        """term (and|or term)* — one operator per level; mixing needs explicit grouping."""
        start = self.pos
        items = [self._term(depth)]
        operator: str | None = None
        while True:
            self._skip_ws()
            if self._peek() in ("", ")"):
                break
            word_start = self.pos
            while self.pos < len(self.text) and self.text[self.pos].isalpha():
                self.pos += 1
            word = self.text[word_start : self.pos].lower()
            if word not in GROUP_OPERATORS:
                raise CriteriaError(
                    "expected 'and' or 'or' between criteria", part=self.text[word_start:]
                )
            if operator is not None and word != operator:
                raise CriteriaError(
                    "cannot mix 'and' and 'or' at the same level; group them with parentheses",
                    part=self.text[start : self.pos],
                )
            operator = word
            self._skip_ws()
            if self._peek() == "":
                raise CriteriaError(f"missing criterion after {word!r}", part=self.text[start:])
            items.append(self._term(depth))
        if operator is None:
            return items[0]
        return Group(operator, tuple(items))

    def _term(self, depth: int) -> Criteria:
        """'(' (expr | condition) ')' — redundant parentheses are transparent."""
        self._skip_ws()
        if self._peek() != "(":
            raise CriteriaError("expected '('", part=self.text[self.pos :] or None)
        if depth >= MAX_DEPTH:
            raise CriteriaError(f"criteria nested deeper than {MAX_DEPTH} levels")
        open_pos = self.pos
        self.pos += 1
        self._skip_ws()
        inner: Criteria
        if self._peek() == "(":
            inner = self._expr(depth + 1)
            self._skip_ws()
        else:
            body_start = self.pos
            self.pos = _scan_condition_body(self.text, body_start)
            if self.pos == len(self.text):
                raise CriteriaError(
                    "unbalanced parentheses: missing ')'", part=self.text[open_pos:]
                )
            inner = _build_condition(self.text[body_start : self.pos])
        if self._peek() != ")":
            raise CriteriaError("unbalanced parentheses: missing ')'", part=self.text[open_pos:])
        self.pos += 1
        return inner


def _scan_condition_body(text: str, start: int) -> int:
    """Index of the first unescaped ')' at or after start (len(text) if none)."""
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in _ESCAPABLE:
            i += 2
        elif char == ")":
            return i
        elif char == "(":
            raise CriteriaError(
                "unescaped '(' in criterion; escape it as \\(", part=text[start : i + 1]
            )
        else:
            i += 1
    return i


def _build_condition(body: str) -> Condition:
    """`field:operator:value`; only the first two colons separate, the value may hold more."""
    parts = body.split(":", 2)
    if len(parts) < 3:
        raise CriteriaError("criterion must look like field:operator:value", part=body)
    field, operator, raw_value = parts[0].strip(), parts[1].strip(), parts[2]
    if field == "":
        raise CriteriaError("empty field name", part=body)
    if not _FIELD_RE.fullmatch(field):
        raise CriteriaError(f"invalid field name {field!r}", part=body)
    # Operator case is not documented; accepting any case is harmless and normalises it.
    canonical = operator.lower()
    if canonical not in OPERATORS:
        raise CriteriaError(f"unknown operator {operator!r}", part=body)
    value: str | tuple[str, ...]
    if canonical in _LIST_OPERATORS:
        value = tuple(_unescape(item) for item in _split_unescaped_commas(raw_value))
        if any(item.strip() == "" for item in value):
            raise CriteriaError("empty value", part=body)
    else:
        # Zoho says commas must be escaped; an unescaped one in a single-value operator is
        # kept literally rather than rejected (Zoho's behaviour there is undocumented).
        value = _unescape(raw_value)
        if value.strip() == "":
            raise CriteriaError("empty value", part=body)
    try:
        return Condition(field, canonical, value)
    except CriteriaError as exc:
        raise CriteriaError(exc.reason, part=body) from None


def _split_unescaped_commas(raw: str) -> list[str]:
    pieces: list[str] = []
    start = i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw) and raw[i + 1] in _ESCAPABLE:
            i += 2
        elif raw[i] == ",":
            pieces.append(raw[start:i])
            start = i = i + 1
        else:
            i += 1
    pieces.append(raw[start:])
    return pieces


def _unescape(raw: str) -> str:
    """`\\(`, `\\)`, `\\,` and `\\\\` are escapes; any other backslash is literal."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw) and raw[i + 1] in _ESCAPABLE:
            out.append(raw[i + 1])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def check_value_lengths(criteria: Criteria, limit: int = MAX_SEARCH_VALUE) -> None:
    """Raise CriteriaError naming the field of the first value longer than `limit` characters."""
    for condition in iter_conditions(criteria):
        values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
        if any(len(value) > limit for value in values):
            raise CriteriaError(f"value longer than {limit} characters", part=condition.field)


# --- walking and rendering -------------------------------------------------------------------


def iter_conditions(criteria: Criteria) -> Iterator[Condition]:
    """Every Condition, depth first, left to right."""
    if isinstance(criteria, Condition):
        yield criteria
        return
    for item in criteria.items:
        yield from iter_conditions(item)


def _escape(value: str) -> str:
    return "".join("\\" + char if char in _ESCAPABLE else char for char in value)


def render_criteria(criteria: Criteria) -> str:
    """Inverse of parse_criteria: every condition and group parenthesised, values escaped."""
    if isinstance(criteria, Condition):
        if isinstance(criteria.value, tuple):
            value = ",".join(_escape(item) for item in criteria.value)
        else:
            value = _escape(criteria.value)
        return f"({criteria.field}:{criteria.operator}:{value})"
    return "(" + criteria.operator.join(render_criteria(item) for item in criteria.items) + ")"


# --- v8 criteria JSON (custom views, mass update) --------------------------------------------


def criteria_from_v8(obj: dict[str, Any]) -> Criteria:
    """Convert v8 `{comparator, field, value}` / `{group_operator, group}` JSON.

    The 10-condition search limit is not applied here; callers enforce their own limits.
    """
    return _from_v8(obj, depth=0)


def _from_v8(obj: object, depth: int) -> Criteria:
    if not isinstance(obj, dict):
        raise CriteriaError("criteria must be a JSON object")
    if depth >= MAX_DEPTH:
        raise CriteriaError(f"criteria nested deeper than {MAX_DEPTH} levels")
    # The custom-view schema sends every key, with null for the unused ones.
    group = obj.get("group")
    comparator = obj.get("comparator")
    if group is not None:
        if comparator is not None:
            raise CriteriaError("criteria has both 'comparator' and 'group'")
        operator = obj.get("group_operator")
        if not isinstance(operator, str) or operator.lower() not in GROUP_OPERATORS:
            raise CriteriaError(
                f"group_operator must be 'and' or 'or', got {operator!r}", part="group_operator"
            )
        if not isinstance(group, list) or not group:
            raise CriteriaError("group must be a non-empty list", part="group")
        items = tuple(_from_v8(item, depth + 1) for item in group)
        # A one-element group means the element itself (Group always holds 2+ items).
        return items[0] if len(items) == 1 else Group(operator.lower(), items)
    if comparator is None:
        raise CriteriaError("criteria needs 'comparator' or 'group'")
    if not isinstance(comparator, str) or comparator not in _V8_TO_OPERATOR:
        raise CriteriaError(f"unsupported comparator {comparator!r}", part="comparator")
    operator = _V8_TO_OPERATOR[comparator]
    field = _v8_field(obj.get("field"))
    raw = obj.get("value")
    value: str | tuple[str, ...]
    if operator in _LIST_OPERATORS:
        if not isinstance(raw, list):
            raise CriteriaError(f"{comparator!r} needs a list value", part=field)
        value = tuple(_v8_scalar(item, field) for item in raw)
    else:
        value = _v8_scalar(raw, field)
    return Condition(field, operator, value)


def _v8_field(field: object) -> str:
    # custom_views.json: {"api_name": ..., "id": ...}; record.json (mass update): a plain string.
    if isinstance(field, dict):
        field = field.get("api_name")
    if not isinstance(field, str) or field == "":
        raise CriteriaError("criteria needs field.api_name", part="field")
    return field


def _v8_scalar(value: object, field: str) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CriteriaError("value must be a finite number", part=field)
        return str(value)
    if isinstance(value, str):
        return value
    if value is None:
        raise CriteriaError("missing value", part=field)
    raise CriteriaError(
        f"value must be a string, number or boolean, not {type(value).__name__}", part=field
    )


def criteria_to_v8(criteria: Criteria) -> dict[str, Any]:
    """Inverse of criteria_from_v8 (values come out as strings)."""
    if isinstance(criteria, Condition):
        value: str | list[str] = (
            list(criteria.value) if isinstance(criteria.value, tuple) else criteria.value
        )
        return {
            "comparator": _OPERATOR_TO_V8[criteria.operator],
            "field": {"api_name": criteria.field},
            "value": value,
        }
    return {
        "group_operator": criteria.operator,
        "group": [criteria_to_v8(item) for item in criteria.items],
    }

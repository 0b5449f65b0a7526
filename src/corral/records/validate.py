"""Validation of one input record against its module's fields (pure).

Turns wire values into stored values: numbers stay numbers, bigints become ints, datetimes are
stored in UTC as `YYYY-MM-DDTHH:MM:SS+00:00` (so they sort as text), lookups and owners become id
strings. Errors are returned as CorralError values carrying `api_name` and `json_path`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email

from corral.errors import CorralError, InvalidData, MandatoryNotFound
from corral.metadata.model import Field, Module

# Phones: Zoho's documented pattern (facts §9) is reconstructed from escaped text and rejects
# common forms such as `+1 (555) 222-3333`; Corral accepts digits with the usual separators,
# extension marks and letters (vanity numbers), and at least one digit.
PHONE_RE = re.compile(r"^\+?(?=.*[0-9])[0-9A-Za-z ().\-/,;#*]+$")
# Zoho's URL pattern (facts §9).
URL_RE = re.compile(
    r"^(http:\/\/www.|https:\/\/www.|ftp:\/\/www.|www.|http:\/\/|https:\/\/|ftp:\/\/|){1}"
    r"[^\x00-\x19\x22-\x27\x2A-\x2C\x2E-\x2F\x3A-\x3F\x5B-\x5E\x60\x7B\x7D-\x7F]+"
    r"(\.[^\x00-\x19\x22\x24-\x2C\x2E-\x2F\x3C\x3E\x40\x5B-\x5E\x60\x7B\x7D-\x7F]+)+([\/\?].*)*$")
# Fast path for the common plain-ASCII address; anything else goes to email-validator.
SIMPLE_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.[A-Za-z]{2,22}$")
SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")
ID_RE = re.compile(r"^[0-9]{1,19}$")

# Keys the server maintains or that describe the request, never stored as field values.
IGNORED_KEYS = frozenset({"id", "$append_values", "Layout", "$approved", "$se_module",
                          "se_module"})
# The record's tags: `[{"name"} | {"id"}]` on the wire; the write path's `RecordTags` step
# (records/tags.py) turns names into the ids that are stored.
TAG_KEY = "Tag"
# Multi-module lookups: the module they point at is named by `$se_module` (Zoho's rule; a note's
# parent may also name it as `se_module` (v2) or `Parent_Id.module.api_name` (v8)).
POLYMORPHIC = ("What_Id", "Parent_Id")


@dataclass(slots=True)
class Checked:
    """Validated changes of one record: field api_name -> stored value."""

    values: dict[str, Any] = field(default_factory=dict)
    append: frozenset[str] = frozenset()  # multiselect fields whose values are appended
    error: CorralError | None = None


def path(index: int, api_name: str) -> str:
    return f"$.data[{index}].{api_name}"


def invalid(f: Field, index: int, **extra: Any) -> InvalidData:
    return InvalidData(details={**extra, "api_name": f.api_name,
                                "json_path": path(index, f.api_name)})


def parse_record_id(value: Any) -> int | None:
    """Ids arrive as JSON numbers (v2 SDK, 64-bit) or decimal strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and ID_RE.match(value.strip()):
        n = int(value.strip())
        return n if 0 < n < 2**63 else None
    return None


def format_utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def email_ok(text: str) -> bool:
    if SIMPLE_EMAIL_RE.match(text) and "--" not in text.rpartition("@")[2] and \
            text.rpartition(".")[2].lower() not in SPECIAL_USE and len(text) <= 254 and \
            len(text.rpartition("@")[0]) <= 64:
        return True
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _digits_before_point(value: float | int) -> int:
    return len(str(int(abs(value)))) if value else 1


Converted = tuple[Any, CorralError | None]


def _text(f: Field, value: Any, index: int, _tz: ZoneInfo) -> Converted:
    dt, max_len = f.data_type, f.max_length
    if not isinstance(value, str):
        return None, invalid(f, index, expected_data_type=f.json_type)
    if dt == "picklist" and value == "-None-":
        return None, None
    if max_len is not None and len(value) > max_len:
        return None, invalid(f, index, maximum_length=max_len)
    if value == "":
        return None, None
    if dt == "email":
        return (value.strip(), None) if email_ok(value.strip()) else (None, invalid(f, index))
    if dt == "phone" and not PHONE_RE.match(value):
        return None, invalid(f, index)
    if dt == "website" and not URL_RE.match(value):
        return None, invalid(f, index)
    return value, None


def _integer(f: Field, value: Any, index: int, _tz: ZoneInfo) -> Converted:
    if isinstance(value, bool) or not isinstance(value, int):
        return None, invalid(f, index, expected_data_type="integer")
    if len(str(abs(value))) > (f.max_length or 9):
        return None, invalid(f, index, maximum_length=f.max_length or 9)
    return value, None


def _bigint(f: Field, value: Any, index: int, _tz: ZoneInfo) -> Converted:
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        return None, invalid(f, index, expected_data_type="bigint")
    if len(str(abs(value))) > (f.max_length or 18):
        return None, invalid(f, index, maximum_length=f.max_length or 18)
    return value, None


def _double(f: Field, value: Any, index: int, _tz: ZoneInfo) -> Converted:
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not math.isfinite(value)):
        return None, invalid(f, index, expected_data_type="double")
    limit = 5 if f.data_type == "percent" else (f.max_length or 16)
    if _digits_before_point(value) > limit:
        return None, invalid(f, index, maximum_length=limit)
    return value, None


def _boolean(f: Field, value: Any, index: int, _tz: ZoneInfo) -> Converted:
    if not isinstance(value, bool):
        return None, invalid(f, index, expected_data_type="boolean")
    return value, None


def _date(f: Field, value: Any, index: int, _tz: ZoneInfo) -> Converted:
    if not isinstance(value, str):
        return None, invalid(f, index, expected_data_type="date")
    try:
        return date.fromisoformat(value.strip()).isoformat(), None
    except ValueError:
        return None, invalid(f, index, expected_data_type="date")


def _datetime(f: Field, value: Any, index: int, tz: ZoneInfo) -> Converted:
    if not isinstance(value, str):
        return None, invalid(f, index, expected_data_type="datetime")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None, invalid(f, index, expected_data_type="datetime")
    if parsed.tzinfo is None:  # undocumented: read as the user's own time zone
        parsed = parsed.replace(tzinfo=tz)
    return format_utc(parsed), None


def _multiselect(f: Field, value: Any, index: int, _tz: ZoneInfo) -> Converted:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None, invalid(f, index, expected_data_type="jsonarray")
    cleaned = [v for v in dict.fromkeys(value) if v and v != "-None-"]
    if sum(len(v) for v in cleaned) > (f.max_length or 2000):
        return None, invalid(f, index, maximum_length=f.max_length or 2000)
    return cleaned, None


def _lookup(f: Field, value: Any, index: int, _tz: ZoneInfo) -> Converted:
    raw = value.get("id") if isinstance(value, dict) else value
    rid = parse_record_id(raw)
    if rid is None:
        return None, invalid(f, index, expected_data_type="jsonobject")
    return str(rid), None


def _subform(f: Field, value: Any, index: int, _tz: ZoneInfo) -> Converted:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return None, invalid(f, index, expected_data_type="jsonarray")
    return value, None


_CONVERTERS: dict[str, Callable[[Field, Any, int, ZoneInfo], Converted]] = {
    **dict.fromkeys(("text", "textarea", "email", "phone", "website", "picklist"), _text),
    "integer": _integer, "bigint": _bigint,
    **dict.fromkeys(("double", "currency", "decimal", "percent"), _double),
    "boolean": _boolean, "date": _date, "datetime": _datetime,
    "multiselectpicklist": _multiselect, "lookup": _lookup, "ownerlookup": _lookup,
    "subform": _subform,
}


def _convert(f: Field, value: Any, index: int, tz: ZoneInfo) -> Converted:
    """The stored form of `value` for field `f`, or the per-record error."""
    convert = _CONVERTERS.get(f.data_type)
    if convert is None:  # pragma: no cover - every data type has a converter
        return None, invalid(f, index)
    result: Converted = convert(f, value, index, tz)
    return result


def tag_value(value: Any) -> list[Any] | None:
    """A `Tag` value as given: a list of `{"name"}` / `{"id"}` objects or id/name strings."""
    if value is None:
        return []
    if not isinstance(value, list):
        return None
    for item in value:
        if isinstance(item, str) and item.strip():
            continue
        if isinstance(item, dict) and (isinstance(item.get("name"), str)
                                       or parse_record_id(item.get("id")) is not None):
            continue
        return None
    return list(value)


def check_record(module: Module, raw: Any, index: int, *, tz: ZoneInfo,
                 read_only: frozenset[str] = frozenset()) -> Checked:
    """Validate the fields present in `raw`; unknown field names are ignored (as in Zoho)."""
    out = Checked()
    if not isinstance(raw, dict):
        out.error = InvalidData(details={"expected_data_type": "jsonobject",
                                         "json_path": f"$.data[{index}]"})
        return out
    append_spec = raw.get("$append_values")
    if isinstance(append_spec, dict):
        out.append = frozenset(k for k, v in append_spec.items() if v is True)
    for key, value in raw.items():
        if key in IGNORED_KEYS or key.startswith("$"):
            continue
        if key == TAG_KEY:
            tags = tag_value(value)
            if tags is None:
                out.error = InvalidData(details={"expected_data_type": "jsonarray",
                                                 "api_name": key, "json_path": path(index, key)})
                return out
            out.values[key] = tags
            continue
        f = module.field(key)
        if f is None or f.system:
            continue
        if f.read_only or key in read_only:
            out.error = invalid(f, index)
            return out
        if value is None:
            out.values[key] = None
            continue
        converted, err = _convert(f, value, index, tz)
        if err is not None:
            out.error = err
            return out
        out.values[key] = converted
    se_module = _se_module(raw)
    if isinstance(se_module, str) and any(n in module.by_name for n in POLYMORPHIC):
        out.values["$se_module"] = se_module  # names the module What_Id / Parent_Id points at
        if se_module == module.api_name and out.values.get("Parent_Id") is not None:
            out.error = invalid(module.by_name["Parent_Id"], index)  # notes have no notes
    elif "Parent_Id" in out.values and out.values["Parent_Id"] is not None:
        out.error = MandatoryNotFound(details={"api_name": "se_module",
                                               "json_path": path(index, "se_module")})
    return out


def _se_module(raw: dict[str, Any]) -> Any:
    """`$se_module`, v2 notes' `se_module`, or v8 notes' `Parent_Id.module.api_name`."""
    parent = raw.get("Parent_Id")
    if isinstance(parent, dict) and isinstance(parent.get("module"), dict):
        return parent["module"].get("api_name")
    return raw.get("$se_module", raw.get("se_module"))


def missing_mandatory(fields: Iterable[Field], data: dict[str, Any],
                      index: int) -> CorralError | None:
    """MANDATORY_NOT_FOUND for the first mandatory field (of `fields`) without a value."""
    for f in fields:
        if not f.mandatory:
            continue
        value = data.get(f.api_name)
        if value is None or value == "" or value == []:
            return MandatoryNotFound(details={"api_name": f.api_name,
                                              "json_path": path(index, f.api_name)})
    return None


def full_name(data: dict[str, Any]) -> str | None:
    parts = [data.get("First_Name"), data.get("Last_Name")]
    text = " ".join(p for p in parts if p)
    return text or None

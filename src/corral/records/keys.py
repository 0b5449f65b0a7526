"""Normalised forms of duplicate-check and unique values (pure).

Email and other case-insensitive text compare case-folded with surrounding white space removed;
phones compare on digits with an optional leading '+', so `+1 (555) 222-3333` and `+15552223333`
are one key. Corral goes beyond Zoho here (see COMPATIBILITY.md).
"""

from __future__ import annotations

from typing import Any

from corral.metadata.model import Field, Module

MAX_KEY_LENGTH = 400


def normalise_phone(value: str) -> str:
    text = value.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    return ("+" + digits) if text.startswith("+") else digits


def normalise(field: Field, value: Any) -> str | None:
    """The key under which `value` of `field` is stored and matched; None when there is none."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if not isinstance(value, str):
        return None
    if field.data_type == "phone":
        key = normalise_phone(value)
    elif field.data_type in {"integer", "bigint"}:
        key = value.strip().lstrip("0") or "0"
    elif field.case_insensitive:
        key = value.strip().casefold()
    else:
        key = value.strip()
    return key[:MAX_KEY_LENGTH] if key else None


def keys_of(module: Module, rec: Any) -> dict[int, str]:
    """field id -> normalised key for the record's key fields that have a value."""
    out: dict[int, str] = {}
    for f in module.key_fields:
        key = normalise(f, rec.data.get(f.api_name))
        if key is not None:
            out[f.id] = key
    return out

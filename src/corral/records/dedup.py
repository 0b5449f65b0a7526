"""The upsert check order (pure): which fields decide whether a record already exists.

Zoho's table (Kaizen #56, facts §3): fields listed in `duplicate_check_fields` first, in the
given order, then the remaining user-defined unique fields; the module's system-defined field
is checked only when listed, or when the key is absent (then: system field, then unique fields).
The system field keeps that role even when it is also flagged unique (Email of Leads).
"""

from __future__ import annotations

from typing import Any

from corral.errors import InvalidData, NotSupported
from corral.metadata.model import Field, Module


def check_order(module: Module, duplicate_check_fields: Any) -> list[Field]:
    system = module.field(module.dup_check_field) if module.dup_check_field else None
    user_unique = [f for f in module.fields if f.unique and f is not system]
    if duplicate_check_fields is None:
        order = ([system] if system else []) + user_unique
        if not order:
            raise NotSupported("upsert is not supported for this module: it has no "
                               "duplicate check field", {"api_name": module.api_name})
        return order
    if not isinstance(duplicate_check_fields, list):
        raise InvalidData(details={"api_name": "duplicate_check_fields",
                                   "json_path": "$.duplicate_check_fields",
                                   "expected_data_type": "jsonarray"})
    allowed = {f.api_name: f for f in ([system] if system else []) + user_unique}
    listed: list[Field] = []
    for i, name in enumerate(duplicate_check_fields):
        f = allowed.get(name) if isinstance(name, str) else None
        if f is None:
            raise InvalidData(details={"api_name": str(name),
                                       "json_path": f"$.duplicate_check_fields[{i}]"})
        if f not in listed:
            listed.append(f)
    return listed + [f for f in user_unique if f not in listed]

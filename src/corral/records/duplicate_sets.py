"""`GET /{module}/actions/find_duplicates`: the module's live records grouped into duplicate
sets by `records.matching` (Corral's own API; Zoho's find-and-merge has no public finder)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from corral.errors import InvalidData
from corral.metadata.model import Field, Module
from corral.records.matching import DEFAULT_THRESHOLD, DuplicateSet, MatchField, find_duplicates
from corral.storage.database import Database
from corral.storage.repositories.records import RecordRepository

MATCHABLE = frozenset({"text", "email", "phone", "website", "textarea"})
COMPANY_FIELDS = frozenset({"Company", "Account_Name", "Vendor_Name"})
MAX_FIELDS = 10


def match_field(f: Field) -> MatchField:
    if f.data_type in ("email", "phone"):
        return MatchField(f.api_name, f.data_type)
    return MatchField(f.api_name, "company" if f.api_name in COMPANY_FIELDS else "text")


def default_fields(module: Module) -> list[Field]:
    """Emails, phones, the display field and the company, as the module has them."""
    out = [f for f in module.fields if f.data_type in ("email", "phone") and f.column is None]
    for name in (module.display_field, *sorted(COMPANY_FIELDS)):
        f = module.by_name.get(name)
        if f is not None and f not in out and f.data_type in MATCHABLE:
            out.append(f)
    return out


def parse_fields(module: Module, raw: str | None) -> list[Field]:
    if raw is None or not raw.strip():
        return default_fields(module)
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if not names or len(names) > MAX_FIELDS:
        raise InvalidData(details={"param_name": "fields"})
    out: list[Field] = []
    for name in dict.fromkeys(names):
        f = module.by_name.get(name)
        if f is None or f.data_type not in MATCHABLE:
            raise InvalidData("invalid field for duplicate search",
                              {"param_name": "fields", "api_name": name})
        out.append(f)
    return out


def parse_threshold(raw: str | None) -> float:
    if raw is None or raw == "":
        return DEFAULT_THRESHOLD
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 1.0:
        raise InvalidData(details={"param_name": "threshold"})
    return value


class DuplicateFinder:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.records = RecordRepository()

    def find(self, module: Module, fields: Sequence[Field],
             threshold: float = DEFAULT_THRESHOLD) -> list[DuplicateSet]:
        names = [f.api_name for f in fields]
        with self.db.read() as tx:
            data: dict[int, dict[str, Any]] = {
                r.id: {n: r.data.get(n) for n in names}
                for r in self.records.of_module(tx, module.id) if not r.converted}
        return find_duplicates(data, [match_field(f) for f in fields], threshold)

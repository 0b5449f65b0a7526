"""Territories: a parent/child hierarchy, and records assigned to territories."""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from corral.auth.service import Principal
from corral.errors import CorralError, DuplicateData, InvalidData, MandatoryNotFound
from corral.metadata.model import Module
from corral.storage.database import Database
from corral.storage.errors import UniqueViolation
from corral.storage.repositories.territories import Territory, TerritoryRepository

ID_RE = re.compile(r"^[0-9]{1,19}$")


def _id(value: Any) -> int | None:
    raw = value.get("id") if isinstance(value, dict) else value
    text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    return int(text) if ID_RE.match(text) else None


class TerritoryService:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock
        self._repo = TerritoryRepository()

    def list(self) -> list[Territory]:
        with self.db.read() as tx:
            return self._repo.all_territories(tx)

    def create(self, spec: Any, principal: Principal, *, index: int = 0) -> int:
        root = f"$.territories[{index}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) \
                or not spec["name"].strip():
            raise MandatoryNotFound(details={"api_name": "name", "json_path": f"{root}.name"})
        parent = spec.get("reporting_to", spec.get("parent_id"))
        parent_id = _id(parent) if parent is not None else None
        tid = self.db.new_id()
        now = self.clock()
        name = spec["name"].strip()
        duplicate = DuplicateData(details={"api_name": "name", "json_path": f"{root}.name"})
        try:
            with self.db.write() as tx:
                if parent is not None and (parent_id is None
                                           or not self._repo.territory_exists(tx, parent_id)):
                    raise InvalidData(details={"api_name": "reporting_to",
                                               "json_path": f"{root}.reporting_to"})
                if self._repo.territory_name_taken(tx, name):
                    raise duplicate
                self._repo.add_territory(tx, Territory(
                    id=tid, name=name, api_name=re.sub(r"\W+", "_", name), parent_id=parent_id,
                    description=spec.get("description"), manager_id=principal.user.id,
                    created_by=principal.user.id, created_time=now, modified_time=now))
        except UniqueViolation:  # a concurrent request took the name
            raise duplicate from None
        return tid

    # `builtins.list`: inside this class `list` names the method above.
    def assign(self, module: Module, items: builtins.list[Any], principal: Principal,
               ) -> builtins.list[tuple[str, CorralError | None]]:
        """`[{"id": record, "Territories": [{"id": territory}]}]` -> per record outcome."""
        out: builtins.list[tuple[str, CorralError | None]] = []
        with self.db.write() as tx:
            known = self._repo.territory_ids(tx)
            for i, item in enumerate(items):
                rid = _id(item.get("id")) if isinstance(item, dict) else None
                if rid is None or not self._repo.is_live_record(tx, module.id, rid):
                    out.append((str(rid), InvalidData("the id given seems to be invalid",
                                                      {"id": str(item.get("id") if
                                                                 isinstance(item, dict)
                                                                 else item)})))
                    continue
                terrs = item.get("Territories")
                tids = [_id(x) for x in terrs] if isinstance(terrs, list) else []
                if not tids or any(x not in known for x in tids):
                    out.append((str(rid), InvalidData(details={
                        "api_name": "Territories", "json_path": f"$.data[{i}].Territories"})))
                    continue
                existing = self._repo.territories_of_record(tx, rid)
                self._repo.assign_territories(tx, rid, [
                    x for x in dict.fromkeys(tids) if x is not None and x not in existing])
                out.append((str(rid), None))
        return out

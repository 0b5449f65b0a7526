"""Territories: a parent/child hierarchy, and records assigned to territories."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.auth.service import Principal
from corral.errors import CorralError, DuplicateData, InvalidData, MandatoryNotFound
from corral.metadata.model import Module
from corral.storage import tables as t
from corral.storage.database import Database

ID_RE = re.compile(r"^[0-9]{1,19}$")


def _id(value: Any) -> int | None:
    raw = value.get("id") if isinstance(value, dict) else value
    text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    return int(text) if ID_RE.match(text) else None


class TerritoryService:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def list(self) -> list[Any]:
        with self.db.read() as conn:
            return list(conn.execute(sa.select(t.territories).order_by(t.territories.c.id)))

    def create(self, spec: Any, principal: Principal, *, index: int = 0) -> int:
        root = f"$.territories[{index}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) \
                or not spec["name"].strip():
            raise MandatoryNotFound(details={"api_name": "name", "json_path": f"{root}.name"})
        parent = spec.get("reporting_to", spec.get("parent_id"))
        parent_id = _id(parent) if parent is not None else None
        tid = self.db.new_id()
        now = self.clock()
        with self.db.write() as conn:
            if parent is not None and (parent_id is None or conn.execute(
                    sa.select(t.territories.c.id).where(t.territories.c.id == parent_id)
            ).first() is None):
                raise InvalidData(details={"api_name": "reporting_to",
                                           "json_path": f"{root}.reporting_to"})
            if conn.execute(sa.select(t.territories.c.id).where(
                    t.territories.c.name == spec["name"].strip())).first():
                raise DuplicateData(details={"api_name": "name", "json_path": f"{root}.name"})
            conn.execute(sa.insert(t.territories).values(
                id=tid, name=spec["name"].strip(),
                api_name=re.sub(r"\W+", "_", spec["name"].strip()),
                parent_id=parent_id, description=spec.get("description"),
                manager_id=principal.user.id, created_by=principal.user.id, created_time=now,
                modified_time=now))
        return tid

    def assign(self, module: Module, items: list[Any], principal: Principal,
               ) -> list[tuple[str, CorralError | None]]:
        """`[{"id": record, "Territories": [{"id": territory}]}]` -> per record outcome."""
        out: list[tuple[str, CorralError | None]] = []
        with self.db.write() as conn:
            known = {r[0] for r in conn.execute(sa.select(t.territories.c.id))}
            for i, item in enumerate(items):
                rid = _id(item.get("id")) if isinstance(item, dict) else None
                live = rid is not None and conn.execute(sa.select(t.records.c.id).where(
                    t.records.c.id == rid, t.records.c.module_id == module.id,
                    t.records.c.deleted_time.is_(None))).first()
                if not live:
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
                existing = {r[0] for r in conn.execute(
                    sa.select(t.record_territories.c.territory_id)
                    .where(t.record_territories.c.record_id == rid))}
                new = [x for x in dict.fromkeys(tids) if x not in existing]
                if new:
                    conn.execute(sa.insert(t.record_territories), [
                        {"record_id": rid, "territory_id": x} for x in new])
                out.append((str(rid), None))
        return out

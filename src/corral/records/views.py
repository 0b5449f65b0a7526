"""Custom views: criteria in Zoho's v8 JSON shape, shared with everyone or private to the owner."""

from __future__ import annotations

from typing import Any

import orjson

from corral.auth.service import Principal
from corral.errors import CorralError, DuplicateData, InvalidData, InvalidQuery, MandatoryNotFound
from corral.metadata.model import Module
from corral.records import criteria as cr
from corral.records.query import RecordQuery
from corral.storage.repositories.views import StoredView, ViewRepository

ROOT = "$.custom_views[0]"


class ViewService:
    def __init__(self, query: RecordQuery) -> None:
        self.query = query
        self.db = query.db
        self.clock = query.service.clock
        self.views = ViewRepository()

    def create(self, module: Module, spec: dict[str, Any], principal: Principal) -> int:
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip():
            raise MandatoryNotFound(details={"api_name": "name", "json_path": f"{ROOT}.name"})
        criteria = spec.get("criteria")
        stored = None
        if criteria is not None:
            try:
                parsed = (cr.parse_criteria(criteria) if isinstance(criteria, str)
                          else cr.criteria_from_v8(criteria))
                # Compiling checks every field and operator against the module now.
                self.query.compile(module, parsed, tz=self.query.principal_tz(principal),
                                   mode="view")
            except (cr.CriteriaError, InvalidQuery, CorralError) as exc:
                reason = exc.reason if isinstance(exc, cr.CriteriaError) else str(
                    getattr(exc, "details", {}).get("reason", "invalid criteria"))
                raise InvalidData(details={"api_name": "criteria",
                                           "json_path": f"{ROOT}.criteria",
                                           "reason": reason}) from None
            stored = orjson.dumps(cr.criteria_to_v8(parsed)).decode()
        access = spec.get("access_type", "shared" if spec.get("shared") else "only_to_me")
        shared_to = spec.get("shared_to")
        if isinstance(shared_to, list) and shared_to:
            access = "public"
        if access not in {"public", "shared", "only_to_me"}:
            raise InvalidData(details={"api_name": "access_type",
                                       "json_path": f"{ROOT}.access_type",
                                       "supported_values": ["public", "only_to_me"]})
        view_id = self.db.new_id()
        now = self.clock()
        with self.db.write() as tx:
            if self.views.name_taken(tx, module.id, name.strip()):
                raise DuplicateData(details={"api_name": "name", "json_path": f"{ROOT}.name"})
            self.views.insert(tx, StoredView(
                id=view_id, module_id=module.id, name=name.strip(), system_name=None,
                system_defined=False, is_default=False, criteria=stored,
                owner_id=principal.user.id, shared=access != "only_to_me", created_time=now,
                modified_time=now))
        return view_id

"""Automation settings (create and list rules) and approval decisions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from corral.auth.service import Principal
from corral.automation.rules import Rule, parse_definition, rule_from_stored
from corral.automation.steps import APPROVED, PENDING, REJECTED
from corral.errors import InvalidData, MandatoryNotFound, NoPermission
from corral.metadata.model import Module
from corral.records import validate as v
from corral.records.service import RecordService
from corral.records.writes import Outcome, Planned, WriteContext
from corral.storage.repositories.auth import AuthRepository
from corral.storage.repositories.automation_rules import AutomationRuleRepository, StoredRule

DECISIONS = ("approve", "reject")


class AutomationService:
    def __init__(self, records: RecordService) -> None:
        self.records = records
        self.db = records.db
        self._rules = AutomationRuleRepository()
        self._users = AuthRepository()

    def create_rule(self, module: Module, kind: str, spec: Any, principal: Principal,
                    root: str) -> int:
        tz = ZoneInfo(principal.user.time_zone)

        def convert(field: str, value: Any, path: str) -> Any:
            f = module.by_name[field]
            checked = v.check_record(module, {field: value}, 0, tz=tz)
            if checked.error is not None or (value is None and f.mandatory):
                raise InvalidData(details={"api_name": field, "json_path": path})
            return checked.values.get(field)

        name, definition = parse_definition(module, kind, spec, root, convert)
        if kind == "approval":
            users = self.user_ids()
            approvers = [v.parse_record_id(a) for a in definition.get("approvers", [])]
            if any(a is None or a not in users for a in approvers):
                raise InvalidData(details={"api_name": "approvers",
                                           "json_path": f"{root}.approvers"})
        rule_id = self.db.new_id()
        with self.db.write() as tx:
            self._rules.add_rule(tx, StoredRule(
                id=rule_id, module_id=module.id, kind=kind, name=name, definition=definition,
                active=True, created_by=principal.user.id, created_time=self.records.clock()))
        return rule_id

    def user_ids(self) -> set[int]:
        """Every user (any status) may be named an approver."""
        with self.db.read() as tx:
            return self._users.user_ids(tx)

    def rules(self, module: Module, kind: str) -> list[Rule]:
        with self.db.read() as tx:
            stored = self._rules.rules_of_kind(tx, module.id, kind)
        return [rule_from_stored(r) for r in stored]

    def decide(self, module: Module, record_id: int, body: Any, ctx: WriteContext) -> Outcome:
        """Approve or reject a record waiting for approval (approvers or admins only)."""
        items = body.get("data") if isinstance(body, dict) else None
        if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
            raise MandatoryNotFound(details={"api_name": "data", "json_path": "$.data"})
        action = items[0].get("action")
        if action not in DECISIONS:
            raise InvalidData(details={"api_name": "action", "json_path": "$.data[0].action",
                                       "supported_values": list(DECISIONS)})
        with self.db.read() as tx:
            rec = self.records.load(tx, module, [record_id]).get(record_id)
            rules = [rule_from_stored(r)
                     for r in self._rules.rules_of_kind(tx, module.id, "approval")]
        if rec is None:
            raise InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
        if rec.approval_state != PENDING:
            raise InvalidData("the record is not waiting for approval",
                              {"resource_path_index": 1})
        approvers = {a for r in rules for a in r.approvers}
        if not ctx.principal.is_admin and ctx.user.id not in approvers:
            raise NoPermission("permission denied to approve this record")
        state = APPROVED if action == "approve" else REJECTED
        plan = Planned(0, v.Checked(values={}), target=record_id, op="update",
                       approval_state=state)
        (outcome,) = self.records.write_batch(
            module, [plan], replace(ctx, approval_action=True, trigger=()))
        if outcome.error is not None:
            raise outcome.error
        return outcome

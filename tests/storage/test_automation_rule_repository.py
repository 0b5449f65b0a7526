"""AutomationRuleRepository: which rules run (active ones, in creation order) and listings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from corral.automation.rules import load_rules
from corral.services import Corral
from corral.storage.repositories.automation_rules import AutomationRuleRepository, StoredRule

repo = AutomationRuleRepository()
NOW = datetime(2026, 12, 1, 8, 0, 0)
LAYOUT: dict[str, Any] = {"criteria": None, "mandatory": ["Company"]}
WORKFLOW: dict[str, Any] = {"criteria": None, "when": "create", "actions": [
    {"type": "webhook", "url": "https://hooks.example.com/x", "fields": ["Last_Name"]}]}


def _rule(rule_id: int, module_id: int, kind: str, definition: dict[str, Any], *,
          active: bool = True) -> StoredRule:
    return StoredRule(id=rule_id, module_id=module_id, kind=kind, name=f"{kind} {rule_id}",
                      definition=definition, active=active, created_by=1, created_time=NOW)


def test_only_active_rules_of_the_module_run_in_id_order(corral: Corral) -> None:
    leads = corral.registry.require("Leads")
    contacts = corral.registry.require("Contacts")
    first, second, inactive, other = sorted(corral.db.new_ids(4))
    with corral.db.write() as tx:
        repo.add_rule(tx, _rule(second, leads.id, "workflow", WORKFLOW))
        repo.add_rule(tx, _rule(first, leads.id, "layout_rule", LAYOUT))
        repo.add_rule(tx, _rule(inactive, leads.id, "workflow", WORKFLOW, active=False))
        repo.add_rule(tx, _rule(other, contacts.id, "workflow", WORKFLOW))
    with corral.db.read() as tx:
        active = repo.active_rules_of_module(tx, leads.id)
        rules = load_rules(tx, leads)
    assert [r.id for r in active] == [first, second]
    assert active[1] == _rule(second, leads.id, "workflow", WORKFLOW)
    assert [r.id for r in rules.workflows] == [second]
    assert [r.id for r in rules.layout_rules] == [first]
    assert rules.workflows[0].actions[0].fields == ("Last_Name",)


def test_rules_of_a_kind_include_inactive_ones(corral: Corral) -> None:
    leads = corral.registry.require("Leads").id
    a, b, c = sorted(corral.db.new_ids(3))
    with corral.db.write() as tx:
        repo.add_rule(tx, _rule(b, leads, "workflow", WORKFLOW, active=False))
        repo.add_rule(tx, _rule(a, leads, "workflow", WORKFLOW))
        repo.add_rule(tx, _rule(c, leads, "layout_rule", LAYOUT))
    with corral.db.read() as tx:
        assert [r.id for r in repo.rules_of_kind(tx, leads, "workflow")] == [a, b]
        assert [r.id for r in repo.rules_of_kind(tx, leads, "approval")] == []

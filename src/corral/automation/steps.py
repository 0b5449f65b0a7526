"""Automation as steps of the one write path: approval lock, layout rules, workflow field
updates, approval entry, and workflow actions (webhooks to the outbox, tasks as follow-up writes).

Rules are read once per batch in the batch's own transaction. Field updates change the record
before it is checked and written and never trigger further rules; webhooks become outbox rows
in the same transaction (delivered later by `automation.webhooks`); tasks are inserted through
the write path after the batch, with automation off.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from corral.automation.rules import Action, Rule, Rules, load_rules
from corral.errors import MandatoryNotFound, RecordLocked
from corral.metadata.model import Module
from corral.records import validate as v
from corral.records.evaluate import matches
from corral.records.writes import (
    Batch,
    Decision,
    FollowUp,
    FollowUpWrite,
    Item,
    OutboxEntry,
    Step,
)
from corral.storage.database import Tx
from corral.storage.repositories.records import StoredRecord

PENDING = "approval_process_pending"
REJECTED = "approval_process_rejected"
APPROVED = "approved"
RULES = "automation_rules"
EFFECTS = "workflow_effects"


def webhook_payload(module: Module, rec: Any, rule: Rule, event: str,
                    fields: tuple[str, ...]) -> dict[str, Any]:
    names = fields or tuple(f.api_name for f in module.fields if f.column is None)
    return {"module": module.api_name, "id": str(rec.id), "event": event,
            "rule": {"id": str(rule.id), "name": rule.name},
            "data": {n: rec.data.get(n) for n in names}}


_NO_RULES = Rules()


def _rules(batch: Batch) -> Rules:
    rules: Rules = batch.memo.get(RULES) or _NO_RULES
    return rules


def _match(rule: Rule, rec: StoredRecord, batch: Batch) -> bool:
    return rule.criteria is None or matches(batch.module, rule.criteria, rec, tz=batch.tz)


class AutomationStep(Step):
    """Loads the module's rules once per batch for every automation step."""

    def prepare(self, tx: Tx, batch: Batch) -> None:
        ctx = batch.ctx
        if RULES not in batch.memo and (ctx.runs("workflow") or ctx.runs("approval")
                                        or ctx.layout_rules):
            batch.memo[RULES] = load_rules(tx, batch.module)


class ApprovalLock(Step):
    """A record waiting for approval changes only through the approval decision."""

    name = "approval_lock"
    ops = frozenset({"update"})

    def check(self, item: Item, batch: Batch) -> Decision | None:
        old = item.old
        if old is not None and old.approval_state == PENDING and not batch.ctx.approval_action:
            return Decision(error=RecordLocked(details={"id": str(old.id)}))
        return None


class LayoutRules(AutomationStep):
    """With `apply_feature_execution: layout_rules`, a matching rule makes fields mandatory."""

    name = "layout_rules"

    def active(self, batch: Batch) -> bool:
        return batch.ctx.layout_rules and bool(_rules(batch).layout_rules)

    def check(self, item: Item, batch: Batch) -> Decision | None:
        rules = _rules(batch).layout_rules
        if not rules or not batch.ctx.layout_rules:
            return None
        new = item.new
        for rule in rules:
            if _match(rule, new, batch):
                for name in rule.mandatory:
                    if new.data.get(name) in (None, "", []):
                        return Decision(error=MandatoryNotFound(details={
                            "api_name": name, "json_path": v.path(item.index, name),
                            "layout_rule": {"name": rule.name, "id": str(rule.id)}}))
        return None


class WorkflowFieldUpdates(AutomationStep):
    """Workflow rules that fire: field updates now, other actions kept for `effects`."""

    name = "workflow_field_updates"

    def active(self, batch: Batch) -> bool:
        return batch.ctx.runs("workflow") and bool(_rules(batch).workflows)

    def check(self, item: Item, batch: Batch) -> Decision | None:
        rules = _rules(batch).workflows
        if not rules or not batch.ctx.runs("workflow"):
            return None
        changed = set(item.values)
        fired = [r for r in rules
                 if r.fires_on(item.event, changed) and _match(r, item.new, batch)]
        if not fired:
            return None
        decision = Decision()
        later: list[tuple[Rule, Action]] = []
        for rule in fired:
            for action in rule.actions:
                if action.type == "field_update" and action.field:
                    decision.set_values[action.field] = action.value
                    decision.tags[action.field] = rule.tag
                else:
                    later.append((rule, action))
        if later:
            batch.memo.setdefault(EFFECTS, {})[item.index] = later
        return decision


class ApprovalEntry(AutomationStep):
    """A record that meets an approval process waits for approval."""

    name = "approval_entry"

    def active(self, batch: Batch) -> bool:
        return batch.ctx.runs("approval") and bool(_rules(batch).approvals)

    def check(self, item: Item, batch: Batch) -> Decision | None:
        rules = _rules(batch).approvals
        if not rules or not batch.ctx.runs("approval") or item.new.approval_state == PENDING:
            return None
        changed = set(item.values)
        for rule in rules:
            if rule.fires_on(item.event, changed) and _match(rule, item.new, batch):
                return Decision(approval_state=PENDING, tags={"$approval_state": rule.tag})
        return None


class WorkflowActions(AutomationStep):
    """Webhooks (outbox rows) and tasks (follow-up writes) of the rules that fired, for the
    records the batch accepted; `when: delete` rules for deleted records."""

    name = "workflow_actions"
    ops = frozenset({"insert", "update", "delete"})

    def effects(self, accepted: list[Item], batch: Batch) -> FollowUp | None:
        pending: dict[int, list[tuple[Rule, Action]]] = batch.memo.get(EFFECTS, {})
        if not pending and not _rules(batch).workflows:
            return None
        follow = FollowUp()
        tasks: list[dict[str, Any]] = []
        tags: dict[int, str] = {}
        for item in accepted:
            actions = (self._on_delete(item, batch) if item.op == "delete"
                       else pending.get(item.index, []))
            event = "delete" if item.op == "delete" else item.event
            for rule, action in actions:
                if action.type == "webhook" and action.url:
                    follow.outbox.append(OutboxEntry(rule.id, item.new.id, action.url,
                                                     webhook_payload(batch.module, item.new,
                                                                     rule, event,
                                                                     action.fields)))
                elif action.type == "create_task":
                    tags[len(tasks)] = rule.tag
                    tasks.append(self._task(action, item.new, batch))
        if tasks:
            follow.writes.append(FollowUpWrite("Tasks", tasks, tags))
        return follow

    @staticmethod
    def _on_delete(item: Item, batch: Batch) -> list[tuple[Rule, Action]]:
        if not batch.ctx.runs("workflow"):
            return []
        return [(rule, a) for rule in _rules(batch).workflows
                if rule.when == "delete" and _match(rule, item.new, batch)
                for a in rule.actions if a.type == "webhook"]

    @staticmethod
    def _task(action: Action, rec: StoredRecord, batch: Batch) -> dict[str, Any]:
        values: dict[str, Any] = {"Subject": action.subject, "What_Id": {"id": str(rec.id)},
                                  "$se_module": batch.module.api_name,
                                  "Owner": {"id": str(rec.owner_id)}}
        if action.due_in_days is not None:
            values["Due_Date"] = (batch.now + timedelta(days=action.due_in_days)).date(
            ).isoformat()
        return values

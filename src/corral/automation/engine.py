"""Automation inside the one write path: layout rules, workflow rules, approval entry.

`RecordService` creates one `AutomationRun` per write batch (rules are read in the batch's own
transaction) and calls it for every record. Workflow field updates change the record before it
is checked and written, in the same transaction, and never trigger further rules; webhooks are
written to an outbox in the same transaction (delivered later by `automation.webhooks`); tasks
are inserted through the write path after the batch, with automation off.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from corral.automation.rules import Rule, Rules, load_rules
from corral.errors import CorralError, MandatoryNotFound
from corral.metadata.model import Module
from corral.records import validate as v
from corral.records.evaluate import matches
from corral.storage import tables as t

if TYPE_CHECKING:
    from corral.records.service import Planned, RecordService, StoredRecord, WriteContext

PENDING = "approval_process_pending"
REJECTED = "approval_process_rejected"
APPROVED = "approved"


def webhook_payload(module: Module, rec: Any, rule: Rule, event: str,
                    fields: tuple[str, ...]) -> dict[str, Any]:
    names = fields or tuple(f.api_name for f in module.fields if f.column is None)
    return {"module": module.api_name, "id": str(rec.id), "event": event,
            "rule": {"id": str(rule.id), "name": rule.name},
            "data": {n: rec.data.get(n) for n in names}}


@dataclass
class AutomationRun:
    records: RecordService
    module: Module
    rules: Rules
    ctx: WriteContext
    tz: ZoneInfo
    now: datetime
    # per plan index: webhook outbox rows and tasks to create once the record is accepted
    effects: dict[int, list[tuple[Rule, Any]]] = field(default_factory=dict)
    accepted: list[tuple[int, StoredRecord, str]] = field(default_factory=list)

    @classmethod
    def start(cls, records: RecordService, conn: Connection, module: Module,
              ctx: WriteContext, now: datetime) -> AutomationRun | None:
        wanted = ctx.runs("workflow") or ctx.runs("approval") or ctx.layout_rules
        if not wanted:
            return None
        rules = load_rules(conn, module)
        if not rules:
            return None
        return cls(records, module, rules, ctx, ZoneInfo(ctx.user.time_zone), now)

    def _match(self, rule: Rule, rec: Any) -> bool:
        return rule.criteria is None or matches(self.module, rule.criteria, rec, tz=self.tz)

    # ------------------------------------------------------------------ per record
    def before_checks(self, p: Planned, old: StoredRecord | None,
                      new: StoredRecord) -> tuple[CorralError | None, dict[str, str]]:
        """Layout rules, workflow field updates, approval entry; returns (error, field tags)."""
        tags: dict[str, str] = {}
        if self.ctx.layout_rules:
            for rule in self.rules.layout_rules:
                if self._match(rule, new):
                    for name in rule.mandatory:
                        if new.data.get(name) in (None, "", []):
                            return MandatoryNotFound(details={
                                "api_name": name, "json_path": v.path(p.index, name),
                                "layout_rule": {"name": rule.name, "id": str(rule.id)}}), tags
        event = "create" if old is None else "edit"
        changed = set(p.checked.values)
        if self.ctx.runs("workflow"):
            fired = [r for r in self.rules.workflows
                     if r.fires_on(event, changed) and self._match(r, new)]
            for rule in fired:
                for action in rule.actions:
                    if action.type == "field_update" and action.field:
                        new.data[action.field] = action.value
                        tags[action.field] = rule.tag
                    else:
                        self.effects.setdefault(p.index, []).append((rule, action))
        if self.ctx.runs("approval") and new.approval_state != PENDING:
            for rule in self.rules.approvals:
                if rule.fires_on(event, changed) and self._match(rule, new):
                    new.approval_state = PENDING
                    tags["$approval_state"] = rule.tag
                    break
        return None, tags

    def accept(self, index: int, rec: StoredRecord, event: str) -> None:
        if index in self.effects:
            self.accepted.append((index, rec, event))

    # ------------------------------------------------------------------ after the batch
    def flush(self, conn: Connection) -> None:
        outbox: list[dict[str, Any]] = []
        tasks: list[tuple[Rule, Any, StoredRecord]] = []
        for index, rec, event in self.accepted:
            for rule, action in self.effects[index]:
                if action.type == "webhook":
                    outbox.append({"rule": rule, "action": action, "rec": rec, "event": event})
                elif action.type == "create_task":
                    tasks.append((rule, action, rec))
        ids = self.records.db.reserve_in(conn, len(outbox) + len(tasks))
        write_outbox(conn, self.module, [(ids.pop(), o["rule"], o["action"], o["rec"],
                                          o["event"]) for o in outbox], self.now)
        if tasks:
            self._create_tasks(conn, tasks, ids)

    def _create_tasks(self, conn: Connection, tasks: list[tuple[Rule, Any, StoredRecord]],
                      ids: list[int]) -> None:
        from corral.records.service import Planned  # the write path builds on this module

        module = self.records.registry.require("Tasks")
        plans = []
        tags: dict[int, str] = {}
        for i, (rule, action, rec) in enumerate(tasks):
            values: dict[str, Any] = {"Subject": action.subject,
                                      "What_Id": {"id": str(rec.id)},
                                      "$se_module": self.module.api_name,
                                      "Owner": {"id": str(rec.owner_id)}}
            if action.due_in_days is not None:
                due = (self.now + timedelta(days=action.due_in_days)).date()
                values["Due_Date"] = due.isoformat()
            checked = self.records.check(module, values, i, self.ctx.principal)
            plans.append(Planned(i, checked))
            tags[i] = rule.tag
        task_ctx = replace(self.ctx, trigger=(), layout_rules=False, automation_tags=tags)
        for outcome in self.records.write_batch(module, plans, task_ctx, conn=conn, ids=ids):
            if outcome.error is not None:
                raise outcome.error


def write_outbox(conn: Connection, module: Module,
                 rows: list[tuple[int, Rule, Any, Any, str]], now: datetime) -> None:
    if not rows:
        return
    conn.execute(sa.insert(t.webhook_outbox), [{
        "id": oid, "rule_id": rule.id, "module_id": module.id, "record_id": rec.id,
        "url": action.url, "payload": webhook_payload(module, rec, rule, event, action.fields),
        "status": "pending", "attempts": 0, "next_attempt_time": now,
        "last_status_code": None, "last_error": None, "created_time": now,
        "delivered_time": None} for oid, rule, action, rec, event in rows])


def on_delete(records: RecordService, conn: Connection, module: Module,
              deleted: list[StoredRecord], ctx: WriteContext, now: datetime) -> None:
    """Workflow rules `when: delete` (webhooks) for records deleted with wf_trigger on."""
    if not ctx.runs("workflow") or not deleted:
        return
    rules = load_rules(conn, module)
    tz = ZoneInfo(ctx.user.time_zone)
    rows = []
    for rec in deleted:
        for rule in rules.workflows:
            if rule.when == "delete" and (rule.criteria is None or
                                          matches(module, rule.criteria, rec, tz=tz)):
                rows += [(rule, a, rec) for a in rule.actions if a.type == "webhook"]
    if rows:
        ids = records.db.reserve_in(conn, len(rows))
        write_outbox(conn, module, [(ids.pop(), r, a, rec, "delete") for r, a, rec in rows],
                     now)

"""Workflow rules, approval processes and layout rules of a module, as stored definitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class StoredRule:
    id: int
    module_id: int
    kind: str  # workflow | approval | layout_rule
    name: str
    definition: dict[str, Any]  # as automation.rules.parse_definition returns it
    active: bool
    created_by: int
    created_time: datetime


def _rule(row: Any) -> StoredRule:
    return StoredRule(id=row.id, module_id=row.module_id, kind=row.kind, name=row.name,
                      definition=row.definition, active=row.active, created_by=row.created_by,
                      created_time=row.created_time)


# Built once: the write path asks every batch.
_ACTIVE_OF_MODULE = (sa.select(t.automation_rules)
                     .where(t.automation_rules.c.module_id == sa.bindparam("mid"),
                            t.automation_rules.c.active.is_(True))
                     .order_by(t.automation_rules.c.id))


class AutomationRuleRepository:
    def add_rule(self, tx: Tx, rule: StoredRule) -> None:
        tx.execute(sa.insert(t.automation_rules).values(
            id=rule.id, module_id=rule.module_id, kind=rule.kind, name=rule.name,
            definition=rule.definition, active=rule.active, created_by=rule.created_by,
            created_time=rule.created_time))

    def active_rules_of_module(self, tx: Tx, module_id: int) -> list[StoredRule]:
        """Active rules of every kind, in id (creation) order: the order they run in."""
        return [_rule(r) for r in tx.execute(_ACTIVE_OF_MODULE, {"mid": module_id})]

    def rules_of_kind(self, tx: Tx, module_id: int, kind: str) -> list[StoredRule]:
        """Rules of one kind, active or not, in id order."""
        return [_rule(r) for r in tx.execute(sa.select(t.automation_rules).where(
            t.automation_rules.c.module_id == module_id, t.automation_rules.c.kind == kind)
            .order_by(t.automation_rules.c.id))]

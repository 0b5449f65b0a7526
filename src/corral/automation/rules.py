"""Automation definitions (workflow rules, approval processes, layout rules): parse and load.

Shapes follow Zoho's settings APIs in spirit but carry their actions inline (Zoho's v8 workflow
API references separately created field updates and webhooks by id); see COMPATIBILITY.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corral.errors import InvalidData, MandatoryNotFound
from corral.metadata.model import Module
from corral.records import criteria as cr
from corral.storage.database import Tx
from corral.storage.repositories.automation_rules import AutomationRuleRepository, StoredRule

KINDS = ("workflow", "approval", "layout_rule")
WHEN = ("create", "edit", "create_or_edit", "field_update", "delete")
ACTIONS = ("field_update", "webhook", "create_task")

_repo = AutomationRuleRepository()


@dataclass(frozen=True)
class Action:
    type: str
    field: str | None = None  # field_update
    value: Any = None  # field_update (stored form)
    url: str | None = None  # webhook
    fields: tuple[str, ...] = ()  # webhook: fields sent (empty: all)
    subject: str | None = None  # create_task
    due_in_days: int | None = None  # create_task


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str
    name: str
    when: str  # workflow/approval: one of WHEN; layout_rule: unused
    field: str | None  # workflow field_update: the watched field
    criteria: cr.Criteria | None
    actions: tuple[Action, ...] = ()
    approvers: tuple[int, ...] = ()  # approval
    mandatory: tuple[str, ...] = ()  # layout_rule

    @property
    def tag(self) -> str:
        return f"{self.kind}:{self.id}"

    def fires_on(self, event: str, changed: set[str]) -> bool:
        if self.when == "create_or_edit":
            return event in {"create", "edit"}
        if self.when == "field_update":
            return event == "edit" and self.field in changed
        return self.when == event


@dataclass(frozen=True)
class Rules:
    workflows: tuple[Rule, ...] = ()
    approvals: tuple[Rule, ...] = ()
    layout_rules: tuple[Rule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.workflows or self.approvals or self.layout_rules)


def _criteria(raw: Any) -> cr.Criteria | None:
    return cr.criteria_from_v8(raw) if raw else None


def rule_from_stored(stored: StoredRule) -> Rule:
    d = stored.definition
    return Rule(
        id=stored.id, kind=stored.kind, name=stored.name, when=d.get("when", "create_or_edit"),
        field=d.get("field"), criteria=_criteria(d.get("criteria")),
        actions=tuple(Action(**a) if "fields" not in a else Action(**{**a, "fields": tuple(
            a["fields"])}) for a in d.get("actions", [])),
        approvers=tuple(int(x) for x in d.get("approvers", [])),
        mandatory=tuple(d.get("mandatory", [])))


def load_rules(conn: Tx, module: Module) -> Rules:
    rules = [rule_from_stored(r) for r in _repo.active_rules_of_module(conn, module.id)]
    return Rules(workflows=tuple(r for r in rules if r.kind == "workflow"),
                 approvals=tuple(r for r in rules if r.kind == "approval"),
                 layout_rules=tuple(r for r in rules if r.kind == "layout_rule"))


# --------------------------------------------------------------------------- parsing


def _bad(path: str, api_name: str, message: str | None = None, **extra: Any) -> InvalidData:
    return InvalidData(message, {"api_name": api_name, "json_path": path, **extra})


def parse_criteria(module: Module, raw: Any, path: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        parsed = cr.parse_criteria(raw) if isinstance(raw, str) else cr.criteria_from_v8(raw)
    except cr.CriteriaError:
        raise _bad(path, "criteria") from None
    for c in cr.iter_conditions(parsed):
        if c.field != "id" and module.field(c.field) is None:
            raise _bad(path, "criteria", "the api name given seems to be invalid",
                       field=c.field)
    return cr.criteria_to_v8(parsed)


def parse_definition(module: Module, kind: str, spec: Any, root: str,
                     convert_value: Any) -> tuple[str, dict[str, Any]]:
    """Validate one rule body; returns (name, stored definition).

    `convert_value(field, value, path)` validates a field-update value and returns its stored
    form (the write path's own validation).
    """
    if kind not in KINDS:
        raise _bad(root, "kind", supported_values=list(KINDS))
    if not isinstance(spec, dict):
        raise MandatoryNotFound(details={"api_name": "rule", "json_path": root})
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        raise MandatoryNotFound(details={"api_name": "name", "json_path": f"{root}.name"})
    definition: dict[str, Any] = {
        "criteria": parse_criteria(module, spec.get("criteria"), f"{root}.criteria")}
    if kind == "layout_rule":
        mandatory = spec.get("mandatory")
        if not isinstance(mandatory, list) or not mandatory or \
                any(module.field(x) is None for x in mandatory):
            raise _bad(f"{root}.mandatory", "mandatory")
        definition["mandatory"] = mandatory
        return name.strip(), definition
    when = spec.get("when", "create_or_edit")
    if when not in WHEN or (kind == "approval" and when not in {"create", "edit",
                                                                 "create_or_edit"}):
        raise _bad(f"{root}.when", "when", supported_values=list(WHEN))
    definition["when"] = when
    if when == "field_update":
        field = spec.get("field")
        if not isinstance(field, str) or module.field(field) is None:
            raise _bad(f"{root}.field", "field")
        definition["field"] = field
    if kind == "approval":
        approvers = spec.get("approvers") or []
        if not isinstance(approvers, list):
            raise _bad(f"{root}.approvers", "approvers")
        definition["approvers"] = [str(a.get("id") if isinstance(a, dict) else a)
                                   for a in approvers]
        return name.strip(), definition
    actions = spec.get("actions")
    if not isinstance(actions, list) or not actions:
        raise MandatoryNotFound(details={"api_name": "actions", "json_path": f"{root}.actions"})
    stored = []
    for i, a in enumerate(actions):
        path = f"{root}.actions[{i}]"
        kind_a = a.get("type") if isinstance(a, dict) else None
        if kind_a not in ACTIONS:
            raise _bad(f"{path}.type", "type", supported_values=list(ACTIONS))
        if kind_a == "field_update":
            f = module.field(a.get("field") or "")
            if f is None or f.read_only or f.system:
                raise _bad(f"{path}.field", "field")
            if when == "delete":
                raise _bad(f"{path}.type", "type", "field updates cannot run on delete")
            stored.append({"type": kind_a, "field": f.api_name,
                           "value": convert_value(f.api_name, a.get("value"), f"{path}.value")})
        elif kind_a == "webhook":
            url = a.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise _bad(f"{path}.url", "url")
            fields = a.get("fields") or []
            if not isinstance(fields, list) or any(module.field(x) is None for x in fields):
                raise _bad(f"{path}.fields", "fields")
            stored.append({"type": kind_a, "url": url, "fields": fields})
        else:
            subject = a.get("subject")
            due = a.get("due_in_days")
            if not isinstance(subject, str) or not subject.strip() or \
                    (due is not None and (isinstance(due, bool) or not isinstance(due, int))):
                raise _bad(f"{path}.subject", "subject")
            if when == "delete":
                raise _bad(f"{path}.type", "type", "tasks cannot be created on delete")
            stored.append({"type": kind_a, "subject": subject.strip(), "due_in_days": due})
    definition["actions"] = stored
    return name.strip(), definition

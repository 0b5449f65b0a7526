"""Each step of the write path on its own: build the batch's view and an item, call `check` or
`effects`, and look at the decision it returns (records/steps.py, records/blueprints.py,
automation/steps.py), and the order `corral.services.write_steps` registers them in.

Pure checks read only the batch, so they run against one seeded SQLite copy per module
(`seeded`); `prepare` reads the database and runs on both backends (`corral`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from corral.automation.notifications import InstantNotifications
from corral.automation.rules import Action, Rule, Rules
from corral.automation.steps import (
    EFFECTS,
    PENDING,
    REJECTED,
    RULES,
    ApprovalEntry,
    ApprovalLock,
    LayoutRules,
    WorkflowActions,
    WorkflowFieldUpdates,
)
from corral.config import Settings
from corral.errors import CorralError
from corral.metadata.model import Field, Module
from corral.records import criteria as cr
from corral.records import validate as v
from corral.records.blueprints import Blueprint, BlueprintGuard, Transition
from corral.records.computed import ComputedFields
from corral.records.currency import CurrencyDefaults
from corral.records.keys import keys_of, normalise
from corral.records.notes import NotesFollowParents
from corral.records.related import UniqueLinks
from corral.records.steps import (
    ACTIVE_USERS,
    DuplicateCheckPreference,
    Lookups,
    OwnerAndMandatory,
    UniqueKeys,
)
from corral.records.tags import RecordTags
from corral.records.writes import (
    Batch,
    Clash,
    Decision,
    FollowUpWrite,
    Item,
    OutboxEntry,
    Planned,
    WriteContext,
)
from corral.services import Corral, write_steps
from corral.storage import tables as t
from corral.storage.repositories.keys import KeyRepository, KeyRow
from corral.storage.repositories.records import RecordRepository, StoredRecord
from corral.storage.repositories.tags import StoredTag

NOW = datetime(2026, 3, 2, 9, 30)
OWNER = 4_876_876_000_000_000_777  # pure tests: a record owner who is not the caller
WEB = {"comparator": "equal", "field": {"api_name": "Lead_Source"}, "value": "Web Download"}


# ---------------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def seeded(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corral]:
    """Seeded metadata and users for the pure checks (they never touch the database)."""
    path = tmp_path_factory.mktemp("steps") / "corral.db"
    shutil.copyfile(sqlite_template, path)
    c = Corral.open(Settings(database_url=f"sqlite:///{path}", run_worker=False))
    c.seed()
    yield c
    c.close()


def context(corral: Corral, **kw: Any) -> WriteContext:
    user = corral.auth.user_by_email(None)
    principal = corral.auth.principal_for_user(user.id)
    assert principal is not None
    return WriteContext(principal, **kw)


def rec(module: Module, rid: int, data: dict[str, Any] | None = None, *,
        created: datetime = NOW, owner: int = OWNER, **kw: Any) -> StoredRecord:
    return StoredRecord(id=rid, module_id=module.id, data=dict(data or {}), owner_id=owner,
                        created_by=owner, modified_by=owner, created_time=created,
                        modified_time=created, **kw)


def _fields(values: dict[str, Any]) -> dict[str, Any]:
    return {k: x for k, x in values.items() if k != "Owner"}


def inserting(module: Module, index: int, values: dict[str, Any], rid: int = 0,
              error: CorralError | None = None) -> Item:
    """An insert as the pipeline hands it to the steps (the new record composed)."""
    new = rec(module, rid or 9000 + index, _fields(values))
    return Item(Planned(index, v.Checked(values=dict(values), error=error)), None, new)


def updating(old: StoredRecord, index: int, values: dict[str, Any], *,
             op: Any = None) -> Item:
    """An update (or delete / convert with `op`) of `old`."""
    new = replace(old, data={**old.data, **_fields(values)}, modified_time=NOW)
    if op == "delete":
        new.deleted_time = NOW
    return Item(Planned(index, v.Checked(values=dict(values)), target=old.id, op=op), old, new)


def batch_of(module: Module, ctx: WriteContext, items: Iterable[Item] = (),
             **memo: Any) -> Batch:
    b = Batch(module=module, ctx=ctx, now=NOW, tz=ZoneInfo(ctx.user.time_zone),
              plans=[i.plan for i in items])
    b.memo.update(memo)
    return b


def candidates(module: Module, items: Iterable[Item]) -> dict[int, set[str]]:
    """`memo["candidates"]` as the pipeline's prefetch leaves it: key fields' values."""
    out: dict[int, set[str]] = {}
    for i in items:
        for f in module.key_fields:
            key = normalise(f, i.values.get(f.api_name))
            if key is not None:
                out.setdefault(f.id, set()).add(key)
    return out


def store(corral: Corral, module: Module, data: dict[str, Any], *, created: datetime,
          owner: int | None = None, converted: bool = False) -> StoredRecord:
    """A record and its keys written straight through the repositories, with a chosen
    created time (so 'earliest first' can differ from id order)."""
    owner = owner if owner is not None else corral.auth.user_by_email(None).id
    r = rec(module, corral.db.new_id(), data, created=created, owner=owner,
            converted=converted)
    unique = {f.id for f in module.unique_fields}
    keys = KeyRepository()
    with corral.db.write() as tx:
        RecordRepository().insert_many(tx, [r])
        keys.apply(tx, [], [KeyRow(fid, key, r.id, fid in unique)
                            for fid, key in keys_of(module, r).items()])
        if converted:
            keys.mark_converted(tx, [r.id])
    return r


def rule(kind: str, rid: int, *, when: str = "create_or_edit", field: str | None = None,
         criteria: dict[str, Any] | None = None, actions: tuple[Action, ...] = (),
         mandatory: tuple[str, ...] = (), name: str = "") -> Rule:
    return Rule(id=rid, kind=kind, name=name or f"{kind} {rid}", when=when, field=field,
                criteria=cr.criteria_from_v8(criteria) if criteria else None,
                actions=actions, mandatory=mandatory)


def error_of(decision: Decision | None) -> tuple[str, dict[str, Any]]:
    assert decision is not None and decision.error is not None, decision
    return decision.error.code, decision.error.details


# ---------------------------------------------------------------------------------- order
def test_write_steps_registers_every_step_in_the_documented_order(seeded: Corral) -> None:
    steps = write_steps(seeded.registry)
    assert [s.name for s in steps] == [
        "record_tags", "blueprints", "validation", "currency", "approval_lock", "layout_rules",
        "workflow_field_updates", "computed_fields", "approval_entry", "lookups", "unique_keys",
        "duplicate_check_preference", "unique_links", "workflow_actions",
        "notes_follow_parents", "instant_notifications"]
    assert [type(s) for s in steps] == [
        RecordTags, BlueprintGuard, OwnerAndMandatory, CurrencyDefaults, ApprovalLock,
        LayoutRules, WorkflowFieldUpdates, ComputedFields, ApprovalEntry, Lookups, UniqueKeys,
        DuplicateCheckPreference, UniqueLinks, WorkflowActions, NotesFollowParents,
        InstantNotifications]
    # The write service runs exactly this list.
    assert [type(s) for s in seeded.records.pipeline.steps] == [type(s) for s in steps]
    ops = {s.name: s.ops for s in steps}
    assert ops["blueprints"] == ops["approval_lock"] == {"update"}
    assert ops["workflow_actions"] == {"insert", "update", "delete"}
    assert all(ops[n] == {"insert", "update"} for n in (
        "record_tags", "validation", "currency", "layout_rules", "workflow_field_updates",
        "computed_fields", "approval_entry", "lookups", "duplicate_check_preference"))
    assert ops["unique_keys"] == {"insert", "update", "restore"}  # a restore takes keys back


def test_order_blueprint_refuses_before_mandatory_fields_are_looked_at(corral: Corral) -> None:
    leads = corral.registry.require("Leads")
    c = context(corral)
    corral.blueprints.create(leads, {
        "name": "Web", "field": {"api_name": "Lead_Status"},
        "states": ["Not Contacted", "Contacted"],
        "transitions": [{"name": "Contact", "from": "Not Contacted", "to": "Contacted"}],
        "criteria": WEB}, c.principal)
    (ins,) = corral.records.insert(leads, [{"Last_Name": "W", "Lead_Source": "Web Download",
                                            "Lead_Status": "Not Contacted"}], c)
    assert ins.record is not None
    (out,) = corral.records.update(leads, [{"id": str(ins.record.id), "Last_Name": None,
                                            "Lead_Status": "Contacted"}], c)
    assert out.error is not None and out.error.code == "RECORD_IN_BLUEPRINT"
    (out,) = corral.records.update(leads, [{"id": str(ins.record.id), "Last_Name": None}], c)
    assert out.error is not None and out.error.code == "MANDATORY_NOT_FOUND"


def test_order_workflow_field_update_is_seen_by_approval_criteria(corral: Corral) -> None:
    leads = corral.registry.require("Leads")
    c = context(corral)
    corral.automation.create_rule(leads, "workflow", {
        "name": "Rate web leads", "when": "create", "criteria": WEB,
        "actions": [{"type": "field_update", "field": "Rating", "value": "Active"}]},
        c.principal, "$.workflow_rules[0]")
    corral.automation.create_rule(leads, "approval", {
        "name": "Active leads", "when": "create",
        "criteria": {"comparator": "equal", "field": {"api_name": "Rating"},
                     "value": "Active"}}, c.principal, "$.approval_processes[0]")
    web, cold = corral.records.insert(leads, [
        {"Last_Name": "W", "Lead_Source": "Web Download"},
        {"Last_Name": "C", "Lead_Source": "Cold Call"}], c)
    assert web.record is not None and cold.record is not None
    assert (web.record.data["Rating"], web.record.approval_state) == ("Active", PENDING)
    assert ("Rating" in cold.record.data, cold.record.approval_state) == (False, "approved")


# ---------------------------------------------------------------------------------- blueprints
def _blueprint(leads: Module, criteria: dict[str, Any] | None = WEB) -> Blueprint:
    return Blueprint(id=1, name="Web lead process", field="Lead_Status",
                     field_id=leads.by_name["Lead_Status"].id,
                     states=("Not Contacted", "Contacted"),
                     transitions=(Transition("11", "Contact", "Not Contacted", "Contacted"),),
                     criteria=cr.criteria_from_v8(criteria) if criteria else None)


def test_blueprint_refuses_a_plain_change_of_the_field(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    old = rec(leads, 1, {"Last_Name": "W", "Lead_Source": "Web Download",
                         "Lead_Status": "Not Contacted"})
    item = updating(old, 3, {"Lead_Status": "Contacted"})
    b = batch_of(leads, context(seeded), [item], blueprints=[_blueprint(leads)])
    assert error_of(BlueprintGuard().check(item, b)) == ("RECORD_IN_BLUEPRINT", {
        "api_name": "Lead_Status", "json_path": "$.data[3].Lead_Status"})


@pytest.mark.parametrize(("old_data", "values"), [
    ({"Lead_Source": "Web Download", "Lead_Status": "Not Contacted"}, {"City": "Pune"}),
    ({"Lead_Source": "Web Download", "Lead_Status": "Not Contacted"},
     {"Lead_Status": "Not Contacted"}),                           # same value: no change
    ({"Lead_Source": "Cold Call", "Lead_Status": "Not Contacted"},
     {"Lead_Status": "Contacted"}),                               # entry criteria not met
    ({"Lead_Source": "Web Download", "Lead_Status": "Junk Lead"},
     {"Lead_Status": "Contacted"}),                               # not in one of its states
], ids=["other-field", "same-value", "criteria-not-met", "state-outside"])
def test_blueprint_lets_records_and_fields_outside_it_change(
        seeded: Corral, old_data: dict[str, Any], values: dict[str, Any]) -> None:
    leads = seeded.registry.require("Leads")
    item = updating(rec(leads, 1, {"Last_Name": "W", **old_data}), 0, values)
    b = batch_of(leads, context(seeded), [item], blueprints=[_blueprint(leads)])
    assert BlueprintGuard().check(item, b) is None


def test_blueprint_without_criteria_holds_every_record_in_its_states(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    item = updating(rec(leads, 1, {"Lead_Status": "Contacted"}), 0,
                    {"Lead_Status": "Not Contacted"})
    b = batch_of(leads, context(seeded), [item], blueprints=[_blueprint(leads, None)])
    assert error_of(BlueprintGuard().check(item, b))[0] == "RECORD_IN_BLUEPRINT"


@pytest.mark.parametrize(("kw", "loaded"), [
    ({}, True), ({"trigger": ("blueprint",)}, True), ({"trigger": ()}, False),
    ({"trigger": ("workflow", "approval")}, False), ({"blueprint_transition": True}, False)],
    ids=["no-trigger", "blueprint", "none", "others", "transition"])
def test_blueprint_prepare_loads_blueprints_only_when_they_apply(
        corral: Corral, kw: dict[str, Any], loaded: bool) -> None:
    leads = corral.registry.require("Leads")
    c = context(corral, **kw)
    bp_id = corral.blueprints.create(leads, {
        "name": " Web ", "field": {"api_name": "Lead_Status"},
        "states": ["Not Contacted", "Contacted"],
        "transitions": [{"name": "Contact", "from": "Not Contacted", "to": "Contacted"}],
        "criteria": WEB}, c.principal)
    step = BlueprintGuard()
    b = batch_of(leads, c)
    with corral.db.read() as tx:
        step.prepare(tx, b)
    if not loaded:
        assert b.memo["blueprints"] == []
        return
    (bp,) = b.memo["blueprints"]
    assert (bp.id, bp.name, bp.field, bp.states) == (bp_id, "Web", "Lead_Status",
                                                     ("Not Contacted", "Contacted"))
    assert [(tr.name, tr.from_state, tr.to_state) for tr in bp.transitions] == [
        ("Contact", "Not Contacted", "Contacted")]
    # What it loaded is what the check uses.
    item = updating(rec(leads, 1, {"Lead_Source": "Web Download",
                                   "Lead_Status": "Not Contacted"}), 0,
                    {"Lead_Status": "Contacted"})
    assert error_of(step.check(item, b))[0] == "RECORD_IN_BLUEPRINT"


# ---------------------------------------------------------------------------------- validation
def test_owner_must_be_an_active_user(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    item = inserting(leads, 2, {"Last_Name": "A", "Owner": "12345"})
    b = batch_of(leads, context(seeded), [item], active_users={OWNER})
    assert error_of(OwnerAndMandatory().check(item, b)) == ("INVALID_DATA", {
        "api_name": "Owner", "json_path": "$.data[2].Owner"})
    ok = inserting(leads, 0, {"Last_Name": "A", "Owner": str(OWNER)})
    assert OwnerAndMandatory().check(ok, b) is None


def test_owner_may_not_be_emptied_on_update_but_defaults_on_insert(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    old = rec(leads, 1, {"Last_Name": "A"})
    emptied = updating(old, 1, {"Owner": None})
    b = batch_of(leads, context(seeded), [emptied], active_users={OWNER})
    assert error_of(OwnerAndMandatory().check(emptied, b)) == ("MANDATORY_NOT_FOUND", {
        "api_name": "Owner", "json_path": "$.data[1].Owner"})
    # On insert an empty owner means "the caller" (the pipeline's compose fills it in).
    assert OwnerAndMandatory().check(inserting(leads, 0, {"Last_Name": "A", "Owner": None}),
                                     b) is None


def test_insert_needs_every_mandatory_field(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    b = batch_of(leads, context(seeded), active_users={OWNER})
    for values in ({"City": "Pune"}, {"Last_Name": ""}, {"Last_Name": None}):
        assert error_of(OwnerAndMandatory().check(inserting(leads, 4, values), b)) == (
            "MANDATORY_NOT_FOUND", {"api_name": "Last_Name", "json_path": "$.data[4].Last_Name"})


def test_update_checks_only_the_mandatory_fields_it_touches(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    b = batch_of(leads, context(seeded), active_users={OWNER})
    legacy = rec(leads, 1, {"City": "Austin"})  # stored before Last_Name was mandatory
    assert OwnerAndMandatory().check(updating(legacy, 0, {"City": "Pune"}), b) is None
    cleared = updating(rec(leads, 2, {"Last_Name": "A"}), 5, {"Last_Name": ""})
    assert error_of(OwnerAndMandatory().check(cleared, b)) == (
        "MANDATORY_NOT_FOUND", {"api_name": "Last_Name", "json_path": "$.data[5].Last_Name"})


def test_validation_prepare_loads_active_users_only(corral: Corral) -> None:
    leads = corral.registry.require("Leads")
    admin = corral.auth.user_by_email(None)
    rep = corral.auth.create_user("rep@x.com", "Rep")
    gone = corral.auth.create_user("gone@x.com", "Gone")
    with corral.db.write() as tx:
        tx.execute(sa.update(t.users).where(t.users.c.id == gone.id).values(status="inactive"))
    b = batch_of(leads, context(corral))
    step = OwnerAndMandatory()
    with corral.db.read() as tx:
        step.prepare(tx, b)
    assert {admin.id, rep.id} <= b.memo[ACTIVE_USERS] and gone.id not in b.memo[ACTIVE_USERS]
    refused = inserting(leads, 0, {"Last_Name": "A", "Owner": str(gone.id)})
    assert error_of(step.check(refused, b))[0] == "INVALID_DATA"
    assert step.check(inserting(leads, 0, {"Last_Name": "A", "Owner": str(rep.id)}), b) is None


# ---------------------------------------------------------------------------------- approval lock
def test_a_record_waiting_for_approval_is_locked(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    old = rec(leads, 77, {"Last_Name": "A"}, approval_state=PENDING)
    item = updating(old, 0, {"City": "Pune"})
    # Whatever the trigger: only the approval decision moves it.
    for kw in ({}, {"trigger": ()}):
        b = batch_of(leads, context(seeded, **kw), [item])
        assert error_of(ApprovalLock().check(item, b)) == ("RECORD_LOCKED", {"id": "77"})
    decision = batch_of(leads, context(seeded, approval_action=True), [item])
    assert ApprovalLock().check(item, decision) is None


@pytest.mark.parametrize("state", ["approved", REJECTED])
def test_records_not_waiting_for_approval_are_free(seeded: Corral, state: str) -> None:
    leads = seeded.registry.require("Leads")
    item = updating(rec(leads, 77, {"Last_Name": "A"}, approval_state=state), 0,
                    {"City": "Pune"})
    assert ApprovalLock().check(item, batch_of(leads, context(seeded), [item])) is None


# ---------------------------------------------------------------------------------- layout rules
REFERRAL = {"comparator": "equal", "field": {"api_name": "Lead_Source"},
            "value": "Employee Referral"}


def _layout(rule_id: int = 31) -> Rules:
    return Rules(layout_rules=(rule("layout_rule", rule_id, criteria=REFERRAL,
                                    mandatory=("Company",), name="Referrals need a company"),))


def test_layout_rule_makes_fields_mandatory_when_asked_for(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    item = inserting(leads, 1, {"Last_Name": "R", "Lead_Source": "Employee Referral"})
    b = batch_of(leads, context(seeded, layout_rules=True), [item], automation_rules=_layout())
    assert error_of(LayoutRules().check(item, b)) == ("MANDATORY_NOT_FOUND", {
        "api_name": "Company", "json_path": "$.data[1].Company",
        "layout_rule": {"name": "Referrals need a company", "id": "31"}})
    empty = inserting(leads, 1, {"Last_Name": "R", "Lead_Source": "Employee Referral",
                                 "Company": ""})
    assert error_of(LayoutRules().check(empty, b))[0] == "MANDATORY_NOT_FOUND"


def test_layout_rule_is_off_without_apply_feature_execution(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    item = inserting(leads, 0, {"Last_Name": "R", "Lead_Source": "Employee Referral"})
    b = batch_of(leads, context(seeded), [item], automation_rules=_layout())
    assert LayoutRules().check(item, b) is None


def test_layout_rule_looks_at_the_record_as_it_would_be(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    b = batch_of(leads, context(seeded, layout_rules=True), automation_rules=_layout())
    # The company is already stored; the update does not repeat it.
    has_company = rec(leads, 1, {"Last_Name": "R", "Company": "Zylker"})
    assert LayoutRules().check(updating(has_company, 0, {"Lead_Source": "Employee Referral"}),
                               b) is None
    # Criteria not met: nothing is mandatory.
    assert LayoutRules().check(inserting(leads, 0, {"Last_Name": "R",
                                                    "Lead_Source": "Cold Call"}), b) is None


# ---------------------------------------------------------------------------------- workflow
def _rate(rule_id: int = 41, when: str = "create", value: str = "Active") -> Rule:
    return rule("workflow", rule_id, when=when, criteria=WEB,
                actions=(Action("field_update", field="Rating", value=value),))


def test_workflow_field_update_sets_values_and_tags_them(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    item = inserting(leads, 0, {"Last_Name": "W", "Lead_Source": "Web Download"})
    b = batch_of(leads, context(seeded), [item], automation_rules=Rules(workflows=(_rate(),)))
    decision = WorkflowFieldUpdates().check(item, b)
    assert decision is not None and decision.error is None
    assert decision.set_values == {"Rating": "Active"}
    assert decision.tags == {"Rating": "workflow:41"}
    assert EFFECTS not in b.memo  # nothing left for after the batch


@pytest.mark.parametrize("trigger", [(), ("approval", "blueprint")])
def test_workflow_field_update_is_off_when_trigger_leaves_it_out(
        seeded: Corral, trigger: tuple[str, ...]) -> None:
    leads = seeded.registry.require("Leads")
    item = inserting(leads, 0, {"Last_Name": "W", "Lead_Source": "Web Download"})
    b = batch_of(leads, context(seeded, trigger=trigger), [item],
                 automation_rules=Rules(workflows=(_rate(),)))
    assert WorkflowFieldUpdates().check(item, b) is None


def test_workflow_rules_fire_on_their_event_and_criteria_only(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    rules = Rules(workflows=(
        _rate(41, "create", "Active"),
        _rate(42, "edit", "Acquired"),
        rule("workflow", 43, when="field_update", field="Lead_Status",
             actions=(Action("field_update", field="Industry", value="ERP"),)),
    ))
    b = batch_of(leads, context(seeded), automation_rules=rules)
    step = WorkflowFieldUpdates()

    def fired(item: Item) -> tuple[dict[str, Any], dict[str, str]]:
        d = step.check(item, b)  # None: no rule fired, nothing to decide
        return (d.set_values, d.tags) if d is not None else ({}, {})

    web = {"Last_Name": "W", "Lead_Source": "Web Download"}
    assert fired(inserting(leads, 0, web)) == ({"Rating": "Active"}, {"Rating": "workflow:41"})
    assert fired(inserting(leads, 0, {"Last_Name": "C", "Lead_Source": "Cold Call"})) == ({}, {})
    old = rec(leads, 1, web)
    assert fired(updating(old, 0, {"City": "Pune"})) == (
        {"Rating": "Acquired"}, {"Rating": "workflow:42"})
    assert fired(updating(old, 0, {"Lead_Status": "Contacted"})) == (
        {"Rating": "Acquired", "Industry": "ERP"},
        {"Rating": "workflow:42", "Industry": "workflow:43"})
    # Criteria are read on the record as it would be, not on the request alone.
    assert fired(updating(rec(leads, 2, {"Last_Name": "C", "Lead_Source": "Cold Call"}), 0,
                          {"Lead_Source": "Web Download"}))[0] == {"Rating": "Acquired"}


def test_workflow_keeps_webhooks_and_tasks_for_after_the_batch(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    hook = Action("webhook", url="http://127.0.0.1:9/hook", fields=("Last_Name",))
    task = Action("create_task", subject="Call", due_in_days=2)
    notify = rule("workflow", 51, when="create",
                  actions=(hook, Action("field_update", field="Rating", value="Active"), task))
    items = [inserting(leads, 0, {"Last_Name": "A"}), inserting(leads, 1, {"Last_Name": "B"})]
    b = batch_of(leads, context(seeded), items, automation_rules=Rules(workflows=(notify,)))
    step = WorkflowFieldUpdates()
    for item in items:
        d = step.check(item, b)
        assert d is not None and d.set_values == {"Rating": "Active"}
    assert b.memo[EFFECTS] == {0: [(notify, hook), (notify, task)],
                               1: [(notify, hook), (notify, task)]}


def test_automation_prepare_loads_rules_once_and_only_when_some_apply(corral: Corral) -> None:
    leads = corral.registry.require("Leads")
    principal = context(corral).principal
    wf = corral.automation.create_rule(leads, "workflow", {
        "name": "Rate", "when": "create", "criteria": WEB,
        "actions": [{"type": "field_update", "field": "Rating", "value": "Active"}]},
        principal, "$.r")
    ap = corral.automation.create_rule(leads, "approval", {"name": "All"}, principal, "$.r")
    lr = corral.automation.create_rule(leads, "layout_rule", {
        "name": "Co", "mandatory": ["Company"]}, principal, "$.r")

    def prepared(**kw: Any) -> Batch:
        b = batch_of(leads, context(corral, **kw))
        with corral.db.read() as tx:
            for step in (LayoutRules(), WorkflowFieldUpdates(), ApprovalEntry(),
                         WorkflowActions()):
                step.prepare(tx, b)
        return b

    rules = prepared().memo[RULES]
    assert ([r.id for r in rules.workflows], [r.id for r in rules.approvals],
            [r.id for r in rules.layout_rules]) == ([wf], [ap], [lr])
    assert rules.workflows[0].actions == (Action("field_update", field="Rating",
                                                 value="Active"),)
    assert RULES not in prepared(trigger=()).memo
    assert RULES not in prepared(trigger=("blueprint",)).memo
    assert RULES in prepared(trigger=(), layout_rules=True).memo
    assert RULES in prepared(trigger=("approval",)).memo
    # Loaded once per batch: a later step does not read them again.
    b = batch_of(leads, context(corral))
    b.memo[RULES] = mine = Rules()
    with corral.db.read() as tx:
        WorkflowFieldUpdates().prepare(tx, b)
    assert b.memo[RULES] is mine


# ---------------------------------------------------------------------------------- approvals
def _big(rule_id: int = 61, when: str = "create") -> Rule:
    return rule("approval", rule_id, when=when, criteria={
        "comparator": "greater_than", "field": {"api_name": "Annual_Revenue"}, "value": 1000})


def test_approval_entry_puts_matching_records_in_waiting(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    item = inserting(leads, 0, {"Last_Name": "Big", "Annual_Revenue": 5000})
    b = batch_of(leads, context(seeded), [item], automation_rules=Rules(approvals=(_big(),)))
    decision = ApprovalEntry().check(item, b)
    assert decision is not None and decision.error is None
    assert decision.approval_state == PENDING
    assert decision.tags == {"$approval_state": "approval:61"}
    assert ApprovalEntry().check(inserting(leads, 0, {"Last_Name": "S",
                                                      "Annual_Revenue": 10}), b) is None


def test_approval_entry_skips_other_events_and_records_already_waiting(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    b = batch_of(leads, context(seeded), automation_rules=Rules(approvals=(_big(),)))
    big = rec(leads, 1, {"Last_Name": "Big", "Annual_Revenue": 5000})
    assert ApprovalEntry().check(updating(big, 0, {"City": "Pune"}), b) is None  # an edit
    waiting = inserting(leads, 0, {"Last_Name": "Big", "Annual_Revenue": 5000})
    waiting.new.approval_state = PENDING
    assert ApprovalEntry().check(waiting, b) is None
    # A rejected record that is edited enters again under a create_or_edit process.
    again = batch_of(leads, context(seeded),
                     automation_rules=Rules(approvals=(_big(62, "create_or_edit"),)))
    rejected = replace(big, approval_state=REJECTED)
    d = ApprovalEntry().check(updating(rejected, 0, {"City": "Pune"}), again)
    assert d is not None and d.approval_state == PENDING


@pytest.mark.parametrize("trigger", [(), ("workflow",)])
def test_approval_entry_is_off_when_trigger_leaves_it_out(
        seeded: Corral, trigger: tuple[str, ...]) -> None:
    leads = seeded.registry.require("Leads")
    item = inserting(leads, 0, {"Last_Name": "Big", "Annual_Revenue": 5000})
    b = batch_of(leads, context(seeded, trigger=trigger), [item],
                 automation_rules=Rules(approvals=(_big(),)))
    assert ApprovalEntry().check(item, b) is None


# ---------------------------------------------------------------------------------- lookups
def test_lookups_name_live_records_of_their_module(corral: Corral) -> None:
    contacts = corral.registry.require("Contacts")
    accounts = corral.registry.require("Accounts")
    c = context(corral)
    live, gone, other = (o.record for o in corral.records.insert(
        accounts, [{"Account_Name": "Live"}, {"Account_Name": "Gone"},
                   {"Account_Name": "Other"}], c))
    (lead,) = (o.record for o in corral.records.insert(
        corral.registry.require("Leads"), [{"Last_Name": "L"}], c))
    assert live is not None and gone is not None and other is not None and lead is not None
    corral.records.delete(accounts, [str(gone.id)], c)
    items = [inserting(contacts, 0, {"Last_Name": "A", "Account_Name": str(live.id)}),
             inserting(contacts, 1, {"Last_Name": "B", "Account_Name": str(gone.id)}),
             inserting(contacts, 2, {"Last_Name": "C", "Account_Name": str(lead.id)}),
             inserting(contacts, 3, {"Last_Name": "D", "Account_Name": str(other.id)},
                       error=v.invalid(contacts.by_name["Last_Name"], 3))]
    b = batch_of(contacts, c, items)
    step = Lookups(corral.registry)
    with corral.db.read() as tx:
        step.prepare(tx, b)
    # Plans that failed validation are not looked up.
    assert b.memo["valid_lookups"] == {"Accounts": {live.id}}
    assert step.check(items[0], b) is None
    for item in items[1:3]:
        assert error_of(step.check(item, b)) == ("INVALID_DATA", {
            "api_name": "Account_Name", "json_path": f"$.data[{item.index}].Account_Name"})


def test_what_id_points_at_the_module_named_by_se_module(corral: Corral) -> None:
    tasks = corral.registry.require("Tasks")
    c = context(corral)
    (lead,) = (o.record for o in corral.records.insert(
        corral.registry.require("Leads"), [{"Last_Name": "L"}], c))
    assert lead is not None
    items = [inserting(tasks, 0, {"Subject": "s", "What_Id": str(lead.id),
                                  "$se_module": "Leads"}),
             inserting(tasks, 1, {"Subject": "s", "What_Id": str(lead.id)}),  # Accounts
             inserting(tasks, 2, {"Subject": "s", "What_Id": str(lead.id),
                                  "$se_module": "Nowhere"})]
    b = batch_of(tasks, c, items)
    step = Lookups(corral.registry)
    with corral.db.read() as tx:
        step.prepare(tx, b)
    assert b.memo["valid_lookups"] == {"Leads": {lead.id}, "Accounts": set(), "Nowhere": set()}
    assert step.check(items[0], b) is None
    assert error_of(step.check(items[1], b))[1]["api_name"] == "What_Id"
    assert error_of(step.check(items[2], b))[1]["json_path"] == "$.data[2].What_Id"


def test_user_lookups_name_active_users_and_owner_is_left_to_validation(
        seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    reviewer = Field(id=1, module_id=leads.id, api_name="Reviewer", label="Reviewer",
                     data_type="ownerlookup", custom=True)
    module = replace(leads, fields=(*leads.fields, reviewer))
    b = batch_of(module, context(seeded), valid_lookups={}, active_users={OWNER})
    step = Lookups(seeded.registry)
    assert step.check(inserting(module, 0, {"Last_Name": "A", "Reviewer": str(OWNER)}),
                      b) is None
    assert error_of(step.check(inserting(module, 6, {"Last_Name": "A", "Reviewer": "5"}),
                               b)) == ("INVALID_DATA", {"api_name": "Reviewer",
                                                        "json_path": "$.data[6].Reviewer"})
    # Owner is a record column: OwnerAndMandatory judges it, not Lookups.
    assert step.check(inserting(module, 0, {"Last_Name": "A", "Owner": "5"}), b) is None


# ---------------------------------------------------------------------------------- unique keys
def _unique_batch(seeded: Corral, module: Module, *held: StoredRecord) -> Batch:
    """The prefetched view: who holds which key, their ranks and their keys."""
    b = batch_of(module, context(seeded))
    for r in held:
        b.current[r.id] = r
        b.ranks[r.id] = (r.created_time, r.id)
        b.keys[r.id] = keys_of(module, r)
        for fid, key in b.keys[r.id].items():
            b.holders.setdefault((fid, key), set()).add(r.id)
    return b


def test_unique_value_held_by_others_clashes_earliest_first(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    later = rec(leads, 101, {"Email": "dup@x.com"}, created=datetime(2026, 2, 2))
    first = rec(leads, 102, {"Email": "DUP@x.com"}, created=datetime(2026, 1, 1))
    b = _unique_batch(seeded, leads, later, first)
    item = inserting(leads, 0, {"Last_Name": "N", "Email": " Dup@X.com "})
    decision = UniqueKeys().check(item, b)
    assert decision is not None and decision.error is None
    assert decision.clashes == [Clash("Email", leads, (102, 101))]


def test_unique_keys_ignore_a_value_the_record_already_holds(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    mine = rec(leads, 101, {"Last_Name": "A", "Email": "a@x.com"})
    other = rec(leads, 102, {"Last_Name": "B", "Email": "b@x.com"})
    b = _unique_batch(seeded, leads, mine, other)
    assert UniqueKeys().check(updating(mine, 0, {"City": "Pune"}), b) is None
    assert UniqueKeys().check(updating(mine, 0, {"Email": "A@X.COM"}), b) is None
    # A value shared from before it was unique: keeping it is no new duplicate.
    b.holders[next(iter(b.keys[mine.id].items()))].add(other.id)
    assert UniqueKeys().check(updating(mine, 0, {"City": "Pune"}), b) is None
    taken = UniqueKeys().check(updating(mine, 0, {"Email": "B@x.com"}), b)
    assert taken is not None and taken.clashes == [Clash("Email", leads, (102,))]
    assert UniqueKeys().check(inserting(leads, 0, {"Last_Name": "C", "Email": "c@x.com"}),
                              b) is None


def test_only_unique_fields_clash(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    # Email stays the duplicate-check field (a key) but is no longer unique; Phone becomes
    # unique.
    module = replace(leads, fields=tuple(
        replace(f, unique=f.api_name == "Phone") for f in leads.fields))
    held = rec(module, 101, {"Email": "a@x.com", "Phone": "+1 (555) 222-3333"})
    b = _unique_batch(seeded, module, held)
    decision = UniqueKeys().check(inserting(module, 0, {"Last_Name": "N", "Email": "a@x.com",
                                                        "Phone": "+15552223333"}), b)
    assert decision is not None and decision.clashes == [Clash("Phone", module, (101,))]


# ---------------------------------------------------------------------------------- preference
def test_preference_converted_records_clashes_with_converted_leads(corral: Corral) -> None:
    leads = corral.registry.require("Leads")
    rep = corral.auth.create_user("rep@x.com", "Rep")
    later = store(corral, leads, {"Last_Name": "A", "Email": "a@x.com"},
                  created=datetime(2026, 2, 1), converted=True)
    first = store(corral, leads, {"Last_Name": "B", "Email": "A@x.com"},
                  created=datetime(2026, 1, 1), owner=rep.id, converted=True)
    # A live Lead may share the value (its key is unique, the converted ones' are not).
    live = store(corral, leads, {"Last_Name": "C", "Email": "a@x.com"},
                 created=datetime(2026, 1, 1))
    corral.preferences.create(leads, {"duplicate_check_preference": {
        "type": "converted_records"}})
    new = inserting(leads, 0, {"Last_Name": "N", "Email": "a@X.com"})
    keeps = updating(live, 1, {"City": "Pune"})
    b = batch_of(leads, context(corral), [new, keeps])
    b.memo["candidates"] = candidates(leads, [new, keeps])
    b.keys[live.id] = keys_of(leads, live)
    step = DuplicateCheckPreference(corral.registry)
    with corral.db.read() as tx:
        step.prepare(tx, b)
    decision = step.check(new, b)
    assert decision is not None and decision.error is None
    assert decision.clashes == [Clash("Email", leads, (first.id, later.id))]
    admin = corral.auth.user_by_email(None).id
    assert b.memo["owners_of_holders"] == {first.id: rep.id, later.id: admin}
    assert step.check(keeps, b) is None  # it already held the value
    other = inserting(leads, 2, {"Last_Name": "O", "Email": "o@x.com"})
    assert step.check(other, b) is None


def test_preference_mapped_module_records_clashes_with_contacts(corral: Corral) -> None:
    leads = corral.registry.require("Leads")
    # Email is Contacts' duplicate-check field; not unique, so two Contacts may share it.
    corral.metadata.set_unique(corral.registry.require("Contacts"), "Email", False)
    contacts = corral.registry.require("Contacts")
    later = store(corral, contacts, {"Last_Name": "A", "Email": "c@x.com"},
                  created=datetime(2026, 2, 1))
    first = store(corral, contacts, {"Last_Name": "B", "Email": "C@x.com"},
                  created=datetime(2026, 1, 1))
    corral.preferences.create(leads, {"duplicate_check_preference": {
        "type": "mapped_module_records", "type_configurations": [{
            "field_mappings": [{"current_field": {"api_name": "Email"},
                                "mapped_field": {"api_name": "Email"}}],
            "mapped_module": {"api_name": "Contacts"}}]}})
    old = rec(leads, 5, {"Last_Name": "L", "Email": "c@x.com"})
    items = [inserting(leads, 0, {"Last_Name": "N", "Email": "C@X.COM"}),
             updating(old, 1, {"City": "Pune"}),                # its Email does not change
             updating(old, 2, {"Email": " c@X.com"}),           # ... nor here, normalised
             inserting(leads, 3, {"Last_Name": "O", "Email": "o@x.com"})]
    b = batch_of(leads, context(corral), items)
    b.memo["candidates"] = candidates(leads, items)
    step = DuplicateCheckPreference(corral.registry)
    with corral.db.read() as tx:
        step.prepare(tx, b)
    decision = step.check(items[0], b)
    assert decision is not None
    (clash,) = decision.clashes
    assert (clash.api_name, clash.module.api_name, clash.holders) == (
        "Email", "Contacts", (first.id, later.id))
    assert [step.check(i, b) for i in items[1:]] == [None, None, None]


def test_preference_applies_to_leads_only(corral: Corral) -> None:
    contacts = corral.registry.require("Contacts")
    asked: list[str] = []

    def load(tx: Any, registry: Any, module: Module) -> Any:
        asked.append(module.api_name)
        return None

    step = DuplicateCheckPreference(corral.registry, load=load)
    item = inserting(contacts, 0, {"Last_Name": "N", "Email": "a@x.com"})
    b = batch_of(contacts, context(corral), [item])
    b.memo["candidates"] = candidates(contacts, [item])
    b.memo[step.name] = "left over from another batch"
    with corral.db.read() as tx:
        step.prepare(tx, b)
    assert asked == [] and step.name not in b.memo
    assert step.check(item, b) is None
    # Leads without a preference: asked, nothing to check.
    leads = corral.registry.require("Leads")
    lb = batch_of(leads, context(corral))
    with corral.db.read() as tx:
        step.prepare(tx, lb)
    assert asked == ["Leads"] and step.check(inserting(leads, 0, {"Email": "a@x.com"}),
                                             lb) is None


# ---------------------------------------------------------------------------------- actions
HOOK = "http://127.0.0.1:9/hook"


def test_workflow_webhook_becomes_an_outbox_entry(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    notify = rule("workflow", 71, name="Notify")
    hook = Action("webhook", url=HOOK, fields=("Last_Name", "Email"))
    created = inserting(leads, 0, {"Last_Name": "W", "Email": "w@x.com", "City": "Pune"},
                        rid=501)
    edited = updating(rec(leads, 502, {"Last_Name": "E"}), 1, {"City": "Pune"})
    b = batch_of(leads, context(seeded), [created, edited],
                 workflow_effects={0: [(notify, hook)], 1: [(notify, hook)]})
    follow = WorkflowActions().effects([created, edited], b)
    assert follow is not None and follow.writes == []
    rule_ref = {"id": "71", "name": "Notify"}
    assert follow.outbox == [
        OutboxEntry(71, 501, HOOK, {"module": "Leads", "id": "501", "event": "create",
                                    "rule": rule_ref,
                                    "data": {"Last_Name": "W", "Email": "w@x.com"}}),
        OutboxEntry(71, 502, HOOK, {"module": "Leads", "id": "502", "event": "edit",
                                    "rule": rule_ref,
                                    "data": {"Last_Name": "E", "Email": None}})]


def test_webhook_without_fields_sends_every_stored_field(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    item = inserting(leads, 0, {"Last_Name": "W", "City": "Pune"}, rid=501)
    b = batch_of(leads, context(seeded), [item], workflow_effects={
        0: [(rule("workflow", 71), Action("webhook", url=HOOK))]})
    follow = WorkflowActions().effects([item], b)
    assert follow is not None
    (entry,) = follow.outbox
    data = entry.payload["data"]
    assert list(data) == [f.api_name for f in leads.fields if f.column is None]
    assert "Owner" not in data and "Created_Time" not in data
    assert (data["Last_Name"], data["City"], data["Email"]) == ("W", "Pune", None)


def test_workflow_task_is_a_follow_up_write_linked_to_the_record(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    call = rule("workflow", 81)
    mail = rule("workflow", 82)
    first = inserting(leads, 0, {"Last_Name": "A"}, rid=601)
    second = updating(rec(leads, 602, {"Last_Name": "B"}, owner=OWNER + 1), 1, {"City": "X"})
    b = batch_of(leads, context(seeded), [first, second], workflow_effects={
        0: [(call, Action("create_task", subject="Call back", due_in_days=2))],
        1: [(mail, Action("create_task", subject="Write"))]})
    follow = WorkflowActions().effects([first, second], b)
    assert follow is not None and follow.outbox == []
    assert follow.writes == [FollowUpWrite("Tasks", [
        {"Subject": "Call back", "What_Id": {"id": "601"}, "$se_module": "Leads",
         "Owner": {"id": str(OWNER)}, "Due_Date": "2026-03-04"},
        {"Subject": "Write", "What_Id": {"id": "602"}, "$se_module": "Leads",
         "Owner": {"id": str(OWNER + 1)}},
    ], {0: "workflow:81", 1: "workflow:82"})]


def test_workflow_actions_only_for_records_whose_rules_fired(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    quiet = inserting(leads, 3, {"Last_Name": "Q"})
    b = batch_of(leads, context(seeded), [quiet], workflow_effects={
        0: [(rule("workflow", 71), Action("webhook", url=HOOK))]})
    follow = WorkflowActions().effects([quiet], b)
    assert follow is not None and (follow.outbox, follow.writes) == ([], [])


def _gone_rules() -> Rules:
    return Rules(workflows=(
        rule("workflow", 91, when="delete", name="Gone", criteria=WEB,
             actions=(Action("webhook", url=HOOK, fields=("Last_Name",)),)),
        rule("workflow", 92, when="create_or_edit",
             actions=(Action("webhook", url="http://127.0.0.1:9/other"),)),
    ))


def test_delete_rules_send_webhooks_for_deleted_records(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    web = updating(rec(leads, 701, {"Last_Name": "D", "Lead_Source": "Web Download"}), 0, {},
                   op="delete")
    cold = updating(rec(leads, 702, {"Last_Name": "C", "Lead_Source": "Cold Call"}), 1, {},
                    op="delete")
    b = batch_of(leads, context(seeded), [web, cold], automation_rules=_gone_rules())
    follow = WorkflowActions().effects([web, cold], b)
    assert follow is not None and follow.writes == []
    assert follow.outbox == [OutboxEntry(91, 701, HOOK, {
        "module": "Leads", "id": "701", "event": "delete",
        "rule": {"id": "91", "name": "Gone"}, "data": {"Last_Name": "D"}})]


@pytest.mark.parametrize("trigger", [(), ("approval",)])
def test_delete_rules_are_off_when_trigger_leaves_workflow_out(
        seeded: Corral, trigger: tuple[str, ...]) -> None:
    leads = seeded.registry.require("Leads")
    web = updating(rec(leads, 701, {"Last_Name": "D", "Lead_Source": "Web Download"}), 0, {},
                   op="delete")
    b = batch_of(leads, context(seeded, trigger=trigger), [web],
                 automation_rules=_gone_rules())
    follow = WorkflowActions().effects([web], b)
    assert follow is not None and follow.outbox == []


# ---------------------------------------------------------------------------------- tags
def test_record_tags_turns_names_and_ids_into_stored_ids(seeded: Corral) -> None:
    leads = seeded.registry.require("Leads")
    now = datetime(2026, 1, 1)
    hot = StoredTag(11, leads.id, "Hot", "#969696", 1, now, 1, now)
    cold = StoredTag(12, leads.id, "Cold", None, 1, now, 1, now)
    step = RecordTags()
    items = [inserting(leads, 0, {"Last_Name": "A", "Tag": [{"name": "hot"}, {"id": "12"}, "Hot"]}),
             inserting(leads, 1, {"Last_Name": "B", "Tag": [{"name": "Nope"}]}),
             inserting(leads, 2, {"Last_Name": "C"})]
    b = batch_of(leads, context(seeded), items, record_tags=[hot, cold])
    decision = step.check(items[0], b)
    assert decision is not None and decision.set_values == {"Tag": ["11", "12"]}
    assert error_of(step.check(items[1], b)) == (
        "INVALID_DATA", {"api_name": "Tag", "json_path": "$.data[1].Tag"})
    assert step.check(items[2], b) is None
    many = [StoredTag(100 + i, leads.id, f"t{i}", None, 1, now, 1, now) for i in range(11)]
    item = inserting(leads, 0, {"Last_Name": "A", "Tag": [f"t{i}" for i in range(11)]})
    assert error_of(step.check(item, batch_of(leads, context(seeded), [item],
                                              record_tags=many)))[0] == "LIMIT_EXCEEDED"


# ---------------------------------------------------------------------------------- notes
def test_notes_follow_parents_deletes_the_live_notes_of_deleted_records(corral: Corral) -> None:
    leads, accounts = corral.registry.require("Leads"), corral.registry.require("Accounts")
    notes = corral.registry.require("Notes")
    gone = store(corral, leads, {"Last_Name": "Gone"}, created=NOW)
    kept = store(corral, leads, {"Last_Name": "Kept"}, created=NOW)
    mine = [store(corral, notes, {"Note_Content": f"n{i}", "Parent_Id": str(gone.id),
                                  "$se_module": "Leads"}, created=NOW) for i in range(2)]
    store(corral, notes, {"Note_Content": "other", "Parent_Id": str(kept.id),
                          "$se_module": "Leads"}, created=NOW)
    # same id, other module: not a note of the deleted lead
    store(corral, notes, {"Note_Content": "acc", "Parent_Id": str(gone.id),
                          "$se_module": "Accounts"}, created=NOW)
    item = updating(gone, 0, {}, op="delete")
    b = batch_of(leads, context(corral), [item])
    step = NotesFollowParents(corral.registry)
    assert step.ops == {"delete"}
    with corral.db.read() as tx:
        step.prepare(tx, b)
    follow = step.effects([item], b)
    assert follow is not None and follow.outbox == []
    (write,) = follow.writes
    assert (write.module, write.items, set(write.deletes)) == ("Notes", [], {n.id for n in mine})
    assert step.effects([], b) is None
    # nothing to do for Notes themselves, or for modules without deletes in the batch
    nb = batch_of(notes, context(corral), [updating(mine[0], 0, {}, op="delete")])
    with corral.db.read() as tx:
        step.prepare(tx, nb)
    assert "notes_of_deleted" not in nb.memo
    ab = batch_of(accounts, context(corral), [inserting(accounts, 0, {"Account_Name": "A"})])
    with corral.db.read() as tx:
        step.prepare(tx, ab)
    assert "notes_of_deleted" not in ab.memo

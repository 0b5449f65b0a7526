"""Staging (records/staging.py): which changes a write makes, and the change-log entries that
carry the steps' decisions (automation tags) with full before and after values. Pure: no
database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from corral.auth.service import Principal, User
from corral.metadata.model import Module
from corral.records import validate as v
from corral.records.staging import Staged
from corral.records.writes import Batch, Change, Item, Planned, WriteContext, changes_of
from corral.storage.repositories.records import StoredRecord

NOW = datetime(2026, 3, 2, 9, 30)
OWNER = 41
CALLER = User(id=7, email="a@x.com", first_name=None, last_name="Admin", zuid="7",
              time_zone="UTC", profile_id=1, profile_name="Administrator", role="CEO",
              status="active")
LEADS = Module(id=1, api_name="Leads", singular_label="Lead", plural_label="Leads",
               scope_name="leads", dup_check_field=None, generated_type="default",
               layout_id=2, sequence=1)


def context(**kw: Any) -> WriteContext:
    return WriteContext(Principal(CALLER, scopes=()), **kw)


def rec(rid: int, data: dict[str, Any], **kw: Any) -> StoredRecord:
    return StoredRecord(id=rid, module_id=LEADS.id, data=data, owner_id=OWNER,
                        created_by=OWNER, modified_by=OWNER, created_time=NOW,
                        modified_time=NOW, **kw)


def item(index: int, values: dict[str, Any], old: StoredRecord | None = None, *,
         rid: int = 0, op: Any = None) -> Item:
    plan = Planned(index, v.Checked(values=values), target=old.id if old else None, op=op)
    new = (rec(rid, dict(values)) if old is None
           else replace(old, data={**old.data, **values}, modified_by=CALLER.id))
    return Item(plan, old, new)


def batch(ctx: WriteContext, *items: Item) -> Batch:
    return Batch(module=LEADS, ctx=ctx, now=NOW, tz=ZoneInfo("UTC"),
                 plans=[i.plan for i in items], memo={"orig_keys": {}})


def test_changes_of_an_insert_are_every_value() -> None:
    new = rec(1, {"Last_Name": "A", "Tags": ["x"]})
    assert changes_of(None, new) == {"Last_Name": Change(None, "A"), "Tags": Change(None, ["x"])}


def test_changes_of_an_update_are_the_differing_fields_owner_and_state() -> None:
    old = rec(1, {"Last_Name": "A", "City": "Austin", "Tags": ["x"], "Gone": 1})
    new = replace(old, data={"Last_Name": "A", "City": "Pune", "Tags": ["x", "y"], "New": 2},
                  owner_id=OWNER + 1, approval_state="approval_process_pending")
    changes = changes_of(old, new)
    assert changes == {
        "$approval_state": Change("approved", "approval_process_pending"),
        "Owner": Change(str(OWNER), str(OWNER + 1)),
        "City": Change("Austin", "Pune"), "Gone": Change(1, None), "New": Change(None, 2),
        "Tags": Change(["x"], ["x", "y"])}
    assert list(changes)[2:] == ["City", "Gone", "New", "Tags"]  # fields in name order
    assert changes_of(old, replace(old, modified_time=datetime(2030, 1, 1))) == {}


def test_staged_insert_logs_the_record_and_the_fields_automation_set() -> None:
    c = context(automation_tags={0: "workflow:5"})  # a task a workflow made
    made = item(0, {"Last_Name": "W"}, rid=11)
    made.new.data["Rating"] = "Active"  # as WorkflowFieldUpdates' decision left it
    made.new.approval_state = "approval_process_pending"  # ... and ApprovalEntry's
    made.tags.update({"Rating": "workflow:41", "$approval_state": "approval:61"})
    staged = Staged(LEADS, c, NOW)
    outcome = staged.add(made, {}, batch(c, made))
    assert outcome.action == "insert" and outcome.changes["Rating"] == Change(None, "Active")
    assert [(e.operation, e.field, e.old_value, e.new_value, e.automation)
            for e in staged.log] == [
        ("insert", None, None, {"Last_Name": "W", "Rating": "Active", "Owner": str(OWNER)},
         "workflow:5"),
        ("update", "Rating", None, "Active", "workflow:41"),
        ("update", "$approval_state", None, "approval_process_pending", "approval:61")]
    assert {e.user_id for e in staged.log} == {CALLER.id} and staged.inserts == {11: made.new}


def test_staged_update_and_delete_keep_full_before_values() -> None:
    c = context(request_id="req-1", job_id=9)
    upd = item(0, {"Tags": ["x", "y"]}, rec(12, {"Last_Name": "A", "Tags": ["x"]}))
    upd.tags["Tags"] = "workflow:3"
    gone = item(1, {}, rec(13, {"Last_Name": "D", "City": "Pune"}), op="delete")
    b = batch(c, upd, gone)
    staged = Staged(LEADS, c, NOW)
    staged.add(upd, {}, b)
    out = staged.add(gone, {}, b)
    assert out.action == "delete" and out.changes == {}
    assert [(e.record_id, e.operation, e.field, e.old_value, e.new_value, e.automation,
             e.request_id, e.job_id) for e in staged.log] == [
        (12, "update", "Tags", ["x"], ["x", "y"], "workflow:3", "req-1", 9),
        (13, "delete", None, {"Last_Name": "D", "City": "Pune", "Owner": str(OWNER)}, None,
         None, "req-1", 9)]
    assert staged.deleted == [13] and set(staged.updates) == {12, 13}

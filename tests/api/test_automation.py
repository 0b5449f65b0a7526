"""Automation behind `trigger`: workflow rules, approvals, layout rules, webhooks (over HTTP)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from tests.conftest import Api

WEB = {"comparator": "equal", "field": {"api_name": "Lead_Source"}, "value": "Web Download"}


def add_rule(api: Api, kind: str, rule: dict[str, Any], module: str = "Leads") -> str:
    r = api.post(f"settings/automation/{kind}", params={"module": module},
                 json={kind: [rule]})
    assert r.status_code == 201, r.text
    return str(r.json()[kind][0]["details"]["id"])


def insert(api: Api, record: dict[str, Any], trigger: list[str] | None = None,
           **extra: Any) -> Any:
    body: dict[str, Any] = {"data": [record], **extra}
    if trigger is not None:
        body["trigger"] = trigger
    return api.post("Leads", json=body)


TRIGGERS = [(None, True), (["workflow"], True), (["approval", "blueprint"], False), ([], False)]


@pytest.mark.parametrize(("trigger", "runs"), TRIGGERS)
def test_workflow_field_update_follows_trigger(api: Api, corral: Corral,
                                               trigger: list[str] | None, runs: bool) -> None:
    rule = add_rule(api, "workflow_rules", {
        "name": "Rate web leads", "when": "create", "criteria": WEB,
        "actions": [{"type": "field_update", "field": "Rating", "value": "Active"}]})
    r = insert(api, {"Last_Name": "W", "Lead_Source": "Web Download"}, trigger)
    rid = r.json()["data"][0]["details"]["id"]
    got = api.get(f"Leads/{rid}").json()["data"][0]
    assert got["Rating"] == ("Active" if runs else None)
    with corral.db.read() as conn:
        tags = conn.execute(sa.select(t.change_log.c.automation).where(
            t.change_log.c.record_id == int(rid), t.change_log.c.field == "Rating")).all()
    assert [x[0] for x in tags] == ([f"workflow:{rule}"] if runs else [])
    # Criteria not met: no update.
    r = insert(api, {"Last_Name": "C", "Lead_Source": "Cold Call"}, trigger)
    other = r.json()["data"][0]["details"]["id"]
    assert api.get(f"Leads/{other}").json()["data"][0]["Rating"] is None


def test_field_update_rule_and_create_task(api: Api) -> None:
    add_rule(api, "workflow_rules", {
        "name": "Follow up", "when": "field_update", "field": "Lead_Status",
        "criteria": {"comparator": "equal", "field": {"api_name": "Lead_Status"},
                     "value": "Contacted"},
        "actions": [{"type": "create_task", "subject": "Call back", "due_in_days": 2}]})
    (rid,) = api.insert("Leads", {"Last_Name": "L", "Lead_Status": "Not Contacted"})
    assert api.get("Tasks").status_code == 204  # no field update yet
    api.put(f"Leads/{rid}", json={"data": [{"City": "Pune"}]})
    assert api.get("Tasks").status_code == 204  # another field changed
    api.put(f"Leads/{rid}", json={"data": [{"Lead_Status": "Contacted"}]})
    (task,) = api.get("Tasks").json()["data"]
    assert task["Subject"] == "Call back" and task["What_Id"]["id"] == rid
    assert task["$se_module"] == "Leads" and task["Due_Date"] is not None


@pytest.mark.parametrize(("trigger", "runs"), TRIGGERS[:1] + [(["approval"], True),
                                                             (["workflow"], False), ([], False)])
def test_approval_locks_new_records(api: Api, trigger: list[str] | None, runs: bool) -> None:
    add_rule(api, "approval_processes", {
        "name": "Big leads", "when": "create",
        "criteria": {"comparator": "greater_than", "field": {"api_name": "Annual_Revenue"},
                     "value": 1000}})
    r = insert(api, {"Last_Name": "Big", "Annual_Revenue": 5000}, trigger)
    rid = r.json()["data"][0]["details"]["id"]
    assert r.json()["data"][0]["details"]["$approval_state"] == (
        "approval_process_pending" if runs else "approved")
    visible = api.get("Leads").status_code == 200
    assert visible is not runs
    if not runs:
        return
    pending = api.get("Leads", params={"approved": "false"}).json()["data"]
    assert [p["id"] for p in pending] == [rid] and pending[0]["$approved"] is False
    r = api.put(f"Leads/{rid}", json={"data": [{"City": "Pune"}]})
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "RECORD_LOCKED"
    r = api.post(f"Leads/{rid}/actions/approve", json={"data": [{"action": "approve"}]})
    assert r.status_code == 200, r.text
    assert api.get(f"Leads/{rid}").json()["data"][0]["$approval_state"] == "approved"
    assert api.put(f"Leads/{rid}", json={"data": [{"City": "Pune"}]}).status_code == 200


def test_reject_and_only_approvers_decide(api: Api, corral: Corral) -> None:
    from tests.conftest import make_token

    add_rule(api, "approval_processes", {"name": "All", "when": "create_or_edit"})
    (rid,) = api.insert("Leads", {"Last_Name": "X"})
    corral.auth.create_user("rep@x.com", "Rep")
    rep = make_token(corral, ["ZohoCRM.modules.ALL"], email="rep@x.com")
    r = api.post(f"Leads/{rid}/actions/approve", json={"data": [{"action": "approve"}]},
                 token=rep)
    assert r.status_code == 403
    r = api.post(f"Leads/{rid}/actions/approve", json={"data": [{"action": "reject"}]})
    assert r.status_code == 200
    got = api.get("Leads", params={"approved": "both"}).json()["data"][0]
    assert got["$approval_state"] == "approval_process_rejected"


@pytest.mark.parametrize("applied", [False, True])
def test_layout_rule_only_with_apply_feature_execution(api: Api, applied: bool) -> None:
    rule = add_rule(api, "layout_rules", {
        "name": "Referrals need a company", "mandatory": ["Company"],
        "criteria": {"comparator": "equal", "field": {"api_name": "Lead_Source"},
                     "value": "Employee Referral"}})
    extra = {"apply_feature_execution": [{"name": "layout_rules"}]} if applied else {}
    r = insert(api, {"Last_Name": "R", "Lead_Source": "Employee Referral"}, **extra)
    if not applied:
        assert r.status_code == 201
        return
    assert r.status_code == 400
    assert r.json()["data"][0] == {
        "code": "MANDATORY_NOT_FOUND", "message": "required field not found", "status": "error",
        "details": {"api_name": "Company", "json_path": "$.data[0].Company",
                    "layout_rule": {"name": "Referrals need a company", "id": rule}}}
    ok = insert(api, {"Last_Name": "R", "Lead_Source": "Employee Referral", "Company": "Z"},
                **extra)
    assert ok.status_code == 201


def test_unknown_feature_is_invalid(api: Api) -> None:
    r = insert(api, {"Last_Name": "R"}, apply_feature_execution=[{"name": "cadences"}])
    assert r.status_code == 400
    assert r.json()["details"] == {"api_name": "name",
                                   "json_path": "$.apply_feature_execution[0].name",
                                   "supported_values": ["layout_rules"]}


class Receiver:
    """A webhook receiver on 127.0.0.1 that fails the first `fail` requests with 500."""

    def __init__(self, fail: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail = fail
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.fail > 0:
                    receiver.fail -= 1
                    self.send_response(500)
                else:
                    receiver.bodies.append(body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=1)
    yield r
    r.close()


def test_webhook_delivery_with_retry(api: Api, corral: Corral, receiver: Receiver) -> None:
    corral.webhooks.backoff = lambda attempts: timedelta(seconds=0)
    rule = add_rule(api, "workflow_rules", {
        "name": "Notify", "when": "create_or_edit", "criteria": WEB,
        "actions": [{"type": "webhook", "url": receiver.url,
                     "fields": ["Last_Name", "Email"]}]})
    r = insert(api, {"Last_Name": "W", "Email": "w@x.com", "Lead_Source": "Web Download"})
    rid = r.json()["data"][0]["details"]["id"]
    assert corral.webhooks.deliver_once()  # receiver answers 500
    assert receiver.bodies == []
    assert corral.webhooks.deliver_once()  # retried, delivered
    assert not corral.webhooks.deliver_once()
    (body,) = receiver.bodies
    assert body["id"] == rid and body["event"] == "create" and body["rule"]["id"] == rule
    assert body["data"] == {"Last_Name": "W", "Email": "w@x.com"}
    listed = api.get("settings/automation/webhook_deliveries").json()["webhook_deliveries"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in listed] == [
        ("delivered", 2, 200)]


@pytest.mark.parametrize("wf_trigger", ["true", "false"])
def test_delete_runs_workflow_only_with_wf_trigger(api: Api, corral: Corral,
                                                   wf_trigger: str) -> None:
    add_rule(api, "workflow_rules", {"name": "Gone", "when": "delete",
                                     "actions": [{"type": "webhook",
                                                  "url": "http://127.0.0.1:9/x"}]})
    (rid,) = api.insert("Leads", {"Last_Name": "D"})
    api.delete("Leads", params={"ids": rid, "wf_trigger": wf_trigger})
    rows = corral.webhooks.deliveries()
    assert len(rows) == (1 if wf_trigger == "true" else 0)


def test_mass_update_ids_always_runs_automation(api: Api) -> None:
    add_rule(api, "workflow_rules", {
        "name": "Rate", "when": "edit",
        "actions": [{"type": "field_update", "field": "Rating", "value": "Active"}]})
    (rid,) = api.insert("Leads", {"Last_Name": "M"})
    api.post("Leads/actions/mass_update", json={"data": [{"City": "Pune"}], "ids": [rid],
                                               "trigger": []})
    assert api.get(f"Leads/{rid}").json()["data"][0]["Rating"] == "Active"


def test_invalid_rule_definitions(api: Api) -> None:
    bad = [{"name": "x", "when": "sometimes", "actions": [{"type": "webhook", "url": "http://a"}]},
           {"name": "x", "actions": [{"type": "field_update", "field": "Email", "value": 3}]},
           {"name": "x", "actions": [{"type": "webhook", "url": "ftp://a"}]},
           {"name": "x", "actions": []},
           {"name": "x", "criteria": "(Nope:equals:1)",
            "actions": [{"type": "create_task", "subject": "s"}]}]
    for rule in bad:
        r = api.post("settings/automation/workflow_rules", params={"module": "Leads"},
                     json={"workflow_rules": [rule]})
        assert r.status_code == 400, (rule, r.text)
    assert api.get("settings/automation/workflow_rules",
                   params={"module": "Leads"}).status_code == 204

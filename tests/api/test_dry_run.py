"""?dry_run=true on every record write: every table stays byte-identical, the answer is the
real call's with each record's plan and a plan fingerprint, and If-Match applies the real call
only when it does exactly that plan (else 412 PLAN_CHANGED, nothing written)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from tests.api.test_idempotency import Clock, clocked  # noqa: F401,F811 (a fixture)
from tests.api.test_mass_update import view_id
from tests.conftest import Api, make_token

ID_RE = re.compile(r"^-?\d{1,19}$")
TIMES = {"Created_Time", "Modified_Time"}


def checksum(corral: Corral) -> dict[str, str]:
    """A digest of every row of every table (the database's whole state)."""
    out: dict[str, str] = {}
    with corral.db.read() as tx:
        for table in t.metadata.sorted_tables:
            rows = sorted(repr(tuple(r)) for r in tx.execute(sa.select(table)))
            out[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


def neutral(doc: Any, key: str = "") -> Any:
    """The answer without what differs between a dry run and the real call by nature: ids of
    new records (placeholders in the dry run), write times, the plans themselves."""
    if isinstance(doc, dict):
        out = {k: neutral(v, k) for k, v in doc.items() if k not in {"plan", "plan_fingerprint"}}
        # A dry run adds `details` (for the plan) to answers that have none, as v2's convert.
        return {k: v for k, v in out.items() if not (k == "details" and v == {})}
    if isinstance(doc, list):
        return [neutral(v, key) for v in doc]
    if key in TIMES:
        return "T"
    if isinstance(doc, str | int) and not isinstance(doc, bool) and ID_RE.match(str(doc)) \
            and key in {"id", "job_id", "Contacts", "Accounts", "Deals"}:
        return "ID"
    return doc


Op = Callable[[dict[str, str]], tuple[str, str, Any, dict[str, Any]]]

OPS: dict[str, Op] = {
    "insert": lambda s: ("POST", "Leads", {"data": [
        {"Last_Name": "New", "Email": "new@x.com"}, {"Last_Name": "Dup", "Email": "a@x.com"},
        {"Email": "no-last-name@x.com"}]}, {}),
    "update": lambda s: ("PUT", "Leads", {"data": [
        {"id": s["a"], "Description": "changed"}, {"id": s["b"], "Email": "a@x.com"},
        {"id": "4876876000000999999", "Description": "x"}]}, {}),
    "update_one": lambda s: ("PUT", f"Leads/{s['a']}", {"data": [{"Phone": "555"}]}, {}),
    "update_noop": lambda s: ("PUT", f"Leads/{s['a']}", {"data": [{"Last_Name": "A"}]}, {}),
    "upsert": lambda s: ("POST", "Leads/upsert", {"data": [
        {"Last_Name": "A2", "Email": "a@x.com"}, {"Last_Name": "Fresh", "Email": "f@x.com"},
        {"Last_Name": "Again", "Email": "f@x.com"}]}, {}),
    "delete": lambda s: ("DELETE", "Leads", None,
                         {"ids": f"{s['b']},4876876000000999999"}),
    "delete_one": lambda s: ("DELETE", f"Leads/{s['b']}", None, {}),
    "mass_update_ids": lambda s: ("POST", "Leads/actions/mass_update", {
        "data": [{"Lead_Status": "Contacted"}], "ids": [s["a"], s["b"]]}, {}),
    "mass_update_cvid": lambda s: ("POST", "Leads/actions/mass_update", {
        "data": [{"Lead_Status": "Contacted"}], "cvid": s["cvid"]}, {}),
    "convert": lambda s: ("POST", f"Leads/{s['a']}/actions/convert", {"data": [{}]}, {}),
}


@pytest.fixture
def state(api: Api) -> dict[str, str]:
    a, b = api.insert("Leads", {"Last_Name": "A", "Email": "a@x.com", "Company": "Acme"},
                      {"Last_Name": "B", "Email": "b@x.com", "Company": "Beta"})
    return {"a": a, "b": b, "cvid": view_id(api, "All Leads")}


@pytest.mark.parametrize("op", list(OPS))
def test_dry_run_writes_nothing_and_answers_as_the_real_call(
        api: Api, corral: Corral, state: dict[str, str], op: str) -> None:
    method, path, body, params = OPS[op](state)
    before = checksum(corral)
    dry = api.request(method, path, json=body, params={**params, "dry_run": "true"})
    assert dry.status_code < 500, dry.text
    assert checksum(corral) == before
    fingerprint = dry.json()["plan_fingerprint"]
    real = api.request(method, path, json=body, params=params,
                       headers={"If-Match": fingerprint})
    assert real.status_code == dry.status_code, real.text
    assert neutral(real.json()) == neutral(dry.json())
    assert "plan_fingerprint" not in real.json()


def test_a_conversion_a_second_after_its_dry_run_keeps_the_fingerprint(
        clocked: tuple[Api, Corral, Clock]) -> None:  # noqa: F811 (the fixture)
    """The conversion time is a write time like Modified_Time: the real call, a second after
    its dry run, plans the same writes and passes If-Match."""
    api, _corral, clock = clocked
    (lead,) = api.insert("Leads", {"Last_Name": "Conv", "Company": "Acme"})
    path = f"Leads/{lead}/actions/convert"
    dry = api.post(path, json={"data": [{}]}, params={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    clock.now += timedelta(seconds=1)
    real = api.post(path, json={"data": [{}]},
                    headers={"If-Match": dry.json()["plan_fingerprint"]})
    assert real.status_code == 200, real.text


def test_plans_say_what_each_record_would_get(api: Api, state: dict[str, str]) -> None:
    r = api.post("Leads/upsert", params={"dry_run": "true"}, json={"data": [
        {"Last_Name": "A2", "Email": "a@x.com"}, {"Last_Name": "Fresh", "Email": "f@x.com"},
        {"Last_Name": "Same", "Email": "b@x.com", "Phone": None}]})
    assert r.status_code == 200, r.text
    first, second, _ = (d["details"]["plan"] for d in r.json()["data"])
    assert first["action"] == "update" and first["matched_by"] == "Email"
    assert first["changes"]["Last_Name"] == {"old": "A", "new": "A2"}
    assert second["action"] == "insert" and second["matched_by"] is None
    assert second["changes"]["Email"] == {"old": None, "new": "f@x.com"}
    assert re.fullmatch(r"[0-9a-f]{32}", r.json()["plan_fingerprint"])
    r = api.put(f"Leads/{state['a']}", params={"dry_run": "true"},
                json={"data": [{"Last_Name": "A"}]})
    assert r.json()["data"][0]["details"]["plan"] == {"action": "noop", "matched_by": None,
                                                      "changes": {}}
    r = api.post("Leads", params={"dry_run": "true"}, json={"data": [{"Email": "x@x.com"}]})
    entry = r.json()["data"][0]
    assert entry["code"] == "MANDATORY_NOT_FOUND"
    assert entry["details"]["plan"] == {"action": "error", "matched_by": None, "changes": {}}


def test_a_job_plan_gives_counts_and_the_first_plans(api: Api, corral: Corral,
                                                     state: dict[str, str]) -> None:
    api.insert("Leads", *[{"Last_Name": f"N{i}", "Lead_Status": "Contacted"} for i in range(3)])
    r = api.post("Leads/actions/mass_update", params={"dry_run": "true"},
                 json={"data": [{"Lead_Status": "Contacted"}], "cvid": state["cvid"]})
    assert r.status_code == 200, r.text
    plan = r.json()["data"][0]["details"]["plan"]
    assert plan["total"] == 5
    assert plan["counts"] == {"update": 2, "noop": 3}
    assert len(plan["plans"]) == 5
    assert {p["id"] for p in plan["plans"] if p["action"] == "update"} == {state["a"],
                                                                         state["b"]}
    with corral.db.read() as tx:
        assert tx.execute(sa.select(t.jobs)).first() is None


def test_if_match_refuses_a_plan_that_changed(api: Api, corral: Corral,
                                              state: dict[str, str]) -> None:
    body = {"data": [{"Last_Name": "A2", "Email": "a@x.com"}]}
    dry = api.post("Leads/upsert", params={"dry_run": "true"}, json=body)
    fingerprint = dry.json()["plan_fingerprint"]
    api.put(f"Leads/{state['a']}", json={"data": [{"Last_Name": "Moved on"}]})
    before = checksum(corral)
    r = api.post("Leads/upsert", json=body, headers={"If-Match": f'"{fingerprint}"'})
    assert r.status_code == 412
    assert r.json()["code"] == "PLAN_CHANGED" and r.json()["status"] == "error"
    assert checksum(corral) == before
    # The new plan's fingerprint (also in the error's details) applies.
    again = api.post("Leads/upsert", params={"dry_run": "true"}, json=body)
    assert again.json()["plan_fingerprint"] == r.json()["details"]["plan_fingerprint"]
    ok = api.post("Leads/upsert", json=body,
                  headers={"If-Match": again.json()["plan_fingerprint"]})
    assert ok.status_code == 200, ok.text
    assert api.get(f"Leads/{state['a']}").json()["data"][0]["Last_Name"] == "A2"


def test_if_match_with_an_idempotency_key(api: Api, corral: Corral,
                                          state: dict[str, str]) -> None:
    body = {"data": [{"id": state["a"], "Description": "keyed"}]}
    before = checksum(corral)
    r = api.put("Leads", json=body, headers={"If-Match": "0" * 32, "Idempotency-Key": "k"})
    assert r.status_code == 412
    assert checksum(corral) == before  # neither the write nor the key was kept
    fp = api.put("Leads", json=body, params={"dry_run": "true"}).json()["plan_fingerprint"]
    r = api.put("Leads", json=body, headers={"If-Match": fp, "Idempotency-Key": "k"})
    assert r.status_code == 200
    again = api.put("Leads", json=body, headers={"If-Match": fp, "Idempotency-Key": "k"})
    assert again.headers["idempotent-replayed"] == "true" and again.content == r.content


def test_dry_run_parameter_errors(api: Api, state: dict[str, str]) -> None:
    r = api.post("Leads", params={"dry_run": "maybe"}, json={"data": [{"Last_Name": "x"}]})
    assert r.status_code == 400
    assert r.json()["details"] == {"param_name": "dry_run", "supported_values": ["true",
                                                                                "false"]}
    r = api.post("Leads/actions/add_tags", params={"dry_run": "true", "ids": state["a"]},
                 json={"tags": [{"name": "t"}]})
    assert r.status_code == 400 and r.json()["code"] == "NOT_SUPPORTED"
    r = api.post("Leads", params={"dry_run": "false"}, json={"data": [{"Last_Name": "x"}]})
    assert r.status_code == 201 and "plan_fingerprint" not in r.json()


def test_dry_run_checks_token_scope_and_permission(api: Api, corral: Corral,
                                                   state: dict[str, str]) -> None:
    body = {"data": [{"Last_Name": "L"}]}
    r = api.client.post("/crm/v2/Leads?dry_run=true", json=body)
    assert r.status_code == 401 and r.json()["code"] == "AUTHENTICATION_FAILURE"
    read_only = make_token(corral, ["ZohoCRM.modules.leads.READ"])
    r = api.post("Leads", params={"dry_run": "true"}, json=body, token=read_only)
    assert r.status_code == 401 and r.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    user = corral.auth.create_user("std@x.com", "Standard", first_name="S")
    with corral.db.write() as tx:
        tx.execute(sa.update(t.profiles).where(t.profiles.c.id == user.profile_id).values(
            permissions={"admin": False, "modules": {"*": ["view"]}, "read_only_fields": {}}))
    std = make_token(corral, email="std@x.com")
    r = api.post("Leads", params={"dry_run": "true"}, json=body, token=std)
    assert r.status_code == 403 and r.json()["code"] == "NO_PERMISSION"


def test_a_conversion_plan_lists_every_record_it_writes(api: Api, corral: Corral,
                                                        state: dict[str, str]) -> None:
    before = checksum(corral)
    r = api.client.post(f"/crm/v8/Leads/{state['a']}/actions/convert?dry_run=true",
                        json={"data": [{"Deals": {"Deal_Name": "D", "Stage": "Qualification",
                                                  "Closing_Date": "2026-12-31"}}]},
                        headers=api.headers())
    assert r.status_code == 200, r.text
    assert checksum(corral) == before
    entry = r.json()["data"][0]
    assert entry["code"] == "SUCCESS"
    plan = entry["details"]["plan"]
    assert plan["action"] == "convert"
    by_module = {p["module"]: p for p in plan["records"]}
    assert {"Accounts", "Contacts", "Deals", "Leads"} <= set(by_module)
    assert by_module["Contacts"]["action"] == "insert"
    assert by_module["Contacts"]["changes"]["Last_Name"] == {"old": None, "new": "A"}
    assert by_module["Leads"]["action"] == "convert"
    assert by_module["Leads"]["id"] == state["a"]

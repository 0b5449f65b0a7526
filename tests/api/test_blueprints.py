"""Blueprints: transitions only; plain and mass updates of the field give RECORD_IN_BLUEPRINT."""

from __future__ import annotations

from typing import Any

import pytest

from corral.services import Corral
from tests.conftest import Api


@pytest.fixture
def blueprint(api: Api) -> dict[str, Any]:
    r = api.post("settings/blueprints", params={"module": "Leads"}, json={"blueprints": [{
        "name": "Web lead process", "field": {"api_name": "Lead_Status"},
        "states": ["Not Contacted", "Contacted", "Pre-Qualified"],
        "transitions": [{"name": "Contact", "from": "Not Contacted", "to": "Contacted"},
                        {"name": "Qualify", "from": "Contacted", "to": "Pre-Qualified"}],
        "criteria": {"comparator": "equal", "field": {"api_name": "Lead_Source"},
                     "value": "Web Download"}}]})
    assert r.status_code == 201, r.text
    got = api.get("settings/blueprints", params={"module": "Leads"}).json()["blueprints"][0]
    return got


def _web_lead(api: Api, **extra: Any) -> str:
    (rid,) = api.insert("Leads", {"Last_Name": "W", "Lead_Source": "Web Download",
                                  "Lead_Status": "Not Contacted", **extra})
    return rid


@pytest.mark.parametrize(("trigger", "blocked"), [
    (None, True), (["blueprint"], True), (["workflow", "approval"], False), ([], False)])
def test_plain_update_of_the_field_follows_trigger(api: Api, blueprint: dict[str, Any],
                                                   trigger: list[str] | None,
                                                   blocked: bool) -> None:
    rid = _web_lead(api)
    body: dict[str, Any] = {"data": [{"Lead_Status": "Pre-Qualified"}]}
    if trigger is not None:
        body["trigger"] = trigger
    r = api.put(f"Leads/{rid}", json=body)
    if blocked:
        assert r.status_code == 400
        assert r.json()["data"][0] == {
            "code": "RECORD_IN_BLUEPRINT", "message": "The record is in blue print",
            "status": "error",
            "details": {"api_name": "Lead_Status", "json_path": "$.data[0].Lead_Status"}}
    else:
        assert r.status_code == 200, r.text


def test_records_outside_the_blueprint_and_other_fields_are_free(api: Api,
                                                               blueprint: dict[str, Any]) -> None:
    rid = _web_lead(api)
    assert api.put(f"Leads/{rid}", json={"data": [{"City": "Pune"}]}).status_code == 200
    (cold,) = api.insert("Leads", {"Last_Name": "C", "Lead_Source": "Cold Call",
                                   "Lead_Status": "Not Contacted"})
    assert api.put(f"Leads/{cold}", json={"data": [{"Lead_Status": "Contacted"}]}
                   ).status_code == 200


def test_transition_moves_the_field(api: Api, blueprint: dict[str, Any]) -> None:
    rid = _web_lead(api)
    state = api.get(f"Leads/{rid}/actions/blueprint").json()["blueprint"]
    assert state["process_info"]["field_value"] == "Not Contacted"
    assert [t["name"] for t in state["transitions"]] == ["Contact"]
    contact = state["transitions"][0]["id"]
    r = api.put(f"Leads/{rid}/actions/blueprint", json={"blueprint": [
        {"transition_id": contact, "data": {"Description": "called"}}]})
    assert r.status_code == 200, r.text
    assert r.json()["message"] == "transition updated successfully"
    got = api.get(f"Leads/{rid}").json()["data"][0]
    assert got["Lead_Status"] == "Contacted" and got["Description"] == "called"
    # The same transition is no longer available from the new state.
    r = api.put(f"Leads/{rid}/actions/blueprint", json={"blueprint": [
        {"transition_id": contact}]})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    nxt = api.get(f"Leads/{rid}/actions/blueprint").json()["blueprint"]["transitions"]
    assert [t["name"] for t in nxt] == ["Qualify"]


def test_mass_update_gives_record_in_blueprint_for_those_records(
        api: Api, corral: Corral, blueprint: dict[str, Any]) -> None:
    in_bp = _web_lead(api)
    (free,) = api.insert("Leads", {"Last_Name": "F", "Lead_Status": "Not Contacted"})
    r = api.post("Leads/actions/mass_update", json={"data": [{"Lead_Status": "Contacted"}],
                                                   "ids": [in_bp, free]})
    assert r.status_code == 207
    blocked, ok = r.json()["data"]
    assert blocked["code"] == "RECORD_IN_BLUEPRINT"
    assert ok["code"] == "SUCCESS"
    views = api.get("settings/custom_views", params={"module": "Leads"}).json()["custom_views"]
    cvid = next(v["id"] for v in views if v["system_name"] == "ALLVIEWS")
    job = api.post("Leads/actions/mass_update", json={
        "data": [{"Lead_Status": "Pre-Qualified"}], "cvid": cvid}
    ).json()["data"][0]["details"]["job_id"]
    corral.jobs.run_until_idle()
    st = api.get("Leads/actions/mass_update", params={"job_id": job}).json()["data"][0]
    assert (st["Updated_Count"], st["Failed_Count"]) == (1, 1)
    assert api.get(f"Leads/{in_bp}").json()["data"][0]["Lead_Status"] == "Not Contacted"


def test_invalid_definitions(api: Api) -> None:
    r = api.post("settings/blueprints", params={"module": "Leads"}, json={"blueprints": [{
        "name": "x", "field": {"api_name": "City"}, "states": ["a"],
        "transitions": [{"name": "t", "to": "a"}]}]})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    r = api.post("settings/blueprints", params={"module": "Leads"}, json={"blueprints": [{
        "name": "x", "field": {"api_name": "Lead_Status"}, "states": ["Contacted"],
        "transitions": [{"name": "t", "to": "Elsewhere"}]}]})
    assert r.status_code == 400
    assert api.get("settings/blueprints", params={"module": "Leads"}).status_code == 204

"""A record's timeline (`GET /{module}/{id}/__timeline`, issue 14 item 4) from the change log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from corral.services import Corral
from tests.api.test_auth import _restricted_user
from tests.api.test_revert import revert
from tests.conftest import Api, make_token
from tests.contract import oas


def _validator() -> Any:
    path = Path(oas.oas_dir()) / "timelines.json"
    if not path.is_file():
        pytest.skip("Zoho's OpenAPI v8 folder is missing")
    doc = json.loads(path.read_text())
    return jsonschema_rs.Draft4Validator({"$ref": "#/components/schemas/Response_Wrapper",
                                          "components": doc["components"]})


def timeline(api: Api, rid: str, **params: Any) -> dict[str, Any]:
    r = api.get(f"Leads/{rid}/__timeline", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    errors = [e.message for e in _validator().iter_errors(body)]
    assert errors == []
    return dict(body)


def test_timeline_shows_every_write_newest_first(api: Api, corral: Corral) -> None:
    api.version = "v8"
    (rid,) = api.insert("Leads", {"Last_Name": "Daly", "Lead_Status": "Not Contacted"})
    up = api.put(f"Leads/{rid}", json={"data": [{"Lead_Status": "Contacted",
                                                  "Company": "Zylker"}]})
    mass = api.post("Leads/actions/mass_update", json={"data": [{"Lead_Status": "Junk Lead"}],
                                                       "ids": [rid]})
    job = revert(api, corral, {"request_id": mass.headers["X-Request-Id"]})["job_id"]
    body = timeline(api, rid)
    events = body["__timeline"]
    assert [e["action"] for e in events] == ["updated", "updated", "updated", "added"]
    assert [e["source"] for e in events] == ["revert", "crm_api", "crm_api", "crm_api"]
    assert events[0]["job_id"] == job
    assert events[0]["field_history"] == [{"api_name": "Lead_Status", "id": events[0][
        "field_history"][0]["id"], "_value": {"old": "Junk Lead", "new": "Contacted"}}]
    assert events[2]["request_id"] == up.headers["X-Request-Id"]
    assert {h["api_name"]: h["_value"] for h in events[2]["field_history"]} == {
        "Company": {"new": "Zylker"}, "Lead_Status": {"old": "Not Contacted",
                                                      "new": "Contacted"}}
    added = {h["api_name"]: h["_value"].get("new") for h in events[3]["field_history"]}
    assert added["Last_Name"] == "Daly"
    assert events[3]["done_by"]["id"] == events[3]["done_by"]["id"].strip()
    assert events[3]["record"] == {"name": "Daly", "id": rid,
                                   "module": {"api_name": "Leads", "id": events[3]["record"][
                                       "module"]["id"]}}
    assert body["info"] == {"per_page": 200, "page": 1, "count": 4, "more_records": False}


def test_timeline_paging_sorting_filters_and_inner_details(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Page"})
    for i in range(4):
        api.put(f"Leads/{rid}", json={"data": [{"Company": f"C{i}"}]})
    first = timeline(api, rid, per_page=2, sort_order="asc")
    assert [e["action"] for e in first["__timeline"]] == ["added", "updated"]
    assert first["info"]["more_records"] is True
    last = timeline(api, rid, per_page=2, page=3, sort_order="asc")
    assert [e["field_history"][0]["_value"]["new"] for e in last["__timeline"]] == ["C3"]
    assert last["info"]["more_records"] is False
    only = timeline(api, rid, filters=json.dumps({"comparator": "equal",
                                                  "field": {"api_name": "action"},
                                                  "value": "added"}))
    assert [e["action"] for e in only["__timeline"]] == ["added"]
    detailed = timeline(api, rid, per_page=1,
                        include_inner_details="field_history.field_label,"
                                              "field_history.data_type")
    (hist,) = detailed["__timeline"][0]["field_history"]
    assert (hist["field_label"], hist["data_type"]) == ("Company", "text")
    none = api.get(f"Leads/{rid}/__timeline", params={"filters": json.dumps({
        "comparator": "equal", "field": {"api_name": "source"}, "value": "merge"})})
    assert none.status_code == 204


def test_timeline_errors_scopes_and_permissions(api: Api, corral: Corral) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Err"})

    def error(r: Any, status: int, code: str) -> dict[str, Any]:
        assert r.status_code == status, r.text
        assert r.json()["code"] == code
        return dict(r.json())

    error(api.get(f"Nope/{rid}/__timeline"), 400, "INVALID_MODULE")
    body = error(api.get("Leads/4876876000000999999/__timeline"), 400, "INVALID_DATA")
    assert body["message"] == "the related id given seems to be invalid"
    body = error(api.get(f"Leads/{rid}/__timeline", params={"filters": "{"}), 400,
                 "INVALID_DATA")
    assert body["details"] == {"param_name": "filters"}
    error(api.get(f"Leads/{rid}/__timeline", params={"filters": json.dumps(
        {"comparator": "equal", "field": {"api_name": "Email"}, "value": "x"})}), 400,
        "INVALID_DATA")
    error(api.get(f"Leads/{rid}/__timeline", params={"sort_by": "Email"}), 400, "INVALID_DATA")
    error(api.get(f"Leads/{rid}/__timeline", params={"per_page": "500"}), 400, "INVALID_DATA")
    error(api.client.get(f"/crm/v2/Leads/{rid}/__timeline"), 401, "AUTHENTICATION_FAILURE")
    contacts = make_token(corral, ["ZohoCRM.modules.contacts.ALL"])
    error(api.get(f"Leads/{rid}/__timeline", token=contacts), 401, "OAUTH_SCOPE_MISMATCH")
    nobody = _restricted_user(corral, {"admin": False, "modules": {"Contacts": ["view"]},
                                       "read_only_fields": {}})
    error(api.get(f"Leads/{rid}/__timeline", token=nobody), 403, "NO_PERMISSION")


def test_timeline_names_the_workflow_rule_and_the_merge(api: Api, corral: Corral) -> None:
    from tests.api.test_automation import add_rule

    rule = add_rule(api, "workflow_rules", {
        "name": "Rate on edit", "when": "edit",
        "actions": [{"type": "field_update", "field": "Rating", "value": "Active"}]})
    master, child = api.insert("Leads", {"Last_Name": "Daly", "Company": "Zylker"},
                               {"Last_Name": "Daly", "Company": "Zylker", "City": "Pune"})
    api.put(f"Leads/{master}", json={"data": [{"Company": "Zylker Corp"}]})
    (edit, _added) = timeline(api, master)["__timeline"]
    assert edit["automation_details"] == {"type": "workflow_rule",
                                          "rule": {"name": "Rate on edit", "id": rule}}
    assert {h["api_name"] for h in edit["field_history"]} == {"Company", "Rating"}
    r = api.post(f"Leads/{master}/actions/merge", json={"merge": [{"data": [
        {"id": child, "_fields": [{"api_name": "City"}]}]}]})
    job = r.json()["merge"][0]["details"]["job_id"]
    corral.jobs.run_until_idle()
    merged = timeline(api, master)["__timeline"][0]
    assert (merged["source"], merged["job_id"], merged["action"]) == ("merge", job, "updated")
    assert merged["field_history"][0]["_value"] == {"new": "Pune"}
    deleted = timeline(api, child)["__timeline"][0]
    assert (deleted["action"], deleted["source"]) == ("deleted", "merge")


def test_timeline_page_tokens_walk_forward_and_back(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Token"})
    for i in range(4):
        api.put(f"Leads/{rid}", json={"data": [{"Company": f"C{i}"}]})
    first = timeline(api, rid, per_page=2, sort_order="asc")
    assert "previous_page_token" not in first["info"]
    second = timeline(api, rid, page_token=first["info"]["next_page_token"], sort_order="asc")
    assert [e["field_history"][0]["_value"]["new"] for e in second["__timeline"]] == [
        "C1", "C2"]
    assert second["info"]["page"] == 2 and second["info"]["per_page"] == 2
    third = timeline(api, rid, page_token=second["info"]["next_page_token"], sort_order="asc")
    assert third["info"]["more_records"] is False and "next_page_token" not in third["info"]
    back = timeline(api, rid, page_token=third["info"]["previous_page_token"], sort_order="asc")
    assert back["__timeline"] == second["__timeline"]
    token = first["info"]["next_page_token"]
    for params in ({"page_token": "not a token"}, {"page_token": token},  # order differs
                   {"page_token": token, "sort_order": "asc", "per_page": "2"}):
        r = api.get(f"Leads/{rid}/__timeline", params=params)
        assert r.status_code == 400, r.text
        assert r.json()["details"] == {"param_name": "page_token"}
    (other,) = api.insert("Leads", {"Last_Name": "Other"})
    r = api.get(f"Leads/{other}/__timeline", params={"page_token": token, "sort_order": "asc"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_DATA")


def test_timeline_include_and_include_timeline_type(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Types"})
    plain = timeline(api, rid)["__timeline"][0]
    assert "type" not in plain and "extension" not in plain
    typed = timeline(api, rid, include="type,extension", include_timeline_type="signals")
    assert typed["__timeline"][0]["type"] == "audit"
    assert len(typed["__timeline"]) == 1  # Corral has no signals: nothing more
    for params, name in (({"include": "colour"}, "include"),
                         ({"include_timeline_type": "signals"}, "include"),
                         ({"include": "type", "include_timeline_type": "emails"},
                          "include_timeline_type")):
        r = api.get(f"Leads/{rid}/__timeline", params=params)
        assert r.status_code == 400, r.text
        assert (r.json()["code"], r.json()["details"]) == ("INVALID_DATA", {"param_name": name})


def test_timeline_shows_notes_and_attachments_as_related_records(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Rel"})
    r = api.post("Notes", json={"data": [{"Note_Title": "Call", "Note_Content": "Rang",
                                          "Parent_Id": rid, "se_module": "Leads"}]})
    assert r.status_code == 201, r.text
    note = r.json()["data"][0]["details"]["id"]
    up = api.client.post(f"/crm/v8/Leads/{rid}/Attachments", headers=api.headers(None),
                         files={"file": ("plan.pdf", b"%PDF-1", "application/pdf")})
    assert up.status_code == 200, up.text
    att = up.json()["data"][0]["details"]["id"]
    assert api.delete(f"Notes/{note}").status_code == 200
    events = timeline(api, rid, sort_order="asc")["__timeline"]
    related = [(e["action"], e["related_record"]["module"]["name"], e["related_record"]["id"],
                e["related_record"]["name"]) for e in events if "related_record" in e]
    assert related == [("added", "Notes", note, "Call"), ("added", "Attachments", att,
                                                         "plan.pdf"),
                       ("deleted", "Notes", note, "Call")]
    assert all("field_history" not in e for e in events if "related_record" in e)
    assert events[0]["action"] == "added" and "related_record" not in events[0]
    notes_only = timeline(api, rid, filters=json.dumps(
        {"comparator": "equal", "field": {"api_name": "action"}, "value": "deleted"}))
    assert [e["related_record"]["id"] for e in notes_only["__timeline"]] == [note]

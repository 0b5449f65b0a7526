"""Mass update over HTTP (facts §5): by ids at once, by custom view as a durable job."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from tests.conftest import Api, make_token

URL = "Leads/actions/mass_update"


def view_id(api: Api, name: str, module: str = "Leads") -> str:
    views = api.get("settings/custom_views", params={"module": module}).json()["custom_views"]
    return next(v["id"] for v in views if v["name"] == name)


def create_view(api: Api, name: str, criteria: dict[str, Any] | None,
                access: str = "public", token: str | None = None) -> str:
    r = api.post("settings/custom_views", params={"module": "Leads"}, token=token,
                 json={"custom_views": [{"name": name, "criteria": criteria,
                                         "access_type": access}]})
    assert r.status_code == 201, r.text
    return str(r.json()["custom_views"][0]["details"]["id"])


def status(api: Api, job_id: str) -> dict[str, Any]:
    r = api.get(URL, params={"job_id": job_id})
    assert r.status_code == 200, r.text
    (item,) = r.json()["data"]
    return dict(item)


def test_by_ids_updates_valid_and_reports_invalid(api: Api) -> None:
    a, b = api.insert("Leads", {"Last_Name": "A"}, {"Last_Name": "B"})
    r = api.post(URL, json={"data": [{"Lead_Status": "Contacted"}],
                            "ids": [int(a), b, "1234567890123456789"]})
    assert r.status_code == 207
    ok_a, ok_b, bad = r.json()["data"]
    assert ok_a["code"] == "SUCCESS" and ok_a["message"] == "record updated"
    assert ok_b["details"]["id"] == b
    assert bad == {"code": "INVALID_DATA", "details": {"id": "1234567890123456789"},
                   "message": "the id given seems to be invalid", "status": "error"}
    for rid in (a, b):
        assert api.get(f"Leads/{rid}").json()["data"][0]["Lead_Status"] == "Contacted"


def test_by_cvid_schedules_a_job_that_completes(api: Api, corral: Corral) -> None:
    ids = api.insert("Leads", *[{"Last_Name": f"L{i}", "Lead_Status": "Not Contacted"}
                                for i in range(7)])
    api.insert("Leads", {"Last_Name": "Other", "Lead_Status": "Junk Lead"})
    cvid = create_view(api, "Not contacted", {"comparator": "equal",
                                              "field": {"api_name": "Lead_Status"},
                                              "value": "Not Contacted"})
    r = api.post(URL, json={"data": [{"Lead_Status": "Contacted"}], "cvid": cvid})
    assert r.status_code == 200
    (item,) = r.json()["data"]
    assert item["code"] == "SUCCESS" and item["message"] == "mass update scheduled successfully"
    job_id = item["details"]["job_id"]
    assert status(api, job_id) == {"Status": "SCHEDULED", "Total_Count": 7, "Updated_Count": 0,
                                   "Not_Updated_Count": 7, "Failed_Count": 0}
    corral.jobs.chunk = 3
    assert corral.jobs.run_once()
    st = status(api, job_id)
    assert st["Status"] == "RUNNING" and st["Updated_Count"] == 3
    assert st["Not_Updated_Count"] == 4
    corral.jobs.run_until_idle()
    assert status(api, job_id) == {"Status": "COMPLETED", "Total_Count": 7, "Updated_Count": 7,
                                   "Not_Updated_Count": 0, "Failed_Count": 0}
    for rid in ids:
        assert api.get(f"Leads/{rid}").json()["data"][0]["Lead_Status"] == "Contacted"
    with corral.db.read() as conn:
        logged = conn.execute(sa.select(t.change_log.c.record_id).where(
            t.change_log.c.job_id == int(job_id))).scalars().all()
    assert sorted(logged) == sorted(int(x) for x in ids)


def test_records_are_fixed_when_scheduled(api: Api, corral: Corral) -> None:
    api.insert("Leads", {"Last_Name": "A", "City": "Pune"})
    cvid = create_view(api, "Pune", {"comparator": "equal", "field": {"api_name": "City"},
                                     "value": "Pune"})
    job = api.post(URL, json={"data": [{"Rating": "Active"}], "cvid": cvid}
                   ).json()["data"][0]["details"]["job_id"]
    (late,) = api.insert("Leads", {"Last_Name": "Late", "City": "Pune"})
    corral.jobs.run_until_idle()
    assert status(api, job)["Total_Count"] == 1
    assert api.get(f"Leads/{late}").json()["data"][0]["Rating"] is None


def test_second_job_on_a_running_view_is_already_scheduled(api: Api, corral: Corral) -> None:
    api.insert("Leads", {"Last_Name": "A"})
    cvid = view_id(api, "All Leads")
    body = {"data": [{"Rating": "Active"}], "cvid": cvid}
    assert api.post(URL, json=body).status_code == 200
    r = api.post(URL, json=body)
    assert r.status_code == 202
    assert r.json() == {"data": [{
        "code": "ALREADY_SCHEDULED", "details": {}, "status": "error",
        "message": "Already a Mass Action scheduler is running for the given cvid"}]}
    corral.jobs.run_until_idle()
    assert api.post(URL, json=body).status_code == 200


def test_empty_view_and_limits(api: Api, corral: Corral) -> None:
    cvid = create_view(api, "Nobody", {"comparator": "equal", "field": {"api_name": "City"},
                                       "value": "Atlantis"})
    r = api.post(URL, json={"data": [{"Rating": "Active"}], "cvid": cvid})
    assert r.status_code == 400
    assert r.json()["data"][0]["code"] == "NO_RECORDS_FOUND"
    r = api.post(URL, json={"data": [{"Rating": "Active"}],
                            "ids": [str(10**18 + i) for i in range(501)]})
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "LIMIT_EXCEEDED"


def test_job_over_50000_records_is_limit_exceeded(api: Api, corral: Corral,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from corral.records import mass_update

    monkeypatch.setattr(mass_update, "MAX_JOB_RECORDS", 2)
    api.insert("Leads", {"Last_Name": "A"}, {"Last_Name": "B"}, {"Last_Name": "C"})
    r = api.post(URL, json={"data": [{"Rating": "Active"}], "cvid": view_id(api, "All Leads")})
    assert r.status_code == 400
    assert r.json()["data"][0] == {"code": "LIMIT_EXCEEDED", "details": {"limit": 2},
                                   "message": "Record count exceeded", "status": "error"}


@pytest.mark.parametrize("field", ["Email", "Description", "Owner"])
def test_fields_that_cannot_be_mass_updated(api: Api, field: str) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "A"})
    r = api.post(URL, json={"data": [{field: "x@y.com"}], "ids": [rid]})
    assert r.status_code == 400
    err = r.json()["data"][0]
    assert err["code"] == "INVALID_DATA"
    assert err["message"] == "This field cannot be updated in the Mass Update"
    assert err["details"]["api_name"] == field


def test_request_errors(api: Api, corral: Corral) -> None:
    r = api.post(URL, json={"data": [{"Rating": "Active"}]})
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    r = api.get(URL, params={"job_id": "1234567890123456789"})
    assert r.status_code == 404
    assert r.json() == {"code": "NOT_FOUND", "details": {"param_name": "job_id"},
                        "message": "Empty response", "status": "error"}
    r = api.get(URL)
    assert r.status_code == 400 and r.json()["code"] == "MANDATORY_NOT_FOUND"
    (rid,) = api.insert("Leads", {"Last_Name": "A"})
    r = api.post(URL, json={"data": [{"Rating": "Active", "City": "x"}], "ids": [rid]})
    assert r.json()["data"][0]["message"] == "Max field limit exceeded"
    r = api.post(URL, json={"data": [{"Nope": 1}], "ids": [rid]})
    assert r.json()["data"][0]["message"] == "No field found"
    modules_only = make_token(corral, ["ZohoCRM.modules.ALL"])
    r = api.post(URL, json={"data": [{"Rating": "Active"}], "ids": [rid]}, token=modules_only)
    assert r.status_code == 401 and r.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    scoped = make_token(corral, ["ZohoCRM.mass_update.leads.UPDATE"])
    assert api.post(URL, json={"data": [{"Rating": "Active"}], "ids": [rid]},
                    token=scoped).status_code == 200
    r = api.get(URL, params={"job_id": "1"}, token=scoped)
    assert r.status_code == 401


def test_private_view_of_another_user(api: Api, corral: Corral) -> None:
    corral.auth.create_user("rep@x.com", "Rep")
    rep = make_token(corral, ["ZohoCRM.settings.ALL", "ZohoCRM.mass_update.ALL",
                              "ZohoCRM.modules.ALL"], email="rep@x.com")
    api.insert("Leads", {"Last_Name": "A"})
    cvid = create_view(api, "Mine", None, access="only_to_me")
    r = api.post(URL, json={"data": [{"Rating": "Active"}], "cvid": cvid}, token=rep)
    assert r.status_code == 403
    assert r.json()["data"][0]["message"] == "Customview not accessible"


def test_field_edit_permission(api: Api, corral: Corral) -> None:
    with corral.db.write() as conn:
        conn.execute(sa.update(t.profiles).where(t.profiles.c.name == "Standard").values(
            permissions={"admin": False, "modules": {"*": ["view", "create", "edit"]},
                         "read_only_fields": {"Leads": ["Rating"]}}))
    corral.auth.create_user("rep@x.com", "Rep")
    rep = make_token(corral, ["ZohoCRM.mass_update.ALL", "ZohoCRM.modules.ALL"],
                     email="rep@x.com")
    (rid,) = api.insert("Leads", {"Last_Name": "A"})
    r = api.post(URL, json={"data": [{"Rating": "Active"}], "ids": [rid]}, token=rep)
    assert r.status_code == 403
    assert r.json()["data"][0]["message"] == "Field Edit Permission not given"


def test_over_write_for_multiselect(api: Api, corral: Corral) -> None:
    corral.metadata.add_field(corral.registry.require("Leads"), {
        "api_name": "Tags_X", "label": "Tags X", "type": "multiselectpicklist",
        "pick_list": ["A", "B"]})
    (rid,) = api.insert("Leads", {"Last_Name": "A", "Tags_X": ["A"]})
    api.post(URL, json={"data": [{"Tags_X": ["B"]}], "ids": [rid]})
    assert api.get(f"Leads/{rid}").json()["data"][0]["Tags_X"] == ["A", "B"]
    api.post(URL, json={"data": [{"Tags_X": ["B"]}], "ids": [rid], "over_write": True})
    assert api.get(f"Leads/{rid}").json()["data"][0]["Tags_X"] == ["B"]


def test_unique_field_and_preference_apply_to_jobs(api: Api, corral: Corral) -> None:
    corral.metadata.add_field(corral.registry.require("Leads"), {
        "api_name": "Code", "label": "Code", "type": "text", "unique": False})
    corral.metadata.set_unique(corral.registry.require("Leads"), "Code", True)
    a, b = api.insert("Leads", {"Last_Name": "A"}, {"Last_Name": "B"})
    r = api.post(URL, json={"data": [{"Code": "same"}], "ids": [a, b]})
    assert r.status_code == 207
    assert r.json()["data"][1]["code"] == "DUPLICATE_DATA"
    job = api.post(URL, json={"data": [{"Code": "z"}], "cvid": view_id(api, "All Leads")}
                   ).json()["data"][0]["details"]["job_id"]
    corral.jobs.run_until_idle()
    st = status(api, job)
    assert st["Status"] == "COMPLETED"
    assert (st["Updated_Count"], st["Failed_Count"]) == (1, 1)


def test_territory_narrows_a_job(api: Api, corral: Corral) -> None:
    r = api.post("settings/territories", json={"territories": [{"name": "West"}]})
    assert r.status_code == 201, r.text
    west = r.json()["territories"][0]["details"]["id"]
    r = api.post("settings/territories", json={"territories": [
        {"name": "California", "reporting_to": {"id": west}}]})
    ca = r.json()["territories"][0]["details"]["id"]
    a, b, c = api.insert("Leads", {"Last_Name": "A"}, {"Last_Name": "B"}, {"Last_Name": "C"})
    r = api.post("Leads/actions/assign_territories", json={"data": [
        {"id": a, "Territories": [{"id": west}]}, {"id": b, "Territories": [{"id": ca}]}]})
    assert r.status_code == 200, r.text
    got = api.get("settings/territories").json()["territories"]
    assert {x["name"] for x in got} == {"West", "California"}
    assert next(x for x in got if x["name"] == "California")["reporting_to"]["id"] == west
    cvid = view_id(api, "All Leads")
    job = api.post(URL, json={"data": [{"Rating": "Active"}], "cvid": cvid,
                              "territory": {"id": west}}).json()["data"][0]["details"]["job_id"]
    corral.jobs.run_until_idle()
    assert status(api, job)["Total_Count"] == 1
    job = api.post(URL, json={"data": [{"Rating": "Shut Down"}], "cvid": cvid,
                              "territory": {"id": west, "include_child": True}}
                   ).json()["data"][0]["details"]["job_id"]
    corral.jobs.run_until_idle()
    assert status(api, job)["Total_Count"] == 2
    assert api.get(f"Leads/{c}").json()["data"][0]["Rating"] is None


def test_my_view_selects_the_callers_records(api: Api, corral: Corral) -> None:
    rep = corral.auth.create_user("rep@x.com", "Rep")
    mine, _theirs = api.insert("Leads", {"Last_Name": "Mine"},
                               {"Last_Name": "Theirs", "Owner": {"id": str(rep.id)}})
    cvid = view_id(api, "My Leads")
    got = api.get("Leads", params={"cvid": cvid}).json()["data"]
    assert [g["id"] for g in got] == [mine]
    job = api.post(URL, json={"data": [{"Rating": "Active"}], "cvid": cvid}
                   ).json()["data"][0]["details"]["job_id"]
    corral.jobs.run_until_idle()
    assert status(api, job)["Total_Count"] == 1

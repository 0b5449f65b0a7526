"""Open and Closed Activities of a record (Tasks, Events, Calls whose What_Id or Who_Id names
it) and the Contact Roles of a Deal (contacts linked with their Contact_Role)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from tests.api.test_auth import _restricted_user
from tests.conftest import Api, make_token

PAST, FUTURE = "2001-01-01T10:00:00+00:00", "2101-01-01T10:00:00+00:00"


def _error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and body["status"] == "error", body
    return body


def _activities(api: Api, module: str, rid: str, which: str) -> list[tuple[str, str]]:
    r = api.get(f"{module}/{rid}/{which}_Activities")
    if r.status_code == 204:
        return []
    assert r.status_code == 200, r.text
    return [(d["Activity_Type"], d["id"]) for d in r.json()["data"]]


def _world(api: Api) -> dict[str, str]:
    (acc,) = api.insert("Accounts", {"Account_Name": "Zylker"})
    (deal,) = api.insert("Deals", {"Deal_Name": "Renewal", "Stage": "Qualification"})
    (con,) = api.insert("Contacts", {"Last_Name": "Boyle"})
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Company": "Z"})
    return {"acc": acc, "deal": deal, "con": con, "lead": lead}


def test_open_and_closed_activities_split_by_status(api: Api) -> None:
    w = _world(api)
    deal_ref = {"What_Id": {"id": w["deal"]}, "$se_module": "Deals"}
    open_task, done_task = api.insert(
        "Tasks", {"Subject": "Call back", "Status": "In Progress", **deal_ref},
        {"Subject": "Sent offer", "Status": "Completed", **deal_ref})
    (no_status,) = api.insert("Tasks", {"Subject": "Someday", **deal_ref})
    future_event, past_event = api.insert(
        "Events", {"Event_Title": "Demo", "Start_DateTime": FUTURE, "End_DateTime": FUTURE,
                   **deal_ref},
        {"Event_Title": "Kick-off", "Start_DateTime": PAST, "End_DateTime": PAST, **deal_ref})
    scheduled, logged = api.insert(
        "Calls", {"Subject": "Follow-up", "Call_Type": "Outbound", "Call_Start_Time": FUTURE,
                  "Call_Duration": "00:00", **deal_ref},
        {"Subject": "Intro", "Call_Type": "Inbound", "Call_Start_Time": PAST,
         "Call_Duration": "05:00", **deal_ref})
    # activities of other records stay out: another Deal, and an Account (default What_Id)
    api.insert("Tasks", {"Subject": "Elsewhere", "What_Id": {"id": w["acc"]}})
    assert sorted(_activities(api, "Deals", w["deal"], "Open")) == sorted([
        ("Tasks", open_task), ("Tasks", no_status), ("Events", future_event),
        ("Calls", scheduled)])
    assert sorted(_activities(api, "Deals", w["deal"], "Closed")) == sorted([
        ("Tasks", done_task), ("Events", past_event), ("Calls", logged)])
    # newest first, across modules
    ids = [i for _, i in _activities(api, "Deals", w["deal"], "Open")]
    assert ids == sorted(ids, reverse=True)
    # completing the task moves it to the closed list
    assert api.put("Tasks", json={"data": [{"id": open_task, "Status": "Completed"}]}
                   ).status_code == 200
    assert ("Tasks", open_task) in _activities(api, "Deals", w["deal"], "Closed")
    # each activity is shown with its own module's fields
    one = api.get(f"Deals/{w['deal']}/Closed_Activities/{past_event}").json()["data"]
    assert one[0]["Event_Title"] == "Kick-off" and one[0]["Activity_Type"] == "Events"
    assert _activities(api, "Accounts", w["acc"], "Open")[0][0] == "Tasks"
    assert _activities(api, "Leads", w["lead"], "Open") == []
    # paging over the merged list
    r = api.get(f"Deals/{w['deal']}/Open_Activities", params={"per_page": 2, "page": 2})
    assert r.json()["info"]["more_records"] is False and len(r.json()["data"]) == 1  # 3 open


def test_contact_activities_by_who_id(api: Api) -> None:
    w = _world(api)
    (task,) = api.insert("Tasks", {"Subject": "Ask", "Who_Id": {"id": w["con"]}})
    assert _activities(api, "Contacts", w["con"], "Open") == [("Tasks", task)]
    assert _activities(api, "Contacts", w["con"], "Closed") == []


def test_activities_lists_are_read_only_and_authorised(corral: Corral, api: Api) -> None:
    w = _world(api)
    deal = w["deal"]
    (task,) = api.insert("Tasks", {"Subject": "x", "What_Id": {"id": deal},
                                   "$se_module": "Deals"})
    _error(api.put(f"Deals/{deal}/Open_Activities/{task}", json={"data": [{}]}), 400,
           "NOT_SUPPORTED")
    _error(api.delete(f"Deals/{deal}/Open_Activities", params={"ids": task}), 400,
           "NOT_SUPPORTED")
    _error(api.get("Deals/123/Open_Activities"), 400, "INVALID_DATA")
    assert api.client.get(f"/crm/v8/Deals/{deal}/Open_Activities").status_code == 401
    deals_only = make_token(corral, ["ZohoCRM.modules.deals.READ"])
    _error(api.get(f"Deals/{deal}/Open_Activities", token=deals_only), 401,
           "OAUTH_SCOPE_MISMATCH")
    no_tasks = _restricted_user(corral, {"admin": False, "modules": {
        "Deals": ["view"], "Events": ["view"], "Calls": ["view"]}, "read_only_fields": {}})
    _error(api.get(f"Deals/{deal}/Open_Activities", token=no_tasks), 403, "NO_PERMISSION")


def test_contact_roles_of_a_deal(corral: Corral, api: Api) -> None:
    w = _world(api)
    deal, con = w["deal"], w["con"]
    (other,) = api.insert("Contacts", {"Last_Name": "Other"})
    r = api.put(f"Deals/{deal}/Contact_Roles/{con}",
                json={"data": [{"Contact_Role": {"name": "Evaluator"}}]})
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["message"] == "relation added"
    got = api.get(f"Deals/{deal}/Contact_Roles").json()["data"]
    assert [(d["id"], d["Last_Name"], d["Contact_Role"]["name"]) for d in got] == [
        (con, "Boyle", "Evaluator")]
    role_id = got[0]["Contact_Role"]["id"]
    assert role_id.isdigit()
    # another contact by the role's id; the first one's role changed by name
    r = api.put(f"Deals/{deal}/Contact_Roles", json={"data": [
        {"id": other, "Contact_Role": {"id": role_id}},
        {"id": con, "Contact_Role": {"name": "Purchasing"}}]})
    assert [d["status"] for d in r.json()["data"]] == ["success", "success"]
    got = {d["id"]: d["Contact_Role"]["name"]
           for d in api.get(f"Deals/{deal}/Contact_Roles").json()["data"]}
    assert got == {con: "Purchasing", other: "Evaluator"}
    one = api.get(f"Deals/{deal}/Contact_Roles/{other}").json()["data"]
    assert one[0]["Contact_Role"] == {"name": "Evaluator", "id": role_id}
    r = api.put(f"Deals/{deal}/Contact_Roles/{con}",
                json={"data": [{"Contact_Role": {"name": "Nobody"}}]})
    assert r.json()["data"][0]["code"] == "INVALID_DATA"
    r = api.delete(f"Deals/{deal}/Contact_Roles", params={"ids": con})
    assert r.json()["data"][0]["message"] == "relation removed"
    assert [d["id"] for d in api.get(f"Deals/{deal}/Contact_Roles").json()["data"]] == [other]
    # links are records of Deals_X_Contacts, through the write path and the change log
    links = corral.registry.require("Deals_X_Contacts")
    c = t.change_log.c
    with corral.db.read() as conn:
        ops = conn.execute(sa.select(c.operation).where(c.module_id == links.id,
                                                        c.field.is_(None))).scalars().all()
    assert sorted(ops) == ["delete", "insert", "insert"]
    viewer = _restricted_user(corral, {"admin": False, "modules": {"*": ["view"]},
                                       "read_only_fields": {}})
    assert api.get(f"Deals/{deal}/Contact_Roles", token=viewer).status_code == 200
    _error(api.put(f"Deals/{deal}/Contact_Roles/{con}", token=viewer,
                   json={"data": [{"Contact_Role": {"name": "Evaluator"}}]}), 403,
           "NO_PERMISSION")

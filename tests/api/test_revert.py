"""Revert (issue 14, item 3) and the request id / source every write leaves in the change log."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.services import Corral
from corral.storage import tables as t
from tests.api.test_auth import _restricted_user
from tests.api.test_mass_update import create_view
from tests.conftest import Api, make_token

URL = "actions/revert"
STATUSES = ["Not Contacted", "Contacted", "Junk Lead", "Lost Lead", "Pre-Qualified"]


def state(corral: Corral, ids: list[str]) -> dict[str, Any]:
    """Each record as stored: live or not, owner and field values (None values dropped: the
    log cannot tell an absent field from an empty one, and the API shows both as null)."""
    module = corral.registry.require("Leads")
    with corral.db.read() as tx:
        recs = corral.records.load(tx, module, [int(i) for i in ids], live_only=False)
    return {rid: (r.deleted_time is None, r.owner_id,
                  {k: val for k, val in r.data.items() if val is not None})
            for rid, r in recs.items()}


def revert(api: Api, corral: Corral, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post(URL, json=body)
    assert r.status_code == 202, r.text
    (item,) = r.json()["data"]
    assert (item["code"], item["message"], item["status"]) == (
        "SUCCESS", "revert scheduled", "success")
    corral.jobs.run_until_idle()
    got = api.get(URL, params={"job_id": item["details"]["job_id"]})
    assert got.status_code == 200, got.text
    return {"job_id": item["details"]["job_id"], **got.json()}


def log_rows(corral: Corral, record_id: str) -> list[Any]:
    with corral.db.read() as tx:
        return list(tx.execute(sa.select(t.change_log).where(
            t.change_log.c.record_id == int(record_id)).order_by(t.change_log.c.id)))


def test_every_response_carries_a_request_id_and_the_log_keeps_it(api: Api,
                                                                  corral: Corral) -> None:
    r = api.post("Leads", json={"data": [{"Last_Name": "Daly"}]})
    assert r.status_code == 201
    rid = r.json()["data"][0]["details"]["id"]
    request_id = r.headers["X-Request-Id"]
    assert len(request_id) == 32
    assert api.get(f"Leads/{rid}").headers["X-Request-Id"] not in ("", request_id)
    assert api.get("Leads/12345").headers["X-Request-Id"]  # an error too
    assert api.client.get("/crm/v2/Leads").headers["X-Request-Id"]  # no token
    assert api.client.get("/nothing/here").headers["X-Request-Id"]  # refused before routing
    (row,) = log_rows(corral, rid)
    assert (row.request_id, row.source, row.job_id) == (request_id, "api", None)


def test_revert_a_single_call_puts_every_record_back(api: Api, corral: Corral) -> None:
    a, b = api.insert("Leads", {"Last_Name": "A", "Lead_Status": "Contacted"},
                      {"Last_Name": "B", "Company": "Zylker"})
    before = state(corral, [a, b])
    r = api.put("Leads", json={"data": [{"id": a, "Lead_Status": "Junk Lead", "Company": "X"},
                                        {"id": b, "Last_Name": "Bee", "Company": None}]})
    assert r.status_code == 200
    assert state(corral, [a, b]) != before
    out = revert(api, corral, {"request_id": r.headers["X-Request-Id"]})
    assert out["data"] == [{"Status": "COMPLETED", "Total_Count": 2, "Reverted_Count": 2,
                            "Skipped_Count": 0, "Failed_Count": 0}]
    assert out["skipped"] == []
    assert state(corral, [a, b]) == before
    row = log_rows(corral, a)[-1]
    assert (row.source, row.job_id) == ("revert", int(out["job_id"]))


def test_revert_of_inserts_deletes_and_of_deletes_restores(api: Api, corral: Corral) -> None:
    r = api.post("Leads", json={"data": [{"Last_Name": "New", "Email": "n@x.com"}]})
    (new,) = [d["details"]["id"] for d in r.json()["data"]]
    revert(api, corral, {"request_id": r.headers["X-Request-Id"]})
    assert state(corral, [new])[int(new)][0] is False  # in the recycle bin
    assert api.get(f"Leads/{new}").status_code != 200
    (old,) = api.insert("Leads", {"Last_Name": "Old", "Email": "o@x.com"})
    (note,) = api.insert("Notes", {"Note_Content": "n", "Parent_Id": old, "se_module": "Leads"})
    before = state(corral, [old])
    d = api.delete(f"Leads/{old}")
    assert d.status_code == 200
    out = revert(api, corral, {"request_id": d.headers["X-Request-Id"]})
    assert out["data"][0]["Reverted_Count"] == 2  # the lead and its note
    assert state(corral, [old]) == before
    assert api.get(f"Notes/{note}").json()["data"][0]["id"] == note
    # its unique Email is held again: a second lead cannot take it
    clash = api.post("Leads", json={"data": [{"Last_Name": "Dup", "Email": "o@x.com"}]})
    assert clash.json()["data"][0]["code"] == "DUPLICATE_DATA"


def test_restore_is_refused_when_the_unique_value_was_taken(api: Api, corral: Corral) -> None:
    (old,) = api.insert("Leads", {"Last_Name": "Old", "Email": "o@x.com"})
    d = api.delete(f"Leads/{old}")
    api.insert("Leads", {"Last_Name": "Taker", "Email": "O@x.com"})
    out = revert(api, corral, {"request_id": d.headers["X-Request-Id"]})
    assert out["data"][0]["Failed_Count"] == 1
    assert state(corral, [old])[int(old)][0] is False


def test_a_record_changed_in_between_is_skipped_unless_forced(api: Api, corral: Corral) -> None:
    ids = api.insert("Leads", *[{"Last_Name": f"L{i}", "Lead_Status": "Not Contacted",
                                 "Company": "C"} for i in range(3)])
    before = state(corral, ids)
    r = api.post("Leads/actions/mass_update", json={"data": [{"Lead_Status": "Contacted"}],
                                                    "ids": ids})
    assert r.status_code == 200
    api.put(f"Leads/{ids[0]}", json={"data": [{"Lead_Status": "Junk Lead"}]})
    api.put(f"Leads/{ids[1]}", json={"data": [{"Company": "Other"}]})  # another field: fine
    out = revert(api, corral, {"request_id": r.headers["X-Request-Id"]})
    assert out["data"][0] == {"Status": "COMPLETED", "Total_Count": 3, "Reverted_Count": 2,
                              "Skipped_Count": 1, "Failed_Count": 0}
    assert out["skipped"] == [{"id": ids[0], "reason": "the record changed after the "
                                                       "reverted write: Lead_Status"}]
    now = state(corral, ids)
    assert now[int(ids[0])][2]["Lead_Status"] == "Junk Lead"
    assert now[int(ids[1])][2] == {**before[int(ids[1])][2], "Company": "Other"}
    assert now[int(ids[2])] == before[int(ids[2])]
    forced = revert(api, corral, {"request_id": r.headers["X-Request-Id"], "force": True})
    assert forced["data"][0]["Skipped_Count"] == 0
    assert state(corral, ids)[int(ids[0])][2]["Lead_Status"] == "Not Contacted"


def test_a_view_job_and_its_revert_can_both_be_reverted(api: Api, corral: Corral) -> None:
    ids = api.insert("Leads", *[{"Last_Name": f"V{i}", "Lead_Status": "Not Contacted"}
                                for i in range(4)])
    before = state(corral, ids)
    cvid = create_view(api, "Revertable", {"comparator": "equal",
                                           "field": {"api_name": "Lead_Status"},
                                           "value": "Not Contacted"})
    r = api.post("Leads/actions/mass_update", json={"data": [{"Lead_Status": "Contacted"}],
                                                    "cvid": cvid})
    job = r.json()["data"][0]["details"]["job_id"]
    corral.jobs.run_until_idle()
    after = state(corral, ids)
    first = revert(api, corral, {"job_id": job})
    assert first["data"][0]["Reverted_Count"] == 4
    assert state(corral, ids) == before
    second = revert(api, corral, {"job_id": first["job_id"]})
    assert second["data"][0]["Reverted_Count"] == 4
    assert state(corral, ids) == after


def test_revert_errors_scopes_and_permissions(api: Api, corral: Corral) -> None:
    def error(r: Any, status: int, code: str) -> dict[str, Any]:
        assert r.status_code == status, r.text
        body = r.json()
        assert body["code"] == code and body["status"] == "error"
        assert r.headers["X-Request-Id"]
        return dict(body)

    error(api.post(URL, json={}), 400, "MANDATORY_NOT_FOUND")
    error(api.post(URL, json={"job_id": "1", "request_id": "x"}), 400, "INVALID_DATA")
    error(api.post(URL, json={"job_id": "abc"}), 400, "INVALID_DATA")
    error(api.post(URL, json={"job_id": "4876876000000999999"}), 400, "INVALID_DATA")
    error(api.post(URL, json={"request_id": "nothing-here"}), 400, "INVALID_DATA")
    error(api.get(URL), 400, "MANDATORY_NOT_FOUND")
    error(api.get(URL, params={"job_id": "4876876000000999999"}), 404, "NOT_FOUND")
    error(api.client.post(f"/crm/v2/{URL}", json={"job_id": "1"}), 401,
          "AUTHENTICATION_FAILURE")
    leads_only = make_token(corral, ["ZohoCRM.modules.leads.ALL"])
    error(api.post(URL, json={"job_id": "1"}, token=leads_only), 401, "OAUTH_SCOPE_MISMATCH")
    error(api.get(URL, params={"job_id": "1"}, token=leads_only), 401, "OAUTH_SCOPE_MISMATCH")
    (rid,) = api.insert("Leads", {"Last_Name": "Mine"})
    r = api.put(f"Leads/{rid}", json={"data": [{"Last_Name": "Admin's"}]})
    std = _restricted_user(corral, {"admin": False, "modules": {"*": ["view", "edit"]},
                                    "read_only_fields": {}})
    error(api.post(URL, json={"request_id": r.headers["X-Request-Id"]}, token=std), 403,
          "NO_PERMISSION")


@pytest.mark.parametrize("version", ["v2", "v8"])
def test_revert_answers_under_every_version(api: Api, corral: Corral, version: str) -> None:
    api.version = version
    r = api.post("Leads", json={"data": [{"Last_Name": "Ver"}]})
    assert revert(api, corral, {"request_id": r.headers["X-Request-Id"]})["data"][0][
        "Reverted_Count"] == 1


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.fixed_dictionaries({
           "Last_Name": st.text("abcdefgh", min_size=1, max_size=8),
           "Lead_Status": st.none() | st.sampled_from(STATUSES),
           "Company": st.none() | st.text("xyz ", min_size=1, max_size=5)}),
           min_size=1, max_size=6),
       field=st.sampled_from(["Lead_Status", "Company", "First_Name"]),
       value=st.sampled_from(["Contacted", "Junk Lead", "zz", "Lost Lead"]),
       picked=st.lists(st.booleans(), min_size=6, max_size=6))
def test_mass_update_then_revert_leaves_every_record_exactly_as_before(
        api: Api, corral: Corral, records: list[dict[str, Any]], field: str, value: str,
        picked: list[bool]) -> None:
    if field == "Lead_Status" and value == "zz":
        value = "Contacted"
    ids = api.insert("Leads", *[{k: val for k, val in rec.items() if val is not None}
                                for rec in records])
    chosen = [rid for rid, pick in zip(ids, picked, strict=False) if pick] or ids[:1]
    before = state(corral, ids)
    r = api.post("Leads/actions/mass_update", json={"data": [{field: value}], "ids": chosen})
    assert r.status_code == 200, r.text
    if state(corral, ids) == before:  # every chosen record already held the value
        nothing = api.post(URL, json={"request_id": r.headers["X-Request-Id"]})
        assert nothing.status_code == 400 and "nothing to revert" in nothing.json()["message"]
        return
    revert(api, corral, {"request_id": r.headers["X-Request-Id"]})
    assert state(corral, ids) == before


def test_revert_of_a_lead_conversion_unconverts_the_lead(api: Api, corral: Corral) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Email": "paul@zylker.com",
                                   "Company": "Zylker"})
    (camp,) = api.insert("Campaigns", {"Campaign_Name": "Fair"})
    r = api.post(f"Leads/{lead}/Notes", json={"data": [{"Note_Content": "met at the fair"}]})
    note = r.json()["data"][0]["details"]["id"]
    r = api.client.post(f"/crm/v8/Leads/{lead}/Attachments", headers=api.headers(),
                        files={"file": ("card.txt", b"business card", "text/plain")})
    att = r.json()["data"][0]["details"]["id"]
    api.put(f"Leads/{lead}/Campaigns", json={"data": [{"id": camp,
                                                       "Member_Status": "Responded"}]})
    r = api.post(f"Leads/{lead}/actions/convert", json={"data": [{"Deals": {
        "Deal_Name": "Big", "Stage": "Qualification", "Closing_Date": "2026-12-31"}}]})
    assert r.status_code == 200, r.text
    made = r.json()["data"][0]
    out = revert(api, corral, {"request_id": r.headers["X-Request-Id"]})
    assert out["data"][0]["Failed_Count"] == 0 and out["skipped"] == [], out
    got = api.get(f"Leads/{lead}")
    assert got.status_code == 200
    assert got.json()["data"][0]["Email"] == "paul@zylker.com"
    assert not got.json()["data"][0].get("Converted__s")
    for module in ("Contacts", "Accounts", "Deals"):
        assert api.get(f"{module}/{made[module]}").status_code != 200
    for module in ("Contacts", "Accounts", "Deals"):  # in the recycle bin
        with corral.db.read() as tx:
            rec = corral.records.load(tx, corral.registry.require(module),
                                      [int(made[module])], live_only=False)[int(made[module])]
        assert rec.deleted_time is not None
    assert [n["id"] for n in api.get(f"Leads/{lead}/Notes").json()["data"]] == [note]
    assert [a["id"] for a in api.get(f"Leads/{lead}/Attachments").json()["data"]] == [att]
    camps = api.get(f"Leads/{lead}/Campaigns").json()["data"]
    assert [(c["id"], c["Member_Status"]) for c in camps] == [(camp, "Responded")]
    # its Email is unique-checked again: a second lead cannot take it
    clash = api.post("Leads", json={"data": [{"Last_Name": "Dup", "Email": "paul@zylker.com"}]})
    assert clash.json()["data"][0]["code"] == "DUPLICATE_DATA"
    timeline = api.get(f"Leads/{lead}/__timeline", params={"sort_order": "desc"})
    assert timeline.status_code == 200, timeline.text
    # and it can be converted again
    again = api.post(f"Leads/{lead}/actions/convert", json={"data": [{}]})
    assert again.status_code == 200, again.text


def test_a_converted_lead_changed_since_is_skipped_unless_forced(api: Api,
                                                                 corral: Corral) -> None:
    for n, force in enumerate((False, True)):
        (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Company": f"Zylker {n}"})
        r = api.post(f"Leads/{lead}/actions/convert", json={"data": [{}]})
        assert r.status_code == 200, r.text
        contact = r.json()["data"][0]["Contacts"]
        api.put(f"Leads/{lead}", json={"data": [{"Last_Name": "Changed"}]})  # refused
        api.put(f"Contacts/{contact}", json={"data": [{"Last_Name": "Changed"}]})
        out = revert(api, corral, {"request_id": r.headers["X-Request-Id"], "force": force})
        assert out["data"][0]["Failed_Count"] == 0, out
        assert [s["id"] for s in out["skipped"]] == ([] if force else [contact])
        assert (api.get(f"Contacts/{contact}").status_code == 200) is not force
        assert api.get(f"Leads/{lead}").status_code == 200


def test_revert_puts_the_approval_state_back(api: Api, corral: Corral) -> None:
    from tests.api.test_automation import add_rule

    add_rule(api, "approval_processes", {
        "name": "Big leads", "when": "create_or_edit",
        "criteria": {"comparator": "greater_than", "field": {"api_name": "Annual_Revenue"},
                     "value": 1000}})
    (rid,) = api.insert("Leads", {"Last_Name": "Small", "Annual_Revenue": 10})
    r = api.put(f"Leads/{rid}", json={"data": [{"Annual_Revenue": 5000}]})
    got = api.get("Leads", params={"approved": "false"}).json()["data"][0]
    assert (got["id"], got["$approval_state"]) == (rid, "approval_process_pending")
    out = revert(api, corral, {"request_id": r.headers["X-Request-Id"]})
    assert out["data"][0]["Reverted_Count"] == 1, out
    got = api.get(f"Leads/{rid}").json()["data"][0]
    assert (got["$approval_state"], got["Annual_Revenue"]) == ("approved", 10)
    # and the other way round: reverting the decision makes the record wait again
    r = api.put(f"Leads/{rid}", json={"data": [{"Annual_Revenue": 6000}]})
    d = api.post(f"Leads/{rid}/actions/approve", json={"data": [{"action": "reject"}]})
    assert d.status_code == 200, d.text
    revert(api, corral, {"request_id": d.headers["X-Request-Id"]})
    got = api.get("Leads", params={"approved": "false"}).json()["data"][0]
    assert (got["id"], got["$approval_state"]) == (rid, "approval_process_pending")


def test_force_restores_a_record_deleted_since_and_reverts_it(api: Api,
                                                              corral: Corral) -> None:
    a, b = api.insert("Leads", {"Last_Name": "A", "Lead_Status": "Contacted",
                                "Email": "a@x.com"}, {"Last_Name": "B"})
    before = state(corral, [a])
    r = api.put("Leads", json={"data": [{"id": a, "Lead_Status": "Junk Lead"}]})
    assert api.delete(f"Leads/{a}").status_code == 200
    out = revert(api, corral, {"request_id": r.headers["X-Request-Id"]})
    assert out["skipped"] == [{"id": a, "reason": "the record was deleted after the "
                                                  "reverted write"}]
    assert state(corral, [a])[int(a)][0] is False
    forced = revert(api, corral, {"request_id": r.headers["X-Request-Id"], "force": True})
    assert forced["data"][0]["Reverted_Count"] == 1 and forced["skipped"] == [], forced
    assert state(corral, [a]) == before
    assert api.get(f"Leads/{a}").json()["data"][0]["Lead_Status"] == "Contacted"
    # an inserted record deleted since stays in the recycle bin
    r = api.post("Leads", json={"data": [{"Last_Name": "New"}]})
    (new,) = [d["details"]["id"] for d in r.json()["data"]]
    api.delete(f"Leads/{new}")
    forced = revert(api, corral, {"request_id": r.headers["X-Request-Id"], "force": True})
    assert forced["data"][0]["Failed_Count"] == 0 and forced["skipped"] == [], forced
    assert state(corral, [new])[int(new)][0] is False


def test_revert_status_only_to_an_admin_or_the_user_who_scheduled_it(api: Api,
                                                                    corral: Corral) -> None:
    perms = {"admin": False, "modules": {"*": ["view", "create", "edit", "delete"]},
             "read_only_fields": {}}
    std = _restricted_user(corral, perms)
    other = _restricted_user(corral, perms, email="other@zylker.com")
    r = api.post("Leads", json={"data": [{"Last_Name": "Std's"}]}, token=std)
    assert r.status_code == 201, r.text
    s = api.post(URL, json={"request_id": r.headers["X-Request-Id"]}, token=std)
    assert s.status_code == 202, s.text
    job = s.json()["data"][0]["details"]["job_id"]
    corral.jobs.run_until_idle()
    assert api.get(URL, params={"job_id": job}, token=std).status_code == 200
    assert api.get(URL, params={"job_id": job}).json()["data"][0]["Reverted_Count"] == 1
    denied = api.get(URL, params={"job_id": job}, token=other)
    assert (denied.status_code, denied.json()["code"], denied.json()["status"]) == (
        403, "NO_PERMISSION", "error")

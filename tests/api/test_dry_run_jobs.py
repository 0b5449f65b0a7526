"""?dry_run=true, If-Match plan fingerprints and Idempotency-Key on the writes that schedule a
job: merge (`POST /{module}/{master}/actions/merge`) and bulk write (`POST /crm/bulk/{v}/write`).

A dry run writes nothing (every table byte-identical, no job) and answers as the real call with
the job's plan: counts per action and the first records' plans."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from corral.records.plans import VOLATILE
from corral.services import Corral
from corral.storage import tables as t
from tests.api.test_bulk import bulk, file_id, leads, write_result
from tests.api.test_dry_run import checksum, neutral
from tests.conftest import Api, make_token


def jobs(corral: Corral) -> int:
    with corral.db.read() as tx:
        return int(tx.execute(sa.select(sa.func.count()).select_from(t.jobs)).scalar_one())


def _attach(api: Api, record: str) -> str:
    r = api.client.post(f"/crm/v8/Accounts/{record}/Attachments", headers=api.headers(),
                        files={"file": ("a.txt", b"a", "text/plain")})
    assert r.status_code == 200, r.text
    return str(r.json()["data"][0]["details"]["id"])


@pytest.fixture
def accounts(api: Api) -> dict[str, str]:
    master, child = api.insert("Accounts", {"Account_Name": "Zylker", "Phone": "111"},
                               {"Account_Name": "Zylker Inc", "Phone": "222"})
    (contact,) = api.insert("Contacts", {"Last_Name": "Daly", "Account_Name": child})
    return {"master": master, "child": child, "contact": contact,
            "attachment": _attach(api, child)}


def merge_body(s: dict[str, str]) -> dict[str, Any]:
    return {"merge": [{"data": [{"id": s["child"], "_fields": [{"api_name": "Phone"}]}]}]}


# ----------------------------------------------------------------------------- merge
def test_merge_dry_run_writes_nothing_and_plans_every_record(
        api: Api, corral: Corral, accounts: dict[str, str]) -> None:
    url = f"Accounts/{accounts['master']}/actions/merge"
    before = checksum(corral)
    dry = api.post(url, params={"dry_run": "true"}, json=merge_body(accounts))
    assert dry.status_code == 201, dry.text
    assert checksum(corral) == before and jobs(corral) == 0
    plan = dry.json()["merge"][0]["details"]["plan"]
    assert plan["action"] == "job"
    changes: dict[tuple[str, str], dict[str, Any]] = {}
    for p in plan["plans"]:  # a record can be written more than once (fields, attachments)
        changes.setdefault((p["module"], p["id"]), {}).update(p["changes"])
    master = changes[("Accounts", accounts["master"])]
    assert master["Phone"] == {"old": "111", "new": "222"}
    assert master["$attachments"]["new"] == [accounts["attachment"]]
    assert changes[("Contacts", accounts["contact"])]["Account_Name"]["new"] == \
        accounts["master"]
    assert {p["action"] for p in plan["plans"] if p["id"] == accounts["child"]} == {
        "update", "delete"}  # its attachments leave, then it goes to the recycle bin
    assert plan["total"] == len(plan["plans"]) == sum(plan["counts"].values())
    assert "plan_fingerprint" not in dry.json()["merge"][0]
    real = api.post(url, json=merge_body(accounts),
                    headers={"If-Match": dry.json()["plan_fingerprint"]})
    assert real.status_code == 201, real.text
    assert neutral(real.json()) == neutral(dry.json())
    assert jobs(corral) == 1
    corral.jobs.run_until_idle()
    assert api.get(f"Accounts/{accounts['master']}").json()["data"][0]["Phone"] == "222"
    assert api.get(f"Accounts/{accounts['master']}/Attachments").status_code == 200
    # The job wrote exactly what its plan said, field by field.
    with corral.db.read() as tx:
        logged = {(str(e.record_id), e.field, e.operation) for e in tx.execute(
            sa.select(t.change_log).where(
                t.change_log.c.job_id == int(real.json()["merge"][0]["details"]["job_id"])))}
    planned = {(p["id"], field, p["action"]) for p in plan["plans"] for field in p["changes"]}
    planned |= {(p["id"], None, "delete") for p in plan["plans"] if p["action"] == "delete"}
    assert {x for x in logged if x[1] not in VOLATILE} == \
        {x for x in planned if x[1] not in VOLATILE}


def test_merge_if_match_refuses_a_plan_that_changed(api: Api, corral: Corral,
                                                    accounts: dict[str, str]) -> None:
    url = f"Accounts/{accounts['master']}/actions/merge"
    fp = api.post(url, params={"dry_run": "true"},
                  json=merge_body(accounts)).json()["plan_fingerprint"]
    api.insert("Contacts", {"Last_Name": "Late", "Account_Name": accounts["child"]})
    before = checksum(corral)
    r = api.post(url, json=merge_body(accounts), headers={"If-Match": f'"{fp}"'})
    assert r.status_code == 412, r.text
    assert (r.json()["code"], r.json()["status"]) == ("PLAN_CHANGED", "error")
    assert checksum(corral) == before and jobs(corral) == 0
    ok = api.post(url, json=merge_body(accounts),
                  headers={"If-Match": r.json()["details"]["plan_fingerprint"]})
    assert ok.status_code == 201, ok.text


def test_merge_with_an_idempotency_key_is_scheduled_once(api: Api, corral: Corral,
                                                         accounts: dict[str, str]) -> None:
    url = f"Accounts/{accounts['master']}/actions/merge"
    first = api.post(url, json=merge_body(accounts), headers={"Idempotency-Key": "m-1"})
    assert first.status_code == 201, first.text
    again = api.post(url, json=merge_body(accounts), headers={"Idempotency-Key": "m-1"})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert jobs(corral) == 1
    other = api.post(url, json={"merge": [{"data": [{"id": accounts["child"]}]}]},
                     headers={"Idempotency-Key": "m-1"})
    assert (other.status_code, other.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")


def test_merge_dry_run_errors_token_scope_and_permission(
        api: Api, corral: Corral, accounts: dict[str, str]) -> None:
    url = f"Accounts/{accounts['master']}/actions/merge"
    before = checksum(corral)
    r = api.post(url, params={"dry_run": "true"},
                 json={"merge": [{"data": [{"id": "4876876000000999999"}]}]})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_DATA")
    r = api.post(url, params={"dry_run": "maybe"}, json=merge_body(accounts))
    assert r.json()["details"]["param_name"] == "dry_run"
    r = api.client.post(f"/crm/v8/{url}?dry_run=true", json=merge_body(accounts))
    assert (r.status_code, r.json()["code"]) == (401, "AUTHENTICATION_FAILURE")
    read_only = make_token(corral, ["ZohoCRM.modules.accounts.READ"])
    r = api.post(url, params={"dry_run": "true"}, json=merge_body(accounts), token=read_only)
    assert (r.status_code, r.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
    user = corral.auth.create_user("std@x.com", "Standard", first_name="S")
    with corral.db.write() as tx:
        tx.execute(sa.update(t.profiles).where(t.profiles.c.id == user.profile_id).values(
            permissions={"admin": False, "modules": {"*": ["view"]}, "read_only_fields": {}}))
    std = make_token(corral, email="std@x.com")
    before = checksum(corral)
    r = api.post(url, params={"dry_run": "true"}, json=merge_body(accounts), token=std)
    assert (r.status_code, r.json()["code"]) == (403, "NO_PERMISSION")
    assert checksum(corral) == before


# ----------------------------------------------------------------------------- bulk write
ROWS = [["Last_Name", "Email", "Company"], ["Ames", "ames@x.com", "Zylker"],
        ["Bell", "not-an-email", "Zylker"], ["", "nolast@x.com", "Zylker"],
        ["Cole", "a@x.com", "Zylker"]]


def keyed_write(api: Api, body: dict[str, Any], **headers: str) -> Any:
    return api.client.post(f"/crm/bulk/{api.version}/write", json=body,
                           headers={**api.headers(), **headers})


def write_body(fid: str, operation: str = "upsert") -> dict[str, Any]:
    return {"operation": operation, "resource": [
        {"type": "data", "module": {"api_name": "Leads"}, "file_id": fid,
         "find_by": "Email"}]}


def test_bulk_write_dry_run_writes_nothing_and_equals_the_job(api: Api,
                                                              corral: Corral) -> None:
    (existing,) = api.insert("Leads", {"Last_Name": "A", "Email": "a@x.com"})
    fid = file_id(api, ROWS)
    before = checksum(corral)
    dry = bulk(api, "POST", "write", params={"dry_run": "true"}, json=write_body(fid))
    assert dry.status_code == 201, dry.text
    assert checksum(corral) == before and jobs(corral) == 0
    plan = dry.json()["details"]["plan"]
    assert plan["counts"] == {"insert": 1, "update": 1, "error": 2} and plan["total"] == 4
    assert [p["action"] for p in plan["plans"]] == ["insert", "error", "error", "update"]
    assert plan["plans"][3]["id"] == existing
    assert plan["plans"][3]["changes"]["Last_Name"] == {"old": "A", "new": "Cole"}
    real = keyed_write(api, write_body(fid), **{"If-Match": dry.json()["plan_fingerprint"]})
    assert real.status_code == 201, real.text
    assert neutral(real.json()) == neutral(dry.json())
    corral.jobs.run_until_idle()
    rows = write_result(api, real.json()["details"]["id"])
    assert [r["STATUS"] for r in rows] == ["ADDED", "SKIPPED", "SKIPPED", "UPDATED"]
    assert leads(api)["a@x.com"]["Last_Name"] == "Cole"


def test_bulk_write_plan_sees_earlier_chunks(api: Api, corral: Corral) -> None:
    """The plan applies the rows chunk by chunk as the worker does: a row that repeats an
    email of an earlier chunk is an update of the record that chunk inserts."""
    rows = [["Last_Name", "Email"], *([f"L{i}", f"l{i}@x.com"] for i in range(500)),
            ["Again", "l0@x.com"]]
    fid = file_id(api, rows)
    dry = bulk(api, "POST", "write", params={"dry_run": "true"}, json=write_body(fid))
    assert dry.status_code == 201, dry.text
    plan = dry.json()["details"]["plan"]
    assert plan["counts"] == {"insert": 500, "update": 1} and len(plan["plans"]) == 100
    assert jobs(corral) == 0 and leads(api) == {}


def test_bulk_write_if_match_refuses_a_plan_that_changed(api: Api, corral: Corral) -> None:
    fid = file_id(api, ROWS)
    fp = bulk(api, "POST", "write", params={"dry_run": "true"},
              json=write_body(fid)).json()["plan_fingerprint"]
    api.insert("Leads", {"Last_Name": "Ames", "Email": "ames@x.com"})
    before = checksum(corral)
    r = keyed_write(api, write_body(fid), **{"If-Match": fp})
    assert r.status_code == 412, r.text
    assert r.json()["code"] == "PLAN_CHANGED"
    assert checksum(corral) == before and jobs(corral) == 0


def test_bulk_write_with_an_idempotency_key_is_scheduled_once(api: Api,
                                                              corral: Corral) -> None:
    fid = file_id(api, ROWS)
    key = {"Idempotency-Key": "bulk-1"}
    first = keyed_write(api, write_body(fid, "insert"), **key)
    assert first.status_code == 201, first.text
    again = keyed_write(api, write_body(fid, "insert"), **key)
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert jobs(corral) == 1
    corral.jobs.run_until_idle()
    assert set(leads(api)) == {"ames@x.com", "a@x.com"}


def test_bulk_write_dry_run_token_scope_and_permission(api: Api, corral: Corral) -> None:
    fid = file_id(api, ROWS)
    body = write_body(fid)
    r = api.client.post(f"/crm/bulk/{api.version}/write?dry_run=true", json=body)
    assert (r.status_code, r.json()["code"]) == (401, "AUTHENTICATION_FAILURE")
    wrong = make_token(corral, ["ZohoCRM.settings.ALL"])
    r = bulk(api, "POST", "write", params={"dry_run": "true"}, json=body, token=wrong)
    assert (r.status_code, r.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
    user = corral.auth.create_user("std@x.com", "Standard", first_name="S")
    with corral.db.write() as tx:
        tx.execute(sa.update(t.profiles).where(t.profiles.c.id == user.profile_id).values(
            permissions={"admin": False, "modules": {"*": ["view"]}, "read_only_fields": {}}))
    std = make_token(corral, email="std@x.com")
    before = checksum(corral)
    r = bulk(api, "POST", "write", params={"dry_run": "true"}, json=body, token=std)
    assert (r.status_code, r.json()["code"]) == (403, "NO_PERMISSION")
    r = bulk(api, "POST", "write", params={"dry_run": "true"},
             json={**body, "operation": "delete"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_DATA")
    assert checksum(corral) == before

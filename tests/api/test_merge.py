"""Zoho's merge API (find_and_merge.json) as a revertible job (issue 14, item 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from corral.records.revert import Target
from corral.services import Corral
from tests.api.test_auth import _restricted_user
from tests.api.test_revert import revert
from tests.conftest import Api, make_token
from tests.contract import oas


def records_state(corral: Corral, module: str, ids: list[str]) -> dict[int, Any]:
    mod = corral.registry.require(module)
    with corral.db.read() as tx:
        recs = corral.records.load(tx, mod, [int(i) for i in ids], live_only=False)
    return {rid: (r.deleted_time is None, r.owner_id,
                  {k: val for k, val in r.data.items() if val is not None})
            for rid, r in recs.items()}


def _spec_errors(body: Any, schema: str) -> list[str]:
    """find_and_merge.json's verdict on an answer (`Response_Wrapper`, `Action_Wrapper`)."""
    path = Path(oas.oas_dir()) / "find_and_merge.json"
    if not path.is_file():
        pytest.skip("Zoho's OpenAPI v8 folder is missing")
    doc = json.loads(path.read_text())
    validator = jsonschema_rs.Draft4Validator({"$ref": f"#/components/schemas/{schema}",
                                               "components": doc["components"]})
    return [e.message for e in validator.iter_errors(body)]


def merge(api: Api, corral: Corral, master: str, body: dict[str, Any]) -> str:
    r = api.post(f"Accounts/{master}/actions/merge", json=body)
    assert r.status_code == 201, r.text
    assert _spec_errors(r.json(), "Action_Wrapper") == []
    (item,) = r.json()["merge"]
    assert (item["code"], item["status"]) == ("SCHEDULED", "success")
    job = str(item["details"]["job_id"])
    scheduled = api.get(f"Accounts/{master}/actions/merge", params={"job_id": job}).json()
    assert scheduled["merge"][0]["status"] == "SCHEDULED"
    corral.jobs.run_until_idle()
    status = api.get(f"Accounts/{master}/actions/merge", params={"job_id": job}).json()
    assert _spec_errors(status, "Response_Wrapper") == []
    (got,) = status["merge"]
    assert (got["job_id"], got["status"], got["master_record_fields"]) == (job, "COMPLETED", [])
    sent = body["merge"][0]["data"]
    assert got["data"] == [{"id": d["id"], "_fields": [
        {"api_name": f["api_name"]} for f in d.get("_fields", [])]} for d in sent]
    return job


def test_merge_moves_related_data_and_its_revert_restores_everything(api: Api,
                                                                     corral: Corral) -> None:
    master, child = api.insert("Accounts", {"Account_Name": "Zylker", "Phone": "111"},
                               {"Account_Name": "Zylker Inc", "Phone": "222",
                                "Website": "zylker.com"})
    (contact,) = api.insert("Contacts", {"Last_Name": "Daly", "Account_Name": child})
    (note,) = api.insert("Notes", {"Note_Content": "n", "Parent_Id": child,
                                   "se_module": "Accounts"})
    assert api.post(f"Accounts/{child}/actions/add_tags",
                    json={"tags": [{"name": "VIP"}]}).status_code == 200
    before = {**records_state(corral, "Accounts", [master, child]),
              **records_state(corral, "Contacts", [contact]),
              **records_state(corral, "Notes", [note])}
    job = merge(api, corral, master, {"merge": [{"data": [{"id": child, "_fields": [
        {"api_name": "Phone"}]}]}]})
    got = api.get(f"Accounts/{master}").json()["data"][0]
    assert got["Phone"] == "222" and got["Account_Name"] == "Zylker"
    assert [t["name"] for t in got["Tag"]] == ["VIP"]
    assert api.get(f"Contacts/{contact}").json()["data"][0]["Account_Name"]["id"] == master
    assert api.get(f"Notes/{note}").json()["data"][0]["Parent_Id"]["id"] == master
    assert records_state(corral, "Accounts", [child])[int(child)][0] is False  # recycle bin
    out = revert(api, corral, {"job_id": job})
    assert out["data"][0]["Failed_Count"] == 0 and out["data"][0]["Skipped_Count"] == 0
    after = {**records_state(corral, "Accounts", [master, child]),
             **records_state(corral, "Contacts", [contact]),
             **records_state(corral, "Notes", [note])}
    assert after == before


def _attach(api: Api, record: str, name: str, content: bytes) -> str:
    r = api.client.post(f"/crm/v8/Accounts/{record}/Attachments", headers=api.headers(),
                        files={"file": (name, content, "text/plain")})
    assert r.status_code == 200, r.text
    return str(r.json()["data"][0]["details"]["id"])


def _attachments(api: Api, record: str) -> dict[str, str]:
    r = api.get(f"Accounts/{record}/Attachments")
    if r.status_code == 204:
        return {}
    assert r.status_code == 200, r.text
    return {a["id"]: a["File_Name"] for a in r.json()["data"]}


def test_merge_moves_attachments_to_the_master_and_revert_gives_them_back(
        api: Api, corral: Corral) -> None:
    master, child, other = api.insert("Accounts", {"Account_Name": "Zylker"},
                                      {"Account_Name": "Zylker Inc"}, {"Account_Name": "Zyl"})
    mine = _attach(api, master, "master.txt", b"m")
    a1 = _attach(api, child, "child-1.txt", b"one")
    a2 = _attach(api, child, "child-2.txt", b"two")
    job = merge(api, corral, master, {"merge": [{"data": [{"id": child}, {"id": other}]}]})
    assert _attachments(api, master) == {mine: "master.txt", a1: "child-1.txt",
                                         a2: "child-2.txt"}
    got = api.get(f"Accounts/{master}/Attachments/{a2}")
    assert got.status_code == 200 and got.content == b"two"
    with corral.db.read() as tx:  # what `corral revert --dry-run` prints per record
        steps = {str(r.record_id): r.steps() for r in corral.revert.analyse(
            tx, Target(job_id=int(job)), [int(master), int(child), int(other)], False)}
    assert steps == {master: ["attachments back"], child: ["restore", "attachments back"],
                     other: ["restore"]}
    out = revert(api, corral, {"job_id": job})
    assert out["data"][0]["Failed_Count"] == 0 and out["data"][0]["Skipped_Count"] == 0
    assert _attachments(api, master) == {mine: "master.txt"}
    assert _attachments(api, child) == {a1: "child-1.txt", a2: "child-2.txt"}
    assert _attachments(api, other) == {}
    assert api.get(f"Accounts/{child}/Attachments/{a1}").content == b"one"
    # Both moves are change-logged on every side, so the revert itself can be reverted.
    again = revert(api, corral, {"job_id": out["job_id"]})
    assert again["data"][0]["Failed_Count"] == 0
    assert set(_attachments(api, master)) == {mine, a1, a2}


def test_a_merge_that_cannot_apply_leaves_nothing(api: Api, corral: Corral) -> None:
    master, child = api.insert("Accounts", {"Account_Name": "A"}, {"Account_Name": "B"})
    r = api.post(f"Accounts/{master}/actions/merge", json={"merge": [{"data": [{"id": child}]}]})
    job = r.json()["merge"][0]["details"]["job_id"]
    api.delete(f"Accounts/{child}")  # gone before the worker runs the merge
    corral.jobs.run_until_idle()
    assert api.get(f"Accounts/{master}/actions/merge").json() == {
        "merge": [{"job_id": job, "status": "FAILURE", "data": [{"id": child, "_fields": []}],
                   "master_record_fields": []}]}


def test_merge_errors_scopes_and_permissions(api: Api, corral: Corral) -> None:
    master, child, other = api.insert("Accounts", {"Account_Name": "A"},
                                      {"Account_Name": "B"}, {"Account_Name": "C"})
    url = f"Accounts/{master}/actions/merge"

    def error(r: Any, status: int, code: str) -> None:
        assert r.status_code == status, r.text
        assert r.json()["code"] == code

    error(api.post(url, json={}), 400, "MANDATORY_NOT_FOUND")
    error(api.post(url, json={"merge": [{"data": []}]}), 400, "MANDATORY_NOT_FOUND")
    error(api.post(url, json={"merge": [{"data": [{"id": master}]}]}), 400, "INVALID_DATA")
    error(api.post(url, json={"merge": [{"data": [{"id": "4876876000000999999"}]}]}), 400,
          "INVALID_DATA")
    error(api.post(url, json={"merge": [{"data": [{"id": child, "_fields": [
        {"api_name": "Nope"}]}]}]}), 400, "INVALID_DATA")
    error(api.post(url, json={"merge": [{"data": [{"id": child}, {"id": other},
                                                  {"id": "4876876000000999998"}]}]}),
          400, "LIMIT_EXCEEDED")
    error(api.post(url, json={"merge": [{"data": [{"id": child}]}, {"data": []}]}), 400,
          "LIMIT_EXCEEDED")
    error(api.post("Accounts/4876876000000999999/actions/merge",
                   json={"merge": [{"data": [{"id": child}]}]}), 400, "INVALID_DATA")
    error(api.post("Nope/1/actions/merge", json={}), 400, "INVALID_MODULE")
    error(api.get(url, params={"job_id": "123"}), 400, "INVALID_DATA")
    assert api.get(url).status_code == 204  # no merge yet
    error(api.client.post(f"/crm/v2/{url}", json={}), 401, "AUTHENTICATION_FAILURE")
    leads = make_token(corral, ["ZohoCRM.modules.leads.ALL"])
    error(api.post(url, json={}, token=leads), 401, "OAUTH_SCOPE_MISMATCH")
    error(api.get(url, token=leads), 401, "OAUTH_SCOPE_MISMATCH")
    viewer = _restricted_user(corral, {"admin": False, "modules": {"*": ["view"]},
                                       "read_only_fields": {}})
    error(api.post(url, json={"merge": [{"data": [{"id": child}]}]}, token=viewer), 403,
          "NO_PERMISSION")

"""Notes: /Notes CRUD with the v2 and v8 bodies, rendering, and notes following their parent
into the recycle bin (through the write pipeline, change-logged)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from corral.metadata.seed import add_standard_modules
from corral.services import Corral
from corral.storage import tables as t
from corral.storage.repositories.seed import SeedWriter
from tests.api.test_auth import _restricted_user
from tests.conftest import Api, make_token


def _note(api: Api, body: dict[str, Any]) -> Any:
    return api.post("Notes", json={"data": [body]})


def test_v2_body_with_se_module_creates_a_note(api: Api) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "First_Name": "Ann"})
    r = _note(api, {"Note_Title": "Call", "Note_Content": "Rang twice",
                    "Parent_Id": lead, "se_module": "Leads"})
    assert r.status_code == 201, r.text
    nid = r.json()["data"][0]["details"]["id"]
    got = api.get(f"Notes/{nid}").json()["data"][0]
    assert got["Note_Title"] == "Call" and got["Note_Content"] == "Rang twice"
    assert got["Parent_Id"] == {"name": "Ann Daly", "id": lead,
                                "module": {"api_name": "Leads"}}
    assert got["$se_module"] == "Leads"
    assert got["Owner"]["email"] == "admin@corral.local"
    assert got["Created_Time"] and got["Modified_Time"] and got["Created_By"]["id"]
    assert got["$voice_note"] is False and got["$attachments"] is None


def test_v8_body_with_parent_module_object_creates_a_note(api: Api) -> None:
    (acc,) = api.insert("Accounts", {"Account_Name": "Zylker"})
    api.version = "v8"
    r = _note(api, {"Note_Content": "Met at the fair",
                    "Parent_Id": {"module": {"api_name": "Accounts"}, "id": acc}})
    assert r.status_code == 201, r.text
    nid = r.json()["data"][0]["details"]["id"]
    got = api.get("Notes", params={"fields": "Note_Content,Parent_Id"}).json()["data"]
    assert got == [{"Note_Content": "Met at the fair", "id": nid,
                    "Parent_Id": {"name": "Zylker", "id": acc,
                                  "module": {"api_name": "Accounts"}},
                    "$se_module": "Accounts"}]


def test_note_errors(api: Api) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly"})
    r = _note(api, {"Note_Content": "x", "Parent_Id": lead})  # no module named
    assert r.status_code == 400
    assert r.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    assert r.json()["data"][0]["details"]["api_name"] == "se_module"
    r = _note(api, {"Note_Content": "x", "Parent_Id": lead, "se_module": "Accounts"})
    assert r.json()["data"][0]["code"] == "INVALID_DATA"
    assert r.json()["data"][0]["details"]["api_name"] == "Parent_Id"
    r = _note(api, {"Note_Content": "x", "Parent_Id": lead, "se_module": "Nowhere"})
    assert r.json()["data"][0]["details"]["api_name"] == "Parent_Id"
    r = _note(api, {"Note_Title": "no content", "Parent_Id": lead, "se_module": "Leads"})
    assert r.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    r = _note(api, {"Note_Content": "x"})
    assert r.json()["data"][0]["details"]["api_name"] == "Parent_Id"
    (note,) = api.insert("Notes", {"Note_Content": "x", "Parent_Id": lead,
                                   "se_module": "Leads"})
    r = _note(api, {"Note_Content": "x", "Parent_Id": note, "se_module": "Notes"})
    assert r.json()["data"][0]["details"]["api_name"] == "Parent_Id"
    assert api.get("Notes/123").json()["code"] == "INVALID_DATA"


def test_update_and_delete_notes_bulk_and_single(api: Api) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly"})
    n1, n2, n3 = api.insert("Notes", *[{"Note_Content": f"n{i}", "Parent_Id": lead,
                                        "se_module": "Leads"} for i in range(3)])
    r = api.put(f"Notes/{n1}", json={"data": [{"Note_Title": "T"}]})
    assert r.status_code == 200 and r.json()["data"][0]["code"] == "SUCCESS"
    r = api.put("Notes", json={"data": [{"id": n2, "Note_Content": "changed"}]})
    assert r.status_code == 200
    assert api.get(f"Notes/{n2}").json()["data"][0]["Note_Content"] == "changed"
    assert api.delete(f"Notes/{n1}").status_code == 200
    r = api.delete("Notes", params={"ids": f"{n2},{n3}"})
    assert r.status_code == 200 and [d["details"]["id"] for d in r.json()["data"]] == [n2, n3]
    assert api.get("Notes").status_code == 204


def test_notes_follow_their_parent_into_the_recycle_bin(corral: Corral, api: Api) -> None:
    lead, other = api.insert("Leads", {"Last_Name": "Daly"}, {"Last_Name": "Keep"})
    (acc,) = api.insert("Accounts", {"Account_Name": "Same id space"})
    gone = api.insert("Notes", *[{"Note_Content": f"n{i}", "Parent_Id": lead,
                                  "se_module": "Leads"} for i in range(2)])
    (kept,) = api.insert("Notes", {"Note_Content": "k", "Parent_Id": other,
                                   "se_module": "Leads"})
    (acc_note,) = api.insert("Notes", {"Note_Content": "a", "Parent_Id": acc,
                                       "se_module": "Accounts"})
    assert api.delete(f"Leads/{lead}").status_code == 200
    listed = {d["id"] for d in api.get("Notes").json()["data"]}
    assert listed == {kept, acc_note}
    deleted = {d["id"] for d in api.get("Notes/deleted").json()["data"]}
    assert deleted == set(gone)
    with corral.db.read() as conn:
        ops = conn.execute(sa.select(t.change_log.c.record_id, t.change_log.c.operation)
                           .where(t.change_log.c.record_id.in_([int(g) for g in gone]))).all()
    assert sorted(ops) == sorted([(int(g), "insert") for g in gone]
                                 + [(int(g), "delete") for g in gone])


def test_notes_scopes_and_permissions(corral: Corral, api: Api) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly"})
    body = {"data": [{"Note_Content": "x", "Parent_Id": lead, "se_module": "Leads"}]}
    assert api.client.get("/crm/v2/Notes").status_code == 401
    leads_only = make_token(corral, ["ZohoCRM.modules.leads.ALL"])
    r = api.post("Notes", json=body, token=leads_only)
    assert (r.status_code, r.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
    notes_token = make_token(corral, ["ZohoCRM.modules.notes.ALL"])
    assert api.post("Notes", json=body, token=notes_token).status_code == 201
    viewer = _restricted_user(corral, {"admin": False, "modules": {"*": ["view"]},
                                       "read_only_fields": {}})
    r = api.post("Notes", json=body, token=viewer)
    assert (r.status_code, r.json()["code"]) == (403, "NO_PERMISSION")


def test_an_existing_database_gets_the_notes_module(corral: Corral) -> None:
    with corral.db.write() as conn:  # a database seeded before Notes existed
        ids = conn.execute(sa.select(t.modules.c.id).where(t.modules.c.api_name == "Notes")
                           ).scalars().all()
        conn.execute(sa.delete(t.fields).where(t.fields.c.module_id.in_(ids)))
        conn.execute(sa.delete(t.custom_views).where(t.custom_views.c.module_id.in_(ids)))
        conn.execute(sa.delete(t.modules).where(t.modules.c.id.in_(ids)))
    with corral.db.read() as conn:
        assert not SeedWriter().has_module(conn, "Notes")
    assert corral.seed() is None
    corral.registry.refresh()
    notes = corral.registry.require("Notes")
    assert {"Note_Title", "Note_Content", "Parent_Id", "Owner"} <= set(notes.by_name)
    assert add_standard_modules(corral.db, corral.clock(), SeedWriter()) == []

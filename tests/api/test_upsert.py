"""Upsert over HTTP: the seeds' order table, the sample calls, in-call ordering, normalisation."""

from __future__ import annotations

from typing import Any

import pytest

from corral.services import Corral
from tests.conftest import Api


def add_unique_text(corral: Corral, module: str, *names: str) -> None:
    for name in names:
        mod = corral.registry.require(module)
        corral.metadata.add_field(mod, {"api_name": name, "label": name, "type": "text"})
        corral.metadata.set_unique(corral.registry.require(module), name, True)


def upsert(api: Api, module: str, records: list[dict[str, Any]],
           fields: list[str] | None = None) -> Any:
    body: dict[str, Any] = {"data": records}
    if fields is not None:
        body["duplicate_check_fields"] = fields
    return api.post(f"{module}/upsert", json=body)


@pytest.fixture
def leads(api: Api, corral: Corral) -> dict[str, str]:
    """Email (system) plus two user-defined unique fields, each held by its own Lead."""
    add_unique_text(corral, "Leads", "unique1", "unique2")
    e, u1, u2 = api.insert("Leads", {"Last_Name": "E", "Email": "e@x.com"},
                           {"Last_Name": "U1", "unique1": "a"},
                           {"Last_Name": "U2", "unique2": "b"})
    return {"Email": e, "unique1": u1, "unique2": u2}


def _dup(resp: Any) -> tuple[str, str]:
    entry = resp.json()["data"][0]
    assert entry["code"] == "DUPLICATE_DATA", entry
    return entry["details"]["api_name"], entry["details"]["duplicate_record"]["id"]


# Each row: the record matches one Lead through the first field of the order; updating it
# would give it the other Lead's unique value, so the DUPLICATE_DATA names the Lead that was
# NOT chosen - which pins the order.
@pytest.mark.parametrize(("fields", "record", "clash_field", "clash_with"), [
    (["unique1"], {"unique1": "a", "unique2": "b"}, "unique2", "unique2"),
    (["unique2"], {"unique1": "a", "unique2": "b"}, "unique1", "unique1"),
    (["unique1", "unique2"], {"unique1": "a", "unique2": "b"}, "unique2", "unique2"),
    (["Email"], {"Email": "e@x.com", "unique1": "a"}, "unique1", "unique1"),
    (None, {"Email": "e@x.com", "unique1": "a"}, "unique1", "unique1"),
])
def test_order_table_rows(api: Api, leads: dict[str, str], fields: list[str] | None,
                          record: dict[str, Any], clash_field: str, clash_with: str) -> None:
    r = upsert(api, "Leads", [{"Last_Name": "X", **record}], fields)
    assert r.status_code == 400
    assert _dup(r) == (clash_field, leads[clash_with])


@pytest.mark.parametrize(("fields", "record", "matched"), [
    (["unique1"], {"unique1": "a"}, "unique1"),
    (["unique2"], {"unique2": "b", "unique1": "new"}, "unique2"),
    (["Email"], {"Email": "E@X.COM"}, "Email"),
    (None, {"Email": "e@x.com"}, "Email"),
    (None, {"Email": "other@x.com", "unique2": "b"}, "unique2"),
])
def test_first_matching_field_decides_the_update(api: Api, leads: dict[str, str],
                                                 fields: list[str] | None,
                                                 record: dict[str, Any], matched: str) -> None:
    r = upsert(api, "Leads", [{"Last_Name": "Updated", **record}], fields)
    assert r.status_code == 200, r.text
    entry = r.json()["data"][0]
    assert entry["action"] == "update" and entry["duplicate_field"] == matched
    assert entry["message"] == "record updated"
    assert entry["details"]["id"] == leads[matched]
    assert api.get(f"Leads/{leads[matched]}").json()["data"][0]["Last_Name"] == "Updated"


def test_system_field_is_ignored_unless_listed(api: Api, leads: dict[str, str]) -> None:
    # Email is not in the order, so no match: an insert, which then clashes on unique Email.
    r = upsert(api, "Leads", [{"Last_Name": "X", "Email": "e@x.com", "unique1": "zzz"}],
               ["unique1"])
    assert _dup(r) == ("Email", leads["Email"])


def test_invalid_duplicate_check_field(api: Api) -> None:
    r = upsert(api, "Leads", [{"Last_Name": "X"}], ["Email", "Last_Name"])
    assert r.status_code == 400
    assert r.json() == {"code": "INVALID_DATA", "status": "error", "message": "invalid data",
                        "details": {"api_name": "Last_Name",
                                    "json_path": "$.duplicate_check_fields[1]"}}


def test_kaizen_sample_call(api: Api, corral: Corral) -> None:
    """Kaizen #56: Email system field, Mobile user-defined unique; one update, one insert."""
    corral.metadata.set_unique(corral.registry.require("Leads"), "Mobile", True)
    (frey,) = api.insert("Leads", {"Last_Name": "Frey", "Email": "frey@sample.com"})
    r = api.post("Leads/upsert", json={
        "data": [
            {"Last_Name": "Frey (Sample)", "Email": "frey@sample.com", "Company": "abc",
             "Lead_Status": "Contacted"},
            {"Last_Name": "New Lead", "First_Name": "CRM Lead", "Email": "newlead@zoho.com",
             "Lead_Status": "Attempted to Contact", "Mobile": "7685635434"},
        ],
        "duplicate_check_fields": ["Email", "Mobile"]})
    assert r.status_code == 200
    first, second = r.json()["data"]
    assert list(first) == ["code", "duplicate_field", "action", "details", "message", "status"]
    assert first["duplicate_field"] == "Email" and first["action"] == "update"
    assert first["details"]["id"] == frey
    assert set(first["details"]) == {"Modified_Time", "Modified_By", "Created_Time", "id",
                                     "Created_By"}
    assert second["duplicate_field"] is None and second["action"] == "insert"
    assert second["message"] == "record added"
    got = api.get(f"Leads/{frey}").json()["data"][0]
    assert got["Company"] == "abc" and got["Lead_Status"] == "Contacted"


def test_later_record_matches_one_inserted_earlier_in_the_call(api: Api) -> None:
    r = upsert(api, "Leads", [{"Last_Name": "A", "Email": "same@x.com"},
                              {"Last_Name": "B", "Email": "Same@X.com", "City": "Austin"}])
    assert r.status_code == 200, r.text
    first, second = r.json()["data"]
    assert first["action"] == "insert" and second["action"] == "update"
    assert second["details"]["id"] == first["details"]["id"]
    assert second["duplicate_field"] == "Email"
    got = api.get(f"Leads/{first['details']['id']}").json()["data"][0]
    assert got["Last_Name"] == "B" and got["City"] == "Austin"
    assert api.get("Leads/actions/count").json() == {"count": 1}


def test_earliest_created_of_several_matches_is_updated(api: Api) -> None:
    ids = api.insert("Accounts", {"Account_Name": "Zylker"}, {"Account_Name": "zylker "},
                     {"Account_Name": "Zylker"})
    r = upsert(api, "Accounts", [{"Account_Name": "ZYLKER", "Phone": "123"}])
    entry = r.json()["data"][0]
    assert entry["action"] == "update" and entry["details"]["id"] == ids[0]
    assert entry["duplicate_field"] == "Account_Name"


def test_phone_matching_is_normalised(api: Api, corral: Corral) -> None:
    corral.metadata.set_unique(corral.registry.require("Leads"), "Phone", True)
    (rid,) = api.insert("Leads", {"Last_Name": "P", "Phone": "+1 (555) 222-3333"})
    r = upsert(api, "Leads", [{"Last_Name": "P2", "Phone": "+15552223333"}], ["Phone"])
    entry = r.json()["data"][0]
    assert entry["action"] == "update" and entry["details"]["id"] == rid
    r = api.post("Leads", json={"data": [{"Last_Name": "Q", "Phone": "+1 555 222 3333"}]})
    assert r.json()["data"][0]["code"] == "DUPLICATE_DATA"


def test_upsert_twice_changes_nothing_the_second_time(api: Api) -> None:
    batch = [{"Last_Name": f"L{i}", "Email": f"u{i}@x.com"} for i in range(20)]
    first = upsert(api, "Leads", batch).json()["data"]
    second = upsert(api, "Leads", batch).json()["data"]
    assert [e["action"] for e in first] == ["insert"] * 20
    assert [e["action"] for e in second] == ["update"] * 20
    assert [e["details"]["id"] for e in first] == [e["details"]["id"] for e in second]
    assert api.get("Leads/actions/count").json() == {"count": 20}


def test_append_values_for_multiselect(api: Api, corral: Corral) -> None:
    corral.metadata.add_field(corral.registry.require("Leads"), {
        "api_name": "Interests", "label": "Interests", "type": "multiselectpicklist",
        "pick_list": ["A", "B", "C"]})
    (rid,) = api.insert("Leads", {"Last_Name": "M", "Email": "m@x.com", "Interests": ["A"]})
    upsert(api, "Leads", [{"Email": "m@x.com", "Interests": ["B"],
                           "$append_values": {"Interests": True}}])
    assert api.get(f"Leads/{rid}").json()["data"][0]["Interests"] == ["A", "B"]
    upsert(api, "Leads", [{"Email": "m@x.com", "Interests": ["C"],
                           "$append_values": {"Interests": False}}])
    assert api.get(f"Leads/{rid}").json()["data"][0]["Interests"] == ["C"]


def test_mandatory_fields_only_for_inserts(api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Has", "Email": "has@x.com"})
    r = upsert(api, "Leads", [{"Email": "has@x.com", "City": "Pune"},
                              {"Email": "new@x.com", "City": "Pune"}])
    assert r.status_code == 207
    upd, ins = r.json()["data"]
    assert upd["action"] == "update"
    assert ins["code"] == "MANDATORY_NOT_FOUND"
    assert ins["details"] == {"api_name": "Last_Name", "json_path": "$.data[1].Last_Name"}


def test_custom_module_upserts_by_name(api: Api, corral: Corral) -> None:
    corral.metadata.add_module("Vehicles", "Vehicle", "Vehicles")
    r1 = upsert(api, "Vehicles", [{"Name": "KA-01"}]).json()["data"][0]
    r2 = upsert(api, "Vehicles", [{"Name": "ka-01", "Email": "v@x.com"}]).json()["data"][0]
    assert (r1["action"], r2["action"]) == ("insert", "update")
    assert r2["duplicate_field"] == "Name"


def test_upsert_limit_and_scope(api: Api, corral: Corral) -> None:
    from tests.conftest import make_token

    r = upsert(api, "Leads", [{"Last_Name": str(i)} for i in range(101)])
    assert r.json()["code"] == "LIMIT_EXCEEDED"
    read_only = make_token(corral, ["ZohoCRM.modules.leads.READ"])
    r = api.post("Leads/upsert", json={"data": [{"Last_Name": "x"}]}, token=read_only)
    assert r.status_code == 401 and r.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    create = make_token(corral, ["ZohoCRM.modules.leads.CREATE"])
    assert api.post("Leads/upsert", json={"data": [{"Last_Name": "x"}]},
                    token=create).status_code == 200


def test_kaizen_177_sample_call(api: Api, corral: Corral) -> None:
    """Kaizen #177: upsert by Email; Alice is new (insert), Pat exists (update)."""
    leads = corral.registry.require("Leads")
    corral.metadata.add_field(leads, {"api_name": "Order_Date", "label": "Order Date",
                                      "type": "date"})
    corral.metadata.add_field(corral.registry.require("Leads"), {
        "api_name": "Order_Value", "label": "Order Value", "type": "text"})
    (pat,) = api.insert("Leads", {"Last_Name": "Davis", "Email": "pat@mail.com"})
    r = api.post("Leads/upsert", json={"data": [
        {"Email": "alice@mail.com", "First_Name": "Alice", "Last_Name": "Brown",
         "Phone": "+1-555-222-3333", "Order_Date": "2024-01-10", "Order_Value": "$175.00"},
        {"Email": "pat@mail.com", "First_Name": "pat", "Last_Name": "Davis",
         "Phone": "+1-555-666-7777", "Order_Date": "2024-01-15", "Order_Value": "$300.00"}],
        "duplicate_check_fields": ["Email"]})
    assert r.status_code == 200
    alice, updated = r.json()["data"]
    assert (alice["code"], alice["duplicate_field"], alice["action"], alice["message"]) == (
        "SUCCESS", None, "insert", "record added")
    assert (updated["duplicate_field"], updated["action"], updated["message"]) == (
        "Email", "update", "record updated")
    assert updated["details"]["id"] == pat
    assert set(alice["details"]) == {"Modified_Time", "Modified_By", "Created_Time", "id",
                                     "Created_By"}
    got = api.get(f"Leads/{pat}").json()["data"][0]
    assert got["Order_Value"] == "$300.00" and got["Order_Date"] == "2024-01-15"

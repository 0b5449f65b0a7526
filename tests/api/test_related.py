"""Related lists metadata and related records: lookups, many-to-many links, notes of a record;
every link and unlink a write of the one write path (change log)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from tests.api.test_auth import _restricted_user
from tests.conftest import Api, make_token


def _log(corral: Corral, record_id: str) -> list[tuple[str, str | None, Any, Any]]:
    c = t.change_log.c
    with corral.db.read() as conn:
        rows = conn.execute(sa.select(c.operation, c.field, c.old_value, c.new_value)
                            .where(c.record_id == int(record_id)).order_by(c.id)).all()
    return [tuple(r) for r in rows]


def _error(r: Any, status: int, code: str, message: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and body["status"] == "error", body
    if message is not None:
        assert body["message"] == message
    return body


# ----------------------------------------------------------------------------- metadata
def test_related_lists_of_a_module(api: Api) -> None:
    r = api.get("settings/related_lists", params={"module": "Accounts"})
    assert r.status_code == 200, r.text
    lists = r.json()["related_lists"]
    names = [x["api_name"] for x in lists]
    assert names[:2] == ["Notes", "Attachments"]
    assert {"Contacts", "Deals", "Open_Activities", "Closed_Activities", "Cases",
            "Quotes"} <= set(names)
    contacts = next(x for x in lists if x["api_name"] == "Contacts")
    assert contacts["module"] == "Contacts"  # v2: the api_name; v3+: an object
    assert contacts["href"] == "Accounts/{ENTITYID}/Contacts"
    # a lookup list has no linking module: Zoho leaves both keys out
    assert contacts["type"] == "default" and "linkingmodule" not in contacts
    assert "connectedmodule" not in contacts
    assert contacts["sort_by"]["api_name"] == "Created_Time" and contacts["sort_order"] == "desc"
    assert "Last_Name" in [f["api_name"] for f in contacts["fields"]]
    assert contacts["status"] == "visible" and contacts["sequence_number"]
    pb = api.get("settings/related_lists", params={"module": "Price_Books"}).json()
    products = next(x for x in pb["related_lists"] if x["api_name"] == "Products")
    assert products["linkingmodule"] == "Price_Books_X_Products"
    assert products["connectedmodule"] == "Products"
    one = api.get(f"settings/related_lists/{contacts['id']}", params={"module": "Accounts"})
    assert one.json() == {"related_lists": [contacts]}
    # the same ids in every version and database: they are derived from the names
    api.version = "v8"
    again = api.get("settings/related_lists", params={"module": "accounts"}).json()
    assert [x["id"] for x in again["related_lists"]] == [x["id"] for x in lists]
    v8 = next(x for x in again["related_lists"] if x["api_name"] == "Contacts")
    assert v8["module"]["api_name"] == "Contacts" and v8["module"]["id"].isdigit()


def test_related_lists_errors_scopes(corral: Corral, api: Api) -> None:
    _error(api.get("settings/related_lists"), 400, "REQUIRED_PARAM_MISSING")
    _error(api.get("settings/related_lists", params={"module": "Nope"}), 400,
           "INVALID_MODULE")
    _error(api.get("settings/related_lists/123", params={"module": "Leads"}), 400,
           "INVALID_DATA")
    assert api.get("settings/related_lists", params={"module": "Notes"}).status_code == 204
    assert api.client.get("/crm/v2/settings/related_lists?module=Leads").status_code == 401
    modules_only = make_token(corral, ["ZohoCRM.modules.ALL"])
    _error(api.get("settings/related_lists", params={"module": "Leads"}, token=modules_only),
           401, "OAUTH_SCOPE_MISMATCH")
    ok = make_token(corral, ["ZohoCRM.settings.related_lists.READ"])
    assert api.get("settings/related_lists", params={"module": "Leads"},
                   token=ok).status_code == 200


# ----------------------------------------------------------------------------- lookups
def test_contacts_of_an_account_link_list_unlink(corral: Corral, api: Api) -> None:
    acc, other = api.insert("Accounts", {"Account_Name": "Zylker"}, {"Account_Name": "Other"})
    c1, c2, c3 = api.insert("Contacts", {"Last_Name": "One", "Account_Name": acc},
                            {"Last_Name": "Two"}, {"Last_Name": "Three",
                                                   "Account_Name": other})
    r = api.get(f"Accounts/{acc}/Contacts", params={"fields": "Last_Name,Account_Name"})
    assert r.status_code == 200, r.text
    assert [d["id"] for d in r.json()["data"]] == [c1]
    assert r.json()["data"][0]["Account_Name"] == {"name": "Zylker", "id": acc}
    assert r.json()["info"]["count"] == 1 and r.json()["info"]["more_records"] is False
    r = api.put(f"Accounts/{acc}/Contacts/{c2}")
    assert r.status_code == 200, r.text
    assert r.json() == {"data": [{"code": "SUCCESS", "details": {"id": c2},
                                  "message": "relation added", "status": "success"}]}
    r = api.put(f"Accounts/{acc}/Contacts", json={"data": [{"id": c3}]})
    assert r.json()["data"][0]["message"] == "relation added"
    listed = api.get(f"Accounts/{acc}/Contacts").json()["data"]
    assert {d["id"] for d in listed} == {c1, c2, c3}
    assert api.get(f"Accounts/{acc}/Contacts/{c2}").json()["data"][0]["id"] == c2
    assert ("update", "Account_Name", None, acc) in _log(corral, c2)
    assert ("update", "Account_Name", other, acc) in _log(corral, c3)
    r = api.delete(f"Accounts/{acc}/Contacts/{c2}")
    assert r.json() == {"data": [{"code": "SUCCESS", "details": {"id": c2},
                                  "message": "relation removed", "status": "success"}]}
    assert ("update", "Account_Name", acc, None) in _log(corral, c2)
    assert api.get(f"Accounts/{acc}/Contacts/{c2}").status_code == 204
    r = api.delete(f"Accounts/{acc}/Contacts", params={"ids": f"{c1},{c2}"})
    assert r.status_code == 207
    assert r.json()["data"][0]["message"] == "relation removed"
    assert r.json()["data"][1] == {"code": "INVALID_DATA", "details": {"id": c2},
                                   "message": "the related id given seems to be invalid",
                                   "status": "error"}
    assert [d["id"] for d in api.get(f"Accounts/{acc}/Contacts").json()["data"]] == [c3]


def test_linking_runs_automation_and_validation_of_the_write_path(api: Api) -> None:
    (vendor,) = api.insert("Vendors", {"Vendor_Name": "V"})
    (po,) = api.insert("Purchase_Orders", {"Subject": "PO", "Vendor_Name": vendor,
                                           "Purchased_Items": [{"Product_Name": "x"}]})
    # Vendor_Name is mandatory on a purchase order: unlinking it is refused like an update
    r = api.delete(f"Vendors/{vendor}/Purchase_Orders/{po}")
    assert r.status_code == 400
    assert r.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


def test_related_records_errors(api: Api) -> None:
    (acc,) = api.insert("Accounts", {"Account_Name": "Zylker"})
    _error(api.get(f"Accounts/{acc}/Nope"), 400, "INVALID_DATA",
           "The relation name given seems to be invalid")
    _error(api.get(f"Nope/{acc}/Contacts"), 400, "INVALID_MODULE")
    _error(api.get("Accounts/123/Contacts"), 400, "INVALID_DATA",
           "the id given seems to be invalid")
    _error(api.get(f"Contacts/{acc}/Contact_Roles"), 400, "NOT_SUPPORTED")
    r = api.put(f"Accounts/{acc}/Contacts/123")
    assert r.json()["data"][0] == {"code": "INVALID_DATA", "details": {"id": "123"},
                                   "message": "the related id given seems to be invalid",
                                   "status": "error"}
    _error(api.put(f"Accounts/{acc}/Contacts/abc"), 400, "INVALID_DATA")
    _error(api.delete(f"Accounts/{acc}/Contacts"), 400, "REQUIRED_PARAM_MISSING")
    _error(api.delete(f"Accounts/{acc}/Contacts", params={"ids": ",,"}), 400,
           "REQUIRED_PARAM_MISSING")
    _error(api.delete(f"Accounts/{acc}/Contacts", params={"ids": "x"}), 400, "INVALID_DATA")
    _error(api.delete(f"Accounts/{acc}/Contacts",
                      params={"ids": ",".join(["1"] * 101)}), 400, "LIMIT_EXCEEDED")
    _error(api.post(f"Accounts/{acc}/Contacts", json={"data": [{}]}), 400,
           "INVALID_REQUEST_METHOD")
    assert api.get(f"Accounts/{acc}/Contacts").status_code == 204
    _error(api.get(f"Accounts/{acc}/Contacts", params={"page": 11}), 400,
           "DISCRETE_PAGINATION_LIMIT_EXCEEDED")
    _error(api.get("Leads/actions/nothing"), 404, "INVALID_URL_PATTERN")


def test_related_records_auth(corral: Corral, api: Api) -> None:
    (acc,) = api.insert("Accounts", {"Account_Name": "Zylker"})
    (con,) = api.insert("Contacts", {"Last_Name": "C"})
    assert api.client.get(f"/crm/v2/Accounts/{acc}/Contacts").status_code == 401
    accounts_only = make_token(corral, ["ZohoCRM.modules.accounts.ALL"])
    _error(api.get(f"Accounts/{acc}/Contacts", token=accounts_only), 401,
           "OAUTH_SCOPE_MISMATCH")
    read_only = make_token(corral, ["ZohoCRM.modules.READ"])
    assert api.get(f"Accounts/{acc}/Contacts", token=read_only).status_code == 204
    _error(api.put(f"Accounts/{acc}/Contacts/{con}", token=read_only), 401,
           "OAUTH_SCOPE_MISMATCH")
    viewer = _restricted_user(corral, {"admin": False, "modules": {"*": ["view"]},
                                       "read_only_fields": {}})
    assert api.get(f"Accounts/{acc}/Contacts", token=viewer).status_code == 204
    _error(api.put(f"Accounts/{acc}/Contacts/{con}", token=viewer), 403, "NO_PERMISSION")
    _error(api.delete(f"Accounts/{acc}/Contacts/{con}", token=viewer), 403, "NO_PERMISSION")
    _error(api.post(f"Accounts/{acc}/Notes", token=viewer,
                    json={"data": [{"Note_Content": "x"}]}), 403, "NO_PERMISSION")


# ----------------------------------------------------------------------------- many-to-many
def test_products_of_a_price_book_with_list_price(corral: Corral, api: Api) -> None:
    tier = {"From_Range": 1, "To_Range": 10, "Discount": 0}
    (pb,) = api.insert("Price_Books", {"Price_Book_Name": "Retail", "Pricing_Details": [tier]})
    p1, p2 = api.insert("Products", {"Product_Name": "Pen"}, {"Product_Name": "Ink"})
    r = api.put(f"Price_Books/{pb}/Products",
                json={"data": [{"id": p1, "list_price": 10.5}, {"id": p2}]})
    assert r.status_code == 200, r.text
    assert [d["message"] for d in r.json()["data"]] == ["relation added"] * 2
    got = {d["id"]: d for d in api.get(f"Price_Books/{pb}/Products").json()["data"]}
    assert got[p1]["list_price"] == 10.5 and got[p2]["list_price"] is None
    assert got[p1]["Product_Name"] == "Pen"
    # linking again changes the link's own fields; one link per pair
    r = api.put(f"Price_Books/{pb}/Products/{p2}", json={"data": [{"list_price": 3}]})
    assert r.json()["data"][0]["message"] == "relation added"
    assert api.get(f"Price_Books/{pb}/Products/{p2}").json()["data"][0]["list_price"] == 3
    assert len(api.get(f"Price_Books/{pb}/Products").json()["data"]) == 2
    # the other side sees the link too
    back = api.get(f"Products/{p1}/Price_Books").json()["data"]
    assert [(d["id"], d["list_price"]) for d in back] == [(pb, 10.5)]
    r = api.delete(f"Price_Books/{pb}/Products/{p1}")
    assert r.json()["data"][0]["message"] == "relation removed"
    assert [d["id"] for d in api.get(f"Price_Books/{pb}/Products").json()["data"]] == [p2]
    # every link is a record of the linking module, in the change log
    links = corral.registry.require("Price_Books_X_Products")
    c = t.change_log.c
    with corral.db.read() as conn:
        ops = conn.execute(sa.select(c.operation).where(c.module_id == links.id,
                                                        c.field.is_(None))).scalars().all()
    assert sorted(ops) == ["delete", "insert", "insert"]
    r = api.put(f"Price_Books/{pb}/Products/123")
    assert r.json()["data"][0]["message"] == "the related id given seems to be invalid"


@pytest.mark.parametrize("member", ["Leads", "Contacts"])
def test_campaign_members_with_member_status(api: Api, member: str) -> None:
    (camp,) = api.insert("Campaigns", {"Campaign_Name": "Fair"})
    (person,) = api.insert(member, {"Last_Name": "Daly"})
    r = api.put(f"{member}/{person}/Campaigns/{camp}",
                json={"data": [{"Member_Status": "Invited"}]})
    assert r.status_code == 200, r.text
    got = api.get(f"Campaigns/{camp}/{member}").json()["data"]
    assert [(d["id"], d["Member_Status"]) for d in got] == [(person, "Invited")]
    got = api.get(f"{member}/{person}/Campaigns").json()["data"]
    assert [(d["id"], d["Member_Status"]) for d in got] == [(camp, "Invited")]
    r = api.put(f"Campaigns/{camp}/{member}", json={"data": [{"id": person,
                                                              "Member_Status": {"a": 1}}]})
    assert r.json()["data"][0]["code"] == "INVALID_DATA"
    r = api.delete(f"Campaigns/{camp}/{member}", params={"ids": person})
    assert r.json()["data"][0]["message"] == "relation removed"
    assert api.get(f"Campaigns/{camp}/{member}").status_code == 204


# ----------------------------------------------------------------------------- notes of a record
def test_notes_of_a_record(corral: Corral, api: Api) -> None:
    lead, other = api.insert("Leads", {"Last_Name": "Daly"}, {"Last_Name": "Other"})
    r = api.post(f"Leads/{lead}/Notes", json={"data": [
        {"Note_Title": "T", "Note_Content": "first"},
        {"Note_Content": "second", "Parent_Id": other, "se_module": "Accounts"}]})
    assert r.status_code == 201, r.text
    n1, n2 = [d["details"]["id"] for d in r.json()["data"]]
    (elsewhere,) = api.insert("Notes", {"Note_Content": "x", "Parent_Id": other,
                                        "se_module": "Leads"})
    got = api.get(f"Leads/{lead}/Notes").json()
    assert {d["id"] for d in got["data"]} == {n1, n2}
    assert got["data"][0]["Parent_Id"]["id"] == lead
    r = api.put(f"Leads/{lead}/Notes/{n1}", json={"data": [{"Note_Content": "edited"}]})
    assert r.status_code == 200 and r.json()["data"][0]["message"] == "record updated"
    assert api.get(f"Notes/{n1}").json()["data"][0]["Note_Content"] == "edited"
    _error(api.put(f"Leads/{lead}/Notes/{elsewhere}", json={"data": [{"Note_Content": "x"}]}),
           400, "INVALID_DATA")
    r = api.delete(f"Leads/{lead}/Notes/{n2}")
    assert r.json()["data"][0]["message"] == "relation removed"
    assert ("delete", None) in [(op, f) for op, f, _, _ in _log(corral, n2)]
    _error(api.put(f"Leads/{lead}/Notes", json={"data": [{"id": n1}]}), 400,
           "INVALID_REQUEST_METHOD")
    notes_scope = make_token(corral, ["ZohoCRM.modules.leads.READ",
                                      "ZohoCRM.modules.notes.CREATE"])
    r = api.post(f"Leads/{lead}/Notes", token=notes_scope,
                 json={"data": [{"Note_Content": "scoped"}]})
    assert r.status_code == 201, r.text
    leads_only = make_token(corral, ["ZohoCRM.modules.leads.ALL"])
    _error(api.post(f"Leads/{lead}/Notes", token=leads_only,
                    json={"data": [{"Note_Content": "x"}]}), 401, "OAUTH_SCOPE_MISMATCH")

"""Lead conversion over HTTP (facts §7)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from tests.conftest import Api


def convert(api: Api, lead_id: str, body: dict[str, Any] | None = None,
            version: str = "v2") -> Any:
    return api.client.post(f"/crm/{version}/Leads/{lead_id}/actions/convert",
                           json={"data": [body or {}]}, headers=api.headers())


def test_convert_creates_contact_account_and_deal_v2_shape(api: Api) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "First_Name": "Paul",
                                   "Email": "paul@zylker.com", "Company": "Zylker",
                                   "Phone": "555-1234", "City": "Austin",
                                   "Lead_Source": "Cold Call"})
    r = convert(api, lead, {"Deals": {"Deal_Name": "Big deal", "Stage": "Qualification",
                                      "Closing_Date": "2026-12-31", "Amount": 1000}})
    assert r.status_code == 200, r.text
    (item,) = r.json()["data"]
    assert set(item) == {"Contacts", "Deals", "Accounts"}
    assert all(isinstance(v, str) and v.isdigit() for v in item.values())
    contact = api.get(f"Contacts/{item['Contacts']}").json()["data"][0]
    assert contact["Last_Name"] == "Daly" and contact["Email"] == "paul@zylker.com"
    assert contact["Mailing_City"] == "Austin" and contact["Lead_Source"] == "Cold Call"
    assert contact["Account_Name"] == {"name": "Zylker", "id": item["Accounts"]}
    account = api.get(f"Accounts/{item['Accounts']}").json()["data"][0]
    assert account["Account_Name"] == "Zylker" and account["Phone"] == "555-1234"
    deal = api.get(f"Deals/{item['Deals']}").json()["data"][0]
    assert deal["Deal_Name"] == "Big deal" and deal["Amount"] == 1000
    assert deal["Contact_Name"]["id"] == item["Contacts"]
    assert deal["Account_Name"]["id"] == item["Accounts"]
    # The Lead is converted: hidden by default, visible with converted=true and in the view.
    assert api.get("Leads").status_code == 204
    got = api.get("Leads", params={"converted": "true"}).json()["data"][0]
    assert got["id"] == lead and got["Converted__s"] is True
    assert got["Converted_Contact"]["id"] == item["Contacts"]
    assert got["Converted_Date_Time"] is not None


def test_convert_v8_shape(api: Api) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Company": "Zylker"})
    r = convert(api, lead, version="v8")
    assert r.status_code == 200
    (item,) = r.json()["data"]
    assert item["code"] == "SUCCESS" and item["status"] == "success"
    assert item["message"] == "The record has been converted successfully"
    assert item["details"]["Deals"] is None
    assert item["details"]["Accounts"]["name"] == "Zylker"
    assert item["details"]["Contacts"]["name"] == "Daly"


def test_converting_twice_is_an_error_and_changes_nothing(api: Api, corral: Corral) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Company": "Zylker"})
    assert convert(api, lead).status_code == 200
    before = api.get("Contacts/actions/count").json()
    r = convert(api, lead)
    assert r.status_code == 400
    assert r.json() == {"code": "ID_ALREADY_CONVERTED", "details": {"resource_path_index": 1},
                        "message": "id already converted", "status": "error"}
    assert api.get("Contacts/actions/count").json() == before


def test_failed_conversion_leaves_nothing(api: Api) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Company": "Zylker"})
    r = convert(api, lead, {"Deals": {"Deal_Name": "No stage"}})
    assert r.status_code == 400
    assert r.json()["code"] == "MANDATORY_NOT_FOUND"
    assert api.get("Accounts").status_code == 204
    assert api.get("Contacts").status_code == 204
    assert api.get(f"Leads/{lead}").json()["data"][0]["Converted__s"] is None


def test_convert_links_existing_account_and_contact(api: Api) -> None:
    (acc,) = api.insert("Accounts", {"Account_Name": "Zylker", "Phone": "111"})
    (con,) = api.insert("Contacts", {"Last_Name": "Old", "Email": "paul@zylker.com"})
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Email": "PAUL@zylker.com",
                                   "Company": "zylker", "Phone": "222"})
    item = convert(api, lead).json()["data"][0]
    assert item["Accounts"] == acc and item["Contacts"] == con
    # overwrite defaults to false: existing values stay, empty ones are filled
    account = api.get(f"Accounts/{acc}").json()["data"][0]
    assert account["Phone"] == "111"
    (lead2,) = api.insert("Leads", {"Last_Name": "New", "Email": "x@zylker.com",
                                    "Company": "Zylker"})
    item = convert(api, lead2, {"Contacts": {"id": con}, "overwrite": True}).json()["data"][0]
    assert item["Contacts"] == con
    assert api.get(f"Contacts/{con}").json()["data"][0]["Last_Name"] == "New"


def test_converted_lead_cannot_be_updated_and_frees_its_email(api: Api) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Email": "d@x.com"})
    convert(api, lead)
    r = api.put(f"Leads/{lead}", json={"data": [{"City": "Pune"}]})
    assert r.status_code == 400
    # Without a preference, converted Leads are left out of the Leads' own unique checks.
    api.insert("Leads", {"Last_Name": "Again", "Email": "D@x.com"})


def test_converted_leads_view(api: Api) -> None:
    a, _b = api.insert("Leads", {"Last_Name": "A"}, {"Last_Name": "B"})
    convert(api, a)
    views = api.get("settings/custom_views", params={"module": "Leads"}).json()["custom_views"]
    cvid = next(v["id"] for v in views if v["system_name"] == "CONVERTEDVIEWS")
    data = api.get("Leads", params={"cvid": cvid, "converted": "both"}).json()["data"]
    assert [d["id"] for d in data] == [a]


def test_custom_field_follows_convert_mapping(api: Api, corral: Corral) -> None:
    leads = corral.registry.require("Leads")
    corral.metadata.add_field(leads, {"api_name": "Budget_Note", "label": "Budget Note",
                                      "type": "text"})
    corral.metadata.add_field(corral.registry.require("Contacts"),
                              {"api_name": "Budget", "label": "Budget", "type": "text"})
    with corral.db.write() as conn:
        conn.execute(sa.update(t.fields).where(t.fields.c.api_name == "Budget_Note")
                     .values(convert_mapping={"Contacts": "Budget"}))
        conn.execute(sa.update(t.counters).where(t.counters.c.name == "meta")
                     .values(value=t.counters.c.value + 1))
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Budget_Note": "10k"})
    item = convert(api, lead).json()["data"][0]
    assert api.get(f"Contacts/{item['Contacts']}").json()["data"][0]["Budget"] == "10k"


def test_convert_unknown_lead_and_scope(api: Api, corral: Corral) -> None:
    from tests.conftest import make_token

    r = convert(api, "1234567890123456789")
    assert r.status_code == 400 and r.json()["details"] == {"resource_path_index": 1}
    (lead,) = api.insert("Leads", {"Last_Name": "Daly"})
    token = make_token(corral, ["ZohoCRM.modules.leads.READ"])
    r = api.client.post(f"/crm/v2/Leads/{lead}/actions/convert", json={"data": [{}]},
                        headers=api.headers(token))
    assert r.status_code == 401 and r.json()["code"] == "OAUTH_SCOPE_MISMATCH"


def test_conversion_moves_notes_attachments_and_campaigns_to_the_contact(
        api: Api, corral: Corral) -> None:
    """Zoho carries a Lead's notes, attachments and campaign memberships over to the Contact it
    becomes; each move is a write of the write path, change-logged on both sides."""
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Company": "Zylker"})
    c1, c2 = api.insert("Campaigns", {"Campaign_Name": "Fair"}, {"Campaign_Name": "Expo"})
    r = api.post(f"Leads/{lead}/Notes", json={"data": [{"Note_Content": "met at the fair"}]})
    note = r.json()["data"][0]["details"]["id"]
    r = api.client.post(f"/crm/v8/Leads/{lead}/Attachments", headers=api.headers(),
                        files={"file": ("card.txt", b"business card", "text/plain")})
    att = r.json()["data"][0]["details"]["id"]
    api.put(f"Leads/{lead}/Campaigns", json={"data": [
        {"id": c1, "Member_Status": "Responded"}, {"id": c2, "Member_Status": "Invited"}]})
    r = convert(api, lead)
    assert r.status_code == 200, r.text
    contact = r.json()["data"][0]["Contacts"]
    notes = api.get(f"Contacts/{contact}/Notes").json()["data"]
    assert [(n["id"], n["Note_Content"]) for n in notes] == [(note, "met at the fair")]
    atts = api.get(f"Contacts/{contact}/Attachments").json()["data"]
    assert [a["id"] for a in atts] == [att]
    got = api.client.get(f"/crm/v8/Contacts/{contact}/Attachments/{att}",
                         headers=api.headers())
    assert got.content == b"business card"
    camps = {d["id"]: d["Member_Status"]
             for d in api.get(f"Contacts/{contact}/Campaigns").json()["data"]}
    assert camps == {c1: "Responded", c2: "Invited"}
    assert api.get(f"Campaigns/{c1}/Leads").status_code == 204
    # the Lead keeps nothing; the moves are in the change log
    c = t.change_log.c
    with corral.db.read() as conn:
        rows = conn.execute(sa.select(c.record_id, c.field, c.new_value).where(
            c.field.in_(["Parent_Id", "$attachments"])).order_by(c.id)).all()
    assert (int(note), "Parent_Id", contact) in [tuple(x) for x in rows]
    assert (int(lead), "$attachments", []) in [tuple(x) for x in rows]
    assert (int(contact), "$attachments", [att]) in [tuple(x) for x in rows]

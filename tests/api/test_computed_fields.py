"""Fields Zoho computes, through the API: Deals' Probability and Expected_Revenue, Calls'
Call_Duration_in_seconds, inventory totals (records/computed.py). Read-only to clients."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

CALL = {"Subject": "Ring", "Call_Type": "Outbound", "Call_Start_Time": "2024-01-02T10:00:00Z"}


def one(api: Api, module: str, rid: str) -> dict[str, Any]:
    r = api.get(f"{module}/{rid}")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"][0]
    return data


def refused(r: Any, index: int = 0) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    entry: dict[str, Any] = r.json()["data"][index]
    assert entry["code"] == "INVALID_DATA", entry
    return entry


@pytest.mark.parametrize("version", ["v2", "v8"])
def test_deal_probability_from_stage_and_expected_revenue(api: Api, version: str) -> None:
    api.version = version
    (rid,) = api.insert("Deals", {"Deal_Name": "Big", "Stage": "Proposal/Price Quote",
                                  "Amount": 2000})
    deal = one(api, "Deals", rid)
    assert (deal["Probability"], deal["Expected_Revenue"]) == (75, 1500.0)
    r = api.put(f"Deals/{rid}", json={"data": [{"Amount": 1000}]})
    assert r.status_code == 200, r.text
    assert one(api, "Deals", rid)["Expected_Revenue"] == 750.0
    api.put(f"Deals/{rid}", json={"data": [{"Stage": "Closed Won"}]})
    deal = one(api, "Deals", rid)
    assert (deal["Probability"], deal["Expected_Revenue"]) == (100, 1000.0)
    api.put(f"Deals/{rid}", json={"data": [{"Probability": 30}]})
    assert one(api, "Deals", rid)["Expected_Revenue"] == 300.0


def test_expected_revenue_is_read_only(api: Api) -> None:
    r = api.post("Deals", json={"data": [{"Deal_Name": "X", "Stage": "Qualification",
                                          "Expected_Revenue": 5}]})
    assert refused(r)["details"] == {"api_name": "Expected_Revenue",
                                     "json_path": "$.data[0].Expected_Revenue"}


def test_probability_out_of_range_is_refused(api: Api) -> None:
    r = api.post("Deals", json={"data": [{"Deal_Name": "X", "Stage": "Qualification",
                                          "Probability": 120}]})
    assert refused(r)["message"] == "Given Probability is not valid"


def test_mass_update_recomputes_expected_revenue(api: Api) -> None:
    a, b = api.insert("Deals", {"Deal_Name": "A", "Stage": "Qualification", "Amount": 100},
                      {"Deal_Name": "B", "Stage": "Needs Analysis", "Amount": 100})
    r = api.post("Deals/actions/mass_update", json={"data": [{"Amount": 500}],
                                                     "ids": [a, b]})
    assert r.status_code == 200, r.text
    assert one(api, "Deals", a)["Expected_Revenue"] == 50.0
    assert one(api, "Deals", b)["Expected_Revenue"] == 100.0


@pytest.mark.parametrize("version", ["v2", "v8"])
def test_call_duration_in_seconds(api: Api, version: str) -> None:
    api.version = version
    (rid,) = api.insert("Calls", {**CALL, "Call_Duration": "12:34"})
    assert one(api, "Calls", rid)["Call_Duration_in_seconds"] == 754
    api.put(f"Calls/{rid}", json={"data": [{"Call_Duration": "1:00:01"}]})
    assert one(api, "Calls", rid)["Call_Duration_in_seconds"] == 3601


def test_call_duration_errors(api: Api) -> None:
    r = api.post("Calls", json={"data": [{**CALL, "Call_Duration": "12 minutes"}]})
    assert refused(r)["details"] == {"api_name": "Call_Duration",
                                     "json_path": "$.data[0].Call_Duration"}
    r = api.post("Calls", json={"data": [{**CALL, "Call_Duration": "01:00",
                                          "Call_Duration_in_seconds": 60}]})
    assert refused(r)["details"]["api_name"] == "Call_Duration_in_seconds"


@pytest.mark.parametrize("module,subform,extra", [
    ("Quotes", "Quoted_Items", {}), ("Sales_Orders", "Ordered_Items", {}),
    ("Invoices", "Invoiced_Items", {}), ("Purchase_Orders", "Purchased_Items", {"vendor": 1})])
def test_inventory_totals(api: Api, module: str, subform: str, extra: dict[str, Any]) -> None:
    (product,) = api.insert("Products", {"Product_Name": "Widget"})
    record: dict[str, Any] = {"Subject": "S", subform: [
        {"Product_Name": {"id": product}, "Quantity": 3, "List_Price": 10, "Discount": 5,
         "Tax": 2.5}], "Adjustment": 1.25, "Tax": 4}
    if extra:
        (vendor,) = api.insert("Vendors", {"Vendor_Name": "Acme"})
        record["Vendor_Name"] = {"id": vendor}
    (rid,) = api.insert(module, record)
    got = one(api, module, rid)
    assert (got["Sub_Total"], got["Tax"], got["Adjustment"], got["Grand_Total"]) == (
        27.5, 4, 1.25, 32.75)
    line = got[subform][0]
    assert (line["Total"], line["Total_After_Discount"], line["Net_Total"]) == (30, 25, 27.5)
    api.put(f"{module}/{rid}", json={"data": [{"Discount": 2.75}]})
    assert one(api, module, rid)["Grand_Total"] == 30.0


def test_inventory_totals_are_read_only(api: Api) -> None:
    r = api.post("Quotes", json={"data": [{"Subject": "S", "Quoted_Items": [
        {"Quantity": 1, "List_Price": 1}], "Grand_Total": 99}]})
    assert refused(r)["details"]["api_name"] == "Grand_Total"
    r = api.post("Quotes", json={"data": [{"Subject": "S", "Quoted_Items": [
        {"Quantity": "lots", "List_Price": 1}]}]})
    assert refused(r)["details"] == {"api_name": "Quantity", "expected_data_type": "double",
                                     "json_path": "$.data[0].Quoted_Items[0].Quantity"}


def test_upsert_computes_on_both_branches(api: Api) -> None:
    body = {"data": [{"Deal_Name": "U", "Stage": "Value Proposition", "Amount": 100}],
            "duplicate_check_fields": ["Deal_Name"]}
    r = api.post("Deals/upsert", json=body)
    assert r.status_code == 200, r.text
    rid = r.json()["data"][0]["details"]["id"]
    assert one(api, "Deals", rid)["Expected_Revenue"] == 40.0
    body["data"][0]["Amount"] = 300
    r = api.post("Deals/upsert", json=body)
    assert r.json()["data"][0]["action"] == "update", r.text
    assert one(api, "Deals", rid)["Expected_Revenue"] == 120.0


def test_deal_made_by_lead_conversion_gets_expected_revenue(api: Api) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Company": "Zylker"})
    r = api.post(f"Leads/{lead}/actions/convert", json={"data": [{"Deals": {
        "Deal_Name": "Big deal", "Stage": "Negotiation/Review", "Closing_Date": "2026-12-31",
        "Amount": 1000}}]})
    assert r.status_code == 200, r.text
    deal = one(api, "Deals", r.json()["data"][0]["Deals"])
    assert (deal["Probability"], deal["Expected_Revenue"]) == (90, 900.0)

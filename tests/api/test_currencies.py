"""Currencies over HTTP: enabling multi-currency, adding and changing currencies, and the
`Currency` / `Exchange_Rate` every record of a multi-currency org carries (the write path's
CurrencyDefaults step)."""

from __future__ import annotations

from typing import Any

import pytest

from corral.services import Corral
from tests.api.test_contract import assert_same_shape
from tests.conftest import Api, make_token

USD = {"name": "US Dollar - USD", "iso_code": "USD", "symbol": "$",
       "exchange_rate": "1.0000000", "prefix_symbol": True,
       "format": {"decimal_separator": "Period", "thousand_separator": "Comma",
                  "decimal_places": "2"}}
# Zoho's documented sample of GET /org/currencies (one entry).
SAMPLE = {"symbol": "DA", "created_time": "2019-11-08T14:24:56+05:30", "is_active": True,
          "exchange_rate": "3.000000000",
          "format": {"decimal_separator": "Period", "thousand_separator": "Comma",
                     "decimal_places": "2"},
          "created_by": {"name": "Patricia Boyle", "id": "4150868000000225013"},
          "prefix_symbol": True, "is_base": True, "modified_time": "2019-11-08T14:48:03+05:30",
          "name": "Algerian Dinar - DZD",
          "modified_by": {"name": "Patricia Boyle", "id": "4150868000000225013"},
          "id": "4150868000000780002", "iso_code": "DZD"}


def _error(r: Any, status: int, code: str, *, wrapped: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    if wrapped is not None:
        assert set(body) == {wrapped}, body
        body = body[wrapped]
        if isinstance(body, list):
            (body,) = body
    assert body["code"] == code, body
    return dict(body)


def _enable(api: Api, **spec: Any) -> str:
    r = api.post("org/currencies/actions/enable", json={"base_currency": {**USD, **spec}})
    assert r.status_code == 200, r.text
    body = r.json()["base_currency"]
    assert body["message"] == ("The multi-currency feature is enabled and given currency is "
                               "created as the base currency.")
    return str(body["details"]["id"])


def _add(api: Api, *specs: dict[str, Any]) -> list[str]:
    r = api.post("org/currencies", json={"currencies": list(specs)})
    assert r.status_code == 200, r.text
    return [e["details"]["id"] for e in r.json()["currencies"]]


EUR = {"name": "Euro - EUR", "iso_code": "EUR", "symbol": "€", "exchange_rate": "0.92"}


def test_not_enabled_at_first(api: Api) -> None:
    _error(api.get("org/currencies"), 403, "CURRENCIES_NOT_ENABLED")
    _error(api.post("org/currencies", json={"currencies": [EUR]}), 403, "FEATURE_NOT_ENABLED")
    _error(api.put("org/currencies/actions/enable", json={"base_currency": {"symbol": "$"}}),
           403, "FEATURE_NOT_ENABLED", wrapped="base_currency")
    (org,) = api.get("org").json()["org"]
    assert (org["mc_status"], org["currency"]) == (False, "USD")
    # No currency fields and no record-level currency before.
    (rid,) = api.insert("Deals", {"Deal_Name": "Big", "Stage": "Qualification"})
    rec = api.get(f"Deals/{rid}").json()["data"][0]
    assert "Currency" not in rec and "Exchange_Rate" not in rec


def test_enable_and_list(api: Api) -> None:
    base = _enable(api, iso_code="EUR", name="Euro - EUR", symbol="€")
    (eur,) = api.get("org/currencies").json()["currencies"]
    assert_same_shape(eur, SAMPLE, exact=frozenset())
    assert (eur["id"], eur["iso_code"], eur["is_base"], eur["is_active"],
            eur["exchange_rate"]) == (base, "EUR", True, True, "1.000000000")
    (org,) = api.get("org").json()["org"]
    assert (org["mc_status"], org["currency"], org["iso_code"], org["currency_symbol"]) == (
        True, "EUR", "EUR", "€")
    _error(api.post("org/currencies/actions/enable", json={"base_currency": USD}), 400,
           "ALREADY_ENABLED", wrapped="base_currency")
    (again,) = api.get(f"org/currencies/{base}").json()["currencies"]
    assert again == eur
    _error(api.get("org/currencies/1234567890123456789"), 400, "INVALID_DATA")


@pytest.mark.parametrize(("spec", "code", "api_name"), [
    ({"name": None}, "MANDATORY_NOT_FOUND", "name"),
    ({"iso_code": None}, "MANDATORY_NOT_FOUND", "iso_code"),
    ({"exchange_rate": None}, "MANDATORY_NOT_FOUND", "exchange_rate"),
    ({"iso_code": "DOLLARS"}, "INVALID_DATA", "iso_code"),
    ({"exchange_rate": "-1"}, "INVALID_DATA", "exchange_rate"),
    ({"exchange_rate": "abc"}, "INVALID_DATA", "exchange_rate"),
    ({"symbol": ""}, "INVALID_DATA", "symbol"),
    ({"format": {"decimal_places": "5"}}, "INVALID_DATA", "decimal_places"),
    ({"format": {"decimal_separator": "Comma", "thousand_separator": "Comma"}},
     "NOT_ALLOWED", "format"),
])
def test_enable_errors(api: Api, spec: dict[str, Any], code: str, api_name: str) -> None:
    body = {**USD, **spec}
    if body.get("symbol") is None:
        body.pop("symbol")
    err = _error(api.post("org/currencies/actions/enable", json={"base_currency": body}), 400,
                 code, wrapped="base_currency")
    assert err["details"]["api_name"] == api_name
    _error(api.get("org/currencies"), 403, "CURRENCIES_NOT_ENABLED")


def test_add_and_update_currencies(api: Api) -> None:
    base = _enable(api)
    eur, gbp = _add(api, EUR, {"name": "Pound - GBP", "iso_code": "gbp",
                               "exchange_rate": 0.79, "is_active": False})
    listed = api.get("org/currencies").json()["currencies"]
    assert [(c["iso_code"], c["is_base"], c["is_active"], c["exchange_rate"])
            for c in listed] == [("USD", True, True, "1.000000000"),
                                 ("EUR", False, True, "0.920000000"),
                                 ("GBP", False, False, "0.790000000")]
    assert listed[2]["symbol"] == "GBP"  # no symbol given: the ISO code
    r = api.put("org/currencies", json={"currencies": [
        {"id": eur, "exchange_rate": "0.95", "name": "ignored"},
        {"id": gbp, "is_active": True}]})
    assert [e["message"] for e in r.json()["currencies"]] == [
        "The currency updated successfully."] * 2
    r = api.put(f"org/currencies/{eur}", json={"currencies": [{"symbol": "EUR€"}]})
    assert r.status_code == 200, r.text
    (got,) = api.get(f"org/currencies/{eur}").json()["currencies"]
    assert (got["exchange_rate"], got["symbol"], got["name"]) == ("0.950000000", "EUR€",
                                                                  "Euro - EUR")
    r = api.put("org/currencies/actions/enable", json={"base_currency": {
        "id": base, "symbol": "US$", "format": {"decimal_places": "3"}}})
    assert r.json()["base_currency"]["message"] == "The currency updated successfully."
    (usd,) = api.get(f"org/currencies/{base}").json()["currencies"]
    assert (usd["symbol"], usd["format"]["decimal_places"], usd["is_base"]) == ("US$", "3",
                                                                                 True)


def test_add_and_update_errors(api: Api) -> None:
    base = _enable(api)
    (eur,) = _add(api, EUR)
    r = api.post("org/currencies", json={"currencies": [
        {**EUR, "iso_code": "eur"}, {"name": "Yen - JPY", "iso_code": "JPY",
                                     "exchange_rate": "150"}]})
    assert r.status_code == 200  # one went in
    first, second = r.json()["currencies"]
    assert first["code"] == "DUPLICATE_DATA" and second["code"] == "SUCCESS"
    _error(api.post("org/currencies", json={"currencies": [{"iso_code": "CHF"}]}), 400,
           "MANDATORY_NOT_FOUND", wrapped="currencies")
    _error(api.post("org/currencies", json={"currencies": []}), 400, "MANDATORY_NOT_FOUND",
           wrapped="currencies")
    _error(api.put("org/currencies", json={"currencies": [{"id": base, "symbol": "x"}]}), 400,
           "NOT_ALLOWED", wrapped="currencies")
    _error(api.put("org/currencies", json={"currencies": [{"symbol": "x"}]}), 400,
           "MANDATORY_NOT_FOUND", wrapped="currencies")
    _error(api.put("org/currencies/1234567890123456789",
                   json={"currencies": [{"symbol": "x"}]}), 400, "INVALID_DATA",
           wrapped="currencies")
    _error(api.put(f"org/currencies/{eur}", json={"currencies": [{"exchange_rate": 0}]}), 400,
           "INVALID_DATA", wrapped="currencies")
    _error(api.put("org/currencies/actions/enable", json={"base_currency": {
        "id": eur, "symbol": "x"}}), 400, "INVALID_DATA", wrapped="base_currency")


def test_at_most_ten_active_currencies(api: Api) -> None:
    _enable(api)
    codes = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH", "III"]
    _add(api, *[{"name": c, "iso_code": c, "exchange_rate": 2} for c in codes])
    r = api.post("org/currencies", json={"currencies": [
        {"name": "J", "iso_code": "JJJ", "exchange_rate": 2}]})
    assert r.json()["currencies"][0]["code"] == "ACTIVE_STATE_LIMIT_EXCEEDED"
    (off,) = _add(api, {"name": "K", "iso_code": "KKK", "exchange_rate": 2,
                        "is_active": False})
    r = api.put(f"org/currencies/{off}", json={"currencies": [{"is_active": True}]})
    assert r.json()["currencies"][0]["code"] == "ACTIVE_STATE_LIMIT_EXCEEDED"


def test_currency_writes_need_an_admin_and_the_scope(corral: Corral, api: Api) -> None:
    corral.auth.create_user("sam@zylker.com", "Smith")
    sam = make_token(corral, ["ZohoCRM.settings.ALL"], email="sam@zylker.com")
    _error(api.post("org/currencies/actions/enable", json={"base_currency": USD}, token=sam),
           403, "NO_PERMISSION", wrapped="base_currency")
    _error(api.post("org/currencies/actions/enable", json={"base_currency": USD},
                    token=make_token(corral, ["ZohoCRM.settings.currencies.READ"])), 401,
           "OAUTH_SCOPE_MISMATCH")
    _enable(api)
    assert api.get("org/currencies", token=sam).status_code == 200
    read = make_token(corral, ["ZohoCRM.settings.currencies.READ"])
    assert api.get("org/currencies", token=read).status_code == 200
    _error(api.get("org/currencies", token=make_token(corral, ["ZohoCRM.org.ALL"])), 401,
           "OAUTH_SCOPE_MISMATCH")


# ----------------------------------------------------------------------------- records
def _deal(api: Api, rid: str) -> dict[str, Any]:
    return dict(api.get(f"Deals/{rid}").json()["data"][0])


def test_records_carry_currency_and_exchange_rate(api: Api) -> None:
    (before,) = api.insert("Deals", {"Deal_Name": "Old", "Stage": "Qualification"})
    _enable(api)
    (eur,) = _add(api, EUR)
    fields = {f["api_name"]: f for f in api.get(
        "settings/fields", params={"module": "Deals"}).json()["fields"]}
    assert fields["Currency"]["data_type"] == "picklist"
    assert [v["display_value"] for v in fields["Currency"]["pick_list_values"]] == [
        "USD", "EUR"]
    assert fields["Exchange_Rate"]["data_type"] == "double"
    # Modules without currency fields get neither.
    tasks = api.get("settings/fields", params={"module": "Tasks"}).json()["fields"]
    assert "Currency" not in {f["api_name"] for f in tasks}

    home, euro, fixed = api.insert(
        "Deals", {"Deal_Name": "Home", "Stage": "Qualification", "Amount": 100},
        {"Deal_Name": "Euro", "Stage": "Qualification", "Currency": "EUR"},
        {"Deal_Name": "Fixed", "Stage": "Qualification", "Currency": "eur",
         "Exchange_Rate": 0.9})
    assert (_deal(api, home)["Currency"], _deal(api, home)["Exchange_Rate"]) == ("USD", 1.0)
    assert (_deal(api, euro)["Currency"], _deal(api, euro)["Exchange_Rate"]) == ("EUR", 0.92)
    assert (_deal(api, fixed)["Currency"], _deal(api, fixed)["Exchange_Rate"]) == ("EUR", 0.9)

    # A new rate applies to records written later; existing ones keep theirs.
    api.put(f"org/currencies/{eur}", json={"currencies": [{"exchange_rate": "0.95"}]})
    api.put(f"Deals/{euro}", json={"data": [{"Amount": 5}]})
    assert _deal(api, euro)["Exchange_Rate"] == 0.92
    # Changing the currency takes the new one's rate.
    api.put(f"Deals/{home}", json={"data": [{"Currency": "EUR"}]})
    assert (_deal(api, home)["Currency"], _deal(api, home)["Exchange_Rate"]) == ("EUR", 0.95)
    # A record written before multi-currency gets the home currency when next written.
    api.put(f"Deals/{before}", json={"data": [{"Amount": 7}]})
    assert (_deal(api, before)["Currency"], _deal(api, before)["Exchange_Rate"]) == ("USD",
                                                                                      1.0)


def test_unknown_or_inactive_currency_is_refused(api: Api) -> None:
    _enable(api)
    (gbp,) = _add(api, {"name": "Pound - GBP", "iso_code": "GBP", "exchange_rate": "0.8"})
    r = api.post("Deals", json={"data": [
        {"Deal_Name": "A", "Stage": "Qualification", "Currency": "JPY"},
        {"Deal_Name": "B", "Stage": "Qualification", "Currency": "GBP"},
        {"Deal_Name": "C", "Stage": "Qualification", "Exchange_Rate": -2}]})
    a, b, c = r.json()["data"]
    assert (a["code"], a["details"]["api_name"]) == ("INVALID_DATA", "Currency")
    assert b["code"] == "SUCCESS"
    assert (c["code"], c["details"]["api_name"]) == ("INVALID_DATA", "Exchange_Rate")
    api.put(f"org/currencies/{gbp}", json={"currencies": [{"is_active": False}]})
    fields = api.get("settings/fields", params={"module": "Deals"}).json()["fields"]
    (cur,) = [f for f in fields if f["api_name"] == "Currency"]
    assert [v["display_value"] for v in cur["pick_list_values"]] == ["USD"]
    r = api.post("Deals", json={"data": [{"Deal_Name": "D", "Stage": "Qualification",
                                          "Currency": "GBP"}]})
    assert r.json()["data"][0]["code"] == "INVALID_DATA"
    # A record already in GBP may still change its other fields.
    rid = b["details"]["id"]
    r = api.put(f"Deals/{rid}", json={"data": [{"Amount": 3}]})
    assert r.json()["data"][0]["code"] == "SUCCESS"
    assert _deal(api, rid)["Currency"] == "GBP"


def test_currency_through_upsert_and_mass_update(api: Api) -> None:
    _enable(api)
    _add(api, EUR)
    r = api.post("Accounts/upsert", json={"data": [{"Account_Name": "Zylker",
                                                    "Currency": "EUR"}]})
    rid = r.json()["data"][0]["details"]["id"]
    acc = api.get(f"Accounts/{rid}").json()["data"][0]
    assert (acc["Currency"], acc["Exchange_Rate"]) == ("EUR", 0.92)
    r = api.post("Accounts/actions/mass_update", json={"data": [{"Currency": "USD"}],
                                                       "ids": [rid]})
    assert r.status_code == 200, r.text
    acc = api.get(f"Accounts/{rid}").json()["data"][0]
    assert (acc["Currency"], acc["Exchange_Rate"]) == ("USD", 1.0)

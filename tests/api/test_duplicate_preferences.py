"""Duplicate Check Preference API (facts §4) and its enforcement on every Leads write path."""

from __future__ import annotations

from typing import Any

import pytest

from corral.services import Corral
from tests.conftest import Api, make_token

URL = "settings/duplicate_check_preference"
KEY = "duplicate_check_preference"


def mapping(current: str, mapped: str, **extra: Any) -> dict[str, Any]:
    return {KEY: {"type": "mapped_module_records", "type_configurations": [{
        "field_mappings": [{"current_field": {"api_name": current},
                            "mapped_field": {"api_name": mapped}}],
        "mapped_module": {"api_name": "Contacts"}, **extra}]}}


def configure(api: Api, body: dict[str, Any], method: str = "post") -> Any:
    return getattr(api, method)(URL, params={"module": "Leads"}, json=body)


def dup(resp: Any, index: int = 0) -> dict[str, Any]:
    entry = resp.json()["data"][index]
    assert entry["code"] == "DUPLICATE_DATA", entry
    assert entry["message"] == "duplicate data"
    return entry["details"]


def test_zylker_story_mapped_module_records(api: Api, corral: Corral) -> None:
    r = configure(api, mapping("Email", "Email"))
    assert r.status_code == 200
    assert r.json() == {KEY: {"code": "SUCCESS", "details": {},
                              "message": "Duplicate check enabled for mapped_module_records "
                                         "successfully.", "status": "success"}}
    got = api.get(URL, params={"module": "Leads"}).json()[KEY]
    assert got["type"] == "mapped_module_records"
    fm = got["type_configurations"][0]["field_mappings"][0]
    assert fm["current_field"]["api_name"] == "Email" and fm["current_field"]["name"] == "Leads"
    assert fm["mapped_field"]["name"] == "Contacts" and fm["mapped_field"]["id"].isdigit()
    assert got["type_configurations"][0]["mapped_module"]["api_name"] == "Contacts"

    (contact,) = api.insert("Contacts", {"Last_Name": "Dolan", "Email": "brian@villa.com",
                                         "Phone": "12345"})
    r = api.post("Leads", json={"data": [{"Company": "Villa Margarita", "Last_Name": "Dolan",
                                          "First_Name": "Brian", "Email": "BRIAN@villa.com",
                                          "Phone": "12345", "State": "Texas"}]})
    assert r.status_code == 400
    details = dup(r)
    assert details["api_name"] == "Email" and details["json_path"] == "$.data[0].Email"
    assert details["duplicate_record"]["id"] == contact
    assert details["duplicate_record"]["module"]["api_name"] == "Contacts"
    assert details["duplicate_record"]["Owner"]["name"] == "Corral Admin"
    assert set(details["duplicate_record"]["Owner"]) == {"name", "id", "zuid"}
    assert details["more_records"] is False

    # Flag Phone unique in Leads and Contacts and move the mapping to Phone (PUT).
    corral.metadata.set_unique(corral.registry.require("Leads"), "Phone", True)
    corral.metadata.set_unique(corral.registry.require("Contacts"), "Phone", True)
    r = configure(api, mapping("Phone", "Phone"), "put")
    assert r.status_code == 200
    assert r.json()[KEY]["message"] == "Field mapping updated successfully."
    ok = api.post("Leads", json={"data": [{"Last_Name": "E", "Email": "brian@villa.com"}]})
    assert ok.status_code == 201
    r = api.post("Leads", json={"data": [{"Last_Name": "P", "Phone": "123-45"}]})
    details = dup(r)
    assert details["api_name"] == "Phone" and details["duplicate_record"]["id"] == contact

    r = api.delete(URL, params={"module": "Leads"})
    assert r.json()[KEY]["message"] == ("Duplicate check disabled for mapped_module_records "
                                        "successfully.")
    assert api.get(URL, params={"module": "Leads"}).status_code == 204
    assert api.post("Leads", json={"data": [{"Last_Name": "P", "Phone": "12345"}]}
                    ).status_code == 201


def test_zylker_story_converted_records(api: Api) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Email": "paul@zylker.com"})
    api.client.post(f"/crm/v2/Leads/{lead}/actions/convert", json={"data": [{}]},
                    headers=api.headers())
    # Without the preference the converted Lead does not block.
    (again,) = api.insert("Leads", {"Last_Name": "Again", "Email": "paul@zylker.com"})
    api.delete(f"Leads/{again}")
    r = configure(api, {KEY: {"type": "converted_records"}})
    assert r.json()[KEY]["message"] == "Duplicate check enabled for converted_records " \
                                       "successfully."
    assert api.get(URL, params={"module": "Leads"}).json() == {
        KEY: {"type": "converted_records", "type_configurations": None}}
    r = api.post("Leads", json={"data": [{"Last_Name": "Dup", "Email": "Paul@Zylker.com"}]})
    details = dup(r)
    assert details["duplicate_record"]["id"] == lead
    assert details["duplicate_record"]["module"]["api_name"] == "Leads"
    api.delete(URL, params={"module": "Leads"})
    assert api.post("Leads", json={"data": [{"Last_Name": "Dup",
                                             "Email": "Paul@Zylker.com"}]}).status_code == 201


@pytest.mark.parametrize("path", ["insert", "update", "upsert_insert", "upsert_update"])
def test_every_write_path_honours_the_preference(api: Api, path: str) -> None:
    configure(api, mapping("Email", "Email"))
    (contact,) = api.insert("Contacts", {"Last_Name": "C", "Email": "c@x.com"})
    (lead,) = api.insert("Leads", {"Last_Name": "L", "Email": "l@x.com"})
    if path == "insert":
        r = api.post("Leads", json={"data": [{"Last_Name": "N", "Email": "c@x.com"}]})
    elif path == "update":
        r = api.put(f"Leads/{lead}", json={"data": [{"Email": "C@X.com"}]})
    elif path == "upsert_insert":
        r = api.post("Leads/upsert", json={"data": [{"Last_Name": "N", "Email": "c@x.com"}]})
    else:  # matched by another unique field, then the Email change clashes
        r = api.post("Leads/upsert", json={"data": [{"Email": "l@x.com", "Last_Name": "M"},
                                                    {"Email": "c@x.com", "Last_Name": "N"}]})
        assert r.json()["data"][0]["action"] == "update"
        details = dup(r, 1)
        assert details["duplicate_record"]["id"] == contact
        return
    assert dup(r)["duplicate_record"]["id"] == contact


def test_more_records_when_several_contacts_match(api: Api, corral: Corral) -> None:
    configure(api, mapping("Email", "Email"))
    # Contacts' Email not unique any more: two Contacts share it (still mapped: it is the
    # system duplicate-check field of Contacts).
    corral.metadata.set_unique(corral.registry.require("Contacts"), "Email", False)
    first, _second = api.insert("Contacts", {"Last_Name": "A", "Email": "s@x.com"},
                                {"Last_Name": "B", "Email": "s@x.com"})
    details = dup(api.post("Leads", json={"data": [{"Last_Name": "L", "Email": "s@x.com"}]}))
    assert details["more_records"] is True and details["duplicate_record"]["id"] == first


def _error(resp: Any) -> dict[str, Any]:
    body = resp.json()
    return body[KEY] if KEY in body else body


@pytest.mark.parametrize(("body", "code"), [
    ({}, "MANDATORY_NOT_FOUND"),
    ({KEY: {}}, "MANDATORY_NOT_FOUND"),
    ({KEY: {"type": "everything"}}, "INVALID_DATA"),
    ({KEY: {"type": "mapped_module_records"}}, "DEPENDENT_FIELD_MISSING"),
    (mapping("Last_Name", "Email"), "NOT_ALLOWED"),
    (mapping("Email", "Last_Name"), "NOT_ALLOWED"),
    (mapping("Nope", "Email"), "INVALID_DATA"),
    ({KEY: {"type": "mapped_module_records", "type_configurations": [{
        "field_mappings": [{"current_field": {"api_name": "Email"},
                            "mapped_field": {"api_name": "Email"}}],
        "mapped_module": {"api_name": "Accounts"}}]}}, "FEATURE_NOT_SUPPORTED"),
    ({KEY: {"type": "mapped_module_records", "type_configurations": [{
        "field_mappings": [{"current_field": {}, "mapped_field": {"api_name": "Email"}}],
        "mapped_module": {"api_name": "Contacts"}}]}}, "EXPECTED_FIELD_MISSING"),
    ({KEY: {"type": "mapped_module_records", "type_configurations": [{
        "field_mappings": [{"current_field": {"api_name": "Email", "id": "1"},
                            "mapped_field": {"api_name": "Email"}}],
        "mapped_module": {"api_name": "Contacts"}}]}}, "INVALID_DATA"),
])
def test_body_errors(api: Api, body: dict[str, Any], code: str) -> None:
    r = configure(api, body)
    assert r.status_code == 400
    err = _error(r)
    assert err["code"] == code and err["status"] == "error"
    assert set(err) == {"code", "details", "message", "status"}
    assert api.get(URL, params={"module": "Leads"}).status_code == 204


def test_ambiguous_id_and_api_name(api: Api, corral: Corral) -> None:
    phone = corral.registry.require("Leads").field("Phone")
    assert phone is not None
    body = mapping("Email", "Email")
    body[KEY]["type_configurations"][0]["field_mappings"][0]["current_field"]["id"] = \
        str(phone.id)
    err = _error(configure(api, body))
    assert err["code"] == "AMBIGUITY_DURING_PROCESSING"


def test_fields_by_id(api: Api, corral: Corral) -> None:
    leads, contacts = corral.registry.require("Leads"), corral.registry.require("Contacts")
    body = {KEY: {"type": "mapped_module_records", "type_configurations": [{
        "field_mappings": [{"current_field": {"id": str(leads.by_name["Email"].id)},
                            "mapped_field": {"id": str(contacts.by_name["Email"].id)}}],
        "mapped_module": {"id": str(contacts.id)}}]}}
    assert configure(api, body).status_code == 200


def test_state_errors(api: Api) -> None:
    assert configure(api, {KEY: {"type": "converted_records"}}).status_code == 200
    err = _error(configure(api, {KEY: {"type": "converted_records"}}))
    assert err["code"] == "ALREADY_CONFIGURED" and err["message"] == "Already configured"
    api.delete(URL, params={"module": "Leads"})
    err = _error(api.delete(URL, params={"module": "Leads"}))
    assert err["code"] == "FEATURE_NOT_SUPPORTED"
    err = _error(configure(api, {KEY: {"type": "converted_records"}}, "put"))
    assert err["code"] == "FEATURE_NOT_SUPPORTED"


def test_request_errors(api: Api, corral: Corral) -> None:
    r = api.get(URL)
    assert r.status_code == 400 and r.json()["code"] == "REQUIRED_PARAM_MISSING"
    r = api.get(URL, params={"module": "Contacts"})
    assert r.status_code == 400 and r.json()["code"] == "NOT_SUPPORTED"
    assert r.json()["message"] == "This API does not support the specified module"
    r = api.get(URL, params={"module": "Nope"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_MODULE"
    r = api.get(URL, params={"module": "Leads"}, token="bad")
    assert r.status_code == 401 and r.json()["code"] == "INVALID_TOKEN"
    r = api.client.get(f"/crm/v2/{URL}?module=Leads")
    assert r.status_code == 401 and r.json()["code"] == "AUTHENTICATION_FAILURE"
    read = make_token(corral, ["ZohoCRM.settings.duplicate_check_preference.READ"])
    assert api.get(URL, params={"module": "Leads"}, token=read).status_code == 204
    r = configure_with(api, read)
    assert r.status_code == 401 and r.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    create = make_token(corral, ["ZohoCRM.settings.duplicate_check_preference.CREATE"])
    assert configure_with(api, create).status_code == 200
    r = api.patch(URL, params={"module": "Leads"}, json={})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST_METHOD"


def test_non_admin_cannot_change_the_preference(api: Api, corral: Corral) -> None:
    corral.auth.create_user("rep@x.com", "Rep")
    token = make_token(corral, ["ZohoCRM.settings.ALL"], email="rep@x.com")
    r = configure_with(api, token)
    assert r.status_code == 403 and r.json()["code"] == "NO_PERMISSION"


def configure_with(api: Api, token: str) -> Any:
    return api.post(URL, params={"module": "Leads"}, json={KEY: {"type": "converted_records"}},
                    token=token)


def test_mass_update_honours_the_preference(api: Api, corral: Corral) -> None:
    corral.metadata.set_unique(corral.registry.require("Leads"), "Phone", True)
    corral.metadata.set_unique(corral.registry.require("Contacts"), "Phone", True)
    configure(api, mapping("Phone", "Phone"))
    (contact,) = api.insert("Contacts", {"Last_Name": "C", "Phone": "555-0100"})
    a, b = api.insert("Leads", {"Last_Name": "A"}, {"Last_Name": "B", "City": "Pune"})
    r = api.post("Leads/actions/mass_update", json={"data": [{"Phone": "5550100"}],
                                                   "ids": [a]})
    assert dup(r)["duplicate_record"]["id"] == contact
    views = api.get("settings/custom_views", params={"module": "Leads"}).json()["custom_views"]
    cvid = next(v["id"] for v in views if v["system_name"] == "ALLVIEWS")
    r = api.post("Leads/actions/mass_update", json={"data": [{"Phone": "555 0100"}],
                                                   "cvid": cvid})
    job = r.json()["data"][0]["details"]["job_id"]
    corral.jobs.run_until_idle()
    st = api.get("Leads/actions/mass_update", params={"job_id": job}).json()["data"][0]
    assert (st["Status"], st["Updated_Count"], st["Failed_Count"]) == ("COMPLETED", 0, 2)
    assert api.get(f"Leads/{b}").json()["data"][0]["Phone"] is None

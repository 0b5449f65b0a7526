"""Metadata APIs over HTTP: modules, fields, layouts, custom views, users, org; changing them."""

from __future__ import annotations

from typing import Any

import pytest

from corral.metadata.model import DATA_TYPES, JSON_TYPES
from corral.metadata.seed_data import STANDARD_MODULES
from corral.services import Corral
from tests.conftest import Api

STANDARD = [m["api_name"] for m in STANDARD_MODULES]


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def _error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "details", "message", "status"}, body
    assert (body["code"], body["status"]) == (code, "error"), body
    return body


def _field_error(r: Any, status: int, code: str) -> dict[str, Any]:
    """A body error of POST/PATCH /settings/fields, wrapped as v8 fields.json shows it."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"fields"}, body
    (entry,) = body["fields"]
    assert set(entry) == {"code", "details", "message", "status"}, body
    assert (entry["code"], entry["status"]) == (code, "error"), body
    return dict(entry)


def fields_of(api: Api, module: str = "Leads", version: str | None = None) -> dict[str, Any]:
    path = f"/crm/{version}/settings/fields" if version else "settings/fields"
    r = api.get(path, params={"module": module}) if not version else api.client.get(
        path, params={"module": module}, headers=api.headers())
    return {f["api_name"]: f for f in _ok(r)["fields"]}


def create_field(api: Api, spec: dict[str, Any], module: str = "Leads") -> Any:
    return api.post("settings/fields", params={"module": module}, json={"fields": [spec]})


def add_field(api: Api, spec: dict[str, Any], module: str = "Leads") -> str:
    body = _ok(create_field(api, spec, module), 201)
    (entry,) = body["fields"]
    assert (entry["code"], entry["status"]) == ("SUCCESS", "success")
    assert entry["details"]["id"].isdigit()
    return str(entry["details"]["id"])


def is_numeric_id(value: Any) -> bool:
    return isinstance(value, str) and value.isdigit() and 0 < int(value) < 2**63


# ----------------------------------------------------------------------------- modules
def test_modules_lists_every_standard_module(api: Api) -> None:
    mods = _ok(api.get("settings/modules"))["modules"]
    by_name = {m["api_name"]: m for m in mods}
    assert len(STANDARD) == 24  # 19 of the first seed, Notes, four linking modules
    assert set(STANDARD) <= set(by_name)
    linking = {"Campaigns_X_Leads", "Campaigns_X_Contacts", "Price_Books_X_Products",
               "Deals_X_Contacts"}
    for name in STANDARD:
        m = by_name[name]
        assert m["api_supported"] is True, name
        assert m["generated_type"] == ("linking" if name in linking else "default")
        assert is_numeric_id(m["id"])
        assert m["module_name"] == name
        assert isinstance(m["singular_label"], str) and isinstance(m["plural_label"], str)
    assert len({m["id"] for m in mods}) == len(mods)
    assert [m["sequence_number"] for m in mods] == sorted(m["sequence_number"] for m in mods)
    assert by_name["Leads"]["convertable"] is True
    assert by_name["Contacts"]["convertable"] is False
    assert by_name["Leads"]["duplicate_check_field"] == {"api_name": "Email"}


def test_one_module(api: Api) -> None:
    (leads,) = _ok(api.get("settings/modules/Leads"))["modules"]
    assert leads["api_name"] == "Leads"
    assert leads["singular_label"] == "Lead" and leads["plural_label"] == "Leads"
    listed = next(m for m in _ok(api.get("settings/modules"))["modules"]
                  if m["api_name"] == "Leads")
    assert leads["id"] == listed["id"]
    (lower,) = _ok(api.get("settings/modules/leads"))["modules"]
    assert lower["api_name"] == "Leads"


def test_unknown_module_by_path(api: Api) -> None:
    body = _error(api.get("settings/modules/Nope"), 400, "INVALID_MODULE")
    assert body["details"] == {"resource_path_index": 2}


# ----------------------------------------------------------------------------- fields
def test_fields_of_leads(api: Api) -> None:
    fields = fields_of(api)
    assert len(fields) > 30
    for name, f in fields.items():
        assert isinstance(f["api_name"], str) and f["api_name"] == name
        assert f["data_type"] in DATA_TYPES, name
        assert f["json_type"] == JSON_TYPES[f["data_type"]], name
        assert is_numeric_id(f["id"]), name
        assert isinstance(f["field_label"], str) and f["field_label"]
        assert isinstance(f["system_mandatory"], bool)
        assert isinstance(f["unique"], dict)
    assert len({f["id"] for f in fields.values()}) == len(fields)
    email = fields["Email"]
    assert (email["data_type"], email["json_type"], email["length"]) == ("email", "string", 100)
    assert email["mass_update"] is False
    assert fields["Last_Name"]["system_mandatory"] is True
    assert fields["Last_Name"]["length"] == 80
    assert fields["First_Name"]["system_mandatory"] is False
    assert fields["Company"]["unique"] == {}
    owner = fields["Owner"]
    assert (owner["data_type"], owner["json_type"], owner["length"]) == (
        "ownerlookup", "jsonobject", 120)
    assert fields["Full_Name"]["read_only"] is True
    assert fields["Created_Time"]["read_only"] is True


def test_picklist_values(api: Api) -> None:
    status = fields_of(api)["Lead_Status"]
    assert status["data_type"] == "picklist"
    values = status["pick_list_values"]
    assert values
    for i, p in enumerate(values, start=1):
        assert set(p) >= {"display_value", "actual_value", "sequence_number", "id"}
        assert p["display_value"] == p["actual_value"]
        assert p["sequence_number"] == i
        assert is_numeric_id(p["id"])
    assert "Contacted" in {p["display_value"] for p in values}
    assert len({p["id"] for p in values}) == len(values)
    assert fields_of(api)["Last_Name"]["pick_list_values"] == []


def test_unique_flag_spelling_per_version(api: Api) -> None:
    # v2 (OAS `casesensitive`, a string) vs v7+ sample (`case_sensitive`, a boolean); facts §6.1.
    assert fields_of(api, version="v2")["Email"]["unique"] == {"casesensitive": "false"}
    assert fields_of(api, version="v2.1")["Email"]["unique"] == {"casesensitive": "false"}
    assert fields_of(api, version="v8")["Email"]["unique"] == {"case_sensitive": False}


def test_fields_need_a_known_module(api: Api) -> None:
    body = _error(api.get("settings/fields"), 400, "REQUIRED_PARAM_MISSING")
    assert body["details"] == {"param_name": "module"}
    assert body["message"] == "One of the expected parameter is missing"
    _error(api.get("settings/fields", params={"module": ""}), 400, "REQUIRED_PARAM_MISSING")
    _error(api.get("settings/fields", params={"module": "Nope"}), 400, "INVALID_MODULE")
    assert "Email" in fields_of(api, module="leads")


def test_one_field_by_id(api: Api) -> None:
    email = fields_of(api)["Email"]
    (got,) = _ok(api.get(f"settings/fields/{email['id']}", params={"module": "Leads"}))["fields"]
    assert got == email
    for bad in ("1234567890123456789", "abc", "0"):
        body = _error(api.get(f"settings/fields/{bad}", params={"module": "Leads"}), 400,
                      "INVALID_DATA")
        assert body["details"] == {"resource_path_index": 2}
    # A field id of another module is not a field of this one.
    contact_email = fields_of(api, "Contacts")["Email"]["id"]
    _error(api.get(f"settings/fields/{contact_email}", params={"module": "Leads"}), 400,
           "INVALID_DATA")
    _error(api.get(f"settings/fields/{email['id']}"), 400, "REQUIRED_PARAM_MISSING")


# ----------------------------------------------------------------------------- layouts, views
def test_layouts(api: Api) -> None:
    (layout,) = _ok(api.get("settings/layouts", params={"module": "Leads"}))["layouts"]
    assert {"id", "name", "api_name", "display_label", "status", "visible", "profiles",
            "sections", "convert_mapping", "generated_type"} <= set(layout)
    assert is_numeric_id(layout["id"])
    in_layout = {f["api_name"] for s in layout["sections"] for f in s["fields"]}
    assert in_layout == set(fields_of(api))
    _error(api.get("settings/layouts"), 400, "REQUIRED_PARAM_MISSING")
    _error(api.get("settings/layouts", params={"module": "Nope"}), 400, "INVALID_MODULE")


def test_custom_views_of_leads(api: Api) -> None:
    body = _ok(api.get("settings/custom_views", params={"module": "Leads"}))
    views = {v["name"]: v for v in body["custom_views"]}
    assert {"All Leads", "Converted Leads"} <= set(views)
    all_leads = views["All Leads"]
    assert all_leads["system_name"] == "ALLVIEWS"
    assert all_leads["default"] is True and all_leads["system_defined"] is True
    assert views["Converted Leads"]["system_name"] == "CONVERTEDVIEWS"
    assert views["Converted Leads"]["default"] is False
    for v in body["custom_views"]:
        assert is_numeric_id(v["id"])
        assert {"display_value", "created_time", "system_name", "created_by", "default",
                "modified_time", "name", "system_defined", "modified_by", "id", "category",
                "last_accessed_time", "locked", "favorite"} == set(v)
    info = body["info"]
    assert info["default"] == all_leads["id"]
    assert info["count"] == len(body["custom_views"])
    assert info["more_records"] is False
    (one,) = _ok(api.get(f"settings/custom_views/{all_leads['id']}",
                         params={"module": "Leads"}))["custom_views"]
    assert one["id"] == all_leads["id"] and one["name"] == "All Leads"


def test_custom_views_of_contacts_have_no_converted_view(api: Api) -> None:
    views = _ok(api.get("settings/custom_views", params={"module": "Contacts"}))["custom_views"]
    names = {v["system_name"]: v["name"] for v in views}
    assert names["ALLVIEWS"] == "All Contacts"
    assert "CONVERTEDVIEWS" not in names
    assert sum(v["default"] for v in views) == 1


def test_custom_view_of_another_module_or_unknown_id(api: Api) -> None:
    leads_view = _ok(api.get("settings/custom_views",
                             params={"module": "Leads"}))["custom_views"][0]["id"]
    _error(api.get(f"settings/custom_views/{leads_view}", params={"module": "Contacts"}), 400,
           "INVALID_DATA")
    _error(api.get("settings/custom_views/1234567890123456789", params={"module": "Leads"}),
           400, "INVALID_DATA")


# ----------------------------------------------------------------------------- users, org
def test_current_user_and_all_users(corral: Corral, api: Api) -> None:
    body = _ok(api.get("users", params={"type": "CurrentUser"}))
    (me,) = body["users"]
    assert me["email"] == "admin@corral.local"
    assert me["profile"]["name"] == "Administrator"
    assert is_numeric_id(me["id"]) and is_numeric_id(me["profile"]["id"])
    assert {"id", "first_name", "last_name", "full_name", "email", "zuid", "role", "profile",
            "status", "time_zone", "locale", "country_locale", "date_format", "time_format",
            "confirm"} <= set(me)
    assert body["info"] == {"per_page": 200, "count": 1, "page": 1, "more_records": False}
    corral.auth.create_user("sam@zylker.com", "Smith", first_name="Sam")
    users = _ok(api.get("users", params={"type": "AllUsers"}))["users"]
    assert [u["email"] for u in users] == ["admin@corral.local", "sam@zylker.com"]
    assert users[1]["full_name"] == "Sam Smith"
    admins = _ok(api.get("users", params={"type": "AdminUsers"}))["users"]
    assert [u["email"] for u in admins] == ["admin@corral.local"]
    (again,) = _ok(api.get(f"users/{users[1]['id']}"))["users"]
    assert again == users[1]
    assert api.get("users", params={"type": "DeletedUsers"}).status_code == 204
    _error(api.get("users", params={"type": "Everyone"}), 400, "INVALID_DATA")
    _error(api.get("users/1234567890123456789"), 400, "INVALID_DATA")


def test_org(api: Api) -> None:
    (org,) = _ok(api.get("org"))["org"]
    assert is_numeric_id(org["id"])
    assert org["primary_email"] == "admin@corral.local"
    assert {"company_name", "time_zone", "currency", "iso_code", "created_time"} <= set(org)


# ----------------------------------------------------------------------------- creating fields
def test_create_unique_text_field_is_listed_and_enforced(api: Api) -> None:
    fid = add_field(api, {"field_label": "Customer Code", "data_type": "text", "length": 20,
                          "unique": {"casesensitive": False}})
    f = fields_of(api)["Customer_Code"]
    assert f["id"] == fid
    assert (f["data_type"], f["length"], f["custom_field"]) == ("text", 20, True)
    assert f["unique"] == {"casesensitive": "false"}
    assert fields_of(api, version="v8")["Customer_Code"]["unique"] == {"case_sensitive": False}
    (first,) = api.insert("Leads", {"Last_Name": "A", "Customer_Code": "ZX-1"})
    r = api.post("Leads", json={"data": [{"Last_Name": "B", "Customer_Code": "zx-1"}]})
    assert r.status_code == 400
    (dup,) = r.json()["data"]
    assert dup["code"] == "DUPLICATE_DATA"
    assert dup["details"]["api_name"] == "Customer_Code"
    assert dup["details"]["duplicate_record"]["id"] == first
    r = api.post("Leads", json={"data": [{"Last_Name": "C", "Customer_Code": "x" * 21}]})
    assert r.json()["data"][0]["details"]["maximum_length"] == 20
    assert api.get("Leads/actions/count").json() == {"count": 1}


def test_create_field_with_explicit_api_name(api: Api) -> None:
    add_field(api, {"field_label": "Region!", "api_name": "Region_Code", "data_type": "text"})
    assert fields_of(api)["Region_Code"]["field_label"] == "Region!"


def test_create_field_twice_is_duplicate(api: Api) -> None:
    add_field(api, {"field_label": "Customer Code", "data_type": "text"})
    _field_error(create_field(api, {"field_label": "Customer Code", "data_type": "text"}), 400,
                 "DUPLICATE_DATA")
    _field_error(create_field(api, {"field_label": "Last Name", "data_type": "text"}), 400,
                 "DUPLICATE_DATA")


def test_create_picklist_field(api: Api) -> None:
    add_field(api, {"field_label": "Tier", "data_type": "picklist", "pick_list_values": [
        {"display_value": "Gold", "actual_value": "Gold"},
        {"display_value": "Silver", "actual_value": "Silver"}]})
    f = fields_of(api)["Tier"]
    assert [(p["display_value"], p["actual_value"], p["sequence_number"])
            for p in f["pick_list_values"]] == [("Gold", "Gold", 1), ("Silver", "Silver", 2)]
    (rid,) = api.insert("Leads", {"Last_Name": "A", "Tier": "Silver"})
    assert api.get(f"Leads/{rid}").json()["data"][0]["Tier"] == "Silver"
    body = _field_error(create_field(api, {"field_label": "Level", "data_type": "picklist"}),
                        400, "INVALID_DATA")
    assert body["details"]["api_name"] == "pick_list_values"


def test_create_lookup_field(api: Api) -> None:
    add_field(api, {"field_label": "Referrer", "data_type": "lookup",
                    "lookup": {"module": {"api_name": "Contacts"}}})
    f = fields_of(api)["Referrer"]
    assert (f["data_type"], f["json_type"]) == ("lookup", "jsonobject")
    # v2 names the target module as a string (the v2 SDK reads it so), v8 as a minified module.
    assert f["lookup"]["module"] == "Contacts"
    assert fields_of(api, version="v8")["Referrer"]["lookup"]["module"]["api_name"] == "Contacts"
    (cid,) = api.insert("Contacts", {"Last_Name": "Boyle", "First_Name": "Patricia"})
    (rid,) = api.insert("Leads", {"Last_Name": "A", "Referrer": {"id": cid}})
    assert api.get(f"Leads/{rid}").json()["data"][0]["Referrer"] == {
        "name": "Patricia Boyle", "id": cid}
    body = _field_error(create_field(api, {"field_label": "Bad", "data_type": "lookup",
                                           "lookup": {"module": {"api_name": "Nope"}}}), 400,
                        "INVALID_DATA")
    assert body["details"]["api_name"] == "lookup"
    _field_error(create_field(api, {"field_label": "Bad", "data_type": "lookup"}), 400,
                 "INVALID_DATA")


@pytest.mark.parametrize("data_type", ["varchar", "subform", "formula", "", 5])
def test_create_field_with_invalid_data_type(api: Api, data_type: Any) -> None:
    r = create_field(api, {"field_label": "X", "data_type": data_type})
    body = _field_error(r, 400, "INVALID_DATA" if data_type else "MANDATORY_NOT_FOUND")
    if data_type:
        assert body["details"]["api_name"] == "data_type"
        assert "text" in body["details"]["supported_values"]
    assert "X" not in fields_of(api)


@pytest.mark.parametrize("spec", [
    {"data_type": "text"},
    {"field_label": "X"},
    {"field_label": "   ", "data_type": "text"},
    {"field_label": "X", "data_type": "text", "length": 0},
    {"field_label": "X", "data_type": "text", "length": "20"},
    {"field_label": "X", "data_type": "text", "api_name": "1bad"},
    {"field_label": "X", "data_type": "text", "unique": "yes"},
])
def test_create_field_with_bad_spec_is_a_4xx_error(api: Api, spec: dict[str, Any]) -> None:
    r = create_field(api, spec)
    (entry,) = r.json()["fields"]
    body = _field_error(r, 400, entry["code"])
    assert body["code"] in {"INVALID_DATA", "MANDATORY_NOT_FOUND"}
    assert set(fields_of(api)) == set(fields_of(api, "Leads"))
    assert "X" not in fields_of(api)


@pytest.mark.parametrize("data_type", ["textarea", "boolean", "picklist", "date", "double"])
def test_unique_on_an_ineligible_type_is_not_allowed(api: Api, data_type: str) -> None:
    spec: dict[str, Any] = {"field_label": "Notes X", "data_type": data_type, "unique": True}
    if data_type == "picklist":
        spec["pick_list_values"] = [{"display_value": "A"}]
    _field_error(create_field(api, spec), 400, "NOT_ALLOWED")
    assert "Notes_X" not in fields_of(api)


@pytest.mark.parametrize("api_name", ["Description", "Email_Opt_Out", "Full_Name",
                                      "Created_Time", "Owner"])
def test_patch_unique_on_an_ineligible_field_is_not_allowed(api: Api, api_name: str) -> None:
    fid = fields_of(api)[api_name]["id"]
    r = api.patch(f"settings/fields/{fid}", params={"module": "Leads"},
                  json={"fields": [{"unique": True}]})
    _field_error(r, 400, "NOT_ALLOWED")
    assert fields_of(api)[api_name]["unique"] == {}


def test_patch_unique_refused_while_duplicates_exist(api: Api) -> None:
    fid = add_field(api, {"field_label": "Customer Code", "data_type": "text"})
    a, _b, c = api.insert("Leads", {"Last_Name": "A", "Customer_Code": "K1"},
                          {"Last_Name": "B", "Customer_Code": "K2"},
                          {"Last_Name": "C", "Customer_Code": "k1 "})
    r = api.patch(f"settings/fields/{fid}", params={"module": "Leads"},
                  json={"fields": [{"unique": True}]})
    body = _field_error(r, 400, "DUPLICATE_DATA")
    named = {d["id"] for d in body["details"]["duplicate_records"]}
    assert named == {a, c}
    # Nothing changed: still not unique, duplicates still accepted.
    assert fields_of(api)["Customer_Code"]["unique"] == {}
    api.insert("Leads", {"Last_Name": "D", "Customer_Code": "K2"})
    # Once the clash is gone, the flag can be set and is enforced at once.
    assert api.delete("Leads", params={"ids": f"{c},{_b}"}).status_code == 200
    (d_id,) = [x for x in _ids_with_code(api, "K2")]
    body = _ok(api.patch(f"settings/fields/{fid}", params={"module": "Leads"},
                         json={"fields": [{"unique": True}]}))
    assert body["fields"][0]["code"] == "SUCCESS"
    assert fields_of(api)["Customer_Code"]["unique"] == {"casesensitive": "false"}
    r = api.post("Leads", json={"data": [{"Last_Name": "E", "Customer_Code": "k2"}]})
    assert r.json()["data"][0]["code"] == "DUPLICATE_DATA"
    assert r.json()["data"][0]["details"]["duplicate_record"]["id"] == d_id
    # ... and unset again.
    _ok(api.put(f"settings/fields/{fid}", params={"module": "Leads"},
                json={"fields": [{"unique": False}]}))
    assert fields_of(api)["Customer_Code"]["unique"] == {}
    api.insert("Leads", {"Last_Name": "F", "Customer_Code": "K2"})


def _ids_with_code(api: Api, code: str) -> list[str]:
    r = api.get("Leads/search", params={"criteria": f"(Customer_Code:equals:{code})"})
    return [d["id"] for d in r.json()["data"]] if r.status_code == 200 else []


def test_deleted_records_do_not_block_the_unique_flag(api: Api) -> None:
    fid = add_field(api, {"field_label": "Customer Code", "data_type": "text"})
    a, _ = api.insert("Leads", {"Last_Name": "A", "Customer_Code": "K1"},
                      {"Last_Name": "B", "Customer_Code": "K1"})
    assert api.delete(f"Leads/{a}").status_code == 200
    _ok(api.patch(f"settings/fields/{fid}", params={"module": "Leads"},
                  json={"fields": [{"unique": True}]}))


def test_patch_unique_on_unknown_field_or_module(api: Api) -> None:
    _error(api.patch("settings/fields/1234567890123456789", params={"module": "Leads"},
                     json={"fields": [{"unique": True}]}), 400, "INVALID_DATA")
    fid = fields_of(api)["Company"]["id"]
    _error(api.patch(f"settings/fields/{fid}", params={"module": "Nope"},
                     json={"fields": [{"unique": True}]}), 400, "INVALID_MODULE")
    _field_error(api.patch(f"settings/fields/{fid}", params={"module": "Leads"},
                           json={"fields": []}), 400, "MANDATORY_NOT_FOUND")


# ----------------------------------------------------------------------------- custom modules
def test_create_custom_module_and_use_it(api: Api) -> None:
    body = _ok(api.post("settings/modules", json={"modules": [
        {"singular_label": "Vehicle", "plural_label": "Vehicles", "api_name": "Vehicles"}]}), 201)
    (entry,) = body["modules"]
    assert (entry["code"], entry["status"]) == ("SUCCESS", "success")
    assert is_numeric_id(entry["details"]["id"])
    listed = {m["api_name"]: m for m in _ok(api.get("settings/modules"))["modules"]}
    assert listed["Vehicles"]["generated_type"] == "custom"
    assert listed["Vehicles"]["id"] == entry["details"]["id"]
    assert listed["Vehicles"]["api_supported"] is True
    fields = fields_of(api, "Vehicles")
    assert fields["Name"]["system_mandatory"] is True
    assert {"Owner", "Created_Time", "Modified_Time", "Created_By", "Modified_By"} <= set(fields)
    views = _ok(api.get("settings/custom_views", params={"module": "Vehicles"}))["custom_views"]
    assert {v["system_name"]: v["name"] for v in views}["ALLVIEWS"] == "All Vehicles"

    (vid,) = api.insert("Vehicles", {"Name": "Car 1", "Email": "car@zylker.com"})
    r = _ok(api.post("Vehicles/upsert", json={"data": [
        {"Name": "Car 1", "Email": "car1@zylker.com"}, {"Name": "Car 2"}]}))
    upd, ins = r["data"]
    assert (upd["action"], upd["duplicate_field"], upd["details"]["id"]) == (
        "update", "Name", vid)
    assert (ins["action"], ins["duplicate_field"]) == ("insert", None)
    got = _ok(api.get(f"Vehicles/{vid}"))["data"][0]
    assert (got["Name"], got["Email"]) == ("Car 1", "car1@zylker.com")
    assert api.get("Vehicles/actions/count").json() == {"count": 2}
    r = api.post("Vehicles", json={"data": [{"Email": "x@zylker.com"}]})
    assert r.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    # The new module takes custom fields like any other.
    add_field(api, {"field_label": "Plate", "data_type": "text", "unique": True}, "Vehicles")
    api.insert("Vehicles", {"Name": "Car 3", "Plate": "AB-123"})
    r = api.post("Vehicles", json={"data": [{"Name": "Car 4", "Plate": "ab-123"}]})
    assert r.json()["data"][0]["code"] == "DUPLICATE_DATA"


def test_custom_module_api_name_from_plural_label(api: Api) -> None:
    _ok(api.post("settings/modules", json={"modules": [
        {"singular_label": "Fleet Car", "plural_label": "Fleet Cars"}]}), 201)
    (m,) = _ok(api.get("settings/modules/Fleet_Cars"))["modules"]
    assert m["plural_label"] == "Fleet Cars"
    api.insert("Fleet_Cars", {"Name": "One"})


@pytest.mark.parametrize("spec,code", [
    ({"singular_label": "Lead", "plural_label": "Leads", "api_name": "Leads"}, "DUPLICATE_DATA"),
    ({"singular_label": "Lead", "plural_label": "Leads", "api_name": "leads"}, "DUPLICATE_DATA"),
    ({"plural_label": "Vehicles"}, "MANDATORY_NOT_FOUND"),
    ({"singular_label": "Vehicle"}, "MANDATORY_NOT_FOUND"),
    ({"singular_label": "V", "plural_label": "V", "api_name": "9lives"}, "INVALID_DATA"),
    ({"singular_label": "V", "plural_label": "V", "api_name": 5}, "INVALID_DATA"),
    ({"singular_label": 1, "plural_label": 2}, "INVALID_DATA"),
    ({"singular_label": "V", "plural_label": ["x"]}, "INVALID_DATA"),
])
def test_create_module_with_bad_spec(api: Api, spec: dict[str, Any], code: str) -> None:
    before = len(_ok(api.get("settings/modules"))["modules"])
    _error(api.post("settings/modules", json={"modules": [spec]}), 400, code)
    assert len(_ok(api.get("settings/modules"))["modules"]) == before


# ----------------------------------------------------------------------------- every field type
ROUND_TRIPS: dict[str, tuple[Any, Any]] = {
    # data_type: (value sent, value read back); None as read-back means "same as sent"
    "text": ("Hello, world", None),
    "textarea": ("line one\nline two", None),
    "email": ("p.boyle@zylker.com", None),
    "phone": ("+1 (555) 222-3333", None),
    "website": ("https://www.zylker.com/about", None),
    "picklist": ("Gold", None),
    "multiselectpicklist": (["Gold", "Silver"], None),
    "date": ("2024-02-29", None),
    "datetime": ("2024-02-01T18:52:56+05:30", "2024-02-01T13:22:56+00:00"),
    "integer": (123456789, None),
    "bigint": ("415086800000100001", None),  # 18 digits, the documented maximum
    "double": (3.25, None),
    "currency": (1234.5, None),
    "percent": (12.5, None),
    "decimal": (2.75, None),
    "boolean": (True, None),
    "lookup": ("<contact>", "<contact ref>"),
    "ownerlookup": ("<user>", "<user ref>"),
}


def test_round_trip_table_covers_every_creatable_type() -> None:
    assert set(ROUND_TRIPS) == DATA_TYPES - {"subform"}


@pytest.mark.parametrize("data_type", sorted(DATA_TYPES - {"subform"}))
def test_every_field_type_can_be_created_and_round_trips(api: Api, data_type: str) -> None:
    spec: dict[str, Any] = {"field_label": f"My {data_type}", "data_type": data_type}
    if data_type in {"picklist", "multiselectpicklist"}:
        spec["pick_list_values"] = [{"display_value": "Gold"}, {"display_value": "Silver"}]
    if data_type == "lookup":
        spec["lookup"] = {"module": {"api_name": "Contacts"}}
    add_field(api, spec)
    api_name = f"My_{data_type}"
    meta = fields_of(api)[api_name]
    assert (meta["data_type"], meta["json_type"]) == (data_type, JSON_TYPES[data_type])
    assert meta["custom_field"] is True

    sent, expected = ROUND_TRIPS[data_type]
    if data_type == "lookup":
        (cid,) = api.insert("Contacts", {"Last_Name": "Boyle"})
        sent, expected = {"id": cid}, {"name": "Boyle", "id": cid}
    elif data_type == "ownerlookup":
        (me,) = api.get("users", params={"type": "CurrentUser"}).json()["users"]
        sent = {"id": me["id"]}
        expected = {"name": me["full_name"], "id": me["id"], "email": me["email"]}
    elif expected is None:
        expected = sent
    (rid,) = api.insert("Leads", {"Last_Name": "Typed", api_name: sent})
    got = _ok(api.get(f"Leads/{rid}"))["data"][0][api_name]
    assert got == expected
    assert type(got) is type(expected)
    # v8 reads the same value.
    r = api.client.get(f"/crm/v8/Leads/{rid}", headers=api.headers())
    assert _ok(r)["data"][0][api_name] == expected
    # A value of the wrong JSON type is refused with the field named.
    wrong = {"boolean": "yes", "integer": "12", "double": "x", "currency": "x", "percent": "x",
             "decimal": "x", "bigint": "12a", "date": 20240229, "datetime": 5,
             "multiselectpicklist": "Gold", "lookup": "Boyle",
             "ownerlookup": "someone"}.get(data_type, 12345)
    r = api.post("Leads", json={"data": [{"Last_Name": "Bad", api_name: wrong}]})
    (entry,) = r.json()["data"]
    assert entry["code"] == "INVALID_DATA", entry
    assert entry["details"]["api_name"] == api_name
    assert entry["details"]["json_path"] == f"$.data[0].{api_name}"


# ----------------------------------------------------------------------------- several processes
def test_metadata_changes_reach_another_server_on_the_same_database(
        corral: Corral, api: Api, database_url: str) -> None:
    """Two server processes share one database; each caches metadata by version."""
    from starlette.testclient import TestClient

    from corral.app import create_app
    from corral.config import Settings

    other = Corral.open(Settings(database_url=database_url))
    try:
        with TestClient(create_app(other), raise_server_exceptions=False) as client:
            api2 = Api(client, api.token)
            assert "Customer_Code" not in fields_of(api2)  # warm the other cache first
            add_field(api, {"field_label": "Customer Code", "data_type": "text",
                            "unique": True})
            assert fields_of(api2)["Customer_Code"]["unique"] == {"casesensitive": "false"}
            api2.insert("Leads", {"Last_Name": "A", "Customer_Code": "C1"})
            r = api.post("Leads", json={"data": [{"Last_Name": "B", "Customer_Code": "c1"}]})
            assert r.json()["data"][0]["code"] == "DUPLICATE_DATA"
            _ok(api.post("settings/modules", json={"modules": [
                {"singular_label": "Vehicle", "plural_label": "Vehicles"}]}), 201)
            api2.insert("Vehicles", {"Name": "Car"})
    finally:
        other.close()


def test_email_unique_flag_can_be_dropped_and_restored(api: Api) -> None:
    fid = fields_of(api)["Email"]["id"]
    _ok(api.patch(f"settings/fields/{fid}", params={"module": "Leads"},
                  json={"fields": [{"unique": False}]}))
    assert fields_of(api)["Email"]["unique"] == {}
    a, b = api.insert("Leads", {"Last_Name": "A", "Email": "p@zylker.com"},
                      {"Last_Name": "B", "Email": "P@zylker.com"})
    # Email stays the system duplicate-check field of upsert (facts §3).
    r = _ok(api.post("Leads/upsert", json={"data": [{"Last_Name": "C",
                                                     "Email": "p@zylker.com"}]}))
    assert (r["data"][0]["action"], r["data"][0]["duplicate_field"]) == ("update", "Email")
    assert r["data"][0]["details"]["id"] in {a, b}
    r = api.patch(f"settings/fields/{fid}", params={"module": "Leads"},
                  json={"fields": [{"unique": True}]})
    body = _field_error(r, 400, "DUPLICATE_DATA")
    assert {d["id"] for d in body["details"]["duplicate_records"]} == {a, b}
    assert fields_of(api)["Email"]["unique"] == {}
    assert api.delete(f"Leads/{b}").status_code == 200
    _ok(api.patch(f"settings/fields/{fid}", params={"module": "Leads"},
                  json={"fields": [{"unique": True}]}))
    r = api.post("Leads", json={"data": [{"Last_Name": "D", "Email": "P@ZYLKER.COM"}]})
    assert r.json()["data"][0]["code"] == "DUPLICATE_DATA"
    assert r.json()["data"][0]["details"]["duplicate_record"]["id"] == a

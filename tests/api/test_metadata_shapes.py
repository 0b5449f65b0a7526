"""Metadata and field-settings answers against Zoho's documented samples (issue 17, items 3, 4).

Golden files: Zoho's v7 docs samples (field-meta, modules-api, create/update-custom-field,
layouts-meta) and, where Zoho publishes no sample, bodies assembled from the v8 OpenAPI
schemas; see tests/golden/README.md. Compared by shape with tests/api/test_contract.py's
comparator.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from corral.services import Corral
from tests.api.test_contract import EXACT_KEYS, assert_same_shape, golden
from tests.conftest import Api, make_token
from tests.contract.oas import oas_dir

OAS = oas_dir()
# Keys Zoho fills only when a feature is configured (tooltips, encryption, HIPAA, privacy,
# history tracking, customisation); null in Corral, where none of these exist.
FEATURE_KEYS = frozenset({"tooltip", "crypt", "hipaa_compliance", "private", "history_tracking",
                          "customizable_properties", "created_time", "modified_time",
                          "associated_module", "association_details", "external"})
# Keys Corral sends that the v7 field sample lacks but v8's fields.json documents.
FIELD_EXTRA = frozenset({"subform", "sequence_number", "default_value", "quick_sequence_number",
                         "multiuserlookup", "private", "textarea", "blueprint_supported",
                         "rollup_summary", "lookup"})
ISSUE_FIELDS = ("Created_Time", "Modified_Time", "Email_Opt_Out", "Last_Activity_Time",
                "Converted_Date_Time", "Converted__s")


def _v8(api: Api) -> Api:
    api.version = "v8"
    return api


def _fields(api: Api, module: str = "Leads") -> dict[str, dict[str, Any]]:
    r = api.get("settings/fields", params={"module": module})
    assert r.status_code == 200, r.text
    return {f["api_name"]: f for f in r.json()["fields"]}


# ----------------------------------------------------------------------------- item 3
def test_field_created_and_updated_match_zoho_samples(api: Api) -> None:
    _v8(api)
    r = api.post("settings/fields", params={"module": "Leads"},
                 json={"fields": [{"field_label": "Region", "data_type": "text"}]})
    assert r.status_code == 201, r.text
    assert_same_shape(r.json(), golden("field_created"))
    fid = r.json()["fields"][0]["details"]["id"]
    r = api.patch(f"settings/fields/{fid}", params={"module": "Leads"},
                  json={"fields": [{"unique": True}]})
    assert r.status_code == 200, r.text
    assert_same_shape(r.json(), golden("field_updated"))


@pytest.mark.parametrize("spec", [{"data_type": "text"}, {"field_label": "X"}])
def test_missing_field_key_is_wrapped(api: Api, spec: dict[str, Any]) -> None:
    r = _v8(api).post("settings/fields", params={"module": "Leads"}, json={"fields": [spec]})
    assert r.status_code == 400, r.text
    assert_same_shape(r.json(), golden("field_error_mandatory_not_found"),
                      exact=EXACT_KEYS - {"json_path"})
    (entry,) = r.json()["fields"]
    missing = "field_label" if "data_type" in spec else "data_type"
    assert entry["details"] == {"api_name": missing, "json_path": f"$.fields[0].{missing}"}


@pytest.mark.parametrize("body", [{}, {"fields": []}, {"fields": [1]}, {"fields": "x"}])
def test_missing_fields_array_is_wrapped(api: Api, body: Any) -> None:
    for r in (_v8(api).post("settings/fields", params={"module": "Leads"}, json=body),
              api.patch(f"settings/fields/{_fields(api)['Company']['id']}",
                        params={"module": "Leads"}, json=body)):
        assert r.status_code == 400, r.text
        assert_same_shape(r.json(), golden("field_error_mandatory_not_found"),
                          exact=EXACT_KEYS - {"json_path"})
        assert r.json()["fields"][0]["details"] == {"api_name": "fields", "json_path": "$.fields"}


def test_invalid_field_values_are_wrapped(api: Api) -> None:
    _v8(api)
    for spec in ({"field_label": "X", "data_type": "text", "length": "20"},
                 {"field_label": "X", "data_type": "picklist"},
                 {"field_label": "Last Name", "data_type": "text"},
                 {"field_label": "X", "data_type": "boolean", "unique": True}):
        r = api.post("settings/fields", params={"module": "Leads"}, json={"fields": [spec]})
        assert r.status_code == 400, (spec, r.text)
        (entry,) = r.json()["fields"]
        assert entry["code"] in {"INVALID_DATA", "DUPLICATE_DATA", "NOT_ALLOWED"}, entry
        assert set(entry) == {"code", "details", "message", "status"}
    r = api.post("settings/fields", params={"module": "Leads"},
                 json={"fields": [{"field_label": "X", "data_type": "text", "length": "20"}]})
    assert_same_shape(r.json(), golden("field_error_invalid_data"))
    fid = _fields(api)["Description"]["id"]
    r = api.patch(f"settings/fields/{fid}", params={"module": "Leads"},
                  json={"fields": [{"unique": True}]})
    assert (r.status_code, r.json()["fields"][0]["code"]) == (400, "NOT_ALLOWED")


def test_request_level_errors_stay_top_level(corral: Corral, api: Api) -> None:
    """Module parameter, URL id, unparsable body and permissions are not body errors."""
    _v8(api)
    body = {"fields": [{"field_label": "X", "data_type": "text"}]}
    fid = _fields(api)["Company"]["id"]
    viewer = corral.auth.create_user("viewer@zylker.com", "Viewer")
    answers = {
        "REQUIRED_PARAM_MISSING": api.post("settings/fields", json=body),
        "INVALID_MODULE": api.patch(f"settings/fields/{fid}", params={"module": "Nope"},
                                    json=body),
        "INVALID_DATA": api.patch("settings/fields/1234567890123456789",
                                  params={"module": "Leads"}, json=body),
        "UNABLE_TO_PARSE_DATA_TYPE": api.client.post(
            "/crm/v8/settings/fields?module=Leads", content=b"{", headers=api.headers()),
        "NO_PERMISSION": api.post("settings/fields", params={"module": "Leads"}, json=body,
                                  token=make_token(corral, email=viewer.email)),
    }
    for code, r in answers.items():
        assert r.status_code in {400, 403}, (code, r.text)
        assert set(r.json()) == {"code", "details", "message", "status"}, (code, r.text)
        assert r.json()["code"] == code


# ----------------------------------------------------------------------------- item 4: fields
def test_leads_fields_match_zoho_sample(api: Api) -> None:
    ours = _fields(_v8(api))
    for sample in golden("fields_leads_v7")["fields"]:
        mine = ours[sample["api_name"]]
        assert_same_shape(mine, sample, exact=EXACT_KEYS | {"data_type", "json_type", "ui_type",
                                                            "display_type"},
                          # which Lead field converts into what depends on the org's mapping
                          extra=FIELD_EXTRA, loose=FEATURE_KEYS | {"Contacts", "Deals",
                                                                   "Accounts"})


def test_every_field_has_a_length_and_the_issue_fields_zoho_s(api: Api) -> None:
    samples = {f["api_name"]: f for f in golden("fields_leads_v7")["fields"]}
    for version in ("v2", "v8"):
        api.version = version
        for module in ("Leads", "Contacts", "Accounts", "Deals", "Products"):
            for f in _fields(api, module).values():
                assert isinstance(f["length"], int), (module, f["api_name"], f["length"])
        leads = _fields(api)
        for name in ISSUE_FIELDS:
            assert (leads[name]["length"], leads[name]["ui_type"]) == (
                samples[name]["length"], samples[name]["ui_type"]), name


def test_field_profiles_are_the_org_profiles(corral: Corral, api: Api) -> None:
    profiles = {str(p.id): p.name for p in corral.auth.profiles()}
    assert set(profiles.values()) == {"Administrator", "Standard"}
    fields = _fields(_v8(api))
    for f in fields.values():
        assert {p["id"]: p["name"] for p in f["profiles"]} == profiles
    assert {p["permission_type"] for p in fields["Company"]["profiles"]} == {"read_write"}
    assert {p["permission_type"] for p in fields["Converted__s"]["profiles"]} == {"read_only"}
    layout = fields["Company"]["layout_associations"]
    assert [(x["name"], x["id"]) for x in layout] == [
        ("Standard", api.get("settings/layouts", params={"module": "Leads"}).json()
         ["layouts"][0]["id"])]


def test_v2_keeps_its_field_shapes(api: Api) -> None:
    """The v2 SDK reads these (tests/e2e): new keys are added, nothing renamed or retyped."""
    fields = _fields(api)
    assert fields["Email"]["unique"] == {"casesensitive": "false"}
    assert fields["Company"]["textarea"] is None
    assert fields["Description"]["textarea"] == {"type": "large"}
    assert "textarea" not in _fields(_v8(api))["Company"]


# ----------------------------------------------------------------------------- item 4: modules
def test_modules_match_zoho_sample(corral: Corral, api: Api) -> None:
    (sample,) = golden("modules_leads_v7")["modules"]
    for version in ("v2", "v8"):
        api.version = version
        mods = {m["api_name"]: m for m in api.get("settings/modules").json()["modules"]}
        assert_same_shape(mods["Leads"], sample, exact=EXACT_KEYS | {"api_name"},
                          extra=frozenset({"visible", "duplicate_check_field"}),
                          loose=frozenset({"modified_time", "modified_by"}))
        assert {p["name"] for p in mods["Leads"]["profiles"]} == {"Administrator", "Standard"}
        assert mods["Leads"]["profile_count"] == len(corral.auth.profiles())


def test_one_module_lists_its_fields(api: Api) -> None:
    for version in ("v2", "v8"):
        api.version = version
        (leads,) = api.get("settings/modules/Leads").json()["modules"]
        assert isinstance(leads["fields"], list)
        assert [f["api_name"] for f in leads["fields"]] == list(_fields(api))
        assert leads["fields"] == list(_fields(api).values())


# ----------------------------------------------------------------------------- item 4: layouts
def test_layout_profiles_carry_ids(corral: Corral, api: Api) -> None:
    (sample,) = golden("layout_profile_v7")["profiles"]
    (layout,) = _v8(api).get("settings/layouts", params={"module": "Leads"}).json()["layouts"]
    assert {p["id"]: p["name"] for p in layout["profiles"]} == {
        str(p.id): p.name for p in corral.auth.profiles()}
    for profile in layout["profiles"]:
        assert_same_shape(profile, sample)
    mapping = layout["convert_mapping"]
    assert set(mapping) == {"Contacts", "Deals", "Accounts"}
    assert {f["api_name"] for f in mapping["Deals"]["fields"]} >= {"Deal_Name", "Stage"}


# ----------------------------------------------------------------------------- item 4: views
def test_one_custom_view_has_the_v8_keys(api: Api) -> None:
    views = _v8(api).get("settings/custom_views", params={"module": "Leads"}).json()
    assert_same_shape({"info": views["info"]}, golden("custom_views_info"))
    r = api.get(f"settings/custom_views/{views['custom_views'][0]['id']}",
                params={"module": "Leads"})
    assert r.status_code == 200, r.text
    assert_same_shape(r.json(), golden("custom_view_detail"),
                      loose=frozenset({"created_by", "modified_by", "created_time",
                                       "modified_time", "criteria", "last_accessed_time",
                                       "sort_by"}))
    (view,) = r.json()["custom_views"]
    assert view["module"]["api_name"] == "Leads"
    assert view["access_type"] == "public"
    assert view["fields"][0] == {"api_name": "Full_Name", "id": _fields(api)["Full_Name"]["id"],
                                 "_pin": False}


def test_one_custom_view_in_v2_lists_columns_by_name(api: Api) -> None:
    views = api.get("settings/custom_views", params={"module": "Leads"}).json()["custom_views"]
    (view,) = api.get(f"settings/custom_views/{views[0]['id']}",
                      params={"module": "Leads"}).json()["custom_views"]
    assert view["fields"][:1] == ["Full_Name"]
    # The list keeps Zoho's list shape: the single-view keys are not repeated there.
    assert "sort_by" not in views[0]


@pytest.mark.skipif(not OAS.is_dir(), reason=f"Zoho's OpenAPI v8 folder is missing: {OAS}")
def test_custom_view_detail_golden_covers_the_oas_required_keys() -> None:
    spec = json.loads((OAS / "custom_views.json").read_text())
    required = set(spec["components"]["schemas"]["custom_views"]["required"])
    (view,) = golden("custom_view_detail")["custom_views"]
    assert set(view) == required

"""Metadata and field-settings answers against Zoho's documented samples (issue 17, items 3, 4).

Golden files: Zoho's v7 docs samples (field-meta, modules-api, create/update-custom-field,
layouts-meta) and, where Zoho publishes no sample, bodies assembled from the v8 OpenAPI
schemas; see tests/golden/README.md. Compared by shape with tests/api/test_contract.py's
comparator.
"""

from __future__ import annotations

from typing import Any

import pytest

from corral.services import Corral
from tests.api.test_contract import EXACT_KEYS, assert_same_shape, golden
from tests.conftest import Api, make_token


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

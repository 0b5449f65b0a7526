"""The OAS reduction the fuzzer runs on: which Zoho operations Corral serves, and local refs."""

from __future__ import annotations

import json

import pytest

from tests.contract import oas


@pytest.mark.parametrize(("method", "path", "route"), [
    ("GET", "/crm/v8/{module_api_name}/{id}", "/crm/{version}/{module}/{record_id}"),
    ("GET", "/crm/v8/{module_api_name}/search", "/crm/{version}/{module}/search"),
    ("POST", "/crm/v8/Leads/{lead_id}/actions/convert",
     "/crm/{version}/{module}/{record_id}/actions/convert"),
    ("PATCH", "/crm/v8/settings/fields/{field}", "/crm/{version}/settings/fields/{field_id}"),
    ("GET", "/crm/v8/users/{user}", "/crm/{version}/users/{user_id}"),
])
def test_served_operations_find_their_route(method: str, path: str, route: str) -> None:
    assert oas.corral_route(method, path) == route


@pytest.mark.parametrize(("method", "path"), [
    ("PATCH", "/crm/v8/settings/fields"),  # route exists, method does not
    ("DELETE", "/crm/v8/settings/fields/{field}"),
    ("GET", "/crm/v8/Contacts/roles"),  # a literal where Corral expects a record id
    ("GET", "/crm/v8/{module_api_name}/{id}/Notes"),
    ("GET", "/crm/v8/settings/wizards"),
])
def test_unserved_operations_have_no_route(method: str, path: str) -> None:
    assert oas.corral_route(method, path) is None


needs_oas = pytest.mark.skipif(not oas.oas_dir().is_dir(),
                               reason=f"Zoho's OpenAPI v8 folder is missing: {oas.oas_dir()}")


@needs_oas
def test_documents_are_self_contained() -> None:
    ops = oas.served_operations()
    assert len(ops) >= 40
    assert not any(f"{op.method} {op.path}" in oas.UNSERVED for op in ops)
    for file, doc in oas.documents(ops):
        text = json.dumps(doc)
        assert "raw.githubusercontent.com" not in text, file
        for ref in set(part.split('"')[0] for part in text.split('"$ref": "')[1:]):
            kind, name = ref.split("/")[2:4]
            assert name in doc["components"][kind], (file, ref)


@needs_oas
def test_every_unserved_note_names_an_operation() -> None:
    known = {f"{m.upper()} {p}" for f in oas.oas_dir().glob("*.json")
             for p, item in json.loads(f.read_text()).get("paths", {}).items()
             for m in item if m in oas.METHODS}
    assert set(oas.UNSERVED) <= known

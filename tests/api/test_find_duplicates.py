"""`GET /{module}/actions/find_duplicates` (issue 14, item 5): duplicate sets over HTTP."""

from __future__ import annotations

from typing import Any

from corral.services import Corral
from tests.api.test_auth import _restricted_user
from tests.conftest import Api, make_token

URL = "Leads/actions/find_duplicates"


def test_finds_sets_with_scores_and_reasons(api: Api) -> None:
    a, b, c, d, _e = api.insert(
        "Leads",
        {"Last_Name": "Daly", "First_Name": "Ann", "Email": "ann.daly@gmail.com",
         "Company": "Zylker"},
        {"Last_Name": "Daly", "First_Name": "Anne", "Email": "anndaly+x@googlemail.com",
         "Company": "Zylker Inc"},
        {"Last_Name": "Johnson", "Company": "Acme", "Phone": "(415) 555-0100"},
        {"Last_Name": "Jonhson", "Company": "Acme Ltd", "Phone": "+1 415 555 0100"},
        {"Last_Name": "Smith", "Company": "Other"})
    r = api.get(URL, params={"fields": "Email,Phone,Last_Name,Company", "threshold": "0.85"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["records"] for s in body["data"]] == [sorted([a, b]), sorted([c, d])]
    first = body["data"][0]
    assert first["score"] == 1.0
    assert {"field": "Email", "kind": "exact", "score": 1.0} in first["reasons"]
    assert body["info"] == {"per_page": 200, "page": 1, "count": 2, "more_records": False}
    # the default fields (emails, phones, display name, company) find them too
    assert len(api.get(URL).json()["data"]) == 2
    second = api.get(URL, params={"per_page": 1, "page": 2}).json()
    assert [s["records"] for s in second["data"]] == [sorted([c, d])]


def test_no_duplicates_is_204(api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Only"}, {"Last_Name": "Different", "Company": "Z"})
    assert api.get(URL).status_code == 204


def test_find_duplicates_errors_scopes_and_permissions(api: Api, corral: Corral) -> None:
    def error(r: Any, status: int, code: str) -> None:
        assert r.status_code == status, r.text
        assert r.json()["code"] == code

    error(api.get(URL, params={"fields": "Nope"}), 400, "INVALID_DATA")
    error(api.get(URL, params={"fields": "Annual_Revenue"}), 400, "INVALID_DATA")
    error(api.get(URL, params={"threshold": "1.5"}), 400, "INVALID_DATA")
    error(api.get(URL, params={"threshold": "x"}), 400, "INVALID_DATA")
    error(api.get("Nope/actions/find_duplicates"), 400, "INVALID_MODULE")
    error(api.client.get(f"/crm/v2/{URL}"), 401, "AUTHENTICATION_FAILURE")
    error(api.get(URL, token=make_token(corral, ["ZohoCRM.modules.contacts.ALL"])), 401,
          "OAUTH_SCOPE_MISMATCH")
    nobody = _restricted_user(corral, {"admin": False, "modules": {"Contacts": ["view"]},
                                       "read_only_fields": {}})
    error(api.get(URL, token=nobody), 403, "NO_PERMISSION")

"""Long search values (issue 17 item 2): capped with a Zoho error, never a database failure.

SQLite refused LIKE patterns of 50,000 bytes and more (`LIKE or GLOB pattern too complex`, a
500) where PostgreSQL answered 204. Search values are now capped at 255 characters on both
databases, and a value at the cap still finds what it should.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from corral.records.criteria import MAX_SEARCH_VALUE
from corral.records.query import MAX_LIKE_VALUE
from tests.conftest import Api

Params = Callable[[str], dict[str, str]]
CRITERIA: dict[str, Params] = {
    "equals": lambda v: {"criteria": f"(Description:equals:{v})"},
    "starts_with": lambda v: {"criteria": f"(Description:starts_with:{v})"},
    "in": lambda v: {"criteria": f"(Last_Name:in:Daly,{v})"},
    "second of two": lambda v: {"criteria": f"((Last_Name:equals:Daly)or(Company:equals:{v}))"},
}
SPECIAL = ("word", "phone", "email")
PATHS = ("Leads/search", "Leads/actions/count")
# Just over the cap, and the lengths that broke SQLite's LIKE.
TOO_LONG = (MAX_SEARCH_VALUE + 1, 49_999, 50_000)


def _leads(api: Api) -> int:
    return int(api.get("Leads/actions/count").json()["count"])


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("length", TOO_LONG)
@pytest.mark.parametrize("kind", list(CRITERIA))
def test_long_criteria_value_is_invalid_query(api: Api, path: str, length: int,
                                              kind: str) -> None:
    r = api.get(path, params=CRITERIA[kind]("a" * length))
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "INVALID_QUERY"
    assert r.json()["details"]["reason"] == f"value longer than {MAX_SEARCH_VALUE} characters"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("length", TOO_LONG)
@pytest.mark.parametrize("param", SPECIAL)
def test_long_word_phone_email_is_invalid_data(api: Api, path: str, length: int,
                                               param: str) -> None:
    r = api.get(path, params={param: "a" * length})
    assert r.status_code == 400, r.text
    assert r.json() == {"code": "INVALID_DATA", "message": "invalid data", "status": "error",
                        "details": {"param_name": param, "maximum_length": MAX_SEARCH_VALUE}}


def test_values_at_the_cap_are_searched(api: Api) -> None:
    text = "a" * MAX_SEARCH_VALUE
    website = "https://www." + "w" * (MAX_SEARCH_VALUE - 16) + ".com"
    assert len(website) == MAX_SEARCH_VALUE
    (rid,) = api.insert("Leads", {"Last_Name": "Daly", "Description": f"<{text}>",
                                  "Website": website})
    found: list[dict[str, str]] = [
        {"criteria": f"(Description:equals:{text})"},  # search's equals means contains
        {"criteria": f"(Description:starts_with:<{text[:-1]})"},
        {"criteria": f"(Website:equals:{website})"},
        {"word": text},
    ]
    for params in found:
        r = api.get("Leads/search", params=params)
        assert r.status_code == 200 and [x["id"] for x in r.json()["data"]] == [rid], params
        assert api.get("Leads/actions/count", params=params).json() == {"count": 1}, params
    for params in ({"phone": "1" * MAX_SEARCH_VALUE}, {"email": f"{'e' * 243}@example.com"}):
        assert api.get("Leads/search", params=params).status_code == 204, params
        assert api.get("Leads/actions/count", params=params).json() == {"count": 0}, params


def _view(api: Api, value: str) -> Any:
    return api.post("settings/custom_views", params={"module": "Leads"}, json={"custom_views": [
        {"name": f"long {len(value)}", "criteria": {
            "comparator": "starts_with", "field": {"api_name": "Description"},
            "value": value}}]})


def test_custom_view_values_never_break_the_pattern(api: Api) -> None:
    # Views skip search's cap; values stop where SQLite's pattern limit could be reached.
    api.insert("Leads", {"Last_Name": "Daly", "Description": "%" * (MAX_LIKE_VALUE + 10)})
    r = _view(api, "%" * MAX_LIKE_VALUE)  # escapes to twice its length: still fits
    assert r.status_code == 201, r.text
    cvid = r.json()["custom_views"][0]["details"]["id"]
    r = api.get("Leads", params={"cvid": cvid})
    assert r.status_code == 200 and len(r.json()["data"]) == 1, r.text
    assert api.get("Leads/actions/count", params={"cvid": cvid}).json() == {"count": 1}
    r = _view(api, "%" * (MAX_LIKE_VALUE + 1))
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "INVALID_DATA"
    assert r.json()["details"]["reason"] == "value too long"
    assert _leads(api) == 1

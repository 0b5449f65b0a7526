"""COQL against a real `corral serve` (SQLite and PostgreSQL): over plain HTTP, and through the
official v2 SDK's QueryOperations (`zohocrmsdk2-0`, its own venv; coql_sdk2_driver.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import Http, Server, run_corral, run_sdk_driver, sdk_step

pytestmark = pytest.mark.e2e

DRIVERS = [Path(__file__).with_name("coql_sdk2_driver.py"),
           Path(__file__).with_name("sdk2_driver.py")]
SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.coql.READ"


def _token(url: str, scopes: str = SCOPES) -> str:
    made = run_corral("token", "create", "--scopes", scopes, "--database-url", url)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_coql_over_http(e2e_database_url: str, tmp_path: Path) -> None:
    url = e2e_database_url
    with Server(url, tmp_path) as server:
        api = Http(server.base_url, _token(url), version="v8")
        status, body = api.post("Accounts", {"data": [{"Account_Name": "Zylker Inc"}]})
        assert status == 201, body
        account = body["data"][0]["details"]["id"]
        status, body = api.post("Contacts", {"data": [
            {"Last_Name": "Daly", "Account_Name": {"id": account}},
            {"Last_Name": "Boyle"}]})
        assert status == 201, body
        status, body = api.post("coql", {"select_query":
                                         "select Last_Name, Account_Name.Account_Name from "
                                         "Contacts where Account_Name.Account_Name like 'zyl%'"})
        assert status == 200, body
        assert [{k: v for k, v in r.items() if k != "id"} for r in body["data"]] == [
            {"Last_Name": "Daly", "Account_Name.Account_Name": "Zylker Inc"}]
        assert body["info"] == {"count": 1, "more_records": False}
        status, body = api.post("coql", {"select_query": "select Last_Name from Contacts "
                                                         "where Last_Name = 'x' or or"})
        assert (status, body["code"], body["details"]) == (
            400, "SYNTAX_ERROR", {"near": "or", "line": 1, "column": 59})
        status, body = api.post("coql", {"select_query": "select id from Contacts"},
                                token=_token(url, "ZohoCRM.modules.ALL"))
        assert (status, body["code"]) == (401, "OAUTH_SCOPE_MISMATCH")


@pytest.mark.sdk
def test_coql_with_the_official_v2_sdk(e2e_database_url: str, sdk2_python: Path,
                                       tmp_path: Path) -> None:
    url = e2e_database_url
    with Server(url, tmp_path) as server:
        results = run_sdk_driver(sdk2_python, DRIVERS, server.base_url, _token(url), tmp_path)
    assert len(results["ids"]) == 3, results["insert"]
    daly, boyle, _ = results["ids"]
    rows = sdk_step(results, "rows", 200, "ResponseWrapper")
    assert [(str(r["id"]), r["Last_Name"], r["No_of_Employees"]) for r in rows["data"]] == [
        (daly, "Daly", 12), (boyle, "Boyle", 5)]
    assert all(r["__type__"] == "Record" for r in rows["data"])
    assert rows["info"]["count"] == 2 and rows["info"]["more_records"] is False
    grouped = sdk_step(results, "grouped", 200, "ResponseWrapper")
    assert [(r["Company"], r["n"]) for r in grouped["data"]] == [("Acme", 1), ("Zylker", 2)]
    nothing = sdk_step(results, "nothing", 200, "ResponseWrapper")
    assert nothing["data"] == []
    syntax = sdk_step(results, "syntax", 400, "APIException")
    assert syntax["error"]["code"] == "SYNTAX_ERROR"

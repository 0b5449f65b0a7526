"""Related lists, related records and notes with the official v2 SDK against `corral serve`.

sdk2_related_driver.py (with sdk2_driver.py's reply helpers) runs in the SDK's venv; the
assertions are here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import Server, run_corral, run_sdk_driver, sdk_step

pytestmark = [pytest.mark.e2e, pytest.mark.sdk]

HERE = Path(__file__).parent
DRIVERS = ("sdk2_related_driver.py", "sdk2_driver.py")
SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL"


def test_sdk2_related_records_and_notes(e2e_database_url: str, sdk2_python: Path,
                                        tmp_path: Path) -> None:
    made = run_corral("token", "create", "--scopes", SCOPES, "--database-url",
                      e2e_database_url)
    assert made.returncode == 0, made.stderr
    with Server(e2e_database_url, tmp_path) as server:
        results = run_sdk_driver(sdk2_python, [HERE / name for name in DRIVERS],
                                 server.base_url, made.stdout.strip(), tmp_path)

    names = [rl["api_name"] for rl in results["related_lists"]]
    assert {"Notes", "Contacts", "Deals"} <= set(names), names
    c1, c2 = results["ids"]["contacts"]
    (account,) = results["ids"]["account"]
    link = sdk_step(results, "link", 200, "ActionWrapper")["data"]
    assert [(e["__type__"], e["message"], str(e["details"]["id"])) for e in link] == [
        ("SuccessResponse", "relation added", c1), ("SuccessResponse", "relation added", c2)]
    listed = sdk_step(results, "listed", 200, "ResponseWrapper")["data"]
    assert {str(r["id"]) for r in listed} == {c1, c2}
    assert all(str(r["Account_Name"]["id"]) == account for r in listed)
    delink = sdk_step(results, "delink", 200, "ActionWrapper")["data"]
    assert [(e["message"], str(e["details"]["id"])) for e in delink] == [
        ("relation removed", c2)]
    after = sdk_step(results, "after_delink", 200, "ResponseWrapper")["data"]
    assert [str(r["id"]) for r in after] == [c1]

    created = sdk_step(results, "note_create", 201, "ActionWrapper")["data"]
    assert created[0]["message"] == "record added", created
    sdk_step(results, "notes", 200, "ResponseWrapper")
    (listed_note,) = results["note_values"]
    assert (listed_note["title"], listed_note["content"]) == ("Call", "Rang twice")
    assert (listed_note["parent"], listed_note["se_module"]) == (account, "Accounts")
    assert listed_note["owner"] == "User" and listed_note["created"].startswith("20")
    (of_record,) = sdk_step(results, "record_notes", 200, "ResponseWrapper")["data"]
    assert str(of_record["id"]) == str(created[0]["details"]["id"])
    deleted = sdk_step(results, "note_delete", 200, "ActionWrapper")["data"]
    assert deleted[0]["message"] == "record deleted"

"""Mass update with the official v2 SDK (`zohocrmsdk2-0`) against a real `corral serve`.

sdk2_mass_update_driver.py (with sdk2_driver.py, whose reply helpers it reuses) is copied into
tmp_path and run with the SDK venv's python. It calls RecordOperations.mass_update_records with a
MassUpdateBodyWrapper (data + ids, then data + cvid of "All Leads" read through
CustomViewsOperations) and polls get_mass_update_status(job_id) until COMPLETED; the server's
in-process worker runs the job. The assertions are here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import Server, run_corral, run_sdk_driver, sdk_step

pytestmark = [pytest.mark.e2e, pytest.mark.sdk]

HERE = Path(__file__).parent
DRIVERS = ("sdk2_mass_update_driver.py", "sdk2_driver.py")
SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.mass_update.ALL"
DRIVER_TIMEOUT = 180
UNKNOWN_ID = "1234567890123456789"


def _values(results: dict[str, Any], name: str, field: str) -> dict[str, Any]:
    records = sdk_step(results, name, 200, "ResponseWrapper")["data"]
    return {str(r["id"]): r.get(field) for r in records}


def test_sdk2_mass_update_by_ids_and_by_view(e2e_database_url: str, sdk2_python: Path,
                                             tmp_path: Path) -> None:
    url = e2e_database_url
    made = run_corral("token", "create", "--scopes", SCOPES, "--database-url", url)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()

    with Server(url, tmp_path) as server:
        results = run_sdk_driver(sdk2_python, [HERE / name for name in DRIVERS],
                                 server.base_url, token, tmp_path, timeout=DRIVER_TIMEOUT)

    insert = sdk_step(results, "insert", 201, "ActionWrapper")
    assert [e["code"] for e in insert["data"]] == ["SUCCESS"] * 6, insert
    ids = results["ids"]
    assert len(ids) == 6

    # by ids: three SuccessResponses (record updated, with the record's details) and the
    # unknown id as an APIException carrying just {"id": ...}
    by_ids = sdk_step(results, "by_ids", 207, "MassUpdateActionWrapper")["data"]
    assert len(by_ids) == 4, by_ids
    for entry, rid in zip(by_ids[:3], ids[:3], strict=True):
        assert entry["__type__"] == "MassUpdateSuccessResponse", entry
        assert (entry["status"], entry["code"], entry["message"]) == \
            ("success", "SUCCESS", "record updated"), entry
        assert str(entry["details"]["id"]) == rid, entry
        assert entry["details"]["Modified_By"]["__type__"] == "User", entry
    bad = by_ids[3]
    assert bad["__type__"] == "APIException", bad
    assert (bad["status"], bad["code"], bad["message"]) == \
        ("error", "INVALID_DATA", "the id given seems to be invalid"), bad
    # (the SDK converts details.id to an int itself; the wire has the id as a string)
    assert {k: str(v) for k, v in bad["details"].items()} == {"id": UNKNOWN_ID}, bad
    statuses = _values(results, "after_ids", "Lead_Status")
    assert statuses == {**{rid: "Contacted" for rid in ids[:3]},
                        **{rid: "Not Contacted" for rid in ids[3:]}}

    # by cvid: the SDK read the views and got a job id back
    assert any(v["name"] == "All Leads" for v in results["views"]), results["views"]
    (scheduled,) = sdk_step(results, "by_cvid", 200, "MassUpdateActionWrapper")["data"]
    assert scheduled["__type__"] == "MassUpdateSuccessResponse", scheduled
    assert (scheduled["code"], scheduled["message"]) == \
        ("SUCCESS", "mass update scheduled successfully"), scheduled
    job_id = results["job_id"]
    assert isinstance(job_id, str) and job_id.isdigit(), scheduled

    # the same view at once again: the first job is still active (its worker polls every
    # 0.5 s), so ALREADY_SCHEDULED with HTTP 202 inside `data`; should the worker have finished
    # the 6 records already, a second job is scheduled
    again = results["again"]
    if again["status_code"] == 202:
        assert again["type"] == "MassUpdateActionWrapper", again
        (entry,) = again["data"]
        assert (entry["__type__"], entry["status"], entry["code"], entry["message"]) == (
            "APIException", "error", "ALREADY_SCHEDULED",
            "Already a Mass Action scheduler is running for the given cvid"), entry
    else:
        (entry,) = sdk_step(results, "again", 200, "MassUpdateActionWrapper")["data"]
        assert entry["code"] == "SUCCESS", entry

    # status polls: parsed MassUpdate objects, monotone progress, ending COMPLETED
    polls = results["polls"]
    assert polls, results
    seen = []
    for got in polls:
        assert (got["status_code"], got["type"]) == (200, "MassUpdateResponseWrapper"), got
        (st,) = got["data"]
        assert st["__type__"] == "MassUpdate", st
        assert st["Status"] in ("SCHEDULED", "RUNNING", "COMPLETED"), st
        assert st["Total_Count"] == 6, st
        assert st["Updated_Count"] + st["Not_Updated_Count"] + st["Failed_Count"] == 6, st
        seen.append(st["Updated_Count"])
    assert seen == sorted(seen), seen
    assert polls[-1]["data"][0] == {"__type__": "MassUpdate", "Status": "COMPLETED",
                                    "Total_Count": 6, "Updated_Count": 6,
                                    "Not_Updated_Count": 0, "Failed_Count": 0}, polls[-1]
    assert _values(results, "after_cvid", "Rating") == {rid: "Active" for rid in ids}

    # unknown job id: 404 NOT_FOUND, an error object at the top level
    unknown = sdk_step(results, "unknown_job", 404, "APIException")
    assert (unknown["error"]["code"], unknown["error"]["message"]) == \
        ("NOT_FOUND", "Empty response"), unknown

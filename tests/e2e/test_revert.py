"""Revert under a real `corral serve`: the X-Request-Id a write call answers with is all a
client needs to undo it; the server's own worker runs the revert job; `corral revert` does the
same from the command line (with --dry-run first)."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import Http, Server, run_corral

pytestmark = pytest.mark.e2e


def put_with_id(base: str, token: str, path: str, body: Any) -> tuple[int, str]:
    req = urllib.request.Request(f"{base}/crm/v8/{path}", data=json.dumps(body).encode(),
                                 method="PUT", headers={"Authorization": f"Zoho-oauthtoken {token}",
                                                        "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, str(resp.headers["X-Request-Id"])


def test_revert_by_request_id_over_http_and_from_the_cli(e2e_database_url: str,
                                                         tmp_path: Path) -> None:
    server = Server(e2e_database_url, tmp_path).start()
    try:
        token = server.admin_token()
        assert token, server.output()
        api = Http(server.base_url, token, "v8")
        status, body = api.post("Leads", {"data": [{"Last_Name": "Daly", "Company": "A"},
                                                   {"Last_Name": "Boyle", "Company": "B"}]})
        assert status == 201, body
        daly, boyle = (d["details"]["id"] for d in body["data"])
        status, first = put_with_id(server.base_url, token, "Leads", {"data": [
            {"id": daly, "Company": "Changed"}, {"id": boyle, "Company": "Changed"}]})
        assert status == 200
        status, body = api.post("actions/revert", {"request_id": first})
        assert status == 202, body
        job = body["data"][0]["details"]["job_id"]
        deadline = time.monotonic() + 60
        while True:  # the server's worker runs the job
            status, body = api.get("actions/revert", params={"job_id": job})
            if body["data"][0]["Status"] == "COMPLETED" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert body == {"data": [{"Status": "COMPLETED", "Total_Count": 2, "Reverted_Count": 2,
                                  "Skipped_Count": 0, "Failed_Count": 0}], "skipped": []}
        _s, got = api.get("Leads", params={"ids": f"{daly},{boyle}"})
        assert {r["Company"] for r in got["data"]} == {"A", "B"}
        status, second = put_with_id(server.base_url, token, f"Leads/{daly}",
                                     {"data": [{"Company": "Again"}]})
        assert status == 200
    finally:
        server.stop()
    preview = run_corral("revert", second, "--dry-run", "--database-url", e2e_database_url)
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.split() == [daly, "update"]
    done = run_corral("revert", second, "--database-url", e2e_database_url)
    assert done.returncode == 0, done.stderr
    assert "Reverted_Count=1" in done.stdout and "Skipped_Count=0" in done.stdout
    # the revert itself is a job: reverting it (by its job id) puts "Again" back
    revert_job = done.stdout.split()[2].rstrip(":")
    again = run_corral("revert", revert_job, "--database-url", e2e_database_url)
    assert again.returncode == 0 and "Reverted_Count=1" in again.stdout, again.stderr
    missing = run_corral("revert", "no-such-request", "--database-url", e2e_database_url)
    assert missing.returncode == 1 and "nothing to revert" in missing.stderr

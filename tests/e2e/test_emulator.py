"""`corral serve --emulator` as a real process: the control API is served only in emulator
mode, and the official Python v8 SDK sees a 429 from the credit limit and a 500 from an
injected fault (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.helpers import Server, run_driver

pytestmark = [pytest.mark.e2e]

DRIVER = Path(__file__).with_name("emulator_sdk8_driver.py")


def _control(server: Server, token: str, method: str, path: str,
             body: object = None) -> tuple[int, object]:
    """A control API call (its paths are not under /crm/{version}, so not through Http)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.base_url + path, data=data, method=method,
                                 headers={"Authorization": f"Zoho-oauthtoken {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
        exc.close()
    return status, (json.loads(raw) if raw else None)


def test_control_api_only_in_emulator_mode(e2e_database_url: str, tmp_path: Path) -> None:
    with Server(e2e_database_url, tmp_path, name="plain") as server:
        token = server.admin_token()
        assert token
        status, body = _control(server, token, "GET", "/__corral/clock")
        assert status == 404
        assert isinstance(body, dict) and body["code"] == "INVALID_URL_PATTERN"
    with Server(e2e_database_url, tmp_path, name="emulator",
                extra_args=("--emulator",)) as server:
        status, body = _control(server, token, "GET", "/__corral/clock")
        assert status == 200
        assert isinstance(body, dict) and body["frozen"] is False


@pytest.mark.sdk
def test_sdk8_sees_429_from_credits_and_500_from_a_fault(e2e_database_url: str,
                                                        sdk8_python: Path,
                                                        tmp_path: Path) -> None:
    with Server(e2e_database_url, tmp_path, extra_args=("--emulator",)) as server:
        token = server.admin_token()
        assert token
        results = run_driver([str(sdk8_python)], [DRIVER], [server.base_url, token], tmp_path,
                             timeout=180)
        status, journal = _control(server, token, "GET", "/__corral/journal")
    assert results["first_insert"]["status_code"] == 201
    assert results["limits_status"] == 200
    assert results["over_credits"] == {
        "status_code": 429, "type": "APIException", "code": "TOO_MANY_REQUESTS",
        "message": "too many requests. please try again after some time"}
    assert results["fault_status"] == 201
    assert results["faulted_insert"] == {
        "status_code": 500, "type": "APIException", "code": "INTERNAL_ERROR",
        "message": "Internal Server Error"}
    assert results["after_fault"]["status_code"] == 200
    assert status == 200 and isinstance(journal, dict)
    statuses = [c["status"] for c in journal["calls"] if c["path"].startswith("/crm/v8/Leads")]
    assert 429 in statuses and 500 in statuses

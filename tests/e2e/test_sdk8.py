"""The official Python v8 SDK (`zohocrmsdk8-0`, import name zohocrmsdk) against a real
`corral serve`, on SQLite and PostgreSQL.

The SDK lives in its own venv (.cache/sdk8-venv, see conftest.sdk8_python); sdk8_driver.py is
copied into tmp_path and run with that venv's python. The SDK gets an OAuth client and a grant
code, exchanges it at Corral's /oauth/v2/token itself, then (find_user) reads
`users?type=CurrentUser` and `org` before running the steps. The driver prints one JSON object
describing what the SDK made of each reply; the checks are in sdk8_scenarios.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e import sdk8_scenarios as sc
from tests.e2e.helpers import Server, grant_auth, refresh_auth, run_driver

pytestmark = [pytest.mark.e2e, pytest.mark.sdk]

DRIVER = Path(__file__).with_name("sdk8_driver.py")
DRIVER_TIMEOUT = 180


def test_sdk8_records_fields_users_mass_update(e2e_database_url: str, sdk8_python: Path,
                                   tmp_path: Path) -> None:
    url = e2e_database_url
    sc.prepare_database(url)
    auth = grant_auth(url, sc.SCOPES)
    steps = ["records", "fields", "users", "mass_update"]
    with Server(url, tmp_path) as server:
        results = run_driver([str(sdk8_python)], [DRIVER],
                             [server.base_url, json.dumps(auth), *steps], tmp_path,
                             timeout=DRIVER_TIMEOUT)
    assert results["steps_done"] == steps
    sc.check_records(results, sc.PYTHON)
    sc.check_fields(results, sc.PYTHON)
    sc.check_users(results, sc.PYTHON)
    sc.check_mass_update(results, sc.PYTHON)


def test_sdk8_refresh_token_flow(e2e_database_url: str, sdk8_python: Path,
                                 tmp_path: Path) -> None:
    """The SDK holds only a refresh token: it gets its access token from /oauth/v2/token."""
    url = e2e_database_url
    auth = grant_auth(url, sc.SCOPES)
    with Server(url, tmp_path) as server:
        results = run_driver([str(sdk8_python)], [DRIVER],
                             [server.base_url, json.dumps(refresh_auth(server.base_url, auth)),
                              "users"], tmp_path, timeout=DRIVER_TIMEOUT)
    assert results["steps_done"] == ["users"]
    sc.check_users(results, sc.PYTHON)


def test_sdk8_related_notes_tags_attachments_users(e2e_database_url: str, sdk8_python: Path,
        tmp_path: Path) -> None:
    """Issue 10 through the SDK: related records (lookup, Price Book products with list_price,
    Campaign members with Member_Status, delink), notes, tags, attachments (the download
    byte-identical to the upload; links), tag definitions (count, rename, merge, delete) and
    users CRUD."""
    url = e2e_database_url
    auth = grant_auth(url, sc.SCOPES)
    steps = ["related", "notes", "tags", "tags_manage", "attachments", "attachment_links",
             "users_crud"]
    with Server(url, tmp_path) as server:
        results = run_driver([str(sdk8_python)], [DRIVER],
                             [server.base_url, json.dumps(auth), *steps], tmp_path,
                             timeout=DRIVER_TIMEOUT)
    assert results["steps_done"] == steps
    sc.check_related(results, sc.PYTHON)
    sc.check_notes(results, sc.PYTHON)
    sc.check_tags(results, sc.PYTHON)
    sc.check_tags_manage(results, sc.PYTHON)
    sc.check_attachments(results, sc.PYTHON)
    sc.check_attachment_links(results, sc.PYTHON)
    sc.check_users_crud(results, sc.PYTHON)


def test_sdk8_page_token_listing(e2e_database_url: str, sdk8_python: Path,
        tmp_path: Path) -> None:
    """2,500 Leads read 200 a page by following next_page_token: none missed or repeated."""
    url = e2e_database_url
    auth = grant_auth(url, sc.SCOPES)
    with Server(url, tmp_path) as server:
        results = run_driver([str(sdk8_python)], [DRIVER],
                             [server.base_url, json.dumps(auth), "page_token"], tmp_path,
                             timeout=DRIVER_TIMEOUT)
    assert results["steps_done"] == ["page_token"]
    sc.check_page_token(results, sc.PYTHON)

"""The official Node.js v8 SDK (`@zohocrm/nodejs-sdk-8.0`) against a real `corral serve`, on
SQLite and PostgreSQL.

The SDK is installed with npm into .cache/node-sdk8 (see conftest.node_sdk8_modules);
node_sdk8_driver.mjs is copied into tmp_path next to a link to that node_modules and run with
`node`. Like the Python SDK it exchanges a grant code at Corral's /oauth/v2/token itself (a
multipart/form-data POST), then runs the steps. No node/npm: the test fails under CI=true
(.ci/run installs Debian's nodejs and npm) and is skipped elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e import sdk8_scenarios as sc
from tests.e2e.helpers import Server, grant_auth, node_or_skip, refresh_auth, run_driver

pytestmark = [pytest.mark.e2e, pytest.mark.sdk]

DRIVER = Path(__file__).with_name("node_sdk8_driver.mjs")
DRIVER_TIMEOUT = 180


def test_node_sdk8_records_fields_users_mass_update(e2e_database_url: str, node_sdk8_modules: Path,
                                        tmp_path: Path) -> None:
    url = e2e_database_url
    sc.prepare_database(url)
    auth = grant_auth(url, sc.SCOPES)
    steps = ["records", "fields", "users", "mass_update"]
    with Server(url, tmp_path) as server:
        results = run_driver([node_or_skip()], [DRIVER],
                             [server.base_url, json.dumps(auth), *steps], tmp_path,
                             timeout=DRIVER_TIMEOUT, node_modules=node_sdk8_modules)
    assert results["steps_done"] == steps
    sc.check_records(results, sc.NODE)
    sc.check_fields(results, sc.NODE)
    sc.check_users(results, sc.NODE)
    sc.check_mass_update(results, sc.NODE)


def test_node_sdk8_refresh_token_flow(e2e_database_url: str, node_sdk8_modules: Path,
                                      tmp_path: Path) -> None:
    """The SDK holds only a refresh token: it gets its access token from /oauth/v2/token."""
    url = e2e_database_url
    auth = grant_auth(url, sc.SCOPES)
    with Server(url, tmp_path) as server:
        results = run_driver([node_or_skip()], [DRIVER],
                             [server.base_url, json.dumps(refresh_auth(server.base_url, auth)),
                              "users"], tmp_path, timeout=DRIVER_TIMEOUT,
                             node_modules=node_sdk8_modules)
    assert results["steps_done"] == ["users"]
    sc.check_users(results, sc.NODE)


def test_node_sdk8_related_notes_tags_attachments_users(e2e_database_url: str,
        node_sdk8_modules: Path,
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
        results = run_driver([node_or_skip()], [DRIVER],
                             [server.base_url, json.dumps(auth), *steps], tmp_path,
                             timeout=DRIVER_TIMEOUT, node_modules=node_sdk8_modules)
    assert results["steps_done"] == steps
    sc.check_related(results, sc.NODE)
    sc.check_notes(results, sc.NODE)
    sc.check_tags(results, sc.NODE)
    sc.check_tags_manage(results, sc.NODE)
    sc.check_attachments(results, sc.NODE)
    sc.check_attachment_links(results, sc.NODE)
    sc.check_users_crud(results, sc.NODE)


def test_node_sdk8_page_token_listing(e2e_database_url: str, node_sdk8_modules: Path,
        tmp_path: Path) -> None:
    """2,500 Leads read 200 a page by following next_page_token: none missed or repeated."""
    url = e2e_database_url
    auth = grant_auth(url, sc.SCOPES)
    with Server(url, tmp_path) as server:
        results = run_driver([node_or_skip()], [DRIVER],
                             [server.base_url, json.dumps(auth), "page_token"], tmp_path,
                             timeout=DRIVER_TIMEOUT, node_modules=node_sdk8_modules)
    assert results["steps_done"] == ["page_token"]
    sc.check_page_token(results, sc.NODE)

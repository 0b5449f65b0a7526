"""The console's emulator panel over the test client, on SQLite and PostgreSQL: journal with
filters and bodies, deliveries out, faults, clock, snapshots, credits; admin only, CSRF on
every form, values escaped; absent without the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from corral.app import create_app
from corral.config import Settings
from corral.emulator.clock import EmulatorClock
from corral.emulator.service import Emulator
from corral.services import Corral
from tests.conftest import Api, make_token
from tests.console.test_pages import csrf, sign_in

CENTURY = 100 * 365 * 24 * 3600


@pytest.fixture
def corral(database_url: str) -> Iterator[Corral]:
    c = Corral.open(Settings(database_url=database_url, run_worker=False), clock=EmulatorClock())
    c.seed()
    yield c
    c.close()


@pytest.fixture
def emulator(corral: Corral) -> Emulator:
    emu = Emulator(corral)
    emu.ensure_baseline()
    return emu


@pytest.fixture
def client(corral: Corral, emulator: Emulator) -> Iterator[TestClient]:
    with TestClient(create_app(corral, emulator), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def token(corral: Corral) -> str:
    return make_token(corral, expires_in=CENTURY)


def test_journal_shows_calls_with_filters_and_bodies(client: TestClient, token: str,
                                                     api: Api) -> None:
    api.insert("Leads", {"Last_Name": "<img src=x onerror=alert(1)>"})
    api.get("Leads/12345")
    sign_in(client, token)
    panel = client.get("/console/emulator")
    assert panel.status_code == 200 and 'href="/console/emulator"' in panel.text
    page = client.get("/console/emulator/journal").text
    assert "/crm/v2/Leads" in page and "/console" not in page.split('id="journal"')[1]
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
    posts = client.get("/console/emulator/journal", params={"method": "POST"}).text
    assert posts.count('class="call"') == 1 and "SUCCESS" in posts
    created = client.get("/console/emulator/journal", params={"status": "201",
                                                              "path": "/crm/v2/Leads*"}).text
    assert created.count('class="call"') == 1
    one = client.get("/console/emulator/journal", params={"path": "/crm/v2/Leads/*"}).text
    assert one.count('class="call"') == 1 and "/crm/v2/Leads/12345" in one
    bad = client.get("/console/emulator/journal", params={"status": "x"})
    assert bad.status_code == 400 and "INVALID_DATA" in bad.text
    assert token not in page  # tokens only as digests


def test_webhook_deliveries_are_listed_out(corral: Corral, client: TestClient, token: str,
                                           api: Api, emulator: Emulator) -> None:
    from tests.api.test_automation import Receiver

    hook = Receiver()
    try:
        url = hook.url
        admin = corral.auth.principal_for_user(corral.auth.user_by_email(None).id)
        assert admin is not None
        corral.automation.create_rule(corral.registry.require("Leads"), "workflow", {
            "name": "hook", "when": "create", "field": None, "criteria": None,
            "actions": [{"type": "webhook", "url": url, "fields": []}]}, admin, "$")
        api.insert("Leads", {"Last_Name": "<b>Hooked</b>"})
        emulator.run_jobs()
        assert len(hook.bodies) == 1
    finally:
        hook.close()
    sign_in(client, token)
    out = client.get("/console/emulator/journal", params={"direction": "out"}).text
    assert "Deliveries out" in out and url in out and out.count('class="call"') == 1
    assert "&lt;b&gt;Hooked&lt;/b&gt;" in out and "<b>Hooked" not in out
    inbound = client.get("/console/emulator/journal").text
    assert "/hook" not in inbound


def test_faults_add_list_delete(client: TestClient, token: str, api: Api,
                                emulator: Emulator) -> None:
    sign_in(client, token)
    panel = client.get("/console/emulator")
    r = client.post("/console/emulator/faults", follow_redirects=False,
                    data={"csrf_token": csrf(panel.text), "method": "GET",
                          "path": "/crm/v2/Leads*", "status": "503", "times": "2"})
    assert r.status_code == 303, r.text
    page = client.get("/console/emulator").text
    assert "/crm/v2/Leads*" in page.split('id="fault-list"')[1]
    assert api.get("Leads").status_code == 503
    assert client.get("/console/emulator").status_code == 200  # the console is never faulted
    bad = client.post("/console/emulator/faults",
                      data={"csrf_token": csrf(page), "status": "200"})
    assert bad.status_code == 400 and "status must be an HTTP error status" in bad.text
    fault_id = emulator.faults.list()[0].id
    r = client.post(f"/console/emulator/faults/{fault_id}/delete",
                    data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert r.status_code == 303 and emulator.faults.list() == []
    assert client.post("/console/emulator/faults/999/delete",
                       data={"csrf_token": csrf(page)}).status_code == 404


def test_clock_freeze_advance_release(client: TestClient, token: str,
                                      emulator: Emulator) -> None:
    sign_in(client, token)
    page = client.get("/console/emulator").text
    # Within the console session's lifetime: the session expires on the emulator's clock too.
    at = (emulator.clock() + timedelta(minutes=10)).replace(microsecond=0)
    r = client.post("/console/emulator/clock", follow_redirects=False,
                    data={"csrf_token": csrf(page), "action": "freeze",
                          "at": at.isoformat()})
    assert r.status_code == 303
    assert emulator.clock() == at
    page = client.get("/console/emulator").text
    assert at.strftime("%Y-%m-%d %H:%M:%S UTC") in page and ">frozen<" in page
    client.post("/console/emulator/clock",
                data={"csrf_token": csrf(page), "action": "advance", "seconds": "60"})
    assert emulator.clock() == at + timedelta(seconds=60)
    bad = client.post("/console/emulator/clock",
                      data={"csrf_token": csrf(page), "action": "advance", "seconds": "-1"})
    assert bad.status_code == 400 and "not negative" in bad.text
    client.post("/console/emulator/clock", data={"csrf_token": csrf(page), "action": "release"})
    assert not emulator.clock.frozen


def test_snapshots_save_restore_delete(client: TestClient, token: str, api: Api,
                                       emulator: Emulator) -> None:
    sign_in(client, token)
    page = client.get("/console/emulator").text
    r = client.post("/console/emulator/snapshots", follow_redirects=False,
                    data={"csrf_token": csrf(page), "name": "empty"})
    assert r.status_code == 303, r.text
    assert 'data-snapshot="empty"' in client.get("/console/emulator").text
    api.insert("Leads", {"Last_Name": "Later"})
    r = client.post("/console/emulator/snapshots/empty/restore",
                    data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert r.status_code == 303
    assert api.get("Leads").status_code == 204
    assert client.get("/console/emulator").status_code == 200  # still signed in
    bad = client.post("/console/emulator/snapshots",
                      data={"csrf_token": csrf(page), "name": "__hidden"})
    assert bad.status_code == 400 and "invalid snapshot name" in bad.text
    client.post("/console/emulator/snapshots/empty/delete", data={"csrf_token": csrf(page)})
    assert [s.name for s in emulator.list_snapshots()] == []


def test_credits_used_and_remaining(client: TestClient, token: str, api: Api,
                                    emulator: Emulator) -> None:
    emulator.limits.configure({"edition": "standard", "users": 1})
    api.get("Leads")
    sign_in(client, token)
    page = client.get("/console/emulator").text
    used = page.split('id="credits-used">')[1].split("<")[0]
    remaining = page.split('id="credits-remaining">')[1].split("<")[0]
    usage = emulator.limits.usage()
    assert int(used) == usage.used >= 1 and int(remaining) == usage.remaining


def test_every_form_needs_csrf(client: TestClient, token: str, emulator: Emulator) -> None:
    sign_in(client, token)
    for path, data in (("/console/emulator/faults", {"status": "500"}),
                       ("/console/emulator/clock", {"action": "freeze"}),
                       ("/console/emulator/snapshots", {"name": "x"})):
        r = client.post(path, data={**data, "csrf_token": "forged"})
        assert r.status_code == 403 and "CSRF" in r.text, path
    assert emulator.faults.list() == [] and not emulator.clock.frozen


def test_admin_only(corral: Corral, client: TestClient) -> None:
    corral.auth.create_user("std@example.com", "Standard")
    sign_in(client, make_token(corral, email="std@example.com", expires_in=CENTURY))
    assert 'href="/console/emulator"' not in client.get("/console/modules").text
    r = client.get("/console/emulator")
    assert r.status_code == 403 and "NO_PERMISSION" in r.text
    assert client.get("/console/emulator/journal").status_code == 403


def test_needs_the_org_scope(corral: Corral, client: TestClient) -> None:
    sign_in(client, make_token(corral, ["ZohoCRM.modules.ALL"], expires_in=CENTURY))
    r = client.get("/console/emulator")
    assert r.status_code == 401 and "OAUTH_SCOPE_MISMATCH" in r.text


def test_absent_without_the_emulator(database_url: str) -> None:
    plain = Corral.open(Settings(database_url=database_url, run_worker=False))
    plain.seed()
    try:
        with TestClient(create_app(plain), raise_server_exceptions=False) as c:
            sign_in(c, make_token(plain))
            assert 'href="/console/emulator"' not in c.get("/console/modules").text
            assert c.get("/console/emulator").status_code == 404
    finally:
        plain.close()


def test_dashboard_draws_credits_per_hour(client: TestClient, token: str, api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Costly"})
    api.get("Leads")
    sign_in(client, token)
    page = client.get("/console/dashboard").text
    chart = page.split('id="chart-credits"')[1].split("</svg>")[0]
    assert "credits: 2" in chart

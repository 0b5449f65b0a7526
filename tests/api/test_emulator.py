"""The emulator's /__corral/ control API on SQLite and PostgreSQL: gate, auth, reset, snapshots."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from starlette.testclient import TestClient

from corral.app import create_app
from corral.cli import main
from corral.config import Settings
from corral.emulator.clock import EmulatorClock
from corral.emulator.service import Emulator, EmulatorOptions
from corral.services import Corral
from corral.storage import tables as t
from tests.conftest import BACKENDS, make_token

CONTROL_CALLS = [
    ("POST", "/__corral/reset"), ("GET", "/__corral/snapshots"),
    ("POST", "/__corral/snapshots"), ("POST", "/__corral/snapshots/x/restore"),
    ("DELETE", "/__corral/snapshots/x"), ("GET", "/__corral/clock"), ("PUT", "/__corral/clock"),
    ("GET", "/__corral/journal"), ("DELETE", "/__corral/journal"), ("GET", "/__corral/limits"),
    ("PUT", "/__corral/limits"), ("GET", "/__corral/faults"), ("POST", "/__corral/faults"),
    ("DELETE", "/__corral/faults/1"), ("POST", "/__corral/jobs/run"), ("PUT", "/__corral/worker"),
]
INVALID_URL = {"code": "INVALID_URL_PATTERN", "details": {},
               "message": "Please check if the URL trying to access is a correct one",
               "status": "error"}


class Control:
    """Test client of an emulator-mode app: the control API and Zoho's API side by side."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.token = token

    def call(self, method: str, path: str, json: Any = None, token: str | None = None,
             **kw: Any) -> Any:
        headers = {"Authorization": f"Zoho-oauthtoken {token or self.token}"}
        return self.client.request(method, path, json=json, headers=headers, **kw)

    def insert_lead(self, last_name: str) -> str:
        r = self.call("POST", "/crm/v8/Leads", {"data": [{"Last_Name": last_name}]})
        assert r.status_code == 201, r.text
        return str(r.json()["data"][0]["details"]["id"])

    def count(self, module: str = "Leads") -> int:
        r = self.call("GET", f"/crm/v8/{module}/actions/count")
        assert r.status_code == 200, r.text
        return int(r.json()["count"])


@pytest.fixture
def corral(database_url: str) -> Iterator[Corral]:
    """As tests/conftest.py's, with the emulator's clock behind every service."""
    c = Corral.open(Settings(database_url=database_url, run_worker=False), clock=EmulatorClock())
    c.seed()
    yield c
    c.close()


@pytest.fixture
def emulator(corral: Corral) -> Emulator:
    emu = Emulator(corral)
    emu.ensure_baseline()
    return emu


CENTURY = 100 * 365 * 24 * 3600


@pytest.fixture
def control(corral: Corral, emulator: Emulator) -> Iterator[Control]:
    # A token that outlives any time the tests move the clock to.
    token = make_token(corral, expires_in=CENTURY)
    with TestClient(create_app(corral, emulator), raise_server_exceptions=False) as c:
        yield Control(c, token)


def table_state(corral: Corral) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of the ordered rows of every table."""
    state: dict[str, tuple[int, str]] = {}
    with corral.db.read() as conn:
        for table in t.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(sa.select(table).order_by(*order)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            state[table.name] = (len(rows), digest)
    return state


# ----------------------------------------------------------------------------- the gate
@pytest.mark.parametrize(("method", "path"), CONTROL_CALLS)
def test_control_api_is_an_unknown_url_without_emulator_mode(api: Any, method: str,
                                                             path: str) -> None:
    r = api.client.request(method, path, headers=api.headers(), json={"name": "x"})
    assert r.status_code == 404
    assert r.json() == INVALID_URL


@pytest.mark.parametrize(("method", "path"), CONTROL_CALLS)
def test_control_api_needs_a_token(control: Control, method: str, path: str) -> None:
    r = control.client.request(method, path)
    assert r.status_code == 401
    assert r.json()["code"] == "AUTHENTICATION_FAILURE"


@pytest.mark.parametrize(("method", "path"), CONTROL_CALLS)
def test_control_api_needs_the_org_scope(corral: Corral, control: Control, method: str,
                                         path: str) -> None:
    narrow = make_token(corral, ["ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL"])
    r = control.call(method, path, {"name": "x"}, token=narrow)
    assert r.status_code == 401
    assert r.json()["code"] == "OAUTH_SCOPE_MISMATCH"


@pytest.mark.parametrize(("method", "path"), CONTROL_CALLS)
def test_control_api_needs_the_admin_profile(corral: Corral, control: Control, method: str,
                                             path: str) -> None:
    user = corral.auth.create_user("std@zylker.com", "Standard", first_name="Sam")
    assert not user.is_admin
    standard = make_token(corral, ["ZohoCRM.org.ALL", "ZohoCRM.modules.ALL"], email=user.email)
    r = control.call(method, path, {"name": "x"}, token=standard)
    assert r.status_code == 403
    assert r.json()["code"] == "NO_PERMISSION"


# ----------------------------------------------------------------------------- reset
def test_reset_returns_to_the_first_start_and_the_token_stays_valid(control: Control) -> None:
    control.insert_lead("Gone")
    assert control.count() == 1
    r = control.call("POST", "/__corral/reset")
    assert r.status_code == 200
    assert r.json() == {"status": "success"}
    assert control.count() == 0
    assert control.insert_lead("After") != ""  # ids keep being handed out after a restore


def test_reset_to_a_named_snapshot(control: Control) -> None:
    control.insert_lead("Kept")
    assert control.call("POST", "/__corral/snapshots", {"name": "one"}).status_code == 201
    control.insert_lead("Dropped")
    r = control.call("POST", "/__corral/reset", {"snapshot": "one"})
    assert r.json() == {"status": "success"}
    assert control.count() == 1


def test_reset_to_an_unknown_snapshot_is_not_found(control: Control) -> None:
    r = control.call("POST", "/__corral/reset", {"snapshot": "nope"})
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"
    r = control.call("POST", "/__corral/reset", {"snapshot": 5})
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_DATA"


# ----------------------------------------------------------------------------- snapshots
def test_snapshot_save_list_restore_delete(control: Control) -> None:
    control.insert_lead("A")
    r = control.call("POST", "/__corral/snapshots", {"name": "with-a"})
    assert r.status_code == 201, r.text
    listed = control.call("GET", "/__corral/snapshots").json()
    assert [s["name"] for s in listed["snapshots"]] == ["with-a"]
    (entry,) = listed["snapshots"]
    assert set(entry) == {"name", "created_time", "records"}
    assert entry["records"] == 1
    control.insert_lead("B")
    r = control.call("POST", "/__corral/snapshots/with-a/restore")
    assert (r.status_code, r.json()) == (200, {"status": "success"})
    assert control.count() == 1
    assert control.call("DELETE", "/__corral/snapshots/with-a").status_code == 204
    assert control.call("GET", "/__corral/snapshots").json() == {"snapshots": []}


def test_restore_brings_back_exactly_the_snapshot(corral: Corral, control: Control) -> None:
    lead = control.insert_lead("Before")
    control.call("POST", "/crm/v8/Contacts", {"data": [{"Last_Name": "C"}]})
    assert control.call("POST", "/__corral/snapshots", {"name": "exact"}).status_code == 201
    before = table_state(corral)
    control.call("PUT", f"/crm/v8/Leads/{lead}", {"data": [{"Company": "Changed"}]})
    control.call("DELETE", "/crm/v8/Contacts", params={"ids": lead})
    control.insert_lead("After")
    control.call("POST", "/crm/v8/settings/tags?module=Leads", {"tags": [{"name": "t1"}]})
    assert table_state(corral) != before
    assert control.call("POST", "/__corral/snapshots/exact/restore").status_code == 200
    assert table_state(corral) == before


def test_saving_a_snapshot_again_replaces_it(control: Control) -> None:
    control.call("POST", "/__corral/snapshots", {"name": "s"})
    control.insert_lead("A")
    control.call("POST", "/__corral/snapshots", {"name": "s"})
    (entry,) = control.call("GET", "/__corral/snapshots").json()["snapshots"]
    assert entry["records"] == 1


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "a/b"}, {"name": 3},
                                  {"name": "__baseline__"}, [1]])
def test_snapshot_needs_a_valid_name(control: Control, body: Any) -> None:
    r = control.call("POST", "/__corral/snapshots", body)
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_DATA"


@pytest.mark.parametrize(("method", "path"), [("POST", "/__corral/snapshots/nope/restore"),
                                              ("DELETE", "/__corral/snapshots/nope"),
                                              ("POST", "/__corral/snapshots/__baseline__/restore"),
                                              ("DELETE", "/__corral/snapshots/__baseline__")])
def test_unknown_snapshot_is_not_found(control: Control, method: str, path: str) -> None:
    r = control.call(method, path)
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"


def test_snapshots_answer_under_their_methods_only(control: Control) -> None:
    r = control.call("PUT", "/__corral/snapshots")
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_REQUEST_METHOD"


# ----------------------------------------------------------------------------- the CLI
def test_cli_snapshot_and_reset(corral: Corral, emulator: Emulator, database_url: str) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        r = runner.invoke(main, [*args, "--database-url", database_url])
        assert r.exit_code == 0, r.output
        return r.output

    # Made before the snapshot: restore is exact, tokens included.
    token = make_token(corral, expires_in=CENTURY)
    assert "0 records" in run("snapshot", "save", "empty")
    assert run("snapshot", "list").startswith("empty\t")
    with TestClient(create_app(corral, emulator)) as c:
        control = Control(c, token)
        control.insert_lead("X")
        assert "restored empty" in run("snapshot", "restore", "empty")
        assert control.count() == 0
    assert "deleted empty" in run("snapshot", "delete", "empty")
    assert run("snapshot", "list") == ""
    assert "baseline" in run("reset")
    r = runner.invoke(main, ["snapshot", "restore", "nope", "--database-url", database_url])
    assert r.exit_code == 1
    assert "NOT_FOUND" in r.output


# ----------------------------------------------------------------------------- the clock
def test_clock_is_real_time_until_frozen(control: Control) -> None:
    r = control.call("GET", "/__corral/clock")
    assert r.status_code == 200
    assert set(r.json()) == {"now", "frozen"}
    assert r.json()["frozen"] is False


def test_clock_freeze_advance_release(control: Control) -> None:
    r = control.call("PUT", "/__corral/clock", {"now": "2030-01-02T03:04:05Z"})
    assert r.json() == {"now": "2030-01-02T03:04:05+00:00", "frozen": True}
    r = control.call("PUT", "/__corral/clock", {"advance_seconds": 3600})
    assert r.json() == {"now": "2030-01-02T04:04:05+00:00", "frozen": True}
    assert control.call("GET", "/__corral/clock").json()["now"] == "2030-01-02T04:04:05+00:00"
    lead = control.insert_lead("Timed")
    got = control.call("GET", f"/crm/v8/Leads/{lead}").json()["data"][0]
    assert got["Created_Time"] == got["Modified_Time"] == "2030-01-02T04:04:05+00:00"
    r = control.call("PUT", "/__corral/clock", {"frozen": False})
    assert r.json()["frozen"] is False
    assert not r.json()["now"].startswith("2030")


@pytest.mark.parametrize("body", [{}, {"now": "tomorrow"}, {"now": 5}, {"advance_seconds": -1},
                                  {"advance_seconds": "9"}, {"frozen": "no"}, {"other": 1},
                                  {"now": "2030-01-01T00:00:00Z", "frozen": False}])
def test_clock_refuses_bad_bodies(control: Control, body: Any) -> None:
    r = control.call("PUT", "/__corral/clock", body)
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_DATA"


def test_frozen_clock_makes_if_modified_since_deterministic(control: Control) -> None:
    control.call("PUT", "/__corral/clock", {"now": "2030-05-01T10:00:00Z"})
    old = control.insert_lead("Old")
    control.call("PUT", "/__corral/clock", {"advance_seconds": 60})
    new = control.insert_lead("New")
    since = {"If-Modified-Since": "2030-05-01T10:00:30+00:00"}
    r = control.client.get("/crm/v8/Leads", params={"fields": "Last_Name"},
                           headers={**since, "Authorization": f"Zoho-oauthtoken {control.token}"})
    assert r.status_code == 200
    assert [d["id"] for d in r.json()["data"]] == [new]
    later = {"If-Modified-Since": "2030-05-01T10:01:01+00:00"}
    r = control.client.get("/crm/v8/Leads", params={"fields": "Last_Name"},
                           headers={**later, "Authorization": f"Zoho-oauthtoken {control.token}"})
    assert r.status_code == 304
    control.call("PUT", "/__corral/clock", {"advance_seconds": 60})
    control.call("PUT", f"/crm/v8/Leads/{old}", {"data": [{"Company": "Now"}]})
    r = control.client.get("/crm/v8/Leads", params={"fields": "Last_Name"},
                           headers={**later, "Authorization": f"Zoho-oauthtoken {control.token}"})
    assert [d["id"] for d in r.json()["data"]] == [old]


def test_frozen_clock_makes_token_expiry_deterministic(corral: Corral, control: Control) -> None:
    control.call("PUT", "/__corral/clock", {"now": "2030-05-01T10:00:00Z"})
    short = make_token(corral, expires_in=3600)
    assert control.call("GET", "/crm/v8/Leads/actions/count", token=short).status_code == 200
    control.call("PUT", "/__corral/clock", {"advance_seconds": 3599})
    assert control.call("GET", "/crm/v8/Leads/actions/count", token=short).status_code == 200
    control.call("PUT", "/__corral/clock", {"advance_seconds": 1})
    r = control.call("GET", "/crm/v8/Leads/actions/count", token=short)
    assert r.status_code == 401
    assert r.json()["code"] == "INVALID_TOKEN"


# ----------------------------------------------------------------------------- the journal
def test_journal_records_calls_without_tokens_in_clear(control: Control) -> None:
    assert control.call("DELETE", "/__corral/journal").status_code == 204
    lead = control.insert_lead("Journal")
    control.call("GET", "/crm/v8/Leads/999", params={"fields": "Last_Name"})
    control.client.post("/oauth/v2/token", data={"grant_type": "refresh_token",
                                                 "refresh_token": control.token,
                                                 "client_id": "x", "client_secret": "s3cret"})
    calls = control.call("GET", "/__corral/journal").json()["calls"]
    assert [(c["method"], c["path"]) for c in calls] == [
        ("POST", "/crm/v8/Leads"), ("GET", "/crm/v8/Leads/999"), ("POST", "/oauth/v2/token")]
    insert, missing, oauth = calls
    assert set(insert) == {"id", "time", "direction", "method", "path", "query", "status",
                           "code", "credits", "duration_ms", "request_body", "response_body"}
    assert (insert["status"], insert["code"], insert["credits"]) == (201, "SUCCESS", 1)
    assert insert["direction"] == "in"
    assert '"Journal"' in insert["request_body"] and lead in insert["response_body"]
    assert missing["query"] == "fields=Last_Name"
    assert missing["status"] in (204, 400)
    assert oauth["credits"] == 0
    text = repr(calls)
    assert control.token not in text and "s3cret" not in text
    assert "sha256:" in oauth["request_body"]


def test_journal_filters_and_paging(control: Control) -> None:
    control.call("DELETE", "/__corral/journal")
    for name in ("a", "b", "c"):
        control.insert_lead(name)
    control.call("GET", "/crm/v8/Contacts/actions/count")
    everything = control.call("GET", "/__corral/journal").json()["calls"]
    assert len(everything) == 4
    posts = control.call("GET", "/__corral/journal", params={"method": "POST"}).json()["calls"]
    assert len(posts) == 3
    by_path = control.call("GET", "/__corral/journal",
                           params={"path": "*/Contacts/*"}).json()["calls"]
    assert [c["path"] for c in by_path] == ["/crm/v8/Contacts/actions/count"]
    by_status = control.call("GET", "/__corral/journal", params={"status": "201"}).json()
    assert len(by_status["calls"]) == 3
    after = control.call("GET", "/__corral/journal",
                         params={"since_id": everything[1]["id"], "limit": 1}).json()["calls"]
    assert [c["id"] for c in after] == [everything[2]["id"]]
    r = control.call("GET", "/__corral/journal", params={"limit": "0"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_DATA")
    assert control.call("DELETE", "/__corral/journal").status_code == 204
    assert control.call("GET", "/__corral/journal").json() == {"calls": []}


def test_journal_truncates_bodies(corral: Corral) -> None:
    emu = Emulator(corral, options=EmulatorOptions(journal_body_limit=20))
    emu.ensure_baseline()
    with TestClient(create_app(corral, emu)) as c:
        control = Control(c, make_token(corral))
        control.insert_lead("A" * 70)
        (call,) = control.call("GET", "/__corral/journal").json()["calls"]
    assert len(call["request_body"]) == 20
    assert len(call["response_body"]) == 20


# ----------------------------------------------------------------------------- limits
def test_limits_default_to_unlimited(control: Control) -> None:
    r = control.call("GET", "/__corral/limits")
    assert r.status_code == 200
    assert r.json()["edition"] is None
    assert r.json()["allowance"] is None and r.json()["remaining"] is None


@pytest.mark.parametrize(("edition", "users", "allowance", "concurrency"), [
    ("free", 3, 5_000, 5), ("standard", 10, 52_500, 10), ("standard", 1000, 100_000, 10),
    ("professional", 10, 55_000, 15), ("enterprise", 100, 150_000, 20),
    ("ultimate", 10_000, 20_050_000, 25)])
def test_limits_per_edition(control: Control, edition: str, users: int, allowance: int,
                            concurrency: int) -> None:
    r = control.call("PUT", "/__corral/limits", {"edition": edition, "users": users})
    assert r.status_code == 200
    body = r.json()
    assert (body["allowance"], body["concurrency_limit"]) == (allowance, concurrency)
    assert body["used"] == 0 and body["remaining"] == allowance


def test_credits_are_charged_and_exhausted_with_429(control: Control) -> None:
    control.call("PUT", "/__corral/limits", {"edition": "free", "used": 4_990})
    control.call("POST", "/crm/v8/Leads",
                 {"data": [{"Last_Name": f"L{i}"} for i in range(25)]})  # 3 credits
    lead = control.insert_lead("One")  # 1 credit
    assert control.call("GET", "/__corral/limits").json()["used"] == 4_994
    control.call("POST", f"/crm/v8/Leads/{lead}/actions/convert", {"data": [{}]})  # 5 credits
    usage = control.call("GET", "/__corral/limits").json()
    assert (usage["used"], usage["remaining"]) == (4_999, 1)
    assert control.call("GET", "/crm/v8/Leads/actions/count").status_code == 200
    r = control.call("GET", "/crm/v8/Leads/actions/count")
    assert r.status_code == 429
    assert r.json() == {"code": "TOO_MANY_REQUESTS", "details": {},
                        "message": "too many requests. please try again after some time",
                        "status": "error"}
    assert control.call("POST", "/__corral/reset").status_code == 200  # control: never charged
    control.call("PUT", "/__corral/clock", {"advance_seconds": 24 * 3600 + 1})
    assert control.call("GET", "/__corral/limits").json()["used"] == 0
    assert control.call("GET", "/crm/v8/Leads/actions/count").status_code == 200


def test_concurrency_limit_answers_its_own_429(control: Control, emulator: Emulator) -> None:
    control.call("PUT", "/__corral/limits", {"edition": "free"})
    for _ in range(5):  # five calls in progress (held directly: no timing in the test)
        emulator.limits.admit(1)
    assert control.call("GET", "/__corral/limits").json()["in_flight"] == 5
    r = control.call("GET", "/crm/v8/Leads/actions/count")
    assert r.status_code == 429
    assert r.json() == {"code": "TOO_MANY_REQUESTS", "details": {},
                        "message": "concurrency limit exceeded. please try again after some time",
                        "status": "error"}
    emulator.limits.release()
    assert control.call("GET", "/crm/v8/Leads/actions/count").status_code == 200


def test_sub_concurrency_limits_big_writes_only(control: Control, emulator: Emulator) -> None:
    control.call("PUT", "/__corral/limits", {"edition": "enterprise"})
    for _ in range(10):  # ten writes of more than 10 records in progress
        emulator.limits.admit(2, heavy=True)
    big = {"data": [{"Last_Name": f"L{i}"} for i in range(11)]}
    r = control.call("POST", "/crm/v8/Leads", big)
    assert (r.status_code, r.json()["code"]) == (429, "TOO_MANY_REQUESTS")
    assert "concurrency" in r.json()["message"]
    assert control.call("POST", "/crm/v8/Leads", {"data": big["data"][:10]}).status_code == 201
    emulator.limits.release(heavy=True)
    assert control.call("POST", "/crm/v8/Leads", big).status_code == 201


def test_latency_fault_delays_and_lets_the_call_through(control: Control) -> None:
    control.call("POST", "/__corral/faults", {"path": "*/actions/count", "latency_ms": 50})
    assert control.call("GET", "/crm/v8/Leads/actions/count").json() == {"count": 0}
    (entry,) = [c for c in control.call("GET", "/__corral/journal").json()["calls"]
                if c["path"].endswith("/count")]
    assert entry["status"] == 200 and entry["duration_ms"] >= 50


@pytest.mark.parametrize("body", [{}, {"edition": "gold"}, {"users": 0}, {"used": -1},
                                  {"other": 1}, [1]])
def test_limits_refuse_bad_bodies(control: Control, body: Any) -> None:
    r = control.call("PUT", "/__corral/limits", body)
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_DATA")


# ----------------------------------------------------------------------------- faults
def test_fault_answers_zoho_error_and_writes_nothing(control: Control) -> None:
    r = control.call("POST", "/__corral/faults", {"method": "POST", "path": "/crm/*/Leads",
                                                  "status": 500, "times": 1})
    assert r.status_code == 201
    fault_id = r.json()["id"]
    assert control.call("GET", "/__corral/faults").json()["faults"][0]["id"] == fault_id
    r = control.call("POST", "/crm/v8/Leads", {"data": [{"Last_Name": "Never"}]})
    assert r.status_code == 500
    assert r.json() == {"code": "INTERNAL_ERROR", "details": {},
                        "message": "Internal Server Error", "status": "error"}
    assert control.count() == 0
    control.insert_lead("Later")  # times: 1 used up
    assert control.call("GET", "/__corral/faults").json() == {"faults": []}


def test_fault_with_own_code_and_message_until_deleted(control: Control) -> None:
    fault_id = control.call("POST", "/__corral/faults", {
        "path": "*/Contacts*", "status": 400, "code": "INVALID_DATA",
        "message": "boom"}).json()["id"]
    for _ in range(2):
        r = control.call("GET", "/crm/v8/Contacts")
        assert (r.status_code, r.json()["code"], r.json()["message"]) == \
            (400, "INVALID_DATA", "boom")
    assert control.call("GET", "/crm/v8/Leads/actions/count").status_code == 200
    assert control.call("DELETE", f"/__corral/faults/{fault_id}").status_code == 204
    assert control.call("GET", "/crm/v8/Contacts/actions/count").status_code == 200
    r = control.call("DELETE", f"/__corral/faults/{fault_id}")
    assert (r.status_code, r.json()["code"]) == (404, "NOT_FOUND")


def test_fault_probability_zero_never_hits(control: Control) -> None:
    control.call("POST", "/__corral/faults", {"status": 500, "probability": 0})
    assert control.call("GET", "/crm/v8/Leads/actions/count").status_code == 200


@pytest.mark.parametrize("body", [{}, {"status": 200}, {"status": 500, "method": "TRACE"},
                                  {"status": 500, "probability": 2}, {"latency_ms": -1},
                                  {"status": 500, "times": 0}, {"status": 500, "bogus": 1},
                                  {"status": 500, "code": 5}])
def test_faults_refuse_bad_bodies(control: Control, body: Any) -> None:
    r = control.call("POST", "/__corral/faults", body)
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_DATA")


# ----------------------------------------------------------------------------- async work
def _schedule_mass_update(control: Control) -> str:
    for i in range(3):
        control.call("POST", "/crm/v2/Leads", {"data": [{"Last_Name": f"L{i}",
                                                         "Lead_Status": "Not Contacted"}]})
    r = control.call("POST", "/crm/v2/settings/custom_views", params={"module": "Leads"},
                     json={"custom_views": [{"name": "NC", "access_type": "public", "criteria": {
                         "comparator": "equal", "field": {"api_name": "Lead_Status"},
                         "value": "Not Contacted"}}]})
    assert r.status_code == 201, r.text
    cvid = r.json()["custom_views"][0]["details"]["id"]
    r = control.call("POST", "/crm/v2/Leads/actions/mass_update",
                     {"data": [{"Lead_Status": "Contacted"}], "cvid": cvid})
    assert r.status_code == 200, r.text
    return str(r.json()["data"][0]["details"]["job_id"])


def test_jobs_run_runs_pending_work_now(control: Control) -> None:
    job_id = _schedule_mass_update(control)
    r = control.call("POST", "/__corral/jobs/run")
    assert r.status_code == 200
    assert r.json() == {"status": "success",
                        "ran": {"job_chunks": 1, "webhook_deliveries": 0}}
    r = control.call("GET", "/crm/v2/Leads/actions/mass_update", params={"job_id": job_id})
    assert r.json()["data"][0]["Status"] == "COMPLETED"
    again = control.call("POST", "/__corral/jobs/run").json()
    assert again["ran"] == {"job_chunks": 0, "webhook_deliveries": 0}


def test_worker_pause_and_resume(control: Control, emulator: Emulator) -> None:
    r = control.call("PUT", "/__corral/worker", {"paused": True})
    assert r.status_code == 200
    assert r.json() == {"paused": True, "running": False}  # tests run no background worker
    worker = emulator.corral.worker()
    emulator.attach_worker(worker)
    assert worker.paused
    r = control.call("PUT", "/__corral/worker", {"paused": False})
    assert r.json() == {"paused": False, "running": True}
    assert not worker.paused


@pytest.mark.parametrize("body", [{}, {"paused": "yes"}, {"paused": True, "x": 1}, [True]])
def test_worker_refuses_bad_bodies(control: Control, body: Any) -> None:
    r = control.call("PUT", "/__corral/worker", body)
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_DATA")


def test_jobs_run_delivers_webhooks_and_the_journal_shows_them_out(
        corral: Corral, control: Control) -> None:
    from tests.api.test_automation import Receiver

    hook = Receiver()
    try:
        url = hook.url
        admin = corral.auth.principal_for_user(corral.auth.user_by_email(None).id)
        assert admin is not None
        corral.automation.create_rule(corral.registry.require("Leads"), "workflow", {
            "name": "hook", "when": "create", "field": None, "criteria": None,
            "actions": [{"type": "webhook", "url": url, "fields": []}]}, admin, "$")
        control.call("DELETE", "/__corral/journal")
        control.insert_lead("Hooked")
        r = control.call("POST", "/__corral/jobs/run")
        assert r.json()["ran"] == {"job_chunks": 0, "webhook_deliveries": 1}
        assert len(hook.bodies) == 1 and "Hooked" in json.dumps(hook.bodies[0])
        calls = control.call("GET", "/__corral/journal").json()["calls"]
        out = [c for c in calls if c["direction"] == "out"]
        assert [(c["method"], c["path"], c["status"]) for c in out] == [("POST", url, 200)]
        assert "Hooked" in out[0]["request_body"]
    finally:
        hook.close()


def test_a_notification_callback_appears_in_the_journal_as_out(control: Control) -> None:
    """An /actions/watch callback is an outgoing call like a workflow webhook: the journal
    shows it with direction out, the receiver's status and Zoho's callback body."""
    from tests.api.test_automation import Receiver

    hook = Receiver()
    try:
        r = control.call("POST", "/crm/v8/actions/watch", {"watch": [{
            "channel_id": "1000000068001", "events": ["Leads.create"], "token": "T1",
            "notify_url": hook.url}]})
        assert r.status_code == 201, r.text
        control.call("DELETE", "/__corral/journal")
        lead = control.insert_lead("Watched")
        r = control.call("POST", "/__corral/jobs/run")
        assert r.json()["ran"] == {"job_chunks": 0, "webhook_deliveries": 1}
        assert [b["ids"] for b in hook.bodies] == [[lead]]
        calls = control.call("GET", "/__corral/journal").json()["calls"]
        assert [c["direction"] for c in calls] == ["in", "out"]  # the insert, its callback
        out = calls[-1]
        assert (out["method"], out["path"], out["status"]) == ("POST", hook.url, 200)
        sent = json.loads(out["request_body"])
        assert (sent["operation"], sent["ids"], sent["channel_id"]) == (
            "insert", [lead], "1000000068001")
        assert control.call("GET", "/__corral/journal", params={
            "path": hook.url}).json()["calls"] == [out]
    finally:
        hook.close()


# ----------------------------------------------------------------------------- --seed
_fresh = itertools.count()


@pytest.fixture(params=BACKENDS)
def fresh_urls(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """Two brand-new (unmigrated) databases of one backend."""
    if request.param == "sqlite":
        return [f"sqlite:///{tmp_path / f'run{i}.db'}" for i in range(2)]
    pg = request.getfixturevalue("pg")
    return [pg.create_database(f"corral_seed_{os.getpid()}_{next(_fresh)}") for _ in range(2)]


def _seeded_run(url: str, seed: int) -> list[str]:
    """What a test run sees: the first-start token, ids and a token, then again after reset."""
    emu = Emulator.open(Settings(database_url=url, run_worker=False, emulator=True),
                        EmulatorOptions(seed=seed))
    assert emu.first_token is not None
    seen = [emu.first_token]
    try:
        with TestClient(create_app(emu.corral, emu)) as c:
            control = Control(c, emu.first_token)
            seen += [control.insert_lead("A"), control.insert_lead("B")]
            seen.append(make_token(emu.corral))
            control.call("POST", "/__corral/reset")
            seen.append(control.insert_lead("C"))
    finally:
        emu.corral.close()
    return seen


def test_seed_makes_ids_and_tokens_repeat(fresh_urls: list[str]) -> None:
    first, second = (_seeded_run(url, 7) for url in fresh_urls)
    assert first == second
    assert first[1] == first[4]  # after a reset, ids start again as after the start


# ----------------------------------------------------------------------------- fixtures
FIXTURES_YAML = """
modules:
  - {api_name: Projects, singular: Project, plural: Projects}
fields:
  Leads:
    - {api_name: External_Id, label: External Id, type: text, unique: true}
    - {api_name: Tier, label: Tier, type: picklist, pick_list: [Gold, Silver]}
  Projects:
    - {api_name: Budget, label: Budget, type: currency}
users:
  - {email: sam@example.com, last_name: Smith, first_name: Sam, profile: Standard}
custom_views:
  Leads:
    - {name: Gold leads, criteria: "(Tier:equals:Gold)"}
records:
  Accounts:
    - {$ref: acme, Account_Name: Acme}
  Contacts:
    - {Last_Name: Doe, Account_Name: {$ref: acme}}
  Leads:
    - {Last_Name: One, External_Id: X1, Tier: Gold}
    - {Last_Name: Two, External_Id: X2, Tier: Silver}
  Projects:
    - {Name: Apollo, Budget: 1000}
"""


def test_fixtures_load_through_the_services(control: Control) -> None:
    r = control.call("POST", "/__corral/fixtures", content=FIXTURES_YAML)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["loaded"] == {"modules": 1, "fields": 3, "users": 1, "custom_views": 1,
                              "records": 5}
    acme = body["refs"]["acme"]
    assert control.count("Leads") == 2 and control.count("Projects") == 1
    contact = control.call("GET", "/crm/v8/Contacts", params={"fields": "Account_Name"}).json()
    assert contact["data"][0]["Account_Name"]["id"] == acme
    dup = control.call("POST", "/crm/v8/Leads", {"data": [{"Last_Name": "D",
                                                            "External_Id": "x1"}]})
    assert dup.json()["data"][0]["code"] == "DUPLICATE_DATA"  # the unique flag holds
    users = control.call("GET", "/crm/v8/users", params={"type": "AllUsers"}).json()["users"]
    assert "sam@example.com" in [u["email"] for u in users]


def test_fixtures_as_json_too(control: Control) -> None:
    doc = {"records": {"Leads": [{"Last_Name": "Json"}]}}
    r = control.call("POST", "/__corral/fixtures", doc)
    assert r.json()["loaded"]["records"] == 1


@pytest.mark.parametrize(("text", "path"), [
    ("records: {Leads: [{Last_Name: ok}, {Company: no last name}]}", "$.records.Leads[1]"),
    ("fields: {Leads: [{label: Bad, type: nonsense}]}", "$.fields.Leads[0]"),
    ("records: {Nope: [{Name: x}]}", "$.records.Nope"),
    ("records: {Contacts: [{Last_Name: x, Account_Name: {$ref: missing}}]}",
     "$.records.Contacts[0].Account_Name"),
])
def test_bad_fixtures_leave_nothing_behind(corral: Corral, control: Control, text: str,
                                           path: str) -> None:
    before = table_state(corral)
    r = control.call("POST", "/__corral/fixtures",
                     content="modules: [{api_name: Extra, singular: E, plural: Es}]\n" + text)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "INVALID_DATA"
    assert r.json()["details"]["json_path"] == path
    assert table_state(corral) == before
    assert control.count() == 0


@pytest.mark.parametrize("text", ["[1, 2]", "{unknown: 1}", "records: [1]", "{: :"])
def test_fixtures_refuse_what_is_not_a_fixture_document(control: Control, text: str) -> None:
    r = control.call("POST", "/__corral/fixtures", content=text)
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_DATA")


def test_serve_fixtures_are_part_of_the_baseline(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fx.db'}"
    emu = Emulator.open(Settings(database_url=url, run_worker=False, emulator=True),
                        fixtures=FIXTURES_YAML.encode())
    try:
        assert emu.first_token and emu.fixtures_loaded is not None
        with TestClient(create_app(emu.corral, emu)) as c:
            control = Control(c, emu.first_token)
            control.insert_lead("Extra")
            assert control.count() == 3
            control.call("POST", "/__corral/reset")
            assert control.count() == 2
    finally:
        emu.corral.close()


def test_metadata_import_from_saved_responses(control: Control, tmp_path: Path,
                                              fresh_urls: list[str]) -> None:
    control.call("POST", "/__corral/fixtures", content=FIXTURES_YAML)
    modules = control.call("GET", "/crm/v8/settings/modules").json()
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "modules.json").write_text(json.dumps(modules))
    for name in ("Leads", "Projects"):
        fields = control.call("GET", "/crm/v8/settings/fields", params={"module": name}).json()
        (tmp_path / "saved" / f"fields_{name}.json").write_text(json.dumps(fields))
    target = fresh_urls[0]
    r = CliRunner().invoke(main, ["metadata", "import", str(tmp_path / "saved"),
                                  "--database-url", target])
    assert r.exit_code == 0, r.output
    assert "1 modules, 3 fields" in r.output
    imported = Corral.open(Settings(database_url=target, run_worker=False))
    imported.registry.refresh()
    try:
        leads = imported.registry.require("Leads")
        ext, tier = leads.field("External_Id"), leads.field("Tier")
        assert ext is not None and ext.unique
        assert tier is not None and tier.data_type == "picklist"
        budget = imported.registry.require("Projects").field("Budget")
        assert budget is not None and budget.data_type == "currency"
    finally:
        imported.close()


def test_frozen_clock_makes_page_token_expiry_deterministic(control: Control) -> None:
    control.call("PUT", "/__corral/clock", {"now": "2030-05-01T10:00:00Z"})
    for name in ("a", "b", "c"):
        control.insert_lead(name)
    params = {"fields": "Last_Name", "per_page": "1"}
    info = control.call("GET", "/crm/v8/Leads", params=params).json()["info"]
    assert info["page_token_expiry"] == "2030-05-02T10:00:00+00:00"
    token = info["next_page_token"]
    control.call("PUT", "/__corral/clock", {"advance_seconds": 24 * 3600 - 1})
    r = control.call("GET", "/crm/v8/Leads", params={**params, "page_token": token})
    assert r.status_code == 200
    control.call("PUT", "/__corral/clock", {"advance_seconds": 1})
    r = control.call("GET", "/crm/v8/Leads", params={**params, "page_token": token})
    assert (r.status_code, r.json()["code"]) == (400, "EXPIRED_VALUE")


def test_corral_emulator_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_EMULATOR", "1")
    assert Settings.from_env().emulator is True
    monkeypatch.setenv("CORRAL_EMULATOR", "0")
    assert Settings.from_env().emulator is False


@pytest.mark.parametrize("args", [["--seed", "1"], ["--fixtures", __file__]])
def test_seed_and_fixtures_need_emulator_mode(tmp_path: Path, args: list[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORRAL_EMULATOR", raising=False)
    r = CliRunner().invoke(main, ["serve", "--database-url",
                                  f"sqlite:///{tmp_path / 'x.db'}", *args])
    assert r.exit_code == 1
    assert "need --emulator" in r.output

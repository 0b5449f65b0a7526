"""Two server processes on one database behave as one emulator: each piece of emulator state
set through one is what the other serves (on SQLite and PostgreSQL).

Two independent `Corral` + `Emulator` + app stacks opened on the same database stand for two
`corral serve --workers 2` processes: nothing is shared between them but the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from corral.app import create_app
from corral.config import Settings
from corral.emulator import limits
from corral.emulator.clock import EmulatorClock
from corral.emulator.service import Emulator, EmulatorOptions
from corral.services import Corral
from tests.api.test_emulator import CENTURY, Control
from tests.conftest import make_token


class Process:
    """One server process: its own Corral, emulator and app on the shared database."""

    def __init__(self, url: str, token: str | None = None,
                 options: EmulatorOptions | None = None) -> None:
        self.corral = Corral.open(Settings(database_url=url, run_worker=False),
                                  clock=EmulatorClock())
        self.corral.seed()
        self.emu = Emulator(self.corral, options=options)
        self.emu.ensure_baseline()
        self.token = token or make_token(self.corral, expires_in=CENTURY)
        self.client = TestClient(create_app(self.corral, self.emu),
                                 raise_server_exceptions=False)
        self.client.__enter__()
        self.control = Control(self.client, self.token)

    def call(self, method: str, path: str, json: Any = None, **kw: Any) -> Any:
        return self.control.call(method, path, json, **kw)

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.corral.close()


@pytest.fixture
def pair(database_url: str) -> Iterator[tuple[Process, Process]]:
    a = Process(database_url)
    b = Process(database_url, token=a.token)
    yield a, b
    b.close()
    a.close()


def test_clock_set_in_one_process_is_the_clock_of_the_other(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    assert a.call("PUT", "/__corral/clock", {"now": "2030-05-01T10:00:00Z"}).status_code == 200
    assert b.call("GET", "/__corral/clock").json() == {"now": "2030-05-01T10:00:00+00:00",
                                                       "frozen": True}
    # Records written by the other process carry the shared clock's time.
    lead = b.control.insert_lead("Clocked")
    got = a.call("GET", f"/crm/v8/Leads/{lead}").json()["data"][0]
    assert got["Created_Time"].startswith("2030-05-01T")
    b.call("PUT", "/__corral/clock", {"advance_seconds": 90})
    assert a.call("GET", "/__corral/clock").json()["now"] == "2030-05-01T10:01:30+00:00"
    a.call("PUT", "/__corral/clock", {"frozen": False})
    state = b.call("GET", "/__corral/clock").json()
    assert state["frozen"] is False and not state["now"].startswith("2030")


def test_a_fault_for_one_call_fires_once_across_processes(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    r = a.call("POST", "/__corral/faults", {"path": "/crm/v8/Leads*", "status": 500,
                                            "times": 1})
    assert r.status_code == 201
    (listed,) = b.call("GET", "/__corral/faults").json()["faults"]
    assert listed["id"] == r.json()["id"] and listed["times"] == 1
    statuses = [p.call("GET", "/crm/v8/Leads").status_code for p in (b, a, b, a)]
    assert statuses.count(500) == 1 and statuses[0] == 500
    assert a.call("GET", "/__corral/faults").json()["faults"] == []


def test_a_fault_with_several_times_counts_hits_of_both_processes(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    a.call("POST", "/__corral/faults", {"method": "GET", "path": "/crm/v8/Leads",
                                        "status": 503, "times": 3})
    statuses = [p.call("GET", "/crm/v8/Leads").status_code for p in (a, b, a, b, a, b)]
    assert statuses.count(503) == 3
    b.call("POST", "/__corral/faults", {"path": "*", "status": 429})
    fault_id = a.call("GET", "/__corral/faults").json()["faults"][0]["id"]
    assert a.call("GET", "/crm/v8/Leads").status_code == 429
    assert a.call("DELETE", f"/__corral/faults/{fault_id}").status_code == 204
    assert b.call("GET", "/crm/v8/Leads/actions/count").status_code == 200


def test_credits_are_counted_once_for_both_processes(pair: tuple[Process, Process]) -> None:
    a, b = pair
    a.call("PUT", "/__corral/limits", {"edition": "free", "used": 4_995})
    assert b.call("GET", "/__corral/limits").json()["edition"] == "free"
    for p in (a, b, a, b):
        assert p.call("GET", "/crm/v8/Leads/actions/count").status_code == 200
    assert a.call("GET", "/__corral/limits").json()["used"] == 4_999
    assert b.call("GET", "/crm/v8/Leads/actions/count").status_code == 200
    assert a.call("GET", "/crm/v8/Leads/actions/count").status_code == 429
    assert b.call("GET", "/crm/v8/Leads/actions/count").status_code == 429
    b.call("PUT", "/__corral/clock", {"advance_seconds": 24 * 3600 + 1})
    assert a.call("GET", "/__corral/limits").json()["used"] == 0
    assert a.call("GET", "/crm/v8/Leads/actions/count").status_code == 200


def test_credits_without_a_limit_are_counted_once_too(pair: tuple[Process, Process]) -> None:
    a, b = pair
    a.call("GET", "/crm/v8/Leads/actions/count")
    b.call("POST", "/crm/v8/Leads", {"data": [{"Last_Name": f"L{i}"} for i in range(25)]})
    usage = a.call("GET", "/__corral/limits").json()
    assert (usage["edition"], usage["used"], usage["remaining"]) == (None, 4, None)


def test_calls_in_flight_in_one_process_hold_back_the_other(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    b.call("PUT", "/__corral/limits", {"edition": "free"})
    a.emu.sync()
    for _ in range(5):  # five calls in progress in process A (held directly: no timing)
        a.emu.limits.admit(1)
    assert b.call("GET", "/__corral/limits").json()["in_flight"] == 5
    r = b.call("GET", "/crm/v8/Leads/actions/count")
    assert (r.status_code, r.json()["message"]) == (
        429, "concurrency limit exceeded. please try again after some time")
    a.emu.limits.release()
    assert b.call("GET", "/crm/v8/Leads/actions/count").status_code == 200


def test_the_journal_holds_the_calls_of_both_processes(pair: tuple[Process, Process]) -> None:
    a, b = pair
    a.control.insert_lead("FromA")
    b.control.insert_lead("FromB")
    b.call("GET", "/crm/v8/Leads/actions/count")
    calls = a.call("GET", "/__corral/journal").json()["calls"]
    assert [(c["method"], c["path"]) for c in calls] == [
        ("POST", "/crm/v8/Leads"), ("POST", "/crm/v8/Leads"),
        ("GET", "/crm/v8/Leads/actions/count")]
    assert [c["id"] for c in calls] == sorted({c["id"] for c in calls})
    assert "FromA" in calls[0]["request_body"] and "FromB" in calls[1]["request_body"]
    last = calls[-1]["id"]
    assert b.call("GET", "/__corral/journal", params={"since_id": last}).json()["calls"] == []
    assert b.call("DELETE", "/__corral/journal").status_code == 204
    assert a.call("GET", "/__corral/journal").json()["calls"] == []
    a.call("GET", "/crm/v8/Leads/actions/count")
    (after,) = b.call("GET", "/__corral/journal").json()["calls"]
    assert after["id"] > last  # ids never start again


def test_the_journal_keeps_the_newest_calls(database_url: str) -> None:
    a = Process(database_url, options=EmulatorOptions(journal_size=3))
    b = Process(database_url, token=a.token, options=EmulatorOptions(journal_size=3))
    try:
        for i, p in enumerate((a, b, a, b, a)):
            p.call("GET", "/crm/v8/Leads", params={"page": i + 1})
        calls = b.call("GET", "/__corral/journal").json()["calls"]
        assert [c["query"] for c in calls] == ["page=3", "page=4", "page=5"]
    finally:
        b.close()
        a.close()


def test_reset_in_one_process_is_what_the_other_serves(pair: tuple[Process, Process]) -> None:
    a, b = pair
    first = b.control.insert_lead("Before")
    b.control.insert_lead("Another")  # process B now holds a block of ids
    assert a.call("POST", "/__corral/reset").status_code == 200
    assert b.control.count() == 0
    # Ids start again from the restored counter in both processes, never twice.
    again = b.control.insert_lead("After")
    other = a.control.insert_lead("AfterToo")
    assert again == first and other != again
    assert a.control.count() == b.control.count() == 2


def test_snapshot_restore_in_one_process_is_seen_by_the_other(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    kept = a.control.insert_lead("Kept")
    assert b.call("POST", "/__corral/snapshots", {"name": "one"}).status_code == 201
    (names,) = [[s["name"] for s in a.call("GET", "/__corral/snapshots").json()["snapshots"]]]
    assert names == ["one"]
    # Metadata changed through process B after the snapshot (cached by both registries).
    b.corral.metadata.add_module("Projects", "Project", "Projects")
    assert b.call("GET", "/crm/v8/Projects/actions/count").status_code == 200
    assert a.call("GET", "/crm/v8/Projects/actions/count").status_code == 200
    gone = b.control.insert_lead("Gone")
    assert a.call("POST", "/__corral/snapshots/one/restore").status_code == 200
    assert b.control.count() == 1
    assert b.call("GET", f"/crm/v8/Leads/{gone}").json()["code"] == "INVALID_DATA"
    assert b.call("GET", f"/crm/v8/Leads/{kept}").status_code == 200
    for p in (a, b):
        r = p.call("GET", "/crm/v8/Projects/actions/count")
        assert (r.status_code, r.json()["code"]) == (400, "INVALID_MODULE")
    # The emulator's own state is not part of a snapshot: the journal still has the calls.
    paths = [c["path"] for c in b.call("GET", "/__corral/journal").json()["calls"]]
    assert f"/crm/v8/Leads/{gone}" in paths


def test_worker_pause_reaches_the_worker_of_every_process(
        pair: tuple[Process, Process]) -> None:
    a, b = pair
    worker = b.corral.worker()  # B's background worker (not started: driven by hand)
    b.emu.attach_worker(worker)
    r = a.call("PUT", "/__corral/worker", {"paused": True})
    assert r.json() == {"paused": True, "running": False}
    assert worker.before_round is not None
    worker.before_round()  # what the worker loop does before each round
    assert worker.paused is True
    assert b.call("PUT", "/__corral/worker", {"paused": False}).json()["paused"] is False
    a.emu.sync()
    assert a.emu.worker_paused is False


def test_seeded_processes_never_share_a_token(database_url: str) -> None:
    a = Process(database_url, options=EmulatorOptions(seed=3))
    b = Process(database_url, token=a.token, options=EmulatorOptions(seed=3))
    try:
        tokens = {make_token(p.corral) for p in (a, b) for _ in range(3)}
        assert len(tokens) == 6
    finally:
        b.close()
        a.close()


def test_a_server_start_clears_the_state_and_a_joining_process_shares_it(
        database_url: str) -> None:
    settings = Settings(database_url=database_url, run_worker=False, emulator=True)
    first = Emulator.open(settings)
    try:
        first.clock.freeze(datetime(2031, 1, 1))
        first.faults.add({"path": "*", "status": 500})
        first.limits.configure({"edition": "free", "used": 10})
        first.journal.add(time=first.clock(), direction="in", method="GET", path="/x",
                          query="", status=200, code=None, credits=1, duration_ms=1.0,
                          request_body=b"", response_body=b"")
        joined = Emulator.join(settings)
        try:  # another process of the same server: the state as it is
            assert joined.clock() == datetime(2031, 1, 1)
            assert len(joined.faults.list()) == 1
            assert joined.limits.usage().used == 10
            assert len(joined.journal.calls()) == 1
        finally:
            joined.corral.close()
    finally:
        first.corral.close()
    again = Emulator.open(settings)  # a new server start on the database: clean again
    try:
        assert not again.clock.frozen and again.faults.list() == []
        usage = again.limits.usage()
        assert (usage.edition, usage.used, usage.in_flight) == (None, 0, 0)
        assert again.journal.calls() == []
    finally:
        again.corral.close()


def test_concurrent_calls_in_both_processes_spend_a_fault_and_credits_exactly(
        pair: tuple[Process, Process]) -> None:
    """Many threads of both processes at once: a fault with `times: 7` hits 7 calls in all,
    and no more credits are spent than the allowance."""
    a, b = pair
    a.emu.faults.add({"path": "/crm/v8/Leads", "status": 500, "times": 7})
    a.emu.limits.configure({"edition": "free", "used": 5_000 - 9})
    for p in (a, b):
        p.emu.sync()

    def work(p: Process) -> tuple[int, int]:
        hits = admitted = 0
        for _ in range(6):
            hits += p.emu.faults.match("GET", "/crm/v8/Leads") is not None
            try:
                p.emu.limits.admit(1)
            except limits.Refusal:
                continue
            admitted += 1
            p.emu.limits.release()
        return hits, admitted

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(work, [a, b, a, b, a, b]))
    assert sum(h for h, _ in results) == 7
    assert sum(n for _, n in results) == 9
    usage = b.emu.limits.usage()
    assert (usage.used, usage.remaining, usage.in_flight) == (5_000, 0, 0)
    assert a.emu.faults.list() == []

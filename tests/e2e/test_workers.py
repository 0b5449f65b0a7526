"""`corral serve --workers N`: N server processes on one socket and one database.

Every other e2e test already runs against two processes (`helpers.E2E_WORKERS`); these check
the multi-process machinery itself, on SQLite and PostgreSQL: requests really reach every
process; metadata changed through one process is used by another at once, and page tokens one
process signs are taken by the other; a job's chunks are
shared by the processes' worker threads exactly once, and so are outbox deliveries (each
webhook sent once, by either process); a `kill -9` of the parent takes every
child with it (no process keeps the port or a SQLite lock); `--workers 1` is one process; and
emulator mode, whose state lives in the database, is one emulator across its processes.

Which process holds which connection is read from /proc (Linux), not from the server.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import signal
import socket
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from bench import common as bc

from tests.e2e.helpers import (
    Http,
    Server,
    alive,
    descendants,
    socket_owners,
)
from tests.e2e.test_mass_update_jobs import (
    assert_job_applied_once,
    job_status,
    leads_module_id,
    preload_leads,
)

pytestmark = pytest.mark.e2e

# Seconds to wait for every server process to accept a connection (a child still importing
# on a loaded machine leaves its siblings to accept meanwhile).
ALL_SERVING_TIMEOUT = 120.0
JOB_LEADS = 6_000


class Conn:
    """One keep-alive connection that never silently reconnects (so it stays with the server
    process that accepted it)."""

    def __init__(self, port: int, token: str) -> None:
        self.token = token
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.http.connect()
        self.http.auto_open = 0
        assert self.http.sock is not None
        self.port = int(self.http.sock.getsockname()[1])

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Zoho-oauthtoken {self.token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        self.http.request(method, f"/crm/v8/{path}", body=data, headers=headers)
        resp = self.http.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)

    def close(self) -> None:
        self.http.close()


def worker_connections(server: Server, token: str) -> dict[int, Conn]:
    """One answered connection per server process (pid -> connection): connections are opened
    (one at a time, each answered) until each of the server's `workers` processes has accepted
    one."""
    assert server.proc is not None
    family = descendants(server.proc.pid) | {server.proc.pid}
    mine: dict[int, Conn] = {}
    spare: list[Conn] = []
    try:
        deadline = time.monotonic() + ALL_SERVING_TIMEOUT
        while time.monotonic() < deadline:
            conn = Conn(server.port, token)
            status, body = conn.request("GET", "org")
            assert status == 200, body
            owner = socket_owners(family, server.port).get(conn.port)
            assert owner is not None, "the answering connection belongs to no server process"
            if owner in mine:
                spare.append(conn)
            else:
                mine[owner] = conn
            if len(mine) == server.workers:
                break
            time.sleep(0.02)
    finally:
        for conn in spare:
            conn.close()
    assert len(mine) == server.workers, f"only {sorted(mine)} answered\n{server.output()}"
    return mine


def test_every_worker_process_serves_requests(e2e_database_url: str, tmp_path: Path) -> None:
    with Server(e2e_database_url, tmp_path, workers=2) as server:
        token = server.admin_token()  # printed once, by the parent
        assert token, server.output()
        assert server.proc is not None
        conns = worker_connections(server, token)
        assert server.proc.pid not in conns  # the parent only supervises
        assert set(conns) <= descendants(server.proc.pid)
        for conn in conns.values():
            status, body = conn.request("POST", "Leads", {"data": [{"Last_Name": "Ng"}]})
            assert status == 201 and body["data"][0]["code"] == "SUCCESS", body
        status, body = next(iter(conns.values())).request("GET", "Leads/actions/count")
        assert (status, body) == (200, {"count": 2})
        for conn in conns.values():
            conn.close()


def test_metadata_changed_in_one_process_is_used_by_the_other_at_once(
        e2e_database_url: str, tmp_path: Path) -> None:
    with Server(e2e_database_url, tmp_path, workers=2) as server:
        token = server.admin_token()
        assert token, server.output()
        a, b = worker_connections(server, token).values()
        try:
            # a field added through A is written and read through B, and through A
            status, body = a.request("POST", "settings/fields?module=Leads", {"fields": [
                {"field_label": "Customer Code", "data_type": "text"}]})
            assert status == 201, body
            field_id = body["fields"][0]["details"]["id"]
            status, body = b.request("POST", "Leads", {"data": [
                {"Last_Name": "Daly", "Customer_Code": "C-1"}]})
            assert status == 201 and body["data"][0]["code"] == "SUCCESS", body
            lead = body["data"][0]["details"]["id"]
            for conn in (a, b):
                status, body = conn.request("GET", f"Leads/{lead}?fields=Customer_Code")
                assert status == 200 and body["data"][0]["Customer_Code"] == "C-1", body

            # made unique through B, enforced by A on the next write
            status, body = b.request("PATCH", f"settings/fields/{field_id}?module=Leads",
                                     {"fields": [{"unique": {"casesensitive": False}}]})
            assert status == 200, body
            status, body = a.request("POST", "Leads", {"data": [
                {"Last_Name": "Boyle", "Customer_Code": "c-1"}]})
            assert status == 400 and body["data"][0]["code"] == "DUPLICATE_DATA", body

            # a module created through A takes records through B
            status, body = a.request("POST", "settings/modules", {"modules": [
                {"singular_label": "Vehicle", "plural_label": "Vehicles",
                 "api_name": "Vehicles"}]})
            assert status == 201, body
            status, body = b.request("POST", "Vehicles", {"data": [{"Name": "Car 1"}]})
            assert status == 201 and body["data"][0]["code"] == "SUCCESS", body
            status, body = a.request("GET", "Vehicles/actions/count")
            assert (status, body) == (200, {"count": 1})
        finally:
            a.close()
            b.close()


def test_page_tokens_of_one_process_are_taken_by_the_other(e2e_database_url: str,
                                                           tmp_path: Path) -> None:
    """The page-token key is the database's (made once), not a process's."""
    with Server(e2e_database_url, tmp_path, workers=2) as server:
        token = server.admin_token()
        assert token, server.output()
        a, b = worker_connections(server, token).values()
        try:
            status, body = a.request("POST", "Leads", {"data": [
                {"Last_Name": f"Page{i}"} for i in range(4)]})
            assert status == 201, body
            made = {d["details"]["id"] for d in body["data"]}
            seen: list[str] = []
            path = "Leads?fields=Last_Name&per_page=1"
            for turn in range(10):
                status, body = (a, b)[turn % 2].request("GET", path)
                assert status == 200, body
                seen += [d["id"] for d in body["data"]]
                if not body["info"]["more_records"]:
                    break
                path = (f"Leads?fields=Last_Name&per_page=1"
                        f"&page_token={body['info']['next_page_token']}")
            assert sorted(seen) == sorted(made)
        finally:
            a.close()
            b.close()


def _chunk_holders(engine: sa.Engine, server_pids: set[int], pg_port: int) -> set[int]:
    """Server processes whose PostgreSQL session is inside a transaction working on a job
    chunk right now (pg_stat_activity's client port, owned by a process per /proc)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT client_port, query FROM pg_stat_activity "
            "WHERE backend_xid IS NOT NULL AND state IN ('active', 'idle in transaction') "
            "AND client_port IS NOT NULL")).all()
    ports = {r.client_port for r in rows if "job_items" in r.query or "records" in r.query
             or "change_log" in r.query}
    owners = socket_owners(server_pids, pg_port, local=False)
    return {owners[p] for p in ports if p in owners}


def test_worker_processes_share_a_job_exactly_once(e2e_database_url: str,
                                                   tmp_path: Path) -> None:
    """Each process runs its own background worker; a mass update job's chunks are claimed by
    both (PostgreSQL: seen holding chunks) and every record is changed exactly once."""
    url = e2e_database_url
    engine = bc.make_engine(url, 2)
    try:
        with Server(url, tmp_path, workers=2) as server:
            token = server.admin_token()
            assert token and server.proc is not None, server.output()
            worker_connections(server, token)  # both processes are up
            servers = descendants(server.proc.pid)
            module_id = leads_module_id(engine)
            status_of = preload_leads(engine, JOB_LEADS, "w")
            api = Http(server.base_url, token)
            status, body = api.get("settings/custom_views", params={"module": "Leads"})
            cvid = next(v["id"] for v in body["custom_views"] if v["name"] == "All Leads")
            status, body = api.post("Leads/actions/mass_update", {
                "data": [{"Lead_Status": "Contacted"}], "cvid": cvid})
            assert status == 200 and body["data"][0]["code"] == "SUCCESS", body
            job_id = body["data"][0]["details"]["job_id"]
            seen: set[int] = set()
            deadline = time.monotonic() + 300
            while True:
                if engine.dialect.name == "postgresql":
                    seen |= _chunk_holders(engine, servers, engine.url.port or 5432)
                st = job_status(api, job_id)
                if st["Status"] in ("COMPLETED", "FAILED"):
                    break
                assert time.monotonic() < deadline, f"{st}\n{server.output()}"
                time.sleep(0.01)
        assert st["Status"] == "COMPLETED" and st["Updated_Count"] == JOB_LEADS, st
        assert_job_applied_once(engine, int(job_id), module_id, status_of)
        if engine.dialect.name == "postgresql":
            assert len(seen) == 2, f"server processes seen holding chunks: {seen}"
    finally:
        engine.dispose()


WEBHOOK_RECORDS = 60


class SlowReceiver:
    """Webhook receiver on 127.0.0.1 taking 50 ms per call (so deliveries overlap), noting
    each call's body and which server process sent it."""

    def __init__(self, senders: set[int]) -> None:
        self.calls: list[tuple[dict[str, Any], int | None]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                port = self.server.server_address[1]  # type: ignore[index]
                sender = socket_owners(senders, int(port), local=False).get(
                    self.client_address[1])
                time.sleep(0.05)
                receiver.calls.append((body, sender))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_each_webhook_is_sent_once_by_one_of_the_processes(e2e_database_url: str,
                                                           tmp_path: Path) -> None:
    with Server(e2e_database_url, tmp_path, workers=2) as server:
        token = server.admin_token()
        assert token and server.proc is not None, server.output()
        worker_connections(server, token)  # both processes are up
        receiver = SlowReceiver(descendants(server.proc.pid))
        try:
            api = Http(server.base_url, token)
            status, body = api.post("settings/automation/workflow_rules", {
                "workflow_rules": [{"name": "Hook", "when": "create", "actions": [
                    {"type": "webhook", "url": receiver.url, "fields": ["Last_Name"]}]}]},
                params={"module": "Leads"})
            assert status == 201, body
            status, body = api.post("Leads", {"data": [
                {"Last_Name": f"Hook{i}"} for i in range(WEBHOOK_RECORDS)]})
            assert status == 201, body
            deadline = time.monotonic() + 120
            while len(receiver.calls) < WEBHOOK_RECORDS:
                assert time.monotonic() < deadline, (len(receiver.calls), server.output())
                time.sleep(0.1)
            time.sleep(1.0)  # a second sending of anything would arrive meanwhile
            status, listed = api.get("settings/automation/webhook_deliveries")
        finally:
            receiver.close()
    sent = Counter(body["delivery_id"] for body, _ in receiver.calls)
    assert len(sent) == WEBHOOK_RECORDS and set(sent.values()) == {1}, sent.most_common(3)
    assert status == 200, listed
    assert {d["status"] for d in listed["webhook_deliveries"]} == {"delivered"}
    senders = Counter(sender for _, sender in receiver.calls)
    assert None not in senders and len(senders) == 2, senders


def test_kill_9_of_the_parent_takes_every_child_with_it(tmp_path: Path) -> None:
    db_path = tmp_path / "corral.db"
    server = Server(f"sqlite:///{db_path}", tmp_path, workers=2).start()
    try:
        token = server.admin_token()
        assert token and server.proc is not None, server.output()
        conns = worker_connections(server, token)
        family = descendants(server.proc.pid)
        assert set(conns) <= family
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in family) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in family if alive(pid)], "children outlived the parent"
        for conn in conns.values():
            conn.close()
        with pytest.raises(OSError):  # nobody serves the port any more
            socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
        # nobody holds the database: the write lock is free at once
        db = sqlite3.connect(db_path, timeout=0, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
        finally:
            db.close()
    finally:
        server.stop()


def test_one_worker_is_one_process(tmp_path: Path) -> None:
    with Server(f"sqlite:///{tmp_path / 'corral.db'}", tmp_path, workers=1) as server:
        token = server.admin_token()
        assert token and server.proc is not None, server.output()
        assert "worker processes" not in server.output()
        assert descendants(server.proc.pid) == set()
        (owner,) = worker_connections(server, token)
        assert owner == server.proc.pid


def _control(conn: Conn, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """An emulator control call (`/__corral/...`) on this connection's process."""
    data = None if body is None else json.dumps(body).encode()
    conn.http.request(method, path, body=data,
                      headers={"Authorization": f"Zoho-oauthtoken {conn.token}",
                               "Content-Type": "application/json"})
    resp = conn.http.getresponse()
    raw = resp.read()
    return resp.status, (json.loads(raw) if raw else None)


def test_emulator_with_two_processes_is_one_emulator(tmp_path: Path) -> None:
    """The clock set through one process is the other's; a one-time fault fires once in all;
    the journal holds both processes' calls."""
    with Server(f"sqlite:///{tmp_path / 'corral.db'}", tmp_path, workers=2,
                extra_args=("--emulator",)) as server:
        token = server.admin_token()
        assert token, server.output()
        a, b = worker_connections(server, token).values()
        status, body = _control(a, "PUT", "/__corral/clock", {"advance_seconds": 3 * 86400})
        assert status == 200 and body["frozen"] is True, body
        status, seen = _control(b, "GET", "/__corral/clock")
        assert (status, seen) == (200, body)  # b shows the instant a froze
        status, body = b.request("POST", "Leads", {"data": [{"Last_Name": "Clocked"}]})
        assert status == 201, body
        status, body = a.request("GET", f"Leads/{body['data'][0]['details']['id']}")
        assert status == 200, body
        assert body["data"][0]["Created_Time"][:16] == seen["now"][:16], (body, seen)
        status, body = _control(b, "POST", "/__corral/faults",
                                {"path": "/crm/v8/org", "status": 500, "times": 1})
        assert status in (200, 201), body
        statuses = [c.request("GET", "org")[0] for c in (a, b, a, b)]
        assert sorted(statuses) == [200, 200, 200, 500], statuses
        status, body = _control(a, "GET", "/__corral/journal")
        assert status == 200, body
        org = [e["status"] for e in body["calls"] if e["path"] == "/crm/v8/org"]
        assert org.count(500) == 1 and len(org) >= 6, body  # both processes' calls, one fault
        for conn in (a, b):
            conn.close()

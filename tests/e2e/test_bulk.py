"""Bulk Write and Bulk Read against a real `corral serve`, on SQLite and PostgreSQL.

1. Upload, write jobs (insert with a bad row, upsert by a unique field, update by id, lookups
   found by name), read jobs (criteria, fields, several pages of a small page size); every
   job's callback is received by a real HTTP receiver on 127.0.0.1.
2. A 25,000-row insert job whose server is SIGKILLed mid-job, then restarted on the same
   database: the job completes with exact counts and exactly one change-log entry per row.
3. `corral import` SIGKILLed mid-job: a `corral worker` finishes the same job, exactly once.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from bench import common as bc

from corral.jobs.runner import CHUNK
from corral.records.bulk_files import zip_bytes
from corral.storage import tables as t
from tests.e2e.helpers import Server, child_env, corral_cmd

pytestmark = pytest.mark.e2e

TIMEOUT = 300.0
CRASH_ROWS = 25_000


class Receiver:
    """A callback receiver on 127.0.0.1: records every POSTed JSON body."""

    def __init__(self) -> None:
        received = self.received = []  # type: list[dict[str, Any]]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while True:
            for body in self.received:
                if body.get("job_id") == job_id:
                    return body
            assert time.monotonic() < deadline, f"no callback for {job_id}: {self.received}"
            time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


class Client:
    def __init__(self, server: Server, token: str) -> None:
        self.base = server.base_url
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Zoho-oauthtoken {token}"

    def upload(self, rows: list[list[str]]) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        r = self.s.post(f"{self.base}/crm/v8/upload",
                        headers={"feature": "bulk-write", "X-CRM-ORG": "1"},
                        files={"file": ("f.zip", zip_bytes("f.csv", buf.getvalue().encode()))})
        assert r.status_code == 200, r.text
        return str(r.json()["details"]["file_id"])

    def write(self, operation: str, rows: list[list[str]], module: str = "Leads",
              callback: str | None = None, **resource: Any) -> str:
        body: dict[str, Any] = {"operation": operation, "resource": [
            {"type": "data", "module": {"api_name": module}, "file_id": self.upload(rows),
             **resource}]}
        if callback:
            body["callback"] = {"url": callback, "method": "post"}
        r = self.s.post(f"{self.base}/crm/bulk/v8/write", json=body, timeout=120)
        assert r.status_code == 201, r.text
        return str(r.json()["details"]["id"])

    def wait(self, kind: str, job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            r = self.s.get(f"{self.base}/crm/bulk/v8/{kind}/{job_id}")
            assert r.status_code == 200, r.text
            body = r.json()
            detail = body["data"][0] if kind == "read" else body
            if detail.get("status", detail.get("state")) in ("COMPLETED", "FAILED", "FAILURE"):
                return dict(detail)
            assert time.monotonic() < deadline, detail
            time.sleep(0.1)

    def csv_of(self, url: str) -> list[dict[str, str]]:
        r = self.s.get(url if url.startswith("http") else self.base + url)
        assert r.status_code == 200, r.text
        # streamed as it is zipped: chunked, never a body built whole to measure its length
        assert r.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in r.headers
        with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
            (name,) = zf.namelist()
            return list(csv.DictReader(io.StringIO(zf.read(name).decode())))


def test_bulk_write_and_read_over_http(e2e_database_url: str, tmp_path: Path,
                                       receiver: Receiver,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_BULK_READ_PAGE_SIZE", "4")
    with Server(e2e_database_url, tmp_path) as server:
        token = server.admin_token()
        assert token, server.output()
        c = Client(server, token)
        r = c.s.post(f"{c.base}/crm/v8/Accounts", json={"data": [{"Account_Name": "Zylker"}]})
        assert r.status_code == 201, r.text
        account = r.json()["data"][0]["details"]["id"]

        job = c.write("insert", [["Last_Name", "Email", "Lead_Status"],
                                 *[[f"L{i}", f"l{i}@x.com", "Contacted" if i % 2 else "Junk Lead"]
                                   for i in range(11)], ["Bad", "bad-email", ""]],
                      callback=receiver.url)
        detail = c.wait("write", job)
        assert detail["status"] == "COMPLETED"
        assert detail["resource"][0]["file"]["added_count"] == 11
        assert detail["resource"][0]["file"]["skipped_count"] == 1
        rows = c.csv_of(detail["result"]["download_url"])
        assert [r["STATUS"] for r in rows] == ["ADDED"] * 11 + ["SKIPPED"]
        assert rows[-1]["ERRORS"] == "INVALID_DATA-Email"
        cb = receiver.wait_for(job)
        assert cb["status"] == "COMPLETED" and cb["resource"][0]["file"]["added_count"] == 11

        up = c.write("upsert", [["Email", "Last_Name"], ["L0@x.com", "Zero"], ["n@x.com", "New"]],
                     find_by="Email")
        assert [r["STATUS"] for r in c.csv_of(c.wait("write", up)["result"]["download_url"])] \
            == ["UPDATED", "ADDED"]
        upd = c.write("update", [["id", "Company"], [rows[1]["RECORD_ID"], "Acme"]],
                      find_by="id")
        assert c.wait("write", upd)["resource"][0]["file"]["updated_count"] == 1
        con = c.write("insert", [["Last_Name", "Account_Name.Account_Name"], ["Ann", "Zylker"]],
                      module="Contacts")
        (row,) = c.csv_of(c.wait("write", con)["result"]["download_url"])
        r = c.s.get(f"{c.base}/crm/v8/Contacts/{row['RECORD_ID']}")
        assert r.json()["data"][0]["Account_Name"]["id"] == account

        crit = {"field": {"api_name": "Lead_Status"}, "comparator": "equal",
                "value": "Contacted"}
        exported: list[dict[str, str]] = []
        for page in (1, 2):
            r = c.s.post(f"{c.base}/crm/bulk/v8/read", json={
                "callback": {"url": receiver.url, "method": "post"},
                "query": {"module": {"api_name": "Leads"}, "fields": ["Last_Name", "Company"],
                          "criteria": crit, "page": page}})
            assert r.status_code == 201, r.text
            rjob = r.json()["data"][0]["details"]["id"]
            detail = c.wait("read", rjob)
            assert detail["result"]["more_records"] is (page == 1)
            assert detail["result"]["per_page"] == 4
            exported += c.csv_of(detail["result"]["download_url"])
            assert receiver.wait_for(rjob)["state"] == "COMPLETED"
        assert sorted(r["Last_Name"] for r in exported) == ["L1", "L3", "L5", "L7", "L9"]
        assert [r["Company"] for r in exported if r["Last_Name"] == "L1"] == ["Acme"]
        assert set(exported[0]) == {"Id", "Last_Name", "Company"}


def _committed(url: str, job_id: int) -> dict[str, int]:
    engine = bc.make_engine(url, 1)
    try:
        opts = {} if engine.dialect.name == "sqlite" else {"isolation_level": "REPEATABLE READ"}
        with engine.connect().execution_options(**opts) as conn:
            states = dict(conn.execute(sa.select(t.job_items.c.state, sa.func.count()).where(
                t.job_items.c.job_id == job_id).group_by(t.job_items.c.state)).all())
            log = conn.execute(sa.select(t.change_log.c.record_id, t.change_log.c.operation)
                               .where(t.change_log.c.job_id == job_id)).all()
            leads = conn.execute(sa.select(sa.func.count()).select_from(t.records).where(
                t.records.c.module_id == sa.select(t.modules.c.id).where(
                    t.modules.c.api_name == "Leads").scalar_subquery())).scalar_one()
    finally:
        engine.dispose()
    per_record = Counter(r.record_id for r in log)
    assert set(per_record.values()) <= {1}, "a row logged twice"
    assert {r.operation for r in log} <= {"insert"}
    return {"added": int(states.get("added", 0)), "pending": int(states.get("pending", 0)),
            "failed": int(states.get("failed", 0)), "logged": len(log), "leads": int(leads)}


def test_server_killed_mid_bulk_write_resumes_exactly_once(e2e_database_url: str,
                                                           tmp_path: Path) -> None:
    url = e2e_database_url
    first = Server(url, tmp_path, "first")
    second = Server(url, tmp_path, "second")
    try:
        first.start()
        token = first.admin_token()
        assert token, first.output()
        c = Client(first, token)
        job = c.write("insert", [["Last_Name", "Email"],
                                 *[[f"K{i}", f"k{i}@x.com"] for i in range(CRASH_ROWS)]])
        deadline = time.monotonic() + 120
        while True:
            st = c.s.get(f"{c.base}/crm/bulk/v8/write/{job}").json()
            if st["resource"][0]["file"]["added_count"] > 0:
                break
            assert time.monotonic() < deadline, f"no progress\n{first.output()}"
            time.sleep(0.02)
        assert first.proc is not None
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(timeout=30)

        at_crash = _committed(url, int(job))
        assert at_crash["failed"] == 0, at_crash
        assert at_crash["added"] == at_crash["logged"] == at_crash["leads"], at_crash
        assert at_crash["added"] % CHUNK == 0 and 0 < at_crash["added"] < CRASH_ROWS, at_crash
        assert at_crash["added"] + at_crash["pending"] == CRASH_ROWS, at_crash

        second.start()
        c = Client(second, token)
        detail = c.wait("write", job)
        f = detail["resource"][0]["file"]
        assert (detail["status"], f["added_count"], f["skipped_count"], f["updated_count"],
                f["total_count"]) == ("COMPLETED", CRASH_ROWS, 0, 0, CRASH_ROWS)
        after = _committed(url, int(job))
        assert after == {"added": CRASH_ROWS, "pending": 0, "failed": 0, "logged": CRASH_ROWS,
                         "leads": CRASH_ROWS}, after
        rows = c.csv_of(detail["result"]["download_url"])
        assert len(rows) == CRASH_ROWS and {r["STATUS"] for r in rows} == {"ADDED"}
        assert len({r["RECORD_ID"] for r in rows}) == CRASH_ROWS
        print(f"committed at crash: {at_crash['added']} of {CRASH_ROWS}")
    finally:
        first.stop()
        second.stop()


def test_cli_import_killed_mid_job_is_finished_by_a_worker(e2e_database_url: str,
                                                           tmp_path: Path) -> None:
    """`corral import` runs the same durable job: SIGKILLed mid-way, a `corral worker` on the
    database finishes it, every row written exactly once."""
    url = e2e_database_url
    src = tmp_path / "leads.csv"
    with src.open("w", newline="") as f:
        csv.writer(f).writerows([["Last_Name", "Email"],
                                 *[[f"C{i}", f"c{i}@x.com"] for i in range(CRASH_ROWS)]])
    out = (tmp_path / "import.out").open("wb")
    proc = subprocess.Popen(corral_cmd("import", "Leads", str(src), "--database-url", url),
                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=child_env())
    worker: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 180
        job_id = None
        # A plain reader polled every few ms (as in the export test below): the bench engine
        # begins with SQLite's BEGIN IMMEDIATE, and a look that waits for the write lock can
        # lose it to the importer chunk after chunk until the whole file is in.
        with sa.create_engine(url).connect() as conn:
            while True:
                assert proc.poll() is None, (tmp_path / "import.out").read_text()
                try:
                    row = conn.execute(sa.select(t.jobs.c.id).where(
                        t.jobs.c.kind == "bulk_write")).first()
                    if row is not None:
                        job_id = int(row[0])
                        done = conn.execute(sa.select(sa.func.count()).select_from(
                            t.job_items).where(t.job_items.c.job_id == job_id,
                                               t.job_items.c.state == "added")).scalar_one()
                        if done:
                            break
                except sa.exc.DBAPIError:
                    pass  # tables not there yet
                finally:
                    conn.rollback()
                assert time.monotonic() < deadline, (tmp_path / "import.out").read_text()
                time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        at_crash = _committed(url, job_id)
        assert 0 < at_crash["added"] < CRASH_ROWS, at_crash
        assert at_crash["added"] == at_crash["logged"] == at_crash["leads"], at_crash

        worker = subprocess.Popen(corral_cmd("worker", "--database-url", url, "--poll", "0.05"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  stdin=subprocess.DEVNULL, env=child_env())
        deadline = time.monotonic() + TIMEOUT
        while _committed(url, job_id)["pending"]:
            assert worker.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert _committed(url, job_id) == {"added": CRASH_ROWS, "pending": 0, "failed": 0,
                                           "logged": CRASH_ROWS, "leads": CRASH_ROWS}
    finally:
        out.close()
        for p in (proc, worker):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(timeout=30)


EXPORT_ROWS = 24_000


def test_cli_export_killed_mid_job_is_finished_by_a_worker(e2e_database_url: str,
                                                           tmp_path: Path) -> None:
    """`corral export` (a Bulk Read job) SIGKILLed between chunks: each result part is
    committed with its items' progress, so a `corral worker` finishes the job and the result
    holds every record exactly once, in id order."""
    from corral.config import Settings
    from corral.services import Corral

    url = e2e_database_url
    corral = Corral.open(Settings.from_env(database_url=url))
    corral.seed()
    corral.close()
    engine = bc.make_engine(url, 1)
    _secs, ids = bc.preload_rows(engine, bc.read_meta(engine), EXPORT_ROWS,
                                 lambda i: bc.lead(i, f"e{i}@x.com"))
    out = (tmp_path / "export.out").open("wb")
    proc = subprocess.Popen(corral_cmd("export", "Leads", "-o",
                                       str(tmp_path / "export.csv"), "--database-url", url),
                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=child_env())
    worker: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 180
        # A plain reader polled every few ms: the bench engine begins every transaction with
        # SQLite's BEGIN IMMEDIATE, and a look that waits for the write lock loses it to the
        # exporter chunk after chunk until the export is done.
        with sa.create_engine(url).connect() as conn:
            while True:
                assert proc.poll() is None, (tmp_path / "export.out").read_text()
                parts = conn.execute(sa.select(sa.func.count()).select_from(
                    t.bulk_result_parts)).scalar_one()
                conn.rollback()
                if parts:
                    break
                assert time.monotonic() < deadline, (tmp_path / "export.out").read_text()
                time.sleep(0.002)
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        with engine.connect() as conn:
            job_id = conn.execute(sa.select(t.jobs.c.id).where(
                t.jobs.c.kind == "bulk_read")).scalar_one()
            parts = conn.execute(sa.select(sa.func.count()).select_from(
                t.bulk_result_parts)).scalar_one()
            exported = conn.execute(sa.select(sa.func.count()).select_from(t.job_items).where(
                t.job_items.c.job_id == job_id, t.job_items.c.state == "exported")
            ).scalar_one()
        assert 0 < parts < EXPORT_ROWS // CHUNK and exported == parts * CHUNK, (parts, exported)

        worker = subprocess.Popen(corral_cmd("worker", "--database-url", url, "--poll", "0.05"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  stdin=subprocess.DEVNULL, env=child_env())
        deadline = time.monotonic() + TIMEOUT
        while True:
            with engine.connect() as conn:
                status = conn.execute(sa.select(t.jobs.c.status).where(
                    t.jobs.c.id == job_id)).scalar_one()
            if status == "COMPLETED":
                break
            assert worker.poll() is None and time.monotonic() < deadline, status
            time.sleep(0.2)
        corral = Corral.open(Settings.from_env(database_url=url))
        try:
            service = corral.bulk_read
            text = b"".join(service.result_chunks(service.job(job_id))).decode()
        finally:
            corral.close()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["Id"] for r in rows] == [str(i) for i in ids]
        assert [r["Email"] for r in rows] == [f"e{i}@x.com" for i in range(EXPORT_ROWS)]
    finally:
        engine.dispose()
        out.close()
        for p in (proc, worker):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(timeout=30)

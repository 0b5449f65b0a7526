"""Scheduled mass update jobs under real processes: a server killed mid-job, and two workers.

1. `corral serve` runs a 50,000-record job over the "All Leads" view; once the first chunks
   have committed the server is SIGKILLed, then restarted on the same database. Each chunk of
   job items commits in one transaction with its records and change log, so at the crash point
   the committed items, the changed records and the change-log rows agree, and after the
   restart the job completes with every record changed exactly once and nothing else touched.
2. Two `corral worker` processes share one PostgreSQL job (FOR UPDATE SKIP LOCKED): each record
   is processed exactly once, and both workers are seen holding chunks.

Leads are preloaded with direct SQL in the rows the record service writes (bench/common.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from bench import common as bc
from sqlalchemy.engine import Engine

from corral.config import Settings
from corral.jobs.runner import CHUNK
from corral.records.service import WriteContext
from corral.services import Corral
from corral.storage import tables as t
from tests.e2e.helpers import Http, Server, child_env, corral_cmd

pytestmark = pytest.mark.e2e

URL = "Leads/actions/mass_update"
STATUSES = ["Not Contacted", "Attempted to Contact", "Junk Lead", "Pre-Qualified"]
CRASH_LEADS = 50_000
TWO_WORKER_LEADS = 20_000
COMPLETE_TIMEOUT = 300.0
_db_counter = iter(range(10**6))


# ----------------------------------------------------------------------------- helpers
def preload_leads(engine: Engine, n: int, tag: str) -> dict[int, str]:
    """n Leads written directly (records + record_keys + change_log, as the service writes
    them, ids reserved from the server's counter); none is Contacted. Returns id -> status."""

    def make(i: int) -> dict[str, Any]:
        raw = bc.lead(i, f"{tag}{i:06d}@example.com")
        raw["Lead_Status"] = STATUSES[i % len(STATUSES)]
        return raw

    _secs, ids = bc.preload_rows(engine, bc.read_meta(engine), n, make)
    return {rid: STATUSES[i % len(STATUSES)] for i, rid in enumerate(ids)}


@pytest.fixture
def engine() -> Iterator[Callable[[str], Engine]]:
    """engine(url): a plain SQLAlchemy engine on the test's database (made once the server
    has migrated it), disposed at the end."""
    made: list[Engine] = []

    def make(url: str) -> Engine:
        made.append(bc.make_engine(url, 2))
        return made[-1]

    yield make
    for e in made:
        e.dispose()


def leads_module_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(t.modules.c.id).where(
            t.modules.c.api_name == "Leads")).scalar_one())


def job_status(api: Http, job_id: str) -> dict[str, Any]:
    status, body = api.get(URL, params={"job_id": job_id})
    assert status == 200, body
    (item,) = body["data"]
    return dict(item)


def wait_completed(api: Http, job_id: str, server: Server) -> dict[str, Any]:
    deadline = time.monotonic() + COMPLETE_TIMEOUT
    while True:
        st = job_status(api, job_id)
        if st["Status"] in ("COMPLETED", "FAILED"):
            return st
        assert time.monotonic() < deadline, f"job not finished: {st}\n{server.output()}"
        time.sleep(0.25)


def committed_progress(engine: Engine, job_id: int, module_id: int) -> dict[str, int]:
    """What the database holds for the job: items per state, change-log rows, changed Leads
    (one snapshot: SQLite's transaction is one; PostgreSQL needs REPEATABLE READ)."""
    opts = {} if engine.dialect.name == "sqlite" else {"isolation_level": "REPEATABLE READ"}
    with engine.connect().execution_options(**opts) as conn:
        states: dict[str, int] = dict(conn.execute(
            sa.select(t.job_items.c.state, sa.func.count()).where(t.job_items.c.job_id == job_id)
            .group_by(t.job_items.c.state)).all())
        logged = conn.execute(sa.select(sa.func.count()).select_from(t.change_log).where(
            t.change_log.c.job_id == job_id)).scalar_one()
        changed = sum(1 for (data,) in conn.execute(
            sa.select(t.records.c.data).where(t.records.c.module_id == module_id))
            if data.get("Lead_Status") == "Contacted")
    return {"updated": int(states.get("updated", 0)), "pending": int(states.get("pending", 0)),
            "failed": int(states.get("failed", 0)), "logged": int(logged),
            "changed": changed}


def others_snapshot(engine: Engine, module_id: int) -> dict[int, tuple[Any, ...]]:
    """Every record outside Leads: id -> (data, owner, modified_by, modified_time)."""
    with engine.connect() as conn:
        return {r.id: (r.data, r.owner_id, r.modified_by, r.modified_time)
                for r in conn.execute(sa.select(t.records).where(
                    t.records.c.module_id != module_id))}


def assert_job_applied_once(engine: Engine, job_id: int, module_id: int,
                            status_of: dict[int, str]) -> None:
    """Every Lead Contacted; exactly one change-log row per record for the job (Lead_Status,
    old value as preloaded); no other update rows anywhere."""
    with engine.connect() as conn:
        leads = {r.id: r.data for r in conn.execute(
            sa.select(t.records.c.id, t.records.c.data).where(
                t.records.c.module_id == module_id))}
        rows = conn.execute(sa.select(t.change_log).where(
            t.change_log.c.job_id == job_id)).all()
        other_updates = conn.execute(sa.select(sa.func.count()).select_from(t.change_log).where(
            t.change_log.c.operation != "insert",
            sa.or_(t.change_log.c.job_id.is_(None), t.change_log.c.job_id != job_id))
        ).scalar_one()
        items = Counter(r.state for r in conn.execute(
            sa.select(t.job_items.c.state).where(t.job_items.c.job_id == job_id)))
        keys = conn.execute(sa.select(sa.func.count()).select_from(t.record_keys).where(
            t.record_keys.c.record_id.in_(sa.select(t.records.c.id).where(
                t.records.c.module_id == module_id)))).scalar_one()
    assert set(leads) == set(status_of)
    wrong = [rid for rid, data in leads.items() if data.get("Lead_Status") != "Contacted"]
    assert not wrong, f"{len(wrong)} leads not Contacted, e.g. {wrong[:3]}"
    per_record = Counter(r.record_id for r in rows)
    twice = [rid for rid, n in per_record.items() if n != 1]
    assert not twice, f"{len(twice)} records logged more than once, e.g. {twice[:3]}"
    assert set(per_record) == set(status_of)
    assert {(r.operation, r.field, r.new_value) for r in rows} == \
        {("update", "Lead_Status", "Contacted")}
    assert all(r.old_value == status_of[r.record_id] for r in rows)
    assert other_updates == 0
    assert items == {"updated": len(status_of)}
    assert keys == len(status_of)  # the Email keys are untouched


# ----------------------------------------------------------------------------- 1. crash
def test_server_killed_mid_job_resumes_without_loss_or_repeat(
        e2e_database_url: str, tmp_path: Path, engine: Callable[[str], Engine]) -> None:
    url = e2e_database_url
    first = Server(url, tmp_path, "first")
    second = Server(url, tmp_path, "second")
    try:
        first.start()
        token = first.admin_token()
        assert token, first.output()
        api = Http(first.base_url, token)
        status, body = api.post("Contacts", {"data": [
            {"Last_Name": f"Contact{i}", "Email": f"c{i}@example.com"} for i in range(3)]})
        assert status == 201, body

        db = engine(url)
        module_id = leads_module_id(db)
        t0 = time.monotonic()
        status_of = preload_leads(db, CRASH_LEADS, "crash")
        preload_secs = time.monotonic() - t0
        before = others_snapshot(db, module_id)
        assert len(before) == 3

        status, body = api.get("settings/custom_views", params={"module": "Leads"})
        assert status == 200, body
        cvid = next(v["id"] for v in body["custom_views"] if v["name"] == "All Leads")
        status, body = api.post(URL, {"data": [{"Lead_Status": "Contacted"}], "cvid": cvid})
        assert status == 200 and body["data"][0]["code"] == "SUCCESS", body
        job_id = body["data"][0]["details"]["job_id"]

        # wait for the first committed chunk, then kill the server mid-job
        deadline = time.monotonic() + 120
        while True:
            st = job_status(api, job_id)
            if st["Updated_Count"] > 0:
                break
            assert st["Status"] in ("SCHEDULED", "RUNNING"), st
            assert time.monotonic() < deadline, f"no progress: {st}\n{first.output()}"
            time.sleep(0.02)
        assert first.proc is not None
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(timeout=30)
        assert 0 < st["Updated_Count"] < CRASH_LEADS, st

        # at the crash point, committed items, log rows and changed records agree, by chunks
        at_crash = committed_progress(db, int(job_id), module_id)
        assert at_crash["failed"] == 0, at_crash
        assert at_crash["updated"] == at_crash["logged"] == at_crash["changed"], at_crash
        assert at_crash["updated"] % CHUNK == 0, at_crash
        assert at_crash["updated"] + at_crash["pending"] == CRASH_LEADS, at_crash
        assert 0 < at_crash["updated"] < CRASH_LEADS, at_crash

        # restart on the same database: the job resumes and completes
        t1 = time.monotonic()
        second.start()
        api = Http(second.base_url, token)
        st = wait_completed(api, job_id, second)
        resume_secs = time.monotonic() - t1
        assert st == {"Status": "COMPLETED", "Total_Count": CRASH_LEADS,
                      "Updated_Count": CRASH_LEADS, "Not_Updated_Count": 0,
                      "Failed_Count": 0}, st
        assert_job_applied_once(db, int(job_id), module_id, status_of)
        assert others_snapshot(db, module_id) == before
        print(f"preload {preload_secs:.1f}s, committed at crash {at_crash['updated']}, "
              f"resume to COMPLETED {resume_secs:.1f}s")
    finally:
        first.stop()
        second.stop()


# ----------------------------------------------------------------------------- 2. two workers
def _pg_activity(db: Engine, names: tuple[str, ...]) -> set[str]:
    """Workers (by application_name) inside a transaction that has written or locked rows
    (it has an xid) and is working on the job tables: i.e. holding a chunk right now."""
    with db.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT application_name, query FROM pg_stat_activity "
            "WHERE application_name = ANY(:names) AND backend_xid IS NOT NULL "
            "AND state IN ('active', 'idle in transaction')"), {"names": list(names)}).all()
    return {r.application_name for r in rows
            if any(word in r.query for word in ("job_items", "records", "change_log"))}


def test_two_workers_share_one_postgresql_job_exactly_once(
        pg: Any, tmp_path: Path, engine: Callable[[str], Engine]) -> None:
    url = pg.create_database(f"corral_mu_workers_{os.getpid()}_{next(_db_counter)}")
    corral = Corral.open(Settings(database_url=url, run_worker=False))
    names = ("corral-mu-worker-a", "corral-mu-worker-b")
    workers: list[subprocess.Popen[bytes]] = []
    try:
        corral.seed()
        db = engine(url)
        module = corral.registry.require("Leads")
        status_of = preload_leads(db, TWO_WORKER_LEADS, "two")

        # both workers up and polling (every 0.05 s) before the job exists
        for name in names:
            with open(tmp_path / f"{name}.out", "wb") as out, \
                    open(tmp_path / f"{name}.err", "wb") as err:
                workers.append(subprocess.Popen(
                    corral_cmd("worker", "--database-url", url, "--poll", "0.05"),
                    stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                    env={**child_env(), "PGAPPNAME": name}))

        def output() -> str:
            return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')}"
                             for p in sorted(tmp_path.glob("corral-mu-worker-*")))

        deadline = time.monotonic() + 60
        while not all("Corral worker on" in (tmp_path / f"{n}.err").read_text()
                      for n in names):
            assert all(w.poll() is None for w in workers), output()
            assert time.monotonic() < deadline, output()
            time.sleep(0.05)

        admin = corral.auth.principal_for_user(corral.auth.user_by_email(None).id)
        assert admin is not None
        with db.connect() as conn:  # "All Leads"
            cvid = conn.execute(sa.select(t.custom_views.c.id).where(
                t.custom_views.c.module_id == module.id,
                t.custom_views.c.system_name == "ALLVIEWS")).scalar_one()
        body = {"data": [{"Lead_Status": "Contacted"}], "cvid": str(cvid)}
        spec = corral.mass_update.prepare(module, body, admin)
        job_id = corral.mass_update.schedule(module, str(cvid), None, spec,
                                             WriteContext(admin, request_id="two-workers"))

        seen: set[str] = set()
        deadline = time.monotonic() + COMPLETE_TIMEOUT
        while True:
            seen |= _pg_activity(db, names)
            st = corral.mass_update.status(module, job_id)
            if st["Status"] in ("COMPLETED", "FAILED"):
                break
            assert all(w.poll() is None for w in workers), output()
            assert time.monotonic() < deadline, f"{st}\n{output()}"
            time.sleep(0.01)
        assert st == {"Status": "COMPLETED", "Total_Count": TWO_WORKER_LEADS,
                      "Updated_Count": TWO_WORKER_LEADS, "Not_Updated_Count": 0,
                      "Failed_Count": 0}, st
        assert_job_applied_once(db, job_id, module.id, status_of)
        assert seen == set(names), f"workers seen holding chunks: {seen}\n{output()}"
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
        for w in workers:
            try:
                w.wait(timeout=15)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait(timeout=15)
        corral.close()

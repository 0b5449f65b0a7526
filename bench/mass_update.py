"""Mass update: a 50,000-record scheduled job against a preloaded Leads module, a raw SQL
baseline of the same update, and the latency of instant 500-id mass updates.

    python bench/mass_update.py                     # 200,000 Leads preloaded, SQLite temp file
    python bench/mass_update.py --pg                # throwaway PostgreSQL cluster
    python bench/mass_update.py --database-url postgresql+psycopg://user@host/emptydb
    python bench/mass_update.py --py-spy job.svg --py-spy-gil   # profile the job's server side

Preload: --preload Leads written directly with SQLAlchemy Core executemany (records,
record_keys and change_log rows exactly as the record service writes them, ids reserved from
the server's counter), then ANALYZE. Exactly --view-size of them have Lead_Status
"Not Contacted" (the job's view), another --view-size "Attempted to Contact" (the raw
baseline's rows), the rest other statuses; none has a Rating.

1. Job (a real `corral serve` subprocess, its in-process worker): POST
   /crm/v2/settings/custom_views?module=Leads creates a view with the v8 criteria
   Lead_Status equal "Not Contacted"; the clock starts before POST
   /crm/v2/Leads/actions/mass_update {"cvid": ..., "data": [{"Rating": "Active"}]} and stops
   when GET ...?job_id= (polled every --poll seconds) says COMPLETED.
2. Raw SQL, same process, same database: the same change on the other --view-size rows: one
   SELECT of the ids by the same JSON condition, then per chunk of --raw-chunk ids one
   transaction: SELECT id, data; executemany UPDATE records (data, modified_by,
   modified_time); executemany INSERT change_log (one `update` row per record, field Rating,
   job_id set), as the service writes them.
3. Instant mode: --calls POST mass_update calls with 500 distinct ids each (ids of leads in
   neither group), one keep-alive connection, after --warmup untimed calls; p50/p95/max.

Prints figures and the ratio only; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from bench import common as c
from sqlalchemy.engine import Engine

from corral.storage import tables as t

VIEW_STATUS = "Not Contacted"  # the job's rows
RAW_STATUS = "Attempted to Contact"  # the raw baseline's rows
OTHER_STATUSES = ["Contact in Future", "Contacted", "Junk Lead", "Lost Lead", "Pre-Qualified",
                  "Not Qualified"]
JOB_VALUE = "Active"
JOB_TIMEOUT = 1800.0


def preload_email(i: int) -> str:
    return f"mu{i:08d}@example.com"


def group_of(i: int, view_size: int) -> str:
    """Lead i's status: the first view_size leads of every 4 are the view, ... (interleaved
    so the view's rows are spread over the table, as in real data)."""
    if i % 4 == 0 and i // 4 < view_size:
        return VIEW_STATUS
    if i % 4 == 1 and i // 4 < view_size:
        return RAW_STATUS
    return OTHER_STATUSES[i % len(OTHER_STATUSES)]


def preload(engine: Engine, meta: c.Meta, n: int, view_size: int,
            chunk: int = 5000) -> tuple[float, list[int]]:
    """n leads directly (records + record_keys + change_log as the service writes them),
    statuses spread by group_of; returns seconds and the ids in lead order."""

    def make(i: int) -> dict[str, Any]:
        raw = c.lead(i, preload_email(i))
        raw["Lead_Status"] = group_of(i, view_size)
        return raw

    return c.preload_rows(engine, meta, n, make, chunk)


# ----------------------------------------------------------------------------- HTTP
class Client:
    """One keep-alive connection to the server."""

    def __init__(self, server: c.Server) -> None:
        self.port = server.port
        self.conn = self._connect()
        self.headers = {"Authorization": f"Zoho-oauthtoken {server.token}",
                        "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        raw_body = None if body is None else c.dumps(body)
        t0 = time.perf_counter()
        self.conn.request(method, path, body=raw_body, headers=self.headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        dt = time.perf_counter() - t0
        return resp.status, (json.loads(raw) if raw else None), dt

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=c.CALL_TIMEOUT)

    def reconnect(self) -> None:
        """A fresh connection (the server closes keep-alive connections idle for 5 s)."""
        self.conn.close()
        self.conn = self._connect()

    def close(self) -> None:
        self.conn.close()


def create_view(client: Client) -> str:
    status, body, _ = client.call("POST", "/crm/v2/settings/custom_views?module=Leads", {
        "custom_views": [{"name": "Bench not contacted", "access_type": "public",
                          "criteria": {"comparator": "equal",
                                       "field": {"api_name": "Lead_Status"},
                                       "value": VIEW_STATUS}}]})
    if status != 201:
        raise RuntimeError(f"creating the view failed: {status} {body}")
    return str(body["custom_views"][0]["details"]["id"])


def run_job(server: c.Server, client: Client, cvid: str, poll: float,
            py_spy: str | None, gil: bool) -> dict[str, Any]:
    path = "/crm/v2/Leads/actions/mass_update"
    cpu0 = server.cpu_seconds()
    with c.profiled(server, py_spy, gil):
        t0 = time.perf_counter()
        status, body, schedule_secs = client.call(
            "POST", path, {"cvid": cvid, "data": [{"Rating": JOB_VALUE}]})
        if status != 200 or body["data"][0].get("code") != "SUCCESS":
            raise RuntimeError(f"scheduling failed: {status} {body}")
        job_id = body["data"][0]["details"]["job_id"]
        polls: list[float] = []
        first_progress: float | None = None
        while True:
            status, body, dt = client.call("GET", f"{path}?job_id={job_id}")
            polls.append(dt)
            st = body["data"][0] if status == 200 else {}
            if first_progress is None and st.get("Updated_Count", 0) > 0:
                first_progress = time.perf_counter() - t0
            if st.get("Status") in ("COMPLETED", "FAILED"):
                break
            if time.perf_counter() - t0 > JOB_TIMEOUT:
                raise RuntimeError(f"job not finished after {JOB_TIMEOUT:.0f}s: {status} {body}")
            time.sleep(poll)
        elapsed = time.perf_counter() - t0
    cpu1 = server.cpu_seconds()
    return {"job_id": job_id, "elapsed": elapsed, "schedule": schedule_secs, "status": st,
            "first_progress": first_progress, "polls": polls,
            "cpu": None if cpu0 is None or cpu1 is None else cpu1 - cpu0}


def instant(server: c.Server, client: Client, id_groups: list[list[int]], warmup: int,
            ) -> tuple[list[float], dict[str, int], float | None]:
    path = "/crm/v2/Leads/actions/mass_update"
    lat: list[float] = []
    outcomes: dict[str, int] = {}
    cpu0: float | None = None
    for n, ids in enumerate(id_groups):
        if n == warmup:
            cpu0 = server.cpu_seconds()
        # ids as JSON numbers, as the v2 SDK sends them
        status, body, dt = client.call("POST", path, {"data": [{"Rating": "Acquired"}],
                                                      "ids": ids})
        if n >= warmup:
            lat.append(dt)
            outcomes[f"HTTP {status}"] = outcomes.get(f"HTTP {status}", 0) + 1
            for item in (body or {}).get("data", []):
                key = item.get("code", "?")
                outcomes[key] = outcomes.get(key, 0) + 1
    cpu1 = server.cpu_seconds()
    cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    return lat, outcomes, cpu


# ----------------------------------------------------------------------------- raw SQL
def raw_update(engine: Engine, meta: c.Meta, chunk: int) -> dict[str, float]:
    """The same change on the RAW_STATUS rows with plain SQLAlchemy Core."""
    job_id = 1  # any value: the column is not a foreign key
    rating = "Market Failed"
    update_q = sa.update(t.records).where(t.records.c.id == sa.bindparam("rid")).values(
        data=sa.bindparam("data"), modified_by=sa.bindparam("modified_by"),
        modified_time=sa.bindparam("modified_time"))
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(
            sa.select(t.records.c.id).where(
                t.records.c.module_id == meta.module_id,
                t.records.c.deleted_time.is_(None),
                t.records.c.converted.is_(False),
                t.records.c.data["Lead_Status"].as_string() == RAW_STATUS)
            .order_by(t.records.c.id))]
    select_secs = time.perf_counter() - t0
    txn: list[float] = []
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        t1 = time.perf_counter()
        now = c.utc_now()
        with engine.begin() as conn:
            rows = conn.execute(sa.select(t.records.c.id, t.records.c.data)
                                .where(t.records.c.id.in_(part))).all()
            updates, logs = [], []
            for row in rows:
                old = row.data.get("Rating")
                data = dict(row.data)
                data["Rating"] = rating
                updates.append({"rid": row.id, "data": data, "modified_by": meta.user_id,
                                "modified_time": now})
                logs.append({"record_id": row.id, "module_id": meta.module_id,
                             "user_id": meta.user_id, "at": now, "request_id": "raw-bench",
                             "job_id": job_id, "operation": "update", "field": "Rating",
                             "old_value": old, "new_value": rating})
            conn.execute(update_q, updates)
            conn.execute(sa.insert(t.change_log), logs)
        txn.append(time.perf_counter() - t1)
    return {"records": len(ids), "elapsed": time.perf_counter() - t0, "select": select_secs,
            "cpu": time.process_time() - cpu0, "txn_p50": c.percentile(txn, 50),
            "txn_p99": c.percentile(txn, 99)}


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_common_args(ap, calls=30, clients=1)
    ap.add_argument("--preload", type=int, default=200_000,
                    help="Leads written before the run (default %(default)s)")
    ap.add_argument("--view-size", type=int, default=50_000,
                    help="leads in the job's view, and in the raw baseline (default "
                         "%(default)s; at most preload/4 and 50,000)")
    ap.add_argument("--poll", type=float, default=0.2,
                    help="seconds between job status calls (default %(default)s)")
    ap.add_argument("--raw-chunk", type=int, default=1000,
                    help="records per raw SQL transaction (default %(default)s)")
    ap.add_argument("--ids", type=int, default=500,
                    help="ids per instant mass update call (default %(default)s)")
    ap.add_argument("--py-spy-instant", metavar="FILE", default=None,
                    help="profile the server with py-spy during the instant calls (--py-spy "
                         "profiles the job; --py-spy-gil applies to both)")
    ap.add_argument("--skip-job", action="store_true", help="skip the scheduled job")
    ap.add_argument("--skip-instant", action="store_true", help="skip the instant calls")
    args = ap.parse_args(argv)
    view = min(args.view_size, args.preload // 4)
    others = args.preload - 2 * view
    wanted = (args.warmup + args.calls) * args.ids
    if not args.skip_instant and others < wanted:
        ap.error(f"--preload too small: the instant part needs {wanted:,} leads outside "
                 f"the two groups, there are {others:,}")

    with c.bench_database(args) as db:
        print(c.machine_line())
        print(f"database: {db.label}")
        print(f"workload: preload {args.preload:,} Leads; job: view of {view:,} "
              f"(Lead_Status = {VIEW_STATUS!r}) set Rating; raw SQL: {view:,} other rows in "
              f"chunks of {args.raw_chunk:,}; instant: {args.calls} calls x {args.ids} ids")
        with c.Server(db.url, args.workers) as server:
            assert server.token is not None
            engine = c.make_engine(db.url, 2)
            client = Client(server)
            try:
                meta = c.read_meta(engine)
                secs, ids = preload(engine, meta, args.preload, view)
                print(f"preload: {args.preload:,} Leads in {secs:.1f} s "
                      f"({args.preload / secs:,.0f} records/s, direct SQL)")
                job_rate = None
                if not args.skip_job:
                    client.reconnect()
                    cvid = create_view(client)
                    res = run_job(server, client, cvid, args.poll, args.py_spy,
                                  args.py_spy_gil)
                    st = res["status"]
                    done = st.get("Updated_Count", 0)
                    job_rate = done / res["elapsed"] if res["elapsed"] else float("nan")
                    print("scheduled job (corral serve, in-process worker)")
                    print(f"  status       {st}")
                    print(f"  schedule     POST took {res['schedule'] * 1000:.0f} ms "
                          f"(view query + {st.get('Total_Count', 0):,} job_items rows)")
                    if res["first_progress"] is not None:
                        print(f"  first chunk  visible after {res['first_progress']:.2f} s")
                    print(f"  COMPLETED    after {res['elapsed']:.2f} s "
                          f"= {job_rate:,.0f} records/s")
                    print(f"  status GET   p50 {c.percentile(res['polls'], 50) * 1000:.1f} ms, "
                          f"max {max(res['polls']) * 1000:.1f} ms over {len(res['polls'])} polls")
                    if res["cpu"] is not None and done:
                        print(f"  server CPU   {res['cpu']:.2f} s = "
                              f"{res['cpu'] / done * 1e6:,.0f} us/record")
                if not args.skip_raw:
                    raw = raw_update(engine, meta, args.raw_chunk)
                    raw_rate = raw["records"] / raw["elapsed"]
                    print(f"raw SQL (select ids by JSON condition, then per {args.raw_chunk:,}: "
                          "SELECT data + executemany UPDATE records + INSERT change_log)")
                    print(f"  records {raw['records']:,}, wall {raw['elapsed']:.2f} s "
                          f"(id select {raw['select']:.2f} s) = {raw_rate:,.0f} records/s")
                    print(f"  Python CPU   {raw['cpu']:.2f} s = "
                          f"{raw['cpu'] / max(1, raw['records']) * 1e6:,.0f} us/record")
                    print(f"  latency/txn  p50 {raw['txn_p50'] * 1000:.1f} ms, "
                          f"p99 {raw['txn_p99'] * 1000:.1f} ms")
                    if job_rate:
                        print(f"ratio job/raw: job took {raw_rate / job_rate:.1f}x the raw "
                              "SQL time (target: within 10x)")
                if not args.skip_instant:
                    pool = [ids[i] for i in range(args.preload)
                            if group_of(i, view) not in (VIEW_STATUS, RAW_STATUS)]
                    groups = [pool[k * args.ids:(k + 1) * args.ids]
                              for k in range(args.warmup + args.calls)]
                    client.reconnect()
                    with c.profiled(server, args.py_spy_instant, args.py_spy_gil):
                        lat, outcomes, cpu = instant(server, client, groups, args.warmup)
                    print(f"instant mass update ({args.ids} ids per call, one connection, "
                          f"{args.calls} calls after {args.warmup} warm-up)")
                    print(f"  latency      p50 {c.percentile(lat, 50) * 1000:.1f} ms, "
                          f"p95 {c.percentile(lat, 95) * 1000:.1f} ms, "
                          f"max {max(lat) * 1000:.1f} ms, "
                          f"mean {statistics.mean(lat) * 1000:.1f} ms (target p50 < 100 ms)")
                    if cpu is not None:
                        print(f"  server CPU   {cpu / len(lat) * 1000:.1f} ms/call = "
                              f"{cpu / (len(lat) * args.ids) * 1e6:,.0f} us/record")
                    print(f"  outcomes     {outcomes}")
                print(c.machine_line())
            finally:
                client.close()
                engine.dispose()


if __name__ == "__main__":
    main()

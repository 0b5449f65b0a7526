"""COQL at scale: p50/p95 latency of `POST /crm/v8/coql` over HTTP against a `corral serve`
subprocess, with 100,000 Leads preloaded, for an index-backed WHERE; then the same query as
plain `sqlite3` SQL in this process against the same database file, and the ratio.

The WHERE is a `Created_Time` window (about 1,000 of the Leads, created one second apart):
`Created_Time` is a column of `records`, and the existing index `ix_records_module_created
(module_id, created_time)` serves it, so no index is added. The script prints SQLite's query
plan for the SQL Corral itself runs (captured from an in-process Corral), so a plan that stops
using the index shows. A second query asks for one Lead by `Email` (the duplicate-check field:
COQL narrows `=` on it through `record_keys`, whose primary key serves it), a third groups the
window by Company (COUNT, SUM).

    python bench/coql.py                    # fresh SQLite file in a temp dir
    python bench/coql.py --calls 500 --preload 200000

SQLite only: the baseline is the standard library's `sqlite3` on the same file.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common as c  # noqa: E402

from corral.config import Settings  # noqa: E402
from corral.services import Corral  # noqa: E402
from corral.storage import tables as t  # noqa: E402

WINDOW = 1000  # seconds, i.e. Leads per window
ROWS_QUERY = ("select Last_Name, First_Name, Email, Company from Leads "
              "where Created_Time between '{lo}' and '{hi}'")
EMAIL_QUERY = "select Last_Name, Email from Leads where Email = '{email}'"
GROUP_QUERY = ("select Company, COUNT(id), SUM(No_of_Employees) from Leads "
               "where Created_Time between '{lo}' and '{hi}' group by Company")
RAW_ROWS = """
SELECT json_extract(data, '$.Last_Name'), json_extract(data, '$.First_Name'),
       json_extract(data, '$.Email'), json_extract(data, '$.Company'), id
FROM records
WHERE module_id = ? AND deleted_time IS NULL AND converted = 0 AND approval_state = 'approved'
  AND created_time >= ? AND created_time < ?
ORDER BY id LIMIT 201"""
RAW_EMAIL = """
SELECT json_extract(data, '$.Last_Name'), json_extract(data, '$.Email'), id
FROM records
WHERE module_id = ? AND deleted_time IS NULL AND converted = 0 AND approval_state = 'approved'
  AND id IN (SELECT record_id FROM record_keys WHERE field_id = ? AND value = ?)
  AND lower(json_extract(data, '$.Email')) = lower(?)
ORDER BY id LIMIT 201"""
RAW_GROUP = """
SELECT json_extract(data, '$.Company') AS company, count(id),
       sum(CAST(json_extract(data, '$.No_of_Employees') AS REAL))
FROM records
WHERE module_id = ? AND deleted_time IS NULL AND converted = 0 AND approval_state = 'approved'
  AND created_time >= ? AND created_time < ?
GROUP BY company ORDER BY company LIMIT 201"""


def preload(engine: sa.Engine, meta: c.Meta, n: int) -> tuple[float, Any]:
    """n Leads created one second apart, newest first (lead i at `now - i` seconds)."""
    t0 = time.perf_counter()
    ids = c.reserve_ids(engine, n)
    now = c.utc_now().replace(microsecond=0)
    for start in range(0, n, 5000):
        recs, keys, logs = [], [], []
        for i in range(start, min(n, start + 5000)):
            raw = {**c.lead(i, f"lead{i}@coql.example"), "No_of_Employees": i % 50}
            r, k, lg = c.insert_rows(meta, ids[i], c.stored_data(raw),
                                     now - timedelta(seconds=i), None)
            recs.append(r)
            keys.append(k)
            logs.append(lg)
        with engine.begin() as conn:
            conn.execute(sa.insert(t.records), recs)
            conn.execute(sa.insert(t.record_keys), keys)
            conn.execute(sa.insert(t.change_log), logs)
            c.index_queued(conn)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - t0, now


def windows(now: Any, n: int, calls: int) -> list[tuple[Any, Any]]:
    """`calls` different windows spread over the preloaded range (the last one inclusive)."""
    step = max(1, (n - WINDOW) // max(1, calls))
    out = []
    for k in range(calls):
        hi = now - timedelta(seconds=(k * step) % max(1, n - WINDOW))
        out.append((hi - timedelta(seconds=WINDOW - 1), hi))
    return out


def iso(dt: Any) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def stamp(dt: Any) -> str:
    """As SQLAlchemy stores a DateTime in SQLite."""
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")


def run_http(server: c.Server, queries: list[str]) -> c.LoadResult:
    bodies = [c.dumps({"select_query": query}) for query in queries]
    return c.run_http(server, "POST", "/crm/v8/coql", bodies, 1)


def run_raw(path: str, sql: str, params: list[tuple[Any, ...]]) -> list[float]:
    conn = sqlite3.connect(path)
    try:
        out = []
        for p in params:
            t0 = time.perf_counter()
            conn.execute(sql, p).fetchall()
            out.append(time.perf_counter() - t0)
        return out
    finally:
        conn.close()


def workloads(meta: c.Meta, wins: list[tuple[Any, Any]], n: int,
              ) -> list[tuple[str, list[str], str, list[tuple[Any, ...]]]]:
    """(title, COQL queries, plain SQL, its parameters per call) per query kind."""
    def between(lo: Any, hi: Any) -> tuple[Any, ...]:
        return (meta.module_id, stamp(lo), stamp(hi + timedelta(seconds=1)))

    emails = [f"Lead{(k * 7919) % n}@COQL.example" for k in range(len(wins))]
    return [
        ("rows: " + ROWS_QUERY, [ROWS_QUERY.format(lo=iso(lo), hi=iso(hi)) for lo, hi in wins],
         RAW_ROWS, [between(lo, hi) for lo, hi in wins]),
        ("key: " + EMAIL_QUERY, [EMAIL_QUERY.format(email=e) for e in emails], RAW_EMAIL,
         [(meta.module_id, meta.email_field_id, e.casefold(), e) for e in emails]),
        ("group: " + GROUP_QUERY, [GROUP_QUERY.format(lo=iso(lo), hi=iso(hi))
                                   for lo, hi in wins],
         RAW_GROUP, [between(lo, hi) for lo, hi in wins]),
    ]


def corral_plan(url: str, path: str, query: str) -> list[str]:
    """SQLite's plan for the statement an in-process Corral runs for `query`."""
    corral = Corral.open(Settings(database_url=url, run_worker=False), prepare=False)
    seen: list[tuple[str, Any]] = []

    @event.listens_for(corral.db.read_engine, "before_cursor_execute")
    def capture(_conn: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    try:
        corral.registry.refresh()
        module = corral.registry.get("Leads")
        assert module is not None
        compiled = corral.coql.compile(corral.coql.parse(query), module, version="v8",
                                       tz=corral.query.principal_tz(_admin(corral)))
        corral.coql.run(compiled)
    finally:
        corral.close()
    statement, params = next((s, p) for s, p in reversed(seen) if "FROM records" in s)
    conn = sqlite3.connect(path)
    try:
        return [str(row[-1]) for row in conn.execute("EXPLAIN QUERY PLAN " + statement,
                                                     params)]
    finally:
        conn.close()


def _admin(corral: Corral) -> Any:
    from corral.auth.service import Principal

    return Principal(corral.auth.user_by_email(None), ())


def report(title: str, load: c.LoadResult, raw: list[float]) -> None:
    lat = load.latencies
    statuses = sorted({r.status for r in load.calls})
    counts = [len(r.body["data"]) for r in load.calls if r.status == 200 and r.body]
    p50, p95 = c.percentile(lat, 50), c.percentile(lat, 95)
    r50, r95 = c.percentile(raw, 50), c.percentile(raw, 95)
    print(f"{title}")
    print(f"  HTTP  {len(lat)} calls, statuses {statuses}, rows/call "
          f"{min(counts, default=0)}-{max(counts, default=0)}: p50 {p50 * 1000:.2f} ms, "
          f"p95 {p95 * 1000:.2f} ms")
    print(f"  plain sqlite3 (same SQL shape, same file): p50 {r50 * 1000:.3f} ms, "
          f"p95 {r95 * 1000:.3f} ms")
    print(f"  ratio HTTP/sqlite3: p50 {p50 / r50:.1f}x, p95 {p95 / r95:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preload", type=int, default=100_000, help="Leads (default 100,000)")
    ap.add_argument("--calls", type=int, default=200, help="timed calls per query")
    ap.add_argument("--warmup", type=int, default=10, help="untimed calls first")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = ap.parse_args()
    args.database_url, args.pg = None, False
    with c.bench_database(args) as db:
        path = db.url.removeprefix("sqlite:///")
        print(c.machine_line())
        print(f"database: {db.label}; sqlite3 {sqlite3.sqlite_version}")
        with c.Server(db.url) as server:
            engine = c.make_engine(db.url, 2)
            meta = c.read_meta(engine)
            secs, now = preload(engine, meta, args.preload)
            engine.dispose()
            print(f"preload: {args.preload:,} Leads in {secs:.1f} s (direct SQL)")
            wins = windows(now, args.preload, args.calls + args.warmup)
            timed = wins[args.warmup:]
            lo, hi = timed[0]
            for label, query in (("window", ROWS_QUERY.format(lo=iso(lo), hi=iso(hi))),
                                 ("email", EMAIL_QUERY.format(email="lead5@coql.example"))):
                print(f"plan of Corral's SQL ({label}):",
                      "; ".join(corral_plan(db.url, path, query)))
            for title, queries, raw_sql, params in workloads(meta, wins, args.preload):
                n = args.warmup
                run_http(server, queries[:n])
                load = run_http(server, queries[n:])
                run_raw(path, raw_sql, params[:n])
                raw = run_raw(path, raw_sql, params[n:])
                report(title.format(lo="…", hi="…", email="…"), load, raw)
                bad = [r for r in load.calls if r.status != 200]
                if bad:
                    print("  first failure:", json.dumps(bad[0].body)[:300])


if __name__ == "__main__":
    main()

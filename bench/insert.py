"""Insert throughput: POST /crm/v2/Leads with 100 Leads per call, then a raw SQL baseline.

    python bench/insert.py                       # fresh SQLite file in a temp dir
    python bench/insert.py --pg                  # throwaway PostgreSQL cluster
    python bench/insert.py --calls 400 --clients 8

HTTP part: a real `corral serve` subprocess; --clients threads, each with one keep-alive
connection, send --calls calls of --batch Leads (Last_Name, First_Name, unique Email, Company,
Phone, Lead_Status). Raw part, same process, same database: the same records (Email prefixed
with "raw-" so they do not clash with the ones just inserted) written with SQLAlchemy Core
executemany into records + record_keys (Email) + change_log (one row per record), one
transaction per batch, from the same number of threads. Prints figures and the ratio only.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from bench import common as c  # noqa: E402
from bench.common import t  # noqa: E402


def email(run: str, i: int) -> str:
    return f"{run}lead{i:08d}@example.com"


def batches(run: str, calls: int, size: int, offset: int = 0) -> list[list[dict]]:
    out = []
    for k in range(calls):
        base = offset + k * size
        out.append([c.lead(base + j, email(run, base + j)) for j in range(size)])
    return out


def raw_insert(engine: sa.Engine, meta: c.Meta, work: list[list[dict]], threads: int,
               ) -> tuple[float, float, list[float]]:
    ids = iter(c.reserve_ids(engine, sum(len(b) for b in work)))
    id_lock = threading.Lock()
    latencies: list[float] = []

    def one(batch: list[dict]) -> None:
        t0 = time.perf_counter()
        with id_lock:
            rids = [next(ids) for _ in batch]
        now = c.utc_now()
        recs, keys, logs = [], [], []
        for rid, raw in zip(rids, batch, strict=True):
            r, k, lg = c.insert_rows(meta, rid, c.stored_data(raw), now, "raw-bench")
            recs.append(r)
            keys.append(k)
            logs.append(lg)
        with engine.begin() as conn:
            conn.execute(sa.insert(t.records), recs)
            conn.execute(sa.insert(t.record_keys), keys)
            conn.execute(sa.insert(t.change_log), logs)
            c.index_queued(conn)
        latencies.append(time.perf_counter() - t0)

    elapsed, cpu = c.run_threads(work, threads, one)
    return elapsed, cpu, latencies


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_common_args(ap, calls=200, clients=4)
    ap.add_argument("--preload", type=c.preload_sizes, default=[0],
                    help="Leads written directly before the run, then ANALYZE (default 0: "
                         "an empty module, as a first import into a fresh server); a "
                         "comma-separated list (10000,1000000) runs once per size, each on a "
                         "fresh database, and prints the wall times and their ratio")
    ap.add_argument("--keyed", action="store_true",
                    help="send every call with its own Idempotency-Key (answer stored in the "
                         "write's transaction)")
    args = ap.parse_args(argv)
    walls: dict[int, float] = {}
    for preload in args.preload:
        walls[preload] = run(args, preload)
    c.print_scaling("HTTP insert", walls)


def run(args: argparse.Namespace, preload: int) -> float:
    """One benchmark run with `preload` Leads preloaded; the timed HTTP part's wall time."""
    size = max(1, min(100, args.batch))
    tag = f"r{time.time_ns() % 10**9}-"  # fresh emails even against a reused database

    with c.bench_database(args) as db:
        print(c.machine_line())
        print(f"database: {db.label}")
        print(f"workload: {args.calls} calls x {size} Leads, {args.clients} clients"
              + (f", {preload:,} Leads preloaded" if preload else ""))
        with c.Server(db.url, args.workers) as server:
            assert server.token is not None
            engine = c.make_engine(db.url, args.clients)
            try:
                meta = c.read_meta(engine)
                if preload:
                    secs = c.preload(engine, meta, preload,
                                     lambda i: f"{tag}pre{i:08d}@example.com")
                    print(f"preload: {preload:,} Leads in {secs:.1f} s (direct SQL, "
                          "then ANALYZE)")
                path = "/crm/v2/Leads"
                if args.warmup:
                    warm = [c.dumps({"data": b})
                            for b in batches(tag + "warm-", args.warmup, size)]
                    c.run_http(server, "POST", path, warm, args.clients)
                bodies = [c.dumps({"data": b}) for b in batches(tag, args.calls, size)]
                with c.profiled(server, args.py_spy, args.py_spy_gil):
                    load = c.run_http(server, "POST", path, bodies, args.clients,
                                      [f"{tag}{i}" for i in range(len(bodies))]
                                      if args.keyed else None)
                title = "HTTP insert (corral serve" + (", Idempotency-Key)" if args.keyed else ")")
                http_rate = c.report_http(title, load, args.calls * size)
                c.print_memory(server)
                plain = c.plain_sqlite3(
                    [c.lead(i, f"{tag}pre{i:08d}@example.com") for i in range(preload)],
                    batches("plain-" + tag, args.calls, size))
                c.print_plain_ratio("plain sqlite3 insert (executemany, one table)", http_rate,
                                    plain)
                if args.skip_raw:
                    return load.elapsed
                work = batches("raw-" + tag, args.calls, size)
                elapsed, cpu, lat = raw_insert(engine, meta, work, args.clients)
                raw_rate = c.report_raw("raw SQL insert (SQLAlchemy Core executemany)",
                                        elapsed, cpu, args.calls * size, lat)
                c.print_ratio(http_rate, raw_rate)
                return load.elapsed
            finally:
                engine.dispose()


if __name__ == "__main__":
    main()

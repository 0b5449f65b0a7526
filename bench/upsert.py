"""Upsert throughput against a preloaded Leads module, then a raw SQL baseline.

    python bench/upsert.py                          # 100,000 Leads preloaded, SQLite temp file
    python bench/upsert.py --preload 1000000
    python bench/upsert.py --pg                     # throwaway PostgreSQL cluster
    python bench/upsert.py --database-url postgresql+psycopg://user@host/emptydb

Preload: --preload Leads written directly with SQLAlchemy Core executemany (records,
record_keys and change_log rows exactly as the record service writes them, ids reserved from
the server's counter), then ANALYZE. HTTP part: a real `corral serve` subprocess; --clients
threads send --calls POST /crm/v2/Leads/upsert calls of --batch records: half match an existing
lead by Email (a quarter of those in another letter case: upper or title case, which the
normalised key must still match) and get a new Company/Lead_Status, half are new. Raw part, same
process: a workload of the same shape over disjoint keys, per batch in one transaction: one
SELECT of the holders of the normalised keys (joined to their records), then executemany
UPDATE records / INSERT records / INSERT record_keys / INSERT change_log (the same rows the
service writes), from the same number of threads. Prints figures and the ratio only.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from bench import common as c  # noqa: E402
from bench.common import t  # noqa: E402


def preload_email(i: int) -> str:
    return f"lead{i:08d}@example.com"


def vary_case(email: str, k: int) -> str:
    return email.upper() if k % 2 else email.title()


def workload(rng: random.Random, matched: list[int], calls: int, size: int, tag: str,
             ) -> list[list[dict[str, Any]]]:
    """calls batches of size records: half existing leads (by index in `matched`), half new."""
    out: list[list[dict[str, Any]]] = []
    it = iter(matched)
    new_no = 0
    for _ in range(calls):
        batch: list[dict[str, Any]] = []
        n_match = size // 2
        for k in range(n_match):
            i = next(it)
            mail = preload_email(i)
            if k % 4 == 0:
                mail = vary_case(mail, k // 4)
            batch.append(c.lead(i, mail, status_shift=3, company=f"Updated {i % 97}"))
        for _ in range(size - n_match):
            j = 10**8 + new_no
            batch.append(c.lead(j, f"new-{tag}{new_no:08d}@example.com"))
            new_no += 1
        rng.shuffle(batch)
        out.append(batch)
    return out


def pick_matches(rng: random.Random, preload: int, count: int) -> list[int]:
    """`count` preloaded indices, distinct while the preload is large enough."""
    if preload <= 0:
        return [0] * count
    if count <= preload:
        return rng.sample(range(preload), count)
    print(f"note: preload {preload:,} < {count:,} matches needed; some leads match twice")
    return [rng.randrange(preload) for _ in range(count)]


# ----------------------------------------------------------------------------- raw SQL
def raw_upsert(engine: sa.Engine, meta: c.Meta, work: list[list[dict[str, Any]]],
               threads: int) -> tuple[float, float, list[float], dict[str, int]]:
    n_new_max = sum(len(b) for b in work)
    ids = iter(c.reserve_ids(engine, n_new_max))
    id_lock = threading.Lock()
    latencies: list[float] = []
    counts = {"insert": 0, "update": 0}

    holders_q = (
        sa.select(t.record_keys.c.value, t.records.c.id, t.records.c.data,
                  t.records.c.owner_id, t.records.c.created_time)
        .join(t.records, t.records.c.id == t.record_keys.c.record_id)
        .where(t.record_keys.c.field_id == sa.bindparam("fid"),
               t.record_keys.c.value.in_(sa.bindparam("keys", expanding=True)),
               t.records.c.module_id == sa.bindparam("mid"),
               t.records.c.deleted_time.is_(None)))
    if "converted" in t.record_keys.c:  # keys of converted Leads match nothing on upsert
        holders_q = holders_q.where(t.record_keys.c.converted.is_(False))
    update_q = (sa.update(t.records).where(t.records.c.id == sa.bindparam("rid"))
                .values(data=sa.bindparam("data"), owner_id=sa.bindparam("owner_id"),
                        modified_by=sa.bindparam("modified_by"),
                        modified_time=sa.bindparam("modified_time")))

    def one(batch: list[dict[str, Any]]) -> None:
        t0 = time.perf_counter()
        with id_lock:
            new_ids = [next(ids) for _ in batch]
        keys = [c.email_key(r["Email"]) for r in batch]
        with engine.begin() as conn:
            now = c.utc_now()
            found: dict[str, Any] = {}
            for row in conn.execute(holders_q, {"fid": meta.email_field_id, "keys": keys,
                                                "mid": meta.module_id}):
                prev = found.get(row.value)
                if prev is None or (row.created_time, row.id) < (prev.created_time, prev.id):
                    found[row.value] = row
            recs, rkeys, logs, updates = [], [], [], []
            for raw, key in zip(batch, keys, strict=True):
                old = found.get(key)
                if old is None:
                    rid = new_ids.pop()
                    r, k, lg = c.insert_rows(meta, rid, c.stored_data(raw), now, "raw-bench")
                    recs.append(r)
                    rkeys.append(k)
                    logs.append(lg)
                    continue
                old_data = dict(old.data)
                new_data = dict(old_data)
                new_data.update(c.stored_data(raw))
                updates.append({"rid": old.id, "data": new_data, "owner_id": old.owner_id,
                                "modified_by": meta.user_id, "modified_time": now})
                base = {"record_id": old.id, "module_id": meta.module_id,
                        "user_id": meta.user_id, "at": now, "request_id": "raw-bench",
                        "job_id": None, "operation": "update"}
                for name in sorted(set(old_data) | set(new_data)):
                    if old_data.get(name) != new_data.get(name):
                        logs.append({**base, "field": name, "old_value": old_data.get(name),
                                     "new_value": new_data.get(name)})
            if recs:
                conn.execute(sa.insert(t.records), recs)
            if updates:
                conn.execute(update_q, updates)
            if rkeys:
                conn.execute(sa.insert(t.record_keys), rkeys)
            if logs:
                conn.execute(sa.insert(t.change_log), logs)
            c.index_queued(conn)
        with id_lock:
            counts["insert"] += len(recs)
            counts["update"] += len(updates)
        latencies.append(time.perf_counter() - t0)

    elapsed, cpu = c.run_threads(work, threads, one)
    return elapsed, cpu, latencies, counts


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_common_args(ap, calls=200, clients=4)
    ap.add_argument("--preload", type=c.preload_sizes, default=[100_000],
                    help="Leads written before the run (default 100000); a comma-separated "
                         "list (10000,1000000) runs once per size, each on a fresh database, "
                         "and prints the wall times and their ratio")
    ap.add_argument("--preload-chunk", type=int, default=5000,
                    help="records per preload transaction (default %(default)s)")
    ap.add_argument("--seed", type=int, default=1, help="random seed of the workload")
    args = ap.parse_args(argv)
    walls: dict[int, float] = {}
    for preload in args.preload:
        walls[preload] = run(args, preload)
    c.print_scaling("HTTP upsert", walls)


def run(args: argparse.Namespace, preload: int) -> float:
    """One benchmark run against `preload` preloaded Leads; the timed HTTP part's wall time."""
    size = max(1, min(100, args.batch))
    tag = f"r{time.time_ns() % 10**9}-"  # fresh 'new' emails even against a reused database
    rng = random.Random(args.seed)

    with c.bench_database(args) as db:
        print(c.machine_line())
        print(f"database: {db.label}")
        print(f"workload: preload {preload:,} Leads; {args.calls} upsert calls x {size} "
              f"records (half existing, half new), {args.clients} clients")
        with c.Server(db.url, args.workers) as server:
            assert server.token is not None
            engine = c.make_engine(db.url, args.clients)
            try:
                meta = c.read_meta(engine)
                if preload:
                    secs = c.preload(engine, meta, preload, preload_email,
                                     chunk=args.preload_chunk)
                    print(f"preload: {preload:,} Leads in {secs:.1f} s "
                          f"({preload / secs:,.0f} records/s, direct SQL)")
                n_match = size // 2
                wanted = (args.warmup + 2 * args.calls) * n_match
                matches = pick_matches(rng, preload, wanted)
                w_end = args.warmup * n_match
                h_end = w_end + args.calls * n_match
                warm = workload(rng, matches[:w_end], args.warmup, size, tag + "w")
                http_work = workload(rng, matches[w_end:h_end], args.calls, size, tag + "h")
                raw_work = workload(rng, matches[h_end:], args.calls, size, tag + "s")

                path = "/crm/v2/Leads/upsert"
                if warm:
                    c.run_http(server, "POST", path,
                               [c.dumps({"data": b}) for b in warm], args.clients)
                bodies = [c.dumps({"data": b}) for b in http_work]
                with c.profiled(server, args.py_spy, args.py_spy_gil):
                    load = c.run_http(server, "POST", path, bodies,
                                      args.clients)
                http_rate = c.report_http("HTTP upsert (corral serve)", load,
                                          args.calls * size)
                c.print_memory(server)
                # The same logical records, the same batches, through plain sqlite3.
                plain = c.plain_sqlite3([c.lead(i, preload_email(i)) for i in range(preload)],
                                        http_work)
                c.print_plain_ratio("plain sqlite3 upsert (executemany ON CONFLICT, one table)",
                                    http_rate, plain)
                if args.skip_raw:
                    return load.elapsed
                elapsed, cpu, lat, counts = raw_upsert(engine, meta, raw_work, args.clients)
                raw_rate = c.report_raw("raw SQL upsert (SELECT by key + executemany)",
                                        elapsed, cpu, args.calls * size, lat)
                print(f"  outcomes     {counts}")
                c.print_ratio(http_rate, raw_rate)
                return load.elapsed
            finally:
                engine.dispose()


if __name__ == "__main__":
    main()

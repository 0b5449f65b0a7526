"""PostgreSQL contains searches with and without the uncommon-part narrowing (issue 15, PGTEXT).

    python bench/pg_text_narrowing.py --sizes 10000,1000000 --calls 40
    python bench/pg_text_narrowing.py --urls URL10K,URL1M --calls 40   # databases kept from a run

One database per size (a throwaway cluster, or --urls), each Corral-migrated and seeded, then
Leads shaped like `bench/common.lead` (Email `lead<i:08d>@example.com`, Phone `+1 555
<i:07d>`, Company one of 8, Last_Name `Last<i>`) inserted straight into `records` by one
`generate_series` INSERT (only the records table: these queries read nothing else; the text
index is built by Corral's own DDL before the load). Then, per query kind, interleaved:
"old" runs the filter compiled as before (`document LIKE '%text%'`), "new" resolves the
`TextMatch` first (the per-module trigram sample, cached; its check query is included in the
time) and runs `document LIKE '%part%' [AND ...]`. Both through SQLAlchemy on one connection,
the page query `RecordSearch.fetch` makes (200 rows, newest first). p50/p95 in ms, the 1M/10k
ratio of each, and the parts chosen. Prints figures only.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from bench import common as c  # noqa: E402

LOAD_SQL = """
INSERT INTO records (id, module_id, data, owner_id, created_by, modified_by, created_time,
                     modified_time, deleted_time, deleted_by, converted, approval_state)
SELECT b.base + g, :module, json_build_object(
         'Last_Name', 'Last' || g, 'First_Name', 'First' || g,
         'Email', 'lead' || lpad(g::text, 8, '0') || '@example.com',
         'Company', (ARRAY['Acme','Globex','Initech','Umbrella','Hooli','Stark','Wayne',
                           'Tyrell'])[g % 8 + 1],
         'Phone', '+1 555 ' || lpad((g % 10000000)::text, 7, '0'),
         'Lead_Status', (ARRAY['Attempted to Contact','Contact in Future','Contacted',
                               'Junk Lead','Lost Lead','Not Contacted','Pre-Qualified',
                               'Not Qualified'])[g % 8 + 1],
         'Full_Name', 'First' || g || ' Last' || g),
       :user, :user, :user, now(), now(), NULL, NULL, false, 'approved'
FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS g,
     (SELECT coalesce(max(id), 0) + 1000000000 AS base FROM records) AS b
"""


def load(url: str, size: int) -> None:
    from corral.config import Settings
    from corral.services import Corral

    corral = Corral.open(Settings(database_url=url, run_worker=False))
    corral.seed()
    leads = corral.registry.require("Leads")
    user = corral.auth.user_by_email(None)
    with corral.db.read() as tx:
        have = int(tx.execute(sa.text("SELECT count(*) FROM records WHERE module_id = :m"),
                              {"m": leads.id}).scalar_one())
    t0 = time.perf_counter()
    for lo in range(have, size, 100_000):
        with corral.db.write() as tx:
            tx.execute(sa.text(LOAD_SQL), {"module": leads.id, "user": user.id, "lo": lo,
                                           "hi": min(size, lo + 100_000) - 1})
        print(f"  loaded {min(size, lo + 100_000):,}/{size:,}", flush=True)
    if have < size:
        with corral.db.write() as tx:
            tx.exec_driver_sql("ANALYZE records")
        print(f"  {size - have:,} Leads in {time.perf_counter() - t0:.0f} s", flush=True)
    corral.close()


def queries(size: int) -> dict[str, Callable[[int], dict[str, str]]]:
    return {
        "criteria equals Email lead<8 digits>":
            lambda i: {"criteria": f"(Email:equals:lead{i:08d})"},
        "criteria equals Last_Name Last<i>":
            lambda i: {"criteria": f"(Last_Name:equals:Last{i})"},
        "phone= <7 digits>": lambda i: {"phone": f"{i:07d}"},
        "word= lead<8 digits>": lambda i: {"word": f"lead{i:08d}"},
    }


def measure(url: str, size: int, calls: int) -> dict[str, tuple[float, float, float, float]]:
    from corral.config import Settings
    from corral.metadata.text_index import indexed_text, is_indexed
    from corral.records import criteria as cr
    from corral.records.query import Filters, RecordQuery
    from corral.services import Corral
    from corral.storage.filters import And
    from corral.storage.repositories import record_search as rs
    from corral.storage.repositories import text_index as ti

    corral = Corral.open(Settings(database_url=url, run_worker=False))
    corral.seed()
    leads = corral.registry.require("Leads")
    out: dict[str, tuple[float, float, float, float]] = {}
    for name, make in queries(size).items():
        rnd = random.Random(size)
        old: list[float] = []
        new: list[float] = []
        shown = ""
        for n in range(-1, calls):  # the first call of each variant warms up, not counted
            params = make(rnd.randrange(size))
            if "criteria" in params:
                where = And((*RecordQuery.base_where(leads, Filters()), corral.query.compile(
                    leads, cr.parse_criteria(params["criteria"]), tz=UTC, mode="search")))
            else:
                where = And((*RecordQuery.base_where(leads, Filters()),
                             corral.query.special_where(leads, **params)))
            for variant in (("old", "new") if n % 2 else ("new", "old")):
                with corral.db.read() as tx:
                    t0 = time.perf_counter()
                    w = where if variant == "old" else ti.resolve_text_matches(tx, where)
                    tx.execute(rs._page(w, "id", "desc").limit(201)).all()
                    if n >= 0:
                        (old if variant == "old" else new).append(time.perf_counter() - t0)
                    if variant == "new" and not shown:
                        shown = ti.describe_narrowing(w)
        out[name] = (c.percentile(old, 50) * 1000, c.percentile(old, 95) * 1000,
                     c.percentile(new, 50) * 1000, c.percentile(new, 95) * 1000)
        print(f"  {name:40} old p50 {out[name][0]:7.2f} p95 {out[name][1]:7.2f}   "
              f"new p50 {out[name][2]:7.2f} p95 {out[name][3]:7.2f}   e.g. {shown}", flush=True)
    sampled = []
    for _ in range(5):
        ti._samples.clear()
        with corral.db.read() as tx:
            t0 = time.perf_counter()
            ti.module_sample(tx, leads.id, [indexed_text(f) for f in leads.fields
                                            if is_indexed(f)])
            sampled.append((time.perf_counter() - t0) * 1000)
    print(f"  taking the module's trigram sample (once per {ti.SAMPLE_TTL:.0f} s): "
          f"{min(sampled):.1f}-{max(sampled):.1f} ms", flush=True)
    corral.close()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,1000000")
    ap.add_argument("--urls", default=None, help="one database URL per size (kept, reused)")
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--load-only", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the throwaway cluster")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    print(c.machine_line())
    cluster: Any = None
    if args.urls:
        urls = args.urls.split(",")
    else:
        cluster = c._pg_cluster_class()(Path(tempfile.mkdtemp(prefix="corral-pgtext-")) / "pg")
        cluster.start()
        urls = [cluster.create_database(f"corral_{s}") for s in sizes]
        print(f"cluster on port {cluster.port}: " + ",".join(urls))
    try:
        for url, size in zip(urls, sizes, strict=True):
            load(url, size)
        if args.load_only:
            return
        results = {}
        for url, size in zip(urls, sizes, strict=True):
            print(f"\n{size:,} Leads", flush=True)
            results[size] = measure(url, size, args.calls)
        if len(sizes) > 1:
            lo, hi = results[sizes[0]], results[sizes[-1]]
            print(f"\np95 ratio {sizes[-1]:,}/{sizes[0]:,}")
            for name in lo:
                print(f"  {name:40} old {hi[name][1] / lo[name][1]:6.2f}   "
                      f"new {hi[name][3] / lo[name][3]:6.2f}   "
                      f"new/old at {sizes[-1]:,}: {hi[name][3] / hi[name][1]:5.2f}")
        print(c.machine_line())
    finally:
        if cluster is not None and not (args.keep or args.load_only):
            cluster.stop()
        elif cluster is not None:
            from tests.support import pgcluster  # its exit hook would stop the cluster
            pgcluster._live.discard(cluster)
            print(f"(kept cluster: pg_ctl stop -D {cluster.data_dir})")


if __name__ == "__main__":
    main()

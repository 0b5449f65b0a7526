"""PostgreSQL's own CPU per record written, by index family, in process (no HTTP).

    python bench/pg_write_cpu.py                       # every index
    python bench/pg_write_cpu.py --drop trigram        # without the pg_trgm text indexes
    python bench/pg_write_cpu.py --drop trigram,field  # without them and the field indexes

A throwaway cluster; --preload Leads written directly (bench/common.py), then Corral opens the
database (its start builds the field indexes of Leads, 5,000 records and more), optionally
drops some index families of `records`, and writes --records Leads through the record service
in 100-record batches: first inserts, then upserts (half match a preloaded Lead and change its
Company / Lead_Status, half are new). Prints the CPU the cluster's processes (postmaster and
children, from /proc) used per record, and records/s. The HTTP benchmarks time only the
`corral serve` processes; this shows where the database's share goes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as c  # noqa: E402

if str(c.ROOT) not in sys.path:
    sys.path.insert(0, str(c.ROOT))

from corral.config import Settings  # noqa: E402
from corral.records.service import WriteContext  # noqa: E402
from corral.services import Corral  # noqa: E402


def cluster_cpu(master: int) -> float:
    """CPU seconds of the postmaster `master` and its children (live ones)."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(p) == master or int(rest[1]) == master:
            total += (int(rest[11]) + int(rest[12])) / tck
    return total


def drop_indexes(k: Corral, families: set[str]) -> None:
    with k.db.write() as tx:
        for name, ddl in tx.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'records'"):
            if ("trigram" in families and " gin " in ddl.lower()) or (
                    "field" in families and name.startswith("ix_rf_")):
                tx.exec_driver_sql(f'DROP INDEX "{name}"')


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preload", type=int, default=10_000)
    ap.add_argument("--records", type=int, default=3000, help="per phase (insert, upsert)")
    ap.add_argument("--drop", default="", help="comma-separated: trigram, field")
    args = ap.parse_args(argv)
    families = {f for f in args.drop.split(",") if f}
    print(c.machine_line())
    from tests.conftest import make_token
    from tests.support.pgcluster import PgCluster

    with tempfile.TemporaryDirectory(prefix="corral-pgcpu-") as tmp:
        cluster = PgCluster(Path(tmp) / "pg").start()
        try:
            url = cluster.create_database("pgcpu")
            with open(cluster.data_dir / "postmaster.pid") as f:
                master = int(f.read().split()[0])
            k = Corral.open(Settings(database_url=url, run_worker=False))
            k.seed()
            k.close()
            engine = c.make_engine(url, 2)
            c.preload(engine, c.read_meta(engine), args.preload,
                      lambda i: f"lead{i:08d}@example.com")
            engine.dispose()
            k = Corral.open(Settings(database_url=url, run_worker=False))
            k.seed()
            drop_indexes(k, families)
            with k.db.read() as tx:
                n_field = tx.exec_driver_sql("SELECT count(*) FROM pg_indexes WHERE indexname"
                                             " LIKE 'ix_rf_%%'").scalar()
            print(f"preload {args.preload:,} Leads; field indexes: {n_field}; dropped: "
                  f"{', '.join(sorted(families)) or 'none'}")
            ctx = WriteContext(k.auth.authenticate(f"Zoho-oauthtoken {make_token(k)}"))
            leads = k.registry.require("Leads")
            rng = random.Random(1)

            def new(b: int, j: int, tag: str) -> dict[str, Any]:
                return c.lead(10**8 + b * 100 + j, f"{tag}{b:05d}{j:03d}@example.com")

            def matched(b: int, j: int) -> dict[str, Any]:
                i = rng.randrange(args.preload)
                return c.lead(i, f"lead{i:08d}@example.com", 3, f"Updated {i % 97}")

            for phase in ("insert", "upsert"):
                batches = [[(new(b, j, "ins") if phase == "insert" else
                             matched(b, j) if j % 2 else new(b, j, "ups"))
                            for j in range(100)] for b in range(args.records // 100)]
                cpu0, t0 = cluster_cpu(master), time.perf_counter()
                for batch in batches:
                    write = k.records.insert if phase == "insert" else k.records.upsert
                    outcomes = write(leads, batch, ctx)
                    assert all(o.error is None for o in outcomes)
                cpu, wall = cluster_cpu(master) - cpu0, time.perf_counter() - t0
                n = len(batches) * 100
                print(f"  {phase}: PostgreSQL CPU {cpu / n * 1e6:5.0f} us/record, "
                      f"{n / wall:7,.0f} records/s (in process, one connection at a time)")
            k.close()
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()

"""Emulator snapshots: save and restore of a database holding --records Leads, on SQLite and
PostgreSQL, next to a plain `sqlite3` backup of the same SQLite file.

    python bench/emulator.py                  # SQLite temp file and a throwaway PostgreSQL
    python bench/emulator.py --records 20000 --no-pg

Preload: the seeded database gets --records Leads written directly (records, record_keys and
change_log rows as the record service writes them; bench/common.py). Then, per database,
--repeat times: `SnapshotStore.save` (what POST /__corral/snapshots runs) and
`SnapshotStore.restore` (POST /__corral/snapshots/{name}/restore), best and median of the runs.
Baseline, same process, same SQLite file: `sqlite3.Connection.backup` into a fresh file (the
plain copy a snapshot save is), and back into the live file (the plain restore).

Prints figures and ratios only; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import common as c

from corral.config import Settings
from corral.services import Corral
from corral.storage.snapshots import SnapshotStore


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return min(runs), statistics.median(runs)


def prepare(url: str, records: int) -> Corral:
    corral = Corral.open(Settings(database_url=url, run_worker=False))
    corral.seed()
    engine = c.make_engine(url, 2)
    meta = c.read_meta(engine)
    secs = c.preload(engine, meta, records, lambda i: f"lead{i}@bench.example")
    engine.dispose()
    print(f"  preloaded {records:,} Leads in {secs:.1f} s")
    return corral


def bench_store(corral: Corral, repeat: int) -> tuple[tuple[float, float], tuple[float, float]]:
    store = SnapshotStore(corral.db)
    save = timed(lambda: store.save("bench", c.utc_now()), repeat)
    restore = timed(lambda: store.restore("bench"), repeat)
    return save, restore


def plain_sqlite(path: Path, repeat: int) -> tuple[tuple[float, float], tuple[float, float]]:
    copy = path.with_name("plain-copy.db")

    def save() -> None:
        src, dst = sqlite3.connect(path), sqlite3.connect(copy)
        src.backup(dst)
        dst.close()
        src.close()

    def restore() -> None:
        src, dst = sqlite3.connect(copy), sqlite3.connect(path)
        src.backup(dst)
        dst.close()
        src.close()

    return timed(save, repeat), timed(restore, repeat)


def show(label: str, figures: tuple[float, float], base: tuple[float, float] | None) -> None:
    best, median = figures
    line = f"  {label:<28} best {best * 1000:8.1f} ms   median {median * 1000:8.1f} ms"
    if base is not None:
        line += f"   ratio to plain sqlite3 backup {best / base[0]:5.2f}x"
    print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = ap.parse_args()
    print(c.machine_line())
    tmp = Path(tempfile.mkdtemp(prefix="corral-bench-emu-"))
    try:
        path = tmp / "corral.db"
        print(f"SQLite ({path}), {args.records:,} Leads")
        corral = prepare(f"sqlite:///{path}", args.records)
        size = path.stat().st_size / 1e6
        save, restore = bench_store(corral, args.repeat)
        corral.close()
        plain_save, plain_restore = plain_sqlite(path, args.repeat)
        print(f"  database file {size:.1f} MB")
        show("plain sqlite3 backup (save)", plain_save, None)
        show("plain sqlite3 backup (restore)", plain_restore, None)
        show("snapshot save", save, plain_save)
        show("snapshot restore", restore, plain_restore)
        if not args.no_pg:
            cluster = c._pg_cluster_class()(tmp / "pg").start()
            try:
                url = cluster.create_database("corral_bench")
                print(f"PostgreSQL (throwaway cluster), {args.records:,} Leads")
                corral = prepare(url, args.records)
                save, restore = bench_store(corral, args.repeat)
                corral.close()
                show("snapshot save", save, plain_save)
                show("snapshot restore", restore, plain_restore)
            finally:
                cluster.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()

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

Per call (--calls, SQLite): what emulator mode adds to each Zoho API call (the shared state
read, the journal write, the credits charged: one small read and one write transaction),
measured as the same `GET /crm/v8/Leads/actions/count` through the app without and with the
emulator layer, interleaved. Baseline, same process: plain `sqlite3` doing the same database
work per call (a one-row SELECT, then an INSERT of a journal row and an UPDATE of a counter
in one BEGIN IMMEDIATE transaction; WAL, synchronous=NORMAL).

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
from starlette.testclient import TestClient

from corral.app import create_app
from corral.auth.scopes import ALL_SCOPES
from corral.config import Settings
from corral.emulator.clock import EmulatorClock
from corral.emulator.service import Emulator
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


def fill_journal(corral: Corral, entries: int) -> None:
    """A journal of `entries` calls with 1 kB bodies: a restore keeps the emulator's state,
    so it copies them aside and back."""
    emu = Emulator(corral)
    body = b'{"data": [' + b'{"Last_Name": "x"},' * 50 + b'{}]}'
    rows = [emu.journal.entry(time=c.utc_now(), direction="in", method="POST",
                              path="/crm/v8/Leads", query="", status=201, code="SUCCESS",
                              credits=1, duration_ms=1.0, request_body=body,
                              response_body=body) for _ in range(entries)]
    emu.shared.write(lambda tx: [emu.journal.append(tx, row) for row in rows])
    print(f"  journal: {entries:,} calls with 1 kB bodies")


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


def per_call(tmp: Path, calls: int, repeat: int) -> None:
    """Emulator layer cost per call, interleaved with the same calls without it."""
    path = tmp / "calls.db"
    corral = Corral.open(Settings(database_url=f"sqlite:///{path}", run_worker=False),
                         clock=EmulatorClock())
    corral.seed()
    emu = Emulator(corral)
    emu.ensure_baseline()
    user = corral.auth.user_by_email(None)
    token = corral.auth.create_access_token(user.id, list(ALL_SCOPES))
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    plain_runs: list[float] = []
    emu_runs: list[float] = []
    with TestClient(create_app(corral)) as plain, TestClient(create_app(corral, emu)) as emul:
        for client in (plain, emul):  # warm up
            for _ in range(20):
                client.get("/crm/v8/Leads/actions/count", headers=headers)
        for _ in range(repeat):
            for client, runs in ((plain, plain_runs), (emul, emu_runs)):
                t0 = time.perf_counter()
                for _ in range(calls):
                    assert client.get("/crm/v8/Leads/actions/count",
                                      headers=headers).status_code == 200
                runs.append((time.perf_counter() - t0) / calls)
    parts: list[tuple[str, float]] = []
    if hasattr(emu, "finish_call"):  # the database work alone (state shared in the database)
        entry = emu.journal.entry(
            time=c.utc_now(), direction="in", method="GET", path="/crm/v8/Leads/actions/count",
            query="", status=200, code=None, credits=1, duration_ms=1.0, request_body=b"",
            response_body=b'{"count":0}')
        for label, fn in (("shared state read (sync)", emu.sync),
                          ("journal write (finish_call)",
                           lambda: emu.finish_call(entry, charge=1, release=False,
                                                   heavy=False))):
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                for _ in range(calls):
                    fn()
                best = min(best, (time.perf_counter() - t0) / calls)
            parts.append((label, best))
    corral.close()
    base = tmp / "plain-calls.db"
    conn = sqlite3.connect(base, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE state (id INTEGER PRIMARY KEY, version INT, next INT)")
    conn.execute("INSERT INTO state VALUES (1, 0, 0)")
    conn.execute("CREATE TABLE journal (id INTEGER PRIMARY KEY, time TEXT, method TEXT, "
                 "path TEXT, query TEXT, status INT, credits INT, duration REAL, "
                 "request_body TEXT, response_body TEXT)")
    body = '{"count":0}'
    base_runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(calls):
            conn.execute("SELECT version, next FROM state WHERE id = 1").fetchone()
            conn.execute("BEGIN IMMEDIATE")
            (n,) = conn.execute("UPDATE state SET next = next + 1 WHERE id = 1 "
                                "RETURNING next").fetchone()
            conn.execute("INSERT INTO journal VALUES (?, ?, 'GET', ?, '', 200, 1, 1.0, "
                         "NULL, ?)", (n, c.utc_now().isoformat(),
                                      "/crm/v8/Leads/actions/count", body))
            conn.execute("COMMIT")
        base_runs.append((time.perf_counter() - t0) / calls)
    conn.close()
    p, e, b = min(plain_runs), min(emu_runs), min(base_runs)
    print(f"Per call, SQLite, {calls} calls x {repeat} (best run)")
    print(f"  without emulator layer       {p * 1e6:8.0f} us/call")
    print(f"  with emulator layer          {e * 1e6:8.0f} us/call")
    print(f"  emulator layer adds          {(e - p) * 1e6:8.0f} us/call   "
          f"({e / p:4.2f}x the call without it)")
    print(f"  plain sqlite3 same db work   {b * 1e6:8.0f} us/call   "
          f"ratio layer cost / plain {(e - p) / b:5.1f}x")
    for label, secs in parts:
        print(f"  {label:<28} {secs * 1e6:8.0f} us/call")
    if parts:
        both = sum(secs for _, secs in parts)
        print(f"  both, per call               {both * 1e6:8.0f} us/call   "
              f"ratio to plain sqlite3 {both / b:5.1f}x")


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
    ap.add_argument("--calls", type=int, default=500, help="per-call section (0: skip)")
    ap.add_argument("--no-snapshots", action="store_true", help="per-call section only")
    ap.add_argument("--journal", type=int, default=0,
                    help="journal entries present during snapshot save/restore")
    args = ap.parse_args()
    print(c.machine_line())
    tmp = Path(tempfile.mkdtemp(prefix="corral-bench-emu-"))
    try:
        if args.calls:
            per_call(tmp, args.calls, args.repeat)
        if args.no_snapshots:
            return
        path = tmp / "corral.db"
        print(f"SQLite ({path}), {args.records:,} Leads")
        corral = prepare(f"sqlite:///{path}", args.records)
        if args.journal:
            fill_journal(corral, args.journal)
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
                if args.journal:
                    fill_journal(corral, args.journal)
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

"""Cost of instant notifications on the write path (SQLite file, in process, no HTTP).

    python bench/notifications.py                 # 40 calls of 100 Leads per configuration
    python bench/notifications.py --calls 100 --channels 5

Inserts --calls batches of 100 Leads through `RecordService.insert` (every step of the write
path) with no channel, then with --channels channels watching `Leads.all` (each batch writes
one outbox row per channel, carrying the 100 ids). Baseline, same process: plain `sqlite3`
inserting the same JSON documents plus one outbox row per channel and batch, one transaction
per batch. Prints figures and ratios only.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402

from corral.config import Settings  # noqa: E402
from corral.records.writes import WriteContext  # noqa: E402
from corral.services import Corral  # noqa: E402


def corral_run(folder: Path, name: str, calls: int, channels: int) -> float:
    corral = Corral.open(Settings(database_url=f"sqlite:///{folder / name}.db",
                                  run_worker=False))
    corral.seed()
    principal = corral.auth.principal_for_user(corral.auth.user_by_email(None).id)
    assert principal is not None
    leads = corral.registry.require("Leads")
    for n in range(channels):
        corral.notifications.subscribe(
            {"channel_id": str(n + 1), "events": ["Leads.all"],
             "notify_url": "http://127.0.0.1:9/hook"}, 0, principal, version="v8",
            base_url="http://127.0.0.1:8000")
    batches = [[c.lead(k * 100 + j, f"{name}{k * 100 + j}@example.com") for j in range(100)]
               for k in range(calls)]
    t0 = time.perf_counter()
    for batch in batches:
        outcomes = corral.records.insert(leads, batch, WriteContext(principal))
        assert all(o.ok for o in outcomes)
    elapsed = time.perf_counter() - t0
    rows = len(corral.webhooks.deliveries(limit=10**6))
    assert rows == calls * channels, rows
    corral.close()
    return elapsed


def sqlite3_run(folder: Path, calls: int, channels: int) -> float:
    conn = sqlite3.connect(folder / "plain.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, data TEXT)")
    conn.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, payload TEXT)")
    t0 = time.perf_counter()
    for k in range(calls):
        batch = [c.lead(k * 100 + j, f"p{k * 100 + j}@example.com") for j in range(100)]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO records (data) VALUES (?)",
                         [(json.dumps(r),) for r in batch])
        conn.executemany("INSERT INTO outbox (payload) VALUES (?)",
                         [(json.dumps({"ids": list(range(100))}),) for _ in range(channels)])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--channels", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain = sqlite3_run(folder, args.calls, args.channels)
        without = corral_run(folder, "none", args.calls, 0)
        with_channels = corral_run(folder, "watched", args.calls, args.channels)
    records = args.calls * 100
    print(c.machine_line())
    for title, secs in (("plain sqlite3 (records + outbox rows)", plain),
                        ("Corral write path, no channel", without),
                        (f"Corral write path, {args.channels} channels", with_channels)):
        print(f"{title:45s} {records / secs:9.0f} records/s  ({secs:.2f} s)")
    print(f"notifications overhead: {with_channels / without:.2f}x the write path without "
          f"channels; write path with channels vs plain sqlite3: {with_channels / plain:.1f}x "
          f"slower")


if __name__ == "__main__":
    main()

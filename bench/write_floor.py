"""Where an upsert's time goes on SQLite: Corral's own statements replayed in plain sqlite3.

    python bench/write_floor.py                     # 10,000 Leads preloaded
    python bench/write_floor.py --preload 1000000

The upsert workload of bench/upsert.py (batches of 100 Leads, half matching an existing Lead by
Email, half new) runs in this process through the record service (`RecordService.upsert`, the
write path every API call takes, without HTTP), and every statement it sends SQLite is
recorded with its parameters. The same statements, batch by batch, each batch one
transaction, are then replayed through the stdlib `sqlite3` module on copies of the database
as it was before the timed batches:

- as is: the schema Corral keeps (field indexes, the text index and its triggers);
- without the text index's triggers (the FTS5 tables are then never written);
- without the field indexes (`ix_rf_*`);
- without either.

Each figure is printed beside the plain-sqlite3 upsert of the same logical records
(`bench/common.plain_sqlite3`: one table, one unique index), run in the same process. The
replay "as is" is the most any Python over this schema could reach: the record service's
own time is the difference between the in-process figure and it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402
from bench.upsert import pick_matches, preload_email, workload  # noqa: E402
from sqlalchemy import event  # noqa: E402

from corral.config import Settings  # noqa: E402
from corral.records.writes import WriteContext  # noqa: E402
from corral.services import Corral  # noqa: E402

Statement = tuple[str, Any, bool]  # SQL, parameters, executemany


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preload", type=int, default=10_000, help="Leads preloaded")
    ap.add_argument("--batches", type=int, default=60, help="timed batches of 100 records")
    ap.add_argument("--warmup", type=int, default=10, help="untimed batches first")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="corral-floor-") as tmp:
        run(Path(tmp), args)


def run(tmp: Path, args: argparse.Namespace) -> None:
    print(c.machine_line())
    path = tmp / "corral.db"
    url = f"sqlite:///{path}"
    corral = Corral.open(Settings(database_url=url, run_worker=False))
    token = corral.seed()
    assert token is not None
    engine = c.make_engine(url, 2)
    secs = c.preload(engine, c.read_meta(engine), args.preload, preload_email)
    engine.dispose()
    corral.metadata.sync_indexes()  # what the server's background step does after a load
    corral.registry.refresh()
    print(f"preload: {args.preload:,} Leads in {secs:.1f} s (direct SQL); field and text "
          "indexes built")
    leads = corral.registry.require("Leads")
    ctx = WriteContext(principal=corral.auth.authenticate(f"Zoho-oauthtoken {token}"))
    rng = random.Random(1)
    total = args.warmup + args.batches
    matches = pick_matches(rng, args.preload, total * 50)
    work = workload(rng, matches, total, 100, "floor-")
    for batch in work[:args.warmup]:
        corral.records.upsert(leads, batch, ctx)

    snapshot = tmp / "before.db"
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(path, snapshot)

    batches: list[list[Statement]] = []

    @event.listens_for(corral.db.write_engine, "before_cursor_execute")
    def _record(_conn: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any,
                many: bool) -> None:
        if batches:
            batches[-1].append((statement, parameters, many))

    records = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    for batch in work[args.warmup:]:
        batches.append([])
        corral.records.upsert(leads, batch, ctx)
        records += len(batch)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    corral.close()
    event.remove(corral.db.write_engine, "before_cursor_execute", _record)

    plain = c.plain_sqlite3([c.lead(i, preload_email(i)) for i in range(args.preload)],
                            work[args.warmup:])
    rows: list[tuple[str, float]] = [
        ("record service in process (Python + SQL)", records / wall)]
    print(f"record service upsert, in process: {records / wall:,.0f} records/s, "
          f"{cpu / records * 1e6:.0f} us CPU per record")
    for label, drop_text, drop_fields in (
            ("its statements replayed, schema as is", False, False),
            ("  without the text index triggers", True, False),
            ("  without the field indexes", False, True),
            ("  without either", True, True)):
        rate = replay(tmp, snapshot, batches, records, drop_text=drop_text,
                      drop_fields=drop_fields)
        rows.append((label, rate))
    print(f"plain sqlite3 upsert (one table, one unique index): {plain:,.0f} records/s")
    print(f"preload {args.preload:,}: records/s and ratio to plain sqlite3")
    for label, rate in rows:
        print(f"  {label:45s} {rate:9,.0f}  {rate / plain:6.3f}  "
              f"({1e6 / rate:6.1f} us per record)")


def replay(tmp: Path, snapshot: Path, batches: list[list[Statement]], records: int, *,
           drop_text: bool, drop_fields: bool) -> float:
    """Records/s of the recorded statements run again through plain sqlite3 on a copy of
    `snapshot`, one transaction per batch, with the write connection's settings."""
    target = tmp / "replay.db"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{target}{suffix}"):
            os.remove(f"{target}{suffix}")
    shutil.copyfile(snapshot, target)
    con = sqlite3.connect(target, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA cache_size=-16384")  # as storage/database.py's write engine
        # Corral copies the WAL back on a thread of its own, outside the writer's time
        # (storage/database.py, _Checkpointer): not in the replay's time either.
        con.execute("PRAGMA wal_autocheckpoint=0")
        if drop_text:
            for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                       "AND name LIKE 'fts_m%'").fetchall():
                con.execute(f'DROP TRIGGER "{name}"')
        if drop_fields:
            for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                       "AND name LIKE 'ix_rf_%'").fetchall():
                con.execute(f'DROP INDEX "{name}"')
        t0 = time.perf_counter()
        for statements in batches:
            con.execute("BEGIN IMMEDIATE")
            for sql, params, many in statements:
                if sql.startswith(("BEGIN", "COMMIT")):
                    continue
                if many:
                    con.executemany(sql, params)
                else:
                    con.execute(sql, params).fetchall()
            con.execute("COMMIT")
        return records / (time.perf_counter() - t0)
    finally:
        con.close()


if __name__ == "__main__":
    main()

"""The SQLite text index's probe cost before and after merging its FTS5 segments (issue 15).

    python bench/fts_merge.py 200000

Plain `sqlite3`, no Corral in the loop: a `records` table shaped like Corral's with the
module's FTS5 table and triggers from `text_index._sqlite_ddl` (7 indexed Leads fields), N
Leads inserted in 100-row transactions (as the server commits them, leaving many segments),
then the probe part of a contains search (`_sqlite_query`) and the whole narrowing (count of
the MATCH) timed for 60 random `lead<8 digits>` values; then FTS5 `'merge', -2000` until it has
nothing left (what `maintain_indexes` does, 1,000 pages a minute), timed again, then
`'optimize'`. Prints figures only.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from corral.storage.filters import IndexedText  # noqa: E402
from corral.storage.repositories import text_index as ti  # noqa: E402

KEYS = ["Last_Name", "First_Name", "Email", "Company", "Phone", "Lead_Status", "Full_Name"]


def lead(i: int) -> str:
    return json.dumps({"Last_Name": f"Last{i}", "First_Name": f"First{i}",
                       "Email": f"lead{i:08d}@example.com", "Company": "Acme",
                       "Phone": f"+1 555 {i:07d}", "Lead_Status": "Contacted",
                       "Full_Name": f"First{i} Last{i}"})


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    fields = [IndexedText(i + 1, k) for i, k in enumerate(KEYS)]
    con = sqlite3.connect(os.path.join(tempfile.mkdtemp(), "m.db"), isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, module_id INTEGER NOT NULL, "
                "data TEXT NOT NULL, deleted_time TEXT)")
    con.execute("CREATE INDEX ix_records_module_live ON records(module_id, deleted_time, id)")
    for statement in ti._sqlite_ddl(7, fields):
        con.execute(statement)
    t0 = time.time()
    for start in range(0, n, 100):
        con.execute("BEGIN")
        con.executemany("INSERT INTO records VALUES (?, 7, ?, NULL)",
                        [(i + 1, lead(i)) for i in range(start, min(n, start + 100))])
        con.execute("COMMIT")
    print(f"{n:,} Leads in 100-row transactions: {time.time() - t0:.0f} s", flush=True)
    cols = " ".join(ti._column(f.field_id) for f in fields)
    query = ti._sqlite_query("fts_m7", cols, 7, "?")
    probe = "SELECT " + query
    search = ("SELECT count(*) FROM records WHERE id IN (SELECT rowid FROM fts_m7 "
              f"WHERE fts_m7 MATCH {query})")

    def timed(label: str) -> None:
        rows = con.execute("SELECT count(*) FROM fts_m7_data").fetchone()[0]
        for sql, name in ((probe, "probe"), (search, "search")):
            rnd = random.Random(1)
            lat = []
            for _ in range(60):
                value = f"lead{rnd.randrange(n):08d}"
                t = time.perf_counter()
                con.execute(sql, (value,)).fetchall()
                lat.append(time.perf_counter() - t)
            lat.sort()
            print(f"  {label:16} ({rows:,} data rows) {name:6} p50 {lat[30] * 1000:6.2f} ms  "
                  f"p95 {lat[56] * 1000:6.2f} ms", flush=True)

    timed("before")
    t0 = time.time()
    steps = 0
    while True:
        before = con.total_changes
        con.execute("INSERT INTO fts_m7(fts_m7, rank) VALUES('merge', -2000)")
        steps += 1
        if con.total_changes - before < 2:
            break
    print(f"merge -2000 x{steps}: {time.time() - t0:.1f} s", flush=True)
    timed("after merge")
    con.execute("INSERT INTO fts_m7(fts_m7) VALUES('optimize')")
    timed("after optimize")


if __name__ == "__main__":
    main()

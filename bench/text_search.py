"""Contains searches at growing table sizes: search `equals` on a text field, `phone=`, `word=`
and `actions/count` with the same criteria, answered from the text index (issue 15).

    python bench/text_search.py                    # fresh SQLite file, 10k and 100k Leads
    python bench/text_search.py --pg --sizes 10000,100000,1000000
    python bench/text_search.py --upkeep           # the triggers' cost per record (sqlite3)

The Leads are written directly (as `bench/common.preload_rows`; the database's triggers keep the
index as they would for the service), each with a Company `Co<i:07d> Ltd` and a Mobile
`+1 555 <i:07d>`, so that each query selects one record. For each size, --queries calls of each
kind go through the ASGI app in this process (no network), values drawn at random; p50/p95 are
printed with the ratio to the smallest size. The baselines, same process, same rows: plain
`sqlite3` with one table `leads(id, data JSON)` and an FTS5 trigram table over Company (the
physical limit of an indexed lookup), and the same table scanned with LIKE (what Corral did).
Prints figures only.

`--upkeep` times the SQLite triggers that keep the index, in plain `sqlite3` (no Corral in the
loop): a `records` table shaped like Corral's, Leads-like JSON (7 of 24 indexed text fields
filled), 100-row executemany transactions, µs per record for insert, an update that changes
no indexed value and one that changes one, without an index, with the triggers before issue
15's TEXT2 part (re-index on every update of `data`) and with today's (`_sqlite_ddl`), the
three interleaved, best of --rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402


def lead(i: int) -> dict[str, Any]:
    return {"Last_Name": f"Last{i}", "First_Name": f"First{i}",
            "Email": f"lead{i:08d}@example.com", "Company": f"Co{i:07d} Ltd",
            "Mobile": f"+1 555 {i:07d}", "Lead_Status": c.LEAD_STATUSES[i % 8]}


def timed(fn: Callable[[int], None], n: int, size: int, seed: int) -> tuple[float, float]:
    rnd = random.Random(seed)
    lat = []
    for _ in range(n):
        i = rnd.randrange(size)
        t0 = time.perf_counter()
        fn(i)
        lat.append(time.perf_counter() - t0)
    return c.percentile(lat, 50) * 1000, c.percentile(lat, 95) * 1000


class Plain:
    """The plain-sqlite3 baseline, grown alongside."""

    def __init__(self, path: str) -> None:
        self.con = sqlite3.connect(path, isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.execute("CREATE TABLE leads (id INTEGER PRIMARY KEY, data TEXT NOT NULL)")
        self.con.execute("CREATE VIRTUAL TABLE leads_fts USING fts5(company, content='', "
                         "tokenize='trigram case_sensitive 0')")
        self.n = 0

    def grow(self, size: int) -> None:
        self.con.execute("BEGIN")
        for start in range(self.n, size, 5000):
            rows = [(i, json.dumps(lead(i))) for i in range(start, min(size, start + 5000))]
            self.con.executemany("INSERT INTO leads VALUES (?, ?)", rows)
            self.con.executemany("INSERT INTO leads_fts(rowid, company) VALUES (?, ?)",
                                 [(i, lead(i)["Company"]) for i, _ in rows])
        self.con.execute("COMMIT")
        self.n = size

    def indexed(self, i: int) -> None:
        self.con.execute(
            "SELECT id, data FROM leads WHERE id IN (SELECT rowid FROM leads_fts WHERE "
            "leads_fts MATCH ?) ORDER BY id DESC LIMIT 200", (f'"{i:07d}"',)).fetchall()

    def scanned(self, i: int) -> None:
        self.con.execute(
            "SELECT id, data FROM leads WHERE lower(json_extract(data, '$.Company')) LIKE ? "
            "ORDER BY id DESC LIMIT 200", (f"%{i:07d}%",)).fetchall()


UPKEEP_KEYS = [
    "Last_Name", "First_Name", "Email", "Company", "Phone", "Lead_Status", "Full_Name", "Mobile",
    "Fax", "Website", "Designation", "Street", "City", "State", "Zip_Code", "Country",
    "Description", "Salutation", "Lead_Source", "Industry", "Rating", "Secondary_Email",
    "Skype_ID", "Twitter"]


def upkeep_lead(i: int, **changes: Any) -> str:
    return json.dumps({
        "Last_Name": f"Last{i}", "First_Name": f"First{i}", "Email": f"lead{i:08d}@example.com",
        "Company": c.COMPANIES[i % 8], "Phone": f"+1 555 {i:07d}",
        "Lead_Status": c.LEAD_STATUSES[i % 8], "Full_Name": f"First{i} Last{i}",
        "No_of_Employees": i, "Visit_At": "2024-01-01T00:00:00+00:00", "Annual_Revenue": 1000.5,
        "Owner": {"id": "1"}, "$approved": True, "$editable": True, "Tag": [], **changes})


def upkeep(rounds: int, n: int = 20000) -> None:
    from corral.storage.filters import IndexedText
    from corral.storage.repositories.text_index import _sqlite_ddl

    fields = [IndexedText(100 + i, k) for i, k in enumerate(UPKEEP_KEYS)]
    after = _sqlite_ddl(7, fields)
    # Before: the same update trigger without the WHEN on the indexed values.
    before = [*after[:3], after[3].split(" AND (old.module_id IS NOT")[0] + " BEGIN"
              + after[3].split(" BEGIN", 1)[1]]
    steps = {
        "insert": ("INSERT INTO records(id, module_id, data) VALUES (?, 7, ?)",
                   lambda i: (i + 1, upkeep_lead(i))),
        "update, no indexed value changed": (
            "UPDATE records SET data = ? WHERE id = ?",
            lambda i: (upkeep_lead(i, No_of_Employees=i + 1), i + 1)),
        "update, one indexed value changed": (
            "UPDATE records SET data = ? WHERE id = ?",
            lambda i: (upkeep_lead(i, No_of_Employees=i + 2, Company=f"Co{i}"), i + 1)),
    }
    best: dict[tuple[str, str], float] = {}
    for _ in range(rounds):
        for label, ddl in (("no text index", []), ("before", before), ("after", after)):
            con = sqlite3.connect(":memory:", isolation_level=None)
            con.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, module_id INTEGER NOT "
                        "NULL, deleted_time TEXT, data TEXT NOT NULL)")
            for statement in ddl:
                con.execute(statement)
            for step, (sql, row) in steps.items():
                rows = [row(i) for i in range(n)]
                t0 = time.perf_counter()
                for start in range(0, n, 100):
                    con.execute("BEGIN")
                    con.executemany(sql, rows[start:start + 100])
                    con.execute("COMMIT")
                us = (time.perf_counter() - t0) / n * 1e6
                best[label, step] = min(best.get((label, step), us), us)
            con.close()
    print(c.machine_line())
    print(f"µs per record, best of {rounds} interleaved rounds of {n:,} records")
    print(f"{'':36}" + "".join(f"{label:>16}" for label in ("no text index", "before", "after")))
    for step in steps:
        print(f"{step:36}" + "".join(f"{best[label, step]:16.1f}"
                                     for label in ("no text index", "before", "after")))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--pg", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--scan-queries", type=int, default=20,
                    help="queries of the scanning baseline per size (it is slow)")
    ap.add_argument("--upkeep", action="store_true",
                    help="time the index triggers in plain sqlite3 instead (see above)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    if args.upkeep:
        upkeep(args.rounds)
        return
    sizes = [int(x) for x in args.sizes.split(",")]

    from starlette.testclient import TestClient

    from corral.app import create_app
    from corral.auth.scopes import ALL_SCOPES
    from corral.config import Settings
    from corral.services import Corral

    with c.bench_database(args) as db, tempfile.TemporaryDirectory() as tmp:
        print(c.machine_line())
        print(f"database: {db.label}")
        corral = Corral.open(Settings(database_url=db.url, run_worker=False))
        corral.seed()
        user = corral.auth.user_by_email(None)
        token = corral.auth.create_access_token(user.id, list(ALL_SCOPES))
        headers = {"Authorization": f"Zoho-oauthtoken {token}"}
        engine = c.make_engine(db.url, 1)
        meta = c.read_meta(engine)
        plain = Plain(os.path.join(tmp, "plain.db"))
        loaded = 0
        first: dict[str, float] = {}
        with TestClient(create_app(corral)) as client:
            def get(path: str, **params: str) -> None:
                r = client.get(f"/crm/v2/Leads/{path}", params=params, headers=headers)
                assert r.status_code == 200, (r.status_code, r.text[:300])

            kinds: dict[str, Callable[[int], None]] = {
                "search criteria equals": lambda i: get(
                    "search", criteria=f"(Company:equals:{i:07d})"),
                "search phone=": lambda i: get("search", phone=f"555 {i:07d}"),
                "search word=": lambda i: get("search", word=f"Co{i:07d}"),
                "actions/count criteria": lambda i: get(
                    "actions/count", criteria=f"(Company:equals:{i:07d})"),
                "plain sqlite3 FTS5": plain.indexed,
            }
            for size in sizes:
                t0 = time.perf_counter()
                c.preload_rows(engine, meta, size - loaded, lambda i, o=loaded: lead(i + o))
                plain.grow(size)
                print(f"\n{size:,} Leads (loaded {size - loaded:,} in "
                      f"{time.perf_counter() - t0:.0f} s)", flush=True)
                loaded = size
                for name, fn in kinds.items():
                    p50, p95 = timed(fn, args.queries, size, seed=size)
                    first.setdefault(name, p95)
                    print(f"  {name:26} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms  "
                          f"p95/p95@{sizes[0]:,} {p95 / first[name]:5.2f}", flush=True)
                p50, p95 = timed(plain.scanned, args.scan_queries, size, seed=size)
                first.setdefault("scan", p95)
                print(f"  {'plain sqlite3 LIKE scan':26} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms  "
                      f"p95/p95@{sizes[0]:,} {p95 / first['scan']:5.2f}", flush=True)
                crit = timed(kinds["search criteria equals"], 50, size, seed=1)[1]
                fts = timed(plain.indexed, 50, size, seed=1)[1]
                print(f"  ratio search equals / plain sqlite3 FTS5 (p95): {crit / fts:.1f}")
        engine.dispose()
        corral.close()


if __name__ == "__main__":
    main()

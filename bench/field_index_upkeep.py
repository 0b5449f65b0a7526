"""What the per-field B-tree indexes cost a write, without Corral: plain sqlite3 / psycopg.

    python bench/field_index_upkeep.py                     # SQLite, 100,000 rows preloaded
    python bench/field_index_upkeep.py --preload 1000000   # 1M rows
    python bench/field_index_upkeep.py --pg                # PostgreSQL (throwaway cluster)

A table shaped like `records` (same columns, same three module indexes) holds --preload Leads
as Corral stores them (7 fields set, bench/common.py's `lead`). Each variant adds Leads'
32 field indexes in one form, then runs --batches transactions of 100 records: 50 `UPDATE
... WHERE id = ?` of existing Leads (new Company / Lead_Status, as bench/upsert.py's matched
half) and 50 `INSERT ... ON CONFLICT (id) DO UPDATE` of new ones, each an executemany.
Prints µs per record and the ratio to the variant without field indexes, measured in the
same run (the order of the variants is rotated over --rounds, the best round is kept).

Variants (the expression of each kind as `storage/field_values.py` writes it):
  none        no field index
  module      `WHERE module_id = X` (an entry per record, NULL or not): PostgreSQL's
              indexes up to FORM 4 (`storage/repositories/field_indexes.py`)
  notnull     `WHERE module_id = X AND <expr> IS NOT NULL`: SQLite's form since it has
              field indexes, PostgreSQL's since FORM 5
  json        `WHERE module_id = X AND <json value> IS NOT NULL` (no CAST / lower() in the
              predicate; a query must then state that predicate itself)
  key         `WHERE module_id = X AND strpos(data::text, '"Field"') > 0` (SQLite: instr):
              the document's text names the field, no JSON parsed; a superset of the records
              that hold a value (a query must state that predicate itself)
  set-only    only the 7 indexes of the fields the Leads hold (a lower bound: what the 25
              indexes of empty fields cost)
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as c  # noqa: E402

MODULE = 11  # Leads' module id in this table; another module's rows share it
OTHER = 12
# Leads' indexed fields and their kinds (metadata/field_indexes.py on the seeded Leads).
FIELDS: list[tuple[str, str]] = [
    *[(f, "itext") for f in (
        "Salutation", "First_Name", "Last_Name", "Full_Name", "Email", "Secondary_Email",
        "Company", "Designation", "Phone", "Mobile", "Fax", "Website", "Lead_Source",
        "Lead_Status", "Industry")],
    ("No_of_Employees", "float"), ("Annual_Revenue", "float"), ("Rating", "itext"),
    ("Email_Opt_Out", "boolean"),
    *[(f, "itext") for f in ("Skype_ID", "Twitter", "Street", "City", "State", "Zip_Code",
                             "Country")],
    ("Last_Activity_Time", "text"), ("Converted_Date_Time", "text"),
    ("Converted__s", "boolean"), ("Converted_Account", "text"), ("Converted_Contact", "text"),
    ("Converted_Deal", "text"),
]
SET_FIELDS = {"Last_Name", "First_Name", "Email", "Company", "Phone", "Lead_Status",
              "Full_Name"}
VARIANTS = ["none", "module", "notnull", "json", "key", "set-only"]


def lead_json(i: int, shift: int = 0, company: str | None = None) -> str:
    return json.dumps(c.stored_data(c.lead(i, f"lead{i:08d}@example.com", shift, company)),
                      separators=(",", ":"))


# ----------------------------------------------------------------------------- SQL text
def sqlite_value(field: str, kind: str) -> tuple[str, str]:
    """(indexed expression, bare JSON value) as SQLAlchemy renders them for SQLite."""
    raw = f"JSON_EXTRACT(data, '$.\"{field}\"')"
    if kind == "itext":
        return f"lower(CAST({raw} AS VARCHAR))", raw
    cast = {"text": "VARCHAR", "float": "FLOAT", "boolean": "BOOLEAN"}[kind]
    return f"CAST({raw} AS {cast})", raw


def pg_value(field: str, kind: str) -> tuple[str, str]:
    raw = f"(data ->> '{field}')"
    if kind == "itext":
        return f"lower({raw})", raw
    cast = {"text": None, "float": "FLOAT", "boolean": "BOOLEAN"}[kind]
    return (f"CAST({raw} AS {cast})" if cast else raw), raw


def index_ddl(variant: str, pg: bool) -> list[str]:
    out = []
    for n, (field, kind) in enumerate(FIELDS):
        if variant == "set-only" and field not in SET_FIELDS:
            continue
        expr, raw = (pg_value if pg else sqlite_value)(field, kind)
        where = f"module_id = {MODULE}"
        if variant in ("notnull", "set-only"):
            where += f" AND {expr} IS NOT NULL"
        elif variant == "json":
            where += f" AND {raw} IS NOT NULL"
        elif variant == "key":
            where += (f" AND strpos(data::text, '\"{field}\"') > 0" if pg
                      else f" AND instr(data, '\"{field}\"') > 0")
        ops = " text_pattern_ops" if pg and kind == "itext" else ""
        out.append(f"CREATE INDEX ix_f{n} ON records (({expr}){ops}) WHERE {where}"
                   if pg else f"CREATE INDEX ix_f{n} ON records ({expr}) WHERE {where}")
    return out


TABLE = """CREATE TABLE records (id BIGINT PRIMARY KEY, module_id BIGINT NOT NULL,
    data {json} NOT NULL, owner_id BIGINT NOT NULL, created_by BIGINT NOT NULL,
    modified_by BIGINT NOT NULL, created_time {ts} NOT NULL, modified_time {ts} NOT NULL,
    deleted_time {ts}, deleted_by BIGINT, converted BOOLEAN NOT NULL,
    approval_state VARCHAR(40) NOT NULL)"""
BASE_INDEXES = [
    "CREATE INDEX ix_records_module_live ON records (module_id, deleted_time, id)",
    "CREATE INDEX ix_records_module_modified ON records (module_id, modified_time)",
    "CREATE INDEX ix_records_module_created ON records (module_id, created_time)",
]
COLS = ("id, module_id, data, owner_id, created_by, modified_by, created_time, modified_time, "
        "deleted_time, deleted_by, converted, approval_state")


# ----------------------------------------------------------------------------- workload
def workload(rng: random.Random, preload: int, batches: int, start: int,
             ) -> list[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """`batches` of (50 updates, 50 inserts); new ids from `start`."""
    now = "2026-12-01 12:00:00.000000"
    out = []
    nxt = start
    for _ in range(batches):
        ups = [(lead_json(i, 3, f"Updated {i % 97}"), now, i)
               for i in rng.sample(range(preload), 50)]
        ins = []
        for _ in range(50):
            ins.append((nxt, MODULE, lead_json(nxt), 1, 1, 1, now, now, None, None, False,
                        "approved"))
            nxt += 1
        out.append((ups, ins))
    return out


def preload_rows(n: int) -> Sequence[tuple[Any, ...]]:
    now = "2026-12-01 10:00:00.000000"
    # One record in ten belongs to another module (the partial indexes skip it).
    return [(i, OTHER if i % 10 == 9 else MODULE, lead_json(i), 1, 1, 1, now, now, None, None,
             False, "approved") for i in range(n)]


UPDATE = "UPDATE records SET data = {p}, modified_time = {p} WHERE id = {p}"
INSERT = ("INSERT INTO records (" + COLS + ") VALUES (" + ", ".join(["{p}"] * 12) + ") "
          "ON CONFLICT (id) DO UPDATE SET data = excluded.data, "
          "modified_time = excluded.modified_time")


# ----------------------------------------------------------------------------- SQLite
class SqliteRun:
    def __init__(self, tmp: str, rows: Sequence[tuple[Any, ...]]) -> None:
        self.path = os.path.join(tmp, "base.db")
        con = sqlite3.connect(self.path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(TABLE.format(json="JSON", ts="DATETIME"))
        for ddl in BASE_INDEXES:
            con.execute(ddl)
        ph = INSERT.format(p="?")
        for i in range(0, len(rows), 20000):
            con.execute("BEGIN")
            con.executemany(ph, rows[i:i + 20000])
            con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        self.tmp = tmp

    def run(self, variant: str, work: list[Any]) -> tuple[float, float]:
        copy = os.path.join(self.tmp, f"{variant}.db")
        with open(self.path, "rb") as src, open(copy, "wb") as dst:
            while chunk := src.read(1 << 24):
                dst.write(chunk)
        con = sqlite3.connect(copy, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA cache_size=-65536")
            for ddl in index_ddl(variant, pg=False) if variant != "none" else []:
                con.execute(ddl)
            con.execute("ANALYZE")
            up, ins = UPDATE.format(p="?"), INSERT.format(p="?")
            t0, cpu0 = time.perf_counter(), time.process_time()
            for ups, news in work:
                con.execute("BEGIN")
                con.executemany(up, ups)
                con.executemany(ins, news)
                con.execute("COMMIT")
            return time.perf_counter() - t0, time.process_time() - cpu0
        finally:
            con.close()
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.remove(copy + suffix)
                except FileNotFoundError:
                    pass


def json_parse_probe(rows: Sequence[tuple[Any, ...]]) -> None:
    """Does SQLite parse a row's JSON once per statement or once per json_extract()?"""
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (data JSON)")
    con.executemany("INSERT INTO t VALUES (?)", [(r[2],) for r in rows[:50000]])
    one = "SELECT count(JSON_EXTRACT(data, '$.Email')) FROM t"
    many = "SELECT count(" + " || ".join(
        f"coalesce(JSON_EXTRACT(data, '$.\"{f}\"'), '')" for f, _ in FIELDS) + ") FROM t"
    times = {}
    for label, q in (("1 json_extract", one), (f"{len(FIELDS)} json_extract", many)):
        t0 = time.perf_counter()
        con.execute(q).fetchall()
        times[label] = (time.perf_counter() - t0) / 50000 * 1e6
    print("  JSON parse probe (SQLite " + sqlite3.sqlite_version + ", 50,000 rows): " +
          ", ".join(f"{k}: {v:.2f} µs/row" for k, v in times.items()))


# ----------------------------------------------------------------------------- PostgreSQL
class PgRun:
    def __init__(self, url: str, rows: Sequence[tuple[Any, ...]]) -> None:
        import psycopg

        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.psycopg = psycopg
        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute(TABLE.format(json="JSON", ts="TIMESTAMP"))
            for ddl in BASE_INDEXES:
                con.execute(ddl)
            ph = INSERT.format(p="%s")
            with con.cursor() as cur:
                for i in range(0, len(rows), 20000):
                    with con.transaction():
                        cur.executemany(ph, rows[i:i + 20000])
            con.execute("VACUUM ANALYZE records")

    def run(self, variant: str, work: list[Any]) -> tuple[float, float]:
        psycopg = self.psycopg
        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute("SET synchronous_commit = off")
            con.execute("CREATE TABLE run AS SELECT * FROM records")
            con.execute("ALTER TABLE run ADD PRIMARY KEY (id)")
            for ddl in BASE_INDEXES + (index_ddl(variant, pg=True) if variant != "none"
                                       else []):
                con.execute(ddl.replace(" ON records ", " ON run ")
                            .replace("INDEX ix_", "INDEX run_ix_"))
            con.execute("VACUUM ANALYZE run")
            up = UPDATE.format(p="%s").replace("records", "run")
            ins = INSERT.format(p="%s").replace("records", "run")
            pid = con.info.backend_pid
            try:
                with con.cursor() as cur:
                    t0, cpu0 = time.perf_counter(), backend_cpu(pid)
                    for ups, news in work:
                        with con.transaction():
                            cur.executemany(up, ups)
                            cur.executemany(ins, news)
                    return time.perf_counter() - t0, backend_cpu(pid) - cpu0
            finally:
                con.execute("DROP TABLE run")


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a PostgreSQL backend process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- main
Best = dict[str, tuple[float, float]]


def measure(runner: Callable[[str, list[Any]], tuple[float, float]], variants: list[str],
            rounds: int, rng: random.Random, preload: int, batches: int) -> Best:
    """Per variant: the least wall time and the least CPU time over the rounds."""
    best: Best = {v: (float("inf"), float("inf")) for v in variants}
    for r in range(rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in order:
            work = workload(rng, preload, batches, 10**9)
            wall, cpu = runner(v, work)
            best[v] = (min(best[v][0], wall), min(best[v][1], cpu))
    return best


def report(label: str, cpu_of: str, best: Best, records: int) -> None:
    base_wall, base_cpu = (x / records * 1e6 for x in best["none"])
    print(f"{label}: per record (50% UPDATE, 50% INSERT; least over the rounds)")
    print(f"  {'variant':<9} {'wall µs':>8} {'records/s':>10} {'ratio':>6}   "
          f"{cpu_of + ' CPU µs':>16} {'ratio':>6} {'+ indexes':>9}")
    for v, (wall, cpu) in best.items():
        w, u = wall / records * 1e6, cpu / records * 1e6
        print(f"  {v:<9} {w:8.1f} {records / wall:10,.0f} {w / base_wall:6.2f}   "
              f"{u:16.1f} {u / base_cpu:6.2f} {u - base_cpu:9.1f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preload", type=int, default=100_000)
    ap.add_argument("--batches", type=int, default=100, help="100-record transactions")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--pg", action="store_true")
    args = ap.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    if "none" not in variants:
        variants.insert(0, "none")
    print(c.machine_line())
    rng = random.Random(15)
    rows = preload_rows(args.preload)
    records = args.batches * 100
    with tempfile.TemporaryDirectory(prefix="corral-upkeep-") as tmp:
        if args.pg:
            cluster = c._pg_cluster_class()(Path(tmp) / "pg").start()
            try:
                runner = PgRun(cluster.create_database("upkeep"), rows)
                best = measure(runner.run, variants, args.rounds, rng, args.preload,
                               args.batches)
            finally:
                cluster.stop()
            report(f"PostgreSQL, {args.preload:,} rows preloaded", "backend", best, records)
        else:
            json_parse_probe(rows)
            srun = SqliteRun(tmp, rows)
            best = measure(srun.run, variants, args.rounds, rng, args.preload, args.batches)
            report(f"SQLite {sqlite3.sqlite_version}, {args.preload:,} rows preloaded",
                   "process", best, records)


if __name__ == "__main__":
    main()

"""Search latency as the Leads module grows: p50/p95 per query kind at each size, the ratio of
the largest size's p95 to the smallest's, and a plain-sqlite3 baseline of the same lookup.

    python bench/search.py                                  # 10k and 100k Leads, SQLite
    python bench/search.py --sizes 10000,100000,1000000
    python bench/search.py --pg                             # throwaway PostgreSQL cluster

The module grows in place: Leads are preloaded directly (records, record_keys and change_log
rows exactly as the record service writes them, see bench/common.py) up to each size, then
ANALYZE, then a real `corral serve` subprocess answers --calls sequential GET/POST calls per
query kind (after --warmup untimed ones; a kind stops early after --budget seconds). Every
query's values pick rows among the first 10,000 leads, so each matches the same bounded set at
every size: a flat p95 means an index answers it. Lead i has Email lead<i:08>@example.com,
Last_Name Last<i>, No_of_Employees i and Visit_At (a custom datetime field) T0 + i seconds.

The plain-sqlite3 baseline, in this process: one table (id, email, last_name, ...) with a plain
index on the lower-cased email, the same number of rows, `SELECT * ... WHERE email = ?` timed
the same way. Prints figures only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sqlite3
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402

T0 = datetime(2024, 1, 1)


def email(i: int) -> str:
    return f"lead{i:08d}@example.com"


def visit(i: int) -> str:
    return (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def make_lead(i: int) -> dict[str, Any]:
    return {**c.lead(i, email(i)), "No_of_Employees": i, "Visit_At": visit(i)}


@dataclass(frozen=True)
class Kind:
    name: str
    method: str
    path: str  # with its query string
    body: dict[str, Any] | None = None


def kinds(cvid: str) -> list[Kind]:
    def crit(text: str) -> str:
        return urllib.parse.quote(text)

    coql = "select Last_Name, Email from Leads where {} limit 200"
    return [
        # Contains searches match inside values: "lead00001234" is inside one zero-padded
        # Email at every size, while "Last1234" is inside Last1234, Last12340-9, Last123400-99
        # ... (1, 11, 111 matches as the module grows): that kind measures a growing result.
        Kind("criteria equals (search: contains)", "GET",
             f"/crm/v8/Leads/search?criteria={crit('(Email:equals:lead00001234)')}"),
        Kind("criteria equals, growing matches", "GET",
             f"/crm/v8/Leads/search?criteria={crit('(Last_Name:equals:Last1234)')}"),
        Kind("criteria starts_with", "GET",
             f"/crm/v8/Leads/search?criteria={crit('(Email:starts_with:lead0000123)')}"),
        Kind("criteria in", "GET", "/crm/v8/Leads/search?criteria=" + crit(
            f"(Email:in:{email(11)},{email(22)},{email(33)})")),
        Kind("criteria between (number)", "GET",
             f"/crm/v8/Leads/search?criteria={crit('(No_of_Employees:between:1000,1010)')}"),
        Kind("criteria between (datetime)", "GET", "/crm/v8/Leads/search?criteria=" + crit(
            f"(Visit_At:between:{visit(2000)},{visit(2010)})")),
        Kind("email=", "GET", f"/crm/v8/Leads/search?email={crit(email(777))}"),
        Kind("phone=", "GET", "/crm/v8/Leads/search?phone=0000777"),
        Kind("word=", "GET", "/crm/v8/Leads/search?word=lead00000777"),
        Kind("word=, growing matches", "GET", "/crm/v8/Leads/search?word=Last777"),
        Kind("actions/count criteria", "GET", "/crm/v8/Leads/actions/count?criteria="
             + crit("(No_of_Employees:between:3000,3050)")),
        Kind("custom view, sort Modified_Time", "GET",
             f"/crm/v8/Leads?cvid={cvid}&sort_by=Modified_Time&sort_order=desc"
             "&fields=Last_Name,Email"),
        Kind("COQL where =", "POST", "/crm/v8/coql",
             {"select_query": coql.format(f"Email = '{email(555)}'")}),
        Kind("COQL where between", "POST", "/crm/v8/coql",
             {"select_query": coql.format("No_of_Employees between 4000 and 4020")}),
        Kind("COQL where like 'x%'", "POST", "/crm/v8/coql",
             {"select_query": coql.format("Email like 'lead0000456%'")}),
    ]


# ----------------------------------------------------------------------------- HTTP
class Client:
    def __init__(self, server: c.Server) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=c.CALL_TIMEOUT)
        self.headers = {"Authorization": f"Zoho-oauthtoken {server.token}",
                        "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             ) -> tuple[int, Any]:
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                          headers=self.headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None

    def close(self) -> None:
        self.conn.close()


def prepare(server: c.Server) -> str:
    """The custom field and view the queries use; returns the view's id."""
    cl = Client(server)
    try:
        status, body = cl.call("POST", "/crm/v8/settings/fields?module=Leads", {"fields": [
            {"field_label": "Visit At", "api_name": "Visit_At", "data_type": "datetime"}]})
        if status != 201 and "DUPLICATE" not in json.dumps(body):
            raise RuntimeError(f"creating the field: {status} {body}")
        status, body = cl.call("POST", "/crm/v8/settings/custom_views?module=Leads", {
            "custom_views": [{"name": "Bench few", "access_type": "public",
                              "criteria": "(No_of_Employees:between:2000,2050)"}]})
        if status != 201:
            raise RuntimeError(f"creating the view: {status} {body}")
        return str(body["custom_views"][0]["details"]["id"])
    finally:
        cl.close()


def matched(body: Any) -> int:
    if body is None:
        return 0
    return int(body["count"]) if "count" in body else len(body.get("data") or [])


def timed(fn: Callable[[], Any], calls: int, warmup: int, budget: float) -> list[float]:
    for _ in range(warmup):
        fn()
    out: list[float] = []
    start = time.perf_counter()
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget and len(out) >= 5:
            break
    return out


def measure(server: c.Server, cvid: str, args: argparse.Namespace,
            ) -> dict[str, list[float]]:
    cl = Client(server)
    results: dict[str, list[float]] = {}
    try:
        for k in kinds(cvid):
            def one(k: Kind = k) -> Any:
                status, body = cl.call(k.method, k.path, k.body)
                if status not in (200, 204):
                    raise RuntimeError(f"{k.name}: HTTP {status} {body}")
                return body

            found = matched(one())  # the same at every size, or the query is wrong
            results[k.name] = timed(one, args.calls, args.warmup, args.budget)
            p50, p95 = (c.percentile(results[k.name], q) for q in (50, 95))
            print(f"  {k.name:34} p50 {p50 * 1000:8.1f} ms  p95 {p95 * 1000:8.1f} ms"
                  f"  ({len(results[k.name])} calls, {found} matched)", flush=True)
    finally:
        cl.close()
    return results


# ----------------------------------------------------------------------------- baseline
class Baseline:
    """Plain sqlite3: one table, a plain index on the lower-cased email, grown like Leads."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE leads (id INTEGER PRIMARY KEY, email TEXT, last_name TEXT,"
                        " first_name TEXT, company TEXT, phone TEXT, status TEXT)")
        self.db.execute("CREATE INDEX ix_leads_email ON leads (email)")
        self.rows = 0

    def grow(self, n: int) -> None:
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO leads VALUES (?, ?, ?, ?, ?, ?, ?)", [
            (i, email(i), d["Last_Name"], d["First_Name"], d["Company"], d["Phone"],
             d["Lead_Status"]) for i in range(self.rows, n) for d in [c.lead(i, email(i))]])
        self.db.execute("COMMIT")
        self.rows = n

    def lookup(self, calls: int) -> list[float]:
        def one() -> None:
            self.db.execute("SELECT * FROM leads WHERE email = ?",
                            (email(777).lower(),)).fetchall()

        return timed(one, calls, 10, 60.0)


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000",
                    help="comma-separated Leads counts, ascending (default %(default)s)")
    ap.add_argument("--database-url", default=None,
                    help="SQLAlchemy URL of an EMPTY database (default: temp SQLite file)")
    ap.add_argument("--pg", action="store_true", help="throwaway PostgreSQL cluster")
    ap.add_argument("--calls", type=int, default=40, help="timed calls per kind (default 40)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed calls per kind first")
    ap.add_argument("--budget", type=float, default=20.0,
                    help="seconds per kind and size before it stops early (at least 5 calls)")
    ap.add_argument("--keep", action="store_true", help="keep the temp database")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    table: dict[int, dict[str, list[float]]] = {}
    base: dict[int, list[float]] = {}
    with c.bench_database(args) as bdb, tempfile.TemporaryDirectory() as tmp:
        print(f"database: {bdb.label}")
        print(c.machine_line())
        baseline = Baseline(Path(tmp) / "baseline.db")
        with c.Server(bdb.url) as server:  # migrates and seeds; its token has every scope
            cvid = prepare(server)
            token = server.token
        engine = c.make_engine(bdb.url, 2)
        meta = c.read_meta(engine)
        have = 0
        for size in sizes:
            print(f"\n{size:,} Leads: preloading {size - have:,} ...", flush=True)
            secs, _ids = c.preload_rows(engine, meta, size - have,
                                        lambda i, off=have: make_lead(off + i))
            print(f"  preloaded in {secs:.0f} s (then ANALYZE)", flush=True)
            have = size
            server = c.Server(bdb.url)
            server.token = token  # COQL needs its own scope
            with server:  # a new process: its connections read the fresh statistics
                table[size] = measure(server, cvid, args)
            baseline.grow(size)
            base[size] = baseline.lookup(args.calls * 5)
            print(f"  plain sqlite3 email lookup: p50 {c.percentile(base[size], 50) * 1e6:.0f}"
                  f" us  p95 {c.percentile(base[size], 95) * 1e6:.0f} us")
        engine.dispose()
    report(sizes, table, base)


def report(sizes: list[int], table: dict[int, dict[str, list[float]]],
           base: dict[int, list[float]]) -> None:
    lo, hi = sizes[0], sizes[-1]
    print(f"\np50 / p95 in ms; ratio = p95 at {hi:,} / p95 at {lo:,} (goal: <= 2)")
    head = "".join(f" | {s:>17,}" for s in sizes)
    print(f"{'query kind':34}{head} | ratio")
    for name in table[lo]:
        cells = "".join(
            f" | {c.percentile(table[s][name], 50) * 1000:7.1f} /"
            f"{c.percentile(table[s][name], 95) * 1000:8.1f}" for s in sizes)
        ratio = c.percentile(table[hi][name], 95) / c.percentile(table[lo][name], 95)
        print(f"{name:34}{cells} | {ratio:5.2f}")
    cells = "".join(f" | {c.percentile(base[s], 50) * 1000:7.3f} /"
                    f"{c.percentile(base[s], 95) * 1000:8.3f}" for s in sizes)
    ratio = c.percentile(base[hi], 95) / c.percentile(base[lo], 95)
    print(f"{'plain sqlite3 email lookup':34}{cells} | {ratio:5.2f}")
    for s in sizes:
        http = c.percentile(table[s]["email="], 95)
        print(f"email= p95 at {s:,} / plain sqlite3 p95: {http / c.percentile(base[s], 95):,.0f}x"
              " (HTTP, auth, JSON rendering included)")
    print(c.machine_line())


if __name__ == "__main__":
    main()

"""Bulk Write: 100,000 Leads upserted through the Bulk Write API, and a plain sqlite3 baseline.

    python bench/bulk_write.py                      # SQLite temp file
    python bench/bulk_write.py --rows 20000         # fewer rows
    python bench/bulk_write.py --pg                 # throwaway PostgreSQL cluster (Corral part)

1. Bulk Write (a real `corral serve` subprocess, its in-process worker): the rows are split
   into files of at most 25,000 (Zoho's limit per file), each zipped and uploaded
   (POST /crm/v8/upload); one upsert job per file (find_by Email) is created (POST
   /crm/bulk/v8/write) and polled (GET .../write/{id}, every --poll seconds) until
   COMPLETED. The clock runs from the first upload to the last job's completion. Every row
   goes through the write path (validation, keys, change log), 500 rows a transaction.
2. Plain sqlite3, same process, a fresh file: a table of the same columns with a UNIQUE email,
   and one `executemany` INSERT ... ON CONFLICT(email) DO UPDATE of the same rows in one
   transaction (WAL, synchronous=NORMAL, as Corral's SQLite).

Prints both rates and the ratio; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402

FILE_ROWS = 25_000
COLUMNS = ["Last_Name", "First_Name", "Email", "Company", "Phone", "Lead_Status"]


def rows(n: int, tag: str) -> list[list[str]]:
    out = []
    for i in range(n):
        lead = c.lead(i, f"bulk-{tag}-{i:07d}@example.com")
        out.append([str(lead.get(k, "")) for k in COLUMNS])
    return out


def zipped_csv(part: list[list[str]]) -> bytes:
    from corral.records.bulk_files import zip_bytes

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([COLUMNS, *part])
    return zip_bytes("Leads.csv", buf.getvalue().encode())


def call(server: c.Server, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> Any:
    req = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", data=body,
                                 method=method, headers={
                                     "Authorization": f"Zoho-oauthtoken {server.token}",
                                     **(headers or {})})
    with urllib.request.urlopen(req, timeout=c.CALL_TIMEOUT) as resp:  # noqa: S310
        return json.loads(resp.read())


def upload(server: c.Server, data: bytes) -> str:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"leads.zip\"\r\nContent-Type: application/zip\r\n\r\n").encode() \
        + data + f"\r\n--{boundary}--\r\n".encode()
    out = call(server, "POST", "/crm/v8/upload", body, {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "feature": "bulk-write", "X-CRM-ORG": "1"})
    return str(out["details"]["file_id"])


def run_bulk(server: c.Server, data: list[list[str]], poll: float) -> float:
    files = [zipped_csv(data[i:i + FILE_ROWS]) for i in range(0, len(data), FILE_ROWS)]
    t0 = time.perf_counter()
    jobs = []
    for f in files:
        fid = upload(server, f)
        body = {"operation": "upsert", "resource": [{
            "type": "data", "module": {"api_name": "Leads"}, "file_id": fid,
            "find_by": "Email"}]}
        out = call(server, "POST", "/crm/bulk/v8/write", json.dumps(body).encode(),
                   {"Content-Type": "application/json"})
        jobs.append(out["details"]["id"])
    counts = {"added": 0, "updated": 0, "skipped": 0}
    for job in jobs:
        while True:
            st = call(server, "GET", f"/crm/bulk/v8/write/{job}")
            if st["status"] in ("COMPLETED", "FAILED"):
                break
            time.sleep(poll)
        f = st["resource"][0]["file"]
        for k in counts:
            counts[k] += f[f"{k}_count"]
    elapsed = time.perf_counter() - t0
    print(f"bulk write: {len(files)} jobs, {counts}")
    if counts["added"] + counts["updated"] != len(data):
        print("WARNING: not every row was written")
    return elapsed


def run_sqlite3(data: list[list[str]]) -> float:
    with tempfile.TemporaryDirectory(prefix="corral-bench-sqlite3-") as tmp:
        conn = sqlite3.connect(Path(tmp) / "plain.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE leads (id INTEGER PRIMARY KEY, last_name TEXT, "
                     "first_name TEXT, email TEXT UNIQUE, company TEXT, phone TEXT, "
                     "lead_status TEXT)")
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO leads (last_name, first_name, email, company, phone, lead_status) "
            "VALUES (?, ?, lower(?), ?, ?, ?) ON CONFLICT(email) DO UPDATE SET "
            "last_name=excluded.last_name, first_name=excluded.first_name, "
            "company=excluded.company, phone=excluded.phone, "
            "lead_status=excluded.lead_status", data)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - t0
        conn.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--poll", type=float, default=0.25)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--pg", action="store_true")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    data = rows(args.rows, uuid.uuid4().hex[:6])
    with c.bench_database(args) as db:
        print(f"database: {db.label}; {args.rows:,} Leads by upsert (find_by Email)")
        with c.Server(db.url) as server:
            bulk_secs = run_bulk(server, data, args.poll)
    raw_secs = run_sqlite3(data)
    bulk_rate, raw_rate = args.rows / bulk_secs, args.rows / raw_secs
    print(f"bulk write: {args.rows:,} rows in {bulk_secs:.1f}s = {bulk_rate:,.0f} records/s")
    print(f"plain sqlite3 executemany: {args.rows:,} rows in {raw_secs:.2f}s = "
          f"{raw_rate:,.0f} records/s")
    print(c.machine_line())
    print(f"ratio bulk/sqlite3: {bulk_rate / raw_rate:.3f} "
          f"(plain sqlite3 is {raw_rate / bulk_rate:.0f}x faster)")


if __name__ == "__main__":
    main()

"""Memory and speed of a 200,000-row Bulk Read and of `corral export` at 1M records.

    python bench/bulk_read.py                       # 1,000,000 Leads preloaded, SQLite temp file
    python bench/bulk_read.py --preload 200000      # quicker
    python bench/bulk_read.py --pg                  # throwaway PostgreSQL cluster
    python bench/bulk_read.py --database-url sqlite:////tmp/x.db --keep   # reuse a preload

Preload: --preload Leads written directly (bench/common.preload; skipped when the database
already holds that many Leads, so a kept file can be measured again). Bulk Read: a real
`corral serve` subprocess; `POST /crm/bulk/v8/read` of every Lead (page 1, so the first
200,000 by id: the server's page size), polled to COMPLETED, the zip downloaded streaming to
disk and counted. Export: `corral export Leads --criteria ... -o FILE` as a subprocess over the
same 200,000 Leads (their Emails start with lead000 or lead001). Memory: the resident set
(VmRSS, children included) sampled every 50 ms from /proc, and the kernel's high-water mark
(VmHWM: the server's before it stops, the export's as last sampled). Baseline, same
process: plain `sqlite3` reading the same 200,000 rows' JSON and writing the same columns as
CSV with `csv.writer`; its rows/s and the growth of this process's RSS while it runs.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from bench import common as c  # noqa: E402
from bench.common import t  # noqa: E402

ROWS = 200_000
EXPORT_CRITERIA = "((Email:starts_with:lead000)or(Email:starts_with:lead001))"


def preload_email(i: int) -> str:
    return f"lead{i:08d}@example.com"


# ----------------------------------------------------------------------------- memory
def tree_rss_kib(pid: int) -> int:
    """VmRSS of the process and all its descendants (e.g. `serve --workers N`)."""
    return sum(c.status_kib(p, "VmRSS:") for p in c.process_tree(pid))


class RssSampler:
    """Samples a process tree's resident set every `interval` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self.first_kib = tree_rss_kib(pid)
        self.hwm_kib = 0  # the processes' own high-water marks, summed, when last sampled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = c.process_tree(self.pid)
            rss = sum(c.status_kib(p, "VmRSS:") for p in pids)
            self.peak_kib = max(self.peak_kib, rss)
            hwm = sum(c.status_kib(p, "VmHWM:") for p in pids)
            if hwm:
                self.hwm_kib = hwm
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def mb(kib: int) -> str:
    return f"{kib / 1024:,.0f} MB"


# ----------------------------------------------------------------------------- HTTP
def call(server: c.Server, method: str, path: str, body: Any = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=c.CALL_TIMEOUT)
    try:
        headers = {"Authorization": f"Zoho-oauthtoken {server.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        payload = r.read()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {payload[:300]!r}")
        return json.loads(payload)
    finally:
        conn.close()


def download(server: c.Server, job_id: str, target: Path) -> int:
    """The result zip, streamed to `target` in 64 KiB reads; returns its size in bytes."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=c.CALL_TIMEOUT)
    try:
        conn.request("GET", f"/crm/bulk/v8/read/{job_id}/result",
                     headers={"Authorization": f"Zoho-oauthtoken {server.token}"})
        r = conn.getresponse()
        if r.status != 200:
            raise RuntimeError(f"download: {r.status} {r.read()[:300]!r}")
        size = 0
        with target.open("wb") as f:
            while chunk := r.read(64 * 1024):
                f.write(chunk)
                size += len(chunk)
        return size
    finally:
        conn.close()


def csv_rows_in_zip(path: Path) -> tuple[list[str], int]:
    """The header and data row count of the one CSV in a zip, read streaming."""
    with zipfile.ZipFile(path) as zf, zf.open(zf.namelist()[0]) as member:
        reader = csv.reader(io.TextIOWrapper(member, encoding="utf-8", newline=""))
        header = next(reader)
        return header, sum(1 for _ in reader)


def bulk_read(server: c.Server) -> tuple[str, float]:
    """Create the job and poll it to COMPLETED; (job id, seconds)."""
    t0 = time.perf_counter()
    r = call(server, "POST", "/crm/bulk/v8/read",
             {"query": {"module": {"api_name": "Leads"}, "page": 1}})
    job_id = r["data"][0]["details"]["id"]
    while True:
        state = call(server, "GET", f"/crm/bulk/v8/read/{job_id}")["data"][0]["state"]
        if state == "COMPLETED":
            return job_id, time.perf_counter() - t0
        if state not in ("ADDED", "QUEUED", "IN PROGRESS"):
            raise RuntimeError(f"bulk read job {job_id} ended {state}")
        time.sleep(0.2)


# ----------------------------------------------------------------------------- export
def bulk_token(db_url: str) -> str:
    """A token with the Bulk Read scopes (a reused database gives the server no first-start
    admin token, and bench/common's fallback token has no bulk scope)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(c.ROOT / "src"),
                                                      env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", "from corral.cli import main; main()",
                          "token", "create", "--scopes", "ZohoCRM.bulk.ALL,ZohoCRM.modules.ALL",
                          "--expires-in", "86400", "--database-url", db_url],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    return out.stdout.strip().splitlines()[-1]


def run_export(db_url: str, out: Path) -> tuple[float, int, int, int]:
    """`corral export` as a subprocess: (seconds, rows, sampled peak KiB, VmHWM KiB as last
    sampled). Not wait4's ru_maxrss: Linux carries the forking process's high-water mark
    across exec, so it reports this bench's own peak (e.g. after a 1M-row preload)."""
    cmd = [sys.executable, "-c", "from corral.cli import main; main()"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(c.ROOT / "src"),
                                                      env.get("PYTHONPATH")]))
    t0 = time.perf_counter()
    proc = subprocess.Popen([*cmd, "export", "Leads", "--criteria", EXPORT_CRITERIA,
                             "-o", str(out), "--database-url", db_url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    with RssSampler(proc.pid) as sampler:
        proc.wait()
    secs = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"corral export exited {proc.returncode}: {err[-2000:]}")
    with out.open(newline="") as f:
        rows = sum(1 for _ in csv.reader(f)) - 1
    return secs, rows, sampler.peak_kib, sampler.hwm_kib


# ----------------------------------------------------------------------------- baseline
def baseline_file(db_url: str, engine: sa.Engine, tmp: Path) -> Path:
    """A SQLite file holding the first ROWS Leads (id, data JSON): the server's own file on
    SQLite, a copy (untimed) for PostgreSQL."""
    if db_url.startswith("sqlite"):
        return Path(sa.engine.make_url(db_url).database or "")
    path = tmp / "baseline.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, module_id INTEGER, "
                "deleted_time TEXT, data TEXT)")
    with engine.connect() as conn:
        mod = conn.execute(sa.select(t.modules.c.id).where(t.modules.c.api_name == "Leads")
                           ).scalar_one()
        rows = conn.execution_options(yield_per=5000).execute(
            sa.select(t.records.c.id, t.records.c.data).where(t.records.c.module_id == mod)
            .order_by(t.records.c.id).limit(ROWS))
        for part in rows.partitions():
            con.executemany("INSERT INTO records VALUES (?, ?, NULL, ?)",
                            [(r.id, mod, json.dumps(r.data)) for r in part])
    con.commit()
    con.close()
    return path


def plain_sqlite3(path: Path, module_id: int, columns: list[str], out: Path,
                  ) -> tuple[float, int, int]:
    """The rows' JSON read with the stdlib module and written as CSV: (seconds, rows, KiB
    this process's RSS grew by at its peak)."""
    with RssSampler(os.getpid()) as sampler:
        t0 = time.perf_counter()
        con = sqlite3.connect(path)
        n = 0
        with out.open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(columns)
            fields = columns[1:]
            for rid, data in con.execute(
                    "SELECT id, data FROM records WHERE module_id = ? AND deleted_time IS NULL "
                    "ORDER BY id LIMIT ?", (module_id, ROWS)):
                d = json.loads(data)
                w.writerow([rid, *("" if d.get(k) is None else d.get(k) for k in fields)])
                n += 1
        con.close()
        secs = time.perf_counter() - t0
    return secs, n, max(0, sampler.peak_kib - sampler.first_kib)


def lead_count(engine: sa.Engine, module_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.records).where(
            t.records.c.module_id == module_id)).scalar_one())


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    global ROWS
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=None,
                    help="SQLAlchemy URL (default: a fresh SQLite file in a temp dir); a "
                         "database already holding --preload Leads is not preloaded again")
    ap.add_argument("--pg", action="store_true", help="throwaway PostgreSQL cluster")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir / cluster")
    ap.add_argument("--preload", type=int, default=1_000_000,
                    help="Leads in the database (default %(default)s)")
    ap.add_argument("--skip-export", action="store_true", help="Bulk Read only")
    ap.add_argument("--rows", type=int, default=ROWS,
                    help="rows read (the server's Bulk Read page size; default %(default)s). "
                         "The export always takes the Leads numbered below 200,000")
    args = ap.parse_args(argv)
    if args.preload < args.rows:
        ap.error("--preload must be at least --rows")
    ROWS = args.rows
    os.environ["CORRAL_BULK_READ_PAGE_SIZE"] = str(ROWS)

    with c.bench_database(args) as db, tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        print(c.machine_line())
        print(f"database: {db.label}")
        print(f"workload: {args.preload:,} Leads; a {ROWS:,}-row Bulk Read and a {ROWS:,}-row "
              f"corral export")
        engine = c.make_engine(db.url, 2)
        try:
            with c.Server(db.url) as server:
                meta = c.read_meta(engine)
                have = lead_count(engine, meta.module_id)
                if have < args.preload:
                    secs = c.preload(engine, meta, args.preload - have, preload_email)
                    print(f"preload: {args.preload - have:,} Leads in {secs:.1f} s (direct SQL)")
                else:
                    print(f"preload: skipped, {have:,} Leads already there")
                    server.token = bulk_token(db.url)
                idle = tree_rss_kib(server.proc.pid)  # type: ignore[union-attr]
                with RssSampler(server.proc.pid) as s:  # type: ignore[union-attr]
                    job_id, secs_job = bulk_read(server)
                    t0 = time.perf_counter()
                    size = download(server, job_id, tmp / "result.zip")
                    secs_dl = time.perf_counter() - t0
                pid = server.proc.pid  # type: ignore[union-attr]
                hwm = sum(c.status_kib(p, "VmHWM:") for p in c.process_tree(pid))
            header, rows = csv_rows_in_zip(tmp / "result.zip")
            print(f"Bulk Read (corral serve): {rows:,} rows, {len(header)} columns")
            print(f"  to COMPLETED  {secs_job:8.1f} s  ({rows / secs_job:,.0f} rows/s)")
            print(f"  download      {secs_dl:8.1f} s  ({size / 2**20:,.1f} MiB zip)")
            print(f"  server RSS    idle {mb(idle)}, peak sampled {mb(s.peak_kib)}, "
                  f"VmHWM {mb(hwm)} (summed over its processes; the preload ran in the bench)")
            exp = None
            if not args.skip_export:
                exp = run_export(db.url, tmp / "export.csv")
                e_secs, e_rows, e_peak, e_max = exp
                print(f"corral export (subprocess, criteria on Email): {e_rows:,} rows")
                print(f"  total         {e_secs:8.1f} s  ({e_rows / e_secs:,.0f} rows/s)")
                print(f"  process RSS   peak sampled {mb(e_peak)}, VmHWM {mb(e_max)}")
            base = baseline_file(db.url, engine, tmp)
            b_secs, b_rows, b_grow = plain_sqlite3(base, meta.module_id, header,
                                                   tmp / "plain.csv")
            rate = rows / (secs_job + secs_dl)
            b_rate = b_rows / b_secs
            print(f"plain sqlite3 (SELECT data + json.loads + csv.writer): {b_rows:,} rows")
            print(f"  total         {b_secs:8.1f} s  ({b_rate:,.0f} rows/s), "
                  f"RSS growth {mb(b_grow)}")
            print(c.machine_line())
            print(f"ratio Bulk Read (job + download)/plain sqlite3: {rate / b_rate:.2f} "
                  f"({b_rate / rate:.1f}x slower)")
            if exp is not None:
                e_rate = exp[1] / exp[0]
                print(f"ratio corral export/plain sqlite3: {e_rate / b_rate:.2f} "
                      f"({b_rate / e_rate:.1f}x slower)")
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()

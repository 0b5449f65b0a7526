"""Shared pieces of the benchmarks: databases, the `corral serve` subprocess, HTTP clients,
timing, and direct SQL writes that reproduce the rows the record service writes.

Benchmarks print figures only; nothing here asserts anything about speed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))

from corral.metadata.text_index import MERGE_PAGES  # noqa: E402
from corral.storage import tables as t  # noqa: E402  (the schema; plain Table objects)
from corral.storage.repositories.text_index import (  # noqa: E402
    TextIndexRepository,
    flush_since,
)

LEAD_STATUSES = ["Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead",
                 "Lost Lead", "Not Contacted", "Pre-Qualified", "Not Qualified"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell"]
SERVER_START_TIMEOUT = 120.0
CALL_TIMEOUT = 300.0


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# ----------------------------------------------------------------------------- arguments
def add_common_args(ap: argparse.ArgumentParser, *, calls: int, clients: int) -> None:
    ap.add_argument("--database-url", default=None,
                    help="SQLAlchemy URL of an EMPTY database (default: a fresh SQLite file "
                         "in a temp dir). postgresql+psycopg://... works too.")
    ap.add_argument("--pg", action="store_true",
                    help="start a throwaway PostgreSQL cluster (tests/support/pgcluster.py) "
                         "and use a fresh database in it")
    ap.add_argument("--calls", type=int, default=calls, help="HTTP calls (default %(default)s)")
    ap.add_argument("--batch", type=int, default=100,
                    help="records per call, at most 100 (default %(default)s)")
    ap.add_argument("--clients", type=int, default=clients,
                    help="concurrent HTTP clients, and raw-SQL threads (default %(default)s)")
    ap.add_argument("--warmup", type=int, default=4, help="untimed calls first (default 4)")
    ap.add_argument("--skip-raw", action="store_true", help="skip the raw SQL baseline")
    ap.add_argument("--py-spy", metavar="FILE", default=None,
                    help="profile the server with py-spy during the timed HTTP part; FILE "
                         "ending .svg: flame graph, else collapsed stacks (needs py-spy)")
    ap.add_argument("--py-spy-gil", action="store_true",
                    help="with --py-spy: sample only the thread holding the GIL (where the "
                         "server's Python CPU goes) instead of every non-idle thread")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp SQLite file / PostgreSQL cluster directory")
    ap.add_argument("--workers", type=int, default=1, metavar="N",
                    help="`corral serve --workers N`: server processes, each with its own job "
                         "worker thread (default %(default)s)")


# ----------------------------------------------------------------------------- databases
@dataclass
class BenchDatabase:
    url: str
    label: str
    cleanup: Callable[[], None] = lambda: None


def _pg_cluster_class() -> Any:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.support.pgcluster import PgCluster  # type: ignore[import-not-found]

    return PgCluster


@contextmanager
def bench_database(args: argparse.Namespace) -> Iterator[BenchDatabase]:
    """The database the run uses: --database-url, --pg (throwaway cluster) or temp SQLite."""
    if args.database_url:
        url = args.database_url
        if url.startswith(("postgres://", "postgresql://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        label = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        yield BenchDatabase(url, f"{label} ({_safe_url(url)})")
        return
    tmp = Path(tempfile.mkdtemp(prefix="corral-bench-"))
    try:
        if args.pg:
            cluster = _pg_cluster_class()(tmp / "pg").start()
            try:
                url = cluster.create_database("corral_bench")
                yield BenchDatabase(url, f"PostgreSQL (throwaway cluster, port {cluster.port})")
            finally:
                if args.keep:
                    cluster.keep_running()
                    print(f"(kept PostgreSQL cluster at {cluster.root}, still running on port "
                          f"{cluster.port}; stop it with pg_ctl stop -D {cluster.data_dir})")
                else:
                    cluster.stop()
        else:
            url = f"sqlite:///{tmp / 'corral.db'}"
            yield BenchDatabase(url, f"SQLite ({tmp / 'corral.db'})")
    finally:
        if args.keep:
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def make_engine(url: str, pool: int) -> Engine:
    """A plain engine configured as the server configures its write engine (so the baseline
    pays for the same durability: SQLite WAL, synchronous=NORMAL, BEGIN IMMEDIATE)."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 60},
                                  pool_size=pool, max_overflow=4)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_size=pool, max_overflow=4)


@dataclass
class Meta:
    """Ids the direct SQL writes need (read from the seeded database)."""

    module_id: int
    email_field_id: int
    user_id: int


def read_meta(engine: Engine) -> Meta:
    with engine.connect() as conn:
        mod = conn.execute(sa.select(t.modules.c.id).where(t.modules.c.api_name == "Leads")
                           ).scalar_one()
        fid = conn.execute(sa.select(t.fields.c.id).where(t.fields.c.module_id == mod,
                                                          t.fields.c.api_name == "Email")
                           ).scalar_one()
        uid = conn.execute(sa.select(t.users.c.id).where(t.users.c.email == "admin@corral.local")
                           ).scalar_one()
    return Meta(module_id=mod, email_field_id=fid, user_id=uid)


ID_BASE = 4_876_876_000_000_000_000  # as corral.storage.database


def reserve_ids(engine: Engine, n: int) -> list[int]:
    """Reserve n ids from the server's own counter (so the server never hands them out)."""
    with engine.begin() as conn:
        end = conn.execute(
            sa.update(t.counters).where(t.counters.c.name == "id")
            .values(value=t.counters.c.value + n).returning(t.counters.c.value)).scalar_one()
    start = int(end) - n
    return list(range(ID_BASE + start, ID_BASE + start + n))


# ----------------------------------------------------------------------------- lead rows
def lead(i: int, email: str, status_shift: int = 0, company: str | None = None) -> dict[str, Any]:
    return {"Last_Name": f"Last{i}", "First_Name": f"First{i}", "Email": email,
            "Company": company or COMPANIES[i % len(COMPANIES)],
            "Phone": f"+1 555 {i % 10_000_000:07d}",
            "Lead_Status": LEAD_STATUSES[(i + status_shift) % len(LEAD_STATUSES)]}


def stored_data(raw: dict[str, Any]) -> dict[str, Any]:
    """What the service stores for one of our raw leads: stripped Email, plus Full_Name."""
    data = dict(raw)
    data["Email"] = data["Email"].strip()
    data["Full_Name"] = " ".join(p for p in (data.get("First_Name"), data.get("Last_Name")) if p)
    return data


def email_key(email: str) -> str:
    """records.keys.normalise for an email field (case-insensitive text)."""
    return email.strip().casefold()[:400]


def insert_rows(meta: Meta, rid: int, data: dict[str, Any], now: datetime,
                request_id: str | None) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """records row, record_keys row and change_log row of one inserted lead (as _stage)."""
    rec = {"id": rid, "module_id": meta.module_id, "data": data, "owner_id": meta.user_id,
           "created_by": meta.user_id, "modified_by": meta.user_id, "created_time": now,
           "modified_time": now, "deleted_time": None, "deleted_by": None,
           "converted": False, "approval_state": "approved"}
    key = {"field_id": meta.email_field_id, "value": email_key(data["Email"]), "record_id": rid,
           "is_unique": True}
    log = {"record_id": rid, "module_id": meta.module_id, "user_id": meta.user_id, "at": now,
           "request_id": request_id, "job_id": None, "operation": "insert", "field": None,
           "old_value": None, "new_value": {**data, "Owner": str(meta.user_id)}}
    return rec, key, log


def index_queued(conn: Connection) -> None:
    """Index the text of the records this transaction wrote in plain SQL, as Corral's own
    writes do before they commit (SQLite queues them: storage/repositories/text_index.py)."""
    flush_since(conn, 0)


def preload_rows(engine: Engine, meta: Meta, n: int, make: Callable[[int], dict[str, Any]],
                 chunk: int = 5000) -> tuple[float, list[int]]:
    """Insert n leads, lead i built by `make(i)` (wire values), directly: records +
    record_keys + change_log as the service would, in transactions of `chunk` records;
    returns (seconds taken, ids in lead order)."""
    t0 = time.perf_counter()
    ids = reserve_ids(engine, n)
    now = utc_now()
    last = t0
    for start in range(0, n, chunk):
        recs, keys, logs = [], [], []
        for i in range(start, min(n, start + chunk)):
            r, k, lg = insert_rows(meta, ids[i], stored_data(make(i)), now, None)
            recs.append(r)
            keys.append(k)
            logs.append(lg)
        with engine.begin() as conn:
            conn.execute(sa.insert(t.records), recs)
            conn.execute(sa.insert(t.record_keys), keys)
            conn.execute(sa.insert(t.change_log), logs)
            index_queued(conn)
        if time.perf_counter() - last > 15:
            last = time.perf_counter()
            done = min(n, start + chunk)
            print(f"  preloaded {done:,}/{n:,} ({done / (last - t0):,.0f} records/s)",
                  flush=True)
    with engine.begin() as conn:  # a long-lived database has statistics; give these ones too
        conn.exec_driver_sql("ANALYZE")
    merge_text_index(engine, meta.module_id)
    return time.perf_counter() - t0, ids


def merge_text_index(engine: Engine, module_id: int) -> None:
    """SQLite: merge the module's FTS5 segments as the server's background step does after a
    bulk load (the same bounded steps, one after another instead of one per poll), so a
    benchmark starts from the index a server reaches a minute after the load, not from the
    merge FTS5 left in progress (which each write would go on with a few pages at a time)."""
    if engine.dialect.name != "sqlite":
        return
    t0 = time.perf_counter()
    steps = 0
    repo = TextIndexRepository()
    while True:
        with engine.begin() as conn:
            if not repo.merge(conn, module_id, MERGE_PAGES):
                break
        steps += 1
    print(f"  text index merged: {steps} steps, {time.perf_counter() - t0:.1f} s", flush=True)


def preload(engine: Engine, meta: Meta, n: int, email_of: Callable[[int], str],
            chunk: int = 5000) -> float:
    """n leads with the emails `email_of(i)`; returns seconds taken."""
    secs, _ids = preload_rows(engine, meta, n, lambda i: lead(i, email_of(i)), chunk)
    return secs


def print_ratio(http_rate: float, raw_rate: float) -> None:
    """The closing lines of insert/upsert: the machine, then HTTP throughput / raw SQL's."""
    print(machine_line())
    print(f"ratio HTTP/raw: {http_rate / raw_rate:.2f} (raw is {raw_rate / http_rate:.1f}x faster)")


# ----------------------------------------------------------------------------- the server
class Server:
    """`corral serve` in a subprocess on a free 127.0.0.1 port."""

    def __init__(self, database_url: str, workers: int = 1) -> None:
        self.database_url = database_url
        self.workers = workers
        self.port = free_port()
        self.token: str | None = None
        self.proc: subprocess.Popen[str] | None = None
        self._stderr: list[str] = []

    def start(self, timeout: float = SERVER_START_TIMEOUT) -> Server:
        exe = shutil.which("corral")
        cmd = [exe] if exe else [sys.executable, "-m", "corral.cli"]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                          env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [*cmd, "serve", "--database-url", self.database_url, "--port", str(self.port),
             "--host", "127.0.0.1", "--workers", str(self.workers)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True, env=env)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"corral serve exited with {self.proc.returncode}:\n"
                                   + "".join(self._stderr[-40:]))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"corral serve not ready after {timeout:.0f}s:\n"
                                   + "".join(self._stderr[-40:]))
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/crm/v2/org")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                time.sleep(0.1)
        if self.token is None:
            time.sleep(0.2)  # the token line is printed before uvicorn starts; be sure
        if self.token is None:  # the database was already seeded: ask the CLI for one
            out = subprocess.run(
                [*cmd, "token", "create", "--scopes", "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL",
                 "--expires-in", "86400", "--database-url", self.database_url],
                capture_output=True, text=True, env=env, timeout=120, check=True)
            self.token = out.stdout.strip().splitlines()[-1]
        print(f"server: corral serve --workers {self.workers}")
        return self

    def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        prefix = "Admin access token (all scopes, 30 days):"
        for line in self.proc.stdout:
            if line.startswith(prefix):
                self.token = line[len(prefix):].strip()

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)
            if len(self._stderr) > 400:
                del self._stderr[:200]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)

    def cpu_seconds(self) -> float | None:
        """user+sys CPU the server's processes (with --workers, the parent and its children)
        have used so far (Linux /proc; None elsewhere)."""
        if self.proc is None:
            return None
        stats: dict[int, list[str]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1] \
                        .split()
                except OSError:
                    continue
        if self.proc.pid not in stats:
            return None
        family, frontier = {self.proc.pid}, {self.proc.pid}
        while frontier:
            frontier = {pid for pid, f in stats.items() if int(f[1]) in frontier} - family
            family |= frontier
        ticks = sum(int(stats[pid][11]) + int(stats[pid][12]) for pid in family)
        return ticks / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def profiled(server: Server, out: str | None, gil: bool = False) -> Iterator[None]:
    """py-spy record of the server process while the block runs (when out is given)."""
    if not out:
        yield
        return
    exe = shutil.which("py-spy")
    if exe is None or server.proc is None:
        print("(py-spy not found: pip install py-spy; running unprofiled)")
        yield
        return
    fmt = "flamegraph" if out.endswith(".svg") else "raw"
    prof = subprocess.Popen([exe, "record", "--pid", str(server.proc.pid), "--rate", "250",
                             "--format", fmt, "--output", out, "--nonblocking",
                             *(["--subprocesses"] if server.workers > 1 else []),
                             *(["--gil"] if gil else [])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # let it attach
    try:
        yield
    finally:
        prof.send_signal(signal.SIGINT)
        try:
            prof.wait(timeout=60)
        except subprocess.TimeoutExpired:
            prof.kill()
            prof.wait()
        print(f"(server profile written to {out})")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----------------------------------------------------------------------------- HTTP load
@dataclass
class CallResult:
    seconds: float
    status: int
    body: Any


@dataclass
class LoadResult:
    elapsed: float
    calls: list[CallResult] = field(default_factory=list)
    server_cpu: float | None = None  # CPU seconds the server used meanwhile

    @property
    def latencies(self) -> list[float]:
        return [c.seconds for c in self.calls]


def run_http(server: Server, method: str, path: str, bodies: Sequence[bytes],
             clients: int, keys: Sequence[str] | None = None) -> LoadResult:
    """Send every body once, from `clients` threads each with one keep-alive connection
    (with `keys`, body i carries `Idempotency-Key: keys[i]`)."""
    port, token = server.port, server.token
    results: list[CallResult | None] = [None] * len(bodies)
    next_index = iter(range(len(bodies)))
    lock = threading.Lock()
    headers = {"Authorization": f"Zoho-oauthtoken {token}", "Content-Type": "application/json"}
    failures: list[BaseException] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CALL_TIMEOUT)
        try:
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                conn.request(method, path, body=bodies[i], headers=headers if keys is None
                             else {**headers, "Idempotency-Key": keys[i]})
                resp = conn.getresponse()
                raw = resp.read()
                dt = time.perf_counter() - t0
                results[i] = CallResult(dt, resp.status, json.loads(raw) if raw else None)
        except BaseException as exc:  # reported below, never hidden
            failures.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    cpu0 = server.cpu_seconds()
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    cpu1 = server.cpu_seconds()
    if failures:
        raise RuntimeError(f"HTTP client failed: {failures[0]!r}") from failures[0]
    cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    return LoadResult(elapsed, [r for r in results if r is not None], cpu)


def run_threads(jobs: Sequence[Any], threads: int, fn: Callable[[Any], None],
                ) -> tuple[float, float]:
    """Run fn(job) for every job from `threads` threads; returns wall and CPU seconds (this
    process: the Python side of the baseline)."""
    it = iter(jobs)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                with lock:
                    job = next(it, None)
                if job is None:
                    return
                fn(job)
        except BaseException as exc:
            failures.append(exc)

    ths = [threading.Thread(target=worker) for _ in range(threads)]
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    if failures:
        raise RuntimeError(f"raw SQL worker failed: {failures[0]!r}") from failures[0]
    return elapsed, cpu


# ----------------------------------------------------------------------------- reporting
def machine_line() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"machine: {os.cpu_count()} CPUs, load average {load}"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def tally(load: LoadResult) -> dict[str, int]:
    """Counts of HTTP statuses and of per-record outcomes (action or error code)."""
    out: dict[str, int] = {}
    for c in load.calls:
        out[f"HTTP {c.status}"] = out.get(f"HTTP {c.status}", 0) + 1
        data = (c.body or {}).get("data") if isinstance(c.body, dict) else None
        for item in data or []:
            if item.get("status") == "success":
                key = item.get("action") or "success"
            else:
                key = f"error {item.get('code')}"
            out[key] = out.get(key, 0) + 1
    return out


def report_http(title: str, load: LoadResult, records: int) -> float:
    lat = load.latencies
    rate = records / load.elapsed
    print(f"{title}")
    print(f"  calls {len(lat)}, records {records:,}, wall {load.elapsed:.2f} s")
    print(f"  throughput   {rate:,.0f} records/s")
    print(f"  latency/call p50 {percentile(lat, 50) * 1000:.1f} ms, "
          f"p99 {percentile(lat, 99) * 1000:.1f} ms, mean {statistics.mean(lat) * 1000:.1f} ms")
    if load.server_cpu is not None:
        print(f"  server CPU   {load.server_cpu:.2f} s = "
              f"{load.server_cpu / records * 1e6:,.0f} us/record (corral serve processes)")
    print(f"  outcomes     {tally(load)}")
    return rate


def report_raw(title: str, elapsed: float, cpu: float, records: int,
               latencies: Sequence[float]) -> float:
    rate = records / elapsed
    print(f"{title}")
    print(f"  transactions {len(latencies)}, records {records:,}, wall {elapsed:.2f} s")
    print(f"  throughput   {rate:,.0f} records/s")
    print(f"  Python CPU   {cpu:.2f} s = {cpu / records * 1e6:,.0f} us/record (this process)")
    if latencies:
        print(f"  latency/txn  p50 {percentile(latencies, 50) * 1000:.1f} ms, "
              f"p99 {percentile(latencies, 99) * 1000:.1f} ms")
    return rate


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# ----------------------------------------------------------------------------- plain sqlite3
def plain_sqlite3(preload_rows: Sequence[dict[str, Any]],
                  batches: Sequence[Sequence[dict[str, Any]]]) -> float:
    """The physical limit, in this process: the stdlib `sqlite3` module, no SQLAlchemy, a
    temp file in WAL mode with synchronous=NORMAL, one table `leads(id, email_key UNIQUE, data
    JSON)`. `preload_rows` go in first (untimed); then each batch is one transaction of one
    executemany `INSERT ... ON CONFLICT(email_key) DO UPDATE` (an upsert by the lower-cased
    Email; an insert when every Email is new). Returns records/s of the timed part."""
    import sqlite3

    with tempfile.TemporaryDirectory(prefix="corral-plain-") as tmp:
        con = sqlite3.connect(os.path.join(tmp, "plain.db"), isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("CREATE TABLE leads (id INTEGER PRIMARY KEY, email_key TEXT NOT NULL, "
                        "data TEXT NOT NULL)")
            con.execute("CREATE UNIQUE INDEX leads_email ON leads (email_key)")
            sql = ("INSERT INTO leads (email_key, data) VALUES (?, ?) ON CONFLICT (email_key) "
                   "DO UPDATE SET data = excluded.data")

            def rows(batch: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
                return [(email_key(r["Email"]), json.dumps(r)) for r in batch]

            for i in range(0, len(preload_rows), 5000):
                con.execute("BEGIN")
                con.executemany(sql, rows(preload_rows[i:i + 5000]))
                con.execute("COMMIT")
            n = 0
            t0 = time.perf_counter()
            for batch in batches:
                con.execute("BEGIN")
                con.executemany(sql, rows(batch))
                con.execute("COMMIT")
                n += len(batch)
            return n / (time.perf_counter() - t0)
        finally:
            con.close()


def print_plain_ratio(label: str, http_rate: float, plain_rate: float) -> None:
    print(f"{label}")
    print(f"  throughput   {plain_rate:,.0f} records/s")
    print(f"ratio HTTP/plain sqlite3: {http_rate / plain_rate:.3f} "
          f"(plain sqlite3 is {plain_rate / http_rate:.1f}x faster)")


# ----------------------------------------------------------------------------- memory, scaling
def process_tree(pid: int) -> list[int]:
    """pid and every process below it (the server and the workers it starts), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def status_kib(pid: int, key: str) -> int:
    """A `VmRSS:`/`VmHWM:` line of /proc/<pid>/status in KiB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def server_memory(server: Server) -> dict[int, tuple[int, int]] | None:
    """{pid: (peak RSS, current RSS) in kB} of the server process and its children
    (VmHWM / VmRSS of /proc/<pid>/status; Linux only, None elsewhere)."""
    if server.proc is None or not Path("/proc").is_dir():
        return None
    out: dict[int, tuple[int, int]] = {}
    for pid in process_tree(server.proc.pid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        vals = {k: int(v.split()[0]) for k, _, v in (ln.partition(":") for ln in
                                                      status.splitlines())
                if k in ("VmHWM", "VmRSS")}
        if "VmHWM" in vals:
            out[pid] = (vals["VmHWM"], vals.get("VmRSS", 0))
    return out


def print_memory(server: Server) -> None:
    """The server's peak RSS so far (the high-water mark covers the whole run: preload,
    warm-up and the timed part), per process when it runs several."""
    mem = server_memory(server)
    if not mem:
        return
    peak = max(h for h, _ in mem.values())
    line = (f"  server RSS   peak {peak / 1024:,.0f} MB (largest VmHWM), now "
            f"{sum(r for _, r in mem.values()) / 1024:,.0f} MB")
    if len(mem) > 1:
        line += (f" in {len(mem)} processes (peaks "
                 + ", ".join(f"{h / 1024:,.0f}" for h, _ in mem.values()) + " MB)")
    print(line)


def preload_sizes(text: str) -> list[int]:
    """--preload: one size or a comma-separated list ("10000,1000000"): one run per size."""
    sizes = [int(p.replace("_", "")) for p in text.split(",") if p.strip()]
    if not sizes or any(s < 0 for s in sizes):
        raise argparse.ArgumentTypeError("a size or a comma-separated list of sizes")
    return sizes


def print_scaling(label: str, walls: dict[int, float]) -> None:
    """Wall time of the same timed workload per preload size, and each against the first."""
    if len(walls) < 2:
        return
    first = next(iter(walls))
    print(f"{label}: wall time of the timed part by preload")
    for size, wall in walls.items():
        print(f"  preload {size:>9,}: {wall:.2f} s  ({wall / walls[first]:.2f}x preload "
              f"{first:,})")
    print(machine_line())

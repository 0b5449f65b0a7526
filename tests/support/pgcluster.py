"""Throwaway PostgreSQL servers for the test suite (standard library only).

Typical use (e.g. from a session-scoped fixture in conftest.py)::

    from tests.support.pgcluster import pg_server, PgUnavailable, skip_or_fail

    try:
        server = pg_server(tmp_path_factory.mktemp("pg")).start()
    except PgUnavailable as exc:
        skip_or_fail(str(exc))          # skip, or fail when pg_required()
    url = server.create_database("corral_test")   # SQLAlchemy URL
    ...
    server.stop()

Environment variables
---------------------
``CORRAL_TEST_PG_URL``
    Use this already-running server instead of starting a throwaway cluster,
    e.g. ``postgresql://postgres@localhost:5432/postgres`` (``postgresql+psycopg://``
    is accepted too).  The user needs CREATEDB.  Databases are created next to
    the one named in the URL; :meth:`ExternalPg.stop` never stops the server.
``CORRAL_PG_BINDIR``
    Directory holding ``initdb``/``pg_ctl`` (otherwise the highest
    ``/usr/lib/postgresql/<ver>/bin``, then ``$PATH``).
``CI`` / ``CORRAL_REQUIRE_PG=1``
    :func:`pg_required` is true: a missing PostgreSQL must fail tests rather
    than skip them.
``CORRAL_PG_MARKER_FILE``
    Set by ``.ci/run``: tests touch it (:func:`touch_pg_marker`) once a
    PostgreSQL-backed test has passed, so CI can prove PostgreSQL really ran.

When running as root, ``initdb``/``pg_ctl`` run as the ``postgres`` system user
(initdb refuses to run as root) and the cluster directory is chowned to it.  If
that user cannot reach ``base_dir`` (pytest's ``/tmp/pytest-of-root`` is mode
0700) a private directory under the system temp dir is used instead.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

__all__ = [
    "ExternalPg",
    "PgCluster",
    "PgUnavailable",
    "external_pg_url",
    "find_pg_bindir",
    "find_pg_tool",
    "pg_required",
    "pg_server",
    "skip_or_fail",
    "touch_pg_marker",
]

PG_SYSTEM_USER = "postgres"
SUPERUSER = "postgres"
_START_ATTEMPTS = 5
# sockaddr_un.sun_path is 108 bytes including the NUL.
_MAX_SOCKET_PATH = 107


class PgUnavailable(RuntimeError):
    """PostgreSQL cannot be used here (binaries missing, start failure, ...)."""


# --------------------------------------------------------------------------- discovery


def _version_key(path: Path) -> tuple:
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.]", path.parent.name))


def find_pg_bindir() -> Path | None:
    """Directory containing ``initdb`` (and ``pg_ctl``), or None.

    Order: ``$CORRAL_PG_BINDIR``, the highest ``/usr/lib/postgresql/*/bin``
    (Debian/Ubuntu server packages), then ``initdb`` on ``$PATH``.
    """
    env = os.environ.get("CORRAL_PG_BINDIR")
    if env:
        cand = Path(env)
        if (cand / "initdb").is_file() and os.access(cand / "initdb", os.X_OK):
            return cand
    debian = [
        p.parent
        for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")
        if os.access(p, os.X_OK)
    ]
    if debian:
        return max(debian, key=lambda b: _version_key(b))
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    return None


def find_pg_tool(name: str, bindir: Path | None = None) -> Path | None:
    """Locate a client tool (``psql``, ``createdb``...) in *bindir* or on $PATH."""
    for d in (bindir, find_pg_bindir() if bindir is None else None):
        if d is not None and (d / name).is_file() and os.access(d / name, os.X_OK):
            return d / name
    found = shutil.which(name)
    return Path(found) if found else None


def pg_required() -> bool:
    """True when a missing PostgreSQL must FAIL tests instead of skipping them."""
    return bool(os.environ.get("CI")) or os.environ.get("CORRAL_REQUIRE_PG") == "1"


def external_pg_url() -> str | None:
    """The ``CORRAL_TEST_PG_URL`` server to use instead of a throwaway cluster."""
    return os.environ.get("CORRAL_TEST_PG_URL") or None


def skip_or_fail(reason: str) -> None:
    """``pytest.fail`` when :func:`pg_required`, else ``pytest.skip``."""
    import pytest  # lazy: this module stays importable without pytest

    if pg_required():
        pytest.fail(f"PostgreSQL required (CI / CORRAL_REQUIRE_PG=1): {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def touch_pg_marker() -> None:
    """Record that a PostgreSQL-backed test passed (see ``.ci/run``)."""
    marker = os.environ.get("CORRAL_PG_MARKER_FILE")
    if marker:
        Path(marker).touch()


def pg_server(base_dir: Path) -> PgCluster | ExternalPg:
    """``ExternalPg`` when ``CORRAL_TEST_PG_URL`` is set, else a ``PgCluster``.

    Neither is started; call ``.start()`` (or use it as a context manager).
    """
    url = external_pg_url()
    return ExternalPg(url) if url else PgCluster(base_dir)


# --------------------------------------------------------------------------- helpers


def _child_env() -> dict[str, str]:
    # libpq/pg_ctl honour PGHOST, PGPORT, PGDATA, PGSERVICE...; don't let the
    # caller's environment redirect us to another server.
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_live: set[PgCluster] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_leftovers() -> None:  # pragma: no cover - safety net only
    for cluster in list(_live):
        try:
            cluster.stop()
        except Exception:
            pass


# --------------------------------------------------------------------------- clusters


class PgCluster:
    """A private, disposable PostgreSQL cluster listening on 127.0.0.1:<free port>.

    ``base_dir`` is dedicated to the cluster: it is created if missing and
    removed by :meth:`stop`.  Durability is switched off (fsync, synchronous
    commit, full-page writes) — data does not survive a crash, which is fine
    for tests.  Safe to run several at once (e.g. one per xdist worker).
    """

    host = "127.0.0.1"

    def __init__(self, base_dir: Path, bindir: Path | None = None) -> None:
        self.base_dir = Path(base_dir)
        self.bindir = Path(bindir) if bindir else find_pg_bindir()
        self.port: int | None = None
        self.root: Path | None = None  # directory actually holding the cluster
        self._own_root = False  # root is a private temp dir (not base_dir)
        self._as_postgres = os.geteuid() == 0
        self.startup_seconds: float | None = None

    # -- paths
    @property
    def data_dir(self) -> Path:
        assert self.root is not None, "cluster not started"
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        assert self.root is not None, "cluster not started"
        return self.root / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        return self._socket_dir

    @property
    def running(self) -> bool:
        return self.port is not None

    # -- URLs
    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) for *dbname* on this cluster."""
        self._require_running()
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{quote(dbname, safe='')}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq URI, usable with ``psycopg.connect`` / ``psql``."""
        self._require_running()
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{quote(dbname, safe='')}"

    # -- lifecycle
    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> PgCluster:
        if self.running:
            return self
        if self.bindir is None:
            raise PgUnavailable(
                "initdb not found (set CORRAL_PG_BINDIR, install the 'postgresql' "
                "package, or set CORRAL_TEST_PG_URL)"
            )
        t0 = time.monotonic()
        self._prepare_root()
        try:
            self._initdb()
            self._start_server()
        except BaseException:
            self._cleanup_files()
            raise
        self.startup_seconds = time.monotonic() - t0
        with _live_lock:
            _live.add(self)
        return self

    def keep_running(self) -> None:
        """Leave the server running when this process exits (the exit hook that stops
        leftover clusters forgets it); `pg_ctl stop -D <data_dir>` stops it."""
        with _live_lock:
            _live.discard(self)

    def stop(self) -> None:
        """Stop the server (immediate shutdown) and delete its directory."""
        if self.root is None:
            return
        try:
            if self.port is not None:
                self._run(
                    [self._bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "immediate",
                     "-w"],
                    as_postgres=True,
                    check=False,
                    timeout=60,
                )
        finally:
            self.port = None
            with _live_lock:
                _live.discard(self)
            self._cleanup_files()

    # -- databases
    def create_database(self, name: str) -> str:
        """Create database *name*; returns its SQLAlchemy URL."""
        self._require_running()
        self._admin_sql(f"CREATE DATABASE {_quote_ident(name)}", "createdb", name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._require_running()
        self._admin_sql(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)", None, name)

    # -- internals
    def _require_running(self) -> None:
        if not self.running:
            raise RuntimeError("PgCluster is not running; call start() first")

    def _bin(self, name: str) -> str:
        assert self.bindir is not None
        return str(self.bindir / name)

    def _admin_sql(self, sql: str, fallback_tool: str | None, name: str) -> None:
        psql = find_pg_tool("psql", self.bindir)
        if psql is not None:
            cmd = [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.conninfo(), "-c", sql]
        else:
            tool = find_pg_tool(fallback_tool, self.bindir) if fallback_tool else None
            if tool is None:
                raise PgUnavailable("neither psql nor createdb found")
            cmd = [str(tool), "-h", self.host, "-p", str(self.port), "-U", SUPERUSER, name]
        self._run(cmd, as_postgres=False, timeout=60)

    def _postgres_ids(self) -> tuple[int, int]:
        try:
            pw = pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            raise PgUnavailable(
                f"running as root but there is no '{PG_SYSTEM_USER}' system user to run initdb as"
            ) from None
        return pw.pw_uid, pw.pw_gid

    def _run(
        self,
        cmd: list[str],
        *,
        as_postgres: bool,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        env = _child_env()
        kwargs: dict = {}
        if as_postgres and self._as_postgres:
            uid, gid = self._postgres_ids()
            pw = pwd.getpwuid(uid)
            kwargs.update(user=uid, group=gid, extra_groups=[])
            env.update(HOME=pw.pw_dir, USER=pw.pw_name, LOGNAME=pw.pw_name)
        cwd = str(self.root) if self.root is not None and self.root.exists() else "/"
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            **kwargs,
        )
        if check and proc.returncode != 0:
            raise PgUnavailable(
                f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout.strip()}"
            )
        return proc

    def _postgres_can_use(self, path: Path) -> bool:
        """Can the postgres user traverse and write *path* (checked as that user)?"""
        proc = self._run(
            ["/bin/sh", "-c", 'test -d "$1" && test -x "$1" && test -w "$1"', "sh", str(path)],
            as_postgres=True,
            check=False,
            timeout=30,
        )
        return proc.returncode == 0

    def _prepare_root(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        root = self.base_dir
        if self._as_postgres:
            uid, gid = self._postgres_ids()
            os.chown(root, uid, gid)
            if not self._postgres_can_use(root):
                root = None
                for tmp in dict.fromkeys([tempfile.gettempdir(), "/tmp", "/var/tmp"]):
                    cand = Path(tempfile.mkdtemp(prefix="corral-pg-", dir=tmp))
                    os.chown(cand, uid, gid)
                    if self._postgres_can_use(cand):
                        root = cand
                        break
                    shutil.rmtree(cand, ignore_errors=True)
                if root is None:
                    raise PgUnavailable(
                        f"the '{PG_SYSTEM_USER}' user cannot write {self.base_dir} "
                        "nor any temp directory"
                    )
                self._own_root = True
        self.root = root
        sock = self.data_dir / "sock"
        self._own_sock = False
        if len(str(sock)) + len("/.s.PGSQL.65535") > _MAX_SOCKET_PATH:
            sock = Path(tempfile.mkdtemp(prefix="corral-pgs-", dir="/tmp"))
            self._own_sock = True
            if self._as_postgres:
                os.chown(sock, *self._postgres_ids())
        self._socket_dir = sock

    def _initdb(self) -> None:
        base = [self._bin("initdb"), "-D", str(self.data_dir), "-A", "trust", "-U", SUPERUSER,
                "--no-sync", "-E", "UTF8", "--no-instructions"]
        # C.UTF-8: byte-order collation (deterministic) yet Unicode-aware
        # lower()/upper(); fall back to plain C where it does not exist.
        proc = self._run(base + ["--locale=C.UTF-8"], as_postgres=True, check=False)
        if proc.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self._run(base + ["--no-locale"], as_postgres=True)
        self._run(["/bin/mkdir", "-p", str(self._socket_dir)], as_postgres=True)

    def _write_conf(self, port: int) -> None:
        conf = (
            "\n# --- corral test cluster ---\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {port}\n"
            f"unix_socket_directories = '{self._socket_dir}'\n"
            "max_connections = 200\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "shared_buffers = 32MB\n"
            "max_wal_size = 1GB\n"
            "logging_collector = off\n"
            "log_min_messages = warning\n"
            "timezone = 'UTC'\n"
        )
        # postgresql.auto.conf is read last and owned by the server user; we
        # rewrite it per attempt (root can write it; chown keeps it readable).
        path = self.data_dir / "postgresql.auto.conf"
        path.write_text(conf)
        if self._as_postgres:
            os.chown(path, *self._postgres_ids())

    def _start_server(self) -> None:
        last = ""
        for _attempt in range(_START_ATTEMPTS):
            port = _free_port()
            self._write_conf(port)
            proc = self._run(
                [self._bin("pg_ctl"), "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                 "-w", "-t", "60", "-s"],
                as_postgres=True,
                check=False,
                timeout=90,
            )
            if proc.returncode == 0:
                self.port = port
                return
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            last = f"{proc.stdout.strip()}\n{log[-4000:]}"
            # Another process grabbed the port between _free_port() and bind: retry.
            if "could not bind" in log or "already in use" in log:
                self._run([self._bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m",
                           "immediate", "-w"], as_postgres=True, check=False, timeout=60)
                continue
            break
        raise PgUnavailable(f"pg_ctl start failed:\n{last}")

    def _cleanup_files(self) -> None:
        if getattr(self, "_own_sock", False):
            shutil.rmtree(self._socket_dir, ignore_errors=True)
        if self._own_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.root = None
        self._own_root = False


class ExternalPg:
    """Adapter with PgCluster's interface for an existing server (CORRAL_TEST_PG_URL)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if not parts.scheme.startswith("postgres"):
            raise ValueError(f"CORRAL_TEST_PG_URL is not a PostgreSQL URL: {url!r}")
        self._parts = parts
        self.host = parts.hostname
        self.port = parts.port or 5432
        self.admin_db = parts.path.lstrip("/") or "postgres"
        self.startup_seconds = 0.0

    running = True

    def __enter__(self) -> ExternalPg:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def start(self) -> ExternalPg:
        return self

    def stop(self) -> None:
        """Never stops the external server."""

    def _with(self, scheme: str, dbname: str) -> str:
        p = self._parts
        return urlunsplit((scheme, p.netloc, "/" + quote(dbname, safe=""), p.query, ""))

    def url(self, dbname: str | None = None) -> str:
        return self._with("postgresql+psycopg", dbname or self.admin_db)

    def conninfo(self, dbname: str | None = None) -> str:
        return self._with("postgresql", dbname or self.admin_db)

    def _admin_sql(self, sql: str) -> None:
        psql = find_pg_tool("psql")
        if psql is not None:
            subprocess.run(
                [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.conninfo(), "-c", sql],
                env=_child_env(), stdin=subprocess.DEVNULL, check=True, capture_output=True,
                timeout=60,
            )
            return
        import psycopg  # lazy: only when there is no psql client

        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, name: str) -> str:
        self._admin_sql(f"CREATE DATABASE {_quote_ident(name)}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin_sql(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")

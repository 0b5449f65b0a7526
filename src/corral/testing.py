"""`corral.testing`: a pytest plugin (entry point `pytest11`) giving tests a Zoho CRM emulator.

    def test_sync_survives_a_zoho_outage(zoho_crm):
        zoho_crm.fault("/crm/v8/Leads", status=500, times=1)
        status, _ = zoho_crm.request("POST", "/crm/v8/Leads", {"data": [{"Last_Name": "X"}]})
        assert status == 500
        assert zoho_crm.journal(path="/crm/v8/Leads")[0]["status"] == 500

One `corral serve --emulator` per test session on a free 127.0.0.1 port (SQLite in a temporary
directory); before each test the database is reset to its clean baseline and the journal,
faults, clock and limits are cleared. Options: `--corral-fixtures FILE` (loaded into the
baseline), `--corral-seed N` (ids and tokens repeat). The plugin only talks HTTP to the server.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corral.auth.scopes import ALL_SCOPES

START_TIMEOUT = 60.0
TOKEN_LIFETIME = 100 * 365 * 24 * 3600  # outlives any time a test moves the clock to
SCOPES = ",".join(ALL_SCOPES)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    """The emulator's clock (`PUT /__corral/clock`)."""

    def __init__(self, crm: ZohoCRM) -> None:
        self._crm = crm

    def now(self) -> str:
        return str(self._crm.control("GET", "/__corral/clock")["now"])

    def freeze(self, at: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"now": at} if at else {"frozen": True}
        return dict(self._crm.control("PUT", "/__corral/clock", body))

    def advance(self, seconds: float) -> dict[str, Any]:
        return dict(self._crm.control("PUT", "/__corral/clock", {"advance_seconds": seconds}))

    def release(self) -> dict[str, Any]:
        return dict(self._crm.control("PUT", "/__corral/clock", {"frozen": False}))


class ZohoCRM:
    """A running Corral emulator: its URL, an admin token, and the control API as methods."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token
        self.accounts_url = base_url + "/oauth/v2/token"
        self.clock = Clock(self)

    # -- plain HTTP
    def request(self, method: str, path: str, body: Any = None, *,
                params: dict[str, str] | None = None, token: str | None = None,
                raw: bytes | None = None) -> tuple[int, Any]:
        """One call with the admin token (or `token`); (status, parsed JSON body or None)."""
        url = self.base_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Zoho-oauthtoken {token or self.token}",
            "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, text = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read()
            exc.close()
        return status, (json.loads(text) if text else None)

    def control(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        status, doc = self.request(method, path, body, **kw)
        if status >= 400:
            raise AssertionError(f"{method} {path} -> {status}: {doc}")
        return doc

    # -- the control API
    def reset(self, snapshot: str | None = None) -> None:
        self.control("POST", "/__corral/reset", {"snapshot": snapshot} if snapshot else {})

    def snapshot(self, name: str) -> None:
        self.control("POST", "/__corral/snapshots", {"name": name})

    def restore(self, name: str) -> None:
        self.control("POST", f"/__corral/snapshots/{urllib.parse.quote(name)}/restore")

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """Calls so far, oldest first; filters: method, path (glob), status, since_id, limit."""
        params = {k: str(v) for k, v in filters.items() if v is not None}
        return list(self.control("GET", "/__corral/journal", params=params)["calls"])

    def clear_journal(self) -> None:
        self.control("DELETE", "/__corral/journal")

    def fault(self, path: str = "*", status: int | None = 500, *, method: str | None = None,
              code: str | None = None, message: str | None = None, latency_ms: int = 0,
              probability: float = 1.0, times: int | None = None) -> str:
        """Inject a fault; returns its id (see POST /__corral/faults)."""
        spec: dict[str, Any] = {"path": path, "latency_ms": latency_ms,
                                "probability": probability}
        for key, value in (("status", status), ("method", method), ("code", code),
                           ("message", message), ("times", times)):
            if value is not None:
                spec[key] = value
        return str(self.control("POST", "/__corral/faults", spec)["id"])

    def clear_faults(self) -> None:
        for fault in self.control("GET", "/__corral/faults")["faults"]:
            self.control("DELETE", f"/__corral/faults/{fault['id']}")

    def limits(self, edition: str | None = None, users: int = 1,
               used: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"edition": edition, "users": users}
        if used is not None:
            body["used"] = used
        return dict(self.control("PUT", "/__corral/limits", body))

    def run_jobs(self) -> dict[str, int]:
        return dict(self.control("POST", "/__corral/jobs/run")["ran"])

    def pause_worker(self, paused: bool = True) -> None:
        self.control("PUT", "/__corral/worker", {"paused": paused})

    def load_fixtures(self, doc: dict[str, Any] | str) -> dict[str, Any]:
        raw = (doc if isinstance(doc, str) else json.dumps(doc)).encode()
        return dict(self.control("POST", "/__corral/fixtures", raw=raw))

    # -- the official Python SDK
    @property
    def sdk_environment_urls(self) -> tuple[str, str, str]:
        """(api domain, accounts URL, file upload URL) for `DataCenter.Environment(...)`."""
        return self.base_url, self.accounts_url, self.base_url

    def sdk_environment(self) -> Any:
        """A `DataCenter.Environment` of the official v8 Python SDK (zohocrmsdk8-0) pointing at
        this emulator; use with `OAuthToken(access_token=zoho_crm.token)`."""
        from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import (  # type: ignore[import-not-found]
            DataCenter,
        )

        return DataCenter.Environment(*self.sdk_environment_urls)

    # -- between tests
    def clean(self) -> None:
        """Back to the clean baseline; journal, faults, clock and limits cleared."""
        # The journal first: a reset keeps the emulator's state (copied aside and back on
        # SQLite), so an empty journal makes it cheaper. Control calls are never journalled.
        self.clear_journal()
        self.clock.release()
        self.reset()
        self.clear_faults()
        self.limits(None, used=0)
        self.pause_worker(False)


class EmulatorProcess:
    """`corral serve --emulator` in a subprocess with its own SQLite database."""

    def __init__(self, fixtures: str | None = None, seed: int | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="corral-emulator-"))
        self.url = f"sqlite:///{self.dir / 'corral.db'}"
        self.fixtures, self.seed = fixtures, seed
        self.proc: subprocess.Popen[bytes] | None = None

    def _corral(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "corral.cli", *args, "--database-url", self.url]

    def start(self) -> ZohoCRM:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("CORRAL_DATABASE_URL", None)
        # A long-lived admin token, made before the server's first start so that the baseline
        # (and every reset) keeps it.
        made = subprocess.run(self._corral("token", "create", "--scopes", SCOPES,
                                           "--expires-in", str(TOKEN_LIFETIME)),
                              capture_output=True, text=True, env=env, check=True)
        token = made.stdout.strip().splitlines()[-1]
        port = _free_port()
        args = ["serve", "--emulator", "--host", "127.0.0.1", "--port", str(port)]
        if self.fixtures:
            args += ["--fixtures", self.fixtures]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        log = open(self.dir / "server.log", "wb")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(self._corral(*args), stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, env=env)
        crm = ZohoCRM(f"http://127.0.0.1:{port}", token)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("corral serve --emulator exited:\n"
                                   + (self.dir / "server.log").read_text(errors="replace"))
            try:
                if crm.request("GET", "/__corral/clock")[0] == 200:
                    return crm
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("corral serve --emulator did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("corral", "Corral Zoho CRM emulator")
    group.addoption("--corral-fixtures", default=None, metavar="FILE",
                    help="YAML/JSON fixture file loaded into the emulator's baseline")
    group.addoption("--corral-seed", type=int, default=None, metavar="N",
                    help="make the emulator's ids and tokens repeat from run to run")


@pytest.fixture(scope="session")
def zoho_crm_server(request: pytest.FixtureRequest) -> Iterator[ZohoCRM]:
    """The session's emulator (started on first use)."""
    process = EmulatorProcess(request.config.getoption("--corral-fixtures"),
                              request.config.getoption("--corral-seed"))
    crm = process.start()
    try:
        yield crm
    finally:
        process.stop()


@pytest.fixture
def zoho_crm(zoho_crm_server: ZohoCRM) -> ZohoCRM:
    """The session's emulator, clean: reset to its baseline with nothing journalled, no
    faults, a real-time clock and unlimited credits."""
    zoho_crm_server.clean()
    return zoho_crm_server

"""Shared helpers for the end-to-end tests: a real `corral serve` subprocess and the SDK venv."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import corral

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".cache"
# The directory that holds the `corral` package the tests import; children get it first on
# PYTHONPATH so the server runs exactly the code under test.
CORRAL_SRC = Path(corral.__file__).resolve().parent.parent

START_TIMEOUT = 60.0  # two server processes to import on a shared, loaded machine
TOKEN_PREFIX = "Admin access token (all scopes, 30 days): "
# Server processes of every `corral serve` the e2e tests start (`Server(workers=...)` says
# otherwise): every end-to-end test runs against more than one process. Emulator mode: 1.
E2E_WORKERS = 2


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_DATABASE")}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(CORRAL_SRC)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def corral_cmd(*args: str) -> list[str]:
    """`corral ARGS...` run with the interpreter running the tests."""
    return [sys.executable, "-c", "from corral.cli import main; main()", *args]


def run_corral(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(corral_cmd(*args), env=child_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


class Server:
    """`corral serve` as a subprocess on a free port; stdout/stderr go to files in `workdir`.

    `--workers E2E_WORKERS` unless `workers` says otherwise (emulator mode: 1)."""

    def __init__(self, database_url: str, workdir: Path, name: str = "server",
                 extra_args: tuple[str, ...] = (), workers: int | None = None) -> None:
        self.database_url = database_url
        if workers is None:
            workers = 1 if "--emulator" in extra_args else E2E_WORKERS
        self.workers = workers
        self.extra_args = ("--workers", str(workers), *extra_args)
        self.workdir = workdir
        self.name = name
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.stdout_path = workdir / f"{name}.stdout"
        self.stderr_path = workdir / f"{name}.stderr"

    # -- lifecycle
    def start(self) -> Server:
        """Start and wait (≤ START_TIMEOUT) until the port answers; retried on a port clash."""
        for _ in range(3):
            if self._start_once():
                return self
            self.port = free_port()
            self.base_url = f"http://127.0.0.1:{self.port}"
        raise RuntimeError(f"corral serve could not bind a free port\n{self.output()}")

    def _start_once(self) -> bool:
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                corral_cmd("serve", "--database-url", self.database_url,
                           "--host", "127.0.0.1", "--port", str(self.port),
                           *self.extra_args),
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=child_env())
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                if "address already in use" in self.output().lower():
                    return False
                raise RuntimeError(f"corral serve exited with {self.proc.returncode}\n"
                                   f"{self.output()}")
            if self._answers():
                return True
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"corral serve did not answer within {START_TIMEOUT}s\n"
                                   f"{self.output()}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        """True once the port gives Corral's JSON 401 to an unauthenticated request (so another
        process that happens to listen on the port is not taken for ours)."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/crm/v2/org", timeout=1):
                return False
        except urllib.error.HTTPError as exc:
            with exc:
                try:
                    return exc.code == 401 and "code" in json.loads(exc.read())
                except ValueError:
                    return False
        except (OSError, ValueError):
            return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- output
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def output(self) -> str:
        err = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return f"--- stdout\n{self.stdout()}--- stderr\n{err}"

    def admin_token(self) -> str | None:
        """The first-start admin token printed on stdout (None when none was printed)."""
        tokens = [line[len(TOKEN_PREFIX):].strip() for line in self.stdout().splitlines()
                  if line.startswith(TOKEN_PREFIX)]
        assert len(tokens) <= 1, self.output()
        return tokens[0] if tokens else None


# ----------------------------------------------------------------------------- processes
# Which process serves what, read from Linux's /proc (no hook in the server for it).


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else int(fields[1])  # a zombie is gone for our purposes


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped does not)."""
    return _ppid(pid) is not None


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = _ppid(int(entry.name))
            if ppid is not None:
                parents[int(entry.name)] = ppid
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _tcp_inodes(port: int, *, local: bool = True) -> dict[int, int]:
    """Established TCP sockets whose local (else remote) port is `port`: socket inode -> the
    other end's port."""
    out: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            here, there, state, inode = cols[1], cols[2], cols[3], int(cols[9])
            mine, other = (here, there) if local else (there, here)
            if state == "01" and int(mine.rsplit(":", 1)[1], 16) == port:
                out[inode] = int(other.rsplit(":", 1)[1], 16)
    return out


def socket_owners(pids: set[int], port: int, *, local: bool = True) -> dict[int, int]:
    """For each established connection held by one of `pids` whose local end (a server's:
    `local`) or remote end (a client's, e.g. to PostgreSQL) is on `port`: the other end's port
    -> the pid holding it."""
    inodes = _tcp_inodes(port, local=local)
    owners: dict[int, int] = {}
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[len("socket:["):-1])
                if inode in inodes:
                    owners[inodes[inode]] = pid
    return owners


class Http:
    """Minimal JSON client over urllib (real sockets, no test client)."""

    def __init__(self, base_url: str, token: str, version: str = "v2") -> None:
        self.base_url = base_url
        self.token = token
        self.version = version

    def request(self, method: str, path: str, body: Any = None, *,
                params: dict[str, str] | None = None,
                token: str | None = None) -> tuple[int, Any]:
        from urllib.parse import urlencode

        url = f"{self.base_url}/crm/{self.version}/{path.lstrip('/')}"
        if params:
            url += "?" + urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Zoho-oauthtoken {token or self.token}",
            **({"Content-Type": "application/json"} if data is not None else {})})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
            exc.close()
        return status, (json.loads(raw) if raw else None)

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> tuple[int, Any]:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> tuple[int, Any]:
        return self.request("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("DELETE", path, **kw)


# ----------------------------------------------------------------------------- SDK venvs


def venv_python(venv: Path) -> Path:
    if os.name == "nt":  # pragma: no cover
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def ensure_venv(venv: Path, requirement: str, *, timeout: float = 900) -> Path:
    """Create `venv` with `requirement` installed from PyPI, once; returns its python.

    A marker file written after a successful install makes later runs reuse it; a
    half-built venv (no marker) is rebuilt. A lock file serialises pytest-xdist workers.
    """
    marker = venv / f".corral-installed-{requirement}"
    python = venv_python(venv)
    if marker.exists() and python.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / f".{venv.name}.lock"
    with open(lock_path, "w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - non-POSIX: no locking
            pass
        if marker.exists() and python.exists():
            return python
        if venv.exists():
            shutil.rmtree(venv)
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
             requirement],
        ]
        for cmd in steps:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                 check=False)
            if res.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n"
                                   f"{res.stdout}\n{res.stderr}")
        marker.write_text(requirement + "\n")
    return python


# ----------------------------------------------------------------------------- SDK drivers

SDK_DRIVER_TIMEOUT = 120


def run_driver(command: list[str], scripts: list[Path], args: list[str], tmp_path: Path,
               timeout: float = SDK_DRIVER_TIMEOUT, work_name: str = "sdk-work",
               node_modules: Path | None = None) -> dict[str, Any]:
    """Run a driver script with `command` (an SDK venv's python, `node`): the scripts are copied
    into tmp_path and run as `command SCRIPT args[0] args[1] WORK args[2:]...` (BASE_URL, AUTH,
    WORK, then e.g. step names), WORK being a fresh directory for the driver (token store, SDK
    log, downloads). `node_modules`, when given, is linked next to the copied script so that
    its `import` of the SDK resolves.

    Returns the JSON object on the driver's last stdout line, failing the test if the driver
    crashed or recorded an SDK exception under "error"."""
    import pytest

    for script in scripts:
        shutil.copyfile(script, tmp_path / script.name)
    if node_modules is not None and not (tmp_path / "node_modules").exists():
        (tmp_path / "node_modules").symlink_to(node_modules, target_is_directory=True)
    work = tmp_path / work_name
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    argv = [*command, str(tmp_path / scripts[0].name), *args[:2], str(work), *args[2:]]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=work,
                          env=env, check=False)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, f"driver failed ({proc.returncode}):\n" \
        f"{proc.stdout}\n{proc.stderr}"
    results: dict[str, Any] = json.loads(lines[-1])
    if "error" in results:
        log = work / "sdk.log"
        pytest.fail(f"SDK raised {results['error']['type']}: {results['error']['text']}\n"
                    f"{results['error'].get('traceback', '')}\n"
                    f"steps done: {results.get('steps_done')}\n--- sdk.log\n"
                    f"{log.read_text(errors='replace')[-20000:] if log.exists() else ''}")
    return results


def run_sdk_driver(python: Path, scripts: list[Path], base_url: str, token: str,
                   tmp_path: Path, timeout: float = SDK_DRIVER_TIMEOUT) -> dict[str, Any]:
    """Run scripts[0] (copied into tmp_path with its siblings) with the SDK venv's python as
    `SCRIPT BASE_URL TOKEN WORK`; returns the JSON object on its last stdout line, failing the
    test if the SDK raised."""
    return run_driver([str(python)], scripts, [base_url, token], tmp_path, timeout,
                      work_name="sdk2-work")


# ----------------------------------------------------------------------------- OAuth for SDKs


def grant_auth(database_url: str, scopes: str) -> dict[str, str]:
    """A new OAuth client and one-time grant code (`corral client create`, `corral grant
    create`), as a driver's AUTH_JSON: the SDK exchanges the code at /oauth/v2/token itself."""
    made = run_corral("client", "create", "--database-url", database_url)
    assert made.returncode == 0, made.stderr
    auth = dict(line.split("=", 1) for line in made.stdout.split())
    code = run_corral("grant", "create", "--client-id", auth["client_id"], "--scopes", scopes,
                      "--database-url", database_url)
    assert code.returncode == 0, code.stderr
    return {"client_id": auth["client_id"], "client_secret": auth["client_secret"],
            "grant_token": code.stdout.strip()}


def refresh_auth(base_url: str, auth: dict[str, str]) -> dict[str, str]:
    """Exchange grant_auth()'s code at the running server's /oauth/v2/token (urlencoded, as a
    web app would) and return the driver's AUTH_JSON for the refresh-token flow."""
    from urllib.parse import urlencode

    form = {"grant_type": "authorization_code", "client_id": auth["client_id"],
            "client_secret": auth["client_secret"], "code": auth["grant_token"]}
    req = urllib.request.Request(f"{base_url}/oauth/v2/token", data=urlencode(form).encode(),
                                 method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        issued = json.loads(resp.read())
    assert "refresh_token" in issued, issued
    return {"client_id": auth["client_id"], "client_secret": auth["client_secret"],
            "refresh_token": issued["refresh_token"]}


# ----------------------------------------------------------------------------- Node.js SDKs


NODE_MIN_MAJOR = 14  # @zohocrm/nodejs-sdk-8.0's README: Node 14.21.3 and above


def node_or_skip() -> str:
    """Path of `node` (and `npm` must be there too). Missing: the test FAILS under CI (CI set,
    as pg_required reads it, or CORRAL_REQUIRE_NODE=1, which .ci/run sets after installing
    Debian's nodejs and npm), and is skipped elsewhere."""
    import pytest

    node, npm = shutil.which("node"), shutil.which("npm")
    reason = "node/npm not found on PATH (apt-get install nodejs npm; .ci/run does it)"
    if node and npm:
        version = subprocess.run([node, "--version"], capture_output=True, text=True,
                                 timeout=30, check=False).stdout.strip()
        major = version.lstrip("v").split(".")[0]
        if major.isdigit() and int(major) >= NODE_MIN_MAJOR:
            return node
        reason = f"node {version} is older than the SDKs' minimum (v{NODE_MIN_MAJOR})"
    if os.environ.get("CI") or os.environ.get("CORRAL_REQUIRE_NODE") == "1":
        pytest.fail(f"required under CI, but {reason}")
    pytest.skip(reason)


def ensure_node_packages(folder: Path, dependencies: dict[str, str], *,
                         timeout: float = 900) -> Path:
    """`npm install` the exact `dependencies` into `folder` (a package.json written here), once;
    returns its node_modules. Marker file and lock file as for ensure_venv."""
    spec = json.dumps(dependencies, sort_keys=True)
    tag = "-".join(f"{name.replace('/', '+')}@{version}"
                   for name, version in sorted(dependencies.items()))
    marker = folder / f".corral-installed-{tag}"
    modules = folder / "node_modules"
    if marker.exists() and modules.is_dir():
        return modules
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock_path = folder.parent / f".{folder.name}.lock"
    with open(lock_path, "w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - non-POSIX: no locking
            pass
        if marker.exists() and modules.is_dir():
            return modules
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        (folder / "package.json").write_text(json.dumps(
            {"name": "corral-e2e-" + folder.name, "private": True, "version": "0.0.0",
             "description": "Official SDKs for Corral's end-to-end tests (written by tests/e2e)",
             "dependencies": json.loads(spec)}, indent=2) + "\n")
        npm = shutil.which("npm") or "npm"
        cmd = [npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--loglevel=error"]
        res = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=timeout,
                             check=False)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} in {folder} failed ({res.returncode}):\n"
                               f"{res.stdout}\n{res.stderr}")
        marker.write_text(spec + "\n")
    return modules


def sdk_step(results: dict[str, Any], name: str, status: int, kind: str) -> dict[str, Any]:
    """One step of a driver's results, checked for HTTP status and SDK object type."""
    got: dict[str, Any] | None = results.get(name)
    assert got is not None, f"step {name} never ran: {json.dumps(results)[:3000]}"
    assert (got["status_code"], got["type"]) == (status, kind), json.dumps(got, indent=1)
    return got

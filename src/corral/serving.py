"""How `corral serve` runs: one process, or uvicorn's supervisor with N server processes.

With N > 1 the parent migrates and seeds (once, so the first-start token is printed once),
closes its database connections, binds the one listening socket and hands it to N children
that uvicorn spawns (fresh interpreters: no engine, connection or lock crosses a fork). Each
child builds its own `Corral` from the settings the parent left in the environment, with its
own engines and its own background worker thread. Every guarantee across processes is the
database's: BEGIN IMMEDIATE (SQLite) or advisory locks and unique indexes (PostgreSQL) for
writes, `SKIP LOCKED` / the write lock for job chunks and outbox rows, version-checked caches.

A child dies with its parent (`PR_SET_PDEATHSIG` on Linux, a watchdog thread elsewhere): a
`kill -9` of the parent leaves no process serving the port or holding a SQLite lock.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import threading
from typing import Any

from corral.config import Settings

SETTINGS_ENV = "CORRAL_SERVE_SETTINGS"
PARENT_ENV = "CORRAL_SERVE_PARENT"
_PR_SET_PDEATHSIG = 1
# Seconds a child may leave the supervisor's health ping unanswered before it is killed and
# replaced. uvicorn's default (5 s) is short on a loaded machine; a request in a child never
# blocks the ping (it is answered by its own thread), so only a truly stuck child waits this.
HEALTHCHECK_SECONDS = 30


def default_workers() -> int:
    """The number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def tune_gc() -> None:
    """Long-running processes: freeze start-up objects and collect less often (the write
    path allocates many short-lived objects; default thresholds spent ~25% of CPU in GC)."""
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every server process runs with. h11 explicitly: its incomplete-event limit bounds
    the request line and headers (httptools, which uvicorn would pick when installed, has no
    such bound)."""
    return {"host": settings.host, "port": settings.port, "log_level": "warning",
            "access_log": False, "http": "h11",
            "h11_max_incomplete_event_size": settings.max_header}


def run_workers(settings: Settings, workers: int) -> None:
    """Serve with `workers` processes on one socket until SIGTERM/SIGINT (the database is
    migrated and seeded already, and this process holds no connection to it)."""
    import uvicorn

    os.environ[SETTINGS_ENV] = json.dumps(dataclasses.asdict(settings))
    os.environ[PARENT_ENV] = str(os.getpid())
    uvicorn.run("corral.serving:worker_app", factory=True, workers=workers,
                timeout_worker_healthcheck=HEALTHCHECK_SECONDS, **uvicorn_options(settings))


def worker_app() -> Any:
    """uvicorn's factory in each child: tie the child's life to the parent's, then build this
    process's own Corral (no migration: the parent did it) and app."""
    from corral.app import create_app
    from corral.services import Corral

    die_with_parent(int(os.environ[PARENT_ENV]))
    settings = Settings(**json.loads(os.environ[SETTINGS_ENV]))
    if settings.emulator:
        # The parent ran Emulator.open (state cleared, fixtures, baseline); the emulator's
        # state lives in the database, so this process joins it as it is.
        from corral.emulator.service import Emulator, EmulatorOptions

        emu = Emulator.join(settings, EmulatorOptions(seed=settings.seed))
        emu.corral.registry.refresh()
        tune_gc()
        return create_app(emu.corral, emu)
    corral = Corral.open(settings, prepare=False)
    corral.registry.refresh()
    tune_gc()
    return create_app(corral)


def die_with_parent(parent_pid: int) -> None:
    """Be killed when `parent_pid` ends, however it ends (kill -9 included)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    else:  # pragma: no cover - no prctl: watch the parent instead
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True,
                         name="corral-parent-watch").start()
    # The parent may have died before the signal was armed: then we were re-parented already.
    if os.getppid() != parent_pid:
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:  # pragma: no cover - not Linux
    import time

    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)

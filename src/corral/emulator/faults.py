"""Injected faults: calls matching a method and a path glob answer an error or are delayed.

A fault with a `status` answers Zoho's error shape (`{code, details, message, status}`) before
the call reaches any handler, so it writes nothing; a fault with only `latency_ms` delays the
call and lets it through. `probability` (0-1) draws from the emulator's random source (seeded
with `--seed`), `times` bounds how many calls it hits (none: every matching call).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, replace
from fnmatch import fnmatchcase
from functools import partial
from typing import Any

from corral.emulator.state import SharedState
from corral.errors import InvalidData
from corral.storage.repositories.emulator import StoredFault

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
DEFAULT_CODES = {400: "INVALID_DATA", 401: "INVALID_TOKEN", 403: "NO_PERMISSION",
                 404: "INVALID_URL_PATTERN", 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_ERROR"}
DEFAULT_MESSAGES = {"TOO_MANY_REQUESTS": "too many requests. please try again after some time",
                    "INTERNAL_ERROR": "Internal Server Error"}
KNOWN = {"method", "path", "status", "code", "message", "latency_ms", "probability", "times"}


@dataclass(frozen=True)
class Fault:
    id: int
    method: str | None  # None: any method
    path: str  # glob over the request path, e.g. /crm/v8/Leads*
    status: int | None
    code: str | None
    message: str | None
    latency_ms: int
    probability: float
    times: int | None  # calls it still hits; None: unlimited
    hits: int = 0


def _bad(field: str, message: str) -> InvalidData:
    return InvalidData(message, {"api_name": field})


def parse(spec: Any, fault_id: int) -> Fault:
    """A fault from the body of POST /__corral/faults; INVALID_DATA naming the bad field."""
    if not isinstance(spec, dict):
        raise InvalidData("the body must be a JSON object")
    unknown = sorted(set(spec) - KNOWN)
    if unknown:
        raise _bad(unknown[0], "unknown fault field")
    method = spec.get("method")
    if method is not None and (not isinstance(method, str) or method.upper() not in METHODS):
        raise _bad("method", "method must be GET, POST, PUT, PATCH or DELETE")
    path = spec.get("path", "*")
    if not isinstance(path, str) or not path:
        raise _bad("path", "path must be a glob such as /crm/v8/Leads*")
    status = spec.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                               or not 400 <= status <= 599):
        raise _bad("status", "status must be an HTTP error status (400-599)")
    latency = spec.get("latency_ms", 0)
    if isinstance(latency, bool) or not isinstance(latency, int) or not 0 <= latency <= 600_000:
        raise _bad("latency_ms", "latency_ms must be 0-600000")
    if status is None and not latency:
        raise _bad("status", "a fault needs a status, a latency_ms or both")
    probability = spec.get("probability", 1)
    if isinstance(probability, bool) or not isinstance(probability, int | float) \
            or not 0 <= probability <= 1:
        raise _bad("probability", "probability must be between 0 and 1")
    times = spec.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise _bad("times", "times must be a positive number")
    code, message = spec.get("code"), spec.get("message")
    for name, value in (("code", code), ("message", message)):
        if value is not None and not isinstance(value, str):
            raise _bad(name, f"{name} must be text")
    if status is not None:
        code = code or DEFAULT_CODES.get(status, "INTERNAL_ERROR")
        message = message or DEFAULT_MESSAGES.get(code, "Injected fault")
    return Fault(id=fault_id, method=method.upper() if method else None, path=path,
                 status=status, code=code, message=message, latency_ms=latency,
                 probability=float(probability), times=times)


def _stored(fault: StoredFault) -> Fault:
    return Fault(id=fault.id, method=fault.method, path=fault.path, status=fault.status,
                 code=fault.code, message=fault.message, latency_ms=fault.latency_ms,
                 probability=fault.probability, times=fault.times, hits=fault.hits)


class Faults:
    """The faults of every server process on the database: kept in the database, cached here
    by the shared state's version; a hit is counted there, so a fault with `times: 1` fires
    once in all."""

    def __init__(self, rng: random.Random, shared: SharedState) -> None:
        self._lock = threading.Lock()
        self._shared = shared
        self._cache: list[Fault] = []
        self._version: int | None = None
        self._rng = rng

    def load(self, version: int) -> None:
        """Re-read the faults when the shared state's version moved since the last read."""
        if version != self._version:
            self._reload(version)

    def _reload(self, version: int | None) -> None:
        faults = self.list()
        with self._lock:
            self._cache, self._version = faults, version

    def active(self) -> bool:
        """Whether any fault may hit a call (no database read: the cache)."""
        return bool(self._cache)

    def add(self, spec: Any) -> Fault:
        fault = parse(spec, 0)
        values = {k: v for k, v in asdict(fault).items() if k not in ("id", "hits")}
        fault_id = self._shared.write(lambda tx: self._shared.repo.add_fault(tx, values))
        self._reload(None)
        return replace(fault, id=fault_id)

    def list(self) -> list[Fault]:
        with self._shared.db.read() as tx:
            return [_stored(f) for f in self._shared.repo.faults(tx)]

    def delete(self, fault_id: int) -> bool:
        gone = self._shared.write(lambda tx: self._shared.repo.delete_faults(tx, fault_id))
        self._reload(None)
        return gone > 0

    def clear(self) -> None:
        self._shared.write(self._shared.repo.delete_faults)
        self._reload(None)

    def match(self, method: str, path: str) -> Fault | None:
        """The first fault hitting this call (counted against its `times`), or None."""
        for fault in list(self._cache):
            if fault.method is not None and fault.method != method:
                continue
            if not fnmatchcase(path, fault.path):
                continue
            with self._lock:
                if fault.probability < 1 and self._rng.random() >= fault.probability:
                    continue
            hit = self._shared.write(partial(self._shared.repo.hit_fault, fault_id=fault.id))
            if hit is None:  # spent or deleted by another process meanwhile
                self._reload(None)
                continue
            if hit.times == 0:
                self._reload(None)
            return replace(_stored(hit), times=fault.times if hit.times is None
                           else hit.times + 1)
        return None

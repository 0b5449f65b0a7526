"""The `/__corral/` control API of emulator mode (served only with `corral serve --emulator`).

Its JSON shapes are Corral's own (no Zoho API has them); errors still travel in Zoho's error
shape. Every call needs an admin token: the admin profile, scope ZohoCRM.org.ALL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corral import envelopes
from corral.api.http import Call, Handler, error_response, json_response, read_body
from corral.emulator import limits
from corral.emulator.faults import Fault
from corral.emulator.journal import Call as JournalCall
from corral.emulator.journal import response_code
from corral.emulator.service import Emulator
from corral.errors import CorralError, InvalidData, NoPermission, NotFound, TooManyRequests
from corral.storage.snapshots import SnapshotInfo

SCOPE = "ZohoCRM.org.ALL"
SUCCESS = {"status": "success"}
UTC_ZONE = ZoneInfo("UTC")
MAX_CAPTURE = 1024 * 1024  # response bytes kept for the journal (then cut to its body limit)
# Zoho documents the concurrency limit but not its error body; unconfirmed wording.
CONCURRENCY_MESSAGE = "concurrency limit exceeded. please try again after some time"


def _admin(call: Call) -> None:
    principal = call.authenticate()
    principal.require_scope(SCOPE)
    if not principal.is_admin:
        raise NoPermission("the emulator control API needs the admin profile")


def _body(call: Call) -> dict[str, Any]:
    body = call.json()
    if not isinstance(body, dict):
        raise InvalidData("the body must be a JSON object")
    return body


def _time(value: Any) -> str | None:
    return envelopes.format_time(value, UTC_ZONE) if value is not None else None


def _snapshot(info: SnapshotInfo) -> dict[str, Any]:
    return {"name": info.name, "created_time": _time(info.created_time),
            "records": info.records}


# ----------------------------------------------------------------------------- handlers
def reset(emu: Emulator, call: Call) -> Response:
    _admin(call)
    name = _body(call).get("snapshot")
    if name is not None and not isinstance(name, str):
        raise InvalidData("snapshot must be a name", {"api_name": "snapshot"})
    emu.reset(name)
    return json_response(SUCCESS)


def list_snapshots(emu: Emulator, call: Call) -> Response:
    _admin(call)
    return json_response({"snapshots": [_snapshot(s) for s in emu.list_snapshots()]})


def save_snapshot(emu: Emulator, call: Call) -> Response:
    _admin(call)
    info = emu.save_snapshot(_body(call).get("name"))
    return json_response({"status": "success", "snapshot": _snapshot(info)}, 201)


def restore_snapshot(emu: Emulator, call: Call) -> Response:
    _admin(call)
    emu.restore(call.path_params["name"])
    return json_response(SUCCESS)


def delete_snapshot(emu: Emulator, call: Call) -> Response:
    _admin(call)
    emu.delete_snapshot(call.path_params["name"])
    return json_response(None, 204)


def _clock_state(emu: Emulator) -> dict[str, Any]:
    return {"now": _time(emu.clock()), "frozen": emu.clock.frozen}


def get_clock(emu: Emulator, call: Call) -> Response:
    _admin(call)
    return json_response(_clock_state(emu))


def put_clock(emu: Emulator, call: Call) -> Response:
    """`{"now": ISO-8601}` freezes there; `{"advance_seconds": N}` moves the clock forward
    (a running clock freezes at the present first); `{"frozen": false}` is real time again,
    `{"frozen": true}` freezes at the present."""
    _admin(call)
    body = _body(call)
    known = {"now", "advance_seconds", "frozen"}
    if not body or set(body) - known or len(body) != 1:
        raise InvalidData("give one of now, advance_seconds, frozen",
                          {"expected": sorted(known)})
    key, value = next(iter(body.items()))
    if key == "now":
        if not isinstance(value, str):
            raise InvalidData("now must be an ISO-8601 date-time", {"api_name": "now"})
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidData("now must be an ISO-8601 date-time", {"api_name": "now"}) from None
        emu.clock.freeze(at)
    elif key == "advance_seconds":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidData("advance_seconds must be a number of seconds, not negative",
                              {"api_name": "advance_seconds"})
        emu.clock.advance(float(value))
    else:
        if not isinstance(value, bool):
            raise InvalidData("frozen must be true or false", {"api_name": "frozen"})
        if value:
            emu.clock.freeze()
        else:
            emu.clock.release()
    return json_response(_clock_state(emu))


# ----------------------------------------------------------------------------- journal
def _call(entry: JournalCall) -> dict[str, Any]:
    return {"id": entry.id, "time": _time(entry.time), "direction": entry.direction,
            "method": entry.method, "path": entry.path, "query": entry.query,
            "status": entry.status, "code": entry.code, "credits": entry.credits,
            "duration_ms": entry.duration_ms, "request_body": entry.request_body,
            "response_body": entry.response_body}


def _int(call: Call, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidData(f"{name} must be a number from {low} to {high}",
                          {"param_name": name})
    return int(raw)


def get_journal(emu: Emulator, call: Call) -> Response:
    _admin(call)
    calls = emu.journal.calls(
        method=call.query.get("method") or None, path=call.query.get("path") or None,
        status=_int(call, "status", None, 100, 599),
        since_id=_int(call, "since_id", 0, 0, 2**62) or 0,
        limit=_int(call, "limit", 1000, 1, 10_000) or 1000)
    return json_response({"calls": [_call(c) for c in calls]})


def clear_journal(emu: Emulator, call: Call) -> Response:
    _admin(call)
    emu.journal.clear()
    return json_response(None, 204)


# ----------------------------------------------------------------------------- limits
def _usage(emu: Emulator) -> dict[str, Any]:
    u = emu.limits.usage()
    return {"edition": u.edition, "users": u.users, "allowance": u.allowance, "used": u.used,
            "remaining": u.remaining, "window_seconds": 86_400,
            "concurrency_limit": u.concurrency_limit, "in_flight": u.in_flight}


def get_limits(emu: Emulator, call: Call) -> Response:
    _admin(call)
    return json_response(_usage(emu))


def put_limits(emu: Emulator, call: Call) -> Response:
    _admin(call)
    emu.limits.configure(call.json())
    return json_response(_usage(emu))


# ----------------------------------------------------------------------------- faults
def _fault(f: Fault) -> dict[str, Any]:
    return {"id": str(f.id), "method": f.method, "path": f.path, "status": f.status,
            "code": f.code, "message": f.message, "latency_ms": f.latency_ms,
            "probability": f.probability, "times": f.times, "hits": f.hits}


def add_fault(emu: Emulator, call: Call) -> Response:
    _admin(call)
    fault = emu.faults.add(call.json())
    return json_response({"id": str(fault.id)}, 201)


def list_faults(emu: Emulator, call: Call) -> Response:
    _admin(call)
    return json_response({"faults": [_fault(f) for f in emu.faults.list()]})


def delete_fault(emu: Emulator, call: Call) -> Response:
    _admin(call)
    raw = call.path_params["fault_id"]
    if not raw.isdigit() or not emu.faults.delete(int(raw)):
        raise NotFound("fault not found", {"id": raw})
    return json_response(None, 204)


# ----------------------------------------------------------------------------- async work
def run_jobs(emu: Emulator, call: Call) -> Response:
    _admin(call)
    return json_response({"status": "success", "ran": emu.run_jobs()})


def put_worker(emu: Emulator, call: Call) -> Response:
    _admin(call)
    body = _body(call)
    paused = body.get("paused")
    if not isinstance(paused, bool) or set(body) != {"paused"}:
        raise InvalidData("give paused: true or false", {"api_name": "paused"})
    emu.pause_worker(paused)
    return json_response({"paused": emu.worker_paused, "running": emu.worker is not None})


# ----------------------------------------------------------------------------- fixtures
def load_fixtures(emu: Emulator, call: Call) -> Response:
    _admin(call)
    loaded = emu.load_fixtures(call.body)
    return json_response({"status": "success", "loaded": loaded.counts, "refs": loaded.refs})


# ----------------------------------------------------------------------------- middleware
def _injected(fault: Fault) -> CorralError:
    assert fault.status is not None and fault.code is not None
    kind = type("InjectedFault", (CorralError,),
                {"code": fault.code, "status": fault.status,
                 "default_message": fault.message or ""})
    err: CorralError = kind()
    return err


class EmulatorLayer:
    """Pure ASGI middleware in front of Zoho's API in emulator mode: injected faults, then
    credits and concurrency, then the call, journalled with what it answered. The control
    API and the console pass straight through (neither journalled, charged nor faulted).

    Every request first catches up with the state all server processes share (one small
    read: `Emulator.sync`); a call is journalled (and charged, and out of flight) in one write
    transaction just before its last body message goes out, so a client that has the answer
    finds the call in the journal, whichever process it asks next. Database work runs in the
    thread pool, never on the event loop.
    """

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emu = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await run_in_threadpool(self.emu.sync)
        # The console (HTML at /console) is not a Zoho API call either: a fault on `*` must
        # not lock the admin out of the panel that deletes it.
        if scope["path"].startswith(("/__corral/", "/console")):
            await self.app(scope, receive, send)
            return
        await _Call(self.app, self.emu, scope).run(receive, send)


class _Call:
    """One Zoho API call through the emulator layer."""

    def __init__(self, app: ASGIApp, emu: Emulator, scope: Scope) -> None:
        self.app, self.emu, self.scope = app, emu, scope
        self.started, self.at = time.perf_counter(), emu.clock()
        self.method, self.path = scope["method"], scope["path"]
        self.query = scope.get("query_string", b"").decode("latin-1")
        self.body = b""
        self.status: int | None = None
        self.sent = bytearray()
        self.charged = 0  # credits the journal shows
        self.pending = 0  # credits still to charge when journalled (unlimited: not on admit)
        self.counted: bool | None = None  # admitted: whether the database counts it in flight
        self.heavy = False
        self.finished = False

    async def run(self, receive: Receive, send: Send) -> None:
        refused: CorralError | None = None
        try:
            self.body = (await read_body(receive)) or b""
        except CorralError as err:  # FILE_TOO_LARGE from BodyLimit
            refused = err

        async def replay() -> Message:
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = int(message["status"])
            elif message["type"] == "http.response.body":
                if len(self.sent) < MAX_CAPTURE:
                    self.sent.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    await self.finish()
            await send(message)

        try:
            if refused is not None:
                await error_response(refused)(self.scope, replay, capture)
                return
            answer = await self.admit()
            if answer is not None:
                await answer(self.scope, replay, capture)
                return
            await self.app(self.scope, replay, capture)
        finally:
            await self.finish()

    async def admit(self) -> Response | None:
        """None when the call may go on; else the error it answers (a fault, a limit)."""
        emu, method, path = self.emu, self.method, self.path
        fault = await run_in_threadpool(emu.faults.match, method, path) \
            if emu.faults.active() else None
        if fault is not None and fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault is not None and fault.status is not None:
            return error_response(_injected(fault))
        credits = limits.cost(method, path, dict(parse_qsl(self.query)), self.body)
        self.heavy = limits.is_heavy(method, path, self.body)
        if emu.limits.limited:
            try:
                self.counted = await run_in_threadpool(emu.limits.admit, credits, self.heavy)
            except limits.Refusal as refusal:
                message = CONCURRENCY_MESSAGE if refusal.concurrency else None
                return error_response(TooManyRequests(message))
        else:
            emu.limits.count_local()
            self.counted, self.pending = False, credits
        self.charged = credits
        return None

    async def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        sent = bytes(self.sent)
        entry = self.emu.journal.entry(
            time=self.at, direction="in", method=self.method, path=self.path, query=self.query,
            status=self.status, code=response_code(sent) if sent else None,
            credits=self.charged, duration_ms=(time.perf_counter() - self.started) * 1000,
            request_body=self.body, response_body=sent)
        await run_in_threadpool(self.emu.finish_call, entry, charge=self.pending,
                                release=self.counted, heavy=self.heavy)


ControlHandler = Callable[[Emulator, Call], Response]


def _bind(emu: Emulator, handlers: dict[str, ControlHandler]) -> dict[str, Handler]:
    def bound(fn: ControlHandler) -> Handler:
        return lambda call: fn(emu, call)

    return {method: bound(fn) for method, fn in handlers.items()}


def control_table(emu: Emulator) -> list[tuple[str, dict[str, Handler]]]:
    """The control API's URL table (routes.py puts it before the Zoho routes)."""
    table: list[tuple[str, dict[str, ControlHandler]]] = [
        ("/__corral/reset", {"POST": reset}),
        ("/__corral/snapshots", {"GET": list_snapshots, "POST": save_snapshot}),
        ("/__corral/snapshots/{name}/restore", {"POST": restore_snapshot}),
        ("/__corral/snapshots/{name}", {"DELETE": delete_snapshot}),
        ("/__corral/clock", {"GET": get_clock, "PUT": put_clock}),
        ("/__corral/journal", {"GET": get_journal, "DELETE": clear_journal}),
        ("/__corral/limits", {"GET": get_limits, "PUT": put_limits}),
        ("/__corral/faults", {"GET": list_faults, "POST": add_fault}),
        ("/__corral/faults/{fault_id}", {"DELETE": delete_fault}),
        ("/__corral/jobs/run", {"POST": run_jobs}),
        ("/__corral/worker", {"PUT": put_worker}),
        ("/__corral/fixtures", {"POST": load_fixtures}),
    ]
    return [(path, _bind(emu, handlers)) for path, handlers in table]

"""The console's emulator panel (only with `corral serve --emulator`): the request journal
with its bodies, deliveries out (webhooks, notification callbacks), faults, the clock,
snapshots and credits. It calls the emulator's own objects (no HTTP round trip) and asks for
what the `/__corral/` control API asks for: the admin profile and scope ZohoCRM.org.ALL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import Response

from corral.api.console.web import Page, Redirect
from corral.api.emulator import SCOPE
from corral.emulator.service import Emulator
from corral.errors import CorralError, InvalidData, NoPermission, NotFound

JOURNAL_SHOWN = 200
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _emulator(page: Page) -> Emulator:
    emu = page.emulator
    if emu is None:
        raise NotFound("the emulator panel needs `corral serve --emulator`")
    page.user.require_scope(SCOPE)
    if not page.user.is_admin:
        raise NoPermission("the emulator panel needs the admin profile")
    assert isinstance(emu, Emulator)
    return emu


def _time(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at is not None else ""


def _status_filter(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or not 100 <= int(raw) <= 599:
        raise InvalidData("status must be a number from 100 to 599", {"param_name": "status"})
    return int(raw)


def _render(page: Page, emu: Emulator, status: int = 200, **extra: Any) -> Response:
    return page.render("emulator.html", status=status, clock_now=_time(emu.clock()),
                       frozen=emu.clock.frozen, usage=emu.limits.usage(),
                       faults=emu.faults.list(), snapshots=emu.list_snapshots(),
                       fmt=_time, methods=METHODS, form=page.form, **extra)


def panel(page: Page) -> Response:
    return _render(page, _emulator(page))


def journal(page: Page) -> Response:
    emu = _emulator(page)
    direction = page.query.get("direction", "in")
    method = page.query.get("method", "").upper()
    path = page.query.get("path", "")
    error: CorralError | None = None
    try:
        status = _status_filter(page.query.get("status", ""))
    except CorralError as err:
        error, status = err, None
    calls = emu.journal.calls(method=method or None, path=path or None, status=status,
                              direction=direction, limit=JOURNAL_SHOWN, newest_first=True)
    return page.render("emulator_journal.html", status=400 if error else 200, calls=calls,
                       direction=direction, method=method, path=path,
                       status_filter=page.query.get("status", ""), error=error, fmt=_time,
                       methods=METHODS, shown=JOURNAL_SHOWN)


def _number(raw: str, name: str) -> int | float | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        raise InvalidData(f"{name} must be a number", {"api_name": name}) from None


def add_fault(page: Page) -> Response:
    emu = _emulator(page)
    f = page.form
    spec: dict[str, Any] = {"path": f.get("path", "").strip() or "*"}
    if f.get("method"):
        spec["method"] = f["method"]
    for name in ("status", "latency_ms", "probability", "times"):
        try:
            value = _number(f.get(name, ""), name)
        except CorralError as err:
            return _render(page, emu, 400, fault_error=err)
        if value is not None:
            spec[name] = value
    for name in ("code", "message"):
        if f.get(name, "").strip():
            spec[name] = f[name].strip()
    try:
        emu.faults.add(spec)
    except CorralError as err:
        return _render(page, emu, 400, fault_error=err)
    raise Redirect("/console/emulator#faults")


def delete_fault(page: Page) -> Response:
    emu = _emulator(page)
    raw = page.path_params["fault_id"]
    if not raw.isdigit() or not emu.faults.delete(int(raw)):
        raise NotFound("fault not found", {"id": raw})
    raise Redirect("/console/emulator#faults")


def clock(page: Page) -> Response:
    emu = _emulator(page)
    action = page.form.get("action", "")
    if action == "freeze":
        raw = page.form.get("at", "").strip()
        at = None
        if raw:
            try:
                at = datetime.fromisoformat(raw)
            except ValueError:
                return _render(page, emu, 400, clock_error=InvalidData(
                    "give the time as ISO-8601, e.g. 2027-01-31T09:00:00", {"api_name": "at"}))
        emu.clock.freeze(at)
    elif action == "advance":
        try:
            seconds = _number(page.form.get("seconds", ""), "seconds")
            if seconds is None or seconds < 0:
                raise InvalidData("seconds must be a number, not negative",
                                  {"api_name": "seconds"})
        except CorralError as err:
            return _render(page, emu, 400, clock_error=err)
        emu.clock.advance(float(seconds))
    elif action == "release":
        emu.clock.release()
    else:
        return _render(page, emu, 400, clock_error=InvalidData(
            "action must be freeze, advance or release", {"api_name": "action"}))
    raise Redirect("/console/emulator#clock")


def save_snapshot(page: Page) -> Response:
    emu = _emulator(page)
    try:
        emu.save_snapshot(page.form.get("name", "").strip())
    except CorralError as err:
        return _render(page, emu, 400, snapshot_error=err)
    raise Redirect("/console/emulator#snapshots")


def restore_snapshot(page: Page) -> Response:
    emu = _emulator(page)
    # Credentials issued since the snapshot stay valid, so the console stays signed in.
    emu.restore(page.path_params["name"], keep_credentials=True)
    raise Redirect("/console/emulator#snapshots")


def delete_snapshot(page: Page) -> Response:
    emu = _emulator(page)
    emu.delete_snapshot(page.path_params["name"])
    raise Redirect("/console/emulator#snapshots")

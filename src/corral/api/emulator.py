"""The `/__corral/` control API of emulator mode (served only with `corral serve --emulator`).

Its JSON shapes are Corral's own (no Zoho API has them); errors still travel in Zoho's error
shape. Every call needs an admin token: the admin profile, scope ZohoCRM.org.ALL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, Handler, json_response
from corral.emulator.service import Emulator
from corral.errors import InvalidData, NoPermission
from corral.storage.snapshots import SnapshotInfo

SCOPE = "ZohoCRM.org.ALL"
SUCCESS = {"status": "success"}
UTC_ZONE = ZoneInfo("UTC")


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
    ]
    return [(path, _bind(emu, handlers)) for path, handlers in table]

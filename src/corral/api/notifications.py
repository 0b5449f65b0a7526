"""Instant notifications: /actions/watch (enable, update, renew, disable, list, delete)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, json_response
from corral.auth.service import Principal
from corral.automation.notifications import Subscribed
from corral.errors import CorralError, InvalidData, MandatoryNotFound, NotSubscribed
from corral.metadata.model import Module

WATCH = "watch"
SUBSCRIBED = "Successfully subscribed for actions-watch of the given module"
UPDATED = "Successfully updated the subscribe details"
UNSUBSCRIBED = "Successfully un-subscribed from actions-watch"
REMOVED = "Successfully removed the subscribe details"
# Zoho's v8 spec answers per-item errors (wrapped under `watch`) with 202 on every method.
ITEM_ERRORS = 202


def _principal(call: Call, op: str) -> Principal:
    principal = call.authenticate()
    principal.require_scope(f"ZohoCRM.notifications.{op}")
    return principal


def _items(call: Call, *, wrapped: bool) -> list[Any]:
    """The `watch` array. Zoho's spec answers a body error of POST wrapped under `watch`
    with 202 (POST documents no 400), of PUT and PATCH top-level with 400."""
    body = call.json()
    items = body.get(WATCH) if isinstance(body, dict) else None
    err: CorralError | None = None
    if items is None or items == []:
        err = MandatoryNotFound(details={"api_name": WATCH, "json_path": f"$.{WATCH}"})
    elif not isinstance(items, list):
        err = InvalidData("invalid data", {"api_name": WATCH, "json_path": f"$.{WATCH}",
                                           "expected_data_type": "jsonarray"})
    if err is not None:
        if wrapped:
            err.wrap, err.http_status = WATCH, ITEM_ERRORS
        raise err
    return list(items) if isinstance(items, list) else []


def _modules(call: Call) -> dict[int, Module]:
    return {m.id: m for m in call.corral.registry.modules()}


def _answer(call: Call, principal: Principal, results: list[Subscribed | CorralError],
            message: str, ok_status: int) -> Response:
    tz = call.corral.query.principal_tz(principal)
    modules = _modules(call)
    out = [envelopes.error_body(r) if isinstance(r, CorralError) else envelopes.success(
        message, {"events": envelopes.watch_events(r.channels, modules, tz)}) for r in results]
    ok = sum(1 for r in results if not isinstance(r, CorralError))
    return json_response({WATCH: out}, ok_status if ok == len(results) else ITEM_ERRORS)


def enable(call: Call) -> Response:
    principal = _principal(call, "CREATE")
    service = call.corral.notifications
    results: list[Subscribed | CorralError] = []
    for i, item in enumerate(_items(call, wrapped=True)):
        try:
            results.append(service.subscribe(item, i, principal, version=call.version,
                                             base_url=call.base_url))
        except CorralError as err:
            results.append(err)
    return _answer(call, principal, results, SUBSCRIBED, 201)


def _update(call: Call, *, partial: bool) -> Response:
    principal = _principal(call, "UPDATE")
    service = call.corral.notifications
    results: list[Subscribed | CorralError] = []
    unsubscribing = False
    for i, item in enumerate(_items(call, wrapped=False)):
        unsubscribing |= partial and isinstance(item, dict) and item.get("_delete_events") is True
        try:
            results.append(service.update(item, i, principal, version=call.version,
                                          base_url=call.base_url, partial=partial))
        except CorralError as err:
            results.append(err)
    return _answer(call, principal, results, UNSUBSCRIBED if unsubscribing else UPDATED, 200)


def update(call: Call) -> Response:
    return _update(call, partial=False)


def patch(call: Call) -> Response:
    return _update(call, partial=True)


def _positive(call: Call, name: str, default: int, most: int) -> int:
    raw = call.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise InvalidData("invalid data", {"param_name": name, "param": raw})
    return int(raw)


def list_channels(call: Call) -> Response:
    principal = _principal(call, "READ")
    page = _positive(call, "page", 1, 10**6)
    per_page = _positive(call, "per_page", 200, 200)
    module = None
    if call.query.get("module"):
        module = call.corral.registry.get(call.query["module"])
        if module is None:
            raise InvalidData("invalid data", {"param_name": "module",
                                               "param": call.query["module"]})
    channel_id = call.query.get("channel_id") or None
    if channel_id is not None and not (channel_id.isdigit() and len(channel_id) <= 19):
        raise InvalidData("invalid data", {"param_name": "channel_id", "param": channel_id})
    now = call.corral.clock()
    modules = _modules(call)
    rows = [c for c in call.corral.notifications.channels(channel_id=channel_id, module=module)
            if c.channel_expiry > now and c.module_id in modules]
    start = (page - 1) * per_page
    shown = rows[start:start + per_page]
    if not shown:
        return json_response(None, 204)
    tz = call.corral.query.principal_tz(principal)
    return json_response({WATCH: [envelopes.watch_json(c, modules[c.module_id], tz)
                                  for c in shown],
                          "info": {"per_page": per_page, "page": page, "count": len(shown),
                                   "more_records": start + per_page < len(rows)}})


def delete(call: Call) -> Response:
    _principal(call, "DELETE")
    service = call.corral.notifications
    ids = service.channel_ids(call.query.get("channel_ids"))
    known = {c.channel_id for c in service.channels() if c.channel_id in ids}
    service.delete([i for i in ids if i in known])
    out = [envelopes.success(REMOVED, {"channel_id": i}) if i in known else envelopes.error_body(
        NotSubscribed(details={"param_name": "channel_ids", "channel_id": i})) for i in ids]
    return json_response({WATCH: out}, 200 if len(known) == len(ids) else ITEM_ERRORS)

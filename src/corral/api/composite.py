"""Composite requests: up to five sub-requests in one call, each through the same handlers.

Each sub-request becomes a `Call` of its own (the composite's token, so the same scope and
profile checks) dispatched through the URL table. References `@{sub_request_id:$.path}` in a
later sub-request's uri, params, headers or body are replaced with values of an earlier
response. With `rollback_on_fail` the sub-requests share one database transaction
(`Database.shared_transaction`): the first failure rolls all of them back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.responses import Response

from corral import envelopes
from corral.api.http import VERSIONS, Call, Handler, answer, json_response
from corral.errors import (
    AmbiguityDuringProcessing,
    CorralError,
    DuplicateData,
    InvalidData,
    InvalidReference,
    MandatoryNotFound,
    NotSupported,
    ProcessingStopped,
    RollbackPerformed,
)

KEY = "__composite_requests"
MAX_SUB_REQUESTS = 5  # Zoho: "up to five API calls in a single request"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
URI = re.compile(r"^/crm(/.*)?/(v[0-9]+(?:[.][0-9]+)?)/.+$")  # Zoho's documented pattern
SUB_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_]*$")
REFERENCE = re.compile(r"@\{([a-zA-Z0-9][a-zA-Z0-9_]*)[:.](\$[^}]*)\}")
PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
RESTRICTED_HEADERS = frozenset({"authorization", "host", "content-length", "content-type"})

Resolver = Callable[[str], tuple[Handler, dict[str, str]] | None]


@dataclass
class Sub:
    index: int
    method: str
    uri: str
    params: dict[str, Any]
    headers: dict[str, Any]
    body: Any
    sub_id: str | None


class Failed(Exception):
    """A sub-request failed under rollback_on_fail: roll the shared transaction back."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def _bad(message: str, at: str, api_name: str, **extra: Any) -> InvalidData:
    return InvalidData(message, {"api_name": api_name, "json_path": at, **extra})


def _parse(body: Any) -> tuple[list[Sub], bool]:
    if not isinstance(body, dict) or body.get(KEY) is None:
        raise MandatoryNotFound(details={"api_name": KEY, "json_path": f"$.{KEY}"})
    items = body[KEY]
    if not isinstance(items, list) or not items:
        raise _bad("invalid data", f"$.{KEY}", KEY, expected_data_type="jsonarray")
    if len(items) > MAX_SUB_REQUESTS:
        raise _bad("the number of sub-requests exceeds the limit", f"$.{KEY}", KEY,
                   maximum_length=MAX_SUB_REQUESTS)
    rollback = body.get("rollback_on_fail", False)
    parallel = body.get("parallel_execution", body.get("concurrent_execution"))
    for name, value in (("rollback_on_fail", rollback), ("concurrent_execution", parallel)):
        if value is not None and not isinstance(value, bool):
            raise _bad("invalid data", f"$.{name}", name, expected_data_type="boolean")
    if rollback and parallel:
        raise AmbiguityDuringProcessing(details={"ambiguity_due_to": [
            {"api_name": "rollback_on_fail", "json_path": "$.rollback_on_fail"},
            {"api_name": "concurrent_execution", "json_path": "$.concurrent_execution"}]})
    subs = [_sub(item, i) for i, item in enumerate(items)]
    seen: dict[str, list[int]] = {}
    for s in subs:
        if s.sub_id is not None:
            seen.setdefault(s.sub_id, []).append(s.index)
    for indexes in seen.values():
        if len(indexes) > 1:
            raise DuplicateData("duplicate sub_request_id", {
                "api_name": "sub_request_id", "json_path": f"$.{KEY}[{indexes[1]}].sub_request_id",
                "sub_request_indexes": indexes})
    for s in subs:
        for ref, _path in REFERENCE.findall(orjson.dumps([s.uri, s.params, s.headers,
                                                          s.body]).decode()):
            if ref not in seen or seen[ref][0] >= s.index:
                raise InvalidReference(details={"api_name": "sub_request_id",
                                                "json_path": f"$.{KEY}[{s.index}]",
                                                "reference": ref})
    return subs, bool(rollback)


def _sub(item: Any, i: int) -> Sub:
    at = f"$.{KEY}[{i}]"
    if not isinstance(item, dict):
        raise _bad("invalid data", at, KEY, expected_data_type="jsonobject")
    method, uri = item.get("method"), item.get("uri")
    if method is None:
        raise MandatoryNotFound(details={"api_name": "method", "json_path": f"{at}.method"})
    if uri is None:
        raise MandatoryNotFound(details={"api_name": "uri", "json_path": f"{at}.uri"})
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise _bad("invalid data", f"{at}.method", "method")
    if not isinstance(uri, str) or not URI.match(uri.split("?", 1)[0]):
        raise _bad("invalid data", f"{at}.uri", "uri", regex=URI.pattern)
    if uri.split("?", 1)[0].rstrip("/").endswith(f"/{KEY}"):
        raise NotSupported("a composite request cannot contain another",
                           {"api_name": "uri", "json_path": f"{at}.uri"})
    sub_id = item.get("sub_request_id")
    if sub_id is not None and (not isinstance(sub_id, str) or not SUB_ID.match(sub_id)):
        raise _bad("invalid data", f"{at}.sub_request_id", "sub_request_id",
                   regex=SUB_ID.pattern)
    parts: dict[str, Any] = {}
    for name in ("params", "headers"):
        value = item.get(name) or {}
        if not isinstance(value, dict):
            raise _bad("invalid data", f"{at}.{name}", name, expected_data_type="jsonobject")
        parts[name] = value
    restricted = sorted(h for h in parts["headers"] if h.lower() in RESTRICTED_HEADERS)
    if restricted:
        raise InvalidData("restricted headers given", {
            "api_name": "headers", "json_path": f"{at}.headers", "restricted_headers": restricted})
    body = item.get("body")
    if body is not None and not isinstance(body, (dict, list)):
        raise _bad("invalid data", f"{at}.body", "body", expected_data_type="jsonobject")
    return Sub(i, method.upper(), uri, parts["params"], parts["headers"], body, sub_id)


# ----------------------------------------------------------------------------- references
def _lookup(doc: Any, path: str) -> Any:
    """`$.data[0].details.id` in `doc`; KeyError when it names nothing."""
    if not path.startswith("$"):
        raise KeyError(path)
    rest, value = path[1:], doc
    while rest:
        m = PATH_STEP.match(rest)
        if m is None:
            raise KeyError(path)
        key, index = m.groups()
        if index is not None and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        elif key is not None and isinstance(value, dict) and key in value:
            value = value[key]
        else:
            raise KeyError(path)
        rest = rest[m.end():]
    return value


def _substitute(value: Any, bodies: dict[str, Any]) -> Any:
    """Replace references in strings; a string that is one reference takes its value's type."""
    if isinstance(value, dict):
        return {k: _substitute(v, bodies) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, bodies) for v in value]
    if not isinstance(value, str) or "@{" not in value:
        return value
    whole = REFERENCE.fullmatch(value)
    if whole is not None:
        return _lookup(bodies[whole.group(1)], whole.group(2))
    return REFERENCE.sub(lambda m: str(_lookup(bodies[m.group(1)], m.group(2))), value)


# ----------------------------------------------------------------------------- running
def _run(call: Call, resolve: Resolver, sub: Sub, bodies: dict[str, Any],
         ) -> tuple[int, Any] | CorralError:
    try:
        uri = _substitute(sub.uri, bodies)
        params = _substitute(sub.params, bodies)
        headers = _substitute(sub.headers, bodies)
        body = _substitute(sub.body, bodies)
    except KeyError:
        return InvalidReference(details={"api_name": "sub_request_id",
                                         "json_path": f"$.{KEY}[{sub.index}]",
                                         "reference": sub.uri})
    path, _, query = str(uri).partition("?")
    found = resolve(path)
    version = URI.match(path)
    if found is None or version is None or version.group(2) not in VERSIONS:
        return _bad("the uri given is not served", f"$.{KEY}[{sub.index}].uri", "uri")
    handler, path_params = found
    query_params = dict(parse_qsl(query, keep_blank_values=True))
    query_params.update({str(k): v if isinstance(v, str) else orjson.dumps(v).decode()
                         for k, v in params.items()})
    sub_call = Call(corral=call.corral, method=sub.method, path_params=path_params,
                    query=query_params,
                    headers={**{str(k).lower(): str(v) for k, v in headers.items()},
                             "authorization": call.headers.get("authorization", "")},
                    body=orjson.dumps(body) if body is not None else b"",
                    request_id=f"{call.request_id}-{sub.index}", principal=call.principal,
                    scheme=call.scheme)
    response = answer(handler, sub_call)
    payload = orjson.loads(response.body) if response.body else None
    return response.status_code, payload


def _failed(status: int) -> bool:
    return status >= 300 or status == 207  # a partial batch is a failure too


def composite(call: Call, resolve: Resolver) -> Response:
    principal = call.authenticate()
    principal.require_scope("ZohoCRM.composite_requests.CUSTOM")
    subs, rollback = _parse(call.json())
    outcomes: list[tuple[int, Any] | CorralError] = []
    bodies: dict[str, Any] = {}

    def run_all() -> None:
        for sub in subs:
            outcome = _run(call, resolve, sub, bodies)
            outcomes.append(outcome)
            if isinstance(outcome, tuple) and sub.sub_id is not None:
                bodies[sub.sub_id] = outcome[1]
            if rollback and (isinstance(outcome, CorralError) or _failed(outcome[0])):
                raise Failed(sub.index)

    failed_at: int | None = None
    if rollback:
        try:
            with call.corral.db.shared_transaction():
                run_all()
        except Failed as stop:
            failed_at = stop.index
    else:
        run_all()
    out: list[dict[str, Any]] = []
    for sub in subs:
        if failed_at is not None and sub.index < failed_at:
            out.append(envelopes.error_body(RollbackPerformed(
                details={"rollbacked_by_sub_request_index": failed_at})))
        elif sub.index >= len(outcomes):
            out.append(envelopes.error_body(ProcessingStopped(details={})))
        else:
            outcome = outcomes[sub.index]
            out.append(envelopes.error_body(outcome) if isinstance(outcome, CorralError)
                       else envelopes.composite_response(outcome[0], {}, outcome[1]))
    ok = failed_at is None and all(isinstance(o, tuple) and not _failed(o[0]) for o in outcomes)
    return json_response({KEY: out}, 200 if ok else 207)

"""Around every write under /crm/: `Idempotency-Key`, `?dry_run=true` and `If-Match` plans.

One wrapper (applied to every handler of the route table) gives each write door the three
Corral extensions without a line in the handler:

- a keyed write runs in one request-wide transaction that also stores its answer
  (`records.idempotency`), so the answer exists exactly when the writes do;
- a dry run is the real call in a transaction that is rolled back (so every check, effect and
  error is the real call's, and nothing is kept, not even an id), its answer carrying each
  record's plan and the plan's fingerprint;
- `If-Match: <plan_fingerprint>` runs the real call and rolls it back with 412 PLAN_CHANGED
  unless it did exactly what the dry run planned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.responses import Response

from corral.api.http import Call, Handler
from corral.errors import InvalidData, NotSupported, PlanChanged
from corral.records import plans
from corral.records.idempotency import MAX_KEY_LENGTH, Answer
from corral.records.plans import RecordedBatch

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Not replayed: they describe the connection or the one response, not the answer.
UNKEPT_HEADERS = frozenset({"content-length", "x-request-id", "date", "server", "connection"})


def guarded(handler: Handler, *, dry_run: bool) -> Handler:
    """`handler` with idempotency keys; with dry runs and If-Match when `dry_run` (the
    operation's writes are all record writes through the write path)."""

    def run(call: Call) -> Response:
        if call.method not in WRITE_METHODS or not call.path.startswith("/crm/"):
            return handler(call)
        key = call.headers.get("idempotency-key")
        expected = call.headers.get("if-match") if dry_run else None
        if _wants_dry_run(call, dry_run):
            return _dry_run(handler, call)
        if key is not None:
            return _keyed(handler, call, key, expected)
        if expected is not None:
            records = call.corral.records
            with records.in_request_transaction(), plans.recording() as recorder:
                response = handler(call)
                _match(recorder.batches, expected)
            return response
        return handler(call)

    run.reads_upload = getattr(handler, "reads_upload", False)  # type: ignore[attr-defined]
    return run


def _wants_dry_run(call: Call, supported: bool) -> bool:
    raw = call.query.get("dry_run")
    if raw is None or raw.lower() == "false":
        return False
    if raw.lower() != "true":
        raise InvalidData(details={"param_name": "dry_run", "supported_values": ["true",
                                                                                 "false"]})
    if not supported:
        call.authenticate()
        raise NotSupported("dry_run is not supported by this operation",
                           {"param_name": "dry_run"})
    return True


# ----------------------------------------------------------------------------- dry run
def _dry_run(handler: Handler, call: Call) -> Response:
    with call.corral.records.in_request_transaction(dry=True), \
            plans.recording() as recorder:
        response = handler(call)
    return _with_plans(response, recorder.batches)


def _details(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        return {}
    if not isinstance(entry.get("details"), dict):
        entry["details"] = {}
    details: dict[str, Any] = entry["details"]
    return details


def _combined(batches: Sequence[RecordedBatch]) -> dict[str, Any]:
    """One answer entry that stands for several batches (a conversion: Contact, Account,
    Deal, the Lead): each record's plan, with its module."""
    outcomes = [o for b in batches for o in b.outcomes]
    action = ("convert" if any(o.action == "convert" for o in outcomes)
              else "error" if all(not o.ok for o in outcomes) else "update")
    return {"action": action, "matched_by": None, "changes": {}, "records": [
        {"module": b.module, "id": str(o.record.id) if o.record is not None else None,
         **plans.plan_json(o)} for b in batches for o in b.outcomes]}


def _with_plans(response: Response, batches: Sequence[RecordedBatch]) -> Response:
    doc: Any = orjson.loads(response.body) if response.body else {}
    if not isinstance(doc, dict):
        return response
    # Record writes answer in `data`, merge in `merge`; a bulk write job in top-level `details`.
    data = next((doc[k] for k in ("data", "merge") if isinstance(doc.get(k), list)), None)
    jobs = [b for b in batches if b.job]
    writes = [b for b in batches if not b.job]
    job_plan = plans.job_plan_json([o for b in jobs for o in b.outcomes],
                                   [b.module for b in jobs for _o in b.outcomes]
                                   if len({b.module for b in jobs}) > 1 else None)
    if isinstance(data, list) and data:
        if jobs:
            _details(data[0])["plan"] = job_plan
        elif len(writes) == 1 and len(writes[0].outcomes) == len(data):
            for entry, outcome in zip(data, writes[0].outcomes, strict=True):
                _details(entry)["plan"] = plans.plan_json(outcome)
        elif writes:
            _details(data[0])["plan"] = _combined(writes)
    elif jobs and isinstance(doc.get("details"), dict):
        doc["details"]["plan"] = job_plan
    doc["plan_fingerprint"] = plans.fingerprint(batches)
    headers = {k: v for k, v in response.headers.items() if k.lower() not in UNKEPT_HEADERS}
    status = 200 if response.status_code == 204 else response.status_code
    return Response(orjson.dumps(doc, default=str), status_code=status, headers=headers)


def _match(batches: Sequence[RecordedBatch], expected: str) -> None:
    wanted = expected.strip().removeprefix("W/").strip('"')
    actual = plans.fingerprint(batches)
    if actual != wanted:
        raise PlanChanged(details={"plan_fingerprint": actual})


# ----------------------------------------------------------------------------- keys
def request_hash(call: Call) -> str:
    """Method, path, query and body (an upload's file and fields) of the request."""
    h = hashlib.sha256()
    h.update(orjson.dumps([call.method, call.path, sorted(call.query.items())]))
    h.update(call.body)
    if call.upload is not None:
        up = call.upload
        h.update(orjson.dumps([up.sha256, up.file_name, up.content_type,
                               sorted(up.fields.items())]))
    return h.hexdigest()


def _kept(response: Response) -> Answer | None:
    """What is stored of a response: not a server failure, not a stream."""
    body = getattr(response, "body", None)
    if response.status_code >= 500 or not isinstance(body, bytes):
        return None
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers
                    if k.decode("latin-1").lower() not in UNKEPT_HEADERS)
    return Answer(response.status_code, headers, body)


def _keyed(handler: Handler, call: Call, key: str, expected: str | None) -> Response:
    principal = call.authenticate()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidData("the Idempotency-Key header must have 1 to 255 characters",
                          {"header": "Idempotency-Key", "maximum_length": MAX_KEY_LENGTH})

    def work() -> Response:
        if expected is None:  # nothing to compare: no recording (a job would plan its records)
            return handler(call)
        with plans.recording() as recorder:
            response = handler(call)
            _match(recorder.batches, expected)
        return response

    result = call.corral.idempotency.run(principal.user.id, key, request_hash(call), work,
                                         _kept)
    if isinstance(result, Answer):
        headers = {k: v for k, v in result.headers}
        headers["Idempotent-Replayed"] = "true"
        return Response(result.body, status_code=result.status, headers=headers)
    return result

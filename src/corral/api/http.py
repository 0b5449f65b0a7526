"""Web plumbing: the Call handed to handlers, JSON bodies and responses, the endpoint wrapper."""

from __future__ import annotations

import email.parser
import email.policy
import logging
import re
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corral import envelopes
from corral.api.uploads import FRAMING, Upload, read_upload
from corral.auth.service import Principal
from corral.errors import (
    CorralError,
    FileSizeMoreThanAllowedSize,
    FileTooLarge,
    InternalError,
    InvalidData,
    InvalidUrlPattern,
    UnableToParseDataType,
)
from corral.services import Corral

log = logging.getLogger("corral.api")

MAX_UPLOAD = 20 * 1024 * 1024  # Zoho: "File size should not exceed 20 MB"
UPLOAD_PATH = re.compile(r"^/crm/[^/]+/[^/]+/[^/]+/Attachments$")
BULK_UPLOAD_PATH = re.compile(r"^/crm/[^/]+/upload$")
MAX_BULK_UPLOAD = 25 * 1024 * 1024  # Zoho: a bulk write zip of at most 25 MB
VERSIONS = frozenset({"v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8"})
JSON_TYPE = "application/json;charset=UTF-8"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None,
                  ) -> Response:
    if status in (204, 304):
        return Response(status_code=status, headers=headers)
    return Response(orjson.dumps(body), status_code=status, media_type=None,
                    headers={"Content-Type": JSON_TYPE, **(headers or {})})


@contextmanager
def wrapped_errors(key: str) -> Iterator[None]:
    """Errors raised inside travel wrapped under `key`, as Zoho wraps some APIs' body errors
    (`{"data": [error]}` for mass update, `{"fields": [error]}` ...)."""
    try:
        yield
    except CorralError as err:
        err.wrap = key
        raise


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The text fields of a urlencoded or multipart/form-data request body."""
    if content_type.lower().startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body)
        fields: dict[str, str] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = payload.decode("utf-8", "replace")
        return fields
    return dict(parse_qsl(body.decode("utf-8", "replace")))


def error_response(err: CorralError, request_id: str | None = None) -> Response:
    # Refused before a handler ran (unknown URL, oversized body): a fresh id all the same.
    headers = {"X-Request-Id": request_id or uuid.uuid4().hex}
    if isinstance(err, FileTooLarge | FileSizeMoreThanAllowedSize):
        # The rest of the body is never read, so the connection cannot carry another request.
        headers["Connection"] = "close"
    return json_response(envelopes.error_envelope(err), err.http_status, headers)


# ----------------------------------------------------------------------------- body size
def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses these; else the body is counted as read
    return None


class BodyLimit:
    """Pure ASGI middleware refusing request bodies over `limit` bytes with FILE_TOO_LARGE.

    Runs before routing, authentication and parsing. A declared Content-Length over the limit
    is answered without reading a byte of the body; any other body is counted while it streams
    in, and the reader gets FileTooLarge as soon as it passes the limit (so no consumer can
    ever hold more than `limit` bytes of one request).
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def limit_for(self, scope: Scope) -> tuple[int, CorralError]:
        """The byte limit and its error: attachment uploads may carry Zoho's 20 MB file and are
        refused with the attachment's own error (as api/uploads.py does); the rest with
        FILE_TOO_LARGE."""
        if scope.get("method") == "POST" and UPLOAD_PATH.match(scope.get("path", "")):
            limit = max(self.limit, MAX_UPLOAD + FRAMING)
            return limit, FileSizeMoreThanAllowedSize()
        if scope.get("method") == "POST" and BULK_UPLOAD_PATH.match(scope.get("path", "")):
            return max(self.limit, MAX_BULK_UPLOAD + FRAMING), FileTooLarge()
        return self.limit, FileTooLarge(details={"limit": self.limit})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, error = self.limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await error_response(error)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise error
            return message

        await self.app(scope, limited, send)




async def read_body(receive: Receive) -> bytes | None:
    """The whole request body (bounded by BodyLimit); None when the client left mid-body."""
    buf = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        buf += message.get("body", b"")
        if not message.get("more_body", False):
            return bytes(buf)


def _forget(exc: BaseException) -> None:
    """Let go of the frames an exception's traceback (and those of its causes) keeps alive.

    Those frames hold the request, whose body may be megabytes. Any reference cycle through
    them lasts until a full garbage collection, which `corral serve`'s GC tuning makes rare, and
    refused requests pile up in memory (issue 17: +1 GB RSS over 100 refused 10 MB bodies). The
    cycle found there is avoided by `_answer`; clearing the frames makes sure no other one (a
    handler keeping an exception somewhere) can hold a request either.
    """
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if item.__traceback__ is not None:
            traceback.clear_frames(item.__traceback__)  # skips frames still running
            item.__traceback__ = None
        pending += [item.__cause__, item.__context__]


# ----------------------------------------------------------------------------- handlers
# Deeper than any Zoho body (criteria groups, at most 32 levels, nest about 70 deep), shallow
# enough that code walking a body recursively (repr, serialisers) never meets Python's limit.
MAX_JSON_DEPTH = 100


def _check_document(doc: Any, *, nul: bool) -> None:
    """Refuse a parsed body nested deeper than MAX_JSON_DEPTH, or (when `nul`) holding NUL in a
    key or string. Iterative: a body may nest 1,024 deep, past Python's recursion limit."""
    stack: list[tuple[str, Any, int]] = [("$", doc, 1)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            if nul and "\x00" in value:
                raise InvalidData(details={"json_path": path})
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise UnableToParseDataType()
        if isinstance(value, dict):
            for key, item in value.items():
                if nul and "\x00" in key:
                    raise InvalidData(details={"json_path": f"{path}.{key}"})
                if nul or isinstance(item, (dict, list)):
                    stack.append((f"{path}.{key}", item, depth + 1))
        else:
            stack.extend((f"{path}[{i}]", item, depth + 1) for i, item in enumerate(value)
                         if nul or isinstance(item, (dict, list)))


@dataclass
class Call:
    """What a handler sees of the request."""

    corral: Corral
    method: str
    path_params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    request_id: str
    principal: Principal | None = None
    upload: Upload | None = None  # a multipart body, for handlers that `reads_upload`
    scheme: str = "http"
    path: str = ""
    _json: Any = field(default=None, repr=False)

    @property
    def version(self) -> str:
        return self.path_params.get("version", "v2")

    def json(self) -> Any:
        """Parse the body as JSON whatever the Content-Type (the official SDK sends none).

        orjson refuses what no handler could use (invalid UTF-8, lone surrogates, NaN,
        nesting deeper than 1,024); strings holding NUL are refused here, for every endpoint
        alike: PostgreSQL cannot store them in text or JSON, and no Zoho value holds one; so are
        documents nested deeper than MAX_JSON_DEPTH.
        """
        if self._json is None:
            if not self.body.strip():
                self._json = {}
            else:
                try:
                    doc = orjson.loads(self.body)
                except orjson.JSONDecodeError:
                    raise UnableToParseDataType() from None
                # NUL can only come as the escape \u0000, so only such bodies are searched.
                _check_document(doc, nul=b"\\u0000" in self.body)
                self._json = doc
        return self._json

    def form(self) -> dict[str, str]:
        """Query parameters updated with the body's form fields: urlencoded or, as the official
        Node.js SDK sends its token requests, multipart/form-data (text fields only)."""
        form = dict(self.query)
        if self.body:
            form.update(form_fields(self.headers.get("content-type", ""), self.body))
        return form

    @property
    def base_url(self) -> str:
        """Corral's own base URL as clients reach it: `--public-url`, else the request's
        scheme (uvicorn applies a local proxy's X-Forwarded-Proto) and Host."""
        configured = self.corral.settings.public_url
        if configured:
            return configured.rstrip("/")
        settings = self.corral.settings
        host = self.headers.get("host") or f"{settings.host}:{settings.port}"
        return f"{self.scheme}://{host}"

    def authenticate(self) -> Principal:
        if self.principal is None:
            self.principal = self.corral.auth.authenticate(self.headers.get("authorization"))
            # Every authenticated request sees the metadata as committed now, whichever
            # server process changed it (one indexed read when nothing changed).
            self.corral.registry.refresh()
        return self.principal


Handler = Callable[[Call], Response]


def _answer(handler: Handler, call: Call) -> Response:
    """Run the handler and turn any failure into its Zoho error, in the worker thread.

    Every failure becomes a Zoho error object: CorralError by its class, anything else
    INTERNAL_ERROR with the request id logged (never a traceback or SQL in the body). Handled
    here rather than after the thread hand-off: an exception carried back through the future
    sits in a reference cycle (awaiting frame -> future -> exception -> traceback -> frame).
    """
    try:
        response = handler(call)
        # Every answer, success or error, names its request: `actions/revert` takes it.
        response.headers.setdefault("X-Request-Id", call.request_id)
        return response
    except CorralError as err:
        response = error_response(err, call.request_id)
        _forget(err)
        return response
    except Exception as exc:
        log.exception("unexpected error in request %s", call.request_id)
        _forget(exc)
        return error_response(InternalError(), call.request_id)


# What composite requests run each sub-request's handler with.
answer = _answer


def endpoint(handler: Handler, corral: Corral) -> Callable[[Request], Any]:
    """Async Starlette endpoint: read the (size-limited) body, run the sync handler in the
    thread pool."""

    async def run(request: Request) -> Response:
        request_id = uuid.uuid4().hex
        version = request.path_params.get("version")
        if version is not None and version not in VERSIONS:
            return error_response(InvalidUrlPattern(), request_id)
        upload: Upload | None = None
        body: bytes | None
        try:
            if getattr(handler, "reads_upload", False) and request.headers.get(
                    "content-type", "").lower().startswith("multipart/form-data"):
                # Streamed and bounded (api/uploads.py), never read whole into memory.
                limit = getattr(handler, "upload_limit", MAX_UPLOAD)
                upload, body = await read_upload(request, limit), b""
            else:
                body = await read_body(request.receive)
        except CorralError as err:  # FILE_TOO_LARGE, or the upload's own limit
            response = error_response(err, request_id)
            _forget(err)
            return response
        if body is None:  # nobody is listening any more; answer something well-formed
            return error_response(UnableToParseDataType(), request_id)
        call = Call(corral=corral, method=request.method, path_params=dict(request.path_params),
                    query=dict(request.query_params),
                    headers={k.lower(): v for k, v in request.headers.items()}, body=body,
                    request_id=request_id, upload=upload,
                    scheme=request.url.scheme, path=request.url.path)
        del body, upload
        return await run_in_threadpool(_answer, handler, call)

    return run

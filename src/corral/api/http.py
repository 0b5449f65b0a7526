"""Web plumbing: the Call handed to handlers, JSON bodies and responses, the endpoint wrapper."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from corral import envelopes
from corral.auth.service import Principal
from corral.errors import (
    CorralError,
    InternalError,
    InvalidUrlPattern,
    UnableToParseDataType,
)
from corral.services import Corral

log = logging.getLogger("corral.api")

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


def error_response(err: CorralError, request_id: str | None = None) -> Response:
    headers = {"X-Request-Id": request_id} if request_id else None
    return json_response(envelopes.error_envelope(err), err.http_status, headers)


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
    scheme: str = "http"
    _json: Any = field(default=None, repr=False)

    @property
    def version(self) -> str:
        return self.path_params.get("version", "v2")

    def json(self) -> Any:
        """Parse the body as JSON whatever the Content-Type (the official SDK sends none)."""
        if self._json is None:
            if not self.body.strip():
                self._json = {}
            else:
                try:
                    self._json = orjson.loads(self.body)
                except orjson.JSONDecodeError:
                    raise UnableToParseDataType() from None
        return self._json

    def form(self) -> dict[str, str]:
        """Query parameters plus a form body: urlencoded (Python, Java SDKs, curl) or
        multipart/form-data (the Node.js SDK posts a FormData to the token endpoint)."""
        values = dict(self.query)
        content_type = self.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            values.update(_multipart_fields(content_type, self.body))
        elif self.body:
            values.update(parse_qsl(self.body.decode("utf-8", "replace")))
        return values

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
        return self.principal


Handler = Callable[[Call], Response]


def _multipart_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The text fields of a multipart/form-data body (files are ignored); {} when malformed."""
    try:
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
        out: dict[str, str] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            value = part.get_content()
            if isinstance(name, str) and isinstance(value, str):
                out[name] = value
        return out
    except Exception:  # a malformed body is no form at all, never a server error
        return {}


def endpoint(handler: Handler, corral: Corral) -> Callable[[Request], Any]:
    """Async Starlette endpoint running the sync handler in the thread pool.

    Every failure becomes a Zoho error object: CorralError by its class, anything else
    INTERNAL_ERROR with the request id logged (never a traceback or SQL in the body).
    """

    async def run(request: Request) -> Response:
        request_id = uuid.uuid4().hex
        version = request.path_params.get("version")
        if version is not None and version not in VERSIONS:
            return error_response(InvalidUrlPattern(), request_id)
        body = await request.body()
        call = Call(corral=corral, method=request.method, path_params=dict(request.path_params),
                    query=dict(request.query_params),
                    headers={k.lower(): v for k, v in request.headers.items()}, body=body,
                    request_id=request_id, scheme=request.url.scheme)
        try:
            return await run_in_threadpool(handler, call)
        except CorralError as err:
            return error_response(err, request_id)
        except Exception:
            log.exception("unexpected error in request %s", request_id)
            return error_response(InternalError(), request_id)

    return run

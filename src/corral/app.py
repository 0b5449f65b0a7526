"""create_app(corral) -> the ASGI app: routes, the one error handler, the worker lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from corral.api.console import console_routes
from corral.api.emulator import EmulatorLayer
from corral.api.http import BodyLimit, error_response
from corral.api.routes import build_routes
from corral.emulator.service import Emulator
from corral.errors import CorralError, InternalError, InvalidRequestMethod, InvalidUrlPattern
from corral.services import Corral


async def _http_error(_: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    err: CorralError
    if status == 404:
        err = InvalidUrlPattern()
    elif status == 405:
        err = InvalidRequestMethod()
    else:
        err = InternalError()
    return error_response(err)


def create_app(corral: Corral, emulator: Emulator | None = None, **kwargs: Any) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        worker = corral.worker() if corral.settings.run_worker else None
        if worker is not None:
            if emulator is not None:
                emulator.attach_worker(worker)
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    # Outermost of ours: an oversized body is refused before routing and auth. In emulator
    # mode, faults, credits and the journal come next (api/emulator.py). The admin console
    # (HTML at /console) sits beside the Zoho API's URL table.
    middleware = [Middleware(BodyLimit, limit=corral.settings.max_body)]
    if emulator is not None:
        middleware.append(Middleware(EmulatorLayer, emulator=emulator))
    app = Starlette(routes=[*console_routes(corral, emulator), *build_routes(corral, emulator)],
                    lifespan=lifespan, middleware=middleware,
                    exception_handlers={HTTPException: _http_error, 404: _http_error,
                                        405: _http_error, 500: _http_error}, **kwargs)
    # `/crm/v2/Leads/` is not a Zoho URL: answer INVALID_URL_PATTERN, not a 307 redirect.
    app.router.redirect_slashes = False
    return app

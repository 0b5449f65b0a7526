"""The console's web plumbing: sessions in a cookie, CSRF, security headers, HTML rendering.

A session is a server-side row (AuthService.open_console_session); the cookie holds only its
random id (HttpOnly, SameSite=Strict, Path=/console). The CSRF token of a session is an HMAC of
the session id under a key kept in the database, so it needs no storage and means nothing
outside that session; before sign-in the forms use a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from corral.auth.service import Principal
from corral.errors import CorralError
from corral.services import Corral

log = logging.getLogger("corral.console")

SESSION_COOKIE = "corral_console"
PRE_COOKIE = "corral_console_pre"  # double-submit CSRF token of the sign-in forms
STATE_COOKIE = "corral_console_oauth"  # OAuth `state` of a sign-in in progress
SESSION_TTL = 8 * 3600
STATIC_DIR = Path(__file__).parent / "static"

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

templates = Environment(loader=PackageLoader("corral.api.console", "templates"),
                        autoescape=select_autoescape(default=True, default_for_string=True))


class Redirect(Exception):
    """Raised by a page to send the browser elsewhere (303)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


@dataclass
class Page:
    """What a console handler sees of the request."""

    corral: Corral
    method: str
    path_params: dict[str, str]
    query: dict[str, str]
    form: dict[str, str]
    cookies: dict[str, str]
    base_url: str
    request_id: str
    principal: Principal | None = None
    csrf: str = ""
    emulator: Any = None  # the Emulator with `corral serve --emulator` (the panel), else None
    set_cookies: list[tuple[str, str, int, str]] = field(default_factory=list)

    @property
    def user(self) -> Principal:
        assert self.principal is not None
        return self.principal

    def render(self, name: str, status: int = 200, **values: Any) -> Response:
        html = templates.get_template(name).render(
            principal=self.principal, csrf=self.csrf, page=self, **values)
        return HTMLResponse(html, status_code=status)

    def cookie(self, name: str, value: str, max_age: int, same_site: str = "strict") -> None:
        self.set_cookies.append((name, value, max_age, same_site))


def csrf_for(corral: Corral, session: str) -> str:
    key = corral.query.page_secret()
    return hmac.new(key, b"console-csrf:" + session.encode(), hashlib.sha256).hexdigest()


def _csrf_ok(page: Page, session: str | None) -> bool:
    given = page.form.get("csrf_token", "")
    if session:
        return hmac.compare_digest(given, csrf_for(page.corral, session))
    pre = page.cookies.get(PRE_COOKIE, "")
    return bool(pre) and hmac.compare_digest(given, pre)


def _error_page(page: Page, err: CorralError) -> Response:
    if err.code in {"AUTHENTICATION_FAILURE", "INVALID_TOKEN"}:
        return RedirectResponse("/console/login", status_code=303)
    return page.render("error.html", status=err.http_status, error=err)


def _finish(page: Page, response: Response) -> Response:
    for name, value, max_age, same_site in page.set_cookies:
        if max_age <= 0:
            response.delete_cookie(name, path="/console", httponly=True,
                                   samesite=same_site)  # type: ignore[arg-type]
        else:
            response.set_cookie(name, value, max_age=max_age, path="/console", httponly=True,
                                samesite=same_site,  # type: ignore[arg-type]
                                secure=page.base_url.startswith("https://"))
    response.headers.update(SECURITY_HEADERS)
    return response


def _run(handler: Callable[[Page], Response], page: Page, public: bool) -> Response:
    session = page.cookies.get(SESSION_COOKIE)
    try:
        if not public:
            page.principal = page.corral.auth.console_principal(session)
            page.corral.registry.refresh()  # another server process may have changed it
            page.csrf = csrf_for(page.corral, session or "")
        elif not page.cookies.get(PRE_COOKIE):
            page.csrf = secrets.token_hex(16)
            page.cookie(PRE_COOKIE, page.csrf, 3600)
        else:
            page.csrf = page.cookies[PRE_COOKIE]
        if page.method == "POST" and not _csrf_ok(page, None if public else session):
            return page.render("error.html", status=403, error=None,
                               message="The form expired or did not come from this console "
                                       "(CSRF check failed). Reload the page and try again.")
        return handler(page)
    except Redirect as r:
        return RedirectResponse(r.url, status_code=303)
    except CorralError as err:
        return _error_page(page, err)
    except Exception:
        log.exception("console error in request %s", page.request_id)
        return page.render("error.html", status=500, error=None,
                           message=f"Something went wrong (request {page.request_id}).")


def handler(fn: Callable[[Page], Response], corral: Corral, *, public: bool = False,
            emulator: Any = None) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint running `fn` in the thread pool with the session checked (unless
    `public`), CSRF checked on POST, errors rendered as pages and security headers set."""

    async def run(request: Request) -> Response:
        form: dict[str, str] = {}
        if request.method == "POST":
            async with request.form() as data:
                form = {k: v for k, v in data.items() if isinstance(v, str)}
        base = corral.settings.public_url or f"{request.url.scheme}://{request.url.netloc}"
        page = Page(corral=corral, method=request.method,
                    path_params={k: str(v) for k, v in request.path_params.items()},
                    query=dict(request.query_params), form=form, cookies=dict(request.cookies),
                    base_url=base.rstrip("/"), request_id=uuid.uuid4().hex, emulator=emulator)
        response = await run_in_threadpool(_run, fn, page, public)
        return _finish(page, response)

    return run

"""Zoho Accounts' part, served on Corral's own port: authorize, token, revoke.

Accounts answers `{"error": code}` rather than the CRM's `{code, details, message, status}`.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, json_response
from corral.auth.service import OAuthError

# Corral has one data centre; Zoho's authorize redirect names the user's (`location=us`).
LOCATION = "us"


def _form(call: Call) -> dict[str, str] | None:
    """The request's parameters; None when one holds NUL (no client id, code or token does,
    and PostgreSQL cannot even compare such text)."""
    form = call.form()
    if any("\x00" in key or "\x00" in value for key, value in form.items()):
        return None
    return form


def oauth_token(call: Call) -> Response:
    form = _form(call)
    if form is None:
        return json_response({"error": "invalid_request"}, 200)
    try:
        values = call.corral.auth.token_endpoint(form)
    except OAuthError as exc:
        # Zoho Accounts answers errors with HTTP 200 and an `error` key (facts §8.1).
        return json_response({"error": exc.error}, 200)
    return json_response(envelopes.oauth_token_json(values, call.base_url))


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def authorize(call: Call) -> Response:
    """GET /oauth/v2/auth: no login and no consent page (see AuthService.authorize); the
    browser goes straight back to `redirect_uri?state=&code=&location=&accounts-server=`."""
    form = _form(call)
    if form is None:
        return json_response({"error": "invalid_request"}, 400)
    try:
        result = call.corral.auth.authorize(form)
    except OAuthError as exc:
        # Zoho shows an error page here; the redirect URI is not trusted, so no redirect.
        return json_response({"error": exc.error}, 400)
    params = {"state": form["state"]} if "state" in form else {}
    if result.error is not None:
        params["error"] = result.error
    else:
        params.update({"code": result.code or "", "location": LOCATION,
                       "accounts-server": call.base_url})
    return Response(status_code=302,
                    headers={"Location": _with_query(result.redirect_uri, params)})


def revoke(call: Call) -> Response:
    """POST /oauth/v2/token/revoke?token=: `{"status": "success"}`; an unknown token is
    refused with HTTP 400, as Zoho Accounts documents."""
    form = _form(call)
    try:
        call.corral.auth.revoke((form or {}).get("token") or "")
    except OAuthError as exc:
        return json_response({"error": exc.error}, 400)
    return json_response({"status": "success"})

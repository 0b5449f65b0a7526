"""A client connects to a real `corral serve` the way Zoho clients do, over real sockets.

The OAuth client comes from `corral client create`; the browser step (`/oauth/v2/auth`) is a
plain GET whose redirect is read, not followed; after the token exchange the client knows
nothing but the `api_domain` it was given, and reaches `/crm/v8/Leads` through it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.e2e.helpers import Server, run_corral

pytestmark = pytest.mark.e2e

REDIRECT = "http://127.0.0.1:9/callback"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _call(url: str, *, data: dict[str, str] | None = None, json_body: Any = None,
          token: str | None = None, method: str | None = None) -> tuple[int, Any, Any]:
    body = None
    headers = {} if token is None else {"Authorization": f"Zoho-oauthtoken {token}"}
    if data is not None:
        body = urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif json_body is not None:
        body = json.dumps(json_body).encode()
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=30) as resp:
            status, raw, hdrs = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as exc:
        status, raw, hdrs = exc.code, exc.read(), exc.headers
        exc.close()
    return status, (json.loads(raw) if raw else None), hdrs


def test_authorization_code_flow_against_a_real_server(e2e_database_url: str,
                                                       tmp_path: Path) -> None:
    server = Server(e2e_database_url, tmp_path)
    try:
        server.start()
        made = run_corral("client", "create", "--database-url", e2e_database_url,
                          "--name", "Connector", "--redirect-uri", REDIRECT)
        assert made.returncode == 0, made.stderr
        creds = dict(line.split("=", 1) for line in made.stdout.split())
        client_id, secret = creds["client_id"], creds["client_secret"]

        status, _, headers = _call(f"{server.base_url}/oauth/v2/auth?" + urlencode({
            "client_id": client_id, "redirect_uri": REDIRECT, "response_type": "code",
            "scope": "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL", "access_type": "offline",
            "state": "e2e"}))
        assert status == 302, server.output()
        location = urlsplit(headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
        back = {k: v[0] for k, v in parse_qs(location.query).items()}
        assert back["state"] == "e2e" and back["accounts-server"] == server.base_url

        status, tokens, _ = _call(f"{back['accounts-server']}/oauth/v2/token", data={
            "grant_type": "authorization_code", "client_id": client_id,
            "client_secret": secret, "redirect_uri": REDIRECT, "code": back["code"]})
        assert status == 200 and "access_token" in tokens, tokens
        api_domain, token = tokens["api_domain"], tokens["access_token"]
        assert api_domain == server.base_url

        status, body, _ = _call(f"{api_domain}/crm/v8/Leads", token=token, method="POST",
                                json_body={"data": [{"Last_Name": "Daly"}]})
        assert status == 201, body
        status, body, _ = _call(f"{api_domain}/crm/v8/Leads?fields=Last_Name", token=token)
        assert status == 200, body
        assert [r["Last_Name"] for r in body["data"]] == ["Daly"]
    finally:
        server.stop()


def test_public_url_is_the_api_domain(e2e_database_url: str, tmp_path: Path) -> None:
    server = Server(e2e_database_url, tmp_path,
                    extra_args=("--public-url", "https://www.zohoapis.com"))
    try:
        server.start()
        made = run_corral("client", "create", "--database-url", e2e_database_url)
        creds = dict(line.split("=", 1) for line in made.stdout.split())
        status, tokens, _ = _call(f"{server.base_url}/oauth/v2/token", data={
            "grant_type": "client_credentials", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"], "scope": "ZohoCRM.modules.ALL"})
        assert status == 200 and tokens["api_domain"] == "https://www.zohoapis.com", tokens
    finally:
        server.stop()

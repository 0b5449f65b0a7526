"""Connecting as Zoho clients do: the authorization-code flow through `/oauth/v2/auth`, the
token endpoint's `api_domain` (Corral's own base URL), revoking tokens, and the form shapes the
official SDKs post (urlencoded, and multipart from the Node.js SDK)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from corral.app import create_app
from corral.config import Settings
from corral.services import Corral
from tests.conftest import Api

REDIRECT = "https://app.example.com/callback"
SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.users.READ"


def _authorize(client: TestClient, **params: str) -> Any:
    return client.get("/oauth/v2/auth", params=params, follow_redirects=False)


def _redirected(r: Any) -> tuple[str, dict[str, str]]:
    assert r.status_code == 302, r.text
    parts = urlsplit(r.headers["location"])
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return f"{parts.scheme}://{parts.netloc}{parts.path}", query


def _code(client: TestClient, client_id: str, **extra: str) -> dict[str, str]:
    r = _authorize(client, client_id=client_id, redirect_uri=REDIRECT, scope=SCOPES,
                   response_type="code", **extra)
    target, query = _redirected(r)
    assert target == REDIRECT
    return query


@pytest.fixture
def oauth_client(corral: Corral) -> tuple[str, str]:
    return corral.auth.create_client("Connector", REDIRECT)


def test_authorization_code_flow_then_only_the_api_domain(
        corral: Corral, client: TestClient, oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    query = _code(client, client_id, access_type="offline", state="xyz-1",
                  prompt="consent")
    assert query["state"] == "xyz-1"
    assert query["location"] == "us"
    accounts = query["accounts-server"]
    assert accounts == "http://testserver"
    # The client goes on from the accounts server the redirect named...
    tokens = client.post(f"{accounts}/oauth/v2/token", data={
        "grant_type": "authorization_code", "client_id": client_id, "client_secret": secret,
        "redirect_uri": REDIRECT, "code": query["code"]}).json()
    assert {"access_token", "refresh_token", "api_domain", "expires_in"} <= set(tokens)
    # ... and builds every API URL from api_domain alone.
    api_domain = tokens["api_domain"]
    assert api_domain == "http://testserver"
    headers = {"Authorization": f"Zoho-oauthtoken {tokens['access_token']}"}
    r = client.post(f"{api_domain}/crm/v8/Leads", headers=headers,
                    json={"data": [{"Last_Name": "Daly", "Company": "Zylker"}]})
    assert r.status_code == 201, r.text
    r = client.get(f"{api_domain}/crm/v8/Leads", headers=headers,
                   params={"fields": "Last_Name,Company"})
    assert r.status_code == 200, r.text
    assert [d["Last_Name"] for d in r.json()["data"]] == ["Daly"]
    # The grant was for the client's owner: the admin who created it.
    (me,) = client.get(f"{api_domain}/crm/v8/users", headers=headers,
                       params={"type": "CurrentUser"}).json()["users"]
    assert me["email"] == "admin@corral.local"
    # The refresh token works at the same place.
    again = client.post(f"{accounts}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": client_id, "client_secret": secret,
        "refresh_token": tokens["refresh_token"]}).json()
    assert again["api_domain"] == api_domain and "access_token" in again


def test_api_domain_follows_the_host_and_scheme_clients_used(
        corral: Corral, oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    app = create_app(corral)
    form = {"grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, "scope": "ZohoCRM.modules.ALL"}
    with TestClient(app, base_url="https://crm.example.test:8443") as tls:
        assert tls.post("/oauth/v2/token", data=form).json()["api_domain"] == \
            "https://crm.example.test:8443"
        query = _code(tls, client_id)
        assert query["accounts-server"] == "https://crm.example.test:8443"


def test_configured_public_url_wins(corral: Corral, oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    configured = Corral.open(Settings(database_url=corral.settings.database_url,
                                      run_worker=False,
                                      public_url="https://www.zohoapis.com/"),
                             prepare=False)
    try:
        with TestClient(create_app(configured)) as c:
            body = c.post("/oauth/v2/token", data={
                "grant_type": "client_credentials", "client_id": client_id,
                "client_secret": secret, "scope": "ZohoCRM.modules.ALL"}).json()
            assert body["api_domain"] == "https://www.zohoapis.com"
            assert _code(c, client_id)["accounts-server"] == "https://www.zohoapis.com"
    finally:
        configured.close()


def test_public_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_PUBLIC_URL", "https://corral.example.test/")
    assert Settings.from_env().public_url == "https://corral.example.test"
    assert Settings.from_env(public_url="http://x:1").public_url == "http://x:1"
    monkeypatch.delenv("CORRAL_PUBLIC_URL")
    assert Settings.from_env().public_url is None


def test_online_access_gives_no_refresh_token(client: TestClient,
                                              oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    for extra in ({}, {"access_type": "online"}):  # Zoho: online unless told offline
        query = _code(client, client_id, **extra)
        body = client.post("/oauth/v2/token", data={
            "grant_type": "authorization_code", "client_id": client_id,
            "client_secret": secret, "code": query["code"]}).json()
        assert "access_token" in body and "refresh_token" not in body
        assert client.get("/crm/v8/Leads/actions/count", headers={
            "Authorization": f"Zoho-oauthtoken {body['access_token']}"}).status_code == 200


def test_codes_are_single_use_and_bound_to_client_and_redirect(
        corral: Corral, client: TestClient, oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    other_id, other_secret = corral.auth.create_client("Other", REDIRECT)
    code = _code(client, client_id)["code"]
    form = {"grant_type": "authorization_code", "client_id": client_id,
            "client_secret": secret, "code": code}
    assert client.post("/oauth/v2/token", data={
        **form, "client_id": other_id, "client_secret": other_secret}).json() == {
        "error": "invalid_code"}
    assert client.post("/oauth/v2/token", data={
        **form, "redirect_uri": "https://elsewhere.example.com/cb"}).json() == {
        "error": "invalid_redirect_uri"}
    assert "access_token" in client.post("/oauth/v2/token", data=form).json()
    assert client.post("/oauth/v2/token", data=form).json() == {"error": "invalid_code"}


def test_codes_expire_after_two_minutes(corral: Corral, client: TestClient,
                                        oauth_client: tuple[str, str]) -> None:
    from datetime import timedelta

    client_id, secret = oauth_client
    code = _code(client, client_id)["code"]
    real = corral.auth._clock
    corral.auth._clock = lambda: real() + timedelta(seconds=121)
    try:
        assert client.post("/oauth/v2/token", data={
            "grant_type": "authorization_code", "client_id": client_id,
            "client_secret": secret, "code": code}).json() == {"error": "invalid_code"}
    finally:
        corral.auth._clock = real


@pytest.mark.parametrize(("params", "error"), [
    ({"client_id": "1000.NOPE"}, "invalid_client"),
    ({}, "invalid_client"),
    ({"redirect_uri": "https://evil.example.com/cb"}, "invalid_redirect_uri"),
    ({"redirect_uri": "javascript:alert(1)"}, "invalid_redirect_uri"),
    ({"client_id": "x\x00"}, "invalid_request"),
])
def test_bad_client_or_redirect_is_an_error_and_no_redirect(
        client: TestClient, oauth_client: tuple[str, str], params: dict[str, str],
        error: str) -> None:
    client_id, _ = oauth_client
    query = {"client_id": client_id, "redirect_uri": REDIRECT, "scope": SCOPES,
             "response_type": "code", "state": "s"}
    query.update(params)
    if not params:
        del query["client_id"]
    r = _authorize(client, **query)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": error}
    assert "location" not in r.headers


@pytest.mark.parametrize(("params", "error"), [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": ""}, "unsupported_response_type"),
    ({"scope": ""}, "invalid_scope"),
    ({"scope": "nonsense"}, "invalid_scope"),
])
def test_other_failures_go_back_to_the_client(client: TestClient,
                                              oauth_client: tuple[str, str],
                                              params: dict[str, str], error: str) -> None:
    client_id, _ = oauth_client
    query = {"client_id": client_id, "redirect_uri": REDIRECT, "scope": SCOPES,
             "response_type": "code", "state": "s-2", **params}
    target, back = _redirected(_authorize(client, **query))
    assert target == REDIRECT
    assert back == {"state": "s-2", "error": error}


def test_a_client_without_registered_redirect_takes_the_given_one(
        corral: Corral, client: TestClient) -> None:
    client_id, secret = corral.auth.create_client("Self client")
    r = _authorize(client, client_id=client_id, redirect_uri="http://localhost:9/cb?x=1",
                   scope=SCOPES, response_type="code")
    target, query = _redirected(r)
    assert target == "http://localhost:9/cb" and query["x"] == "1"
    # The code is bound to the redirect URI it was issued for.
    form = {"grant_type": "authorization_code", "client_id": client_id,
            "client_secret": secret, "code": query["code"]}
    assert client.post("/oauth/v2/token", data={**form, "redirect_uri": REDIRECT}).json() == {
        "error": "invalid_redirect_uri"}
    assert "access_token" in client.post("/oauth/v2/token", data=form).json()
    # Without a redirect URI there is nowhere to send the browser.
    r = _authorize(client, client_id=client_id, scope=SCOPES, response_type="code")
    assert (r.status_code, r.json()) == (400, {"error": "invalid_redirect_uri"})


def test_a_client_of_a_deactivated_owner_is_denied(corral: Corral, client: TestClient,
                                                   api: Api) -> None:
    owner = corral.auth.create_user("sam@zylker.com", "Smith")
    client_id, _ = corral.auth.create_client("Sam's", REDIRECT, "sam@zylker.com")
    r = api.put(f"users/{owner.id}", json={"users": [{"status": "inactive"}]})
    assert r.status_code == 200, r.text
    _, query = _redirected(_authorize(client, client_id=client_id, redirect_uri=REDIRECT,
                                      scope=SCOPES, response_type="code"))
    assert query == {"error": "access_denied"}


# ----------------------------------------------------------------------------- revoke
def _exchange(client: TestClient, client_id: str, secret: str) -> dict[str, Any]:
    code = _code(client, client_id, access_type="offline")["code"]
    body: dict[str, Any] = client.post("/oauth/v2/token", data={
        "grant_type": "authorization_code", "client_id": client_id, "client_secret": secret,
        "code": code}).json()
    return body


def test_revoking_a_refresh_token_ends_its_access_tokens(
        client: TestClient, oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    first = _exchange(client, client_id, secret)
    kept = _exchange(client, client_id, secret)
    refreshed = client.post("/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": client_id, "client_secret": secret,
        "refresh_token": first["refresh_token"]}).json()

    def works(token: str) -> bool:
        return client.get("/crm/v8/Leads/actions/count", headers={
            "Authorization": f"Zoho-oauthtoken {token}"}).status_code == 200

    assert works(first["access_token"]) and works(refreshed["access_token"])
    # As the SDKs do: POST {accounts_url}/revoke with the token in the form.
    r = client.post("/oauth/v2/token/revoke", data={"token": first["refresh_token"]})
    assert (r.status_code, r.json()) == (200, {"status": "success"})
    assert not works(first["access_token"]) and not works(refreshed["access_token"])
    assert client.post("/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": client_id, "client_secret": secret,
        "refresh_token": first["refresh_token"]}).json() == {"error": "invalid_code"}
    assert works(kept["access_token"])
    # Zoho documents the token as a query parameter; an access token can be revoked too.
    r = client.post("/oauth/v2/token/revoke", params={"token": kept["access_token"]})
    assert r.json() == {"status": "success"}
    assert not works(kept["access_token"])
    # Unknown or already revoked: HTTP 400.
    for token in (first["refresh_token"], "1000.nope.nope", ""):
        r = client.post("/oauth/v2/token/revoke", params={"token": token})
        assert (r.status_code, r.json()) == (400, {"error": "invalid_token"})


# ----------------------------------------------------------------------------- form shapes
def test_multipart_token_request_of_the_nodejs_sdk(client: TestClient,
                                                   oauth_client: tuple[str, str]) -> None:
    """The Node.js SDK posts a `form-data` FormData to the accounts URL."""
    client_id, secret = oauth_client
    code = _code(client, client_id, access_type="offline")["code"]
    boundary = "--------------------------515890814546601021194782"
    fields = {"client_id": client_id, "client_secret": secret,
              "redirect_uri": REDIRECT, "grant_type": "authorization_code", "code": code}
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n"
                   f"{v}\r\n" for k, v in fields.items()) + f"--{boundary}--\r\n"
    r = client.post("/oauth/v2/token", content=body.encode(), headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    tokens = r.json()
    assert {"access_token", "refresh_token", "api_domain"} <= set(tokens), tokens
    # And the refresh, the same way.
    fields = {"client_id": client_id, "client_secret": secret,
              "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n"
                   f"{v}\r\n" for k, v in fields.items()) + f"--{boundary}--\r\n"
    r = client.post("/oauth/v2/token", content=body.encode(), headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert "access_token" in r.json()


@pytest.mark.parametrize("content", [b"", b"garbage", b"--x\r\n\r\n", b"\xff\xfe\x00"])
def test_malformed_multipart_is_no_form(client: TestClient, content: bytes) -> None:
    for ctype in ("multipart/form-data; boundary=x", "multipart/form-data"):
        r = client.post("/oauth/v2/token", content=content, headers={"Content-Type": ctype})
        assert (r.status_code, r.json()) == (200, {"error": "invalid_client"})


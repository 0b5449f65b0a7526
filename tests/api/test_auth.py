"""Authentication, scopes, profile permissions and the OAuth token endpoint, over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from corral.auth.tokens import hash_token
from corral.services import Corral
from corral.storage import tables as t
from tests.conftest import Api, make_token

AUTH_FAILED = {"code": "AUTHENTICATION_FAILURE", "details": {},
               "message": "Authentication failed", "status": "error"}
INVALID_TOKEN = {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token",
                 "status": "error"}
SCOPE_MISMATCH = {"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": "Unauthorized",
                  "status": "error"}


def _json_error(r: Any, status: int, body: dict[str, Any]) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == body


# ----------------------------------------------------------------------------- the header
def test_no_authorization_header_is_authentication_failure(api: Api) -> None:
    r = api.client.get("/crm/v2/Leads")
    _json_error(r, 401, AUTH_FAILED)
    r = api.client.post("/crm/v2/Leads", json={"data": [{"Last_Name": "x"}]})
    _json_error(r, 401, AUTH_FAILED)
    assert api.get("Leads/actions/count").json() == {"count": 0}


def test_empty_authorization_header_is_authentication_failure(api: Api) -> None:
    _json_error(api.client.get("/crm/v2/Leads", headers={"Authorization": ""}), 401, AUTH_FAILED)


@pytest.mark.parametrize("header", [
    "Zoho-oauthtoken 1000.garbage.garbage",
    "Zoho-oauthtoken ",
    "Zoho-oauthtoken",
    "garbage",
    "Basic dXNlcjpwYXNz",
])
def test_unknown_or_malformed_token_is_invalid_token(api: Api, header: str) -> None:
    _json_error(api.client.get("/crm/v2/Leads", headers={"Authorization": header}), 401,
                INVALID_TOKEN)


def test_bearer_prefix_and_any_case_of_the_prefix_are_accepted(api: Api) -> None:
    for prefix in ("Zoho-oauthtoken", "zoho-oauthtoken", "Bearer"):
        r = api.client.get("/crm/v2/Leads/actions/count",
                           headers={"Authorization": f"{prefix} {api.token}"})
        assert r.status_code == 200, (prefix, r.text)


def test_expired_token_is_invalid_token(corral: Corral, api: Api) -> None:
    expired = make_token(corral, expires_in=-1)
    _json_error(api.get("Leads", token=expired), 401, INVALID_TOKEN)


def test_token_expiring_after_use_stops_working(corral: Corral, api: Api) -> None:
    token = make_token(corral)
    assert api.get("Leads/actions/count", token=token).status_code == 200
    with corral.db.write() as conn:
        conn.execute(sa.update(t.oauth_tokens)
                     .where(t.oauth_tokens.c.token_hash == hash_token(token))
                     .values(expires_time=corral.clock() - timedelta(seconds=1)))
    _json_error(api.get("Leads/actions/count", token=token), 401, INVALID_TOKEN)


def test_zero_lifetime_token_is_already_expired(corral: Corral, api: Api) -> None:
    token = make_token(corral, expires_in=0)
    _json_error(api.get("Leads", token=token), 401, INVALID_TOKEN)


def test_token_of_a_deactivated_user_is_invalid(corral: Corral, api: Api) -> None:
    corral.auth.create_user("gone@zylker.com", "Gone")
    token = make_token(corral, email="gone@zylker.com")
    assert api.get("Leads/actions/count", token=token).status_code == 200
    with corral.db.write() as conn:
        conn.execute(sa.update(t.users).where(t.users.c.email == "gone@zylker.com")
                     .values(status="disabled"))
    _json_error(api.get("Leads/actions/count", token=token), 401, INVALID_TOKEN)


def test_tokens_are_stored_only_as_hashes(corral: Corral, api: Api) -> None:
    client_id, secret = corral.auth.create_client()
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL")
    issued = api.client.post("/oauth/v2/token", data={
        "grant_type": "authorization_code", "client_id": client_id, "client_secret": secret,
        "code": code}).json()
    secrets_ = [api.token, code, secret, issued["access_token"], issued["refresh_token"]]
    with corral.db.read() as conn:
        stored = [str(v) for table in (t.oauth_tokens, t.oauth_clients)
                  for row in conn.execute(sa.select(table)) for v in row]
    dump = "\n".join(stored)
    for s in secrets_:
        assert s not in dump
    assert hash_token(api.token) in dump


# ----------------------------------------------------------------------------- scopes
def test_scope_of_another_module_is_scope_mismatch(corral: Corral, api: Api) -> None:
    token = make_token(corral, ["ZohoCRM.modules.contacts.ALL"])
    _json_error(api.get("Leads", token=token), 401, SCOPE_MISMATCH)
    _json_error(api.post("Leads", token=token, json={"data": [{"Last_Name": "x"}]}), 401,
                SCOPE_MISMATCH)
    assert api.post("Contacts", token=token,
                    json={"data": [{"Last_Name": "x"}]}).status_code == 201
    assert api.get("Leads/actions/count").json() == {"count": 0}


def test_read_scope_can_read_but_not_write(corral: Corral, api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    token = make_token(corral, ["ZohoCRM.modules.leads.READ"])
    assert api.get(f"Leads/{rid}", token=token).status_code == 200
    assert api.get("Leads", token=token).status_code == 200
    assert api.get("Leads/search", token=token,
                   params={"criteria": "(Last_Name:equals:Daly)"}).status_code == 200
    _json_error(api.post("Leads", token=token, json={"data": [{"Last_Name": "x"}]}), 401,
                SCOPE_MISMATCH)
    _json_error(api.put(f"Leads/{rid}", token=token, json={"data": [{"Last_Name": "y"}]}), 401,
                SCOPE_MISMATCH)
    _json_error(api.delete(f"Leads/{rid}", token=token), 401, SCOPE_MISMATCH)
    _json_error(api.post("Leads/upsert", token=token, json={"data": [{"Last_Name": "x"}]}),
                401, SCOPE_MISMATCH)
    assert api.get(f"Leads/{rid}").json()["data"][0]["Last_Name"] == "Daly"


def test_write_scope_can_write_but_not_read(corral: Corral, api: Api) -> None:
    token = make_token(corral, ["ZohoCRM.modules.leads.WRITE"])
    r = api.post("Leads", token=token, json={"data": [{"Last_Name": "Daly"}]})
    assert r.status_code == 201
    rid = r.json()["data"][0]["details"]["id"]
    assert api.put(f"Leads/{rid}", token=token,
                   json={"data": [{"Last_Name": "Dalton"}]}).status_code == 200
    _json_error(api.get(f"Leads/{rid}", token=token), 401, SCOPE_MISMATCH)
    assert api.delete(f"Leads/{rid}", token=token).status_code == 200


def test_create_only_scope_cannot_update_or_delete(corral: Corral, api: Api) -> None:
    token = make_token(corral, ["ZohoCRM.modules.leads.CREATE"])
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    assert api.post("Leads", token=token, json={"data": [{"Last_Name": "x"}]}).status_code == 201
    _json_error(api.put(f"Leads/{rid}", token=token, json={"data": [{"Last_Name": "y"}]}), 401,
                SCOPE_MISMATCH)
    _json_error(api.delete("Leads", token=token, params={"ids": rid}), 401, SCOPE_MISMATCH)


def test_module_scope_does_not_open_settings_users_or_org(corral: Corral, api: Api) -> None:
    token = make_token(corral, ["ZohoCRM.modules.ALL"])
    for path, params in (("settings/fields", {"module": "Leads"}), ("settings/modules", None),
                         ("settings/layouts", {"module": "Leads"}),
                         ("settings/custom_views", {"module": "Leads"}), ("users", None),
                         ("org", None)):
        _json_error(api.get(path, token=token, params=params), 401, SCOPE_MISMATCH)


def test_narrow_settings_scopes(corral: Corral, api: Api) -> None:
    token = make_token(corral, ["ZohoCRM.settings.fields.READ"])
    assert api.get("settings/fields", token=token, params={"module": "Leads"}).status_code == 200
    _json_error(api.get("settings/modules", token=token), 401, SCOPE_MISMATCH)
    _json_error(api.post("settings/fields", token=token, params={"module": "Leads"},
                         json={"fields": [{"field_label": "X", "data_type": "text"}]}),
                401, SCOPE_MISMATCH)
    assert api.get("settings/modules", token=make_token(
        corral, ["ZohoCRM.settings.modules.READ"])).status_code == 200


def test_users_and_org_scopes(corral: Corral, api: Api) -> None:
    token = make_token(corral, ["ZohoCRM.users.READ", "ZohoCRM.org.READ"])
    assert api.get("users", token=token).status_code == 200
    assert api.get("org", token=token).status_code == 200
    only_users = make_token(corral, ["ZohoCRM.users.ALL"])
    _json_error(api.get("org", token=only_users), 401, SCOPE_MISMATCH)


# ----------------------------------------------------------------------------- profile permissions
def _restricted_user(corral: Corral, permissions: dict[str, Any],
                     email: str = "std@zylker.com") -> str:
    user = corral.auth.create_user(email, "Standard", first_name="Sam")
    with corral.db.write() as conn:
        conn.execute(sa.update(t.profiles).where(t.profiles.c.id == user.profile_id)
                     .values(permissions=permissions))
    return make_token(corral, email=email)


def test_view_only_profile_cannot_add_update_or_delete(corral: Corral, api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    token = _restricted_user(corral, {"admin": False, "modules": {"*": ["view"]},
                                      "read_only_fields": {}})
    assert api.get(f"Leads/{rid}", token=token).status_code == 200
    r = api.post("Leads", token=token, json={"data": [{"Last_Name": "x"}]})
    assert r.status_code == 403
    assert r.json() == {"code": "NO_PERMISSION", "status": "error",
                        "message": "Permission denied to add records",
                        "details": {"permissions": ["Crm_Implied_Create_Leads"]}}
    r = api.put(f"Leads/{rid}", token=token, json={"data": [{"Last_Name": "y"}]})
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (
        403, "NO_PERMISSION", "Permission denied to update")
    r = api.delete(f"Leads/{rid}", token=token)
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (
        403, "NO_PERMISSION", "Permission denied to delete")
    r = api.delete("Leads", token=token, params={"ids": rid})
    assert (r.status_code, r.json()["message"]) == (403, "Permission denied to delete")
    r = api.post("Leads/upsert", token=token, json={"data": [{"Last_Name": "x"}]})
    assert (r.status_code, r.json()["message"]) == (403, "Permission denied to upsert")
    got = api.get(f"Leads/{rid}").json()["data"][0]
    assert got["Last_Name"] == "Daly"
    assert api.get("Leads/actions/count").json() == {"count": 1}


def test_module_specific_permissions_override_the_wildcard(corral: Corral, api: Api) -> None:
    token = _restricted_user(corral, {"admin": False,
                                      "modules": {"*": ["view", "create", "edit", "delete"],
                                                  "Leads": []},
                                      "read_only_fields": {}})
    r = api.get("Leads", token=token)
    assert (r.status_code, r.json()["code"]) == (403, "NO_PERMISSION")
    assert r.json()["details"] == {"permissions": ["Crm_Implied_View_Leads"]}
    assert api.post("Contacts", token=token,
                    json={"data": [{"Last_Name": "x"}]}).status_code == 201


def test_read_only_field_cannot_be_written(corral: Corral, api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly", "Company": "Zylker"})
    token = _restricted_user(corral, {"admin": False,
                                      "modules": {"*": ["view", "create", "edit", "delete"]},
                                      "read_only_fields": {"Leads": ["Company"]}})
    for r in (api.post("Leads", token=token,
                       json={"data": [{"Last_Name": "x", "Company": "Zoho"}]}),
              api.put(f"Leads/{rid}", token=token, json={"data": [{"Company": "Zoho"}]}),
              api.put("Leads", token=token, json={"data": [{"id": rid, "Company": "Zoho"}]}),
              api.post("Leads/upsert", token=token,
                       json={"data": [{"Last_Name": "x", "Company": "Zoho"}]})):
        assert r.status_code == 403, r.text
        body = r.json()
        assert (body["code"], body["message"]) == ("NO_PERMISSION",
                                                   "Field Edit Permission not given")
    # Other fields stay writable, and the read-only one stays readable.
    assert api.put(f"Leads/{rid}", token=token,
                   json={"data": [{"Last_Name": "Dalton"}]}).status_code == 200
    got = api.get(f"Leads/{rid}", token=token).json()["data"][0]
    assert (got["Last_Name"], got["Company"]) == ("Dalton", "Zylker")
    assert api.get("Leads/actions/count").json() == {"count": 1}


def test_non_admin_cannot_change_metadata(corral: Corral, api: Api) -> None:
    token = _restricted_user(corral, {"admin": False,
                                      "modules": {"*": ["view", "create", "edit", "delete"]},
                                      "read_only_fields": {}})
    r = api.post("settings/fields", token=token, params={"module": "Leads"},
                 json={"fields": [{"field_label": "Customer Code", "data_type": "text"}]})
    assert (r.status_code, r.json()["code"], r.json()["status"]) == (403, "NO_PERMISSION",
                                                                    "error")
    r = api.post("settings/modules", token=token,
                 json={"modules": [{"singular_label": "Vehicle", "plural_label": "Vehicles"}]})
    assert (r.status_code, r.json()["code"]) == (403, "NO_PERMISSION")
    email_id = next(f["id"] for f in api.get("settings/fields", params={"module": "Leads"})
                    .json()["fields"] if f["api_name"] == "Company")
    r = api.patch(f"settings/fields/{email_id}", token=token, params={"module": "Leads"},
                  json={"fields": [{"unique": True}]})
    assert (r.status_code, r.json()["code"]) == (403, "NO_PERMISSION")
    fields = api.get("settings/fields", params={"module": "Leads"}).json()["fields"]
    assert "Customer_Code" not in {f["api_name"] for f in fields}
    assert next(f for f in fields if f["api_name"] == "Company")["unique"] == {}
    assert api.get("settings/modules/Vehicles").status_code == 400
    # Reading metadata needs no admin rights.
    assert api.get("settings/fields", token=token, params={"module": "Leads"}).status_code == 200


# ----------------------------------------------------------------------------- token endpoint
def _token(api: Api, **form: str) -> Any:
    r = api.client.post("/oauth/v2/token", data=form)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


@pytest.fixture
def oauth_client(corral: Corral) -> tuple[str, str]:
    return corral.auth.create_client(redirect_uri="https://app.example.com/cb")


def test_authorization_code_exchange(corral: Corral, api: Api,
                                     oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL")
    body = _token(api, grant_type="authorization_code", client_id=client_id,
                  client_secret=secret, code=code,
                  redirect_uri="https://app.example.com/cb")
    assert {"access_token", "refresh_token", "expires_in", "api_domain",
            "token_type"} <= set(body)
    assert body["expires_in"] == 3600
    assert body["token_type"] == "Bearer"
    assert body["api_domain"].startswith("http")
    assert body["access_token"] != body["refresh_token"]
    assert api.post("Leads", token=body["access_token"],
                    json={"data": [{"Last_Name": "Daly"}]}).status_code == 201
    assert api.get("Leads", token=body["access_token"]).status_code == 200
    # A refresh token is not an access token.
    _json_error(api.get("Leads", token=body["refresh_token"]), 401, INVALID_TOKEN)
    _json_error(api.get("Leads", token=code), 401, INVALID_TOKEN)


def test_configured_api_domain_is_reported(oauth_client: tuple[str, str],
                                           corral: Corral, api: Api) -> None:
    client_id, secret = oauth_client
    body = _token(api, grant_type="client_credentials", client_id=client_id,
                  client_secret=secret, scope="ZohoCRM.modules.ALL")
    assert body["api_domain"] == "http://testserver"


def test_redirect_uri_must_match_the_registered_one(corral: Corral, api: Api,
                                                   oauth_client: tuple[str, str]) -> None:
    # Zoho Accounts answers {"error":"invalid_redirect_uri"} with HTTP 200 (asciisd/zoho#20).
    client_id, secret = oauth_client
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL")
    form = {"grant_type": "authorization_code", "client_id": client_id,
            "client_secret": secret, "code": code}
    assert _token(api, **form, redirect_uri="https://evil.example.com/cb") == {
        "error": "invalid_redirect_uri"}
    assert "access_token" in _token(api, **form, redirect_uri="https://app.example.com/cb")
    # A grant issued for its own redirect_uri is bound to that one.
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL",
                                    redirect_uri="https://app.example.com/other")
    form["code"] = code
    assert _token(api, **form, redirect_uri="https://app.example.com/cb") == {
        "error": "invalid_redirect_uri"}
    # Self clients may leave it out.
    assert "access_token" in _token(api, **form)


def test_grant_code_is_single_use(corral: Corral, api: Api,
                                  oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL")
    form = {"grant_type": "authorization_code", "client_id": client_id,
            "client_secret": secret, "code": code}
    first = _token(api, **form)
    assert "access_token" in first
    assert _token(api, **form) == {"error": "invalid_code"}
    # The first exchange's tokens keep working.
    assert api.get("Leads/actions/count", token=first["access_token"]).status_code == 200


def test_bad_expired_or_foreign_codes_are_invalid_code(corral: Corral, api: Api,
                                                       oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    other_id, other_secret = corral.auth.create_client(name="Other")
    expired = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL", expires_in=-1)
    foreign = corral.auth.create_grant(other_id, "ZohoCRM.modules.ALL")
    for code in ("1000.nope.nope", "", expired, foreign):
        assert _token(api, grant_type="authorization_code", client_id=client_id,
                      client_secret=secret, code=code) == {"error": "invalid_code"}
    # The foreign code was not burnt by the failed attempt.
    assert "access_token" in _token(api, grant_type="authorization_code", client_id=other_id,
                                    client_secret=other_secret, code=foreign)


def test_granted_scopes_bound_the_access_token(corral: Corral, api: Api,
                                               oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.leads.READ")
    body = _token(api, grant_type="authorization_code", client_id=client_id,
                  client_secret=secret, code=code)
    assert api.get("Leads", token=body["access_token"]).status_code in (200, 204)
    _json_error(api.post("Leads", token=body["access_token"],
                         json={"data": [{"Last_Name": "x"}]}), 401, SCOPE_MISMATCH)
    refreshed = _token(api, grant_type="refresh_token", client_id=client_id,
                       client_secret=secret, refresh_token=body["refresh_token"])
    _json_error(api.post("Leads", token=refreshed["access_token"],
                         json={"data": [{"Last_Name": "x"}]}), 401, SCOPE_MISMATCH)


def test_grant_for_another_user_acts_as_that_user(corral: Corral, api: Api,
                                                  oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    corral.auth.create_user("sam@zylker.com", "Smith", first_name="Sam")
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL,ZohoCRM.users.READ",
                                    user_email="sam@zylker.com")
    body = _token(api, grant_type="authorization_code", client_id=client_id,
                  client_secret=secret, code=code)
    (me,) = api.get("users", token=body["access_token"],
                    params={"type": "CurrentUser"}).json()["users"]
    assert me["email"] == "sam@zylker.com"
    (rid,) = [d["details"]["id"] for d in api.post(
        "Leads", token=body["access_token"], json={"data": [{"Last_Name": "x"}]}).json()["data"]]
    assert api.get(f"Leads/{rid}").json()["data"][0]["Owner"]["email"] == "sam@zylker.com"


def test_refresh_token_grant(corral: Corral, api: Api, oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL")
    first = _token(api, grant_type="authorization_code", client_id=client_id,
                   client_secret=secret, code=code)
    form = {"grant_type": "refresh_token", "client_id": client_id, "client_secret": secret,
            "refresh_token": first["refresh_token"]}
    second = _token(api, **form)
    third = _token(api, **form)  # a refresh token is reusable
    assert {"access_token", "expires_in", "api_domain", "token_type"} <= set(second)
    assert "refresh_token" not in second
    assert second["expires_in"] == 3600
    assert len({first["access_token"], second["access_token"], third["access_token"]}) == 3
    for tok in (first["access_token"], second["access_token"], third["access_token"]):
        assert api.get("Leads/actions/count", token=tok).status_code == 200


def test_refresh_token_of_another_client_or_unknown_is_refused(
        corral: Corral, api: Api, oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    other_id, other_secret = corral.auth.create_client(name="Other")
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL")
    first = _token(api, grant_type="authorization_code", client_id=client_id,
                   client_secret=secret, code=code)
    for cid, sec, refresh in ((other_id, other_secret, first["refresh_token"]),
                              (client_id, secret, "1000.nope.nope"),
                              (client_id, secret, first["access_token"])):
        assert _token(api, grant_type="refresh_token", client_id=cid, client_secret=sec,
                      refresh_token=refresh) == {"error": "invalid_code"}


def test_client_credentials_grant(corral: Corral, api: Api,
                                  oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    body = _token(api, grant_type="client_credentials", client_id=client_id,
                  client_secret=secret, scope="ZohoCRM.modules.leads.ALL ZohoCRM.org.READ",
                  soid="ZohoCRM.1")
    assert body["expires_in"] == 3600 and body["token_type"] == "Bearer"
    assert "refresh_token" not in body
    token = body["access_token"]
    assert api.post("Leads", token=token, json={"data": [{"Last_Name": "x"}]}).status_code == 201
    assert api.get("org", token=token).status_code == 200
    _json_error(api.get("Contacts", token=token), 401, SCOPE_MISMATCH)


@pytest.mark.parametrize("scope", ["", "ZohoCRM.modules", "nonsense"])
def test_client_credentials_with_bad_scope(oauth_client: tuple[str, str], api: Api,
                                           scope: str) -> None:
    client_id, secret = oauth_client
    assert _token(api, grant_type="client_credentials", client_id=client_id,
                  client_secret=secret, scope=scope) == {"error": "invalid_scope"}


def test_wrong_client_credentials_are_invalid_client(corral: Corral, api: Api,
                                                     oauth_client: tuple[str, str]) -> None:
    client_id, secret = oauth_client
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL")
    for cid, sec in ((client_id, secret + "x"), (client_id, ""), ("1000.NOPE", secret),
                     ("", "")):
        assert _token(api, grant_type="authorization_code", client_id=cid, client_secret=sec,
                      code=code) == {"error": "invalid_client"}
    # Failed attempts did not use up the code.
    assert "access_token" in _token(api, grant_type="authorization_code", client_id=client_id,
                                    client_secret=secret, code=code)


@pytest.mark.parametrize("grant_type", ["password", "", "AUTHORIZATION_CODE"])
def test_unsupported_grant_type(oauth_client: tuple[str, str], api: Api,
                                grant_type: str) -> None:
    client_id, secret = oauth_client
    assert _token(api, grant_type=grant_type, client_id=client_id,
                  client_secret=secret) == {"error": "unsupported_grant_type"}


def test_token_endpoint_accepts_query_parameters(corral: Corral, api: Api,
                                                 oauth_client: tuple[str, str]) -> None:
    # Zoho's own docs show the parameters in the query string of the POST.
    client_id, secret = oauth_client
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL")
    r = api.client.post("/oauth/v2/token", params={
        "grant_type": "authorization_code", "client_id": client_id, "client_secret": secret,
        "code": code})
    assert r.status_code == 200
    assert "access_token" in r.json()


def test_token_endpoint_only_answers_post(api: Api) -> None:
    r = api.client.get("/oauth/v2/token")
    assert r.status_code != 200 or "access_token" not in r.json()
    assert r.json()["status"] == "error"


def test_token_endpoint_accepts_multipart_form_data(corral: Corral, api: Api,
                                                    oauth_client: tuple[str, str]) -> None:
    # The official Node.js SDK (@zohocrm/nodejs-sdk-8.0) posts its grant and refresh requests
    # as multipart/form-data (the `form-data` package), not urlencoded.
    client_id, secret = oauth_client
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL")
    form = {"client_id": client_id, "client_secret": secret,
            "redirect_uri": "https://app.example.com/cb",
            "grant_type": "authorization_code", "code": code}
    r = api.client.post("/oauth/v2/token",
                        files={k: (None, v) for k, v in form.items()})
    assert r.status_code == 200, r.text
    issued = r.json()
    assert api.get("Leads", token=issued["access_token"]).status_code == 204  # none yet
    form = {"client_id": client_id, "client_secret": secret,
            "grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    refreshed = api.client.post("/oauth/v2/token",
                                files={k: (None, v) for k, v in form.items()}).json()
    assert api.get("Leads", token=refreshed["access_token"]).status_code == 204

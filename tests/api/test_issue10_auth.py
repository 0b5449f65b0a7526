"""Every endpoint issue 10 added checks the token, the scope and the profile.

One sweep over the URL table's issue-10 routes: no token → 401 AUTHENTICATION_FAILURE; a token
whose scopes do not cover the call → 401 OAUTH_SCOPE_MISMATCH; a user whose profile lacks the
permission (a Standard-profile user; for record-level lists one whose profile only views) →
403 NO_PERMISSION. Success and each documented error are tested per feature (test_related,
test_related_activities, test_notes, test_tags, test_attachments, test_users_admin,
test_roles_profiles, test_currencies, test_connect).
"""

from __future__ import annotations

from typing import Any

import pytest

from corral.services import Corral
from tests.api.test_auth import _restricted_user
from tests.conftest import Api, make_token

# A scope that exists but covers none of these calls.
UNRELATED = ["ZohoCRM.coql.READ"]
VIEW_ONLY = {"admin": False, "modules": {"*": ["view"]}, "read_only_fields": {}}


def _world(api: Api) -> dict[str, str]:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Company": "Z"})
    (acc,) = api.insert("Accounts", {"Account_Name": "Zylker"})
    (con,) = api.insert("Contacts", {"Last_Name": "Boyle"})
    (deal,) = api.insert("Deals", {"Deal_Name": "Renewal", "Stage": "Qualification"})
    note = api.post(f"Leads/{lead}/Notes", json={"data": [{"Note_Content": "x"}]}
                    ).json()["data"][0]["details"]["id"]
    tag = api.post("settings/tags", params={"module": "Leads"},
                   json={"tags": [{"name": "Hot"}]}).json()["tags"][0]["details"]["id"]
    att = api.client.post(f"/crm/v8/Leads/{lead}/Attachments", headers=api.headers(),
                          files={"file": ("a.txt", b"a", "text/plain")}
                          ).json()["data"][0]["details"]["id"]
    roles = api.get("settings/roles").json()["roles"]
    profiles = api.get("settings/profiles").json()["profiles"]
    users = api.get("users").json()["users"]
    rl = api.get("settings/related_lists", params={"module": "Leads"}).json()
    return {"lead": lead, "acc": acc, "con": con, "deal": deal, "note": note, "tag": tag,
            "att": att, "role": roles[0]["id"], "profile": profiles[0]["id"],
            "user": users[0]["id"], "rl": rl["related_lists"][0]["id"]}


# (method, path, body, who refuses on permission: "standard" | "viewer" | None)
CALLS: list[tuple[str, str, Any, str | None]] = [
    ("GET", "settings/related_lists?module=Leads", None, None),
    ("GET", "settings/related_lists/{rl}?module=Leads", None, None),
    ("GET", "Accounts/{acc}/Contacts", None, None),
    ("PUT", "Accounts/{acc}/Contacts", {"data": [{"id": "{con}"}]}, "viewer"),
    ("DELETE", "Accounts/{acc}/Contacts?ids={con}", None, "viewer"),
    ("GET", "Accounts/{acc}/Contacts/{con}", None, None),
    ("PUT", "Accounts/{acc}/Contacts/{con}", None, "viewer"),
    ("DELETE", "Accounts/{acc}/Contacts/{con}", None, "viewer"),
    ("GET", "Deals/{deal}/Open_Activities", None, None),
    ("GET", "Deals/{deal}/Contact_Roles", None, None),
    ("PUT", "Deals/{deal}/Contact_Roles/{con}",
     {"data": [{"Contact_Role": {"name": "Evaluator"}}]}, "viewer"),
    ("GET", "Notes?fields=Note_Content", None, None),
    ("POST", "Notes", {"data": [{"Note_Content": "y", "Parent_Id": "{lead}",
                                  "se_module": "Leads"}]}, "viewer"),
    ("PUT", "Notes", {"data": [{"id": "{note}", "Note_Content": "z"}]}, "viewer"),
    ("DELETE", "Notes?ids={note}", None, "viewer"),
    ("GET", "Notes/{note}", None, None),
    ("PUT", "Notes/{note}", {"data": [{"Note_Content": "z"}]}, "viewer"),
    ("DELETE", "Notes/{note}", None, "viewer"),
    ("GET", "Leads/{lead}/Notes", None, None),
    ("POST", "Leads/{lead}/Notes", {"data": [{"Note_Content": "y"}]}, "viewer"),
    ("GET", "settings/tags?module=Leads", None, None),
    ("POST", "settings/tags?module=Leads", {"tags": [{"name": "Cold"}]}, "standard"),
    ("PUT", "settings/tags?module=Leads", {"tags": [{"id": "{tag}", "name": "Warm"}]},
     "standard"),
    ("PUT", "settings/tags/{tag}?module=Leads", {"tags": [{"name": "Warm"}]}, "standard"),
    ("DELETE", "settings/tags/{tag}?module=Leads", None, "standard"),
    ("POST", "settings/tags/{tag}/actions/merge?module=Leads",
     {"tags": [{"conflict_id": "{tag}"}]}, "standard"),
    ("GET", "settings/tags/{tag}/actions/records_count?module=Leads", None, None),
    ("POST", "Leads/actions/add_tags", {"tags": [{"name": "Hot"}], "ids": ["{lead}"]},
     "viewer"),
    ("POST", "Leads/actions/remove_tags", {"tags": [{"name": "Hot"}], "ids": ["{lead}"]},
     "viewer"),
    ("POST", "Leads/{lead}/actions/add_tags", {"tags": [{"name": "Hot"}]}, "viewer"),
    ("POST", "Leads/{lead}/actions/remove_tags", {"tags": [{"name": "Hot"}]}, "viewer"),
    ("GET", "Leads/{lead}/Attachments", None, None),
    ("GET", "Leads/{lead}/Attachments/{att}", None, None),
    ("DELETE", "Leads/{lead}/Attachments/{att}", None, "viewer"),
    ("DELETE", "Leads/{lead}/Attachments?ids={att}", None, "viewer"),
    ("GET", "users", None, None),
    ("GET", "users/{user}", None, None),
    ("GET", "users/actions/count", None, None),
    ("POST", "users", {"users": [{"last_name": "K", "email": "k@zylker.com",
                                  "role": "{role}", "profile": "{profile}"}]}, "standard"),
    ("PUT", "users/{user}", {"users": [{"status": "inactive"}]}, "standard"),
    ("DELETE", "users/{user}", None, "standard"),
    ("GET", "settings/roles", None, None),
    ("GET", "settings/roles/{role}", None, None),
    ("POST", "settings/roles", {"roles": [{"name": "Rep", "reporting_to": "{role}"}]},
     "standard"),
    ("PUT", "settings/roles/{role}", {"roles": [{"description": "x"}]}, "standard"),
    ("DELETE", "settings/roles/{role}", None, "standard"),
    ("GET", "settings/profiles", None, None),
    ("GET", "settings/profiles/{profile}", None, None),
    ("POST", "settings/profiles/{profile}/actions/clone", {"profiles": [{"name": "Copy"}]},
     "standard"),
    ("PUT", "settings/profiles/{profile}", {"profiles": [{"description": "x"}]}, "standard"),
    ("DELETE", "settings/profiles/{profile}", None, "standard"),
    ("GET", "org/currencies", None, None),
    ("POST", "org/currencies/actions/enable",
     {"base_currency": {"iso_code": "USD", "exchange_rate": "1.0"}}, "standard"),
    ("POST", "org/currencies", {"currencies": [{"iso_code": "EUR", "exchange_rate": "1.1"}]},
     "standard"),
    ("PUT", "org/currencies", {"currencies": [{"id": "1", "exchange_rate": "1.2"}]},
     "standard"),
]


def _fill(value: Any, w: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**w)
    if isinstance(value, list):
        return [_fill(v, w) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, w) for k, v in value.items()}
    return value


def _call(api: Api, method: str, path: str, body: Any, token: str | None) -> Any:
    headers = {} if token is None else {"Authorization": f"Zoho-oauthtoken {token}"}
    return api.client.request(method, f"/crm/v8/{path}", json=body, headers=headers)


def _code(r: Any) -> tuple[int, str | None]:
    """The status and the error code, top-level or wrapped (`{"users": [error]}` ...)."""
    try:
        body = r.json()
    except ValueError:
        return r.status_code, None
    if "code" not in body and len(body) == 1:
        (items,) = body.values()
        body = (items[0] if isinstance(items, list) and items
                else items if isinstance(items, dict) else {})
    return r.status_code, body.get("code")


@pytest.mark.parametrize("method,path,body,refuser", CALLS,
                         ids=[f"{m} {p.split('?')[0]}" for m, p, _, _ in CALLS])
def test_issue10_endpoint_checks_token_scope_and_profile(
        corral: Corral, api: Api, method: str, path: str, body: Any,
        refuser: str | None) -> None:
    w = _world(api)
    path, body = _fill(path, w), _fill(body, w)
    assert _code(_call(api, method, path, body, None)) == (401, "AUTHENTICATION_FAILURE")
    unrelated = make_token(corral, UNRELATED)
    assert _code(_call(api, method, path, body, unrelated)) == (401, "OAUTH_SCOPE_MISMATCH")
    if refuser == "standard":
        user = corral.auth.create_user("std@zylker.com", "Standard", first_name="Sam")
        standard = make_token(corral, email=user.email)
        assert _code(_call(api, method, path, body, standard)) == (403, "NO_PERMISSION")
    elif refuser == "viewer":
        viewer = _restricted_user(corral, VIEW_ONLY)
        assert _code(_call(api, method, path, body, viewer)) == (403, "NO_PERMISSION")
    else:  # reads: a view-only profile may read (currencies: 403 until enabled, not a refusal)
        viewer = _restricted_user(corral, VIEW_ONLY)
        assert _code(_call(api, method, path, body, viewer)) in (
            (200, None), (204, None), (403, "CURRENCIES_NOT_ENABLED"))

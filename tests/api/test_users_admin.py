"""Users over HTTP: every `type` of GET /users, adding, changing, deactivating and deleting
users, who may do it, and with which scope (ZohoCRM.users.*)."""

from __future__ import annotations

from typing import Any

import pytest

from corral.services import Corral
from tests.conftest import Api, make_token

STANDARD_SCOPES = ["ZohoCRM.modules.ALL", "ZohoCRM.users.ALL"]


def _ids(api: Api, kind: str, **kw: Any) -> list[str]:
    r = api.get("users", params={"type": kind}, **kw)
    if r.status_code == 204:
        return []
    assert r.status_code == 200, r.text
    return [u["email"] for u in r.json()["users"]]


def _error(r: Any, status: int, code: str, *, wrapped: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    if wrapped is not None:
        assert set(body) == {wrapped}, body
        (body,) = body[wrapped]
    assert body["code"] == code, body
    assert body["status"] == "error"
    return dict(body)


def _role_and_profile(api: Api, role: str = "Manager",
                      profile: str = "Standard") -> tuple[str, str]:
    roles = api.get("settings/roles").json()["roles"]
    profiles = api.get("settings/profiles").json()["profiles"]
    return (next(r["id"] for r in roles if r["name"] == role),
            next(p["id"] for p in profiles if p["name"] == profile))


def _add(api: Api, email: str, last_name: str = "Smith", **extra: Any) -> str:
    role, profile = _role_and_profile(api)
    spec = {"last_name": last_name, "email": email, "role": role, "profile": profile, **extra}
    r = api.post("users", json={"users": [spec]})
    assert r.status_code == 201, r.text
    (entry,) = r.json()["users"]
    assert entry == {"code": "SUCCESS", "details": {"id": entry["details"]["id"]},
                     "message": "User added", "status": "success"}
    return str(entry["details"]["id"])


@pytest.fixture
def org(corral: Corral, api: Api) -> dict[str, str]:
    """admin (primary contact), sam, una (not confirmed), dora (deactivated), dex
    (deleted), ada (a second administrator)."""
    ids = {"admin": api.get("users", params={"type": "CurrentUser"}).json()["users"][0]["id"]}
    ids["sam"] = _add(api, "sam@zylker.com", first_name="Sam")
    ids["una"] = str(corral.auth.create_user("una@zylker.com", "Una", confirmed=False).id)
    ids["dora"] = _add(api, "dora@zylker.com")
    ids["dex"] = _add(api, "dex@zylker.com")
    role, admin_profile = _role_and_profile(api, "CEO", "Administrator")
    r = api.post("users", json={"users": [{"last_name": "Ada", "email": "ada@zylker.com",
                                           "role": role, "profile": admin_profile}]})
    ids["ada"] = r.json()["users"][0]["details"]["id"]
    assert api.put(f"users/{ids['dora']}", json={"users": [{"status": "inactive"}]}
                   ).status_code == 200
    assert api.delete(f"users/{ids['dex']}").status_code == 200
    return ids


# ----------------------------------------------------------------------------- GET
@pytest.mark.parametrize(("kind", "expected"), [
    ("AllUsers", ["admin@corral.local", "sam@zylker.com", "una@zylker.com", "dora@zylker.com",
                  "dex@zylker.com", "ada@zylker.com"]),
    ("ActiveUsers", ["admin@corral.local", "sam@zylker.com", "una@zylker.com",
                     "ada@zylker.com"]),
    ("DeactiveUsers", ["dora@zylker.com"]),
    ("ConfirmedUsers", ["admin@corral.local", "sam@zylker.com", "dora@zylker.com",
                        "ada@zylker.com"]),
    ("NotConfirmedUsers", ["una@zylker.com"]),
    ("DeletedUsers", ["dex@zylker.com"]),
    ("ActiveConfirmedUsers", ["admin@corral.local", "sam@zylker.com", "ada@zylker.com"]),
    ("AdminUsers", ["admin@corral.local", "ada@zylker.com"]),
    ("ActiveConfirmedAdmins", ["admin@corral.local", "ada@zylker.com"]),
    ("CurrentUser", ["admin@corral.local"]),
])
def test_every_type(api: Api, org: dict[str, str], kind: str, expected: list[str]) -> None:
    assert _ids(api, kind) == expected
    count = api.get("users/actions/count", params={"type": kind}).json()
    assert count == {"count": len(expected)}


def test_default_type_and_count_are_all_users(api: Api, org: dict[str, str]) -> None:
    assert len(_ids(api, "")) == 6
    assert api.get("users/actions/count").json() == {"count": 6}
    _error(api.get("users/actions/count", params={"type": "Everyone"}), 400, "INVALID_DATA")


def test_current_user_is_the_caller(corral: Corral, api: Api, org: dict[str, str]) -> None:
    token = make_token(corral, STANDARD_SCOPES, email="sam@zylker.com")
    assert _ids(api, "CurrentUser", token=token) == ["sam@zylker.com"]


def test_a_user_as_get_shows_it(api: Api, org: dict[str, str]) -> None:
    (sam,) = api.get(f"users/{org['sam']}").json()["users"]
    assert sam["full_name"] == "Sam Smith" and sam["status"] == "active"
    assert sam["role"]["name"] == "Manager" and sam["profile"]["name"] == "Standard"
    assert sam["confirm"] is True and sam["zuid"].isdigit()
    assert sam["created_by"] == {"name": "Corral Admin", "id": org["admin"]}
    assert sam["Modified_By"] == {"name": "Corral Admin", "id": org["admin"]}
    assert {"created_time", "Modified_Time", "time_zone", "locale", "country_locale",
            "date_format", "time_format", "phone", "dob", "type__s"} <= set(sam)
    (una,) = api.get(f"users/{org['una']}").json()["users"]
    assert una["confirm"] is False and una["zuid"] is None
    (dex,) = api.get(f"users/{org['dex']}").json()["users"]
    assert dex["status"] == "deleted"
    (dora,) = api.get(f"users/{org['dora']}").json()["users"]
    assert dora["status"] == "disabled"


def test_ids_and_pages(api: Api, org: dict[str, str]) -> None:
    r = api.get("users", params={"ids": f"{org['sam']},{org['ada']}"})
    assert [u["id"] for u in r.json()["users"]] == [org["sam"], org["ada"]]
    first = api.get("users", params={"per_page": "4"}).json()
    assert len(first["users"]) == 4
    assert first["info"] == {"per_page": 4, "count": 4, "page": 1, "more_records": True}
    second = api.get("users", params={"per_page": "4", "page": "2"}).json()
    assert second["info"] == {"per_page": 4, "count": 2, "page": 2, "more_records": False}
    assert api.get("users", params={"per_page": "4", "page": "3"}).status_code == 204
    for params in ({"ids": "x"}, {"page": "0"}, {"per_page": "-1"}):
        _error(api.get("users", params=params), 400, "INVALID_DATA")


# ----------------------------------------------------------------------------- POST
@pytest.mark.parametrize(("spec", "code", "api_name"), [
    ({"email": "x@zylker.com"}, "MANDATORY_NOT_FOUND", "last_name"),
    ({"last_name": "X"}, "MANDATORY_NOT_FOUND", "email"),
    ({"last_name": "X", "email": "not an email"}, "INVALID_DATA", "email"),
    ({"last_name": "X" * 51, "email": "x@zylker.com"}, "INVALID_DATA", "last_name"),
    ({"last_name": "X", "email": "x@zylker.com", "role": None}, "MANDATORY_NOT_FOUND", "role"),
    ({"last_name": "X", "email": "x@zylker.com", "role": "1234567890123456789"},
     "INVALID_DATA", "role"),
    ({"last_name": "X", "email": "x@zylker.com", "profile": "nope"}, "INVALID_DATA",
     "profile"),
    ({"last_name": "X", "email": "x@zylker.com", "time_zone": "Mars/Olympus"},
     "INVALID_DATA", "time_zone"),
    ({"last_name": "X", "email": "x@zylker.com", "time_format": "HH"}, "INVALID_DATA",
     "time_format"),
    ({"last_name": "X", "email": "x@zylker.com", "dob": "31/12/1990"}, "INVALID_DATA", "dob"),
    ({"last_name": "X", "email": "ADMIN@corral.local"}, "DUPLICATE_DATA", "email"),
])
def test_add_user_errors(api: Api, spec: dict[str, Any], code: str, api_name: str) -> None:
    role, profile = _role_and_profile(api)
    body = {"role": role, "profile": profile, **spec}
    err = _error(api.post("users", json={"users": [body]}), 400, code, wrapped="users")
    assert err["details"]["api_name"] == api_name
    assert err["details"]["json_path"] == f"$.users[0].{api_name}"
    assert _ids(api, "AllUsers") == ["admin@corral.local"]


def test_add_user_body_shapes(api: Api) -> None:
    role, profile = _role_and_profile(api)
    one = {"last_name": "X", "email": "x@zylker.com", "role": role, "profile": profile}
    _error(api.post("users", json={"users": [one, {**one, "email": "y@zylker.com"}]}), 400,
           "INVALID_DATA", wrapped="users")
    _error(api.post("users", json={"users": []}), 400, "MANDATORY_NOT_FOUND", wrapped="users")
    _error(api.post("users", json={"data": [one]}), 400, "MANDATORY_NOT_FOUND",
           wrapped="users")
    _error(api.post("users", json={"users": ["x"]}), 400, "INVALID_DATA", wrapped="users")
    r = api.client.post("/crm/v8/users", content=b"{", headers=api.headers())
    _error(r, 400, "UNABLE_TO_PARSE_DATA_TYPE")


def test_added_user_keeps_its_details_and_can_own_records(corral: Corral, api: Api) -> None:
    uid = _add(api, "kim@zylker.com", "Lee", first_name="Kim", phone="+1 555 0100",
               time_zone="Europe/Paris", dob="1990-12-31", time_format="HH:mm")
    (kim,) = api.get(f"users/{uid}").json()["users"]
    assert (kim["full_name"], kim["phone"], kim["time_zone"], kim["dob"],
            kim["time_format"]) == ("Kim Lee", "+1 555 0100", "Europe/Paris", "1990-12-31",
                                    "HH:mm")
    (rid,) = api.insert("Leads", {"Last_Name": "Daly", "Owner": {"id": uid}})
    assert api.get(f"Leads/{rid}").json()["data"][0]["Owner"]["id"] == uid
    token = make_token(corral, STANDARD_SCOPES, email="kim@zylker.com")
    assert api.get("Leads/actions/count", token=token).json() == {"count": 1}


def test_only_admins_add_change_or_delete_users(corral: Corral, api: Api,
                                                org: dict[str, str]) -> None:
    token = make_token(corral, STANDARD_SCOPES, email="sam@zylker.com")
    role, profile = _role_and_profile(api)
    spec = {"last_name": "X", "email": "x@zylker.com", "role": role, "profile": profile}
    _error(api.post("users", json={"users": [spec]}, token=token), 403, "NO_PERMISSION",
           wrapped="users")
    _error(api.put(f"users/{org['una']}", json={"users": [{"last_name": "Z"}]}, token=token),
           403, "NO_PERMISSION", wrapped="users")
    _error(api.delete(f"users/{org['una']}", token=token), 403, "NO_PERMISSION")
    # Their own details they may change, but not their role, profile or status.
    r = api.put(f"users/{org['sam']}", json={"users": [{"phone": "123"}]}, token=token)
    assert r.status_code == 200, r.text
    _error(api.put(f"users/{org['sam']}", json={"users": [{"profile": profile}]}, token=token),
           403, "NO_PERMISSION", wrapped="users")


@pytest.mark.parametrize(("method", "path", "needed"), [
    ("POST", "users", "ZohoCRM.users.CREATE"),
    ("PUT", "users", "ZohoCRM.users.UPDATE"),
    ("PUT", "users/{sam}", "ZohoCRM.users.UPDATE"),
    ("DELETE", "users/{sam}", "ZohoCRM.users.DELETE"),
    ("GET", "users", "ZohoCRM.users.READ"),
    ("GET", "users/actions/count", "ZohoCRM.users.READ"),
])
def test_scopes(corral: Corral, api: Api, org: dict[str, str], method: str, path: str,
                needed: str) -> None:
    url = path.format(sam=org["sam"])
    body = {"users": [{"id": org["sam"], "phone": "1"}]} if method == "PUT" else None
    if method == "POST":
        role, profile = _role_and_profile(api)
        body = {"users": [{"last_name": "X", "email": "x@zylker.com", "role": role,
                           "profile": profile}]}
    wrong = make_token(corral, ["ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL"])
    _error(api.request(method, url, json=body, token=wrong), 401, "OAUTH_SCOPE_MISMATCH")
    right = make_token(corral, [needed])
    assert api.request(method, url, json=body, token=right).status_code < 300


# ----------------------------------------------------------------------------- PUT
def test_update_by_path_or_body(api: Api, org: dict[str, str]) -> None:
    role, profile = _role_and_profile(api, "CEO", "Administrator")
    r = api.put(f"users/{org['sam']}", json={"users": [{"last_name": "Smyth",
                                                         "role": role}]})
    assert r.json() == {"users": [{"code": "SUCCESS", "details": {"id": org["sam"]},
                                   "message": "User updated", "status": "success"}]}
    r = api.put("users", json={"users": [{"id": org["sam"], "profile": profile,
                                          "mobile": "555"}]})
    assert r.status_code == 200, r.text
    (sam,) = api.get(f"users/{org['sam']}").json()["users"]
    assert (sam["last_name"], sam["role"]["name"], sam["profile"]["name"], sam["mobile"]) == (
        "Smyth", "CEO", "Administrator", "555")
    assert "sam@zylker.com" in _ids(api, "AdminUsers")


def test_update_errors(corral: Corral, api: Api, org: dict[str, str]) -> None:
    _error(api.put("users", json={"users": [{"last_name": "X"}]}), 400,
           "MANDATORY_NOT_FOUND", wrapped="users")
    _error(api.put("users", json={"users": [{"id": "1234567890123456789"}]}), 400,
           "INVALID_DATA", wrapped="users")
    _error(api.put("users/1234567890123456789", json={"users": [{"last_name": "X"}]}), 400,
           "INVALID_DATA", wrapped="users")
    _error(api.put("users/abc", json={"users": [{"last_name": "X"}]}), 400, "INVALID_DATA")
    _error(api.put(f"users/{org['dex']}", json={"users": [{"last_name": "X"}]}), 400,
           "CANNOT_UPDATE_DELETED_USER", wrapped="users")
    _error(api.put(f"users/{org['sam']}", json={"users": [{"email": "new@zylker.com"}]}), 400,
           "EMAIL_UPDATE_NOT_ALLOWED", wrapped="users")
    err = _error(api.put(f"users/{org['sam']}", json={"users": [{"time_zone": "Asia/Tokyo"}]}),
                 415, "INVALID_DATA", wrapped="users")
    assert err["message"] == "You are trying to update the time_zone of another user"
    _error(api.put(f"users/{org['sam']}", json={"users": [{
        "name_format__s": "Salutation,Last Name,First Name"}]}), 400, "NOT_ALLOWED",
        wrapped="users")
    _error(api.put(f"users/{org['sam']}", json={"users": [{"status": "gone"}]}), 400,
           "INVALID_DATA", wrapped="users")
    _error(api.put(f"users/{org['sam']}", json={"users": [{"last_name": None}]}), 400,
           "MANDATORY_NOT_FOUND", wrapped="users")
    # One's own time zone, and an unconfirmed user's email, can change.
    assert api.put(f"users/{org['admin']}", json={"users": [{"time_zone": "Asia/Tokyo"}]}
                   ).status_code == 200
    assert api.put(f"users/{org['una']}", json={"users": [{"email": "una2@zylker.com"}]}
                   ).status_code == 200
    _error(api.put(f"users/{org['una']}", json={"users": [{"email": "SAM@zylker.com"}]}), 400,
           "DUPLICATE_DATA", wrapped="users")
    assert "una2@zylker.com" in _ids(api, "NotConfirmedUsers")


def test_deactivate_and_activate(corral: Corral, api: Api, org: dict[str, str]) -> None:
    token = make_token(corral, STANDARD_SCOPES, email="sam@zylker.com")
    (rid,) = api.insert("Leads", {"Last_Name": "Daly", "Owner": {"id": org["sam"]}})
    assert api.put(f"users/{org['sam']}", json={"users": [{"status": "inactive"}]}
                   ).status_code == 200
    _error(api.get("Leads/actions/count", token=token), 401, "INVALID_TOKEN")
    _error(api.put(f"users/{org['sam']}", json={"users": [{"status": "inactive"}]}), 400,
           "ID_ALREADY_DEACTIVATED", wrapped="users")
    # A deactivated user owns what they owned, but takes no new records.
    assert api.get(f"Leads/{rid}").json()["data"][0]["Owner"]["id"] == org["sam"]
    r = api.post("Leads", json={"data": [{"Last_Name": "x", "Owner": {"id": org["sam"]}}]})
    assert r.json()["data"][0]["code"] == "INVALID_DATA"
    assert api.put(f"users/{org['sam']}", json={"users": [{"status": "active"}]}
                   ).status_code == 200
    _error(api.put(f"users/{org['sam']}", json={"users": [{"status": "active"}]}), 400,
           "ID_ALREADY_ACTIVE", wrapped="users")
    assert api.get("Leads/actions/count", token=token).status_code == 200


def test_the_primary_contact_stays(api: Api, org: dict[str, str]) -> None:
    me = org["admin"]
    err = _error(api.put(f"users/{me}", json={"users": [{"status": "inactive"}]}), 400,
                 "INVALID_REQUEST", wrapped="users")
    assert err["message"] == "Primary Contact cannot be deactivated"
    _, standard = _role_and_profile(api)
    _error(api.put(f"users/{me}", json={"users": [{"profile": standard}]}), 400,
           "NOT_ALLOWED", wrapped="users")
    err = _error(api.delete(f"users/{me}"), 400, "INVALID_REQUEST")
    assert err["message"] == "Primary contact cannot be deleted"
    (org_row,) = api.get("org").json()["org"]
    assert org_row["primary_email"] == "admin@corral.local"


# ----------------------------------------------------------------------------- DELETE
def test_delete_user(corral: Corral, api: Api, org: dict[str, str]) -> None:
    token = make_token(corral, STANDARD_SCOPES, email="sam@zylker.com")
    (rid,) = api.insert("Leads", {"Last_Name": "Daly", "Owner": {"id": org["sam"]}})
    r = api.delete(f"users/{org['sam']}")
    assert r.json() == {"users": [{"code": "SUCCESS", "details": {}, "message": "User deleted",
                                   "status": "success"}]}
    assert "sam@zylker.com" in _ids(api, "DeletedUsers")
    assert "sam@zylker.com" in _ids(api, "AllUsers")
    assert "sam@zylker.com" not in _ids(api, "ActiveUsers")
    _error(api.get("Leads/actions/count", token=token), 401, "INVALID_TOKEN")
    assert api.get(f"Leads/{rid}").json()["data"][0]["Owner"]["id"] == org["sam"]
    _error(api.delete(f"users/{org['sam']}"), 400, "ID_ALREADY_DELETED")
    _error(api.delete("users/1234567890123456789"), 400, "INVALID_DATA")
    _error(api.delete("users/abc"), 400, "INVALID_DATA")


def test_golden_user(api: Api) -> None:
    """Zoho's documented user, key for key; `Reporting_To` and `Currency` are in the v8 OAS
    schema though not in that sample."""
    from tests.api.test_contract import assert_same_shape, golden

    uid = _add(api, "kim@zylker.com", "Lee", first_name="Kim", phone="123456789",
               dob="1990-12-31", state="Karnataka")
    body = api.get("users", params={"ids": uid}).json()
    (user,) = body["users"]
    sample = golden("users_v7")
    assert_same_shape({k: v for k, v in user.items() if k not in {"Reporting_To", "Currency"}},
                      sample["users"][0], exact=frozenset())
    assert_same_shape(body["info"], sample["info"], exact=frozenset())


def test_cli_user_add_with_role_and_unconfirmed(corral: Corral, api: Api) -> None:
    from click.testing import CliRunner

    from corral.cli import main

    url = corral.settings.database_url
    r = CliRunner().invoke(main, ["user", "add", "--database-url", url, "--email",
                                  "una@zylker.com", "--last-name", "Una", "--role", "CEO",
                                  "--unconfirmed"])
    assert r.exit_code == 0, r.output
    (una,) = api.get(f"users/{r.output.strip()}").json()["users"]
    assert (una["role"]["name"], una["confirm"]) == ("CEO", False)
    assert _ids(api, "NotConfirmedUsers") == ["una@zylker.com"]
    r = CliRunner().invoke(main, ["user", "add", "--database-url", url, "--email",
                                  "x@zylker.com", "--last-name", "X", "--role", "Nope"])
    assert r.exit_code == 1 and "no role named Nope" in r.output

"""Roles and profiles over HTTP: the seeded org, building one (roles under roles, cloned
profiles with their own permissions), moving users when one is deleted."""

from __future__ import annotations

from typing import Any

import pytest

from corral.services import Corral
from tests.api.test_contract import assert_same_shape
from tests.conftest import Api, make_token


def _error(r: Any, status: int, code: str, *, wrapped: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    if wrapped is not None:
        assert set(body) == {wrapped}, body
        (body,) = body[wrapped]
    assert body["code"] == code, body
    return dict(body)


def _roles(api: Api) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in api.get("settings/roles").json()["roles"]}


def _profiles(api: Api) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in api.get("settings/profiles").json()["profiles"]}


def _new_role(api: Api, **spec: Any) -> str:
    r = api.post("settings/roles", json={"roles": [spec]})
    assert r.status_code == 201, r.text
    (entry,) = r.json()["roles"]
    assert (entry["code"], entry["message"]) == ("SUCCESS", "Role added")
    return str(entry["details"]["id"])


def _user(api: Api, email: str, role: str, profile: str) -> str:
    r = api.post("users", json={"users": [{"last_name": email.split("@")[0], "email": email,
                                           "role": role, "profile": profile}]})
    assert r.status_code == 201, r.text
    return str(r.json()["users"][0]["details"]["id"])


# ----------------------------------------------------------------------------- roles
def test_seeded_roles(api: Api) -> None:
    roles = api.get("settings/roles").json()["roles"]
    assert [r["name"] for r in roles] == ["CEO", "Manager"]
    ceo, manager = roles
    assert ceo["reporting_to"] is None and ceo["admin_user"] is True
    assert manager["reporting_to"] == {"name": "CEO", "id": ceo["id"]}
    sample = {"display_label": "SalesRep", "created_by__s": {"name": "P", "id": "1"},
              "modified_by__s": {"name": "P", "id": "1"}, "forecast_manager": None,
              "share_with_peers": True, "modified_time__s": "2022-11-10T17:25:02+05:30",
              "name": "SalesRep", "description": None,
              "reporting_to": {"name": "Manager", "id": "3652397000000026008"},
              "id": "3652397000010189001", "created_time__s": "2022-11-10T17:25:02+05:30",
              "admin_user": False}
    rid = _new_role(api, name="SalesRep", reporting_to=manager["id"], share_with_peers=True)
    (created,) = api.get(f"settings/roles/{rid}").json()["roles"]
    assert_same_shape(created, sample)
    (me,) = api.get("users", params={"type": "CurrentUser"}).json()["users"]
    assert me["role"] == {"name": "CEO", "id": ceo["id"]}


def test_build_a_hierarchy(api: Api) -> None:
    roles = _roles(api)
    head = _new_role(api, name="Sales Head", description="Runs sales")
    rep = _new_role(api, name="Sales Rep", reporting_to=head)
    got = _roles(api)
    assert got["Sales Head"]["reporting_to"]["id"] == roles["CEO"]["id"]  # the default
    assert got["Sales Head"]["share_with_peers"] is False
    assert got["Sales Head"]["description"] == "Runs sales"
    assert got["Sales Rep"]["reporting_to"] == {"name": "Sales Head", "id": head}
    # Update by path and by body.
    r = api.put(f"settings/roles/{rep}", json={"roles": [{"name": "Account Rep",
                                                          "share_with_peers": True}]})
    assert r.json()["roles"][0]["message"] == "Role updated"
    r = api.put("settings/roles", json={"roles": [{"id": rep, "description": "Accounts"}]})
    assert r.status_code == 200, r.text
    (updated,) = api.get(f"settings/roles/{rep}").json()["roles"]
    assert (updated["name"], updated["share_with_peers"], updated["description"]) == (
        "Account Rep", True, "Accounts")


@pytest.mark.parametrize(("spec", "code", "api_name"), [
    ({}, "MANDATORY_NOT_FOUND", "name"),
    ({"name": " "}, "MANDATORY_NOT_FOUND", "name"),
    ({"name": 5}, "INVALID_DATA", "name"),
    ({"name": "A#B"}, "INVALID_DATA", "name"),
    ({"name": "Manager"}, "DUPLICATE_DATA", "name"),
    ({"name": "manager"}, "DUPLICATE_DATA", "name"),
    ({"name": "X", "reporting_to": "1234567890123456789"}, "INVALID_DATA", "reporting_to"),
    ({"name": "X", "share_with_peers": "yes"}, "INVALID_DATA", "share_with_peers"),
    ({"name": "X", "forecast_manager": "12"}, "INVALID_DATA", "forecast_manager"),
])
def test_create_role_errors(api: Api, spec: dict[str, Any], code: str, api_name: str) -> None:
    err = _error(api.post("settings/roles", json={"roles": [spec]}), 400, code,
                 wrapped="roles")
    assert err["details"]["api_name"] == api_name
    assert list(_roles(api)) == ["CEO", "Manager"]


def test_role_cannot_report_to_itself_or_below(api: Api) -> None:
    manager = _roles(api)["Manager"]["id"]
    below = _new_role(api, name="Below", reporting_to=manager)
    for target in (manager, below):
        _error(api.put(f"settings/roles/{manager}", json={"roles": [{"reporting_to": target}]}),
               400, "INVALID_DATA", wrapped="roles")
    _error(api.put("settings/roles/1234567890123456789", json={"roles": [{"name": "x"}]}),
           400, "INVALID_DATA", wrapped="roles")
    _error(api.put("settings/roles", json={"roles": [{"name": "x"}]}), 400,
           "MANDATORY_NOT_FOUND", wrapped="roles")
    _error(api.get("settings/roles/1234567890123456789"), 400, "INVALID_DATA")


def test_delete_role_moves_its_users_and_subordinates(api: Api) -> None:
    roles, profiles = _roles(api), _profiles(api)
    doomed = _new_role(api, name="Doomed")
    child = _new_role(api, name="Child", reporting_to=doomed)
    uid = _user(api, "kim@zylker.com", doomed, profiles["Standard"]["id"])
    manager = roles["Manager"]["id"]
    _error(api.delete(f"settings/roles/{doomed}"), 400, "REQUIRED_PARAM_MISSING")
    _error(api.delete(f"settings/roles/{doomed}", params={"transfer_to_id": "abc"}), 400,
           "UNABLE_TO_PARSE_DATA_TYPE")
    _error(api.delete(f"settings/roles/{doomed}", params={"transfer_to_id": doomed}), 400,
           "INVALID_DATA")
    _error(api.delete(f"settings/roles/{roles['CEO']['id']}",
                      params={"transfer_to_id": manager}), 400, "NOT_ALLOWED")
    r = api.delete(f"settings/roles/{doomed}", params={"transfer_to_id": manager})
    assert r.json() == {"roles": [{"code": "SUCCESS", "details": {"id": doomed},
                                   "message": "Role Deleted", "status": "success"}]}
    assert api.get(f"users/{uid}").json()["users"][0]["role"]["id"] == manager
    assert _roles(api)["Child"]["reporting_to"]["id"] == manager
    assert child in {r["id"] for r in _roles(api).values()}
    _error(api.delete(f"settings/roles/{doomed}", params={"transfer_to_id": manager}), 400,
           "INVALID_DATA")


def test_role_writes_need_an_admin_and_the_scope(corral: Corral, api: Api) -> None:
    corral.auth.create_user("sam@zylker.com", "Smith")
    token = make_token(corral, ["ZohoCRM.settings.ALL"], email="sam@zylker.com")
    _error(api.post("settings/roles", json={"roles": [{"name": "X"}]}, token=token), 403,
           "NO_PERMISSION", wrapped="roles")
    assert api.get("settings/roles", token=token).status_code == 200
    read_only = make_token(corral, ["ZohoCRM.settings.roles.READ"])
    _error(api.post("settings/roles", json={"roles": [{"name": "X"}]}, token=read_only), 401,
           "OAUTH_SCOPE_MISMATCH")
    create = make_token(corral, ["ZohoCRM.settings.roles.CREATE"])
    assert api.post("settings/roles", json={"roles": [{"name": "X"}]},
                    token=create).status_code == 201
    _error(api.get("settings/roles", token=make_token(corral, ["ZohoCRM.users.ALL"])), 401,
           "OAUTH_SCOPE_MISMATCH")


# ----------------------------------------------------------------------------- profiles
def test_seeded_profiles_and_one_in_detail(api: Api) -> None:
    profiles = api.get("settings/profiles").json()["profiles"]
    assert [p["name"] for p in profiles] == ["Administrator", "Standard"]
    assert all("permissions_details" not in p for p in profiles)
    standard = profiles[1]
    (detail,) = api.get(f"settings/profiles/{standard['id']}").json()["profiles"]
    perms = {p["name"]: p for p in detail["permissions_details"]}
    assert perms["Crm_Implied_View_Leads"] == {
        "display_label": "View", "module": "Leads", "name": "Crm_Implied_View_Leads",
        "id": perms["Crm_Implied_View_Leads"]["id"], "enabled": True}
    assert all(p["enabled"] for p in perms.values())
    assert len({p["id"] for p in perms.values()}) == len(perms)
    (leads,) = [c for c in detail["sections"][0]["categories"] if c["module"] == "Leads"]
    assert len(leads["permissions_details"]) == 4
    _error(api.get("settings/profiles/1234567890123456789"), 400, "INVALID_DATA")


def test_clone_restrict_and_use_a_profile(corral: Corral, api: Api) -> None:
    profiles, roles = _profiles(api), _roles(api)
    r = api.post(f"settings/profiles/{profiles['Standard']['id']}/actions/clone",
                 json={"profiles": [{"name": "Viewer", "description": "Reads only"}]})
    assert r.status_code == 201, r.text
    (entry,) = r.json()["profiles"]
    assert entry["message"] == "profile created successfully"
    pid = entry["details"]["id"]
    (viewer,) = api.get(f"settings/profiles/{pid}").json()["profiles"]
    assert (viewer["custom"], viewer["description"]) == (True, "Reads only")
    off = [{"id": p["id"], "enabled": False} for p in viewer["permissions_details"]
           if p["module"] == "Leads" and p["name"] != "Crm_Implied_View_Leads"]
    r = api.put(f"settings/profiles/{pid}", json={"profiles": [{"permissions_details": off}]})
    assert r.json()["profiles"][0]["message"] == "profile updated successfully"
    (viewer,) = api.get(f"settings/profiles/{pid}").json()["profiles"]
    enabled = {p["name"] for p in viewer["permissions_details"]
               if p["module"] == "Leads" and p["enabled"]}
    assert enabled == {"Crm_Implied_View_Leads"}
    # A user of the profile can read Leads and nothing more there; Contacts as before.
    _user(api, "vera@zylker.com", roles["Manager"]["id"], pid)
    token = make_token(corral, ["ZohoCRM.modules.ALL"], email="vera@zylker.com")
    assert api.get("Leads/actions/count", token=token).status_code == 200
    _error(api.post("Leads", json={"data": [{"Last_Name": "x"}]}, token=token), 403,
           "NO_PERMISSION")
    assert api.post("Contacts", json={"data": [{"Last_Name": "x"}]},
                    token=token).status_code == 201
    # Turn one back on.
    create = next(p for p in viewer["permissions_details"]
                  if p["name"] == "Crm_Implied_Create_Leads")
    api.put(f"settings/profiles/{pid}", json={"profiles": [{
        "name": "Viewer+", "permissions_details": [{"id": create["id"], "enabled": True}]}]})
    assert api.post("Leads", json={"data": [{"Last_Name": "x"}]},
                    token=token).status_code == 201
    assert "Viewer+" in _profiles(api)


@pytest.mark.parametrize(("body", "code"), [
    ({"profiles": [{}]}, "MANDATORY_NOT_FOUND"),
    ({"profiles": [{"name": "x" * 51}]}, "INVALID_DATA"),
    ({"profiles": [{"name": "Standard"}]}, "DUPLICATE_DATA"),
    ({"profiles": [{"name": "Y", "description": "d" * 251}]}, "INVALID_DATA"),
    ({"profiles": []}, "MANDATORY_NOT_FOUND"),
])
def test_clone_errors(api: Api, body: dict[str, Any], code: str) -> None:
    standard = _profiles(api)["Standard"]["id"]
    _error(api.post(f"settings/profiles/{standard}/actions/clone", json=body), 400, code,
           wrapped="profiles")
    _error(api.post("settings/profiles/1234567890123456789/actions/clone",
                    json={"profiles": [{"name": "Z"}]}), 400, "INVALID_DATA",
           wrapped="profiles")
    assert list(_profiles(api)) == ["Administrator", "Standard"]


def test_update_profile_errors(api: Api) -> None:
    profiles = _profiles(api)
    admin, standard = profiles["Administrator"]["id"], profiles["Standard"]["id"]
    (detail,) = api.get(f"settings/profiles/{admin}").json()["profiles"]
    one = detail["permissions_details"][0]["id"]
    _error(api.put(f"settings/profiles/{admin}", json={"profiles": [{
        "permissions_details": [{"id": one, "enabled": False}]}]}), 400, "NOT_ALLOWED",
        wrapped="profiles")
    for bad in ([{"id": "1", "enabled": False}], [{"id": one}], "x", [None]):
        _error(api.put(f"settings/profiles/{standard}", json={"profiles": [{
            "permissions_details": bad}]}), 400, "INVALID_DATA", wrapped="profiles")
    _error(api.put(f"settings/profiles/{standard}", json={"profiles": [{
        "name": "Administrator"}]}), 400, "DUPLICATE_DATA", wrapped="profiles")
    _error(api.put("settings/profiles/1234567890123456789", json={"profiles": [{
        "name": "X"}]}), 400, "INVALID_DATA", wrapped="profiles")


def test_delete_profile_moves_its_users(api: Api) -> None:
    profiles, roles = _profiles(api), _roles(api)
    standard = profiles["Standard"]["id"]
    r = api.post(f"settings/profiles/{standard}/actions/clone",
                 json={"profiles": [{"name": "Temp"}]})
    temp = r.json()["profiles"][0]["details"]["id"]
    uid = _user(api, "tia@zylker.com", roles["Manager"]["id"], temp)
    _error(api.delete(f"settings/profiles/{temp}"), 400, "REQUIRED_PARAM_MISSING")
    _error(api.delete(f"settings/profiles/{temp}", params={"transfer_to": temp}), 400,
           "INVALID_DATA")
    _error(api.delete(f"settings/profiles/{standard}",
                      params={"transfer_to": profiles["Administrator"]["id"]}), 400,
           "INVALID_DATA")
    r = api.delete(f"settings/profiles/{temp}", params={"transfer_to": standard})
    assert r.json() == {"code": "SUCCESS", "details": {"id": temp},
                        "message": "Profile deleted", "status": "success"}
    assert api.get(f"users/{uid}").json()["users"][0]["profile"]["id"] == standard
    assert "Temp" not in _profiles(api)


def test_profile_scopes_and_admin(corral: Corral, api: Api) -> None:
    standard = _profiles(api)["Standard"]["id"]
    corral.auth.create_user("sam@zylker.com", "Smith")
    token = make_token(corral, ["ZohoCRM.settings.ALL"], email="sam@zylker.com")
    _error(api.post(f"settings/profiles/{standard}/actions/clone",
                    json={"profiles": [{"name": "Mine"}]}, token=token), 403,
           "NO_PERMISSION", wrapped="profiles")
    read = make_token(corral, ["ZohoCRM.settings.profiles.READ"])
    assert api.get("settings/profiles", token=read).status_code == 200
    _error(api.put(f"settings/profiles/{standard}", json={"profiles": [{"name": "S"}]},
                   token=read), 401, "OAUTH_SCOPE_MISMATCH")

"""Scope before module (issue 17 item 5): a token cannot probe which modules exist.

A token none of whose record scopes could cover a module name gets OAUTH_SCOPE_MISMATCH for
that name whether the module exists or not; only a token that could reach a module of that
name learns INVALID_MODULE.
"""

from __future__ import annotations

import pytest

from corral.services import Corral
from tests.conftest import Api, make_token

RID = "4876876000000000001"
# (method, path under the module): every route with a {module} segment
ROUTES = [
    ("GET", ""), ("POST", ""), ("PUT", ""), ("DELETE", f"?ids={RID}"),
    ("GET", f"/{RID}"), ("PUT", f"/{RID}"), ("DELETE", f"/{RID}"),
    ("POST", "/upsert"), ("GET", "/search?word=abc"), ("GET", "/deleted"),
    ("GET", "/actions/count"), ("POST", "/actions/mass_update"),
    ("GET", "/actions/mass_update?job_id=1"), ("POST", "/actions/assign_territories"),
    ("POST", f"/{RID}/actions/convert"), ("POST", f"/{RID}/actions/approve"),
    ("GET", f"/{RID}/actions/blueprint"), ("PUT", f"/{RID}/actions/blueprint"),
]
BODY = {"data": [{"Last_Name": "Daly"}]}
MISMATCH = {"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": "Unauthorized",
            "status": "error"}


def _call(api: Api, token: str, module: str, method: str, path: str) -> tuple[int, object]:
    r = api.request(method, f"{module}{path}", token=token,
                    json=BODY if method in {"POST", "PUT"} else None)
    return r.status_code, r.json() if r.content else None


@pytest.mark.parametrize("scopes", [
    "ZohoCRM.settings.ALL,ZohoCRM.users.ALL,ZohoCRM.org.ALL",  # no record scope at all
    "ZohoCRM.modules.contacts.ALL",  # another module's
    "ZohoCRM.mass_update.contacts.UPDATE",
])
def test_without_a_covering_scope_real_and_unknown_modules_look_alike(
        corral: Corral, api: Api, scopes: str) -> None:
    token = make_token(corral, scopes)
    for method, path in ROUTES:
        for module in ("Leads", "Nope", "Lead", "leads_x", "a..b"):
            assert _call(api, token, module, method, path) == (401, MISMATCH), (method, path,
                                                                                module)


@pytest.mark.parametrize("scopes", ["ZohoCRM.modules.ALL", "ZohoCRM.modules.READ",
                                    "ZohoCRM.modules.custom.ALL", "ZohoCRM.modules.nope.READ"])
def test_a_token_that_could_reach_the_name_learns_it_is_unknown(corral: Corral, api: Api,
                                                                scopes: str) -> None:
    token = make_token(corral, scopes)
    status, body = _call(api, token, "Nope", "GET", "")
    assert (status, body) == (400, {"code": "INVALID_MODULE",
                                    "details": {"resource_path_index": 0},
                                    "message": "the module name given seems to be invalid",
                                    "status": "error"})


def test_the_exact_scope_is_still_required_for_a_real_module(corral: Corral, api: Api) -> None:
    reader = make_token(corral, "ZohoCRM.modules.leads.READ")
    assert _call(api, reader, "Leads", "GET", "") == (204, None)
    assert _call(api, reader, "Leads", "POST", "") == (401, MISMATCH)
    custom = make_token(corral, "ZohoCRM.modules.custom.ALL")
    assert _call(api, custom, "Leads", "GET", "") == (401, MISMATCH)
    mass = make_token(corral, "ZohoCRM.mass_update.leads.UPDATE")
    assert _call(api, mass, "Leads", "GET", "") == (401, MISMATCH)

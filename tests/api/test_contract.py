"""Contract tests: a sweep over the route table, and golden Zoho samples compared by shape.

The sweep walks every route and method of `corral.api.routes.TABLE`, so a route added later is
checked without touching this file: auth errors, URL and method errors, content type, and that
no request shape makes the server answer 500.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from corral.api.routes import TABLE
from corral.services import Corral
from tests.conftest import Api, make_token

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
ERROR_KEYS = {"code", "details", "message", "status"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CRM_ROUTES = [(path, method) for path, handlers in TABLE if path.startswith("/crm/")
              for method in handlers]
ALL_ROUTES = [(path, method) for path, handlers in TABLE for method in handlers]
WRONG_METHODS = [(path, method) for path, handlers in TABLE for method in METHODS
                 if method not in handlers]
MODULE_ROUTES = [(path, method) for path, method in CRM_ROUTES if "{module}" in path]
BODY_ROUTES = [(path, method) for path, method in CRM_ROUTES if method in {"POST", "PUT",
                                                                           "PATCH"}]
# Routes whose valid request World knows how to build (routes added later get the generic checks).
KNOWN_ROUTES = frozenset({
    ("/oauth/v2/token", "POST"),
    ("/crm/{version}/settings/modules", "GET"), ("/crm/{version}/settings/modules", "POST"),
    ("/crm/{version}/settings/modules/{api_name}", "GET"),
    ("/crm/{version}/settings/fields", "GET"), ("/crm/{version}/settings/fields", "POST"),
    ("/crm/{version}/settings/fields/{field_id}", "GET"),
    ("/crm/{version}/settings/fields/{field_id}", "PATCH"),
    ("/crm/{version}/settings/fields/{field_id}", "PUT"),
    ("/crm/{version}/settings/layouts", "GET"), ("/crm/{version}/settings/custom_views", "GET"),
    ("/crm/{version}/settings/custom_views/{view_id}", "GET"), ("/crm/{version}/users", "GET"),
    ("/crm/{version}/users/{user_id}", "GET"), ("/crm/{version}/org", "GET"),
    ("/crm/{version}/{module}/upsert", "POST"), ("/crm/{version}/{module}/search", "GET"),
    ("/crm/{version}/{module}/deleted", "GET"), ("/crm/{version}/{module}/actions/count", "GET"),
    ("/crm/{version}/{module}/{record_id}", "GET"), ("/crm/{version}/{module}/{record_id}", "PUT"),
    ("/crm/{version}/{module}/{record_id}", "DELETE"), ("/crm/{version}/{module}", "GET"),
    ("/crm/{version}/{module}", "POST"), ("/crm/{version}/{module}", "PUT"),
    ("/crm/{version}/{module}", "DELETE"),
    ("/crm/{version}/users/actions/count", "GET"), ("/crm/{version}/settings/roles", "GET"),
    ("/crm/{version}/settings/roles/{role_id}", "GET"),
    ("/crm/{version}/settings/profiles", "GET"),
    ("/crm/{version}/settings/profiles/{profile_id}", "GET"),
})
DATETIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def _route_id(route: tuple[str, str]) -> str:
    return f"{route[1]} {route[0]}"


# ----------------------------------------------------------------------------- shape comparison
def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


EXACT_KEYS = frozenset({"code", "status", "message", "action", "duplicate_field", "json_path",
                        "expected_data_type", "maximum_length", "resource_path_index",
                        "token_type", "expires_in"})


def assert_same_shape(actual: Any, golden: Any, path: str = "$", *,
                      exact: frozenset[str] = EXACT_KEYS, extra: frozenset[str] = frozenset(),
                      loose: frozenset[str] = frozenset()) -> None:
    """Same keys at every level and the same JSON types as a documented Zoho sample.

    Concrete ids, times and names are ignored, but their formats are not: a golden digit string
    needs a digit string, a golden datetime a datetime with offset. Values under the keys in
    `exact` (codes, messages, json paths ...) must be equal. `extra` names keys the answer may
    carry beyond the sample (documented by the OAS but absent from this sample); under the keys
    in `loose` either side may be null (what Zoho fills only when a feature is configured).
    """
    if path.rsplit(".", 1)[-1] in loose and (actual is None or golden is None):
        return
    assert _kind(actual) == _kind(golden), f"{path}: {actual!r} is not like {golden!r}"
    if isinstance(golden, dict):
        missing, surplus = set(golden) - set(actual), set(actual) - set(golden) - extra
        assert not missing and not surplus, (
            f"{path}: keys differ; missing {sorted(missing)}, extra {sorted(surplus)}")
        for key, value in golden.items():
            if key in exact and not isinstance(value, dict | list):
                assert actual[key] == value, f"{path}.{key}: {actual[key]!r} != {value!r}"
            assert_same_shape(actual[key], value, f"{path}.{key}", exact=exact, extra=extra,
                              loose=loose)
    elif isinstance(golden, list):
        if not golden:
            return
        if len(actual) == len(golden):
            pairs = list(zip(actual, golden, strict=True))
        else:
            pairs = [(a, golden[0]) for a in actual]
        assert pairs, f"{path}: empty list where the sample has items"
        for i, (a, g) in enumerate(pairs):
            assert_same_shape(a, g, f"{path}[{i}]", exact=exact, extra=extra, loose=loose)
    elif isinstance(golden, str):
        if golden.isdigit():
            assert actual.isdigit(), f"{path}: {actual!r} is not a digit string"
        if DATETIME_RE.match(golden):
            assert DATETIME_RE.match(actual), f"{path}: {actual!r} is not a Zoho datetime"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def test_shape_helper_catches_differences() -> None:
    sample = golden("insert_success")
    assert_same_shape(sample, sample)
    wrong_id = json.loads(json.dumps(sample))
    wrong_id["data"][0]["details"]["id"] = 5725767000000524157
    extra_key = json.loads(json.dumps(sample))
    extra_key["data"][0]["extra"] = 1
    bad_time = json.loads(json.dumps(sample))
    bad_time["data"][0]["details"]["Created_Time"] = "2023-05-10 01:10:47"
    text_id = json.loads(json.dumps(sample))
    text_id["data"][0]["details"]["id"] = "abc"
    other_code = json.loads(json.dumps(sample))
    other_code["data"][0]["code"] = "OK"
    bads: list[Any] = [wrong_id, extra_key, bad_time, text_id, other_code, {"data": []}]
    for bad in bads:
        with pytest.raises(AssertionError):
            assert_same_shape(bad, sample)
    # `extra` admits named keys only; `loose` lets a named key be null on either side.
    assert_same_shape(extra_key, sample, extra=frozenset({"extra"}))
    with pytest.raises(AssertionError):
        assert_same_shape(extra_key, sample, extra=frozenset({"other"}))
    null_by = json.loads(json.dumps(sample))
    null_by["data"][0]["details"]["Created_By"] = None
    assert_same_shape(null_by, sample, loose=frozenset({"Created_By"}))
    assert_same_shape(sample, null_by, loose=frozenset({"Created_By"}))
    with pytest.raises(AssertionError):
        assert_same_shape(null_by, sample, loose=frozenset({"Modified_By"}))
    text_by = json.loads(json.dumps(sample))
    text_by["data"][0]["details"]["Created_By"] = "Patricia"
    with pytest.raises(AssertionError):
        assert_same_shape(text_by, sample, loose=frozenset({"Created_By"}))


# ----------------------------------------------------------------------------- sweep helpers
class World:
    """Concrete values for every path parameter, taken from a seeded database."""

    def __init__(self, api: Api) -> None:
        self.api = api
        (self.record_id,) = api.insert("Leads", {"Last_Name": "Daly", "Company": "Zylker",
                                                 "Email": "daly@zylker.com"})
        fields = api.get("settings/fields", params={"module": "Leads"}).json()["fields"]
        self.field_id = next(f["id"] for f in fields if f["api_name"] == "Company")
        views = api.get("settings/custom_views", params={"module": "Leads"}).json()
        self.view_id = views["custom_views"][0]["id"]
        (me,) = api.get("users", params={"type": "CurrentUser"}).json()["users"]
        self.user_id = me["id"]
        self.values = {"version": "v2", "module": "Leads", "api_name": "Leads",
                       "field_id": self.field_id, "view_id": self.view_id,
                       "user_id": self.user_id, "record_id": self.record_id,
                       "id": self.record_id, "job_id": "1", "related_list": "Notes",
                       "role_id": me["role"]["id"], "profile_id": me["profile"]["id"]}

    def url(self, template: str, **override: str) -> str:
        values = {**self.values, **override}
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), self.record_id), template)

    def params(self, template: str, method: str) -> dict[str, str]:
        if "/settings/" in template and "/settings/modules" not in template:
            return {"module": "Leads"}
        if template.endswith("/search"):
            return {"criteria": "(Last_Name:equals:Daly)"}
        if template.endswith("{module}") and method == "DELETE":
            return {"ids": self.record_id}
        return {}

    def body(self, template: str, method: str) -> Any:
        if method not in {"POST", "PUT", "PATCH"}:
            return None
        if template.endswith("/settings/modules"):
            return {"modules": [{"singular_label": "Vehicle", "plural_label": "Vehicles"}]}
        if template.endswith("/settings/fields"):
            return {"fields": [{"field_label": "Sweep", "data_type": "text"}]}
        if "/settings/fields/" in template:
            return {"fields": [{"unique": False}]}
        if template.endswith("{module}") and method == "PUT":
            return {"data": [{"id": self.record_id, "Company": "Zoho"}]}
        return {"data": [{"Last_Name": "Sweep", "Company": "Zoho"}]}

    def send(self, template: str, method: str, *, token: str | None = "default",
             content: bytes | None = None, **override: str) -> Any:
        headers = {} if token is None else self.api.headers(
            None if token == "default" else token)
        kwargs: dict[str, Any] = {"params": self.params(template, method), "headers": headers}
        if content is not None:
            kwargs["content"] = content
        elif (body := self.body(template, method)) is not None:
            kwargs["json"] = body
        return self.api.client.request(method, self.url(template, **override), **kwargs)


@pytest.fixture
def world(api: Api) -> World:
    return World(api)


def assert_zoho_response(r: Any) -> Any:
    """Every answer: JSON with the right content type (or no body at all), never a 500."""
    assert r.status_code < 500, r.text
    if r.status_code in (204, 304):
        assert r.content == b""
        return None
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body, dict)
    if r.status_code >= 400:
        if set(body) == ERROR_KEYS:
            entries = [body]
        else:
            # Wrapped per-item results: `{"data": [...]}`, or one object under the envelope
            # key where Zoho documents that (`{"duplicate_check_preference": {...}}`, facts §4).
            (wrapped,) = body.values()
            entries = wrapped if isinstance(wrapped, list) else [wrapped]
        for entry in entries:
            assert ERROR_KEYS <= set(entry), body
            assert entry["status"] in {"error", "success"}, body
            assert isinstance(entry["details"], dict), body
        assert any(e["status"] == "error" for e in entries), body
    return body


# ----------------------------------------------------------------------------- the sweep
@pytest.mark.parametrize("route", CRM_ROUTES, ids=_route_id)
def test_auth_errors_on_every_route(corral: Corral, world: World,
                                    route: tuple[str, str]) -> None:
    r = world.send(*route, token=None)
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == golden("error_authentication_failure")
    r = world.send(*route, token="1000.0123456789abcdef.0123456789abcdef")
    assert (r.status_code, r.json()) == (401, golden("error_invalid_token"))
    r = world.send(*route, token=make_token(corral, ["ZohoCRM.nothing.READ"]))
    assert r.status_code == 401, r.text
    assert_same_shape(r.json(), golden("error_oauth_scope_mismatch"))
    assert world.api.get("Leads/actions/count").json() == {"count": 1}


@pytest.mark.parametrize("route", CRM_ROUTES, ids=_route_id)
def test_unsupported_version_is_invalid_url_pattern(world: World,
                                                    route: tuple[str, str]) -> None:
    for version in ("v9", "v1", "v2.2", "v10", "vx", "V2"):
        r = world.send(*route, version=version)
        assert r.status_code == 404, (version, r.text)
        body = assert_zoho_response(r)
        assert body["code"] == "INVALID_URL_PATTERN"
        assert body["message"] == "Please check if the URL trying to access is a correct one"
    assert world.api.get("Leads/actions/count").json() == {"count": 1}


@pytest.mark.parametrize("version", ["v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8"])
def test_every_documented_version_is_served(api: Api, version: str) -> None:
    api.insert("Leads", {"Last_Name": "Daly"})
    r = api.client.get(f"/crm/{version}/Leads/actions/count", headers=api.headers())
    assert r.json() == {"count": 1}


@pytest.mark.parametrize("path", [
    "/", "/crm", "/crm/v2", "/crm/v2/Leads/1/2/3", "/crm/v2/Leads/1/actions/nope",
    "/nothing", "/oauth/v2/nope", "/crm/v2/settings/nope/1/2", "/crm/v2/settings/fields/1/x",
])
def test_unknown_path_is_invalid_url_pattern(api: Api, path: str) -> None:
    for method in METHODS:
        r = api.client.request(method, path, headers=api.headers())
        assert r.status_code == 404, (method, r.text)
        assert assert_zoho_response(r)["code"] == "INVALID_URL_PATTERN"


@pytest.mark.parametrize("path", [p for p, handlers in TABLE if set(METHODS) - set(handlers)])
def test_wrong_method_is_invalid_request_method(world: World, path: str) -> None:
    for wrong_path, method in WRONG_METHODS:
        if wrong_path != path:
            continue
        r = world.send(path, method)
        assert r.status_code == 400, (method, r.text)
        body = assert_zoho_response(r)
        assert body == {"code": "INVALID_REQUEST_METHOD", "details": {},
                        "message": "The http request method type is not a valid one",
                        "status": "error"}


def test_wrong_method_changes_nothing(world: World) -> None:
    world.send("/crm/{version}/{module}/{record_id}", "POST")
    world.send("/crm/{version}/{module}/{record_id}", "PATCH")
    world.send("/crm/{version}/{module}", "PATCH")
    assert world.api.get("Leads/actions/count").json() == {"count": 1}
    assert world.api.get(f"Leads/{world.record_id}").json()["data"][0]["Company"] == "Zylker"


def assert_accounts_response(r: Any) -> None:
    """Zoho Accounts' part (`/oauth/...`): JSON, an error only as `{"error": code}`, or the
    authorize endpoint's redirect back to the client."""
    assert r.status_code < 500, r.text
    if r.status_code == 302:
        assert r.headers["location"]
        return
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body, dict)
    if "error" in body:
        assert set(body) == {"error"} and isinstance(body["error"], str), body


@pytest.mark.parametrize("route", ALL_ROUTES, ids=_route_id)
def test_valid_request_on_every_route_is_a_zoho_response(world: World,
                                                         route: tuple[str, str]) -> None:
    r = world.send(*route)
    if route[0].startswith("/oauth/"):
        assert_accounts_response(r)
        return
    assert_zoho_response(r)
    if route in KNOWN_ROUTES:
        assert r.status_code < 300, r.text


def test_known_routes_are_still_in_the_table() -> None:
    assert KNOWN_ROUTES <= set(ALL_ROUTES)


@pytest.mark.parametrize("route", MODULE_ROUTES, ids=_route_id)
def test_unknown_module_is_invalid_module(world: World, route: tuple[str, str]) -> None:
    for module in ("Nope", "Lead", "settings", "Leads2"):
        r = world.send(*route, module=module)
        assert r.status_code == 400, (module, r.text)
        assert r.json() == golden("error_invalid_module")


def test_authentication_comes_before_the_module_check(world: World) -> None:
    for route in MODULE_ROUTES:
        r = world.send(*route, token=None, module="Nope")
        assert (r.status_code, r.json()) == (401, golden("error_authentication_failure")), route


@pytest.mark.parametrize("route", MODULE_ROUTES, ids=_route_id)
def test_module_names_are_case_insensitive(world: World, route: tuple[str, str]) -> None:
    r = world.send(*route, module="leads")
    body = assert_zoho_response(r)
    if route in KNOWN_ROUTES:
        assert r.status_code < 300, r.text
    else:
        assert body is None or body.get("code") != "INVALID_MODULE", body


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_route_id)
def test_invalid_json_body_is_unable_to_parse(world: World, route: tuple[str, str]) -> None:
    for content in (b"{", b"{\"data\": [}", b"not json", b"\xff\xfe", b"[1,2", b"'single'",
                    b"{\"data\": [{\"Last_Name\": \"x\"}]} trailing"):
        r = world.send(*route, content=content)
        assert r.status_code == 400, (content, r.text)
        body = assert_zoho_response(r)
        assert body["code"] == "UNABLE_TO_PARSE_DATA_TYPE", (content, body)
    assert world.api.get("Leads/actions/count").json() == {"count": 1}


ODD_BODIES: list[Any] = [
    None, [], {}, "text", 1, True, [{"Last_Name": "x"}],
    {"data": None}, {"data": {}}, {"data": "x"}, {"data": [None]}, {"data": [1]},
    {"data": [[]]}, {"data": [{"Last_Name": None}]}, {"data": [{"Last_Name": ["x"]}]},
    {"data": [{"Last_Name": {"x": 1}}]}, {"data": [{"id": "abc", "Last_Name": "x"}]},
    {"data": [{"id": -5, "Last_Name": "x"}]}, {"data": [{"id": 2**70, "Last_Name": "x"}]},
    {"data": [{"Last_Name": "x"}], "trigger": "workflow"},
    {"data": [{"Last_Name": "x"}], "duplicate_check_fields": "Email"},
    {"data": [{"Last_Name": "x"}], "duplicate_check_fields": [1, None]},
    {"data": [{"Last_Name": "x", "$append_values": "x"}]},
    {"fields": None}, {"fields": [None]}, {"fields": "x"},
    {"fields": [{"field_label": ["x"], "data_type": {"a": 1}}]},
    {"fields": [{"field_label": "X", "data_type": "text", "length": 1e400}]},
    {"fields": [{"field_label": "X", "data_type": "picklist", "pick_list_values": "a"}]},
    {"fields": [{"field_label": "X", "data_type": "picklist", "pick_list_values": [1, None]}]},
    {"fields": [{"field_label": "X", "data_type": "lookup", "lookup": "Contacts"}]},
    {"fields": [{"field_label": "X", "data_type": "lookup", "lookup": {"module": "Contacts"}}]},
    {"fields": [{"field_label": "X", "data_type": []}]},
    {"fields": [{"field_label": "X", "data_type": "picklist", "pick_list_values": 5}]},
    {"fields": [{"field_label": "X", "data_type": "picklist", "pick_list_values": {"a": 1}}]},
    {"fields": [{"field_label": "X", "data_type": "lookup", "lookup": 5}]},
    {"fields": [{"field_label": "X", "data_type": "lookup", "lookup": {"module": 5}}]},
    {"fields": [{"field_label": "X", "data_type": "lookup", "lookup": {"module": ["x"]}}]},
    {"fields": [{"field_label": "X", "data_type": "text", "api_name": {"a": 1}}]},
    {"fields": [{"unique": None}]}, {"fields": [{"unique": [1]}]},
    {"modules": None}, {"modules": [None]}, {"modules": [{"plural_label": {"a": 1}}]},
    {"modules": [{"singular_label": "X", "plural_label": "Xs", "api_name": ["x"]}]},
]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_route_id)
def test_odd_json_bodies_never_cause_a_server_error(world: World, route: tuple[str, str]) -> None:
    for body in ODD_BODIES:
        r = world.send(*route, content=json.dumps(body).encode())
        try:
            assert_zoho_response(r)
        except AssertionError as exc:
            raise AssertionError(f"body {body!r}: {exc}") from None


@pytest.mark.parametrize("route", [r for r in CRM_ROUTES if r[1] in {"GET", "DELETE"}],
                         ids=_route_id)
def test_odd_query_parameters_never_cause_a_server_error(world: World,
                                                         route: tuple[str, str]) -> None:
    odd = [{"page": "0"}, {"page": "-1"}, {"page": "x"}, {"per_page": "99999999999999999999"},
           {"page": "99999999999999999999"}, {"sort_by": "Email"}, {"sort_order": "up"},
           {"fields": ","}, {"fields": "Nope"}, {"ids": "x,y"}, {"ids": ""}, {"cvid": "x"},
           {"cvid": "1234567890123456789"}, {"criteria": "((("}, {"type": "x"},
           {"module": "Nope"}, {"module": ""}, {"converted": "maybe"}, {"approved": "x"},
           {"email": "\x00"}, {"word": "a"}, {"phone": "%"}]
    for params in odd:
        url = world.url(route[0])
        r = world.api.client.request(route[1], url, params={**world.params(*route), **params},
                                     headers=world.api.headers())
        try:
            assert_zoho_response(r)
        except AssertionError as exc:
            raise AssertionError(f"params {params!r}: {exc}") from None


def test_token_endpoint_answers_json_whatever_the_form(api: Api) -> None:
    for content in (b"", b"garbage", b"\xff\xfe", b"grant_type=authorization_code",
                    b"client_id=%ZZ&client_secret=x", b'{"grant_type": "refresh_token"}'):
        r = api.client.post("/oauth/v2/token", content=content,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/json")
        assert set(r.json()) == {"error"}


# ----------------------------------------------------------------------------- internal errors
def test_unexpected_exception_is_internal_error_without_details(
        api: Api, corral: Corral, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("SELECT secret FROM oauth_tokens -- kaboom")

    monkeypatch.setattr(corral.query, "count", boom)
    monkeypatch.setattr(corral.records, "insert", boom)
    with caplog.at_level(logging.ERROR, logger="corral.api"):
        for r in (api.get("Leads/actions/count"),
                  api.post("Leads", json={"data": [{"Last_Name": "x"}]})):
            assert r.status_code == 500
            assert r.headers["content-type"].startswith("application/json")
            assert r.json() == golden("error_internal")
            for leak in ("Traceback", "kaboom", "secret", "RuntimeError", "File "):
                assert leak not in r.text
            request_id = r.headers.get("x-request-id")
            assert request_id
            assert request_id in caplog.text
    assert "kaboom" in caplog.text  # the log keeps what the body hides


def test_internal_error_in_a_settings_handler(api: Api, corral: Corral,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise KeyError("kaboom")

    monkeypatch.setattr(corral.metadata, "add_field", boom)
    r = api.post("settings/fields", params={"module": "Leads"},
                 json={"fields": [{"field_label": "X", "data_type": "text"}]})
    assert (r.status_code, r.json()) == (500, golden("error_internal"))
    assert "kaboom" not in r.text


# ----------------------------------------------------------------------------- golden samples
def test_golden_insert(api: Api) -> None:
    r = api.post("Leads", json={"data": [{"Last_Name": "Boyle"}]})
    assert r.status_code == 201
    assert_same_shape(r.json(), golden("insert_success"))


def test_golden_update_and_delete(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Boyle"})
    r = api.put(f"Leads/{rid}", json={"data": [{"Last_Name": "Daly"}]})
    assert_same_shape(r.json(), golden("update_success"))
    r = api.put("Leads", json={"data": [{"id": rid, "Last_Name": "Dale"}]})
    assert_same_shape(r.json(), golden("update_success"))
    r = api.delete("Leads", params={"ids": rid})
    assert_same_shape(r.json(), golden("delete_success"))


@pytest.fixture(params=["v2", "v8"])
def upserted(api: Api, request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    api.version = request.param
    api.insert("Leads", {"Last_Name": "Boyle", "Email": "p.boyle@zylker.com"})
    r = api.post("Leads/upsert", json={"data": [
        {"Last_Name": "Boyle", "Email": "P.Boyle@zylker.com", "Company": "Zylker"},
        {"Last_Name": "Daly", "Email": "paul@zylker.com"}]})
    assert r.status_code == 200
    assert set(r.json()) == {"data"}
    return list(r.json()["data"])


def test_golden_upsert_update_entry(upserted: list[dict[str, Any]]) -> None:
    assert_same_shape(upserted[0], golden("upsert_success")["data"][0])


def test_golden_upsert_insert_entry(upserted: list[dict[str, Any]]) -> None:
    assert_same_shape(upserted[1], golden("upsert_success")["data"][1])


def _number_1(api: Api) -> None:
    r = api.post("settings/fields", params={"module": "Leads"}, json={"fields": [
        {"field_label": "Number 1", "data_type": "integer", "length": 2}]})
    assert r.status_code == 201, r.text


def test_golden_per_record_errors(api: Api) -> None:
    _number_1(api)
    r = api.post("Leads", json={"data": [{"Last_Name": "x", "Number_1": "ten"}]})
    assert_same_shape(r.json()["data"][0], golden("error_invalid_data_type"))
    r = api.post("Leads", json={"data": [{"Last_Name": "x", "Number_1": 100}]})
    assert_same_shape(r.json()["data"][0], golden("error_invalid_data_length"))
    r = api.post("Leads", json={"data": [{"Company": "x"}]})
    assert_same_shape(r.json()["data"][0], golden("error_mandatory_not_found"))


def test_golden_duplicate_data(api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Boyle", "Email": "p.boyle@zylker.com"})
    r = api.post("Leads", json={"data": [{"Last_Name": "x", "Email": "p.boyle@zylker.com"}]})
    assert r.status_code == 400
    (entry,) = r.json()["data"]
    assert_same_shape(entry, golden("error_duplicate_data"),
                      exact=EXACT_KEYS | {"api_name"} - {"more_records"})


def test_golden_multiple_errors(api: Api) -> None:
    r = api.post("settings/fields", params={"module": "Leads"}, json={"fields": [
        {"field_label": "Customer Code", "data_type": "text", "unique": True}]})
    assert r.status_code == 201
    api.insert("Leads", {"Last_Name": "Boyle", "Email": "p.boyle@zylker.com",
                         "Customer_Code": "C1"})
    r = api.post("Leads", json={"data": [{"Last_Name": "x", "Email": "p.boyle@zylker.com",
                                          "Customer_Code": "C1"}]})
    (entry,) = r.json()["data"]
    assert_same_shape(entry, golden("error_multiple_or_multi_errors"),
                      exact=EXACT_KEYS - {"json_path"})
    assert {e["details"]["api_name"] for e in entry["details"]["errors"]} == {
        "Email", "Customer_Code"}


def test_golden_request_level_errors(corral: Corral, api: Api) -> None:
    r = api.client.get("/crm/v2/Leads")
    assert r.json() == golden("error_authentication_failure")
    r = api.get("Leads", token="1000.nope.nope")
    assert r.json() == golden("error_invalid_token")
    r = api.get("Leads", token=make_token(corral, ["ZohoCRM.modules.contacts.ALL"]))
    assert_same_shape(r.json(), golden("error_oauth_scope_mismatch"))
    r = api.get("Leads/1234567890123456789")
    assert r.json() == golden("error_invalid_url_id")
    r = api.put("Leads/1234567890123456789", json={"data": [{"Last_Name": "x"}]})
    assert r.json() == golden("error_invalid_url_id")
    r = api.delete("Leads/1234567890123456789")
    assert r.json() == golden("error_invalid_url_id")
    r = api.get("Nope")
    assert r.json() == golden("error_invalid_module")


def test_golden_no_permission(corral: Corral, api: Api) -> None:
    import sqlalchemy as sa

    from corral.storage import tables as t

    user = corral.auth.create_user("viewer@zylker.com", "Viewer")
    with corral.db.write() as conn:
        conn.execute(sa.update(t.profiles).where(t.profiles.c.id == user.profile_id).values(
            permissions={"admin": False, "modules": {"*": []}, "read_only_fields": {}}))
    r = api.get("Leads", token=make_token(corral, email="viewer@zylker.com"))
    assert r.status_code == 403
    assert r.json() == golden("error_no_permission")


def test_golden_pages_and_counts(api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Boyle"})
    body = api.get("Leads").json()
    assert set(body) == {"data", "info"}
    assert_same_shape({"info": body["info"]}, golden("records_info_v2"))
    assert_same_shape(api.get("Leads/actions/count").json(), golden("count"))
    body = api.get("settings/custom_views", params={"module": "Leads"}).json()
    assert_same_shape({"info": body["info"]}, golden("custom_views_info"))
    body = api.get("users").json()
    assert_same_shape({"info": body["info"]}, golden("users_info"))
    status = next(f for f in api.get("settings/fields", params={"module": "Leads"})
                  .json()["fields"] if f["api_name"] == "Lead_Status")
    for value in status["pick_list_values"]:
        assert_same_shape(value, golden("pick_list_value"), exact=frozenset())


def test_golden_token_responses(corral: Corral, api: Api) -> None:
    client_id, secret = corral.auth.create_client()
    code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL")
    r = api.client.post("/oauth/v2/token", data={
        "grant_type": "authorization_code", "client_id": client_id, "client_secret": secret,
        "code": code})
    issued = r.json()
    # Zoho "often" adds `scope` (facts §8.1); every other key is as documented.
    assert_same_shape({k: v for k, v in issued.items() if k != "scope"},
                      golden("oauth_token_code"))
    r = api.client.post("/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": client_id, "client_secret": secret,
        "refresh_token": issued["refresh_token"]})
    assert_same_shape({k: v for k, v in r.json().items() if k != "scope"},
                      golden("oauth_token_refresh"))


def test_trailing_slash_is_not_a_redirect(api: Api) -> None:
    r = api.client.get("/crm/v2/Leads/", headers=api.headers(), follow_redirects=False)
    assert r.status_code == 404
    assert r.json()["code"] == "INVALID_URL_PATTERN"

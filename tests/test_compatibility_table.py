"""COMPATIBILITY.md's generated endpoint table is fresh, and the route matcher behind it works."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest

from corral.api.routes import TABLE, build_routes
from corral.services import Corral

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compat_table.py"


def _load_script() -> ModuleType:
    # scripts/ is not a package; dataclasses need the module registered before it runs.
    spec = importlib.util.spec_from_file_location("compat_table", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ct: Any = _load_script()


def _routes(*entries: tuple[str, tuple[str, ...]]) -> list[Any]:
    return [ct.CorralRoute(path, methods) for path, methods in entries]


@pytest.fixture(scope="module")
def oas_dir() -> Path:
    if not ct.DEFAULT_OAS.is_dir():
        reason = (f"Zoho's OpenAPI folder {ct.DEFAULT_OAS} is missing (CI puts shared/ beside the "
                  "clone)")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return cast(Path, ct.DEFAULT_OAS)


def test_committed_table_is_fresh(oas_dir: Path) -> None:
    committed = ct.committed_section(ct.DOC.read_text(encoding="utf-8"))
    generated = ct.generate(oas_dir)
    assert committed == generated, (
        "COMPATIBILITY.md's endpoint table is stale (routes, Zoho's OpenAPI or "
        "scripts/compat_notes.toml changed): run `python scripts/compat_table.py --write` "
        "and commit the result")


def test_every_operation_is_listed(oas_dir: Path) -> None:
    ops = ct.load_operations(oas_dir)
    section = ct.generate(oas_dir)
    assert len(ops) == 423  # Zoho's README for the copied folder counts 423 operations
    assert len({op.file for op in ops}) == 102
    for op in ops:
        assert f"`{op.method} {op.path}`" in section


def test_script_reads_the_routes_the_app_serves() -> None:
    # The script reads TABLE; the app is built by build_routes. Corral is only closed over by
    # each endpoint, so a stand-in without a database is enough to list the paths.
    routes = build_routes(cast(Corral, object()))
    assert [r.path for r in routes] == [r.path for r in ct.corral_routes()]
    assert [set(r.methods) for r in ct.corral_routes()] == [set(h) for _, h in TABLE]


def test_corral_param_matches_zoho_param_and_literal_module() -> None:
    routes = _routes(("/crm/{version}/{module}/{record_id}/actions/convert", ("POST",)))
    assert ct.serving_route(routes, "POST", "/crm/v8/{module_api_name}/{id}/actions/convert")
    assert ct.serving_route(routes, "POST", "/crm/v8/Leads/{lead_id}/actions/convert")
    # Module names are case-insensitive in Corral's URLs.
    assert ct.serving_route(routes, "POST", "/crm/v8/leads/{lead_id}/actions/convert")


def test_literal_that_is_no_module_is_not_served() -> None:
    routes = _routes(("/crm/{version}/{module}", ("GET",)),
                     ("/crm/{version}/{module}/{record_id}", ("GET",)))
    assert ct.serving_route(routes, "GET", "/crm/v8/Activities") is None  # no such module
    assert ct.serving_route(routes, "GET", "/crm/v8/settings/tags") is None
    assert ct.serving_route(routes, "GET", "/crm/v8/Contacts") is not None
    assert ct.serving_route(routes, "GET", "/crm/v8/Contacts/{id}") is not None
    # A literal where Corral expects an id is another resource, not a record.
    assert ct.serving_route(routes, "GET", "/crm/v8/Contacts/roles") is None


def test_zoho_param_never_matches_corral_literal() -> None:
    routes = _routes(("/crm/{version}/{module}/upsert", ("POST",)))
    assert ct.serving_route(routes, "POST", "/crm/v8/{module_api_name}/upsert")
    assert ct.serving_route(routes, "POST", "/crm/v8/{module_api_name}/{id}") is None
    literal = _routes(("/crm/{version}/users", ("GET",)))
    assert ct.serving_route(literal, "GET", "/crm/v8/{module_api_name}") is None


def test_method_must_match() -> None:
    routes = _routes(("/crm/{version}/settings/fields/{field_id}", ("GET", "PATCH", "PUT")))
    assert ct.serving_route(routes, "PATCH", "/crm/v8/settings/fields/{field}")
    assert ct.serving_route(routes, "DELETE", "/crm/v8/settings/fields/{field}") is None


def test_version_prefix_covers_v8_only() -> None:
    routes = _routes(("/crm/{version}/{module}", ("POST",)),
                     ("/crm/{version}/{module}/{record_id}", ("GET",)))
    assert ct.serving_route(routes, "POST", "/crm/v8/{module_api_name}")
    assert ct.serving_route(routes, "POST", "/crm/v2.1/{module_api_name}")
    # /crm/bulk/v8/read fits /crm/{version}/{module}/{record_id}, but `bulk` is no version.
    assert ct.serving_route(routes, "GET", "/crm/bulk/v8/read") is None
    assert ct.serving_route(routes, "GET", "/crm/v9/{module_api_name}/{id}") is None


def test_first_matching_path_decides_like_starlette() -> None:
    # Starlette stops at the first path that matches; a later route cannot rescue the request.
    routes = _routes(("/crm/{version}/{module}/{record_id}", ("GET",)),
                     ("/crm/{version}/users/{user_id}", ("GET",)))
    assert ct.serving_route(routes, "GET", "/crm/v8/users/{user}") is None
    assert ct.serving_route(list(reversed(routes)), "GET", "/crm/v8/users/{user}")
    shadow = _routes(("/crm/{version}/{module}/search", ("GET",)),
                     ("/crm/{version}/{module}/{record_id}", ("GET", "POST")))
    assert ct.serving_route(shadow, "POST", "/crm/v8/{module_api_name}/search") is None


def _op(method: str, path: str) -> Any:
    return ct.ZohoOperation("x.json", method, path, "Op", "")


def test_notes_that_name_nothing_fail() -> None:
    routes = _routes(("/crm/{version}/{module}", ("GET", "POST")))
    ops = [_op("GET", "/crm/v8/{module_api_name}")]
    with pytest.raises(ValueError, match="no operation"):
        ct.classify(ops, routes, ct.Notes({"GET /crm/v8/gone": "x"}, {}, {}))
    with pytest.raises(ValueError, match="reaches no Corral route"):
        ct.classify(ops, routes, ct.Notes({}, {"GET /crm/v8/{module_api_name}/x": "x"}, {}))
    with pytest.raises(ValueError, match="no Corral-only endpoint"):
        ct.classify(ops, routes, ct.Notes({}, {}, {"GET /crm/{version}/{module}": "x"}))


def test_unserved_note_turns_a_routed_operation_into_not_served() -> None:
    routes = _routes(("/crm/{version}/{module}", ("GET", "POST")))
    ops = [_op("GET", "/crm/v8/{module_api_name}"), _op("GET", "/crm/v8/coql")]
    notes = ct.Notes({}, {"GET /crm/v8/{module_api_name}": "refused"},
                     {"POST /crm/{version}/{module}": "Corral only"})
    rows, extra = ct.classify(ops, routes, notes)
    assert [(r.served, r.routed, r.note) for r in rows] == [
        (False, True, "refused"), (False, False, "")]
    assert [(r.path, m) for r, m in extra] == [("/crm/{version}/{module}", "POST")]
    text = ct.render(rows, extra, notes)
    assert text.startswith("**0 of 2 Zoho v8 operations served (0.0%)**")
    assert "| `POST /crm/{version}/{module}` | ➕ | Corral only |" in text


def test_pipes_in_notes_are_escaped() -> None:
    routes = _routes(("/crm/{version}/{module}", ("GET",)))
    ops = [_op("GET", "/crm/v8/{module_api_name}")]
    notes = ct.Notes({"GET /crm/v8/{module_api_name}": "`a|b`"}, {}, {})
    text = ct.render(*ct.classify(ops, routes, notes), notes)
    assert "| ✅ | `a\\|b` |" in text


def test_section_replacement_keeps_the_rest_of_the_document() -> None:
    doc = f"intro\n{ct.BEGIN}\nold\n{ct.END}\n\n## Behaviours\n"
    new = ct.replace_section(doc, "new table")
    assert new == f"intro\n{ct.BEGIN}\nnew table\n{ct.END}\n\n## Behaviours\n"
    assert ct.committed_section(new) == "new table"
    with pytest.raises(ValueError, match="markers"):
        ct.committed_section("no markers here")

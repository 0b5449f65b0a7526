"""Zoho's OpenAPI v8 files, reduced to the operations Corral serves, as self-contained documents.

Zoho splits its spec over 102 files that refer to each other by absolute GitHub URLs
(`https://raw.githubusercontent.com/.../v8.0/common.json#/components/schemas/X`). The fuzzer must
never touch the network, so each file that has a served operation becomes one document whose
components are copied in from every file they reach, renamed `<file>__<name>` and referred to
locally. Nothing in a schema is changed beyond that: spec quirks are handled by the reviewed
allow-list (tests/contract/allowlist.py), not by editing the spec.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from corral.api.routes import TABLE

REPO_ROOT = Path(__file__).resolve().parents[2]
# In CI the repository is a fresh clone with a copy of shared/ beside it.
DEFAULT_OAS_DIR = REPO_ROOT.parent / "shared" / "reference" / "zoho-oas-v8"
METHODS = ("get", "post", "put", "patch", "delete")
_REF = re.compile(r"^(?:https://raw\.githubusercontent\.com/[^#]*/(?P<file>[\w.-]+)\.json)?"
                  r"#/components/(?P<kind>\w+)/(?P<name>.+)$")
# Modules a literal OAS segment may name where Corral routes `{module}` (convert_lead.json uses
# `/crm/v8/Leads/{lead_id}/actions/convert`); any other literal there is not a module to Corral.
SEEDED_MODULES = frozenset({"Leads", "Contacts", "Accounts", "Deals"})


# Operations whose path reaches a Corral route that refuses them by design (COMPATIBILITY.md
# lists them as not served): the route answers an error, never the operation's schema.
UNSERVED: dict[str, str] = {
    "POST /crm/v8/{module_api_name}/{id}/actions/convert":
        "inventory conversion (Quotes, Sales Orders): the convert route converts Leads only",
    "GET /crm/v8/{module_api_name}/{external_field_value}":
        "external-id addressing: the record routes take record ids only",
    "PUT /crm/v8/{module_api_name}/{external_field_value}":
        "external-id addressing: the record routes take record ids only",
    "DELETE /crm/v8/{module_api_name}/{external_field_value}":
        "external-id addressing: the record routes take record ids only",
    "GET /crm/v8/settings/modules/{id}": "modules are looked up by api_name only",
    **{f"{m} /crm/v8/{{module_api_name}}/{{external_value}}/{{related_list_api_name}}{tail}":
       "external-id addressing: the related-records routes take record ids only"
       for m in ("GET", "PUT", "DELETE")
       for tail in ("", "/{external_field_value}")},
}


def oas_dir() -> Path:
    return Path(os.environ.get("CORRAL_OAS_DIR") or DEFAULT_OAS_DIR)


@dataclass(frozen=True)
class Operation:
    """One OAS operation and the Corral route that answers it."""

    file: str  # e.g. "fields" for fields.json
    method: str  # upper case
    path: str  # as in the spec: /crm/v8/settings/fields/{field}
    route: str  # Corral's template: /crm/{version}/settings/fields/{field_id}

    @property
    def label(self) -> str:
        return f"{self.file}:{self.method} {self.path}"


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _literal_fits(literal: str, param: str) -> bool:
    """Whether Corral would take this literal OAS segment as a value of its path parameter."""
    if param == "{version}":
        return literal == "v8"
    if param == "{module}":
        return literal in SEEDED_MODULES
    return False


def corral_route(method: str, path: str) -> str | None:
    """The route that serves `method path`, or None when Corral answers it with an error.

    Starlette takes the first route whose pattern matches; an OAS parameter is filled with a
    value of its kind, so it reaches a Corral parameter, never a Corral literal. A route that
    matches only because a literal lands in `{module}` (`/settings/profiles` read as module
    `settings`) is not serving that operation, and a method missing from the route's handlers
    answers INVALID_REQUEST_METHOD.
    """
    oas = _segments(path)
    for template, handlers in TABLE:
        ours = _segments(template)
        if len(ours) != len(oas):
            continue
        pairs = list(zip(oas, ours, strict=True))
        if not all(_is_param(mine) or theirs == mine for theirs, mine in pairs):
            continue  # Starlette would not dispatch here
        meant = all(_is_param(theirs) or _literal_fits(theirs, mine)
                    for theirs, mine in pairs if _is_param(mine))
        return template if meant and method.upper() in handlers else None
    return None


def _namespace(file: str, kind: str, name: str) -> str:
    return f"{file}__{name}"


def _rewrite(node: Any, file: str, wanted: set[tuple[str, str, str]]) -> Any:
    """Copy of `node` with every `$ref` made local; reached components are added to `wanted`."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                m = _REF.match(value)
                if m is None:
                    raise ValueError(f"{file}: unsupported $ref {value}")
                target = m["file"] or file
                wanted.add((target, m["kind"], m["name"]))
                out[key] = f"#/components/{m['kind']}/{_namespace(target, m['kind'], m['name'])}"
            else:
                out[key] = _rewrite(value, file, wanted)
        return out
    if isinstance(node, list):
        return [_rewrite(v, file, wanted) for v in node]
    return node


@cache
def _load(directory: Path, file: str) -> dict[str, Any]:
    with (directory / f"{file}.json").open() as fh:
        return dict(json.load(fh))


def served_operations(directory: Path | None = None) -> list[Operation]:
    directory = directory or oas_dir()
    found: list[Operation] = []
    for path in sorted(directory.glob("*.json")):
        doc = _load(directory, path.stem)
        for oas_path, item in doc.get("paths", {}).items():
            for method in METHODS:
                if f"{method.upper()} {oas_path}" in UNSERVED:
                    continue
                if method in item and (route := corral_route(method, oas_path)) is not None:
                    found.append(Operation(path.stem, method.upper(), oas_path, route))
    return found


def _components(directory: Path, seeds: set[tuple[str, str, str]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    todo = list(seeds)
    done: set[tuple[str, str, str]] = set()
    while todo:
        key = todo.pop()
        if key in done:
            continue
        done.add(key)
        file, kind, name = key
        source = _load(directory, file)["components"][kind][name]
        reached: set[tuple[str, str, str]] = set()
        out.setdefault(kind, {})[_namespace(file, kind, name)] = _rewrite(source, file, reached)
        todo.extend(reached - done)
    return out


def documents(operations: list[Operation],
              directory: Path | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """One self-contained OpenAPI document per spec file, holding only the served operations."""
    directory = directory or oas_dir()
    by_file: dict[str, list[Operation]] = {}
    for op in operations:
        by_file.setdefault(op.file, []).append(op)
    for file, ops in by_file.items():
        source = _load(directory, file)
        wanted: set[tuple[str, str, str]] = set()
        paths: dict[str, Any] = {}
        for op in ops:
            item = source["paths"][op.path]
            shared = {k: v for k, v in item.items() if k not in METHODS}
            entry = paths.setdefault(op.path, _rewrite(shared, file, wanted))
            entry[op.method.lower()] = _rewrite(item[op.method.lower()], file, wanted)
        doc = {
            "openapi": source["openapi"],
            "info": copy.deepcopy(source["info"]),
            "paths": paths,
            "components": _components(directory, wanted),
        }
        yield file, doc

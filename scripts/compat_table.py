"""Generate COMPATIBILITY.md's endpoint table: Zoho's v8 OpenAPI against Corral's route table."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from starlette.routing import compile_path

from corral.api.http import VERSIONS
from corral.api.routes import TABLE
from corral.metadata.seed_data import STANDARD_MODULES

REPO = Path(__file__).resolve().parent.parent
# CI clones the repo and puts a copy of shared/ beside the clone.
DEFAULT_OAS = REPO.parent / "shared" / "reference" / "zoho-oas-v8"
DOC = REPO / "COMPATIBILITY.md"
NOTES = REPO / "scripts" / "compat_notes.toml"
BEGIN = "<!-- BEGIN GENERATED: endpoints (python scripts/compat_table.py --write) -->"
END = "<!-- END GENERATED: endpoints -->"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")
# Module names in URLs are case-insensitive in Corral, as in Zoho.
MODULES = frozenset(m["api_name"].lower() for m in STANDARD_MODULES)
WRITE_HINT = "python scripts/compat_table.py --write"


@dataclass(frozen=True)
class ZohoOperation:
    """One operation of Zoho's OpenAPI: file, method and path as the spec spells them."""

    file: str
    method: str
    path: str
    operation_id: str
    summary: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class CorralRoute:
    """One path of Corral's route table and the methods it has handlers for."""

    path: str
    methods: tuple[str, ...]


def corral_routes() -> list[CorralRoute]:
    """Corral's routes in match order, methods from the handlers (not from Starlette's Route).

    build_routes() lets every Route take every method so that a missing handler answers Zoho's
    INVALID_REQUEST_METHOD; the served methods therefore live only in TABLE.
    """
    return [CorralRoute(path, tuple(m for m in METHODS if m in handlers))
            for path, handlers in TABLE]


def _server_path(*levels: Mapping[str, object]) -> str:
    # OpenAPI lets an operation or path item override the file's servers; the nearest wins.
    for level in levels:
        servers = level.get("servers")
        if isinstance(servers, list) and servers and isinstance(servers[0], dict):
            return urlparse(str(servers[0].get("url", ""))).path.rstrip("/")
    return ""


def load_operations(oas_dir: Path) -> list[ZohoOperation]:
    """Every operation of every OpenAPI file in oas_dir, by file name then in the file's order."""
    ops = []
    for file in sorted(oas_dir.glob("*.json")):
        spec = json.loads(file.read_text(encoding="utf-8"))
        for path, item in spec.get("paths", {}).items():
            for method, op in item.items():
                if method.upper() not in METHODS:
                    continue  # path-level "parameters", "servers", "summary" ...
                full = _server_path(op, item, spec) + path
                ops.append(ZohoOperation(file.name, method.upper(), full,
                                         str(op.get("operationId") or ""),
                                         str(op.get("summary") or "")))
    return ops


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def bind(corral_path: str, zoho_path: str) -> dict[str, str] | None:
    """Corral's path parameters as Starlette would bind them for the Zoho path, or None.

    The Zoho path is matched as text, so a Zoho `{param}` only fills a Corral `{param}` and
    never equals a Corral literal (a real id never spells `upsert`).
    """
    regex, _, _ = compile_path(corral_path)
    found = regex.match(zoho_path)
    return found.groupdict() if found else None


def accepts(params: Mapping[str, str], modules: Iterable[str] = MODULES) -> bool:
    """Whether Corral's handler takes the Zoho segments bound to its parameters."""
    for name, value in params.items():
        if _is_param(value):
            continue
        if name == "version":
            ok = value in VERSIONS  # /crm/bulk/v8, /crm/email/v8 reach {version} and are refused
        elif name == "module":
            # /Leads/... is a module Corral knows; /settings, /org, /Notes are not.
            ok = value.lower() in {m.lower() for m in modules}
        else:
            # A literal where Corral expects an id names a fixed resource (`/Contacts/roles`),
            # which the record handler would refuse as an invalid id.
            ok = False
        if not ok:
            return False
    return True


def serving_route(routes: Sequence[CorralRoute], method: str, zoho_path: str,
                  modules: Iterable[str] = MODULES) -> CorralRoute | None:
    """The Corral route that serves the Zoho operation, or None."""
    for route in routes:
        params = bind(route.path, zoho_path)
        if params is None:
            continue
        # Starlette stops at the first path that matches: every route takes every method and
        # its dispatcher answers INVALID_REQUEST_METHOD, so later routes are never tried.
        if method in route.methods and accepts(params, modules):
            return route
        return None
    return None


@dataclass(frozen=True)
class Notes:
    """Hand-written judgement the routes cannot tell, from scripts/compat_notes.toml."""

    zoho: dict[str, str]
    unserved: dict[str, str]
    corral: dict[str, str]


def load_notes(path: Path = NOTES) -> Notes:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return Notes(dict(data.get("zoho", {})), dict(data.get("unserved", {})),
                 dict(data.get("corral", {})))


@dataclass(frozen=True)
class Row:
    op: ZohoOperation
    served: bool
    routed: bool  # reaches a Corral handler, which may still refuse it ([unserved] notes)
    note: str


def _cell(text: str) -> str:
    # A bare `|` ends a Markdown table cell, even inside backticks.
    return text.replace("|", "\\|").replace("\n", " ").strip()


def classify(ops: Sequence[ZohoOperation], routes: Sequence[CorralRoute], notes: Notes,
             ) -> tuple[list[Row], list[tuple[CorralRoute, str]]]:
    """Rows for Zoho's operations and the Corral-only (route, method) pairs.

    Raises ValueError when a note names nothing, so notes cannot silently go stale.
    """
    rows = []
    used: set[tuple[str, str]] = set()
    matched_unserved: set[str] = set()
    for op in ops:
        route = serving_route(routes, op.method, op.path)
        if route is not None:
            used.add((route.path, op.method))
        served = route is not None and op.key not in notes.unserved
        parts = []
        if route is not None and op.key in notes.unserved:
            matched_unserved.add(op.key)
            parts.append(notes.unserved[op.key])
        if op.key in notes.zoho:
            parts.append(notes.zoho[op.key])
        rows.append(Row(op, served, route is not None, "; ".join(parts)))
    extra = [(r, m) for r in routes for m in r.methods if (r.path, m) not in used]
    keys = {op.key for op in ops}
    extra_keys = {f"{m} {r.path}" for r, m in extra}
    problems = [f"[zoho] {k!r} is no operation of Zoho's OpenAPI" for k in notes.zoho
                if k not in keys]
    problems += [f"[unserved] {k!r} reaches no Corral route: drop it" for k in notes.unserved
                 if k not in matched_unserved]
    problems += [f"[corral] {k!r} is no Corral-only endpoint" for k in notes.corral
                 if k not in extra_keys]
    if problems:
        raise ValueError(f"{NOTES.name} is stale:\n  " + "\n  ".join(problems))
    return rows, extra


def _row(*cells: str) -> str:
    return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"


def render(rows: Sequence[Row], extra: Sequence[tuple[CorralRoute, str]], notes: Notes) -> str:
    """The Markdown between the markers (markers excluded)."""
    served = sum(r.served for r in rows)
    files: dict[str, list[Row]] = {}
    for row in rows:
        files.setdefault(row.op.file, []).append(row)
    touched = sum(any(r.served for r in fr) for fr in files.values())
    refused = sum(r.routed and not r.served for r in rows)
    out = [
        f"**{served} of {len(rows)} Zoho v8 operations served ({served / len(rows):.1%})**, "
        f"in {touched} of {len(files)} files of Zoho's OpenAPI "
        f"({refused} more reach a Corral route that refuses them; see their notes).",
        "",
        f"Generated by `{WRITE_HINT}` from Corral's route table (`corral.api.routes.TABLE`) and "
        "Zoho's OpenAPI v8 files (`shared/reference/zoho-oas-v8/`); notes live in "
        "`scripts/compat_notes.toml`. Do not edit between the markers: CI fails when this table "
        "is stale. ✅ means the method and path reach a Corral handler that answers the "
        "operation (a literal module such as `Leads` counts when Corral knows that module); "
        "the notes say where it is partial. Paths are Zoho's, as its files spell them "
        "(`/crm/v8/...`); Corral answers them under every version from `v2` to `v8`. An "
        "operation documented in two files is listed, and counted, in both.",
    ]
    for file, frows in files.items():
        n = sum(r.served for r in frows)
        out += ["", f"### {file} — {n} of {len(frows)} served", "",
                "| Operation | operationId / summary | Status | Notes |", "|---|---|---|---|"]
        for r in frows:
            label = r.op.operation_id
            if r.op.summary and r.op.summary != label:
                label = f"{label} — {r.op.summary}" if label else r.op.summary
            out.append(_row(f"`{r.op.method} {r.op.path}`", _cell(label),
                            "✅" if r.served else "❌", _cell(r.note)))
    out += ["", "### Corral endpoints not in Zoho's v8 OpenAPI", "",
            "| Endpoint | Status | Notes |", "|---|---|---|"]
    for route, method in extra:
        key = f"{method} {route.path}"
        out.append(_row(f"`{key}`", "➕", _cell(notes.corral.get(key, ""))))
    return "\n".join(out)


def generate(oas_dir: Path, notes: Notes | None = None) -> str:
    ops = load_operations(oas_dir)
    if not ops:
        raise FileNotFoundError(f"no OpenAPI operations found in {oas_dir}")
    notes = notes if notes is not None else load_notes()
    rows, extra = classify(ops, corral_routes(), notes)
    return render(rows, extra, notes)


def committed_section(doc: str) -> str:
    """The text between the markers of COMPATIBILITY.md, without the newlines that frame it."""
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        raise ValueError(f"COMPATIBILITY.md lacks the markers {BEGIN!r} … {END!r}")
    return doc[start + len(BEGIN):end].strip("\n")


def replace_section(doc: str, section: str) -> str:
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        raise ValueError(f"COMPATIBILITY.md lacks the markers {BEGIN!r} … {END!r}")
    return doc[:start + len(BEGIN)] + "\n" + section + "\n" + doc[end:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true",
                      help="rewrite the section in COMPATIBILITY.md")
    mode.add_argument("--check", action="store_true",
                      help="exit 1 (with a diff) when the committed section is stale")
    parser.add_argument("--oas", type=Path, default=DEFAULT_OAS,
                        help=f"folder of Zoho's OpenAPI v8 files (default {DEFAULT_OAS})")
    args = parser.parse_args(argv)
    if not args.oas.is_dir():
        print(f"error: Zoho's OpenAPI folder {args.oas} is missing", file=sys.stderr)
        return 2
    try:
        section = generate(args.oas)
        doc = DOC.read_text(encoding="utf-8")
        committed = committed_section(doc)
    except ValueError as err:  # stale notes or missing markers: say which, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.write:
        DOC.write_text(replace_section(doc, section), encoding="utf-8")
        print(f"wrote {DOC.name}: {section.splitlines()[0]}")
        return 0
    if args.check:
        if committed == section:
            print(f"{DOC.name} is up to date: {section.splitlines()[0]}")
            return 0
        print("\n".join(difflib.unified_diff(
            committed.splitlines(), section.splitlines(),
            f"{DOC.name} (committed)", f"{DOC.name} (generated)", lineterm="")))
        print(f"\n{DOC.name}'s endpoint table is stale: run `{WRITE_HINT}` and commit it.",
              file=sys.stderr)
        return 1
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())

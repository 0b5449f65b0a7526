"""Fixture files: custom modules, fields, users, custom views and records, loaded through the
normal services (validation, unique checks, the write path), from YAML or JSON.

    modules:      [{api_name: Projects, singular: Project, plural: Projects}]
    fields:       {Leads: [{api_name: External_Id, label: External Id, type: text,
                            unique: true}, {label: Tier, type: picklist, pick_list: [A, B]}]}
    users:        [{email: sam@example.com, last_name: Smith, first_name: Sam,
                    profile: Standard, role: Manager}]
    custom_views: {Leads: [{name: Hot, criteria: "(Rating:equals:Hot)"}]}
    records:      {Accounts: [{$ref: acme, Account_Name: Acme}],
                   Contacts: [{Last_Name: Doe, Account_Name: {$ref: acme}}]}

Sections load in that order. A record may name itself with `$ref`; a later value
`{"$ref": name}` becomes that record's `{"id": ...}`. `corral metadata import DIR` reads saved
`GET /settings/modules` and `/settings/fields?module=X` responses of a real org into the same
shape (custom modules and custom fields only: the standard ones are Corral's seed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from corral.errors import CorralError, InvalidData
from corral.records.writes import WriteContext
from corral.services import Corral

SECTIONS = ("modules", "fields", "users", "custom_views", "records")


@dataclass
class Loaded:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SECTIONS, 0))
    refs: dict[str, str] = field(default_factory=dict)


def parse(text: bytes | str) -> dict[str, Any]:
    """A fixture document from JSON or YAML text; INVALID_DATA when it is neither or not a
    mapping of known sections."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            raise InvalidData("fixtures must be JSON or YAML") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise InvalidData("fixtures must be a mapping of sections")
    unknown = sorted(set(doc) - set(SECTIONS))
    if unknown:
        raise InvalidData("unknown fixture section", {"section": unknown[0],
                                                       "expected": list(SECTIONS)})
    return doc


def _fail(path: str, err: CorralError | str) -> InvalidData:
    if isinstance(err, CorralError):
        return InvalidData(f"fixture {path}: {err.message}",
                           {"json_path": path, "code": err.code, "details": err.details})
    return InvalidData(f"fixture {path}: {err}", {"json_path": path})


def _per_module(doc: dict[str, Any], section: str) -> dict[str, list[Any]]:
    value = doc.get(section) or {}
    if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
        raise _fail(f"$.{section}", "must map module api_names to lists")
    return value


class FixtureLoader:
    def __init__(self, corral: Corral, *, skip_existing_fields: bool = False) -> None:
        self.corral = corral
        # metadata import: a field the module already has (a new custom module's own Name and
        # Email) is left as it is rather than refused as a duplicate
        self.skip_existing_fields = skip_existing_fields

    def load(self, doc: dict[str, Any]) -> Loaded:
        corral, loaded = self.corral, Loaded()
        admin = corral.auth.principal_for_user(corral.auth.user_by_email(None).id)
        assert admin is not None
        modules = doc.get("modules") or []
        if not isinstance(modules, list):
            raise _fail("$.modules", "must be a list")
        for i, spec in enumerate(modules):
            path = f"$.modules[{i}]"
            if not isinstance(spec, dict):
                raise _fail(path, "must be a mapping")
            try:
                corral.metadata.add_module(spec.get("api_name"), spec.get("singular"),
                                           spec.get("plural"))
            except CorralError as err:
                raise _fail(path, err) from None
            loaded.counts["modules"] += 1
        for name, specs in _per_module(doc, "fields").items():
            for i, spec in enumerate(specs):
                loaded.counts["fields"] += self._field(name, i, spec)
        users = doc.get("users") or []
        if not isinstance(users, list):
            raise _fail("$.users", "must be a list")
        for i, spec in enumerate(users):
            self._user(i, spec)
            loaded.counts["users"] += 1
        for name, specs in _per_module(doc, "custom_views").items():
            module = self._module("custom_views", name)
            for i, spec in enumerate(specs):
                path = f"$.custom_views.{name}[{i}]"
                if not isinstance(spec, dict):
                    raise _fail(path, "must be a mapping")
                try:
                    corral.views.create(module, {"access_type": "public", **spec}, admin)
                except CorralError as err:
                    raise _fail(path, err) from None
                loaded.counts["custom_views"] += 1
        for name, items in _per_module(doc, "records").items():
            module = self._module("records", name)
            refs = [item.get("$ref") if isinstance(item, dict) else None for item in items]
            data = [_resolve(item, loaded.refs, f"$.records.{name}[{i}]")
                    for i, item in enumerate(items)]
            for start in range(0, len(data), 100):  # Zoho's most per call
                outcomes = corral.records.insert(module, data[start:start + 100],
                                                 WriteContext(principal=admin))
                for outcome in outcomes:
                    i = start + outcome.index
                    if outcome.error is not None or outcome.record is None:
                        raise _fail(f"$.records.{name}[{i}]",
                                    outcome.error or "not written")
                    if refs[i]:
                        loaded.refs[str(refs[i])] = str(outcome.record.id)
                loaded.counts["records"] += len(outcomes)
        return loaded

    def _module(self, section: str, name: str) -> Any:
        module = self.corral.registry.get(name)
        if module is None:
            raise _fail(f"$.{section}.{name}", "no such module")
        return module

    def _field(self, module_name: str, i: int, spec: Any) -> int:
        """Add one field; 1 when added, 0 when skipped."""
        path = f"$.fields.{module_name}[{i}]"
        module = self._module("fields", module_name)
        if not isinstance(spec, dict):
            raise _fail(path, "must be a mapping")
        if self.skip_existing_fields and module.field(str(spec.get("api_name"))) is not None:
            return 0
        try:
            created = self.corral.metadata.add_field(module, {**spec, "unique": False},
                                                     json_path=path)
            if spec.get("unique"):
                self.corral.metadata.set_unique(self.corral.registry.require(module_name),
                                                created.api_name, True)
        except CorralError as err:
            raise _fail(path, err) from None
        return 1

    def _user(self, i: int, spec: Any) -> None:
        path = f"$.users[{i}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("email"), str) \
                or not isinstance(spec.get("last_name"), str):
            raise _fail(path, "a user needs email and last_name")
        try:
            self.corral.auth.create_user(
                spec["email"], spec["last_name"], first_name=spec.get("first_name"),
                profile=spec.get("profile", "Standard"), role=spec.get("role"),
                time_zone=spec.get("time_zone", "UTC"))
        except (LookupError, ValueError) as exc:
            raise _fail(path, str(exc)) from None
        except CorralError as err:
            raise _fail(path, err) from None


def _resolve(item: Any, refs: dict[str, str], path: str) -> Any:
    """The record without its own `$ref`, with `{"$ref": name}` values made `{"id": ...}`."""
    if not isinstance(item, dict):
        return item
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key == "$ref":
            continue
        if isinstance(value, dict) and set(value) == {"$ref"}:
            target = refs.get(str(value["$ref"]))
            if target is None:
                raise _fail(f"{path}.{key}", f"unknown $ref {value['$ref']!r}")
            value = {"id": target}
        out[key] = value
    return out


# ----------------------------------------------------------------------------- metadata import
TYPE_OF = {"text": "text", "textarea": "textarea", "email": "email", "phone": "phone",
           "website": "website", "integer": "integer", "bigint": "bigint",
           "double": "double", "currency": "currency", "percent": "percent",
           "boolean": "boolean", "date": "date", "datetime": "datetime",
           "picklist": "picklist", "multiselectpicklist": "multiselectpicklist",
           "lookup": "lookup"}


def import_metadata(directory: Path) -> dict[str, Any]:
    """Fixtures (modules, fields) from saved responses of a real org: `modules.json` (GET
    /settings/modules) and `fields_<Module>.json` or `fields/<Module>.json` (GET
    /settings/fields?module=<Module>). Custom modules and custom fields only."""
    doc: dict[str, Any] = {"modules": [], "fields": {}}
    modules_file = directory / "modules.json"
    if modules_file.exists():
        for m in json.loads(modules_file.read_text()).get("modules", []):
            if m.get("generated_type") == "custom" and m.get("api_name"):
                doc["modules"].append({"api_name": m["api_name"],
                                       "singular": m.get("singular_label") or m["api_name"],
                                       "plural": m.get("plural_label") or m["api_name"]})
    files = sorted([*directory.glob("fields_*.json"), *directory.glob("fields/*.json")])
    for path in files:
        module = path.stem.removeprefix("fields_")
        specs = []
        for f in json.loads(path.read_text()).get("fields", []):
            data_type = TYPE_OF.get(str(f.get("data_type")))
            if not f.get("custom_field") or data_type is None or f.get("api_name") == "Name":
                continue
            spec: dict[str, Any] = {"api_name": f["api_name"],
                                    "label": f.get("field_label") or f["api_name"],
                                    "type": data_type}
            if f.get("length"):
                spec["length"] = f["length"]
            unique = f.get("unique")
            if isinstance(unique, dict) and unique:  # {"casesensitive": ...} when unique
                spec["unique"] = True
            if data_type in ("picklist", "multiselectpicklist"):
                values = [v.get("display_value") or v.get("actual_value")
                          for v in f.get("pick_list_values") or []]
                spec["pick_list"] = [v for v in values if v and v != "-None-"]
            if data_type == "lookup":
                spec["lookup"] = ((f.get("lookup") or {}).get("module") or {}).get("api_name")
            specs.append(spec)
        if specs:
            doc["fields"][module] = specs
    return doc

"""Console setup pages: fields (add a custom field, "Do not allow duplicate values"), the
duplicate-check preference, custom views, workflow rules and blueprints. The scope and profile
checks are the settings API's: reading needs the settings scope, changing also an admin."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from corral.api.actions import RULE_KINDS
from corral.api.console.pages import Show
from corral.api.console.web import Page, Redirect
from corral.api.settings import require_admin
from corral.auth.scopes import allows
from corral.errors import CorralError, InvalidModule, NotSupported
from corral.metadata.model import DATA_TYPES, UNIQUE_ELIGIBLE, Module
from corral.metadata.preferences import is_unique_field

ADDABLE_TYPES = sorted(DATA_TYPES - {"subform", "lookup", "ownerlookup"})


def _settings(page: Page, area: str, op: str = "READ") -> None:
    page.user.require_scope(f"ZohoCRM.settings.{area}.{op}")
    if op != "READ":
        require_admin(page.user)


def _module(page: Page) -> Module:
    page.corral.registry.refresh()
    module = page.corral.registry.get(page.path_params["module"])
    if module is None:
        raise InvalidModule()
    return module


def setup_index(page: Page) -> Response:
    _settings(page, "modules")
    page.corral.registry.refresh()
    return page.render("setup_index.html", modules=page.corral.registry.modules())


def module_setup(page: Page, *, error: CorralError | None = None,
                 status: int = 200) -> Response:
    _settings(page, "fields")
    module = _module(page)
    has = {area: allows(page.user.scopes, f"ZohoCRM.settings.{area}.READ")
           for area in ("custom_views", "workflow_rules", "blueprint",
                        "duplicate_check_preference")}
    q = page.corral.query
    views = ([v for v in q.views(module) if v.shared or v.owner_id in (None, page.user.user.id)]
             if has["custom_views"] else [])
    rules = (page.corral.automation.rules(module, RULE_KINDS["workflow_rules"])
             if has["workflow_rules"] else [])
    blueprints = page.corral.blueprints.list(module) if has["blueprint"] else []
    pref = (page.corral.preferences.get(module)
            if has["duplicate_check_preference"] and module.api_name == "Leads" else None)
    pairs: list[dict[str, Any]] = []
    if error is not None:
        recs = [q.get_one(module, int(d["id"])) for d in
                error.details.get("duplicate_records", []) if str(d.get("id", "")).isdigit()]
        show = Show(page, module, [r for r in recs if r is not None])
        pairs = [{"id": r.id, "name": show.raw(None, r.data.get(module.display_field))}
                 for r in recs if r is not None]
    return page.render("setup_module.html", status=status, module=module, views=views,
                       rules=rules, blueprints=blueprints, pref=pref, has=has, error=error,
                       pairs=pairs, eligible=UNIQUE_ELIGIBLE, types=ADDABLE_TYPES)


def add_field(page: Page) -> Response:
    _settings(page, "fields", "CREATE")
    module = _module(page)
    error = None
    if page.method == "POST":
        data_type = page.form.get("data_type", "text")
        spec = {"label": page.form.get("field_label", ""), "type": data_type,
                "unique": page.form.get("unique") == "true",
                "pick_list": [x.strip() for x in page.form.get("pick_list", "").split(",")
                              if x.strip()]}
        try:
            f = page.corral.metadata.add_field(module, spec)
            if spec["unique"] and not f.unique:
                page.corral.metadata.set_unique(
                    page.corral.registry.require(module.api_name), f.api_name, True)
        except CorralError as exc:
            error = exc
        else:
            raise Redirect(f"/console/setup/{module.api_name}")
    return page.render("field_new.html", status=400 if error else 200, module=module,
                       error=error, types=ADDABLE_TYPES, form=page.form)


def toggle_unique(page: Page) -> Response:
    _settings(page, "fields", "UPDATE")
    module = _module(page)
    name = page.path_params["field"]
    try:
        page.corral.metadata.set_unique(module, name, page.form.get("unique") == "true")
    except CorralError as exc:
        return module_setup(page, error=exc, status=409)
    raise Redirect(f"/console/setup/{module.api_name}")


def preference(page: Page) -> Response:
    module = _module(page)
    if module.api_name != "Leads":
        raise NotSupported("This API does not support the specified module")
    _settings(page, "duplicate_check_preference", "UPDATE" if page.method == "POST" else "READ")
    service = page.corral.preferences
    error = None
    if page.method == "POST":
        kind = page.form.get("type", "")
        current = service.get(module)
        try:
            if kind == "none":
                if current is not None:
                    service.delete(module)
            else:
                body: dict[str, Any] = {"type": kind}
                if kind == "mapped_module_records":
                    body["type_configurations"] = [{
                        "mapped_module": {"api_name": "Contacts"},
                        "field_mappings": [{
                            "current_field": {"api_name": page.form.get("current_field")},
                            "mapped_field": {"api_name": page.form.get("mapped_field")}}]}]
                wrapped = {"duplicate_check_preference": body}
                if current is None:
                    service.create(module, wrapped)
                else:
                    service.update(module, wrapped)
        except CorralError as exc:
            error = exc
        else:
            raise Redirect(f"/console/setup/{module.api_name}")
    contacts = page.corral.registry.require("Contacts")
    return page.render("preference.html", status=400 if error else 200, module=module,
                       pref=service.get(module), error=error,
                       lead_fields=[f for f in module.fields if is_unique_field(module, f)],
                       contact_fields=[f for f in contacts.fields
                                       if is_unique_field(contacts, f)])

"""The URL table: every Zoho endpoint Corral answers, and the handler per method."""

from __future__ import annotations

import re

from starlette.routing import Route, compile_path

from corral.api import actions as a
from corral.api import attachments as att
from corral.api import bulk as bk
from corral.api import composite as cp
from corral.api import coql as cq
from corral.api import history as h
from corral.api import notifications as nt
from corral.api import oauth as o
from corral.api import org as g
from corral.api import records as r
from corral.api import related as rl
from corral.api import settings as s
from corral.api import tags as tg
from corral.api.emulator import control_table
from corral.api.guard import guarded
from corral.api.http import Call, Handler, endpoint
from corral.emulator.service import Emulator
from corral.errors import InvalidRequestMethod
from corral.services import Corral

CRM = "/crm/{version}"
BULK = "/crm/bulk/{version}"


class Methods(dict[str, Handler]):
    """Handlers by method, plus `other` for any other method: on a path with parameters only,
    it decides whether the path is served at all before the method is refused."""

    def __init__(self, handlers: dict[str, Handler], *, other: Handler) -> None:
        super().__init__(handlers)
        self.other = other


# path -> {method: handler}; the first match wins, so fixed paths precede {module} ones.
TABLE: list[tuple[str, dict[str, Handler]]] = [
    ("/oauth/v2/token", {"POST": o.oauth_token}),
    ("/oauth/v2/token/revoke", {"POST": o.revoke}),
    ("/oauth/v2/auth", {"GET": o.authorize}),
    (f"{CRM}/upload", {"POST": bk.upload_file}),
    (f"{BULK}/write", {"POST": bk.create_write_job}),
    (f"{BULK}/write/{{job_id}}", {"GET": bk.get_write_job}),
    (f"{BULK}/write/{{job_id}}/result", {"GET": bk.download_write_result}),
    (f"{BULK}/read", {"POST": bk.create_read_job}),
    (f"{BULK}/read/{{job_id}}", {"GET": bk.get_read_job}),
    (f"{BULK}/read/{{job_id}}/result", {"GET": bk.download_read_result}),
    (f"{CRM}/__composite_requests", {"POST": lambda call: cp.composite(call, resolve)}),
    (f"{CRM}/actions/watch", {"GET": nt.list_channels, "POST": nt.enable, "PUT": nt.update,
                              "PATCH": nt.patch, "DELETE": nt.delete}),
    (f"{CRM}/settings/modules", {"GET": s.list_modules, "POST": s.create_module}),
    (f"{CRM}/settings/modules/{{api_name}}", {"GET": s.get_module}),
    (f"{CRM}/settings/fields", {"GET": s.list_fields, "POST": s.create_field}),
    (f"{CRM}/settings/fields/{{field_id}}",
     {"GET": s.get_field, "PATCH": s.update_field, "PUT": s.update_field}),
    (f"{CRM}/settings/layouts", {"GET": s.list_layouts}),
    (f"{CRM}/settings/duplicate_check_preference",
     {"GET": a.get_preference, "POST": a.create_preference, "PUT": a.update_preference,
      "DELETE": a.delete_preference}),
    (f"{CRM}/settings/custom_views", {"GET": s.list_views, "POST": a.create_view}),
    (f"{CRM}/settings/automation/webhook_deliveries", {"GET": a.webhook_deliveries}),
    *[(f"{CRM}/settings/automation/{key}", a.rule_handlers(key)) for key in a.RULE_KINDS],
    (f"{CRM}/settings/related_lists", {"GET": rl.list_related_lists}),
    (f"{CRM}/settings/related_lists/{{list_id}}", {"GET": rl.get_related_list}),
    (f"{CRM}/settings/blueprints", {"GET": a.list_blueprints, "POST": a.create_blueprint}),
    (f"{CRM}/settings/territories", {"GET": a.list_territories, "POST": a.create_territories}),
    (f"{CRM}/settings/custom_views/{{view_id}}", {"GET": s.get_view}),
    (f"{CRM}/settings/tags",
     {"GET": tg.list_tags, "POST": tg.create_tags, "PUT": tg.update_tags}),
    (f"{CRM}/settings/tags/{{tag_id}}", {"PUT": tg.update_tag, "DELETE": tg.delete_tag}),
    (f"{CRM}/settings/tags/{{tag_id}}/actions/merge", {"POST": tg.merge_tags}),
    (f"{CRM}/settings/tags/{{tag_id}}/actions/records_count", {"GET": tg.records_count}),
    (f"{CRM}/settings/roles",
     {"GET": g.list_roles, "POST": g.create_role, "PUT": g.update_role}),
    (f"{CRM}/settings/roles/{{role_id}}",
     {"GET": g.get_role, "PUT": g.update_role, "DELETE": g.delete_role}),
    (f"{CRM}/settings/profiles", {"GET": g.list_profiles}),
    (f"{CRM}/settings/profiles/{{profile_id}}/actions/clone", {"POST": g.clone_profile}),
    (f"{CRM}/settings/profiles/{{profile_id}}",
     {"GET": g.get_profile, "PUT": g.update_profile, "DELETE": g.delete_profile}),
    (f"{CRM}/users",
     {"GET": g.list_users, "POST": g.create_user, "PUT": g.update_user}),
    (f"{CRM}/users/actions/count", {"GET": g.count_users}),
    (f"{CRM}/users/{{user_id}}",
     {"GET": g.get_user, "PUT": g.update_user, "DELETE": g.delete_user}),
    (f"{CRM}/org", {"GET": g.get_org}),
    (f"{CRM}/actions/revert", {"POST": h.schedule_revert, "GET": h.revert_status}),
    (f"{CRM}/org/currencies",
     {"GET": g.list_currencies, "POST": g.add_currencies, "PUT": g.update_currencies}),
    (f"{CRM}/org/currencies/actions/enable",
     {"POST": g.enable_currencies, "PUT": g.update_base_currency}),
    (f"{CRM}/org/currencies/{{currency_id}}",
     {"GET": g.get_currency, "PUT": g.update_currencies}),
    (f"{CRM}/coql", {"POST": cq.run_query}),
    (f"{CRM}/{{module}}/upsert", {"POST": r.upsert_records}),
    (f"{CRM}/{{module}}/search", {"GET": r.search_records}),
    (f"{CRM}/{{module}}/deleted", {"GET": r.deleted_records}),
    (f"{CRM}/{{module}}/actions/count", {"GET": r.count_records}),
    (f"{CRM}/{{module}}/actions/mass_update", {"POST": a.mass_update, "GET": a.mass_update_status}),
    (f"{CRM}/{{module}}/actions/find_duplicates", {"GET": h.find_duplicates}),
    (f"{CRM}/{{module}}/actions/assign_territories", {"POST": a.assign_territories}),
    (f"{CRM}/{{module}}/actions/add_tags", {"POST": tg.add_tags}),
    (f"{CRM}/{{module}}/actions/remove_tags", {"POST": tg.remove_tags}),
    (f"{CRM}/{{module}}/{{record_id}}/actions/add_tags", {"POST": tg.add_tags_to_record}),
    (f"{CRM}/{{module}}/{{record_id}}/actions/remove_tags", {"POST": tg.remove_tags_from_record}),
    (f"{CRM}/{{module}}/{{record_id}}/Attachments",
     {"POST": att.upload_attachment, "GET": att.list_attachments,
      "DELETE": att.delete_attachments}),
    (f"{CRM}/{{module}}/{{record_id}}/Attachments/{{attachment_id}}",
     {"GET": att.download_attachment, "DELETE": att.delete_attachment}),
    (f"{CRM}/{{module}}/{{record_id}}/__timeline", {"GET": h.record_timeline}),
    (f"{CRM}/{{module}}/{{record_id}}/actions/merge",
     {"POST": h.merge_records, "GET": h.merge_status}),
    (f"{CRM}/{{module}}/{{record_id}}/actions/convert", {"POST": a.convert_lead}),
    (f"{CRM}/{{module}}/{{record_id}}/actions/approve", {"POST": a.approve_record}),
    (f"{CRM}/{{module}}/{{record_id}}/actions/blueprint",
     {"GET": a.get_record_blueprint, "PUT": a.update_record_blueprint}),
    # Related records come after every fixed `/{module}/...` path (actions, search, deleted).
    (f"{CRM}/{{module}}/{{record_id}}/{{related_list}}/{{related_id}}",
     Methods({"GET": rl.get_related_record, "PUT": rl.update_related_record,
              "DELETE": rl.delete_related_record}, other=rl.other_method)),
    (f"{CRM}/{{module}}/{{record_id}}/{{related_list}}",
     Methods({"GET": rl.get_related_records, "PUT": rl.update_related_records,
              "DELETE": rl.delete_related_records, "POST": rl.add_notes},
             other=rl.other_method)),
    (f"{CRM}/{{module}}/{{record_id}}",
     {"GET": r.get_record, "PUT": r.update_record, "DELETE": r.delete_record}),
    (f"{CRM}/{{module}}",
     {"GET": r.list_records, "POST": r.insert_records, "PUT": r.update_records,
      "DELETE": r.delete_records}),
]


def _dispatch(handlers: dict[str, Handler]) -> Handler:
    def run(call: Call):  # type: ignore[no-untyped-def]
        handler = handlers.get(call.method)
        if handler is None and isinstance(handlers, Methods):
            handler = handlers.other
        if handler is None:
            raise InvalidRequestMethod()
        return handler(call)

    run.reads_upload = any(getattr(h, "reads_upload", False)  # type: ignore[attr-defined]
                           for h in handlers.values())
    limits = [getattr(h, "upload_limit", None) for h in handlers.values()]
    if any(limits):
        run.upload_limit = max(x for x in limits if x)  # type: ignore[attr-defined]
    return run


_COMPILED: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
    (compile_path(path)[0], handlers) for path, handlers in TABLE]


def resolve(path: str) -> tuple[Handler, dict[str, str]] | None:
    """The handler serving `path` and its path parameters, as the router would find them
    (composite sub-requests)."""
    for regex, handlers in _COMPILED:
        match = regex.match(path)
        if match is not None:
            return _dispatch(handlers), match.groupdict()
    return None
# Writes whose every change goes through the record write path: they take ?dry_run=true and
# If-Match plan fingerprints (api/guard.py). Every write under /crm/ takes Idempotency-Key.
DRY_RUN: frozenset[Handler] = frozenset({
    r.insert_records, r.update_records, r.update_record, r.upsert_records, r.delete_records,
    r.delete_record, a.mass_update, a.convert_lead, h.merge_records, bk.create_write_job})


def _guarded(handlers: dict[str, Handler]) -> dict[str, Handler]:
    wrapped = {m: guarded(h, dry_run=h in DRY_RUN) for m, h in handlers.items()}
    if isinstance(handlers, Methods):
        return Methods(wrapped, other=handlers.other)
    return wrapped


def build_routes(corral: Corral, emulator: Emulator | None = None) -> list[Route]:
    """Zoho's routes (each write guarded: Idempotency-Key, dry_run, If-Match); with an emulator,
    its `/__corral/` control API first (without one those paths are unknown URLs: 404
    INVALID_URL_PATTERN)."""
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    control = control_table(emulator) if emulator is not None else []
    return [*(Route(path, endpoint(_dispatch(handlers), corral), methods=methods)
              for path, handlers in control),
            *(Route(path, endpoint(_dispatch(_guarded(handlers)), corral), methods=methods)
              for path, handlers in TABLE)]

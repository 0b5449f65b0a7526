"""Console pages: sign-in, modules, records. Each one authorises exactly as the API does
(token scopes of the session, the user's profile, field permissions) and calls the same
services; nothing here knows Zoho JSON."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.responses import RedirectResponse, Response

from corral.api.console.web import (
    SESSION_COOKIE,
    SESSION_TTL,
    STATE_COOKIE,
    Page,
    Redirect,
)
from corral.api.records import WORD_RE, check_field_permissions, module_scopes
from corral.auth.scopes import allows as sc_allows
from corral.auth.service import OAuthError, Principal
from corral.errors import CorralError, InvalidModule, InvalidQuery, MultipleOrMultiErrors
from corral.metadata.model import Field, Module
from corral.metadata.related_lists import related_lists as metadata_related_lists
from corral.records import criteria as cr
from corral.records.query import SORTABLE, Filters
from corral.records.validate import parse_record_id
from corral.records.writes import WriteContext
from corral.storage.repositories.records import StoredRecord

PageHandler = Callable[[Page], Response]
PER_PAGE = 50
EDITABLE = frozenset({"text", "textarea", "email", "phone", "website", "picklist", "date",
                      "datetime", "integer", "bigint", "double", "currency", "percent",
                      "decimal", "boolean"})
SYSTEM_FIELDS = ("Owner", "Created_By", "Created_Time", "Modified_By", "Modified_Time")
CONSOLE_SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ"


# ----------------------------------------------------------------------------- sign-in
def _open_session(page: Page, session: str) -> None:
    page.cookie(SESSION_COOKIE, session, SESSION_TTL)


def login(page: Page) -> Response:
    error = None
    if page.method == "POST":
        token = page.form.get("access_token", "").strip()
        try:
            session = page.corral.auth.session_from_token(token, SESSION_TTL)
        except CorralError:
            error = "That access token is not valid (unknown, expired or revoked)."
        else:
            _open_session(page, session)
            raise Redirect("/console/")
    return page.render("login.html", status=401 if error else 200, error=error,
                       scopes=CONSOLE_SCOPES)


def oauth_start(page: Page) -> Response:
    """Send the browser to Corral's own /oauth/v2/auth with a `state` bound to this browser."""
    client_id = page.form.get("client_id", "").strip()
    state = secrets.token_urlsafe(24)
    page.cookie(STATE_COOKIE, f"{state}:{client_id}", 600, same_site="lax")
    params = {"response_type": "code", "client_id": client_id, "state": state,
              "scope": page.form.get("scope") or CONSOLE_SCOPES, "access_type": "online",
              "redirect_uri": f"{page.base_url}/console/oauth/callback"}
    raise Redirect(f"/oauth/v2/auth?{urlencode(params)}")


def oauth_callback(page: Page) -> Response:
    expected, _, client_id = page.cookies.get(STATE_COOKIE, "").partition(":")
    page.cookie(STATE_COOKIE, "", 0, same_site="lax")
    state = page.query.get("state", "")
    if not expected or not secrets.compare_digest(state, expected):
        return page.render("login.html", status=400, scopes=CONSOLE_SCOPES,
                           error="The sign-in did not start here (OAuth state mismatch).")
    if page.query.get("error") or not page.query.get("code"):
        return page.render("login.html", status=400, scopes=CONSOLE_SCOPES,
                           error=f"Sign-in refused: {page.query.get('error', 'no code')}")
    try:
        session = page.corral.auth.redeem_console_code(
            page.query["code"], client_id, f"{page.base_url}/console/oauth/callback",
            SESSION_TTL)
    except OAuthError as exc:
        return page.render("login.html", status=400, scopes=CONSOLE_SCOPES,
                           error=f"Sign-in refused: {exc.error}")
    _open_session(page, session)
    raise Redirect("/console/")


def logout(page: Page) -> Response:
    session = page.cookies.get(SESSION_COOKIE)
    if session:
        page.corral.auth.close_console_session(session)
    page.cookie(SESSION_COOKIE, "", 0)
    raise Redirect("/console/login")


def home(_: Page) -> Response:
    return RedirectResponse("/console/modules", status_code=303)


# ----------------------------------------------------------------------------- helpers
def can_read(principal: Principal, module: Module) -> bool:
    return (sc_allows(principal.scopes, *module_scopes(module, "READ"))
            and principal.can(module.api_name, "view"))


def authorise(page: Page, module: Module, op: str, action: str, message: str) -> None:
    page.user.require_scope(*module_scopes(module, op))
    page.user.require_module_permission(module.api_name, action, message)


def get_module(page: Page) -> Module:
    page.corral.registry.refresh()
    module = page.corral.registry.get(page.path_params["module"])
    if module is None:
        raise InvalidModule()
    authorise(page, module, "READ", "view", "Permission denied to read records")
    return module


def get_record(page: Page, module: Module) -> StoredRecord:
    rid = parse_record_id(page.path_params["record_id"])
    rec = page.corral.query.get_one(module, rid) if rid else None
    if rec is None:
        raise InvalidModule("No such record")
    return rec


class Show:
    """Turns stored values into text for the page (escaped by the template)."""

    def __init__(self, page: Page, module: Module, recs: list[StoredRecord]) -> None:
        q = page.corral.query
        self.users = q.users()
        self.names = q.lookup_names(module, recs)
        self.tz = q.principal_tz(page.user)

    def time(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(self.tz).strftime(
            "%Y-%m-%d %H:%M:%S %Z")

    def user(self, uid: Any) -> str:
        user = self.users.get(int(uid)) if str(uid).isdigit() else None
        return user.full_name if user else str(uid or "")

    def value(self, f: Field, rec: StoredRecord) -> str:
        if f.api_name in ("Owner",):
            return self.user(rec.owner_id)
        if f.api_name in ("Created_By", "Modified_By"):
            return self.user(rec.created_by if f.api_name == "Created_By" else rec.modified_by)
        if f.api_name in ("Created_Time", "Modified_Time"):
            return self.time(rec.created_time if f.api_name == "Created_Time"
                             else rec.modified_time)
        return self.raw(f, rec.data.get(f.api_name))

    def raw(self, f: Field | None, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if f is not None and f.data_type == "lookup" and str(value).isdigit():
            return self.names.get(int(value)) or str(value)
        if f is not None and f.data_type == "ownerlookup":
            return self.user(value)
        if isinstance(value, list):
            return ", ".join(self.raw(None, v) for v in value)
        if isinstance(value, dict):
            return str(value.get("name") or value.get("id") or "")
        return str(value)


def columns(module: Module, chosen: str | None) -> list[Field]:
    if chosen:
        wanted = [module.field(n.strip()) for n in chosen.split(",")]
        picked = [f for f in wanted if f is not None]
        if picked:
            return picked
    names = [module.display_field, "Email", "Company", "Account_Name", "Phone", "Stage",
             "Lead_Status", "Owner", "Modified_Time"]
    found = [module.field(n) for n in dict.fromkeys(names)]
    return [f for f in found if f is not None][:6]


# ----------------------------------------------------------------------------- pages
def modules(page: Page) -> Response:
    page.corral.registry.refresh()
    counts = page.corral.query.counts_by_module(Filters())
    rows = [(m, counts.get(m.id, 0)) for m in page.corral.registry.modules()
            if can_read(page.user, m)]
    return page.render("modules.html", rows=rows)


def record_list(page: Page) -> Response:
    module = get_module(page)
    q = page.corral.query
    where = q.base_where(module, Filters())
    error = None
    criteria = page.query.get("criteria", "").strip()
    if criteria and not criteria.startswith("("):
        # Plain text searches like the API's `word=` (an address like `email=`).
        if "@" in criteria:
            where.append(q.special_where(module, email=criteria))
        elif WORD_RE.match(criteria):
            where.append(q.special_where(module, word=criteria))
        else:
            error = ("Search for a word of at least two letters, an email address, or "
                     "criteria such as (Last_Name:starts_with:Sm)")
    elif criteria:
        try:
            crit = cr.parse_criteria(criteria)
            cr.check_value_lengths(crit)
            where.append(q.compile(module, crit, tz=q.principal_tz(page.user), mode="search"))
        except cr.CriteriaError as exc:
            error = f"Invalid criteria: {exc.reason}"
        except InvalidQuery as exc:
            error = f"Invalid criteria: {exc.message} {exc.details or ''}"
    views = [v for v in q.views(module) if v.shared or v.owner_id == page.user.user.id]
    cvid = page.query.get("cvid", "")
    if cvid:
        view = q.visible_view(module, cvid, page.user)
        if view is None:
            error = "Unknown custom view"
        else:
            where.append(q.view_condition(module, view, page.user))
    try:
        pageno = max(1, int(page.query.get("page", "1")))
    except ValueError:
        pageno = 1
    sort_by = page.query.get("sort_by", "id")  # newest first, as the API lists
    sort_by = sort_by if sort_by in SORTABLE else "id"
    sort_order = "asc" if page.query.get("sort_order") == "asc" else "desc"
    recs: list[StoredRecord] = []
    more = False
    total = 0
    if error is None:
        recs, more = q.fetch(module, where, offset=(pageno - 1) * PER_PAGE, limit=PER_PAGE,
                             sort_by=sort_by, sort_order=sort_order)
        total = q.count(where)
    cols = columns(module, page.query.get("fields"))
    show = Show(page, module, recs)
    rows = [(r, [show.value(f, r) for f in cols]) for r in recs]

    def link(**changes: Any) -> str:
        params = {k: v for k, v in page.query.items() if v}
        params.update({k: str(v) for k, v in changes.items()})
        return f"/console/m/{module.api_name}?{urlencode(params)}"

    return page.render("records.html", module=module, cols=cols, rows=rows, error=error,
                       criteria=criteria, views=views, cvid=cvid, pageno=pageno, more=more,
                       total=total, sort_by=sort_by, sort_order=sort_order, link=link,
                       sortable=list(SORTABLE), fields_param=page.query.get("fields", ""),
                       can_create=page.user.can(module.api_name, "create"))


def _door(entry: Any) -> str:
    if entry.job_id is not None:
        return f"job {entry.job_id}"
    if entry.automation:
        return str(entry.automation)
    if entry.source == "console":
        return "console"
    return "API"


def record_page(page: Page) -> Response:
    module = get_module(page)
    rec = get_record(page, module)
    show = Show(page, module, [rec])
    main = [f for f in module.fields if not f.custom and f.api_name not in SYSTEM_FIELDS]
    custom = [f for f in module.fields if f.custom]
    system = [f for f in (module.field(n) for n in SYSTEM_FIELDS) if f is not None]
    sections = [(title, [(f, show.value(f, rec)) for f in fields])
                for title, fields in ((f"{module.singular_label} Information", main),
                                      ("Custom fields", custom), ("System", system)) if fields]
    history = []
    for e in reversed(page.corral.query.history(rec.id)):
        f = module.field(e.field) if e.field else None
        history.append({"at": show.time(e.at), "who": show.user(e.user_id),
                        "op": e.operation, "field": f.label if f else (e.field or ""),
                        "old": "" if e.operation == "insert" else show.raw(f, e.old_value),
                        "new": "" if e.operation == "insert" else show.raw(f, e.new_value),
                        "door": _door(e)})
    tag_ids = [int(t) for t in rec.data.get("Tag") or [] if str(t).isdigit()]
    tags = [t.name for t in page.corral.tags.by_ids(tag_ids).values()] if tag_ids else []
    attachments = page.corral.attachments.of_record(module, rec.id, offset=0, limit=50)
    return page.render("record.html", module=module, rec=rec, related=related_lists(page, module),
                       title=show.raw(None, rec.data.get(module.display_field)) or rec.id,
                       sections=sections, history=history, tags=tags, attachments=attachments,
                       can_edit=page.user.can(module.api_name, "edit"))


RELATED_SHOWN = 10


def related_lists(page: Page, module: Module) -> list[Any]:
    """The module's related lists the user may read (as GET .../{related_list} authorises:
    the related module's READ scope and view permission)."""
    out = []
    for rl in metadata_related_lists(module.api_name):
        target = page.corral.registry.get(rl.module)
        if rl.kind != "unsupported" and target is not None and can_read(page.user, target):
            out.append(rl)
    return out


def related_section(page: Page) -> Response:
    """One related list of a record, the first few records: an htmx fragment the record page
    loads after it is shown (a related list's query can cost more than the page itself)."""
    module = get_module(page)
    rec = get_record(page, module)
    rl = next((x for x in related_lists(page, module)
               if x.api_name == page.path_params["related_list"]), None)
    if rl is None:
        raise InvalidModule("No such related list")
    target = page.corral.registry.require(rl.module)
    rel = page.corral.related.relation(module, rec.id, rl.api_name)
    recs, more, _ = page.corral.related.page(rel, offset=0, limit=RELATED_SHOWN)
    show = Show(page, target, recs)
    names = (("Note_Title", "Note_Content") if rl.kind == "notes"
             else (target.display_field,))
    items = [{"id": r.id, "module": target.api_name,
              "name": next((show.raw(None, r.data.get(n)) for n in names
                            if r.data.get(n)), str(r.id)),
              "when": show.time(r.modified_time)} for r in recs]
    return page.render("related.html", rl=rl, records=items, more=more)


# ----------------------------------------------------------------------------- forms
def editable(page: Page, module: Module) -> list[Field]:
    denied = page.user.read_only_fields(module.api_name)
    return [f for f in module.fields if f.data_type in EDITABLE and not f.read_only
            and f.api_name not in denied and f.api_name not in SYSTEM_FIELDS
            and f.api_name != "Full_Name"]


def parse_value(f: Field, text: str) -> Any:
    text = text.strip()
    if f.data_type == "boolean":
        return text == "true"
    if text == "":
        return None
    try:
        if f.data_type == "integer":
            return int(text)
        if f.data_type in {"double", "currency", "percent", "decimal"}:
            return float(text)
    except ValueError:
        return text  # the write path says what is wrong with it
    return text


def field_errors(err: CorralError) -> tuple[dict[str, CorralError], list[CorralError]]:
    """Errors by the field they name, and the rest."""
    errors = err.errors if isinstance(err, MultipleOrMultiErrors) else [err]
    by_field: dict[str, CorralError] = {}
    rest: list[CorralError] = []
    for e in errors:
        name = (e.details or {}).get("api_name")
        if name:
            by_field[str(name)] = e
        else:
            rest.append(e)
    return by_field, rest


def record_form(page: Page) -> Response:
    module = get_module(page)
    creating = "record_id" not in page.path_params
    if creating:
        authorise(page, module, "CREATE", "create", "Permission denied to add records")
        rec = None
    else:
        authorise(page, module, "UPDATE", "edit", "Permission denied to update")
        rec = get_record(page, module)
    fields = editable(page, module)
    current = {f.api_name: Show(page, module, [rec]).value(f, rec) if rec else ""
               for f in fields}
    values = dict(current)
    by_field: dict[str, CorralError] = {}
    rest: list[CorralError] = []
    if page.method == "POST":
        item: dict[str, Any] = {}
        for f in fields:
            given = page.form.get(f.api_name, "false" if f.data_type == "boolean" else "")
            if f.data_type == "boolean":
                given = "true" if given == "true" else "false"
                now = "true" if current[f.api_name] == "Yes" else "false"
            else:
                now = current[f.api_name]
            values[f.api_name] = given
            if creating or given != now:
                parsed = parse_value(f, given)
                if not (creating and parsed in (None, False)):
                    item[f.api_name] = parsed
        check_field_permissions(page.user, module, [item])
        ctx = WriteContext(page.user, request_id=f"console:{page.request_id}",
                           source="console")
        records = page.corral.records
        if rec is None:
            outcomes = records.insert(module, [item], ctx)
        elif item:  # nothing changed: nothing to write
            outcomes = records.update(module, [item], ctx, path_id=rec.id)
        else:
            outcomes = []
        if outcomes and outcomes[0].error is not None:
            by_field, rest = field_errors(outcomes[0].error)
        else:
            saved = outcomes[0].record if outcomes else rec
            raise Redirect(f"/console/m/{module.api_name}/{saved.id if saved else ''}")
    return page.render("form.html", module=module, rec=rec, fields=fields, values=values,
                       by_field=by_field, rest=rest, creating=creating)

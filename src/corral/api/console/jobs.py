"""Console jobs: every job kind (mass update, bulk write, bulk read, revert, ...) with live
progress (htmx polling), per-record failures and skipped reasons; schedule a mass update by
custom view (or dry-run it), and revert a finished job (or preview the revert).

Each page asks for what the API asks for the same thing: the mass update scopes for a mass
update, the bulk scopes for a bulk job, the revert scopes (`actions/revert`) for a revert,
and the module's view permission for any job's records.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from corral.api.console.pages import Show, editable, get_module, parse_value
from corral.api.console.web import Page, Redirect
from corral.api.history import REVERT_READ_SCOPE, REVERT_SCOPE
from corral.auth.scopes import allows
from corral.errors import CorralError, NotFound
from corral.metadata.model import Module
from corral.records import plans
from corral.records.revert import REVERTIBLE_KINDS, Target
from corral.records.writes import WriteContext
from corral.storage.repositories.jobs import Job

ACTIVE = ("SCHEDULED", "RUNNING")
KIND_LABELS = {"mass_update": "Mass update", "bulk_write": "Bulk write",
               "bulk_read": "Bulk read", "revert": "Revert", "import": "Import",
               "merge": "Merge"}
# Item states a job page counts, per kind: (state, label).
COUNTED: dict[str, tuple[tuple[str, str], ...]] = {
    "mass_update": (("updated", "Updated"), ("failed", "Failed")),
    "bulk_write": (("added", "Added"), ("updated", "Updated"), ("failed", "Skipped")),
    "import": (("added", "Added"), ("updated", "Updated"), ("failed", "Skipped")),
    "bulk_read": (("exported", "Exported"), ("failed", "Failed")),
    "revert": (("updated", "Reverted"), ("skipped", "Skipped"), ("failed", "Failed")),
}
DEFAULT_COUNTED = (("updated", "Updated"), ("failed", "Failed"))


def _module_scopes(module: Module, op: str) -> list[str]:
    names = sorted({module.scope_name, module.api_name.lower()})
    return [f"ZohoCRM.mass_update.{n}.{op}" for n in names]


def _mass_scope(page: Page, module: Module, op: str) -> None:
    page.user.require_scope(*_module_scopes(module, op))


def _read_scopes(job: Job, module: Module) -> list[str]:
    """The scopes the API asks for to read this job's status."""
    if job.kind == "mass_update":
        return _module_scopes(module, "READ")
    if job.kind == "bulk_write":
        return ["ZohoCRM.bulk.READ", "ZohoCRM.bulk.CREATE"]
    if job.kind == "bulk_read":
        return ["ZohoCRM.bulk.READ"]
    return [REVERT_READ_SCOPE, "ZohoCRM.modules.ALL"]


def _may_see(page: Page, job: Job, module: Module) -> bool:
    return page.user.can(module.api_name, "view") and allows(page.user.scopes,
                                                              *_read_scopes(job, module))


# ----------------------------------------------------------------------------- mass update
def _dry_run(page: Page, module: Module, spec: Any, ctx: WriteContext) -> dict[str, Any]:
    """The real scheduling in a transaction that is rolled back (as `?dry_run=true`)."""
    service = page.corral.mass_update
    with page.corral.records.in_request_transaction(dry=True), plans.recording() as rec:
        service.schedule(module, page.form.get("cvid"), None, spec, ctx)
    return plans.job_plan_json([o for b in rec.batches if b.job for o in b.outcomes])


def mass_update(page: Page) -> Response:
    module = get_module(page)
    _mass_scope(page, module, "UPDATE")
    page.user.require_module_permission(module.api_name, "edit", "permission denied")
    fields = [f for f in editable(page, module) if f.mass_update]
    q = page.corral.query
    views = [v for v in q.views(module) if v.shared or v.owner_id in (None, page.user.user.id)]
    error: CorralError | None = None
    plan: dict[str, Any] | None = None
    if page.method == "POST":
        name = page.form.get("field", "")
        f = module.field(name)
        value = parse_value(f, page.form.get("value", "")) if f else page.form.get("value")
        service = page.corral.mass_update
        ctx = WriteContext(page.user, request_id=f"console:{page.request_id}",
                           source="console")
        try:
            spec = service.prepare(module, {"data": [{name: value}]}, page.user)
            if page.form.get("dry_run") == "true":
                plan = _dry_run(page, module, spec, ctx)
            else:
                job_id = service.schedule(module, page.form.get("cvid"), None, spec, ctx)
        except CorralError as exc:
            error = exc
        else:
            if plan is None:
                raise Redirect(f"/console/jobs/{job_id}")
    return page.render("mass_update.html", status=400 if error else 200, module=module,
                       fields=fields, views=views, error=error, form=page.form, plan=plan)


# ----------------------------------------------------------------------------- job pages
def _job(page: Page) -> tuple[Job, Module]:
    job = page.corral.mass_update.job(page.path_params["job_id"])
    module = page.corral.registry.by_id(job.module_id) if job else None
    if job is None or module is None:
        raise NotFound("No such job")
    page.user.require_scope(*_read_scopes(job, module))
    page.user.require_module_permission(module.api_name, "view", "permission denied")
    return job, module


def _counts(job: Job, counts: dict[str, int]) -> list[dict[str, Any]]:
    shown = [{"label": label, "id": f"{label.lower()}-count", "value": counts.get(state, 0)}
             for state, label in COUNTED.get(job.kind, DEFAULT_COUNTED)]
    return shown + [{"label": "Pending", "id": "pending-count",
                     "value": counts.get("pending", 0)}]


def _can_revert(page: Page, job: Job) -> bool:
    return job.kind in REVERTIBLE_KINDS and allows(page.user.scopes, REVERT_SCOPE,
                                                   "ZohoCRM.modules.ALL")


def _values(page: Page, job: Job, module: Module, **extra: Any) -> dict[str, Any]:
    counts, failures = page.corral.mass_update.progress(job)
    skipped: list[dict[str, str]] = []
    if job.kind == "revert":
        skipped = page.corral.revert.status(job.id)[1]
    show = Show(page, module, [])
    return {"job": job, "module": module, "kind": KIND_LABELS.get(job.kind, job.kind),
            "counts": _counts(job, counts), "failures": failures, "skipped": skipped,
            "done": job.status not in ACTIVE, "processed": job.total - counts.get("pending", 0),
            "by": show.user(job.created_by), "created": show.time(job.created_time),
            "can_revert": _can_revert(page, job), **extra}


def job_page(page: Page) -> Response:
    job, module = _job(page)
    return page.render("job.html", **_values(page, job, module))


def job_progress(page: Page) -> Response:
    """The progress fragment htmx swaps in every second until the job is done."""
    job, module = _job(page)
    return page.render("job_progress.html", **_values(page, job, module))


def revert_job(page: Page) -> Response:
    """Schedule a revert of this job (as POST actions/revert), or preview it (`preview`)."""
    job, module = _job(page)
    page.user.require_scope(REVERT_SCOPE, "ZohoCRM.modules.ALL")
    target, force = Target(job_id=job.id), page.form.get("force") == "true"
    service = page.corral.revert
    try:
        if page.form.get("preview") == "true":
            reverts = service.preview(target, force, page.user)
            preview = {"revert": sum(1 for r in reverts if r.writes),
                       "unchanged": sum(1 for r in reverts if not r.writes and not r.skipped),
                       "skipped": [r for r in reverts if r.skipped]}
            return page.render("job.html", **_values(page, job, module, preview=preview,
                                                     force=force))
        new_id = service.schedule(target, force, WriteContext(
            page.user, request_id=f"console:{page.request_id}", source="console"))
    except CorralError as err:
        return page.render("job.html", status=err.http_status,
                           **_values(page, job, module, revert_error=err, force=force))
    raise Redirect(f"/console/jobs/{new_id}")


def jobs(page: Page) -> Response:
    rows: list[dict[str, Any]] = []
    show = Show(page, page.corral.registry.modules()[0], [])
    for job, counts in page.corral.mass_update.recent_with_counts():
        module = page.corral.registry.by_id(job.module_id)
        if module is None or not _may_see(page, job, module):
            continue
        rows.append({"job": job, "module": module, "kind": KIND_LABELS.get(job.kind, job.kind),
                     "counts": [c for c in _counts(job, counts) if c["value"]],
                     "by": show.user(job.created_by), "created": show.time(job.created_time)})
    # While a job shown runs, htmx reloads the list every 2 seconds (hx-select keeps the table).
    return page.render("jobs.html", rows=rows,
                       active=any(r["job"].status in ACTIVE for r in rows))

"""Console jobs: schedule a mass update by custom view and watch it run (htmx polling)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from corral.api.console.pages import Show, editable, get_module, parse_value
from corral.api.console.web import Page, Redirect
from corral.auth.scopes import allows
from corral.errors import CorralError, NotFound
from corral.metadata.model import Module
from corral.records.writes import WriteContext

ACTIVE = ("SCHEDULED", "RUNNING")


def _mass_scope(page: Page, module: Module, op: str) -> None:
    names = sorted({module.scope_name, module.api_name.lower()})
    page.user.require_scope(*[f"ZohoCRM.mass_update.{n}.{op}" for n in names])


def mass_update(page: Page) -> Response:
    module = get_module(page)
    _mass_scope(page, module, "UPDATE")
    page.user.require_module_permission(module.api_name, "edit", "permission denied")
    fields = [f for f in editable(page, module) if f.mass_update]
    q = page.corral.query
    views = [v for v in q.views(module) if v.shared or v.owner_id in (None, page.user.user.id)]
    error: CorralError | None = None
    if page.method == "POST":
        name = page.form.get("field", "")
        f = module.field(name)
        value = parse_value(f, page.form.get("value", "")) if f else page.form.get("value")
        service = page.corral.mass_update
        ctx = WriteContext(page.user, request_id=f"console:{page.request_id}")
        try:
            spec = service.prepare(module, {"data": [{name: value}]}, page.user)
            job_id = service.schedule(module, page.form.get("cvid"), None, spec, ctx)
        except CorralError as exc:
            error = exc
        else:
            raise Redirect(f"/console/jobs/{job_id}")
    return page.render("mass_update.html", status=400 if error else 200, module=module,
                       fields=fields, views=views, error=error, form=page.form)


def _job(page: Page) -> tuple[Any, Module]:
    job = page.corral.mass_update.job(page.path_params["job_id"])
    module = page.corral.registry.by_id(job.module_id) if job else None
    if job is None or module is None:
        raise NotFound("No such job")
    _mass_scope(page, module, "READ")
    return job, module


def _progress(page: Page, template: str) -> Response:
    job, module = _job(page)
    counts, failures = page.corral.mass_update.progress(job)
    show = Show(page, module, [])
    return page.render(template, job=job, module=module, counts=counts, failures=failures,
                       done=job.status not in ACTIVE,
                       updated=counts.get("updated", 0), failed=counts.get("failed", 0),
                       pending=counts.get("pending", 0), by=show.user(job.created_by),
                       created=show.time(job.created_time))


def job_page(page: Page) -> Response:
    return _progress(page, "job.html")


def job_progress(page: Page) -> Response:
    """The progress fragment htmx swaps in every second until the job is done."""
    return _progress(page, "job_progress.html")


def jobs(page: Page) -> Response:
    rows = []
    show = Show(page, page.corral.registry.modules()[0], [])
    for job in page.corral.mass_update.recent():
        module = page.corral.registry.by_id(job.module_id)
        if module is None or not page.user.can(module.api_name, "view") or not allows(
                page.user.scopes, *[f"ZohoCRM.mass_update.{n}.READ"
                                    for n in sorted({module.scope_name,
                                                     module.api_name.lower()})]):
            continue
        rows.append({"job": job, "module": module, "by": show.user(job.created_by),
                     "created": show.time(job.created_time)})
    return page.render("jobs.html", rows=rows)

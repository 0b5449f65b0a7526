"""The admin console at /console: server-rendered HTML (Jinja2), htmx vendored as a static file.

Every page authorises with the session's token scopes and the user's profile, exactly as the
API handlers do, and calls the same services (the one write path for every record change).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from corral.api.console import dashboard as d
from corral.api.console import emulator as e
from corral.api.console import jobs as j
from corral.api.console import pages as p
from corral.api.console import setup as s
from corral.api.console.web import STATIC_DIR, handler
from corral.emulator.service import Emulator
from corral.services import Corral


def console_routes(corral: Corral, emulator: Emulator | None = None) -> list[BaseRoute]:
    """The console's pages; the emulator panel's only when `emulator` is given."""

    def page(path: str, fn: p.PageHandler, methods: tuple[str, ...] = ("GET",), *,
             public: bool = False) -> Route:
        return Route(path, handler(fn, corral, public=public, emulator=emulator),
                     methods=list(methods))

    inner: list[BaseRoute] = [
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="console-static"),
        page("/", p.home),
        page("/login", p.login, ("GET", "POST"), public=True),
        page("/oauth/start", p.oauth_start, ("POST",), public=True),
        page("/oauth/callback", p.oauth_callback, public=True),
        page("/logout", p.logout, ("POST",)),
        page("/modules", p.modules),
        page("/m/{module}", p.record_list),
        page("/m/{module}/new", p.record_form, ("GET", "POST")),
        page("/m/{module}/mass_update", j.mass_update, ("GET", "POST")),
        page("/m/{module}/{record_id:int}", p.record_page),
        page("/m/{module}/{record_id:int}/edit", p.record_form, ("GET", "POST")),
        page("/m/{module}/{record_id:int}/related/{related_list}", p.related_section),
        page("/setup", s.setup_index),
        page("/setup/{module}", s.module_setup),
        page("/setup/{module}/fields/new", s.add_field, ("GET", "POST")),
        page("/setup/{module}/fields/{field}/unique", s.toggle_unique, ("POST",)),
        page("/setup/{module}/duplicate_check_preference", s.preference, ("GET", "POST")),
        page("/dashboard", d.dashboard),
        page("/jobs", j.jobs),
        page("/jobs/{job_id:int}", j.job_page),
        page("/jobs/{job_id:int}/progress", j.job_progress),
        page("/jobs/{job_id:int}/revert", j.revert_job, ("POST",)),
    ]
    if emulator is not None:
        inner += [
            page("/emulator", e.panel),
            page("/emulator/journal", e.journal),
            page("/emulator/faults", e.add_fault, ("POST",)),
            page("/emulator/faults/{fault_id}/delete", e.delete_fault, ("POST",)),
            page("/emulator/clock", e.clock, ("POST",)),
            page("/emulator/snapshots", e.save_snapshot, ("POST",)),
            page("/emulator/snapshots/{name}/restore", e.restore_snapshot, ("POST",)),
            page("/emulator/snapshots/{name}/delete", e.delete_snapshot, ("POST",)),
        ]
    return [page("/console", p.home), Mount("/console", routes=inner)]

"""The console's dashboard: records per module, writes per hour by source, job throughput
(records of finished jobs per hour by kind) and, in emulator mode, API credits per hour —
drawn as server-side SVG (no chart library, nothing for the CSP to allow)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.responses import Response

from corral.api.console.pages import can_read
from corral.api.console.web import Page
from corral.records.query import Filters

SOURCES = (("API", "#2d5b94"), ("console", "#3d8b4f"), ("job", "#c7862b"),
           ("workflow", "#8a4fb0"))
JOB_KINDS = (("mass update", "#2d5b94"), ("bulk write", "#3d8b4f"),
             ("bulk read", "#c7862b"), ("revert", "#8a4fb0"), ("other", "#778"))
KIND_NAMES = {"mass_update": "mass update", "bulk_write": "bulk write",
              "bulk_read": "bulk read", "revert": "revert"}
HOURS = 24
WIDTH, HEIGHT = 720, 220


def _module_bars(page: Page) -> list[dict[str, Any]]:
    by_id = page.corral.query.counts_by_module(Filters())
    counts = [(m, by_id.get(m.id, 0))
              for m in page.corral.registry.modules() if can_read(page.user, m)]
    counts = [(m, n) for m, n in counts if n]
    top = max((n for _, n in counts), default=0) or 1
    return [{"label": m.plural_label, "api_name": m.api_name, "count": n, "y": i * 22,
             "width": max(1, round(n / top * (WIDTH - 260)))}
            for i, (m, n) in enumerate(sorted(counts, key=lambda x: -x[1]))]


def _hours(page: Page) -> tuple[datetime, list[str]]:
    now = page.corral.clock().replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(hours=HOURS - 1)
    return start, [(start + timedelta(hours=i)).strftime("%Y-%m-%d %H") for i in range(HOURS)]


def _stacked(hours: list[str], rows: list[tuple[str, str, int]],
             series: tuple[tuple[str, str], ...], unit: str = "") -> dict[str, Any]:
    """Bars per hour, one segment per series (rows: hour, series, amount)."""
    per: dict[str, dict[str, int]] = {h: {} for h in hours}
    for hour, name, n in rows:
        if hour in per:
            per[hour][name] = per[hour].get(name, 0) + n
    top = max((sum(v.values()) for v in per.values()), default=0) or 1
    slot = WIDTH // HOURS
    bars = []
    for i, hour in enumerate(hours):
        y = HEIGHT - 20
        for name, colour in series:
            n = per[hour].get(name, 0)
            if not n:
                continue
            h = max(1, round(n / top * (HEIGHT - 40)))
            y -= h
            bars.append({"x": i * slot + 2, "y": y, "w": slot - 4, "h": h, "fill": colour,
                         "title": f"{hour}:00 UTC — {name}: {n}{unit}"})
    labels = [{"x": i * slot + slot // 2, "text": h[-2:]} for i, h in enumerate(hours)
              if i % 3 == 0]
    return {"bars": bars, "labels": labels, "top": top, "series": series,
            "total": sum(sum(v.values()) for v in per.values())}


def _writes(page: Page, start: datetime, hours: list[str]) -> dict[str, Any]:
    readable = [m for m in page.corral.registry.modules() if can_read(page.user, m)]
    return _stacked(hours, page.corral.query.writes_per_hour(start, readable), SOURCES)


def _jobs(page: Page, start: datetime, hours: list[str]) -> dict[str, Any]:
    readable = [m for m in page.corral.registry.modules() if can_read(page.user, m)]
    rows = page.corral.query.jobs_per_hour(start, readable)
    return _stacked(hours, [(h, KIND_NAMES.get(k, "other"), n) for h, k, _jobs, n in rows],
                    JOB_KINDS, " records")


def _credits(page: Page, start: datetime, hours: list[str]) -> dict[str, Any] | None:
    emu = page.emulator
    if emu is None or not page.user.is_admin:
        return None
    rows = [(time.strftime("%Y-%m-%d %H"), "credits", credits)
            for time, credits in emu.journal.credits_spent(start)]
    chart = _stacked(hours, rows, (("credits", "#c7862b"),))
    chart["usage"] = emu.limits.usage()
    return chart


def dashboard(page: Page) -> Response:
    start, hours = _hours(page)
    return page.render("dashboard.html", modules=_module_bars(page),
                       writes=_writes(page, start, hours), jobs=_jobs(page, start, hours),
                       credits=_credits(page, start, hours), width=WIDTH, height=HEIGHT)

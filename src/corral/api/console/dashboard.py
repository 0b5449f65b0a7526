"""The console's dashboard: records per module and writes per hour by source, drawn as
server-side SVG (no chart library, nothing for the CSP to allow)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.responses import Response

from corral.api.console.pages import can_read
from corral.api.console.web import Page
from corral.records.query import Filters

SOURCES = (("API", "#2d5b94"), ("console", "#3d8b4f"), ("job", "#c7862b"),
           ("workflow", "#8a4fb0"))
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


def _hour_bars(page: Page) -> tuple[list[dict[str, Any]], int]:
    now = page.corral.clock().replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(hours=HOURS - 1)
    hours = [(start + timedelta(hours=i)).strftime("%Y-%m-%d %H") for i in range(HOURS)]
    per: dict[str, dict[str, int]] = {h: {} for h in hours}
    readable = [m for m in page.corral.registry.modules() if can_read(page.user, m)]
    for hour, source, n in page.corral.query.writes_per_hour(start, readable):
        if hour in per:
            per[hour][source] = per[hour].get(source, 0) + n
    top = max((sum(v.values()) for v in per.values()), default=0) or 1
    slot = WIDTH // HOURS
    bars = []
    for i, hour in enumerate(hours):
        y = HEIGHT - 20
        for source, colour in SOURCES:
            n = per[hour].get(source, 0)
            if not n:
                continue
            h = max(1, round(n / top * (HEIGHT - 40)))
            y -= h
            bars.append({"x": i * slot + 2, "y": y, "w": slot - 4, "h": h, "fill": colour,
                         "title": f"{hour}:00 UTC — {source}: {n}"})
    labels = [{"x": i * slot + slot // 2, "text": h[-2:]} for i, h in enumerate(hours)
              if i % 3 == 0]
    return bars + [{"label": lb} for lb in labels], top


def dashboard(page: Page) -> Response:
    modules = _module_bars(page)
    hours, top = _hour_bars(page)
    return page.render("dashboard.html", modules=modules,
                       bars=[b for b in hours if "label" not in b],
                       labels=[b["label"] for b in hours if "label" in b], top=top,
                       sources=SOURCES, width=WIDTH, height=HEIGHT)

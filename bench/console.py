"""Console page render time at N Leads (default 100,000), and a plain sqlite3 baseline.

    python bench/console.py                 # fresh SQLite file in a temp dir
    python bench/console.py --records 20000 --repeat 10

The Leads are written directly (records + record_keys + change_log, as bench/insert.py's
preload), then the console app runs in this process (Starlette TestClient, signed in with the
admin token) and each page is requested --repeat times; the median is the figure (ASGI app,
queries and template rendering; the test client's own overhead is included). The baseline, in
the same run on the same file: the stdlib `sqlite3` module selecting the same rows (the page's
50 records, or the count) and decoding their JSON, no SQLAlchemy, no rendering.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from corral.app import create_app  # noqa: E402
from corral.config import Settings  # noqa: E402
from corral.services import Corral  # noqa: E402

PAGE_SQL = ("SELECT id, data, owner_id, created_time, modified_time FROM records "
            "WHERE module_id = ? AND deleted_time IS NULL AND converted = 0 "
            "ORDER BY id DESC LIMIT 50 OFFSET ?")
COUNT_SQL = ("SELECT count(*) FROM records WHERE module_id = ? AND deleted_time IS NULL "
             "AND converted = 0")
COUNT_BY_MODULE_SQL = ("SELECT module_id, count(*) FROM records WHERE deleted_time IS NULL "
                       "AND converted = 0 AND approval_state = 'approved' GROUP BY module_id")
HOURS_SQL = ("SELECT strftime('%Y-%m-%d %H', at) AS h, job_id IS NULL, count(*) FROM change_log "
             "WHERE at >= datetime('now', '-1 day') GROUP BY h, 2")
JOBS_HOURS_SQL = ("SELECT strftime('%Y-%m-%d %H', finished_time) AS h, kind, count(*), "
                  "sum(total) FROM jobs WHERE finished_time >= datetime('now', '-1 day') "
                  "GROUP BY h, kind")
JOBS_SQL = "SELECT * FROM jobs ORDER BY created_time DESC, id DESC LIMIT 50"
NOTES_SQL = ("SELECT id, data FROM records WHERE module_id = (SELECT id FROM modules WHERE "
             "api_name = 'Notes') AND deleted_time IS NULL AND "
             "json_extract(data, '$.Parent_Id') = ? ORDER BY id DESC LIMIT 10")
ONE_SQL = "SELECT id, data FROM records WHERE id = ?"
HISTORY_SQL = "SELECT * FROM change_log WHERE record_id = ? ORDER BY id"


def median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="corral-console-bench-") as tmp:
        url = f"sqlite:///{tmp}/corral.db"
        corral = Corral.open(Settings(database_url=url, run_worker=False))
        token = corral.seed()
        assert token
        engine = c.make_engine(url, 2)
        meta = c.read_meta(engine)
        secs, ids = c.preload_rows(engine, meta, args.records,
                                   lambda i: c.lead(i, f"lead{i:08d}@example.com"))
        engine.dispose()
        print(f"{c.machine_line()}\npreload: {args.records:,} Leads in {secs:.1f} s")
        rid = ids[len(ids) // 2]
        plain = sqlite3.connect(f"{tmp}/corral.db")

        def plain_page(offset: int) -> None:
            rows = plain.execute(PAGE_SQL, (meta.module_id, offset)).fetchall()
            [json.loads(r[1]) for r in rows]

        def plain_record() -> None:
            json.loads(plain.execute(ONE_SQL, (rid,)).fetchone()[1])
            plain.execute(HISTORY_SQL, (rid,)).fetchall()

        pages: list[tuple[str, str, Any]] = [
            ("Leads, page 1", "/console/m/Leads",
             lambda: (plain_page(0), plain.execute(COUNT_SQL, (meta.module_id,)).fetchone())),
            ("Leads, page 40", "/console/m/Leads?page=40",
             lambda: (plain_page(39 * 50), plain.execute(COUNT_SQL,
                                                         (meta.module_id,)).fetchone())),
            ("record page", f"/console/m/Leads/{rid}", plain_record),
            ("record's Notes list", f"/console/m/Leads/{rid}/related/Notes",
             lambda: plain.execute(NOTES_SQL, (str(rid),)).fetchall()),
            ("modules with counts", "/console/modules",
             lambda: plain.execute(COUNT_BY_MODULE_SQL).fetchall()),
            ("dashboard", "/console/dashboard",
             lambda: (plain.execute(COUNT_BY_MODULE_SQL).fetchall(),
                      plain.execute(HOURS_SQL).fetchall(),
                      plain.execute(JOBS_HOURS_SQL).fetchall())),
            ("jobs", "/console/jobs", lambda: plain.execute(JOBS_SQL).fetchall()),
        ]
        with TestClient(create_app(corral)) as client:
            login = client.get("/console/login")
            csrf = login.text.split('name="csrf_token" value="')[1].split('"')[0]
            r = client.post("/console/login", data={"access_token": token, "csrf_token": csrf},
                            follow_redirects=False)
            assert r.status_code == 303, r.text
            print(f"{'page':<22}{'console ms':>12}{'plain ms':>10}{'ratio':>8}")
            for label, path, baseline in pages:
                assert client.get(path).status_code == 200  # warm caches
                ms = median_ms(lambda p=path: client.get(p), args.repeat)
                base = median_ms(baseline, args.repeat)
                print(f"{label:<22}{ms:>12.1f}{base:>10.2f}{ms / base:>8.1f}")
            print(f"{'(emulator panel)':<22}{'console ms':>12}{'filter ms':>10}{'ratio':>8}")
            journal_pages(corral, token, args.repeat)
        plain.close()
        corral.close()


def journal_pages(corral: Corral, token: str, repeat: int) -> None:
    """The emulator panel with a full journal (10,000 calls, 2 KB bodies); the baseline is
    the journal's own query of the same calls (`Journal.calls`: the table emulator_journal,
    which the console pages read newest first, 200 rows)."""
    from corral.emulator.service import Emulator

    emu = Emulator(corral)
    body = json.dumps({"data": [{"Last_Name": "x" * 40, "Email": "a@b.c"}] * 20}).encode()
    for i in range(emu.options.journal_size):
        emu.journal.add(time=emu.clock(), direction="in", method="POST" if i % 2 else "GET",
                        path=f"/crm/v8/Leads/{i}", query="", status=200, code="SUCCESS",
                        credits=1, duration_ms=1.0, request_body=body, response_body=body)
    with TestClient(create_app(corral, emu)) as client:
        login = client.get("/console/login")
        csrf = login.text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/console/login", data={"access_token": token, "csrf_token": csrf})
        for label, path, query in (
                ("journal (200 newest)", "/console/emulator/journal", {}),
                ("journal, POST filter", "/console/emulator/journal?method=POST",
                 {"method": "POST"}),
                ("emulator panel", "/console/emulator", None)):
            assert client.get(path).status_code == 200
            ms = median_ms(lambda p=path: client.get(p), repeat)
            base = median_ms(lambda q=query: emu.journal.calls(
                **(q or {}), limit=emu.options.journal_size) if q is not None
                else emu.limits.usage(), repeat)
            print(f"{label:<22}{ms:>12.1f}{base:>10.2f}{ms / base:>8.1f}")


if __name__ == "__main__":
    main()

"""Idempotency keys against a real `corral serve`: 20 concurrent identical upserts with one key
write once and all get the same answer; a server killed (-9) right after a keyed write gives
the retried call the stored answer and writes nothing twice."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Database
from tests.e2e.helpers import Server, run_corral

pytestmark = pytest.mark.e2e

TWINS = 20


def send(server: Server, token: str, method: str, path: str, body: Any,
         key: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(
        f"{server.base_url}/crm/v8/{path}", data=json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Zoho-oauthtoken {token}",
                 "Content-Type": "application/json", "Idempotency-Key": key})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def writes_of(url: str, email: str) -> tuple[int, int]:
    """(live Leads with `email`, change-log rows about them)."""
    db = Database(url)
    try:
        with db.read() as tx:
            ids = [r.id for r in tx.execute(sa.select(t.records.c.id, t.records.c.data))
                   if str(r.data.get("Email", "")).lower() == email]
            logged = tx.execute(sa.select(sa.func.count()).select_from(t.change_log).where(
                t.change_log.c.record_id.in_(ids))).scalar_one() if ids else 0
        return len(ids), int(logged)
    finally:
        db.dispose()


def token_for(url: str) -> str:
    return run_corral("token", "create", "--scopes", "ZohoCRM.modules.ALL",
                      "--database-url", url).stdout.strip()


def test_twenty_concurrent_identical_upserts_write_once(e2e_database_url: str,
                                                        tmp_path: Path) -> None:
    token = token_for(e2e_database_url)
    body = {"data": [{"Last_Name": "Twin", "Email": "twin@x.com", "Company": "T"}]}
    answers: list[tuple[int, dict[str, str], bytes]] = []
    start = threading.Barrier(TWINS)
    with Server(e2e_database_url, tmp_path) as server:
        def run() -> None:
            start.wait()
            answers.append(send(server, token, "POST", "Leads/upsert", body, "twin-key"))

        threads = [threading.Thread(target=run) for _ in range(TWINS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
    assert len(answers) == TWINS
    assert {(status, raw) for status, _, raw in answers} == {(answers[0][0], answers[0][2])}
    assert answers[0][0] == 200
    assert json.loads(answers[0][2])["data"][0]["action"] == "insert"
    replayed = [h.get("idempotent-replayed") for _, h, _ in answers]
    assert replayed.count("true") == TWINS - 1
    count, logged = writes_of(e2e_database_url, "twin@x.com")
    assert count == 1
    # One insert entry: nothing was written by any of the 19 twins.
    assert logged == 1


def test_killed_server_replays_the_stored_answer_after_restart(e2e_database_url: str,
                                                               tmp_path: Path) -> None:
    token = token_for(e2e_database_url)
    body = {"data": [{"Last_Name": "Crash", "Email": "crash@x.com"}]}
    server = Server(e2e_database_url, tmp_path).start()
    try:
        first = send(server, token, "POST", "Leads", body, "crash-key")
        assert first[0] == 201, first
        assert server.proc is not None
        server.proc.kill()  # SIGKILL: no shutdown, no flush beyond what committed
        server.proc.wait(timeout=30)
        server.proc = None
        server.start()
        again = send(server, token, "POST", "Leads", body, "crash-key")
    finally:
        server.stop()
    assert again[0] == 201
    assert again[1].get("idempotent-replayed") == "true"
    assert again[2] == first[2]
    assert writes_of(e2e_database_url, "crash@x.com") == (1, 1)

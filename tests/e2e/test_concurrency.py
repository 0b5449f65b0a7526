"""Race-freedom: 8 HTTP clients upsert overlapping key sets against two `corral serve`s on one
database, each of two worker processes (`helpers.E2E_WORKERS`): four processes in all.

Afterwards every key exists exactly once — for a unique field (Leads.Email, guarded by the
unique index) and for a system duplicate-check field that is not unique (Accounts.Account_Name,
guarded by serialised writers on SQLite and advisory locks on PostgreSQL).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Database
from tests.e2e.helpers import Http, Server, run_corral

pytestmark = pytest.mark.e2e

CLIENTS = 8
BATCH = 100


def _client_keys(n_keys: int, client: int) -> list[int]:
    # Overlapping windows: each client covers half the keys, shifted by client, in its own order.
    start = (client * n_keys // CLIENTS) % n_keys
    keys = [(start + i) % n_keys for i in range(n_keys // 2)]
    random.Random(client).shuffle(keys)
    return keys


def _hammer(servers: list[Server], token: str, module: str, make: Any,
            n_keys: int) -> list[str]:
    errors: list[str] = []

    def run(client: int) -> None:
        http = Http(servers[client % len(servers)].base_url, token)
        keys = _client_keys(n_keys, client)
        for start in range(0, len(keys), BATCH):
            batch = [make(k, client) for k in keys[start:start + BATCH]]
            status, body = http.post(f"{module}/upsert", {"data": batch})
            if status != 200:
                errors.append(f"client {client}: HTTP {status} {str(body)[:300]}")
                return
            bad = [e for e in body["data"] if e["code"] != "SUCCESS"]
            if bad:
                errors.append(f"client {client}: {bad[:2]}")
                return

    threads = [threading.Thread(target=run, args=(c,)) for c in range(CLIENTS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=600)
    return errors


def _key_counts(url: str, module: str, field: str) -> Counter[str]:
    db = Database(url)
    try:
        with db.read() as conn:
            module_id = conn.execute(sa.select(t.modules.c.id).where(
                t.modules.c.api_name == module)).scalar_one()
            rows = conn.execute(sa.select(t.records.c.data).where(
                t.records.c.module_id == module_id, t.records.c.deleted_time.is_(None)))
            return Counter(str(r.data.get(field)).strip().lower() for r in rows)
    finally:
        db.dispose()


def test_concurrent_upserts_never_duplicate_a_key(e2e_database_url: str,
                                                  tmp_path: Path) -> None:
    # Seed once, so both servers start on a migrated database.
    token = run_corral("token", "create", "--scopes", "ZohoCRM.modules.ALL",
                       "--database-url", e2e_database_url).stdout.strip()
    with Server(e2e_database_url, tmp_path, "a") as a, Server(e2e_database_url, tmp_path, "b") as b:
        lead_errors = _hammer([a, b], token, "Leads", lambda k, c: {
            "Last_Name": f"L{k}-c{c}",
            # Differently cased spellings of one address are one key.
            "Email": (f"lead{k}@x.com" if c % 2 else f"LEAD{k}@X.com")}, 2000)
        account_errors = _hammer([a, b], token, "Accounts", lambda k, c: {
            "Account_Name": f"Account {k}" if c % 2 else f"account {k} ",
            "Phone": str(c)}, 400)
    assert not lead_errors, lead_errors[:3]
    assert not account_errors, account_errors[:3]
    emails = _key_counts(e2e_database_url, "Leads", "Email")
    assert len(emails) == 2000
    assert set(emails.values()) == {1}, emails.most_common(3)
    names = _key_counts(e2e_database_url, "Accounts", "Account_Name")
    assert len(names) == 400
    assert set(names.values()) == {1}, names.most_common(3)

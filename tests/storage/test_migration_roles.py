"""Migration 0006 on a database that already has users: their role names become roles (the
CEO at the top), users point at them, and ids keep coming from the shared counter."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from corral.storage.database import ID_BASE, Database
from corral.storage.migrate import alembic_config, migrate
from corral.storage.repositories.auth import AuthRepository
from corral.storage.repositories.roles import RoleRepository
from tests.conftest import BACKENDS

_counter = itertools.count()
NOW = datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture(params=BACKENDS)
def old_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database at revision 0005 (before roles), with an org, profiles and two users."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        pg = request.getfixturevalue("pg")
        url = pg.create_database(f"corral_old_{os.getpid()}_{next(_counter)}")
    db = Database(url)
    cfg = alembic_config()
    with db.write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
    with db.write() as conn:
        conn.execute(sa.text("UPDATE counters SET value = 100 WHERE name = 'id'"))
        conn.execute(sa.text(
            "INSERT INTO profiles (id, name, permissions) VALUES (10, 'Administrator', :p)"),
            {"p": '{"admin": true, "modules": {"*": ["view"]}}'})
        for uid, email, role in ((20, "boss@zylker.com", "CEO"),
                                 (21, "sam@zylker.com", "Member"),
                                 (22, "kim@zylker.com", "Member")):
            conn.execute(sa.text(
                "INSERT INTO users (id, zuid, email, first_name, last_name, profile_id, role, "
                "time_zone, status, created_time) VALUES (:id, :id, :email, NULL, 'X', 10, "
                ":role, 'UTC', 'active', :now)"),
                {"id": uid, "email": email, "role": role, "now": NOW})
    yield db
    db.dispose()


def test_role_names_become_roles(old_db: Database) -> None:
    migrate(old_db)
    with old_db.read() as tx:
        roles = RoleRepository().all(tx)
        users = {u.email: u for u in AuthRepository().all_users(tx)}
    assert [r.name for r in roles] == ["CEO", "Member"]
    ceo, member = roles
    assert ceo.reporting_to is None and member.reporting_to == ceo.id
    assert {ceo.id, member.id} == {ID_BASE + 100, ID_BASE + 101}
    assert (users["boss@zylker.com"].role, users["boss@zylker.com"].role_id) == ("CEO", ceo.id)
    assert users["sam@zylker.com"].role_id == users["kim@zylker.com"].role_id == member.id
    assert all(u.confirmed and u.attributes == {} for u in users.values())
    # New ids never meet the ones the migration took.
    assert old_db.new_id() >= ID_BASE + 102
    # Running it again changes nothing.
    migrate(old_db)
    with old_db.read() as tx:
        assert [r.name for r in RoleRepository().all(tx)] == ["CEO", "Member"]


def test_downgrade_restores_role_names(old_db: Database) -> None:
    migrate(old_db)
    cfg = alembic_config()
    with old_db.write() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    with old_db.read() as tx:
        rows = dict(tx.execute(sa.text("SELECT email, role FROM users")).all())
    assert rows == {"boss@zylker.com": "CEO", "sam@zylker.com": "Member",
                    "kim@zylker.com": "Member"}

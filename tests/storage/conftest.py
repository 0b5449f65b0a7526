"""A migrated but empty database (no seed) on each backend, for the seed writer's tests."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.storage.database import Database
from corral.storage.migrate import migrate
from tests.conftest import BACKENDS

_counter = itertools.count()


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        pg = request.getfixturevalue("pg")
        url = pg.create_database(f"corral_empty_{os.getpid()}_{next(_counter)}")
    db = Database(url)
    migrate(db)
    yield db
    db.dispose()

"""Fixtures for the end-to-end tests: a fresh, empty database per test and the SDK venv."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import CACHE_DIR, ensure_venv

SDK2_REQUIREMENT = "zohocrmsdk2-0==6.0.0"
_counter = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def e2e_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a brand-new database (never migrated or seeded: `corral` does that itself)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'corral.db'}"
    pg: Any = request.getfixturevalue("pg")
    return str(pg.create_database(f"corral_e2e_{os.getpid()}_{next(_counter)}"))


@pytest.fixture(scope="session")
def sdk2_python() -> Path:
    """Python of `.cache/sdk2-venv` with the official v2 SDK from PyPI (built once, then reused)."""
    return ensure_venv(CACHE_DIR / "sdk2-venv", SDK2_REQUIREMENT)

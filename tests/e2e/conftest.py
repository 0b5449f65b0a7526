"""Fixtures for the end-to-end tests: a fresh, empty database per test and the SDK venv."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import CACHE_DIR, ensure_node_packages, ensure_venv, node_or_skip

SDK2_REQUIREMENT = "zohocrmsdk2-0==6.0.0"
SDK8_REQUIREMENT = "zohocrmsdk8-0==7.0.0"
NODE_SDK8_PACKAGES = {"@zohocrm/nodejs-sdk-8.0": "2.0.0"}
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


@pytest.fixture(scope="session")
def sdk8_python() -> Path:
    """Python of `.cache/sdk8-venv` with the official v8 SDK from PyPI (built once, then reused)."""
    return ensure_venv(CACHE_DIR / "sdk8-venv", SDK8_REQUIREMENT)


@pytest.fixture(scope="session")
def node_sdk8_modules() -> Path:
    """node_modules of `.cache/node-sdk8` with the official Node.js v8 SDK from the npm registry
    (installed once, then reused). No node/npm: fails under CI, skipped elsewhere."""
    node_or_skip()
    return ensure_node_packages(CACHE_DIR / "node-sdk8", NODE_SDK8_PACKAGES)

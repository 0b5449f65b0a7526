"""Shared fixtures: one parametrised database fixture runs every test on SQLite and PostgreSQL.

Each test gets a fresh database copied from a template that is migrated and seeded once per
worker: a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from corral.app import create_app
from corral.auth.scopes import ALL_SCOPES
from corral.config import Settings
from corral.services import Corral
from tests.support.pgcluster import (
    PgUnavailable,
    pg_server,
    skip_or_fail,
    touch_pg_marker,
)

# The `zoho_crm` fixture (tests/test_testing_plugin.py); pyproject.toml turns the entry point off.
pytest_plugins = ["corral.testing"]

BACKENDS = ["sqlite", "postgresql"]
_counter = itertools.count()


_fuzz_requests: list[int] = []  # requests of the contract fuzzer (tests/contract), per test


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and "postgresql" in report.nodeid:
        touch_pg_marker()
    if report.when == "call":  # reports reach the xdist controller, so the sum covers all workers
        _fuzz_requests.extend(int(v) for k, v in report.user_properties if k == "fuzz_requests")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _fuzz_requests:
        terminalreporter.write_line(f"contract fuzzer: {sum(_fuzz_requests)} requests in "
                                    f"{len(_fuzz_requests)} operation runs")


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = pg_server(tmp_path_factory.mktemp("pg"))
    try:
        server.start()
    except PgUnavailable as exc:
        skip_or_fail(f"PostgreSQL unavailable: {exc}")
    yield server
    server.stop()


def _prepare(url: str) -> None:
    corral = Corral.open(Settings(database_url=url))
    corral.seed()
    corral.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    _prepare(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template(pg: Any) -> str:
    name = f"corral_tpl_{os.getpid()}"
    url = pg.create_database(name)
    _prepare(url)
    return name


def _pg_clone(pg: Any, template: str) -> str:
    import psycopg

    name = f"corral_t_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return pg.url(name)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "corral.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    pg = request.getfixturevalue("pg")
    return _pg_clone(pg, request.getfixturevalue("pg_template"))


@pytest.fixture
def corral(database_url: str) -> Iterator[Corral]:
    # Jobs are run step by step in tests (corral.jobs.run_once), never by a background thread.
    c = Corral.open(Settings(database_url=database_url, run_worker=False))
    c.seed()
    yield c
    c.close()


@pytest.fixture
def client(corral: Corral) -> Iterator[TestClient]:
    with TestClient(create_app(corral), raise_server_exceptions=False) as c:
        yield c


def make_token(corral: Corral, scopes: list[str] | str = ALL_SCOPES,
               email: str | None = None, expires_in: int | None = None) -> str:
    user = corral.auth.user_by_email(email)
    return corral.auth.create_access_token(user.id, list(scopes) if not isinstance(scopes, str)
                                           else scopes, expires_in=expires_in)


@pytest.fixture
def token(corral: Corral) -> str:
    return make_token(corral)


class Api:
    """Thin helper over the test client that sends the Zoho auth header."""

    def __init__(self, client: TestClient, token: str, version: str = "v2") -> None:
        self.client = client
        self.token = token
        self.version = version

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Zoho-oauthtoken {token or self.token}"}

    def url(self, path: str) -> str:
        return path if path.startswith("/oauth") else f"/crm/{self.version}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, json: Any = None, params: Any = None,
                token: str | None = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.request(method, self.url(path), json=json, params=params,
                                   headers={**self.headers(token), **(headers or {})})

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.request("PATCH", path, **kw)

    def insert(self, module: str, *records: dict[str, Any]) -> list[str]:
        r = self.post(module, json={"data": list(records)})
        assert r.status_code == 201, r.text
        return [d["details"]["id"] for d in r.json()["data"]]


@pytest.fixture
def api(client: TestClient, token: str) -> Api:
    return Api(client, token)

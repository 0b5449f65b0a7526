"""Smoke tests for tests/support/pgcluster.py: a real PostgreSQL must start here.

Skipped when PostgreSQL is unavailable, or failed when pg_required()
(CI / CORRAL_REQUIRE_PG=1).  Every test uses its own tmp_path and its own
free port, so it is safe under pytest-xdist (-n 2).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.pgcluster import (
    PgCluster,
    PgUnavailable,
    external_pg_url,
    find_pg_bindir,
    pg_server,
    skip_or_fail,
    touch_pg_marker,
)


def _select_one(conninfo: str) -> int:
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(conninfo, connect_timeout=10) as conn:
        return conn.execute("select 1").fetchone()[0]


def _need_bindir() -> None:
    if find_pg_bindir() is None:
        if external_pg_url():
            pytest.skip("no local PostgreSQL binaries; CORRAL_TEST_PG_URL covers PostgreSQL")
        skip_or_fail("initdb not found")


def test_server_create_database_select_one(tmp_path):
    """The server the suite will use (throwaway cluster, or CORRAL_TEST_PG_URL)."""
    if not external_pg_url():
        _need_bindir()
    dbname = f"corral_smoke_{uuid.uuid4().hex[:12]}"
    try:
        server = pg_server(tmp_path / "pg").start()
    except PgUnavailable as exc:
        skip_or_fail(str(exc))
    try:
        url = server.create_database(dbname)
        assert url == server.url(dbname)
        assert url.startswith("postgresql+psycopg://")
        assert _select_one(server.conninfo(dbname)) == 1
        server.drop_database(dbname)
    finally:
        server.stop()
    touch_pg_marker()


def test_clusters_start_in_parallel(tmp_path):
    """Two clusters at once (as with two xdist workers): distinct ports, both usable."""
    _need_bindir()

    def run(i: int) -> tuple[int, int, Path]:
        with PgCluster(tmp_path / f"pg{i}") as cluster:
            cluster.create_database("corral")
            assert cluster.url("corral") == (
                f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/corral"
            )
            value = _select_one(cluster.conninfo("corral"))
            root = cluster.root
            assert root is not None and (cluster.data_dir / "PG_VERSION").exists()
            return cluster.port, value, root

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, range(2)))
    ports = {port for port, _, _ in results}
    assert len(ports) == 2
    assert all(value == 1 for _, value, _ in results)
    for _, _, root in results:
        assert not root.exists(), "stop() must remove the cluster directory"
    assert not (tmp_path / "pg0").exists()
    touch_pg_marker()

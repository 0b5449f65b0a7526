"""Browser fixtures: one Chromium (Debian's, launched by path) per session, one real
`corral serve` on SQLite per module; screenshots go to tests/console/screenshots/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corral.config import Settings
from corral.services import Corral
from tests.e2e.helpers import Http, Server

SHOTS = Path(__file__).parent / "screenshots"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CORRAL_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


class Site:
    def __init__(self, server: Server, token: str, corral: Corral) -> None:
        self.server = server
        self.url = server.base_url
        self.token = token
        self.corral = corral
        self.api = Http(server.base_url, token, "v8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from serve_site(tmp_path_factory.mktemp("console"))


def serve_site(tmp: Path, extra_args: tuple[str, ...] = ()) -> Iterator[Site]:
    """A `corral serve` on a fresh SQLite file in `tmp`, and a Corral on the same file."""
    url = f"sqlite:///{tmp / 'corral.db'}"
    server = Server(url, tmp, extra_args=extra_args).start()
    try:
        token = server.admin_token()
        assert token, server.output()
        corral = Corral.open(Settings(database_url=url, run_worker=False), prepare=False)
        try:
            yield Site(server, token, corral)
        finally:
            corral.close()
    finally:
        server.stop()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

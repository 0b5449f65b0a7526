"""`corral serve --workers`: the default, the environment variable, emulator mode's refusal.

The processes themselves are exercised end to end in tests/e2e/test_workers.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from corral.cli import main
from corral.serving import default_workers


def test_default_is_the_cores_this_process_may_use() -> None:
    assert default_workers() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("how", ["flag", "env"])
def test_emulator_mode_refuses_several_workers(tmp_path: Path, how: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORRAL_WORKERS", raising=False)
    args = ["serve", "--emulator", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"]
    if how == "flag":
        args += ["--workers", "3"]
    else:
        monkeypatch.setenv("CORRAL_WORKERS", "3")
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1
    assert "emulator mode runs in one process: use --workers 1" in r.output
    assert not (tmp_path / "x.db").exists()  # refused before touching the database


def test_workers_must_be_positive(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["serve", "--workers", "0",
                                  "--database-url", f"sqlite:///{tmp_path / 'x.db'}"])
    assert r.exit_code == 2 and "--workers" in r.output

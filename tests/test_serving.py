"""`corral serve --workers`: the default, the environment variable, emulator mode's refusal.

The processes themselves are exercised end to end in tests/e2e/test_workers.py."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from corral.cli import main
from corral.serving import default_workers


def test_default_is_the_cores_this_process_may_use() -> None:
    assert default_workers() == len(os.sched_getaffinity(0))


def test_workers_must_be_positive(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["serve", "--workers", "0",
                                  "--database-url", f"sqlite:///{tmp_path / 'x.db'}"])
    assert r.exit_code == 2 and "--workers" in r.output

"""The sample project under examples/ (a tiny Zoho integration and its pytest suite, written
with the `corral.testing` plugin) passes, run as its users would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lead_sync"


def test_lead_sync_example_suite_passes() -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "CORRAL_"))}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist"],
                          cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    assert "4 passed" in proc.stdout

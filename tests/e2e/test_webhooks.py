"""Webhooks survive a crash between the write and the delivery (real processes, real receiver)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.api.test_automation import Receiver
from tests.e2e.helpers import Http, Server, run_corral

pytestmark = pytest.mark.e2e


def test_webhook_written_before_a_crash_is_delivered_after_restart(
        e2e_database_url: str, tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        token = run_corral("token", "create", "--scopes", "ZohoCRM.modules.ALL",
                           "--database-url", e2e_database_url).stdout.strip()
        rule = run_corral("workflow", "add", "Leads", "--name", "Notify", "--when", "create",
                          "--webhook", receiver.url, "--webhook-fields", "Last_Name",
                          "--database-url", e2e_database_url)
        assert rule.returncode == 0, rule.stderr
        # A server without a worker: the write commits the outbox row, nothing delivers it.
        server = Server(e2e_database_url, tmp_path, "no-worker",
                        extra_args=("--no-worker",)).start()
        status, body = Http(server.base_url, token).post("Leads", {"data": [
            {"Last_Name": "Crash"}]})
        assert status == 201, body
        assert server.proc is not None
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
        assert receiver.bodies == []
        # Restart with the worker: the pending delivery goes out.
        with Server(e2e_database_url, tmp_path, "worker"):
            deadline = time.monotonic() + 30
            while not receiver.bodies:
                assert time.monotonic() < deadline, "webhook not delivered after restart"
                time.sleep(0.1)
        (delivered,) = receiver.bodies
        assert delivered["data"] == {"Last_Name": "Crash"}
        assert delivered["id"] == body["data"][0]["details"]["id"]
    finally:
        receiver.close()

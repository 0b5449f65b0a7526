"""Adds up the fuzzer's requests for the terminal summary (works under xdist: reads reports)."""

from __future__ import annotations

from typing import Any

import pytest

_sent: list[int] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _sent.extend(int(v) for k, v in report.user_properties if k == "fuzz_requests")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _sent:
        terminalreporter.write_line(
            f"contract fuzzer: {sum(_sent)} requests in {len(_sent)} operation runs")

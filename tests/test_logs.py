"""Structured logs: JSON lines off a terminal, with an exception's cause in them."""

from __future__ import annotations

import json

import pytest
import structlog

from govmedia import logs


def test_a_logged_exception_keeps_its_cause_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info")  # stderr is captured, not a terminal: JSON lines
    try:
        raise OSError("database or disk is full")
    except OSError:
        structlog.get_logger().exception("run.write_failed", run_id=7)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "run.write_failed" and line["run_id"] == 7
    assert "database or disk is full" in line["exception"]

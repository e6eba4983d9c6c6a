"""Child processes for the tests that need real ones: the sim server and the govmedia command."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

GOVMEDIA = [sys.executable, "-m", "govmedia"]


@contextlib.contextmanager
def sim_server(*args: str) -> Iterator[str]:
    """``python -m monitor.simserver`` on a free port; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.simserver", "--port", "0", *args],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on" in line, line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def govmedia(
    *args: str, cwd: Path | None = None, check: bool = True, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [*GOVMEDIA, *args], cwd=cwd, check=check, capture_output=True, text=True, env=env, **kwargs
    )  # type: ignore[call-overload,no-any-return]

"""The daemon: catch-up on start, one per database, /healthz and /metrics, clean shutdown."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import pg_url, reset_postgres
from procs import GOVMEDIA, govmedia, sim_server
from sqlalchemy import select, text
from test_monitor_kill import prepare

from govmedia import config
from monitor.daemon import Daemon
from monitor.singleton import AlreadyRunning, daemon_lock
from registry.db import Database
from registry.schema import runs
from registry.times import SHANGHAI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, port: int, concurrency: int = 50) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"""
[daemon]
http_port = {port}
quarterly_cron = "0 2 15 2 *"
shutdown_grace_s = 5.0
[fetch]
total_timeout_s = 2.0
concurrency = {concurrency}
[checks.unreviewed_post]
enabled = false
""",
        encoding="utf-8",
    )
    return path


async def run_statuses(url: str) -> list[str]:
    db = Database(url)
    async with db.read() as conn:
        found = [status for (status,) in await conn.execute(select(runs.c.status))]
    await db.close()
    return found


def get(port: int, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.status, response.read().decode()


def wait_for(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_catch_up_single_instance_endpoints_and_clean_shutdown(tmp_path: Path) -> None:
    port = free_port()
    with sim_server() as base:
        url = prepare(tmp_path, base, 30)
        config = write_config(tmp_path, port)
        daemon = subprocess.Popen(
            [*GOVMEDIA, "monitor", "daemon", "--config", str(config), "--db", url],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(lambda: get(port, "/healthz")[0] == 200)
            wait_for(lambda: asyncio.run(run_statuses(url)) == ["completed"])
            status, body = get(port, "/metrics")
            assert status == 200 and "govmedia_runs_completed_total 1" in body
            assert json.loads(get(port, "/healthz")[1])["status"] == "ok"
            second = govmedia(
                "monitor", "daemon", "--config", str(config), "--db", url, check=False, timeout=30
            )
            assert second.returncode == 1 and "另一个守护进程" in second.stderr
            started = time.monotonic()
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=10) == 0
            assert time.monotonic() - started < 10
        finally:
            daemon.kill()
            daemon.wait()


def test_sigterm_during_catch_up_checkpoints_and_exits_in_time(tmp_path: Path) -> None:
    port = free_port()
    with sim_server("--latency-ms", "300") as base:
        url = prepare(tmp_path, base, 60)
        # 60 accounts 4 at a time at 300 ms: a run of ~5 s, still going when SIGTERM comes
        config = write_config(tmp_path, port, concurrency=4)
        log = tmp_path / "daemon.log"
        with log.open("w") as stderr:
            daemon = subprocess.Popen(
                [*GOVMEDIA, "monitor", "daemon", "--config", str(config), "--db", url],
                stderr=stderr,
            )
        try:
            wait_for(lambda: asyncio.run(run_statuses(url)) == ["running"])
            time.sleep(0.5)
            started = time.monotonic()
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=10) == 0, log.read_text()[-3000:]
            assert time.monotonic() - started < 10
        finally:
            daemon.kill()
            daemon.wait()
    assert asyncio.run(run_statuses(url)) == ["running"]  # left to resume, not marked complete


async def test_the_single_instance_lock_holds_through_a_symbolic_link(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    real = tmp_path / "a" / "gov.db"
    real.touch()
    (tmp_path / "b" / "link.db").symlink_to(real)
    link = tmp_path / "b" / "link.db"
    first, second = Database(f"sqlite+aiosqlite:///{real}"), Database(f"sqlite+aiosqlite:///{link}")
    try:
        async with daemon_lock(first):
            with pytest.raises(AlreadyRunning):
                async with daemon_lock(second):
                    pass
    finally:
        await first.close()
        await second.close()


async def test_scheduled_jobs_run_even_when_their_time_was_missed(tmp_path: Path) -> None:
    """Each scheduled job runs its work on the event loop (it used to fail in a worker thread
    with no loop, so only the catch-up at start ever ran), and a job whose run time passed
    hours ago (the machine asleep) runs once when the scheduler wakes instead of being
    dropped as a misfire."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    daemon = Daemon(db, config.load_defaults())
    spawned: list[str] = []

    async def quarterly() -> None:
        spawned.append("quarterly")

    async def sweep() -> None:
        spawned.append("sweep")

    daemon.quarterly = quarterly  # type: ignore[method-assign]
    daemon.sweep = sweep  # type: ignore[method-assign]
    scheduler = daemon.scheduler()
    scheduler.start(paused=True)
    try:
        missed = datetime.now(SHANGHAI) - timedelta(hours=6)
        for job_id in ("quarterly", "sweep"):
            scheduler.modify_job(job_id, next_run_time=missed)
        scheduler.resume()
        for _ in range(100):
            if len(spawned) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        scheduler.shutdown(wait=False)
        await db.close()
    assert sorted(spawned) == ["quarterly", "sweep"]


async def test_a_daemon_notices_when_its_postgresql_lock_is_lost() -> None:
    """The advisory lock lives as long as its connection: a server restart (here, the
    backend terminated) ends it and a second daemon could start. The holder learns of it."""
    url = pg_url()
    await reset_postgres(url)
    db = Database(url)
    try:
        async with daemon_lock(db, check_s=0.2) as lost:
            async with db.engine.begin() as conn:
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks "
                        "WHERE locktype = 'advisory' AND objid = :key"
                    ),
                    {"key": 0x60F3ED1B},
                )
            await asyncio.wait_for(lost.wait(), 10)
        async with daemon_lock(db):  # free for the next daemon
            pass
    finally:
        await db.close()

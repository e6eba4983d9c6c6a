"""A `monitor run` killed with SIGKILL mid-run loses nothing and doubles nothing when run again."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import sample_rows, write_csv
from procs import GOVMEDIA, govmedia, sim_server
from sqlalchemy import func, select

from registry.db import Database
from registry.schema import inspections, ledger_entries

AS_OF = "2026-11-20T10:00:00+08:00"


async def fetch_counts(url: str) -> tuple[int, list[int], set[tuple[int, str]], int]:
    db = Database(url)
    async with db.read() as conn:
        complete = (
            await conn.execute(
                select(func.count())
                .select_from(inspections)
                .where(inspections.c.outcome != "incomplete")
            )
        ).scalar_one()
        per_account = [
            n
            for _, n in await conn.execute(
                select(inspections.c.account_pk, func.count()).group_by(inspections.c.account_pk)
            )
        ]
        entries = {
            (pk, code)
            for pk, code in await conn.execute(
                select(ledger_entries.c.account_pk, ledger_entries.c.problem_code)
            )
        }
        total_entries = (
            await conn.execute(select(func.count()).select_from(ledger_entries))
        ).scalar_one()
    await db.close()
    return complete, per_account, entries, total_entries


def prepare(folder: Path, feed_base: str, count: int) -> str:
    url = f"sqlite+aiosqlite:///{folder / 'm.db'}"
    rows = sample_rows(count, seed=9)
    for row in rows:
        row["feed_url"] = f"{feed_base}/feed/{row['account_id']}"
    govmedia("db", "upgrade", "--db", url)
    govmedia("accounts", "import", str(write_csv(folder / "inv.csv", rows)), "--db", url)
    return url


def run_args(url: str) -> list[str]:
    return [
        "monitor",
        "run",
        "--quarter",
        "2026Q4",
        "--all",
        "--as-of",
        AS_OF,
        "--concurrency",
        "4",
        "--db",
        url,
    ]


def test_sigkill_then_rerun_inspects_each_account_once(tmp_path: Path) -> None:
    count = 60
    (tmp_path / "ref").mkdir()
    (tmp_path / "killed").mkdir()
    with sim_server(
        "--latency-ms",
        "150",  # slow enough that the kill lands mid-run
        "--now",
        "2026-11-20T10:00:00+08:00",
        "--fault-mix",
        "dormant=0.3,gone=0.1,empty=0.1",
    ) as base:
        reference = prepare(tmp_path / "ref", base, count)
        govmedia(*run_args(reference))
        killed = prepare(tmp_path / "killed", base, count)
        process = subprocess.Popen(
            [*GOVMEDIA, *run_args(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = asyncio.run(fetch_counts(killed))[0]
            if done >= 15:
                break
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        partial = asyncio.run(fetch_counts(killed))[0]
        assert 15 <= partial < count, "the run was not killed mid-way"
        resumed = govmedia(*run_args(killed))
        assert "续跑" in resumed.stdout
    complete, per_account, entries, total = asyncio.run(fetch_counts(killed))
    assert complete == count and per_account == [1] * count
    ref_complete, _, ref_entries, _ = asyncio.run(fetch_counts(reference))
    assert ref_complete == count
    assert entries == ref_entries and total == len(entries)
    assert any(code == "dormant" or code == "zombie" for _, code in entries)


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_stops_a_run_cleanly_and_it_resumes(tmp_path: Path, signal_number: int) -> None:
    with sim_server("--latency-ms", "200", "--now", "2026-11-20T10:00:00+08:00") as base:
        url = prepare(tmp_path, base, 40)
        process = subprocess.Popen(
            [*GOVMEDIA, *run_args(url)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + 60
        while asyncio.run(fetch_counts(url))[0] < 8 and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal_number)
        out, _ = process.communicate(timeout=10)
        assert process.returncode == 0 and "已中断" in out
        govmedia(*run_args(url))
    complete, per_account, _, _ = asyncio.run(fetch_counts(url))
    assert complete == 40 and per_account == [1] * 40

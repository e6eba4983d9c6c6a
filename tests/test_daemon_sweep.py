"""The daily sweep: overdue entries are marked and re-checked; a unit's fix closes its entry."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from monitorfixtures import monitor_settings, seed_inventory
from sqlalchemy import func, select

from monitor import simserver
from monitor.daemon import Daemon
from monitor.quarter import Quarter
from monitor.run import Context, RunRequest, open_run, run_inspection
from monitor.simserver import AccountBehaviour, Fault, SimConfig
from registry import monitoring
from registry.db import Database
from registry.filing import file_on_account
from registry.ledger import update_status
from registry.lifecycle import Kind
from registry.schema import inspections, ledger_entries, runs
from registry.times import SHANGHAI
from registry.writer import FilingMeta

DETECTED = datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI)


async def statuses(db: Database) -> dict[int, str]:
    async with db.read() as conn:
        return {
            pk: s
            for pk, s in await conn.execute(
                select(ledger_entries.c.account_pk, ledger_entries.c.status)
            )
        }


async def inspect_dormant(
    db: Database, tmp_path: Path, sim: simserver.RunningSim, count: int
) -> None:
    """``count`` accounts on the sim server, inspected at DETECTED: each gets a dormant entry
    when the sim serves dormant feeds."""
    await seed_inventory(db, tmp_path, sim.url, count)
    request = RunRequest(Quarter(2026, 4), DETECTED, DETECTED, all_accounts=True)
    await run_inspection(db, Context.from_settings(monitor_settings()), request)


async def test_sweep_marks_overdue_rechecks_and_closes_fixed(db: Database, tmp_path: Path) -> None:
    settings = monitor_settings()
    dormant = AccountBehaviour(fault=Fault.DORMANT, dormant_age=timedelta(days=30))
    config = SimConfig(now=DETECTED, default=dormant)
    async with simserver.running(config) as sim:
        await inspect_dormant(db, tmp_path, sim, 2)
        assert await statuses(db) == {1: "待整改", 2: "待整改"}
        async with db.read() as conn:
            entry = (
                await conn.execute(
                    select(ledger_entries.c.id).where(ledger_entries.c.account_pk == 2)
                )
            ).scalar_one()
        await update_status(
            db, entry, "待复核", actor="雨城区", note="已恢复更新", at=DETECTED + timedelta(days=2)
        )

        later = DETECTED + timedelta(days=12)  # past five working days
        config.default = AccountBehaviour()  # both accounts publish again
        config.now = later
        daemon = Daemon(db, settings, clock=lambda: later)
        await daemon.sweep()
    assert await statuses(db) == {1: "已逾期", 2: "已销号"}
    async with db.read() as conn:
        scopes = [
            scope for (scope,) in await conn.execute(select(runs.c.scope).order_by(runs.c.id))
        ]
    assert scopes == ["all", "recheck"]


async def test_a_re_check_run_is_not_the_quarters_run(db: Database) -> None:
    """Catch-up looks for the quarter's own run: a sweep's completed re-check does not hide a
    missed quarterly run."""
    daemon = Daemon(db, monitor_settings(), clock=lambda: DETECTED)
    async with db.write() as conn:
        run = await monitoring.create_run(
            conn, quarter="2026Q4", scope="recheck", sample_id=None, as_of=DETECTED, now=DETECTED
        )
        await monitoring.finish_run(conn, run.id, {}, DETECTED)
    assert await daemon.needs_catch_up()
    async with db.write() as conn:
        run = await monitoring.create_run(
            conn, quarter="2026Q4", scope="sample", sample_id=None, as_of=DETECTED, now=DETECTED
        )
        await monitoring.finish_run(conn, run.id, {}, DETECTED)
    assert not await daemon.needs_catch_up()


async def test_a_stopped_re_check_is_not_resumed_at_its_old_time(db: Database) -> None:
    context = Context.from_settings(monitor_settings())
    later = DETECTED + timedelta(days=8)
    first, resumed = await open_run(db, context, _recheck(DETECTED))
    assert not resumed
    again, resumed = await open_run(db, context, _recheck(later))
    assert not resumed and again.id != first.id and again.as_of == later
    async with db.read() as conn:
        assert (await monitoring.run_by_id(conn, first.id)).status == "superseded"  # type: ignore[union-attr]
    sample = RunRequest(Quarter(2026, 4), DETECTED, DETECTED, all_accounts=True)
    run, _ = await open_run(db, context, sample)
    assert (await open_run(db, context, sample)) == (run, True)  # the quarter's run resumes


def _recheck(at: datetime) -> RunRequest:
    return RunRequest(Quarter(2026, 4), at, at, only=frozenset({1}), scope="recheck")


async def test_a_job_waiting_when_the_daemon_stops_does_not_start(db: Database) -> None:
    daemon = Daemon(db, monitor_settings(), clock=lambda: DETECTED)
    started: list[str] = []

    async def job() -> None:
        started.append("job")

    async with daemon._work:  # a job in progress
        waiting = asyncio.create_task(daemon._guarded("quarterly", job))
        await asyncio.sleep(0.01)
        daemon.request_stop()
    await waiting
    assert started == []


async def test_a_re_check_that_cannot_read_the_posts_leaves_their_entries_awaiting(
    db: Database, tmp_path: Path
) -> None:
    """A feed gone at the re-check (404) proves nothing about a dormant account's posts: the
    entry the unit reported fixed stays 待复核 (it used to be closed, which is final), and the
    account is ledgered as unreachable."""
    settings = monitor_settings()
    dormant = AccountBehaviour(fault=Fault.DORMANT, dormant_age=timedelta(days=30))
    config = SimConfig(now=DETECTED, default=dormant)
    async with simserver.running(config) as sim:
        await inspect_dormant(db, tmp_path, sim, 1)
        await update_status(
            db, 1, "待复核", actor="雨城区", note="已恢复更新", at=DETECTED + timedelta(days=2)
        )
        later = DETECTED + timedelta(days=3)
        config.default = AccountBehaviour(fault=Fault.NOT_FOUND)
        config.now = later
        await Daemon(db, settings, clock=lambda: later).sweep()
    async with db.read() as conn:
        result = await conn.execute(select(ledger_entries.c.problem_code, ledger_entries.c.status))
        entries = {code: status for code, status in result}
    assert entries == {"dormant": "待复核", "unreachable": "待整改"}


async def test_the_sweep_finishes_a_quarterly_run_left_unfinished(
    db: Database, tmp_path: Path
) -> None:
    """A quarterly run that stopped on an error (a failed write) used to wait for the next
    daemon start; the daily sweep resumes it."""
    async with simserver.running(SimConfig(now=DETECTED)) as sim:
        await seed_inventory(db, tmp_path, sim.url, 3)
        context = Context.from_settings(monitor_settings())
        run, _ = await open_run(db, context, RunRequest(Quarter(2026, 4), DETECTED, DETECTED))
        later = DETECTED + timedelta(days=1)
        await Daemon(db, monitor_settings(), clock=lambda: later).sweep()
    async with db.read() as conn:
        finished = await monitoring.run_by_id(conn, run.id)
        inspected = await conn.execute(select(func.count()).select_from(inspections))
        assert finished is not None and finished.status == "completed"
        assert inspected.scalar_one() == 3


async def test_closing_the_account_rectifies_its_dormant_entry_at_the_re_check(
    db: Database, tmp_path: Path
) -> None:
    """Closing a dormant account is the recommended fix: the re-check of the closed account
    closes its dormant entry (it stayed 待复核 for ever when only filing_mismatch counted)."""
    settings = monitor_settings()
    dormant = AccountBehaviour(fault=Fault.DORMANT, dormant_age=timedelta(days=30))
    async with simserver.running(SimConfig(now=DETECTED, default=dormant)) as sim:
        await inspect_dormant(db, tmp_path, sim, 1)
        later = DETECTED + timedelta(days=3)
        meta = FilingMeta(filed_by="雨城区", filed_at=later, reason="整合关停")
        await file_on_account(db, "1", Kind.CLOSE, meta, later.date())
        await update_status(db, 1, "待复核", actor="雨城区", note="已关停", at=later)
        await Daemon(db, settings, clock=lambda: later).sweep()
    assert await statuses(db) == {1: "已销号"}


async def test_the_sweep_makes_up_a_quarterly_run_whose_time_passed_without_one(
    db: Database, tmp_path: Path
) -> None:
    """The scheduled job can fail to start (another process was inspecting); once the
    quarter's scheduled time (15 Nov 02:00 by default) has passed without a completed run,
    the daily sweep runs it. Before that time it does not."""
    async with simserver.running(SimConfig(now=DETECTED)) as sim:
        await seed_inventory(db, tmp_path, sim.url, 2)
        early = DETECTED  # 2 Nov: before the schedule
        await Daemon(db, monitor_settings(), clock=lambda: early).sweep()
        async with db.read() as conn:
            assert not await monitoring.completed_run_exists(conn, "2026Q4")
        late = datetime(2026, 11, 16, 1, 30, tzinfo=SHANGHAI)
        await Daemon(db, monitor_settings(), clock=lambda: late).sweep()
    async with db.read() as conn:
        assert await monitoring.completed_run_exists(conn, "2026Q4")

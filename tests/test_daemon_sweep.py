"""The daily sweep: overdue entries are marked and re-checked; a unit's fix closes its entry."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from monitorfixtures import monitor_settings, seed_inventory
from sqlalchemy import select

from monitor import simserver
from monitor.daemon import Daemon
from monitor.quarter import Quarter
from monitor.run import Context, RunRequest, run_inspection
from monitor.simserver import AccountBehaviour, Fault, SimConfig
from registry.db import Database
from registry.ledger import update_status
from registry.schema import ledger_entries, runs
from registry.times import SHANGHAI

DETECTED = datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI)


async def statuses(db: Database) -> dict[int, str]:
    async with db.read() as conn:
        return {
            pk: s
            for pk, s in await conn.execute(
                select(ledger_entries.c.account_pk, ledger_entries.c.status)
            )
        }


async def test_sweep_marks_overdue_rechecks_and_closes_fixed(db: Database, tmp_path: Path) -> None:
    settings = monitor_settings()
    dormant = AccountBehaviour(fault=Fault.DORMANT, dormant_age=timedelta(days=30))
    config = SimConfig(now=DETECTED, default=dormant)
    async with simserver.running(config) as sim:
        await seed_inventory(db, tmp_path, sim.url, 2)
        request = RunRequest(Quarter(2026, 4), DETECTED, DETECTED, all_accounts=True)
        await run_inspection(db, Context.from_settings(settings), request)
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

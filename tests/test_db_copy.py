"""`govmedia db copy --to URL`: a SQLite registry with its whole history moves to PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import META, TODAY, pg_url, reset_postgres
from monitorfixtures import monitor_settings, seed_inventory
from procs import govmedia
from sqlalchemy import func, select

from monitor import simserver
from monitor.quarter import Quarter
from monitor.run import Context, RunRequest, run_inspection
from monitor.simserver import AccountBehaviour, Fault, SimConfig
from registry import ledger, migrate
from registry.copy import CopyRefused, copy_database
from registry.db import Database
from registry.filing import file_on_account
from registry.lifecycle import Kind
from registry.schema import ledger_entries, metadata
from registry.times import SHANGHAI

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)


async def counts(db: Database) -> dict[str, int]:
    async with db.read() as conn:
        return {
            table.name: int(
                (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            )
            for table in metadata.sorted_tables
        }


async def seeded_sqlite(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'office.db'}")
    await migrate.upgrade(db)
    config = SimConfig(now=NOW)
    async with simserver.running(config) as sim:
        rows = await seed_inventory(db, tmp_path, sim.url, 12)
        dormant = AccountBehaviour(fault=Fault.DORMANT, dormant_age=timedelta(days=30))
        config.accounts = {
            rows[1]["account_id"]: dormant,
            rows[2]["account_id"]: AccountBehaviour(fault=Fault.EMPTY),
        }
        await file_on_account(db, "4", Kind.CHANGE, META, TODAY, {"name": rows[3]["name"] + "新"})
        await file_on_account(db, "5", Kind.CLOSE, META, TODAY)
        settings = monitor_settings()
        request = RunRequest(Quarter(2026, 4), NOW, NOW)  # the quarter's sample, drawn now
        await run_inspection(db, Context.from_settings(settings), request)
        request = RunRequest(Quarter(2026, 4), NOW, NOW, all_accounts=True)
        await run_inspection(db, Context.from_settings(settings), request)
    async with db.read() as conn:
        entry_ids = [pk for (pk,) in await conn.execute(select(ledger_entries.c.id))]
    assert entry_ids, "the run found no problem to put in the ledger"
    await ledger.update_status(
        db, entry_ids[0], "整改中", actor="雨城区", note="正在整改", at=NOW + timedelta(days=1)
    )
    await ledger.update_status(
        db, entry_ids[0], "待复核", actor="雨城区", note="已整改", at=NOW + timedelta(days=2)
    )
    return db


async def test_copy_sqlite_to_postgresql_keeps_everything(tmp_path: Path) -> None:
    url = pg_url()
    await reset_postgres(url)
    source = await seeded_sqlite(tmp_path)
    target = Database(url)
    try:
        before = await counts(source)
        for table in ("accounts", "filings", "samples", "sample_members", "runs",
                      "inspections", "feed_states", "ledger_entries", "ledger_events"):  # fmt: skip
            assert before[table] > 0, table
        result = await copy_database(source, target)
        assert result.counts == before
        assert await counts(target) == before
        verified = await ledger.verify(target)
        assert verified.ok, verified.first
        assert verified.head == (await ledger.verify(source)).head
        assert verified.records == before["ledger_events"]
        # Sequences continue past the copied ids: new filings and ledger records work.
        await file_on_account(target, "6", Kind.CLOSE, META, TODAY)
        async with target.read() as conn:
            open_entry = (
                await conn.execute(
                    select(ledger_entries.c.id).where(ledger_entries.c.status == "待整改").limit(1)
                )
            ).scalar_one()
        await ledger.update_status(
            target, open_entry, "整改中", actor="x", note="", at=NOW + timedelta(days=3)
        )
        assert (await ledger.verify(target)).ok
        assert (await counts(target))["filings"] == before["filings"] + 1
        # A second copy into the now non-empty target is refused and writes nothing.
        with pytest.raises(CopyRefused):
            await copy_database(source, target)
        assert (await counts(target))["filings"] == before["filings"] + 1
    finally:
        await source.close()
        await target.close()


def test_db_copy_command(tmp_path: Path) -> None:
    url = pg_url()
    import asyncio

    asyncio.run(reset_postgres(url))
    source = f"sqlite+aiosqlite:///{tmp_path / 'small.db'}"
    govmedia("db", "upgrade", "--db", source)
    govmedia(
        "file", "open", "--platform", "微博", "--account-id", "ya001", "--name", "雅安发布",
        "--sponsor", "雅安市人民政府新闻办公室", "--region-code", "511800", "--db", source,
    )  # fmt: skip
    done = govmedia("db", "copy", "--to", url, "--json", "--db", source)
    figures = json.loads(done.stdout)
    assert figures["tables"]["accounts"] == 1 and figures["ledger_ok"]
    again = govmedia("db", "copy", "--to", url, "--db", source, check=False)
    assert again.returncode == 1 and "不是空的" in again.stderr


async def test_a_source_on_an_older_schema_is_refused(tmp_path: Path) -> None:
    source = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    target = Database(f"sqlite+aiosqlite:///{tmp_path / 'target.db'}")
    try:
        await migrate.upgrade(source, "0004")
        with pytest.raises(CopyRefused, match="govmedia db upgrade"):
            await copy_database(source, target)
        assert await migrate.stored_revision(target) is None  # nothing written there
    finally:
        await source.close()
        await target.close()

"""``ledger verify``: an intact chain passes; a row altered or removed behind the ledger's back
is found and the entry named, on both engines."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from click.testing import CliRunner
from ledgerfixtures import DETECTED, dormant, open_accounts, privacy, record
from sqlalchemy import delete, select, update

from govmedia.cli import main
from registry import ledger
from registry.db import Database
from registry.ledger_chain import GENESIS, canonical, chain_digest
from registry.schema import ledger_entries, ledger_events

LATER = DETECTED + timedelta(days=1)


async def build(db: Database) -> None:
    """Three entries on two accounts and two status changes: five chained records."""
    first, second = await open_accounts(db, 2)
    await record(db, first, [dormant(), privacy()])
    await record(db, second, [dormant()], sponsor="成都市青羊区教育局")
    await ledger.update_status(db, 1, "整改中", actor="张三", note="已安排", at=LATER)
    await ledger.update_status(db, 3, "待复核", actor="李四", note="已更新", at=LATER)


async def tamper(db: Database, statement: object) -> None:
    async with db.engine.begin() as conn:  # straight to the database, not through the ledger
        await conn.execute(statement)  # type: ignore[call-overload]


async def test_intact_chain_passes_and_can_be_recomputed_by_hand(db: Database) -> None:
    await build(db)
    result = await ledger.verify(db)
    assert result.ok, result.problems
    assert (result.records, result.entries) == (5, 3)
    async with db.read() as conn:
        events = (
            (await conn.execute(select(ledger_events).order_by(ledger_events.c.id)))
            .mappings()
            .all()
        )
    prev = GENESIS
    for event in events:  # the documented formula, independently of the verifier
        assert event["prev_digest"] == prev
        prev = chain_digest(prev, event["content"])
        assert event["digest"] == prev
        assert canonical(event["content"]) == json.dumps(
            event["content"], sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
    assert result.head == prev


async def test_direct_update_of_an_entry_is_named(db: Database) -> None:
    await build(db)
    await tamper(
        db, update(ledger_entries).where(ledger_entries.c.id == 2).values(sponsor="别的单位")
    )
    result = await ledger.verify(db)
    assert not result.ok
    assert result.first is not None and result.first.entry_id == 2
    assert "台账条目 #2" in result.first.message and "sponsor" in result.first.message


async def test_direct_update_of_a_deadline_is_named(db: Database) -> None:
    await build(db)
    row_deadline = ledger_entries.c.deadline
    async with db.read() as conn:
        deadline = (
            await conn.execute(select(row_deadline).where(ledger_entries.c.id == 3))
        ).scalar_one()
    await tamper(
        db,
        update(ledger_entries)
        .where(ledger_entries.c.id == 3)
        .values(deadline=deadline + timedelta(days=30)),
    )
    result = await ledger.verify(db)
    assert [p.entry_id for p in result.problems] == [3]
    assert "deadline" in result.problems[0].message


async def test_direct_status_change_is_named(db: Database) -> None:
    await build(db)
    await tamper(db, update(ledger_entries).where(ledger_entries.c.id == 1).values(status="已销号"))
    result = await ledger.verify(db)
    assert [p.entry_id for p in result.problems] == [1]
    assert "整改状态被改动" in result.problems[0].message


async def test_deleted_record_is_named(db: Database) -> None:
    await build(db)
    await tamper(db, delete(ledger_events).where(ledger_events.c.id == 4))  # entry 1: 待整改→整改中
    result = await ledger.verify(db)
    assert not result.ok
    first = result.first
    assert first is not None and first.event_id == 5 and "缺失" in first.message
    assert any(p.entry_id == 1 and "整改状态" in p.message for p in result.problems)


async def test_deleted_last_record_is_found_through_the_entry_status(db: Database) -> None:
    await build(db)
    await tamper(db, delete(ledger_events).where(ledger_events.c.id == 5))
    result = await ledger.verify(db)
    assert [p.entry_id for p in result.problems] == [3]


async def test_changed_record_content_is_named(db: Database) -> None:
    await build(db)
    async with db.read() as conn:
        content = (
            await conn.execute(select(ledger_events.c.content).where(ledger_events.c.id == 2))
        ).scalar_one()
    await tamper(
        db,
        update(ledger_events)
        .where(ledger_events.c.id == 2)
        .values(content={**content, "description": "无问题"}),
    )
    result = await ledger.verify(db)
    first = result.first
    assert first is not None and (first.event_id, first.entry_id) == (2, 2)
    assert "摘要不符" in first.message


async def test_changed_note_column_is_named(db: Database) -> None:
    await build(db)
    await tamper(db, update(ledger_events).where(ledger_events.c.id == 4).values(note="改过的说明"))
    result = await ledger.verify(db)
    assert [(p.event_id, p.entry_id) for p in result.problems] == [(4, 1)]
    assert "note" in result.problems[0].message


async def test_cli_verify_exits_1_naming_the_entry(db: Database, db_url: str) -> None:
    await build(db)
    runner = CliRunner()
    # The command runs its own event loop: give it a thread of its own.
    ok = await asyncio.to_thread(
        runner.invoke, main, ["ledger", "verify", "--db", db_url, "--json"]
    )
    assert ok.exit_code == 0, ok.output
    document = json.loads(ok.stdout)
    assert document["ok"] and document["records"] == 5 and len(document["chain_head"]) == 64
    await tamper(
        db, update(ledger_entries).where(ledger_entries.c.id == 2).values(description="已改")
    )
    failed = await asyncio.to_thread(runner.invoke, main, ["ledger", "verify", "--db", db_url])
    assert failed.exit_code == 1
    assert "台账条目 #2" in failed.stderr and "description" in failed.stderr

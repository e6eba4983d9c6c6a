"""``ledger verify``: an intact chain passes; a row altered or removed behind the ledger's back
is found and the entry named, on both engines."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from ledgerfixtures import DETECTED, dormant, open_accounts, privacy, record
from sqlalchemy import delete, select, text, update

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


async def test_a_removed_newest_record_is_caught_against_an_exported_head(
    db: Database, db_url: str
) -> None:
    """A status change undone, its record deleted and the entry reset, leaves a chain that
    verifies by itself; the head an earlier export carries is no longer in it."""
    await build(db)
    head = (await ledger.verify(db)).head
    assert head is not None
    assert (await ledger.verify(db, expect_head=head)).ok
    await tamper(db, delete(ledger_events).where(ledger_events.c.id == 5))
    await tamper(db, update(ledger_entries).where(ledger_entries.c.id == 3).values(status="待整改"))
    assert (await ledger.verify(db)).ok  # undetectable without a head to compare
    result = await ledger.verify(db, expect_head=head)
    assert not result.ok and head in result.problems[0].message
    runner = CliRunner()
    args = ["ledger", "verify", "--db", db_url, "--expect-head", head]
    failed = await asyncio.to_thread(runner.invoke, main, args)
    assert failed.exit_code == 1 and "不在记录链中" in failed.stderr


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


async def test_changed_time_column_of_a_record_is_named(db: Database) -> None:
    """Times are compared in their chained text form: a changed column alone is found."""
    await build(db)
    await tamper(
        db,
        update(ledger_events)
        .where(ledger_events.c.id == 4)
        .values(at=LATER + timedelta(microseconds=1)),
    )
    result = await ledger.verify(db)
    assert [(p.event_id, p.entry_id) for p in result.problems] == [(4, 1)]
    assert "字段 at " in result.problems[0].message


async def test_changed_entry_columns_of_each_type_are_named(db: Database) -> None:
    await build(db)
    entries = ledger_entries.c
    await tamper(
        db,
        update(ledger_entries)
        .where(entries.id == 1)
        .values(detected_at=DETECTED + timedelta(seconds=1)),
    )
    await tamper(
        db,
        update(ledger_entries).where(entries.id == 2).values(evidence=[{"url": "https://x"}]),
    )
    await tamper(
        db, update(ledger_entries).where(entries.id == 3).values(deadline_provisional=True)
    )
    result = await ledger.verify(db)
    assert [p.entry_id for p in result.problems] == [1, 2, 3]
    for problem, name in zip(
        result.problems, ("detected_at", "evidence", "deadline_provisional"), strict=True
    ):
        assert f"被改动: {name} 与创建记录" in problem.message


async def test_reordered_records_are_named(db: Database) -> None:
    await build(db)
    for old, new in ((2, 100), (3, 2), (100, 3)):  # records 2 and 3 swap places
        await tamper(db, update(ledger_events).where(ledger_events.c.id == old).values(id=new))
    result = await ledger.verify(db)
    first = result.first
    assert first is not None and (first.event_id, first.entry_id) == (2, 3)
    assert "前一摘要不符" in first.message


async def _store_content_text(db: Database, event_id: int, content_text: str) -> None:
    value = "CAST(:content AS JSON)" if db.engine.dialect.name == "postgresql" else ":content"
    await tamper(
        db,
        text(f"UPDATE ledger_events SET content = {value} WHERE id = :id").bindparams(
            content=content_text, id=event_id
        ),
    )


async def test_content_stored_reformatted_still_verifies(db: Database) -> None:
    """The digest covers the canonical form: stored whitespace or key order does not matter."""
    await build(db)
    async with db.read() as conn:
        content = (
            await conn.execute(select(ledger_events.c.content).where(ledger_events.c.id == 2))
        ).scalar_one()
    reformatted = " " + json.dumps(dict(reversed(content.items())), ensure_ascii=False, indent=2)
    await _store_content_text(db, 2, reformatted)
    assert (await ledger.verify(db)).ok
    await _store_content_text(db, 2, reformatted.replace(content["sponsor"], "别的单位"))
    result = await ledger.verify(db)
    first = result.first
    assert first is not None and (first.event_id, first.entry_id) == (2, 2)
    assert "摘要不符" in first.message


async def test_unreadable_stored_values_are_named(db: Database) -> None:
    """SQLite stores whatever text it is given: values no column type would read are named."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's column types refuse such values")
    await build(db)
    await tamper(db, text("UPDATE ledger_events SET at = 'yesterday' WHERE id = 4"))
    await tamper(db, text("UPDATE ledger_entries SET evidence = '[{' WHERE id = 2"))
    await tamper(db, text("UPDATE ledger_entries SET deadline = '2026-12-3' WHERE id = 3"))
    await tamper(db, text("UPDATE ledger_events SET content = '{\"kind\": ' WHERE id = 5"))
    result = await ledger.verify(db)
    assert [(p.event_id, p.entry_id) for p in result.problems][:2] == [(4, 1), (5, 3)]
    messages = "\n".join(p.message for p in result.problems)
    assert "字段 at " in messages and "摘要不符" in messages
    assert "台账条目 #2 被改动: evidence" in messages
    assert "台账条目 #3 被改动: deadline " in messages


async def test_changed_account_identity_of_an_entry_is_named(db: Database) -> None:
    await build(db)
    entries = ledger_entries.c
    await tamper(db, update(ledger_entries).where(entries.id == 1).values(account_id="other"))
    await tamper(db, update(ledger_entries).where(entries.id == 2).values(account_name="别的号"))
    await tamper(db, update(ledger_entries).where(entries.id == 3).values(region_code="110101"))
    result = await ledger.verify(db)
    assert [p.entry_id for p in result.problems] == [1, 2, 3]
    for problem, name in zip(
        result.problems, ("account_id", "account_name", "region_code"), strict=True
    ):
        assert f"被改动: {name} 与创建记录" in problem.message


def test_verify_refuses_a_malformed_head_and_a_missing_database_file(tmp_path: Path) -> None:
    """A head pasted with spaces is read; one that is no digest is a usage error, not a
    tampering alarm; a mistyped database path is not created and passed as an empty ledger."""
    runner = CliRunner()
    missing = tmp_path / "typo" / "govmedia.db"
    result = runner.invoke(main, ["ledger", "verify", "--db", str(missing)])
    assert result.exit_code == 1 and "不存在" in result.stderr and not missing.parent.exists()
    url = f"sqlite+aiosqlite:///{tmp_path / 'ok.db'}"
    assert runner.invoke(main, ["db", "upgrade", "--db", url]).exit_code == 0
    result = runner.invoke(main, ["ledger", "verify", "--db", url, "--expect-head", "abc"])
    assert result.exit_code == 2 and "64 位十六进制" in result.stderr
    spaced = f"  {'A' * 64}  "
    result = runner.invoke(main, ["ledger", "verify", "--db", url, "--expect-head", spaced])
    assert result.exit_code == 1 and "a" * 64 in result.stderr  # read, and not in the chain

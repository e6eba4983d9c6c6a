"""The rectification workflow: entries per (quarter, account, problem), transitions, re-checks,
overdue entries; every change recorded, nothing deleted."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, timedelta

import pytest
from ledgerfixtures import (
    DETECTED,
    ID_NUMBER,
    MOBILE,
    dormant,
    make_run,
    open_accounts,
    privacy,
    record,
)
from sqlalchemy import func, select, update

from registry import ledger
from registry.db import Database
from registry.ledger import LedgerRefused, LedgerStatus
from registry.ledger_query import list_entries
from registry.ledger_status import parse_status
from registry.schema import accounts, ledger_entries, ledger_events

LATER = DETECTED + timedelta(days=1)


async def counts(db: Database) -> tuple[int, int]:
    async with db.read() as conn:
        entries = (
            await conn.execute(select(func.count()).select_from(ledger_entries))
        ).scalar_one()
        events = (await conn.execute(select(func.count()).select_from(ledger_events))).scalar_one()
    return entries, events


async def status_of(db: Database, entry_id: int) -> str:
    async with db.read() as conn:
        result = await conn.execute(
            select(ledger_entries.c.status).where(ledger_entries.c.id == entry_id)
        )
        return str(result.scalar_one())


async def entry_ids(db: Database) -> dict[str, int]:
    return {row["problem_code"]: row["entry_id"] for row in await list_entries(db)}


async def test_record_findings_is_idempotent_per_quarter_account_problem(db: Database) -> None:
    (pk,) = await open_accounts(db, 1)
    run_id = await make_run(db)
    assert await record(db, pk, [dormant(), privacy()], run_id=run_id) == 2
    assert await record(db, pk, [dormant(30), privacy()], run_id=run_id) == 0  # resumed run
    assert await counts(db) == (2, 2)
    assert await record(db, pk, [dormant()], quarter="2027Q1") == 1  # a new quarter: a new entry
    rows = await list_entries(db, quarter="2026Q4")
    assert sorted(r["problem_code"] for r in rows) == ["dormant", "privacy_leak"]
    first = next(r for r in rows if r["problem_code"] == "dormant")
    assert first["description"] == "监测时间点前20天无更新"  # the first detection is kept
    assert first["status"] == LedgerStatus.OPEN
    assert first["deadline"] == date(2026, 12, 3)
    assert first["sponsor"] == "成都市锦江区公安分局"
    assert [h["status"] for h in first["history"]] == ["待整改"]
    assert len(first["digest"]) == 64


async def test_evidence_of_one_problem_is_aggregated(db: Database) -> None:
    (pk,) = await open_accounts(db, 1)
    findings = [
        privacy("https://example.gov.cn/a"),
        privacy("https://example.gov.cn/b"),
        privacy("https://example.gov.cn/a"),
    ]
    assert await record(db, pk, findings) == 1
    (row,) = await list_entries(db)
    assert [e["url"] for e in row["evidence"]] == [
        "https://example.gov.cn/a",
        "https://example.gov.cn/b",
    ]


async def test_personal_data_is_masked_before_it_reaches_the_ledger(db: Database) -> None:
    (pk,) = await open_accounts(db, 1)
    await record(db, pk, [privacy()])
    async with db.read() as conn:
        stored = (await conn.execute(select(ledger_entries.c.evidence))).scalar_one()
        chained = [c for (c,) in await conn.execute(select(ledger_events.c.content))]
    text = repr(stored) + repr(chained)
    assert ID_NUMBER not in text and MOBILE not in text
    assert "138****5678" in text


async def test_valid_transitions_are_recorded_with_actor_time_and_note(db: Database) -> None:
    (pk,) = await open_accounts(db, 1)
    await record(db, pk, [dormant()])
    entry = (await entry_ids(db))["dormant"]
    step = await ledger.update_status(
        db, entry, "整改中", actor="锦江公安 张三", note="已安排专人", at=LATER
    )
    assert (step.old, step.new) == (LedgerStatus.OPEN, LedgerStatus.IN_PROGRESS)
    last = await ledger.update_status(db, entry, "fixed", actor="张三", note="已恢复更新", at=LATER)
    (row,) = await list_entries(db)
    assert row["status"] == "待复核"
    assert [(h["from"], h["status"], h["actor"], h["note"]) for h in row["history"]] == [
        (None, "待整改", "monitor", ""),
        ("待整改", "整改中", "锦江公安 张三", "已安排专人"),
        ("整改中", "待复核", "张三", "已恢复更新"),
    ]
    assert row["history"][1]["at"] == LATER
    assert row["digest"] == last.digest != step.digest


@pytest.mark.parametrize(
    ("path", "refused", "message"),
    [
        ([], "已销号", "只能由复核结果确定"),
        ([], "复核未通过", "只能由复核结果确定"),
        ([], "已逾期", "自动确定"),
        ([], "待整改", "已是"),
        (["整改中"], "待整改", "不能从“整改中”改为“待整改”"),
        ([], "已完成", "未知的整改状态"),
    ],
)
async def test_invalid_transitions_are_refused_and_write_nothing(
    db: Database, path: list[str], refused: str, message: str
) -> None:
    (pk,) = await open_accounts(db, 1)
    await record(db, pk, [dormant()])
    entry = (await entry_ids(db))["dormant"]
    for status in path:
        await ledger.update_status(db, entry, status, actor="张三", note="", at=LATER)
    before = await counts(db)
    with pytest.raises(LedgerRefused, match=message):
        await ledger.update_status(db, entry, refused, actor="张三", note="", at=LATER)
    assert await counts(db) == before


async def test_unknown_entry_is_refused(db: Database) -> None:
    with pytest.raises(LedgerRefused, match="#99 不存在"):
        await ledger.update_status(db, 99, "整改中", actor="张三", note="", at=LATER)


async def reported_fixed_then_rechecked(
    db: Database, pk: int, entries: Iterable[int], found: set[str]
) -> list[tuple[int, str]]:
    """The unit reports ``entries`` fixed; the monitor's re-check of ``pk`` finds ``found``."""
    for entry in entries:
        await ledger.update_status(db, entry, "待复核", actor="张三", note="已整改", at=LATER)
    async with db.write() as conn:
        return await ledger.apply_recheck(
            conn, account_pk=pk, found_codes=found, at=LATER, run_id=None
        )


async def test_recheck_closes_fixed_entries_and_reopens_the_others(db: Database) -> None:
    first, other = await open_accounts(db, 2)
    await record(db, first, [dormant(), privacy()])
    await record(db, other, [dormant()])
    ids = {(r["account_id"], r["problem_code"]): r["entry_id"] for r in await list_entries(db)}
    mine = {code: entry for (_, code), entry in ids.items() if entry <= 2}
    moved = await reported_fixed_then_rechecked(db, first, mine.values(), {"privacy_leak"})
    assert sorted(moved) == sorted(
        [(mine["dormant"], "已销号"), (mine["privacy_leak"], "复核未通过")]
    )
    # An entry not reported fixed is left alone even though the problem is gone.
    async with db.write() as conn:
        assert (
            await ledger.apply_recheck(
                conn, account_pk=other, found_codes=set(), at=LATER, run_id=None
            )
            == []
        )
    assert await status_of(db, 3) == "待整改"
    # 已销号 is final for a person; 复核未通过 goes back to work.
    with pytest.raises(LedgerRefused, match="已销号"):
        await ledger.update_status(db, mine["dormant"], "整改中", actor="张三", note="", at=LATER)
    await ledger.update_status(db, mine["privacy_leak"], "整改中", actor="张三", note="", at=LATER)


async def test_a_dormant_account_gone_zombie_is_not_rectified(db: Database) -> None:
    """Zombie supersedes dormant and empty shell: a re-check that finds only ``zombie`` has
    not seen either problem go away."""
    (pk,) = await open_accounts(db, 1)
    await record(db, pk, [dormant(), privacy()])
    ids = {r["problem_code"]: r["entry_id"] for r in await list_entries(db)}
    moved = await reported_fixed_then_rechecked(db, pk, ids.values(), {"zombie"})
    assert sorted(moved) == sorted(
        [(ids["dormant"], "复核未通过"), (ids["privacy_leak"], "已销号")]
    )


async def test_passed_deadlines_make_entries_overdue_once(db: Database) -> None:
    first, second, third = await open_accounts(db, 3)
    await record(db, first, [dormant()], deadline=date(2026, 12, 3))
    await record(db, second, [dormant()], deadline=date(2026, 12, 3))
    await record(db, third, [dormant()], deadline=date(2026, 12, 10))
    await ledger.update_status(db, 2, "待复核", actor="张三", note="", at=LATER)
    async with db.write() as conn:
        assert await ledger.mark_overdue(conn, today=date(2026, 12, 3), at=LATER) == 0  # due today
        assert await ledger.mark_overdue(conn, today=date(2026, 12, 4), at=LATER) == 1
        assert await ledger.overdue_account_pks(conn, today=date(2026, 12, 4)) == {first, second}
    assert [await status_of(db, i) for i in (1, 2, 3)] == ["已逾期", "待复核", "待整改"]
    await ledger.update_status(db, 1, "整改中", actor="张三", note="补救中", at=LATER)
    async with db.write() as conn:  # once overdue, the entry is not marked again
        assert await ledger.mark_overdue(conn, today=date(2026, 12, 20), at=LATER) == 1  # only #3
    assert [await status_of(db, i) for i in (1, 2, 3)] == ["整改中", "待复核", "已逾期"]


async def test_a_closed_account_is_re_checked_only_for_its_filing(db: Database) -> None:
    """Once deregistered, an account's dormant entry no longer brings it back to the daily
    re-check (only signs of life are checked on it); a filing mismatch still does."""
    gone, closed = await open_accounts(db, 2)
    await record(db, gone, [dormant()], deadline=date(2026, 12, 3))
    await record(db, closed, [dormant()], deadline=date(2026, 12, 3))
    mismatch = dataclasses.replace(dormant(), code="filing_mismatch", description="仍在发布")
    await record(db, closed, [mismatch], quarter="2027Q1", deadline=date(2026, 12, 3))
    async with db.write() as conn:
        await conn.execute(
            update(accounts).where(accounts.c.id.in_([gone, closed])).values(status="注销")
        )
        assert await ledger.overdue_account_pks(conn, today=date(2026, 12, 4)) == {closed}


async def test_nothing_is_ever_deleted(db: Database) -> None:
    (pk,) = await open_accounts(db, 1)
    await record(db, pk, [dormant(), privacy()])
    entries, events = await counts(db)
    await ledger.update_status(db, 1, "待复核", actor="张三", note="", at=LATER)
    async with db.write() as conn:
        await ledger.apply_recheck(conn, account_pk=pk, found_codes=set(), at=LATER, run_id=None)
        await ledger.mark_overdue(conn, today=date(2027, 1, 30), at=LATER)
    await record(db, pk, [])
    assert await counts(db) == (entries, events + 3)
    result = await ledger.verify(db)
    assert result.ok and result.records == events + 3


def test_statuses_are_read_by_the_interfaces_keys_and_chinese_names() -> None:
    keys = {"open": "待整改", "in_progress": "整改中", "fixed": "待复核", "closed": "已销号"}
    keys |= {"reopened": "复核未通过", "overdue": "已逾期", "awaiting_recheck": "待复核"}
    for key, name in keys.items():
        assert parse_status(key) == parse_status(name) == LedgerStatus(name)
    assert parse_status("done") is None

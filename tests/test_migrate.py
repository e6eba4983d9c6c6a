"""The schema's version: an empty database is set up by the first command, an older or newer
one (or someone else's tables) is refused with what to do, and `db upgrade` brings it up."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from conftest import META, reset_postgres, sample_rows
from sqlalchemy import insert, select, text, update

from govmedia.cli import main
from registry import ledger, migrate
from registry.db import Database
from registry.filing import file_on_account, file_open
from registry.ledger_chain import GENESIS, chain_digest
from registry.lifecycle import Kind
from registry.schema import accounts, ledger_entries, ledger_events, metadata


def test_head_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(migrate.alembic_config()).get_current_head() == migrate.HEAD


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def prepare(path: Path, revision: str | None, *, foreign: bool = False) -> str:
    url = f"sqlite+aiosqlite:///{path}"

    async def work() -> None:
        db = Database(url)
        if revision is not None:
            await migrate.upgrade(db, revision)
        if foreign:
            async with db.write() as conn:
                await conn.execute(text("CREATE TABLE payroll (id INTEGER)"))
        await db.close()

    asyncio.run(work())
    return url


def test_a_new_database_is_set_up_by_the_first_command(tmp_path: Path) -> None:
    url = prepare(tmp_path / "new.db", None)
    code, output = invoke("accounts", "list", "--db", url)
    assert code == 0 and "已初始化数据库" in output and "共 0 个账号" in output
    code, output = invoke("accounts", "list", "--db", url)
    assert code == 0 and "已初始化数据库" not in output


def test_an_older_schema_is_refused_until_upgraded(tmp_path: Path) -> None:
    url = prepare(tmp_path / "old.db", "0004")
    code, output = invoke("accounts", "list", "--db", url)
    assert code == 1 and "版本为 0004" in output and "govmedia db upgrade" in output
    assert invoke("db", "upgrade", "--db", url)[0] == 0
    assert invoke("accounts", "list", "--db", url)[0] == 0


def test_a_newer_schema_and_foreign_tables_are_refused(tmp_path: Path) -> None:
    url = prepare(tmp_path / "newer.db", "head")

    async def bump() -> None:
        db = Database(url)
        async with db.write() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        await db.close()

    asyncio.run(bump())
    code, output = invoke("ledger", "list", "--db", url)
    assert code == 1 and "比本程序" in output and "请升级 govmedia" in output
    code, output = invoke(
        "accounts", "list", "--db", prepare(tmp_path / "x.db", None, foreign=True)
    )
    assert code == 1 and "不是 govmedia 的数据库" in output


async def test_0006_gives_older_entries_their_detected_id_and_still_verifies(db_url: str) -> None:
    """An entry made before 0006 takes the account ID its created record holds (the account
    was renamed since) and the inventory's name and region; its chain still verifies, now
    vouching for the ID."""
    if db_url.startswith("postgresql"):
        await reset_postgres(db_url)
    at = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)

    db = Database(db_url)
    try:
        await migrate.upgrade(db, "0005")
        (values,) = sample_rows(1)
        pk = (await file_open(db, values, META)).account_pk
        entry = {
            "id": 1, "quarter": "2026Q4", "account_pk": pk, "problem_code": "dormant",
            "severity": "veto", "description": "监测时间点前20天无更新", "evidence": [],
            "last_post_at": None, "detected_at": at, "deadline": date(2026, 12, 3),
            "deadline_provisional": False, "sponsor": values["sponsor"], "run_id": None,
            "status": "待整改",
        }  # fmt: skip
        content = {  # a created record as made before 0006: no name or region code
            "kind": "created", "entry_id": 1, "platform": values["platform"],
            "account_id": values["account_id"], "quarter": "2026Q4", "account_pk": pk,
            "sponsor": values["sponsor"], "problem_code": "dormant", "severity": "veto",
            "description": entry["description"], "evidence": [], "last_post_at": None,
            "detected_at": at.isoformat(), "deadline": "2026-12-03",
            "deadline_provisional": False, "status": "待整改", "actor": "monitor",
            "at": at.isoformat(),
        }  # fmt: skip
        async with db.write() as conn:
            await conn.execute(insert(ledger_entries), entry)
            await conn.execute(
                insert(ledger_events).values(
                    id=1,
                    entry_id=1,
                    kind="created",
                    status="待整改",
                    actor="monitor",
                    at=at,
                    note="",
                    content=content,
                    prev_digest=GENESIS,
                    digest=chain_digest(GENESIS, content),
                )
            )
        renamed = {"account_id": "renamed-001", "name": "新名称"}
        await file_on_account(db, str(pk), Kind.CHANGE, META, at.date(), renamed)
        await migrate.upgrade(db)
        async with db.read() as conn:
            row = (await conn.execute(select(ledger_entries))).one()
            region = (await conn.execute(select(accounts.c.region_code))).scalar_one()
        assert (row.account_id, row.account_name, row.region_code) == (
            values["account_id"],
            "新名称",
            region,
        )
        assert (await ledger.verify(db)).ok
        async with db.write() as conn:
            await conn.execute(update(ledger_entries).values(account_id="renamed-001"))
        problems = (await ledger.verify(db)).problems
        assert [p.entry_id for p in problems] == [1] and "account_id" in problems[0].message
    finally:
        await db.close()


async def test_the_migrations_build_the_schema_the_code_declares(db_url: str) -> None:
    if db_url.startswith("postgresql"):
        await reset_postgres(db_url)
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        async with db.engine.connect() as conn:
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await db.close()
    assert differences == []

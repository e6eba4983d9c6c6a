"""The schema's version: an empty database is set up by the first command, an older or newer
one (or someone else's tables) is refused with what to do, and `db upgrade` brings it up."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from govmedia.cli import main
from registry import migrate
from registry.db import Database


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

"""``govmedia demo``: the whole job on the bundled sample, into a database of the user's choice
when it is empty, with the user's settings."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from govmedia.cli import main
from registry import ledger
from registry.db import Database


def test_demo_runs_the_whole_job_and_refuses_a_database_with_data(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[ledger]\ndeadline_working_days = 10\n", encoding="utf-8")
    database = tmp_path / "mine.db"
    args = ["demo", "--workdir", str(tmp_path / "out"), "--db", str(database)]
    result = CliRunner().invoke(main, [*args, "--config", str(config)])
    assert result.exit_code == 0, result.output
    for name in ("ledger-", "bulletin-", "accounts.xlsx"):
        assert any(p.name.startswith(name) for p in (tmp_path / "out").iterdir()), name
    exported = next((tmp_path / "out").glob("ledger-*.json"))
    entries = json.loads(exported.read_text("utf-8"))["entries"]
    assert entries and all(e["deadline"] > e["detected_at"][:10] for e in entries)

    async def verified() -> bool:
        db = Database(f"sqlite+aiosqlite:///{database}")
        try:
            return (await ledger.verify(db)).ok
        finally:
            await db.close()

    assert asyncio.run(verified())
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1 and "演示需要一个没有任何表的空数据库" in again.stderr


def test_demo_leaves_a_database_with_tables_of_its_own_alone(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE payroll (id INTEGER)")
    args = ["demo", "--workdir", str(tmp_path / "out"), "--db", str(other)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "已有表" in result.stderr
    with sqlite3.connect(other) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master")]
    assert tables == ["payroll"]

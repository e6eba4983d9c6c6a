"""``govmedia demo``: the whole job on the bundled sample, into a database of the user's choice
when it is empty, with the user's settings."""

from __future__ import annotations

import asyncio
import json
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
    assert again.exit_code == 1 and "演示需要一个空数据库" in again.stderr

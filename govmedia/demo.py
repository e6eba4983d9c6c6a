"""The main job end to end on the embedded SQLite default, with a bundled sample inventory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path

from registry import migrate, queries
from registry.db import Database
from registry.filing import file_on_account
from registry.inventory import export_inventory, import_inventory
from registry.lifecycle import Kind
from registry.times import SHANGHAI
from registry.writer import FilingMeta

SAMPLE = "sample/inventory.csv"


@dataclass
class DemoResult:
    database: Path
    outputs: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def sample_inventory() -> Path:
    return Path(str(resources.files("govmedia").joinpath(SAMPLE)))


async def run_demo(workdir: Path) -> DemoResult:
    """Build a fresh demo database under ``workdir`` and run the registry's main operations."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "demo.db"
    for leftover in workdir.glob("demo.db*"):
        leftover.unlink()
    result = DemoResult(db_path)
    database = Database(f"sqlite+aiosqlite:///{db_path}")
    now = datetime.now(SHANGHAI)
    meta = FilingMeta(filed_by="演示", filed_at=now, reason="演示")
    try:
        await migrate.upgrade(database)
        summary = await import_inventory(database, sample_inventory(), meta, now.date())
        result.lines.append(
            f"导入样例清单: 新开设 {summary.opened} 个账号,提示 {len(summary.warnings)} 条"
        )
        first = (await queries.list_accounts(database, status="正常"))[0]
        await file_on_account(
            database, str(first["id"]), Kind.CHANGE, meta, now.date(), {"phone": "028-12345678"}
        )
        result.lines.append(f"变更备案: 账号 #{first['id']} {first['name']} 联系电话")
        city = await queries.list_accounts(database, region="511800")
        result.lines.append(f"雅安市 (511800) 账号: {len(city)} 个")
        for fmt in ("csv", "xlsx", "json"):
            out = workdir / f"accounts.{fmt}"
            await export_inventory(database, out, fmt)
            result.outputs.append(out)
    finally:
        await database.close()
    return result

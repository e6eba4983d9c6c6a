"""The main job end to end on the embedded SQLite default (``govmedia demo``).

A fresh database under the work folder; the bundled sample inventory pointed at a local
simulated platform; review records for most posts, as units would send them; a few filings;
the quarter's sampling run with progress; the rectification ledger exported and the quarterly
bulletin written. It prints where every file is.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import inspect

from govmedia import config
from monitor import simserver
from monitor.feeds import parse_feed
from monitor.ledger_export import export_ledger
from monitor.quarter import Quarter
from monitor.report import write_report
from monitor.run import Context, RunRequest, RunSummary, run_inspection
from monitor.simserver import Fault, SimConfig
from registry import migrate, queries
from registry.db import Database
from registry.errors import Refused
from registry.filing import file_on_account
from registry.inventory import export_inventory, import_inventory
from registry.lifecycle import Kind
from registry.reviews import HEADERS as review_headers
from registry.reviews import import_reviews
from registry.times import SHANGHAI
from registry.writer import FilingMeta

SAMPLE = "sample/inventory.csv"
FAULTS = {Fault.DORMANT: 0.08, Fault.GONE: 0.03, Fault.EMPTY: 0.03, Fault.CHALLENGE: 0.02}
REVIEW_HEADERS = list(review_headers)  # the review sheet as units send it


class DemoRefused(Refused):
    """The database given to the demo already holds data."""


@dataclass
class DemoResult:
    database: str
    summary: RunSummary | None = None
    outputs: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def sample_inventory() -> Path:
    return Path(str(resources.files("govmedia").joinpath(SAMPLE)))


def _share(account_id: str) -> float:
    return int(hashlib.sha256(account_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _inventory_on(sim: simserver.RunningSim, workdir: Path) -> Path:
    """The bundled inventory with every feed address pointing at the simulated platform."""
    path = workdir / "inventory.csv"
    with (
        sample_inventory().open(encoding="utf-8-sig", newline="") as source,
        path.open("w", encoding="utf-8-sig", newline="") as target,
    ):
        reader = csv.DictReader(source)
        writer = csv.DictWriter(target, fieldnames=list(reader.fieldnames or []))
        writer.writeheader()
        for row in reader:
            writer.writerow(row | {"订阅地址": sim.feed_url(row["账号ID"])})
    return path


async def _reviews_for(accounts: list[dict[str, Any]], workdir: Path) -> Path:
    """Review sheets as units send them: most posts reviewed three times before publication,
    some accounts missing a final review, a few sending nothing."""
    path = workdir / "reviews.csv"
    rows: list[list[str]] = []
    async with aiohttp.ClientSession() as session:
        for account in accounts:
            share = _share(account["account_id"])
            if share < 0.05 or not account["feed_url"]:
                continue
            async with session.get(account["feed_url"]) as response:
                if response.status != 200:
                    continue
                parsed = parse_feed(
                    await response.read(), response.headers.get("Content-Type"), account["feed_url"]
                )
            for index, post in enumerate(parsed.posts):
                if post.published_at is None:
                    continue
                published = post.published_at.astimezone(SHANGHAI)
                final = (
                    published + timedelta(hours=3)
                    if share < 0.12 and index == 0
                    else published - timedelta(minutes=20)
                )
                rows.append([
                    account["platform"], account["account_id"], post.title, post.url or "",
                    "编辑", f"{published - timedelta(hours=2):%Y-%m-%d %H:%M}",
                    "科室负责人", f"{published - timedelta(hours=1):%Y-%m-%d %H:%M}",
                    "分管领导", f"{final:%Y-%m-%d %H:%M}",
                ])  # fmt: skip
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REVIEW_HEADERS)
        writer.writerows(rows)
    return path


async def run_demo(
    workdir: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    settings: dict[str, Any] | None = None,
    database_url: str | None = None,
) -> DemoResult:
    """Build a fresh demo database (``workdir``/demo.db, or ``database_url``, which must be
    empty) and run the whole job on it, with ``settings`` (default: the built-in ones)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if database_url is None:
        db_path = workdir / "demo.db"
        for leftover in workdir.glob("demo.db*"):
            leftover.unlink()
        database_url = f"sqlite+aiosqlite:///{db_path}"
    settings = settings if settings is not None else config.load_defaults()
    settings["fetch"]["total_timeout_s"] = min(settings["fetch"]["total_timeout_s"], 5.0)
    database = Database(database_url)
    shown = database.url.database if database.is_sqlite else None
    result = DemoResult(shown or database.url.render_as_string(hide_password=True))
    now = datetime.now(SHANGHAI)
    meta = FilingMeta(filed_by="演示", filed_at=now, reason="演示")
    quarter = Quarter.of(now.date())
    try:
        async with database.read() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        if tables:
            raise DemoRefused(f"演示需要一个没有任何表的空数据库, 而 {result.database} 已有表")
        await migrate.upgrade(database)
        async with simserver.running(SimConfig(now=now, fault_mix=FAULTS)) as sim:
            imported = await import_inventory(
                database, _inventory_on(sim, workdir), meta, now.date()
            )
            result.lines.append(
                f"导入账号清单: {imported.opened} 个账号(样例清单,订阅地址指向本机模拟平台 {sim.url})"
            )
            accounts = await queries.list_accounts(database)
            reviews = await import_reviews(database, await _reviews_for(accounts, workdir), now)
            result.lines.append(f"导入审核记录: {reviews.added} 条")
            active = [a for a in accounts if a["status"] == "正常"]
            await file_on_account(
                database,
                str(active[0]["id"]),
                Kind.CHANGE,
                meta,
                now.date(),
                {"phone": "028-12345678"},
            )
            await file_on_account(
                database, str(active[1]["id"]), Kind.CLOSE, meta, now.date() - timedelta(days=20)
            )
            result.lines.append(
                f"备案: #{active[0]['id']} 变更联系电话;#{active[1]['id']} 关停(关停账号在半年全面检查 --all 中核查是否仍在发布)"
            )
            request = RunRequest(quarter, now, now, actor="演示")
            summary = await run_inspection(
                database, Context.from_settings(settings), request, progress=progress
            )
            result.summary = summary
        for fmt in ("xlsx", "csv", "json"):
            out = workdir / f"ledger-{quarter}.{fmt}"
            await export_ledger(database, out, fmt, quarter=str(quarter), now=now)
            result.outputs.append(out)
        context = Context.from_settings(settings)
        for suffix in ("html", "docx"):
            out = workdir / f"bulletin-{quarter}.{suffix}"
            await write_report(database, out, quarter, issued=now.date(), rule=context.deadlines)
            result.outputs.append(out)
        out = workdir / "accounts.xlsx"
        await export_inventory(database, out, "xlsx")
        result.outputs.append(out)
    finally:
        await database.close()
    return result

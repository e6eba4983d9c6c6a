"""Shared fixtures: a migrated database on each engine, and inventory files."""

from __future__ import annotations

import csv
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from govmedia.synthetic import header_row, inventory
from registry import migrate
from registry.db import Database
from registry.fields import KEYS
from registry.writer import FilingMeta

PG_ENV = "GOVMEDIA_TEST_PG_URL"
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
META = FilingMeta(filed_by="测试员", filed_at=NOW, reason="测试")


def pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped")
    return url


async def reset_postgres(url: str) -> None:
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await database.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'govmedia.db'}"
    return pg_url()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    if db_url.startswith("postgresql"):
        await reset_postgres(db_url)
    database = Database(db_url)
    await migrate.upgrade(database)
    yield database
    await database.close()


def write_csv(
    path: Path,
    rows: Iterable[Mapping[str, str]],
    *,
    encoding: str = "utf-8",
    headers: list[str] | None = None,
    keys: Iterable[str] = KEYS,
) -> Path:
    keys = list(keys)
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers or header_row())
        for row in rows:
            writer.writerow([row.get(k, "") for k in keys])
    return path


def sample_rows(count: int, seed: int = 1) -> list[dict[str, str]]:
    return list(inventory(count, seed=seed))

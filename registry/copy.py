"""``govmedia db copy --to URL``: move a registry to another database with its whole history.

Typically from the embedded SQLite file to PostgreSQL when an office outgrows one process. The
target is brought to the current schema first (``db upgrade``) and must hold no rows; then every
table is copied in dependency order with its ids preserved (the ledger's hash chain names
records by id), in one transaction on the target, from one consistent read of the source; on
PostgreSQL each id sequence is set past the largest id copied. Nothing is written when anything
fails, and the source is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from registry import migrate
from registry.bulk import sync_id_sequence
from registry.db import Database
from registry.errors import Refused
from registry.schema import metadata

CHUNK = 2000


class CopyRefused(Refused):
    """The copy was refused; nothing was written."""


@dataclass(slots=True)
class CopyResult:
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows copied


def _order_key(table: Table) -> list[str]:
    return [column.name for column in table.primary_key.columns]


async def _count(conn: AsyncConnection, table: Table) -> int:
    return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def copy_database(source: Database, target: Database) -> CopyResult:
    """Copy every table of ``source`` into the empty ``target`` (upgraded first)."""
    if str(source.url) == str(target.url):
        raise CopyRefused("源数据库与目标数据库相同")
    if await migrate.stored_revision(source) != migrate.HEAD:
        raise CopyRefused(
            f"源数据库结构不是最新版本 ({migrate.HEAD}):请先对源数据库运行 govmedia db upgrade"
        )
    await migrate.upgrade(target)
    tables = list(metadata.sorted_tables)
    result = CopyResult()
    async with source.read() as src, target.write() as dst:
        for table in tables:
            if await _count(dst, table):
                raise CopyRefused(f"目标数据库不是空的: 表 {table.name} 已有数据,未复制任何内容")
        for table in tables:
            order = [table.c[name] for name in _order_key(table)]
            copied = 0
            stream = await src.stream(select(table).order_by(*order))
            async for chunk in stream.mappings().partitions(CHUNK):
                rows = [dict(row) for row in chunk]
                await dst.execute(insert(table), rows)
                copied += len(rows)
            result.counts[table.name] = copied
        for table in tables:
            await sync_id_sequence(dst, table)
        for table in tables:  # read back inside the transaction: every row arrived
            if await _count(dst, table) != result.counts[table.name]:
                raise CopyRefused(f"表 {table.name} 复制后行数不符,已回滚")
    return result

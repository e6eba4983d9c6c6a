"""Bulk inserts at the driver level, for the hot paths (an import of 100,000 accounts).

SQLAlchemy's ``insert(table)`` with a list of dicts builds every row's parameters one call at a
time; here the statement is compiled once, the column types' own bind processors (the same
functions SQLAlchemy would call, so stored values are identical) are applied column by column,
and the rows go to the driver's ``executemany`` as tuples. Ids are assigned by the caller, under
the write lock (``first_free_id``), so that no RETURNING is needed (which SQLite would run one row
at a time); ``sync_id_sequence`` then moves PostgreSQL's sequence past them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_rows(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    chunk: int = 5000,
    stored: Collection[str] = (),
) -> None:
    """Insert ``rows`` (each with the same keys) into ``table`` in one statement per chunk.

    Python-side column defaults are not applied: every row must give each column it fills.
    The columns named in ``stored`` are given as the driver takes them (a JSON column's text),
    and passed as they are.
    """
    if not rows:
        return
    dialect = conn.dialect
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    order = compiled.positiontup
    if order is None or set(order) != set(keys):
        raise ValueError(f"bulk insert into {table.name} needs positional binds for {keys}")
    columns = [table.c[name] for name in order]
    processors: list[Callable[[Any], Any] | None] = [
        None if column.name in stored else column.type.dialect_impl(dialect).bind_processor(dialect)
        for column in columns
    ]
    values = [[row[name] for row in rows] for name in order]
    converted = [
        [process(v) for v in column] if process else column
        for column, process in zip(values, processors, strict=True)
    ]
    tuples = list(zip(*converted, strict=True))
    for start in range(0, len(tuples), chunk):
        await conn.exec_driver_sql(compiled.string, tuples[start : start + chunk])


async def first_free_id(conn: AsyncConnection, table: Table) -> int:
    """The id after the largest in ``table`` (call it inside the write transaction)."""
    top = await conn.execute(select(func.coalesce(func.max(table.c.id), 0)))
    return int(top.scalar_one()) + 1


async def sync_id_sequence(conn: AsyncConnection, table: Table) -> None:
    """On PostgreSQL, set ``table``'s id sequence to give the id after the largest stored."""
    column = table.autoincrement_column
    if conn.dialect.name != "postgresql" or column is None:
        return
    await conn.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
            f"coalesce((SELECT max({column.name}) FROM {table.name}), 0) + 1, false)"
        )
    )

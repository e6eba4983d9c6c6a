"""Bulk inserts at the driver level, for the hot paths (an import of 100,000 accounts).

SQLAlchemy's ``insert(table)`` with a list of dicts builds every row's parameters one call at a
time; here the statement is compiled once, the column types' own bind processors (the same
functions SQLAlchemy would call, so stored values are identical) are applied column by column,
and the rows go to the driver's ``executemany`` as tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
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

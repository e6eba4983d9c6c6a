"""One daemon per database, and one in-process inspection run: locks held while they last.

PostgreSQL: a session-level advisory lock on a connection kept open. SQLite: an exclusive
``flock`` on a file beside the database. Either is released by the operating system or the
server when the process dies, so a killed process never blocks the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.db import Database
from registry.errors import Refused

_DAEMON_LOCK_KEY = 0x60F3ED1B
_INSPECTION_LOCK_KEY = 0x60F3ED1C


class AlreadyRunning(Refused):
    """Another process holds this database's lock (a daemon, or an inspection run)."""


@asynccontextmanager
async def daemon_lock(db: Database, check_s: float = 15.0) -> AsyncIterator[asyncio.Event]:
    """Held for the daemon's lifetime: a second daemon on the database refuses to start.

    Yields an event set if the lock is lost: on PostgreSQL the lock lives as long as its
    connection, which a server restart or failover ends; it is checked every ``check_s``.
    """
    shown = db.url.render_as_string(hide_password=True)
    lost = asyncio.Event()
    async with _process_lock(
        db,
        "daemon",
        _DAEMON_LOCK_KEY,
        f"另一个守护进程{{owner}}正在使用数据库 {shown},本进程不启动",
        lost=lost,
        check_s=check_s,
    ):
        yield lost


@asynccontextmanager
async def inspection_lock(db: Database) -> AsyncIterator[None]:
    """Held while a run inspects in this process: two processes on one run would overwrite
    each other's outcomes."""
    shown = db.url.render_as_string(hide_password=True)
    message = f"另一个进程{{owner}}正在对数据库 {shown} 进行检查运行: 请等它结束(或停止它)后再运行"
    async with _process_lock(db, "inspection", _INSPECTION_LOCK_KEY, message):
        yield


@asynccontextmanager
async def _process_lock(
    db: Database,
    name: str,
    key: int,
    refusal: str,
    *,
    lost: asyncio.Event | None = None,
    check_s: float = 15.0,
) -> AsyncIterator[None]:
    """``refusal`` (with ``{owner}`` for the holder's pid, where known) when another process
    holds the lock ``name`` of this database; ``lost`` is set if a PostgreSQL lock's
    connection ends while held."""
    if db.is_sqlite:
        database = db.url.database or ""
        if not database or database == ":memory:":
            yield
            return
        real = Path(os.path.realpath(database))  # one lock whatever link the file is named by
        path = real.with_name(f"{real.name}.{name}.lock")
        with path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                owner = handle.read().strip() or "?"
                raise AlreadyRunning(refusal.format(owner=f" (pid {owner}) ")) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    async with db.engine.connect() as conn:
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar()
        await conn.commit()
        if not got:
            raise AlreadyRunning(refusal.format(owner=""))
        watch = asyncio.create_task(_watch(conn, lost, check_s)) if lost is not None else None
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
                await asyncio.gather(watch, return_exceptions=True)
            if lost is None or not lost.is_set():
                # a connection that died took the lock with it: nothing to hide the result for
                with contextlib.suppress(DBAPIError, OSError):
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    await conn.commit()


async def _watch(conn: AsyncConnection, lost: asyncio.Event, check_s: float) -> None:
    """Set ``lost`` when the lock's connection stops answering."""
    while True:
        await asyncio.sleep(check_s)
        try:
            await conn.execute(text("SELECT 1"))
            await conn.commit()
        except Exception:
            lost.set()
            return

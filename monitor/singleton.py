"""One daemon per database: a lock held for the daemon's lifetime.

PostgreSQL: a session-level advisory lock on a connection kept open. SQLite: an exclusive
``flock`` on a file beside the database. Either is released by the operating system or the
server when the process dies, so a killed daemon never blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text

from registry.db import Database
from registry.errors import Refused

_DAEMON_LOCK_KEY = 0x60F3ED1B


class AlreadyRunning(Refused):
    """Another daemon holds this database."""


@asynccontextmanager
async def daemon_lock(db: Database) -> AsyncIterator[None]:
    if db.is_sqlite:
        database = db.url.database or ""
        if not database or database == ":memory:":
            yield
            return
        real = Path(os.path.realpath(database))  # one lock whatever link the file is named by
        path = real.with_name(real.name + ".daemon.lock")
        with path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                owner = handle.read().strip() or "?"
                raise AlreadyRunning(
                    f"另一个守护进程 (pid {owner}) 正在使用数据库 {database},本进程不启动"
                ) from None
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
        got = (
            await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _DAEMON_LOCK_KEY})
        ).scalar()
        await conn.commit()
        if not got:
            raise AlreadyRunning(
                f"另一个守护进程正在使用数据库 {db.url.render_as_string(hide_password=True)},本进程不启动"
            )
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _DAEMON_LOCK_KEY})
            await conn.commit()

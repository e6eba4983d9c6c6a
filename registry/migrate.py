"""Schema migrations (Alembic), run programmatically by ``govmedia db upgrade``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError

from registry.db import Database
from registry.errors import Refused

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0006"  # the newest migration (tests/test_migrate.py checks it against the scripts)


def alembic_config() -> Config:
    """Alembic's configuration (imported here: alembic is slow to import, and only the
    commands that migrate need it)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``; running it again changes nothing."""

    def run(connection: Connection) -> None:
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with database.write() as conn:
        await conn.run_sync(run)


async def stored_revision(database: Database) -> str | None:
    """The schema revision recorded in the database (plain SQL: no alembic import); None when
    there is none."""
    try:
        async with database.read() as conn:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except DBAPIError:  # no alembic_version table
        return None


async def ensure_current(database: Database) -> bool:
    """Make sure the schema is this program's: an empty database is given it (True is
    returned); an older or newer schema, or tables that are not ours, are refused with what to
    do (an upgrade is an explicit step: ``govmedia db upgrade``, after a backup)."""
    revision = await stored_revision(database)
    if revision == HEAD:
        return False
    if revision is None:
        async with database.read() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        if tables:
            raise Refused("数据库中已有数据表,但不是 govmedia 的数据库(没有结构版本记录)")
        await upgrade(database)
        return True
    if revision.isdigit() and int(revision) > int(HEAD):
        raise Refused(f"数据库结构版本 {revision} 比本程序({HEAD})新,请升级 govmedia")
    raise Refused(
        f"数据库结构版本为 {revision},本程序需要 {HEAD}:请先备份数据库,再运行 govmedia db upgrade"
    )

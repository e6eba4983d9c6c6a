"""What every command shares: ``--config``/``--db``, the settings, exits and JSON output."""

from __future__ import annotations

import asyncio
import functools
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from govmedia import config, logs
from registry import migrate
from registry.db import Database, database_url
from registry.errors import Refused
from registry.importing import ImportRefused

T = TypeVar("T")


@dataclass(frozen=True)
class Env:
    """The settings and database a command runs with."""

    settings: dict[str, Any]
    db_url: str
    db_given: bool = False  # --db was given (not taken from the settings)

    def database(self) -> Database:
        return Database(self.db_url, busy_timeout_s=self.settings["database"]["busy_timeout_s"])


def common(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command ``--config`` and ``--db`` and pass it an ``Env`` as ``env``."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        help="配置文件 (默认 ./config.toml)",
    )
    @click.option(
        "--db", "db_url", help="数据库 URL 或 SQLite 文件路径,覆盖配置中的 [database] url"
    )
    @functools.wraps(command)
    def wrapper(config_path: Path | None, db_url: str | None, **kwargs: Any) -> Any:
        try:
            settings = config.load(config_path)
            logs.configure(settings["logging"]["level"])
        except (config.ConfigError, ValueError) as exc:
            raise click.UsageError(str(exc)) from exc
        try:
            url = database_url(db_url or settings["database"]["url"])
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--db") from exc
        env = Env(settings, url, db_given=db_url is not None)
        return command(env=env, **kwargs)

    return wrapper


@contextmanager
def settings_checked() -> Iterator[None]:
    """A setting the objects built from it refuse (a ratio out of range, a cron expression that
    does not parse) is a usage error naming it, not a traceback."""
    try:
        yield
    except (ValueError, TypeError, OverflowError) as exc:
        raise click.UsageError(f"配置错误: {exc}") from exc


def run(env: Env, work: Callable[[Database], Awaitable[T]], *, check_schema: bool = True) -> T:
    """Run ``work`` against the database, turning refusals into exit status 1. The schema is
    checked first (``migrate.ensure_current``): a new, empty database is set up."""

    async def main() -> T:
        database = env.database()
        try:
            if check_schema and await migrate.ensure_current(database):
                click.echo(f"已初始化数据库 {database.url.render_as_string()}", err=True)
            return await work(database)
        finally:
            await database.close()

    try:
        return asyncio.run(main())
    except ImportRefused as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        click.echo(f"共 {len(exc.errors)} 处错误,未写入任何数据。", err=True)
        sys.exit(1)
    except Refused as exc:
        click.echo(f"错误: {exc}", err=True)
        sys.exit(1)
    except DBAPIError as exc:  # unreachable server, unreadable file, locked database
        reason = str(exc.orig) if exc.orig is not None else str(exc)
        click.echo(f"错误: 数据库 {_shown(env.db_url)} 不可用: {reason}", err=True)
        sys.exit(1)
    except OSError as exc:  # a server refusing connections, a folder given as a file
        click.echo(f"错误: {exc}", err=True)
        sys.exit(1)


def region_option(value: str | None) -> str | None:
    """A ``--region`` value: six ASCII digits (surrounding spaces dropped), or a usage error."""
    if value is None:
        return None
    value = value.strip()
    if not (len(value) == 6 and value.isascii() and value.isdigit()):
        raise click.BadParameter("应为 6 位行政区划代码, 如 510100", param_hint="--region")
    return value


def require_existing(env: Env) -> None:
    """For a command whose answer about an empty database would mislead (``ledger verify``):
    a SQLite file that does not exist (a mistyped path) exits 1 instead of being created."""
    url = make_url(env.db_url)
    path = url.database if url.get_backend_name() == "sqlite" else None
    if path and path != ":memory:" and not Path(path).exists():
        click.echo(f"错误: 数据库文件 {path} 不存在", err=True)
        sys.exit(1)


def output_folder(output: Path) -> None:
    """Create the folder ``output`` goes in; a path that cannot be one exits 1 saying so."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        click.echo(f"错误: 无法创建输出文件夹 {output.parent}: {exc.strerror}", err=True)
        sys.exit(1)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=1, default=_default))


def echo_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], total: str) -> None:
    """Tab-separated lines under a header line, then the ``total`` line (e.g. "共 3 条")."""
    lines = ["\t".join(columns)]
    lines.extend("\t".join(str(value) for value in row) for row in rows)
    lines.append(total)
    click.echo("\n".join(lines))


def _default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def whoami() -> str:
    try:
        return getpass.getuser()
    except OSError:
        return "unknown"

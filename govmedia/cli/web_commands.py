"""``govmedia serve`` (the web console and API) and ``govmedia users ...`` (its accounts)."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from typing import Any

import click

from govmedia.cli.common import Env, common, echo_table, emit_json, run, whoami
from registry import users as users_api
from registry.db import Database
from registry.errors import Refused
from registry.scope import ROLE_LABELS, Role
from registry.times import SHANGHAI


def _now() -> datetime:
    return datetime.now(SHANGHAI)


@click.command("serve")
@click.option("--host", default=None, help="监听地址 (默认 [web] host,即 127.0.0.1)")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="端口 (默认 [web] port)")
@common
def serve(env: Env, host: str | None, port: int | None) -> None:
    """Serve the web console and the JSON API (aiohttp)."""
    from aiohttp import web

    from govmedia.web import create_app
    from registry import migrate

    web_settings = env.settings["web"]
    host = host or web_settings["host"]
    port = web_settings["port"] if port is None else port

    async def start() -> web.AppRunner:
        database = env.database()
        try:
            if await migrate.ensure_current(database):
                click.echo("已初始化数据库", err=True)
        except BaseException:
            await database.close()
            raise
        app = create_app(database, env.settings)

        async def close_db(_app: web.Application) -> None:
            await database.close()

        app.on_cleanup.append(close_db)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        return runner

    async def main() -> None:
        runner = await start()
        click.echo(f"govmedia 控制台: http://{host}:{port}/ (Ctrl+C 停止)", err=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        click.echo("已停止", err=True)
    except Refused as exc:
        click.echo(f"错误: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:  # the port is taken, or not ours to use
        click.echo(f"错误: 无法在 {host}:{port} 上提供服务: {exc.strerror}", err=True)
        sys.exit(1)


@click.group("users")
def users() -> None:
    """控制台与 API 用户 (角色、管理范围、API 令牌)."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="角色")
@click.option(
    "--scope",
    required=True,
    help="管理范围: 主管单位/考核用户为行政区划代码 (510000 省, 510100 市, 510104 县);运维单位为主办单位全称",
)
@click.option("--name", "display_name", default="", help="显示名称")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码 (否则交互输入)")
@click.option("--token", "token_name", default=None, help="同时创建一个 API 令牌,并以此命名")
@common
def users_add(
    env: Env,
    username: str,
    role: str,
    scope: str,
    display_name: str,
    password_stdin: bool,
    token_name: str | None,
) -> None:
    """Add a user with a role and a scope (and optionally an API token)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt=True)
    now = _now()

    async def work(db: Database) -> tuple[users_api.User, str | None]:
        user = await users_api.add_user(
            db,
            username,
            password,
            Role(role),
            scope,
            now=now,
            display_name=display_name,
            actor=whoami(),
        )
        token = None
        if token_name is not None:
            token = await users_api.create_token(db, username, token_name, now=now, actor=whoami())
        return user, token

    user, token = run(env, work)
    click.echo(f"已添加用户 {user.username}({ROLE_LABELS[user.role]},范围 {user.scope_value})")
    if token:
        click.echo("API 令牌(只显示这一次,请妥善保存):", err=True)
        click.echo(token)


@users.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取新密码 (否则交互输入)")
@common
def users_passwd(env: Env, username: str, password_stdin: bool) -> None:
    """Set a user's password (a reset: the user's console sessions end)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("新密码", hide_input=True, confirmation_prompt=True)
    run(
        env,
        lambda db: users_api.set_password(db, username, password, now=_now(), actor=whoami()),
    )
    click.echo(f"已重设用户 {username} 的密码,其登录会话已结束")


@users.command("token")
@click.argument("username")
@click.option("--name", "token_name", default="", help="令牌名称 (如 发布系统)")
@common
def users_token(env: Env, username: str, token_name: str) -> None:
    """Create an API token for a user; the token is printed once and stored only hashed."""
    token = run(
        env, lambda db: users_api.create_token(db, username, token_name, now=_now(), actor=whoami())
    )
    click.echo("API 令牌(只显示这一次,请妥善保存):", err=True)
    click.echo(token)


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@common
def users_list(env: Env, as_json: bool) -> None:
    """List users with their roles, scopes and active API tokens."""
    rows = run(env, users_api.list_users)
    if as_json:
        emit_json(rows)
        return

    def tokens(row: dict[str, Any]) -> str:
        named = [f"#{t['id']}{(' ' + t['name']) if t['name'] else ''}" for t in row["tokens"]]
        return ",".join(named) or "-"

    table = (
        (r["username"], r["role"], r["scope"], "是" if r["active"] else "否", tokens(r))
        for r in rows
    )
    echo_table(("username", "role", "scope", "active", "tokens"), table, f"共 {len(rows)} 个用户")


@users.command("audit")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--actor", default=None, help="只看这个用户的操作")
@click.option(
    "--action",
    type=click.Choice(sorted(users_api.ACTION_LABELS)),
    default=None,
    help="只看这种操作",
)
@click.option("--json", "as_json", is_flag=True)
@common
def users_audit(env: Env, limit: int, actor: str | None, action: str | None, as_json: bool) -> None:
    """Show the audit log, newest first: who changed what, when (Asia/Shanghai) and from where."""
    rows = run(env, lambda db: users_api.audit_entries(db, limit=limit, actor=actor, action=action))
    if as_json:
        emit_json(rows)
        return
    table = (
        (
            r["at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
            r["actor"],
            r["action"],
            r["target"],
            r["remote"] or "-",
            json.dumps(r["detail"], ensure_ascii=False) if r["detail"] else "",
        )
        for r in rows
    )
    columns = ("time", "actor", "action", "target", "remote", "detail")
    echo_table(columns, table, f"共 {len(rows)} 条记录")


@users.command("revoke")
@click.argument("username", required=False)
@click.option("--token", "token_id", type=int, default=None, help="只吊销这个 API 令牌 (编号)")
@common
def users_revoke(env: Env, username: str | None, token_id: int | None) -> None:
    """Deactivate a user (sessions and tokens end at once), or revoke one API token."""
    if (username is None) == (token_id is None):
        raise click.UsageError("请给出用户名,或 --token 令牌编号(二选一)")
    if token_id is not None:
        run(env, lambda db: users_api.revoke_token(db, token_id, now=_now(), actor=whoami()))
        click.echo(f"已吊销令牌 #{token_id}")
        return
    assert username is not None
    run(env, lambda db: users_api.revoke_user(db, username, now=_now(), actor=whoami()))
    click.echo(f"已停用用户 {username}(其会话和 API 令牌已失效)")

"""Users of the web console and the API: roles and scopes, passwords, sessions, API tokens,
and the audit log. Every write goes through ``Database.write()``.

Passwords are stored as Argon2id hashes (argon2-cffi). Session ids and API tokens are random
(``secrets``) and stored only as their SHA-256, so a copy of the database lets nobody in.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.db import Database
from registry.errors import Refused
from registry.schema import api_tokens, audit_log, users, web_sessions
from registry.scope import Role, Scope, validate_scope

TOKEN_PREFIX = "gm_"
_HASHER = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal names.
MIN_PASSWORD = 10


_revocations = 0  # bumped by every revocation made in this process (see revocation_count)


def revocation_count() -> int:
    """How many sessions, users or API tokens this process has revoked or ended so far.

    A cache of who a session or token stands for (the web console's) forgets everything when
    this changes, so that a revocation made in the same process takes effect at once; one made
    by another process (the ``govmedia users`` command) is seen when the cache's entry expires.
    """
    return _revocations


def _revoked() -> None:
    global _revocations
    _revocations += 1


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify unknown user names against, so that timing does not reveal them."""
    return _HASHER.hash("govmedia-no-such-user")


class UserRefused(Refused):
    """A user operation was refused; nothing was written."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    scope_value: str
    active: bool

    @property
    def scope(self) -> Scope:
        return Scope(self.role, self.scope_value)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role.value,
            "scope": self.scope_value,
            "active": self.active,
        }


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf_token: str
    expires_at: datetime


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: Any) -> User:
    return User(row.id, row.username, row.display_name, Role(row.role), row.scope, bool(row.active))


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip())
    except ValueError as exc:
        names = ", ".join(r.value for r in Role)
        raise UserRefused(f"未知角色 '{text}',应为: {names}") from exc


async def add_user(
    db: Database,
    username: str,
    password: str,
    role: Role,
    scope: str,
    *,
    now: datetime,
    display_name: str = "",
    actor: str = "cli",
) -> User:
    username = username.strip()
    if not username or len(username) > 100:
        raise UserRefused("用户名不能为空且不超过100个字符")
    if len(password) < MIN_PASSWORD:
        raise UserRefused(f"密码至少 {MIN_PASSWORD} 个字符")
    problem = validate_scope(role, scope)
    if problem:
        raise UserRefused(problem)
    hashed = await asyncio.get_running_loop().run_in_executor(None, _HASHER.hash, password)
    async with db.write() as conn:
        taken = await conn.execute(select(users.c.id).where(users.c.username == username))
        if taken.first() is not None:
            raise UserRefused(f"用户 {username} 已存在")
        result = await conn.execute(
            insert(users).values(
                username=username,
                display_name=display_name.strip() or username,
                password_hash=hashed,
                role=role.value,
                scope=scope.strip(),
                active=True,
                created_at=now,
            )
        )
        (user_id,) = result.inserted_primary_key or (None,)
        await audit(
            conn, now, actor, "user.add", username, {"role": role.value, "scope": scope.strip()}
        )
    assert user_id is not None
    return User(int(user_id), username, display_name.strip() or username, role, scope, True)


async def list_users(db: Database) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = (await conn.execute(select(users).order_by(users.c.id))).all()
        tokens = (
            await conn.execute(
                select(api_tokens.c.user_id, api_tokens.c.id, api_tokens.c.name).where(
                    api_tokens.c.revoked_at.is_(None)
                )
            )
        ).all()
    by_user: dict[int, list[dict[str, Any]]] = {}
    for user_id, token_id, name in tokens:
        by_user.setdefault(user_id, []).append({"id": token_id, "name": name})
    return [
        {
            **_user(row).as_json(),
            "created_at": row.created_at,
            "revoked_at": row.revoked_at,
            "tokens": by_user.get(row.id, []),
        }
        for row in rows
    ]


async def revoke_user(db: Database, username: str, *, now: datetime, actor: str = "cli") -> None:
    """Deactivate a user: its sessions end and its API tokens stop working at once."""
    async with db.write() as conn:
        row = (await conn.execute(select(users).where(users.c.username == username))).first()
        if row is None:
            raise UserRefused(f"用户 {username} 不存在")
        if not row.active:
            raise UserRefused(f"用户 {username} 已停用")
        await conn.execute(
            update(users).where(users.c.id == row.id).values(active=False, revoked_at=now)
        )
        await conn.execute(
            update(api_tokens)
            .where(api_tokens.c.user_id == row.id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await conn.execute(delete(web_sessions).where(web_sessions.c.user_id == row.id))
        await audit(conn, now, actor, "user.revoke", username, {})
    _revoked()


async def set_password(
    db: Database,
    username: str,
    password: str,
    *,
    now: datetime,
    actor: str = "cli",
    keep_session: str | None = None,
) -> None:
    """Give an active user a new password; the user's console sessions end (all but
    ``keep_session``, the one changing it in the browser). API tokens are left as they are."""
    if len(password) < MIN_PASSWORD:
        raise UserRefused(f"密码至少 {MIN_PASSWORD} 个字符")
    hashed = await asyncio.get_running_loop().run_in_executor(None, _HASHER.hash, password)
    async with db.write() as conn:
        row = (await conn.execute(select(users).where(users.c.username == username))).first()
        if row is None or not row.active:
            raise UserRefused(f"用户 {username} 不存在或已停用")
        await conn.execute(update(users).where(users.c.id == row.id).values(password_hash=hashed))
        ended = delete(web_sessions).where(web_sessions.c.user_id == row.id)
        if keep_session is not None:
            ended = ended.where(web_sessions.c.id_hash != digest(keep_session))
        await conn.execute(ended)
        await audit(conn, now, actor, "user.password", username, {})
    _revoked()


async def authenticate(db: Database, username: str, password: str) -> User | None:
    """The active user with this password, or None (same work whether the name exists)."""
    async with db.read() as conn:
        row = (await conn.execute(select(users).where(users.c.username == username))).first()
    stored = row.password_hash if row is not None else _dummy_hash()
    ok = await asyncio.get_running_loop().run_in_executor(None, _verify, stored, password)
    if row is None or not ok or not row.active:
        return None
    return _user(row)


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_session(
    db: Database, user: User, *, now: datetime, lifetime: timedelta, remote: str = ""
) -> tuple[str, str]:
    """A new session: (cookie value, CSRF token). Expired sessions are swept meanwhile."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    async with db.write() as conn:
        await conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
        await conn.execute(
            insert(web_sessions).values(
                id_hash=digest(session_id),
                user_id=user.id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
        await audit(conn, now, user.username, "login", user.username, {}, remote=remote)
    return session_id, csrf


async def get_session(db: Database, session_id: str, *, now: datetime) -> Session | None:
    query = (
        select(users, web_sessions.c.csrf_token, web_sessions.c.expires_at)
        .join(users, users.c.id == web_sessions.c.user_id)
        .where(web_sessions.c.id_hash == digest(session_id))
    )
    async with db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None or row.expires_at <= now or not row.active:
        return None
    return Session(_user(row), row.csrf_token, row.expires_at)


async def end_session(db: Database, session_id: str, *, now: datetime, actor: str) -> None:
    async with db.write() as conn:
        await conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == digest(session_id)))
        await audit(conn, now, actor, "logout", actor, {})
    _revoked()


async def create_token(
    db: Database, username: str, name: str, *, now: datetime, actor: str = "cli"
) -> str:
    """A new API token for ``username``; the clear token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with db.write() as conn:
        row = (await conn.execute(select(users).where(users.c.username == username))).first()
        if row is None or not row.active:
            raise UserRefused(f"用户 {username} 不存在或已停用")
        result = await conn.execute(
            insert(api_tokens).values(
                user_id=row.id, name=name, token_hash=digest(token), created_at=now
            )
        )
        (token_id,) = result.inserted_primary_key or (None,)
        await audit(conn, now, actor, "token.add", username, {"token_id": token_id, "name": name})
    return token


async def revoke_token(db: Database, token_id: int, *, now: datetime, actor: str = "cli") -> None:
    async with db.write() as conn:
        row = (await conn.execute(select(api_tokens).where(api_tokens.c.id == token_id))).first()
        if row is None or row.revoked_at is not None:
            raise UserRefused(f"令牌 #{token_id} 不存在或已吊销")
        await conn.execute(
            update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=now)
        )
        await audit(conn, now, actor, "token.revoke", str(token_id), {})
    _revoked()


async def user_for_token(db: Database, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    query = (
        select(users)
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(api_tokens.c.token_hash == digest(token), api_tokens.c.revoked_at.is_(None))
    )
    async with db.read() as conn:
        row = (await conn.execute(query)).first()
    return _user(row) if row is not None and row.active else None


async def audit(
    conn: AsyncConnection,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any],
    *,
    remote: str = "",
) -> None:
    """One audit record, inside the caller's write transaction."""
    await conn.execute(
        insert(audit_log).values(
            at=at, actor=actor, action=action, target=target[:200], detail=detail, remote=remote
        )
    )


async def record(
    db: Database,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any],
    *,
    remote: str = "",
) -> None:
    """One audit record in its own write transaction (after a change made elsewhere)."""
    async with db.write() as conn:
        await audit(conn, at, actor, action, target, detail, remote=remote)


#: what each action of the audit log means, for the people who read it
ACTION_LABELS: Mapping[str, str] = {
    "login": "登录",
    "login.failed": "登录失败",
    "logout": "退出登录",
    "user.add": "添加用户",
    "user.revoke": "停用用户",
    "user.password": "设置密码",
    "token.add": "签发 API 令牌",
    "token.revoke": "吊销 API 令牌",
    "filing.open": "开设备案",
    "filing.change": "变更备案",
    "filing.close": "关停备案",
    "filing.deregister": "注销备案",
    "filing.reopen": "重新开设备案",
    "ledger.update": "整改台账状态变更",
    "review.submit": "提交审核记录",
}


async def audit_entries(
    db: Database,
    *,
    limit: int = 100,
    before: int | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> list[dict[str, Any]]:
    """Audit records, newest first: those older than record ``before``, by ``actor``, of
    ``action``, when given."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(audit_log.c.id < before)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    async with db.read() as conn:
        return [dict(row._mapping) for row in await conn.execute(query)]

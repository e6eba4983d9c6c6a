"""Who is asking: the session cookie (console) or a bearer token (machine clients), and CSRF.

Sessions are rows in ``web_sessions`` keyed by the SHA-256 of a random cookie value; the cookie
is HttpOnly, SameSite=Lax and Secure when ``[web] secure_cookies``. Every state-changing request
made with a session must carry the session's CSRF token (form field ``csrf_token`` or header
``X-CSRF-Token``); requests made with a bearer token carry no ambient credentials and need none.
The login form, before any session exists, is protected by a double-submit cookie.

Who a session or a token stands for is remembered for a few seconds (``cache.AuthCache``).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from govmedia.web.errors import Problem, forbidden
from govmedia.web.keys import AUTH, DB, NOW, SESSION, USER, VIA
from registry.scope import Scope
from registry.users import Session, User

SESSION_COOKIE = "govmedia_session"
LOGIN_CSRF_COOKIE = "govmedia_login_csrf"
PUBLIC = ("/login", "/static/", "/healthz", "/favicon.ico")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def remote(request: web.Request) -> str:
    return (request.remote or "")[:64]


def current_user(request: web.Request) -> User:
    user: User | None = request.get(USER)
    if user is None:  # the middleware lets no such request through
        raise Problem(401, "未登录")
    return user


def scope_of(request: web.Request) -> Scope:
    return current_user(request).scope


def writer(request: web.Request) -> User:
    """The current user, refusing read-only roles."""
    user = current_user(request)
    if not user.scope.can_write:
        raise forbidden("只读用户不能修改数据")
    return user


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


async def _csrf_ok(request: web.Request, session: Session) -> bool:
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        sent = str(form.get("csrf_token", ""))
    return _same(sent, session.csrf_token)


async def login_csrf_ok(request: web.Request, sent: str) -> bool:
    return _same(sent, request.cookies.get(LOGIN_CSRF_COOKIE, ""))


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PUBLIC):
        return await handler(request)
    db = request.app[DB]
    cache = request.app[AUTH]
    now: datetime = request.app[NOW]()
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        user = await cache.token(db, token) if scheme.lower() == "bearer" and token else None
        if user is None:
            raise Problem(401, "API 令牌无效或已吊销")
        request[USER] = user
        request[VIA] = "token"
        return await handler(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    session = await cache.session(db, cookie, now=now) if cookie else None
    if session is None:
        if is_api(request):
            raise Problem(401, "需要登录或 API 令牌 (Authorization: Bearer ...)")
        if request.method in UNSAFE:
            raise Problem(401, "登录已失效,请重新登录")
        raise web.HTTPFound("/login?" + urlencode({"next": request.rel_url.path_qs}))
    if request.method in UNSAFE and not await _csrf_ok(request, session):
        raise forbidden("CSRF 校验失败:请刷新页面后重试")
    request[USER] = session.user
    request[SESSION] = session
    request[VIA] = "session"
    return await handler(request)

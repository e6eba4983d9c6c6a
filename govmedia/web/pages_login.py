"""The login form (a double-submit CSRF cookie, rate-limited), logging out, and changing one's
own password."""

from __future__ import annotations

from aiohttp import web

from govmedia.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    current_user,
    login_csrf_ok,
    new_login_csrf,
    remote,
)
from govmedia.web.keys import DB, LIMITER, SESSION_LIFETIME, SETTINGS
from govmedia.web.rendering import now, render, safe_next
from registry import users

routes = web.RouteTableDef()


def _login_page(request: web.Request, status: int = 200, message: str = "") -> web.Response:
    # reuse the token already in the browser: a second login page (another tab, a redirected
    # request for an icon) must not invalidate the form already shown
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "") or new_login_csrf()
    response = render(
        request,
        "login.html",
        status=status,
        login_csrf=token,
        next=safe_next(request.query.get("next", "/")),
        message=message,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=request.app[SETTINGS].secure_cookies,
        path="/login",
    )
    return response


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    return _login_page(request)


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    if not await login_csrf_ok(request, str(form.get("csrf_token", ""))):
        return _login_page(request, 403, "页面已过期(CSRF 校验失败),请重新登录")
    username = str(form.get("username", "")).strip()[:100]
    password = str(form.get("password", ""))
    limiter = request.app[LIMITER]
    wait = limiter.blocked(username, remote(request))
    if wait:
        return _login_page(request, 429, f"登录失败次数过多,请 {int(wait) + 1} 秒后再试")
    user = await users.authenticate(request.app[DB], username, password)
    if user is None:
        limiter.failed(username, remote(request))
        await users.record(
            request.app[DB],
            now(request),
            username or "-",
            "login.failed",
            username,
            {},
            remote=remote(request),
        )
        return _login_page(request, 401, "用户名或密码错误")
    limiter.succeeded(username, remote(request))
    settings = request.app[SETTINGS]
    session_id, _csrf = await users.create_session(
        request.app[DB],
        user,
        now=now(request),
        lifetime=request.app[SESSION_LIFETIME],
        remote=remote(request),
    )
    response = web.HTTPSeeOther(safe_next(str(form.get("next", "/"))))
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
        path="/",
        max_age=int(request.app[SESSION_LIFETIME].total_seconds()),
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    user = current_user(request)
    await users.end_session(
        request.app[DB],
        request.cookies.get(SESSION_COOKIE, ""),
        now=now(request),
        actor=user.username,
    )
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def _password_page(request: web.Request, status: int = 200, message: str = "") -> web.Response:
    return render(
        request,
        "password.html",
        status=status,
        message=message,
        error=status != 200,
        min_length=users.MIN_PASSWORD,
    )


@routes.get("/password")
async def password_form(request: web.Request) -> web.Response:
    return _password_page(request)


@routes.post("/password")
async def change_password(request: web.Request) -> web.Response:
    """The signed-in user's own password: the current one is asked again (rate-limited like a
    login); the user's other sessions end, this one stays."""
    user = current_user(request)
    form = await request.post()
    new, again = str(form.get("new_password", "")), str(form.get("new_password_again", ""))
    limiter = request.app[LIMITER]
    wait = limiter.blocked(user.username, remote(request))
    if wait:
        return _password_page(request, 429, f"失败次数过多,请 {int(wait) + 1} 秒后再试")
    db = request.app[DB]
    if await users.authenticate(db, user.username, str(form.get("password", ""))) is None:
        limiter.failed(user.username, remote(request))
        return _password_page(request, 400, "当前密码不正确")
    limiter.succeeded(user.username, remote(request))
    if new != again:
        return _password_page(request, 400, "两次输入的新密码不一致")
    try:
        await users.set_password(
            db,
            user.username,
            new,
            now=now(request),
            actor=user.username,
            keep_session=request.cookies.get(SESSION_COOKIE, ""),
        )
    except users.UserRefused as exc:
        return _password_page(request, 400, str(exc))
    return _password_page(request, message="密码已修改,其他设备上的登录已退出")

"""The aiohttp application: middlewares (errors, security headers, authentication and CSRF),
the console's pages, the JSON API and the static files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from govmedia.web import api, pages
from govmedia.web.auth import Handler, auth_middleware, is_api
from govmedia.web.cache import AuthCache, ReadCache
from govmedia.web.errors import Problem
from govmedia.web.keys import AUTH, CACHE, CONFIG, DB, LIMITER, NOW, SESSION_LIFETIME, SETTINGS
from govmedia.web.ratelimit import LoginLimiter
from govmedia.web.settings import WebSettings
from registry import scoped
from registry.db import Database
from registry.times import SHANGHAI

log = structlog.get_logger(__name__)
STATIC = Path(__file__).with_name("static")
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
}


def _problem_response(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if is_api(request):
        return api.reply({"error": message, "status": status}, status=status)
    return pages.error_page(request, status, message)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except Problem as problem:
        response = _problem_response(request, problem.status, problem.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        messages = {404: "页面或接口不存在", 405: "不支持该请求方法", 413: "请求体过大"}
        response = _problem_response(request, exc.status, messages.get(exc.status, exc.reason))
    except Exception:
        log.exception("web.unhandled", path=request.path, method=request.method)
        response = _problem_response(request, 500, "服务器内部错误,已记录日志")
    for key, value in _HEADERS.items():
        response.headers.setdefault(key, value)
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def favicon(_request: web.Request) -> web.Response:
    return web.Response(status=204)


async def _close_cache(app: web.Application) -> None:
    app[CACHE].close()


def create_app(
    db: Database,
    settings: dict[str, Any],
    *,
    now: Callable[[], datetime] | None = None,
) -> web.Application:
    """The console and API over ``db``; ``settings`` is the loaded configuration (all tables)."""
    web_settings = WebSettings.from_config(settings)
    app = web.Application(
        middlewares=[error_middleware, auth_middleware], client_max_size=2 * 1024 * 1024
    )
    app[DB] = db
    app[CONFIG] = settings
    app[SETTINGS] = web_settings
    app[NOW] = now or (lambda: datetime.now(SHANGHAI))
    app[LIMITER] = LoginLimiter(web_settings.login_max_attempts, web_settings.login_window_s)
    app[CACHE] = ReadCache(
        web_settings.dashboard_cache_s,
        web_settings.list_cache_s,
        reader=scoped.LoopReader.for_database(db),
    )
    app[AUTH] = AuthCache(web_settings.auth_cache_s)
    app[SESSION_LIFETIME] = timedelta(hours=web_settings.session_hours)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_routes(api.routes)
    app.router.add_routes(pages.routes)
    app.router.add_static("/static/", STATIC, name="static")
    app.on_cleanup.append(_close_cache)
    for name in pages.ENV.list_templates(extensions=["html"]):
        pages.ENV.get_template(name)  # compiled now rather than by the first requests
    return app

"""What every page shares: the Jinja2 environment (autoescaped, templates compiled once),
rendering with the user and CSRF token, and small request helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict
from urllib.parse import urlencode, urlsplit

import jinja2
from aiohttp import web

from govmedia.web.keys import NOW, SESSION, USER
from monitor.quarter import Quarter
from registry.scope import ROLE_LABELS
from registry.times import SHANGHAI

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("govmedia.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    auto_reload=False,  # templates are package data: compiled once, never checked for changes
)


def _local(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


ENV.filters["local"] = _local
ENV.filters["percent"] = percent


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    session = request.get(SESSION)
    user = request.get(USER)
    page = ENV.get_template(template).render(
        user=user,
        role_label=ROLE_LABELS[user.role] if user else "",
        csrf_token=session.csrf_token if session else "",
        path=request.path,
        **context,
    )
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "error.html", status=status, status_code=status, message=message)


def now(request: web.Request) -> datetime:
    current: datetime = request.app[NOW]()
    return current


def this_quarter(request: web.Request) -> Quarter:
    return Quarter.of(now(request).astimezone(SHANGHAI).date())


def safe_next(target: str) -> str:
    """``target`` when it is a path of this site, else ``/``. Browsers drop tabs and newlines
    and read a backslash as a slash, so ``/\t/host`` would lead to another site."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


class Pager(TypedDict):
    prev_url: str
    next_url: str


def pager(path: str, query: dict[str, Any], page: int, pages: int) -> Pager:
    """``prev_url`` and ``next_url`` of a listing's page ("" at either end)."""

    def url(number: int) -> str:
        return f"{path}?{urlencode({**query, 'page': number})}"

    return Pager(
        prev_url=url(page - 1) if page > 1 else "",
        next_url=url(page + 1) if page < pages else "",
    )

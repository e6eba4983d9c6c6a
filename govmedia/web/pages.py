"""The console: server-rendered pages (Jinja2, autoescaped), forms with CSRF tokens, downloads.
Every handler reads through ``registry.scoped`` with the user's scope. One module per family of
pages; this one gathers their routes."""

from __future__ import annotations

from aiohttp import web

from govmedia.web import (
    pages_accounts,
    pages_audit,
    pages_dashboard,
    pages_exports,
    pages_ledger,
    pages_login,
)
from govmedia.web.rendering import ENV, error_page, render

__all__ = ["ENV", "error_page", "render", "routes"]

routes: list[web.AbstractRouteDef] = [
    *pages_login.routes,
    *pages_dashboard.routes,
    *pages_accounts.routes,
    *pages_ledger.routes,
    *pages_exports.routes,
    *pages_audit.routes,
]

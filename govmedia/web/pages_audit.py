"""The audit log (操作日志): who changed what, when and from where, newest first.

It names every user and account, so only users whose scope covers the whole registry read it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from govmedia.web import params
from govmedia.web.auth import scope_of
from govmedia.web.errors import bad_request, forbidden
from govmedia.web.keys import DB
from govmedia.web.rendering import render
from registry import scoped, users
from registry.times import SHANGHAI

routes = web.RouteTableDef()
PAGE_SIZE = 100


def _detail(detail: dict[str, Any]) -> str:
    return "；".join(
        f"{key}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for key, value in detail.items()
    )


def _account_link(target: str) -> str:
    kind, _, number = target.partition(":")
    return f"/accounts/{number}" if kind == "account" and number.isdigit() else ""


@routes.get("/audit")
async def audit_page(request: web.Request) -> web.Response:
    db = request.app[DB]
    if not await scoped.covers_everything(db, scope_of(request)):
        raise forbidden("操作日志涉及全部用户和账号,仅向管理范围覆盖全部账号的用户开放")
    actor = request.query.get("actor", "").strip()[:100]
    action = request.query.get("action", "").strip()
    if action and action not in users.ACTION_LABELS:
        raise bad_request(f"未知的操作类型 '{action}'")
    before = params.integer(request.query, "before", 0, 0, 2**62) or None
    rows = await users.audit_entries(
        db, limit=PAGE_SIZE + 1, before=before, actor=actor or None, action=action or None
    )
    filters = {k: v for k, v in {"actor": actor, "action": action}.items() if v}
    older = ""
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        older = f"/audit?{urlencode({**filters, 'before': rows[-1]['id']})}"
    entries = [
        {
            **row,
            "time": row["at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
            "label": users.ACTION_LABELS.get(row["action"], row["action"]),
            "detail_text": _detail(row["detail"] or {}),
            "link": _account_link(row["target"]),
        }
        for row in rows
    ]
    return render(
        request,
        "audit.html",
        entries=entries,
        actor=actor,
        action=action,
        labels=users.ACTION_LABELS,
        older_url=older,
        newest_url=f"/audit?{urlencode(filters)}" if before else "",
    )

"""The JSON API under ``/api/`` (documented in ``openapi.yaml``): thin handlers over the
registry, every one scope-checked. Errors are ``{"error": message}`` with an HTTP status."""

from __future__ import annotations

import json
from datetime import date, datetime
from importlib import resources
from typing import Any

from aiohttp import web

from govmedia.web import actions, params
from govmedia.web.auth import current_user, remote, scope_of
from govmedia.web.errors import bad_request, not_found
from govmedia.web.keys import CACHE, DB, NOW, SETTINGS
from monitor.quarter import Quarter
from registry import scoped
from registry.times import SHANGHAI

routes = web.RouteTableDef()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def reply(document: Any, status: int = 200) -> web.Response:
    return web.json_response(
        document,
        status=status,
        dumps=lambda d: json.dumps(d, ensure_ascii=False, default=_default),
    )


async def body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise bad_request("请求体应为 JSON (Content-Type: application/json)")
    try:
        document = await request.json()
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, a huge number, deep nesting
        raise bad_request(f"JSON 格式错误: {str(exc)[:200]}") from exc
    if not isinstance(document, dict):
        raise bad_request("请求体应为 JSON 对象")
    return document


def _text(document: dict[str, Any], key: str) -> str:
    value = document.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_request(f"{key}: 应为字符串")
    return value


def _now(request: web.Request) -> datetime:
    now: datetime = request.app[NOW]()
    return now


def _this_quarter(request: web.Request) -> Quarter:
    return Quarter.of(_now(request).astimezone(SHANGHAI).date())


@routes.get("/api/openapi.yaml")
async def openapi(request: web.Request) -> web.Response:
    text = resources.files("govmedia.web").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return web.Response(text=text, content_type="application/yaml")


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    user = current_user(request)
    return reply({**user.as_json(), "can_write": user.scope.can_write})


@routes.get("/api/accounts")
async def list_accounts(request: web.Request) -> web.Response:
    filters = params.account_filters(request.query)
    page, per_page = params.paging(request.query, request.app[SETTINGS].page_size)
    result = await request.app[CACHE].account_page(
        request.app[DB], scope_of(request), filters, page=page, per_page=per_page
    )
    return reply(result.as_json())


@routes.get("/api/accounts/{ref}")
async def show_account(request: web.Request) -> web.Response:
    record, activity = await actions.account_view(
        request.app[DB], scope_of(request), request.match_info["ref"]
    )
    return reply(
        {
            "id": record.pk,
            "account": record.fields,
            "filings": [f.as_json() for f in record.filings],
            "inspections": activity["inspections"],
            "ledger": activity["ledger"],
        }
    )


@routes.post("/api/filings")
async def create_filing(request: web.Request) -> web.Response:
    document = await body(request)
    fields = document.get("fields") or {}
    if not isinstance(fields, dict):
        raise bad_request("fields 应为对象 (字段名: 值)")
    receipt = await actions.file(
        request.app[DB],
        current_user(request),
        _now(request),
        kind=_text(document, "kind"),
        account=_text(document, "account"),
        fields=fields,
        effective_on=_text(document, "effective_on"),
        doc_no=_text(document, "doc_no"),
        reason=_text(document, "reason"),
        remote=remote(request),
    )
    request.app[CACHE].clear()
    return reply(
        {
            "account": receipt.account_pk,
            "kind": receipt.kind.value,
            "changes": {k: {"old": o, "new": n} for k, (o, n) in receipt.changes.items()},
            "warnings": receipt.warnings,
        },
        status=201,
    )


@routes.post("/api/reviews")
async def create_review(request: web.Request) -> web.Response:
    document = await body(request)
    pk, added = await actions.submit_review(
        request.app[DB], current_user(request), _now(request), document, remote=remote(request)
    )
    return reply({"account": pk, "added": added}, status=201 if added else 200)


@routes.get("/api/ledger")
async def list_ledger(request: web.Request) -> web.Response:
    quarter = request.query.get("quarter", "").strip()
    if quarter:
        quarter = str(params.quarter(request.query, _this_quarter(request)))
    page, per_page = params.paging(request.query, request.app[SETTINGS].page_size)
    result = await scoped.ledger_page(
        request.app[DB],
        scope_of(request),
        quarter=quarter,
        status=params.ledger_status(request.query),
        page=page,
        per_page=per_page,
    )
    return reply(result.as_json())


def _entry_id(request: web.Request) -> int:
    text = request.match_info["entry_id"]
    if not params.is_number(text):
        raise bad_request("台账编号应为整数")
    return int(text)


@routes.get("/api/ledger/{entry_id}")
async def show_entry(request: web.Request) -> web.Response:
    entry = await scoped.entry_in_scope(request.app[DB], scope_of(request), _entry_id(request))
    if entry is None:
        raise not_found()
    return reply(entry)


@routes.post("/api/ledger/{entry_id}/feedback")
async def ledger_feedback(request: web.Request) -> web.Response:
    document = await body(request)
    done = await actions.feedback(
        request.app[DB],
        current_user(request),
        _now(request),
        _entry_id(request),
        status=_text(document, "status"),
        note=_text(document, "note"),
        remote=remote(request),
    )
    request.app[CACHE].clear()
    return reply(
        {
            "entry_id": done.entry_id,
            "from": done.old.value,
            "to": done.new.value,
            "digest": done.digest,
        }
    )


@routes.get("/api/sample")
async def sample(request: web.Request) -> web.Response:
    quarter = params.quarter(request.query, _this_quarter(request))
    result = await scoped.scoped_sample(request.app[DB], scope_of(request), str(quarter))
    if result is None:
        raise not_found(f"{quarter} 尚未抽样")
    return reply(result)


@routes.get("/api/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    quarter = params.quarter(request.query, _this_quarter(request))
    figures = await request.app[CACHE].dashboard(request.app[DB], scope_of(request), str(quarter))
    return reply(figures)

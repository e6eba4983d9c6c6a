"""Downloads: the inventory, the ledger and the bulletin, each narrowed to the scope."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from govmedia.web import params
from govmedia.web.auth import scope_of
from govmedia.web.errors import bad_request, forbidden, not_found
from govmedia.web.keys import CONFIG, DB
from govmedia.web.rendering import now, render, this_quarter
from registry import scoped
from registry.inventory import export_inventory
from registry.times import SHANGHAI

routes = web.RouteTableDef()


@routes.get("/exports")
async def exports_page(request: web.Request) -> web.Response:
    bulletin = not scope_of(request).is_unit
    return render(request, "exports.html", quarter=this_quarter(request), bulletin=bulletin)


async def _bulletin_region(request: web.Request) -> str | None:
    """The region a user's bulletin covers: None for the whole registry."""
    scope = scope_of(request)
    if scope.is_unit:
        raise forbidden("通报按行政区划编制,运维(主办)单位请下载整改台账")
    if await scoped.covers_everything(request.app[DB], scope):
        return None
    return scope.value


def _download(path: Path, name: str, content_type: str) -> web.Response:
    data = path.read_bytes()
    return web.Response(
        body=data,
        content_type=content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def _format(request: web.Request, allowed: tuple[str, ...]) -> str:
    fmt = request.query.get("format", allowed[0]).strip().lower()
    if fmt not in allowed:
        raise bad_request(f"格式应为 {'、'.join(allowed)} 之一")
    return fmt


@routes.get("/exports/accounts")
async def export_accounts(request: web.Request) -> web.Response:
    fmt = _format(request, ("csv", "xlsx", "json"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"accounts.{fmt}"
        await export_inventory(request.app[DB], path, fmt, where=scope_of(request).clause())
        return _download(path, f"账号清单.{fmt}", _TYPES[fmt])


@routes.get("/exports/ledger")
async def export_ledger(request: web.Request) -> web.Response:
    from monitor.ledger_export import export_ledger as write_ledger

    fmt = _format(request, ("xlsx", "csv", "json"))
    quarter = params.quarter(request.query, this_quarter(request))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"ledger.{fmt}"
        await write_ledger(
            request.app[DB],
            path,
            fmt,
            quarter=str(quarter),
            now=now(request),
            where=scope_of(request).clause(),
        )
        return _download(path, f"整改台账-{quarter}.{fmt}", _TYPES[fmt])


@routes.get("/exports/bulletin")
async def export_bulletin(request: web.Request) -> web.Response:
    from monitor.report import ReportRefused, write_report
    from monitor.workdays import DeadlineRule

    region = await _bulletin_region(request)
    fmt = _format(request, ("html", "docx"))
    quarter = params.quarter(request.query, this_quarter(request))
    rule = DeadlineRule.from_config(request.app[CONFIG])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"bulletin.{fmt}"
        try:
            await write_report(
                request.app[DB],
                path,
                quarter,
                issued=now(request).astimezone(SHANGHAI).date(),
                rule=rule,
                region=region,
            )
        except ReportRefused as exc:
            raise not_found(str(exc)) from exc
        return _download(path, f"通报-{region or '全部'}-{quarter}.{fmt}", _TYPES[fmt])

"""The console: server-rendered pages (Jinja2, autoescaped), forms with CSRF tokens, downloads.
Every handler reads through ``registry.scoped`` with the user's scope."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from aiohttp import web

from govmedia.web import actions, params
from govmedia.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    current_user,
    login_csrf_ok,
    new_login_csrf,
    remote,
    scope_of,
)
from govmedia.web.errors import Problem, bad_request, forbidden, not_found
from govmedia.web.keys import (
    CACHE,
    CONFIG,
    DB,
    LIMITER,
    NOW,
    SESSION,
    SESSION_LIFETIME,
    SETTINGS,
    USER,
)
from monitor.cities import city_name
from monitor.quarter import Quarter
from monitor.report_chart import svg_bars
from monitor.sampling import REASON_LABELS
from registry import scoped, tabular, users
from registry.fields import FIELDS, PLATFORMS, Status
from registry.ledger_status import MANUAL_TRANSITIONS, LedgerStatus
from registry.scope import ROLE_LABELS
from registry.times import SHANGHAI

routes = web.RouteTableDef()
KIND_LABELS = {key: kind.value for key, kind in actions.KINDS.items()}

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("govmedia.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _local(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


ENV.filters["local"] = _local
ENV.filters["percent"] = _percent


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


def _now(request: web.Request) -> datetime:
    now: datetime = request.app[NOW]()
    return now


def _this_quarter(request: web.Request) -> Quarter:
    return Quarter.of(_now(request).astimezone(SHANGHAI).date())


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


# --- login ----------------------------------------------------------------------------------


def _login_page(request: web.Request, status: int = 200, message: str = "") -> web.Response:
    # reuse the token already in the browser: a second login page (another tab, a redirected
    # request for an icon) must not invalidate the form already shown
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "") or new_login_csrf()
    response = render(
        request,
        "login.html",
        status=status,
        login_csrf=token,
        next=_safe_next(request.query.get("next", "/")),
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
            _now(request),
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
        now=_now(request),
        lifetime=request.app[SESSION_LIFETIME],
        remote=remote(request),
    )
    response = web.HTTPSeeOther(_safe_next(str(form.get("next", "/"))))
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
        now=_now(request),
        actor=user.username,
    )
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


# --- dashboard ------------------------------------------------------------------------------


def _charts(figures: dict[str, Any], city_labels: dict[str, str]) -> list[str]:
    def rate_items(
        rows: list[dict[str, Any]], labels: dict[str, str]
    ) -> list[tuple[str, float, str]]:
        return [
            (labels.get(r["key"], r["key"]), (r["rate"] or 0) * 100, _percent(r["rate"]))
            for r in rows
            if r["inspected"]
        ]

    return [
        svg_bars(
            "各平台合格率",
            rate_items(figures["pass_rate_by_platform"], {}),
            maximum=100,
        ),
        svg_bars(
            "各市(州)合格率",
            rate_items(figures["pass_rate_by_city"], city_labels),
            maximum=100,
        ),
        svg_bars(
            "问题类别(条)",
            [(p["label"], p["count"], str(p["count"])) for p in figures["problems"]],
            maximum=max([p["count"] for p in figures["problems"]] or [0]),
        ),
        svg_bars(
            "正常账号平台分布",
            [
                (k, v, str(v))
                for k, v in sorted(figures["active_by_platform"].items(), key=lambda i: -i[1])
            ],
            maximum=max(figures["active_by_platform"].values() or [0]),
        ),
    ]


@routes.get("/")
async def dashboard(request: web.Request) -> web.Response:
    quarter = params.quarter(request.query, _this_quarter(request))
    figures = await request.app[CACHE].dashboard(request.app[DB], scope_of(request), str(quarter))
    city_labels = {
        r["key"]: city_name(r["key"], figures["city_sponsors"].get(r["key"], ()))
        for r in figures["pass_rate_by_city"]
    }
    return render(
        request,
        "dashboard.html",
        quarter=quarter,
        f=figures,
        city_labels=city_labels,
        charts=_charts(figures, city_labels),
    )


# --- inventory and accounts -----------------------------------------------------------------


@routes.get("/accounts")
async def inventory(request: web.Request) -> web.Response:
    filters = params.account_filters(request.query)
    page, per_page = params.paging(request.query, request.app[SETTINGS].page_size)
    result = await scoped.search_accounts(
        request.app[DB], scope_of(request), **filters, page=page, per_page=per_page
    )
    base = {k: v for k, v in filters.items() if v}
    return render(
        request,
        "accounts.html",
        result=result,
        filters=filters,
        platforms=PLATFORMS,
        statuses=[s.value for s in Status],
        prev_url=f"/accounts?{urlencode({**base, 'page': page - 1})}" if page > 1 else "",
        next_url=(
            f"/accounts?{urlencode({**base, 'page': page + 1})}" if page < result.pages else ""
        ),
    )


@routes.get("/accounts/{pk:\\d+}")
async def account_page(request: web.Request) -> web.Response:
    db = request.app[DB]
    record = await scoped.account_in_scope(db, scope_of(request), request.match_info["pk"])
    if record is None:
        raise not_found()
    activity = await scoped.account_activity(db, record.pk)
    return render(
        request,
        "account.html",
        record=record,
        fields=FIELDS,
        activity=activity,
        notice=request.query.get("notice", ""),
        kinds=KIND_LABELS,
    )


def _form_context(
    request: web.Request, kind: str, account: str, values: dict[str, str]
) -> dict[str, Any]:
    return {
        "kind": kind,
        "kind_label": KIND_LABELS[kind],
        "kinds": KIND_LABELS,
        "account": account,
        "values": values,
        "fields": FIELDS,
        "platforms": PLATFORMS,
        "today": _now(request).astimezone(SHANGHAI).date().isoformat(),
    }


@routes.get("/filings/new")
async def filing_form(request: web.Request) -> web.Response:
    kind = actions.parse_kind(request.query.get("kind", "open"))
    account = request.query.get("account", "").strip()
    values: dict[str, str] = {}
    if kind != "open":
        record = await scoped.account_in_scope(request.app[DB], scope_of(request), account)
        if record is None:
            raise not_found()
        values = dict(record.fields)
    elif scope_of(request).is_unit:
        values = {"sponsor": scope_of(request).value}
    return render(request, "filing.html", **_form_context(request, kind, account, values))


@routes.post("/filings")
async def filing_submit(request: web.Request) -> web.Response:
    form = await request.post()
    kind = actions.parse_kind(str(form.get("kind", "")))
    account = str(form.get("account", "")).strip()
    keys = {f.key for f in FIELDS}
    fields = {k: str(form.get(k, "")) for k in keys if str(form.get(k, "")).strip()}
    if kind == "change":
        current = await scoped.account_in_scope(request.app[DB], scope_of(request), account)
        if current is not None:  # the form shows every field; file only what differs
            fields = {k: v for k, v in fields.items() if current.fields.get(k, "") != v.strip()}
    elif kind != "open":
        fields = {}
    try:
        receipt = await actions.file(
            request.app[DB],
            current_user(request),
            _now(request),
            kind=kind,
            account=account,
            fields=fields,
            effective_on=str(form.get("effective_on", "")),
            doc_no=str(form.get("doc_no", "")),
            reason=str(form.get("reason", "")),
            remote=remote(request),
        )
    except Problem as problem:
        context = _form_context(request, kind, account, {k: str(form.get(k, "")) for k in keys})
        return render(
            request, "filing.html", status=problem.status, error=problem.message, **context
        )
    request.app[CACHE].clear()
    notice = f"已备案: {receipt.kind.value}" + (
        ";提示: " + ";".join(receipt.warnings) if receipt.warnings else ""
    )
    raise web.HTTPSeeOther(f"/accounts/{receipt.account_pk}?notice={quote(notice)}")


# --- sample and ledger ----------------------------------------------------------------------


@routes.get("/sample")
async def sample_page(request: web.Request) -> web.Response:
    quarter = params.quarter(request.query, _this_quarter(request))
    sample = await scoped.scoped_sample(request.app[DB], scope_of(request), str(quarter))
    labels = {str(r): label for r, label in REASON_LABELS.items()}
    return render(request, "sample.html", quarter=quarter, sample=sample, reason_labels=labels)


@routes.get("/ledger")
async def ledger_page(request: web.Request) -> web.Response:
    quarter = request.query.get("quarter", "").strip()
    if quarter:
        quarter = str(params.quarter(request.query, _this_quarter(request)))
    status = params.ledger_status(request.query)
    page, per_page = params.paging(request.query, request.app[SETTINGS].page_size)
    result = await scoped.ledger_page(
        request.app[DB],
        scope_of(request),
        quarter=quarter,
        status=status,
        page=page,
        per_page=per_page,
    )
    base = {k: v for k, v in {"quarter": quarter, "status": status}.items() if v}
    allowed = {s.value: sorted(t.value for t in MANUAL_TRANSITIONS[s]) for s in LedgerStatus}
    return render(
        request,
        "ledger.html",
        result=result,
        quarter=quarter,
        selected_status=status,
        statuses=[s.value for s in LedgerStatus],
        allowed=allowed,
        notice=request.query.get("notice", ""),
        error=request.query.get("error", ""),
        prev_url=f"/ledger?{urlencode({**base, 'page': page - 1})}" if page > 1 else "",
        next_url=f"/ledger?{urlencode({**base, 'page': page + 1})}" if page < result.pages else "",
    )


@routes.post("/ledger/{entry_id:\\d+}")
async def ledger_update(request: web.Request) -> web.Response:
    form = await request.post()
    entry_id = int(request.match_info["entry_id"])
    back = _safe_next(str(form.get("back", "/ledger")))
    try:
        done = await actions.feedback(
            request.app[DB],
            current_user(request),
            _now(request),
            entry_id,
            status=str(form.get("status", "")),
            note=str(form.get("note", "")),
            remote=remote(request),
        )
    except Problem as problem:
        if problem.status == 400:
            sep = "&" if "?" in back else "?"
            raise web.HTTPSeeOther(f"{back}{sep}error={quote(problem.message)}") from problem
        raise
    request.app[CACHE].clear()
    notice = f"台账条目 #{done.entry_id}: {done.old.value} → {done.new.value}"
    sep = "&" if "?" in back else "?"
    raise web.HTTPSeeOther(f"{back}{sep}notice={quote(notice)}")


# --- exports --------------------------------------------------------------------------------


@routes.get("/exports")
async def exports_page(request: web.Request) -> web.Response:
    whole = await scoped.covers_everything(request.app[DB], scope_of(request))
    return render(request, "exports.html", quarter=_this_quarter(request), bulletin=whole)


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
    rows = await scoped.export_rows(request.app[DB], scope_of(request))
    headers = [f.header for f in FIELDS]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"accounts.{fmt}"
        if fmt == "csv":
            tabular.write_csv(path, headers, rows)
        elif fmt == "xlsx":
            tabular.write_xlsx(path, headers, rows, title="账号清单")
        else:
            keys = [f.key for f in FIELDS]
            tabular.write_json(path, [dict(zip(keys, r, strict=True)) for r in rows])
        return _download(path, f"账号清单.{fmt}", _TYPES[fmt])


@routes.get("/exports/ledger")
async def export_ledger(request: web.Request) -> web.Response:
    from monitor.ledger_export import export_ledger as write_ledger

    fmt = _format(request, ("xlsx", "csv", "json"))
    quarter = params.quarter(request.query, _this_quarter(request))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"ledger.{fmt}"
        await write_ledger(
            request.app[DB],
            path,
            fmt,
            quarter=str(quarter),
            now=_now(request),
            where=scope_of(request).clause(),
        )
        return _download(path, f"整改台账-{quarter}.{fmt}", _TYPES[fmt])


@routes.get("/exports/bulletin")
async def export_bulletin(request: web.Request) -> web.Response:
    from monitor.report import write_report
    from monitor.workdays import DeadlineRule

    if not await scoped.covers_everything(request.app[DB], scope_of(request)):
        raise forbidden("通报涵盖全部账号,仅向管理范围覆盖全部账号的用户提供")
    fmt = _format(request, ("html", "docx"))
    quarter = params.quarter(request.query, _this_quarter(request))
    rule = DeadlineRule.from_config(request.app[CONFIG])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"bulletin.{fmt}"
        await write_report(
            request.app[DB],
            path,
            quarter,
            issued=_now(request).astimezone(SHANGHAI).date(),
            rule=rule,
        )
        return _download(path, f"通报-{quarter}.{fmt}", _TYPES[fmt])

"""The inventory (search, filters, pages), one account with its history, and the filing forms."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from checks.codes import PROBLEM_LABELS
from govmedia.web import actions, params
from govmedia.web.auth import current_user, remote, scope_of
from govmedia.web.errors import Problem, not_found
from govmedia.web.keys import CACHE, DB, SETTINGS
from govmedia.web.rendering import now, pager, render
from monitor.inspect_account import INCOMPLETE_LABELS
from registry import scoped
from registry.fields import FIELDS, PLATFORMS, Status
from registry.times import SHANGHAI

KIND_LABELS = {key: kind.value for key, kind in actions.KINDS.items()}

routes = web.RouteTableDef()


@routes.get("/accounts")
async def inventory(request: web.Request) -> web.Response:
    filters = params.account_filters(request.query)
    page, per_page = params.paging(request.query, request.app[SETTINGS].page_size)
    result = await request.app[CACHE].account_page(
        request.app[DB], scope_of(request), filters, page=page, per_page=per_page
    )
    return render(
        request,
        "accounts.html",
        result=result,
        filters=filters,
        platforms=PLATFORMS,
        statuses=[s.value for s in Status],
        **pager("/accounts", filters.as_query(), page, result.pages),
    )


@routes.get("/accounts/{pk:[0-9]{1,18}}")
async def account_page(request: web.Request) -> web.Response:
    record, activity = await actions.account_view(
        request.app[DB], scope_of(request), request.match_info["pk"]
    )
    return render(
        request,
        "account.html",
        record=record,
        fields=FIELDS,
        headers={f.key: f.header for f in FIELDS},
        problem_labels=PROBLEM_LABELS,
        reason_labels=INCOMPLETE_LABELS,
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
        "today": now(request).astimezone(SHANGHAI).date().isoformat(),
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
            shown = {k: str(form[k]) for k in keys if k in form}  # a field emptied is cleared
            fields = {k: v for k, v in shown.items() if current.fields.get(k, "") != v.strip()}
    elif kind != "open":
        fields = {}
    try:
        receipt = await actions.file(
            request.app[DB],
            current_user(request),
            now(request),
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

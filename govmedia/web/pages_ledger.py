"""The quarter's sample and the rectification ledger, with feedback on an entry."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from govmedia.web import actions, params
from govmedia.web.auth import current_user, remote, scope_of
from govmedia.web.errors import Problem
from govmedia.web.keys import CACHE, DB, SETTINGS
from govmedia.web.rendering import now, pager, render, safe_next, this_quarter
from monitor.sampling import REASON_LABELS
from registry import scoped
from registry.ledger_status import MANUAL_TRANSITIONS, LedgerStatus

routes = web.RouteTableDef()


@routes.get("/sample")
async def sample_page(request: web.Request) -> web.Response:
    quarter = params.quarter(request.query, this_quarter(request))
    sample = await scoped.scoped_sample(request.app[DB], scope_of(request), str(quarter))
    labels = {str(r): label for r, label in REASON_LABELS.items()}
    return render(request, "sample.html", quarter=quarter, sample=sample, reason_labels=labels)


@routes.get("/ledger")
async def ledger_page(request: web.Request) -> web.Response:
    quarter = request.query.get("quarter", "").strip()
    if quarter:
        quarter = str(params.quarter(request.query, this_quarter(request)))
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
        **pager("/ledger", base, page, result.pages),
    )


@routes.post("/ledger/{entry_id:[0-9]{1,18}}")
async def ledger_update(request: web.Request) -> web.Response:
    form = await request.post()
    entry_id = int(request.match_info["entry_id"])
    back = safe_next(str(form.get("back", "/ledger")))
    try:
        done = await actions.feedback(
            request.app[DB],
            current_user(request),
            now(request),
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

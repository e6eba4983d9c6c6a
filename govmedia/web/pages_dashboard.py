"""The dashboard: the figures of the user's scope for a quarter, with bar charts."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from govmedia.web import params
from govmedia.web.auth import scope_of
from govmedia.web.keys import CACHE, DB
from govmedia.web.rendering import percent, render, this_quarter
from monitor.cities import city_name
from monitor.report_chart import svg_bars

routes = web.RouteTableDef()


def _charts(figures: dict[str, Any], city_labels: dict[str, str]) -> list[str]:
    def rate_items(
        rows: list[dict[str, Any]], labels: dict[str, str]
    ) -> list[tuple[str, float, str]]:
        return [
            (labels.get(r["key"], r["key"]), (r["rate"] or 0) * 100, percent(r["rate"]))
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
    quarter = params.quarter(request.query, this_quarter(request))
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

"""``govmedia report``: the draft quarterly bulletin (通报) as HTML or .docx.

The shape follows the bulletins offices publish: 一、总体情况 (population, sample, pass rate by
platform and by city, with a chart); 二、存在的问题 (veto items first, accounts and sponsors
named); 三、上季度问题整改情况 (entries still not rectified); 四、工作要求 (the deadline for
rectification reports); 附件 (the problem accounts).
"""

from __future__ import annotations

from datetime import date
from html import escape
from pathlib import Path

from sqlalchemy import select

from monitor.quarter import Quarter
from monitor.report_chart import svg_bars
from monitor.report_data import (
    VETO,
    Bulletin,
    Rate,
    deadline_sentence,
    gather,
    no_problems_sentence,
    nothing_carried_sentence,
    percent,
    summary_sentence,
)
from monitor.workdays import DeadlineRule
from registry.db import Database
from registry.errors import Refused
from registry.queries import region_prefix
from registry.schema import accounts
from registry.scope import prefix_clause

FORMATS = ("html", "docx")
SECTION_TITLES = ("一、总体情况", "二、存在的问题", "三、上季度问题整改情况", "四、工作要求")


def title(bulletin: Bulletin) -> str:
    return f"关于{bulletin.area}{bulletin.quarter.label}政务新媒体检查情况的通报"


def veto_heading(severity: str) -> str:
    return "单项否决问题" if severity == VETO else "其他严重问题"


async def _any_account_in(db: Database, region: str) -> bool:
    """Whether the region has a registered account, whatever its status."""
    query = select(accounts.c.id).where(prefix_clause(region_prefix(region))).limit(1)
    async with db.read() as conn:
        return (await conn.execute(query)).first() is not None


class ReportRefused(Refused):
    """No bulletin can be drafted for what was asked; the message says why, in Chinese."""


async def write_report(
    db: Database,
    path: Path,
    quarter: Quarter,
    *,
    issued: date,
    rule: DeadlineRule,
    region: str | None = None,
) -> Bulletin:
    """Gather the quarter's figures (of ``region``'s accounts only, when given) and write the
    bulletin in the format of ``path``'s suffix."""
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown bulletin format {fmt!r}")
    if quarter.start > issued:
        raise ReportRefused(f"{quarter.label} 尚未开始,无法起草通报")
    if region and not await _any_account_in(db, region):
        raise ReportRefused(f"行政区划 {region} 下没有登记的账号,无法起草通报")
    bulletin = await gather(db, quarter, issued=issued, rule=rule, region=region)
    if fmt == "html":
        path.write_text(render_html(bulletin), encoding="utf-8")
    else:
        from monitor.report_docx import write_docx

        write_docx(bulletin, path)
    return bulletin


def _rate_rows(rates: list[Rate]) -> str:
    return "".join(
        f"<tr><td>{escape(r.label)}</td><td>{r.inspected}</td><td>{r.passed}</td>"
        f"<td>{r.failed}</td><td>{percent(r.rate)}</td></tr>"
        for r in rates
    )


def _rate_table(caption: str, first: str, rates: list[Rate]) -> str:
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr><th>{first}</th><th>检查数</th>"
        f"<th>合格</th><th>不合格</th><th>合格率</th></tr></thead><tbody>{_rate_rows(rates)}"
        "</tbody></table>"
    )


def charts_svg(bulletin: Bulletin) -> list[str]:
    rates = [(r.label, (r.rate or 0) * 100, percent(r.rate)) for r in bulletin.by_platform]
    counts = [(label, float(n), f"{n} 个") for label, n in bulletin.problem_counts()]
    return [
        svg_bars("图1 各平台合格率", rates, maximum=100),
        svg_bars(
            "图2 问题账号数(按问题类别)", counts, maximum=max((c[1] for c in counts), default=0)
        ),
    ]


def _problems_html(bulletin: Bulletin) -> str:
    if not bulletin.problems:
        return f"<p>{no_problems_sentence(bulletin)}</p>"
    parts = []
    for severity, number in ((VETO, "(一)"), ("serious", "(二)")):
        groups = [g for g in bulletin.problems if (g.severity == VETO) == (severity == VETO)]
        if not groups:
            continue
        parts.append(f"<h3>{number}{veto_heading(severity)}</h3>")
        for group in groups:
            names = "、".join(
                f"“{escape(e.account_name)}”({escape(e.platform)},{escape(e.sponsor)})"
                for e in group.entries
            )
            parts.append(
                f'<p class="problem"><b>{escape(group.label)}</b>({len(group.entries)} 个):{names}。</p>'
            )
    return "".join(parts)


def _carried_html(bulletin: Bulletin) -> str:
    previous = bulletin.quarter.previous().label
    if not bulletin.carried_over:
        return f"<p>{nothing_carried_sentence(bulletin)}</p>"
    rows = "".join(
        f"<tr><td>{e.entry_id}</td><td>{escape(e.account_name)}</td><td>{escape(e.platform)}</td>"
        f"<td>{escape(e.sponsor)}</td><td>{escape(e.problem_label)}</td><td>{e.deadline}</td>"
        f"<td>{escape(e.status)}</td></tr>"
        for e in bulletin.carried_over
    )
    return (
        f"<p>{previous}通报的问题中,仍有 {len(bulletin.carried_over)} 项未整改销号,现再次点名:</p>"
        "<table><thead><tr><th>编号</th><th>账号名称</th><th>平台</th><th>主办单位</th>"
        f"<th>问题类别</th><th>整改时限</th><th>整改状态</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _annex_html(bulletin: Bulletin) -> str:
    rows = "".join(
        f"<tr><td>{e.entry_id}</td><td>{escape(e.account_name)}</td><td>{escape(e.platform)}</td>"
        f"<td>{escape(e.sponsor)}</td><td>{escape(e.problem_label)}</td><td>{e.deadline}</td>"
        f"<td>{escape(e.status)}</td></tr>"
        for e in bulletin.entries
    )
    return (
        "<table><thead><tr><th>编号</th><th>账号名称</th><th>平台</th><th>主办单位</th>"
        f"<th>问题类别</th><th>整改时限</th><th>整改状态</th></tr></thead><tbody>{rows}</tbody></table>"
    )


_CSS = """
body { font-family: "FangSong", "仿宋", serif; max-width: 960px; margin: 2em auto; line-height: 1.7; }
h1 { text-align: center; font-family: "SimHei", "黑体", sans-serif; font-size: 1.6em; }
h2 { font-family: "SimHei", "黑体", sans-serif; font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.8em 0; width: 100%; }
th, td { border: 1px solid #888; padding: 0.2em 0.5em; text-align: left; }
caption { text-align: left; font-weight: bold; }
.draft { color: #b00; text-align: center; }
.integrity { color: #555; font-size: 0.85em; word-break: break-all; }
"""


def render_html(bulletin: Bulletin) -> str:
    charts = "".join(f"<figure>{svg}</figure>" for svg in charts_svg(bulletin))
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title(bulletin))}</title>
<style>{_CSS}</style></head><body>
<p class="draft">(草稿)</p>
<h1>{escape(title(bulletin))}</h1>
<h2>{SECTION_TITLES[0]}</h2>
<p>{escape(summary_sentence(bulletin))}</p>
{_rate_table("各平台检查情况", "平台", bulletin.by_platform)}
{_rate_table(f"各{bulletin.area_unit}检查情况", bulletin.area_unit, bulletin.by_area)}
{charts}
<h2>{SECTION_TITLES[1]}</h2>
{_problems_html(bulletin)}
<h2>{SECTION_TITLES[2]}</h2>
{_carried_html(bulletin)}
<h2>{SECTION_TITLES[3]}</h2>
<p>{escape(deadline_sentence(bulletin))}</p>
<p>{bulletin.issued.year} 年 {bulletin.issued.month} 月 {bulletin.issued.day} 日</p>
<h2>附件:问题账号清单</h2>
{_annex_html(bulletin)}
<p class="integrity">整改台账记录链头摘要: {escape(bulletin.chain_head or "(台账为空)")}</p>
</body></html>
"""

"""The bulletin as a Word document (python-docx). Charts are bars of block characters in a
table, which every Word and WPS version shows without images or fonts to install."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

from monitor.report import SECTION_TITLES, title, veto_heading
from monitor.report_chart import text_bar
from monitor.report_data import (
    VETO,
    Bulletin,
    Rate,
    deadline_sentence,
    no_problems_sentence,
    nothing_carried_sentence,
    percent,
    summary_sentence,
)

_BAR = RGBColor(0x2F, 0x6D, 0xB5)


def _font(document: Any) -> None:
    style = document.styles["Normal"]
    style.font.name = "仿宋"
    style.font.size = Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "仿宋")


def _table(document: Any, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, header in zip(table.rows[0].cells, headers, strict=True):
        cell.text = header
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for values in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, values, strict=True):
            cell.text = str(value)
    return table


def _rates(document: Any, caption: str, first: str, rates: list[Rate]) -> None:
    document.add_paragraph(caption).runs[0].bold = True
    _table(
        document,
        [first, "检查数", "合格", "不合格", "合格率"],
        [[r.label, r.inspected, r.passed, r.failed, percent(r.rate)] for r in rates],
    )


def _chart(
    document: Any, caption: str, items: Sequence[tuple[str, float, str]], maximum: float
) -> None:
    document.add_paragraph(caption).runs[0].bold = True
    if not items:
        document.add_paragraph("(无数据)")
        return
    table = document.add_table(rows=0, cols=3)
    for label, value, text in items:
        cells = table.add_row().cells
        cells[0].text = label
        run = cells[1].paragraphs[0].add_run(text_bar(value, maximum))
        run.font.color.rgb = _BAR
        run.font.size = Pt(9)
        cells[2].text = text


def _entries_table(document: Any, entries: Sequence[Any]) -> None:
    _table(
        document,
        ["编号", "账号名称", "平台", "主办单位", "问题类别", "整改时限", "整改状态"],
        [
            [
                e.entry_id,
                e.account_name,
                e.platform,
                e.sponsor,
                e.problem_label,
                e.deadline,
                e.status,
            ]
            for e in entries
        ],
    )


def write_docx(bulletin: Bulletin, path: Path) -> None:
    document = Document()
    _font(document)
    draft = document.add_paragraph("(草稿)")
    draft.alignment = WD_ALIGN_PARAGRAPH.CENTER
    heading = document.add_heading(title(bulletin), level=1)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER

    document.add_heading(SECTION_TITLES[0], level=2)
    document.add_paragraph(summary_sentence(bulletin))
    _rates(document, "各平台检查情况", "平台", bulletin.by_platform)
    _rates(document, f"各{bulletin.area_unit}检查情况", bulletin.area_unit, bulletin.by_area)
    _chart(
        document,
        "图1 各平台合格率",
        [(r.label, (r.rate or 0) * 100, percent(r.rate)) for r in bulletin.by_platform],
        100,
    )
    counts = [(label, float(n), f"{n} 个") for label, n in bulletin.problem_counts()]
    _chart(document, "图2 问题账号数(按问题类别)", counts, max((c[1] for c in counts), default=0))

    document.add_heading(SECTION_TITLES[1], level=2)
    if not bulletin.problems:
        document.add_paragraph(no_problems_sentence(bulletin))
    for severity, number in ((VETO, "(一)"), ("serious", "(二)")):
        groups = [g for g in bulletin.problems if (g.severity == VETO) == (severity == VETO)]
        if groups:
            document.add_heading(f"{number}{veto_heading(severity)}", level=3)
        for group in groups:
            paragraph = document.add_paragraph()
            paragraph.add_run(f"{group.label}").bold = True
            names = "、".join(
                f"“{e.account_name}”({e.platform},{e.sponsor})" for e in group.entries
            )
            paragraph.add_run(f"({len(group.entries)} 个):{names}。")

    document.add_heading(SECTION_TITLES[2], level=2)
    previous = bulletin.quarter.previous().label
    if bulletin.carried_over:
        document.add_paragraph(
            f"{previous}通报的问题中,仍有 {len(bulletin.carried_over)} 项未整改销号,现再次点名:"
        )
        _entries_table(document, bulletin.carried_over)
    else:
        document.add_paragraph(nothing_carried_sentence(bulletin))

    document.add_heading(SECTION_TITLES[3], level=2)
    document.add_paragraph(deadline_sentence(bulletin))
    issued = bulletin.issued
    signature = document.add_paragraph(f"{issued.year} 年 {issued.month} 月 {issued.day} 日")
    signature.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    document.add_heading("附件:问题账号清单", level=2)
    _entries_table(document, bulletin.entries)
    note = document.add_paragraph(f"整改台账记录链头摘要: {bulletin.chain_head or '(台账为空)'}")
    note.runs[0].font.size = Pt(9)
    document.save(str(path))

"""``govmedia report``: the quarterly bulletin as HTML and .docx, in the shape of a real 通报."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from pathlib import Path
from typing import Any

import docx
import pytest
from click.testing import CliRunner
from conftest import sample_rows
from ledgerfixtures import DETECTED, ID_NUMBER, dormant, make_run, open_accounts, privacy, record
from sqlalchemy import insert, update

from govmedia.cli import main
from monitor.quarter import Quarter
from monitor.report import ReportRefused, write_report
from monitor.workdays import DeadlineRule
from registry.db import Database
from registry.schema import accounts, inspections, sample_members, samples

ISSUED = date(2026, 11, 27)  # a Friday: 5 working days later is Friday 4 December
SECTIONS = ("一、总体情况", "二、存在的问题", "三、上季度问题整改情况", "四、工作要求")


async def build(db: Database) -> dict[str, str]:
    """Five accounts, four sampled: two pass, one fails, one could not be read; one account
    still carries an open entry from last quarter."""
    pks = await open_accounts(db, 5)
    rows = {pk: row for pk, row in zip(pks, sample_rows(5), strict=True)}
    run_id = await make_run(db)
    async with db.write() as conn:
        sample = await conn.execute(
            insert(samples).values(
                quarter="2026Q4", seed=1, algorithm="test", ratio=0.25, population_size=16,
                population_digest="0" * 64, drawn_at=DETECTED, drawn_by="测试", strata={}, current=True,
            )
        )  # fmt: skip
        sample_id = int(sample.inserted_primary_key[0])
        await conn.execute(
            insert(sample_members),
            [
                {"sample_id": sample_id, "account_pk": pk, "reason": "drawn", "stratum": "s"}
                for pk in pks[:4]
            ],
        )
        outcomes = ["passed", "passed", "failed", "incomplete"]
        await conn.execute(
            insert(inspections),
            [
                {
                    "run_id": run_id,
                    "account_pk": pk,
                    "outcome": o,
                    "problems": [],
                    "inspected_at": DETECTED,
                }
                for pk, o in zip(pks, outcomes, strict=False)
            ],
        )
    failing, carried = pks[2], pks[4]
    await record(
        db, failing, [dormant(), privacy()], sponsor=rows[failing]["sponsor"], run_id=run_id
    )
    await record(
        db,
        carried,
        [dormant()],
        quarter="2026Q3",
        sponsor=rows[carried]["sponsor"],
        deadline=date(2026, 9, 30),
    )
    return {
        "failing_name": rows[failing]["name"],
        "failing_sponsor": rows[failing]["sponsor"],
        "carried_name": rows[carried]["name"],
        "passing_platform": rows[pks[0]]["platform"],
    }


def text_of(document: Any) -> str:
    """Paragraphs and table cells in document order."""
    parts: list[str] = []
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):
            parts.extend(cell.text for row in block.rows for cell in row.cells)
        else:
            parts.append(block.text)
    return "\n".join(parts)


def check_content(text: str, named: dict[str, str]) -> None:
    for section in SECTIONS:
        assert section in text
    assert "关于2026年第四季度政务新媒体检查情况的通报" in text
    assert "检查底数为 16 个" in text and "抽查 4 个" in text and "抽查比例 25.0%" in text
    assert "完成检查 3 个" in text and "合格率 66.7%" in text
    assert "1 个账号因平台或网络原因未能完成检查" in text
    veto = text.index("单项否决问题")
    serious = text.index("其他严重问题")
    assert veto < serious  # the veto list comes first
    assert (
        named["failing_name"] in text[veto:serious]
        and named["failing_sponsor"] in text[veto:serious]
    )
    carried = text[text.index(SECTIONS[2]) : text.index(SECTIONS[3])]
    assert named["carried_name"] in carried and "2026年第三季度" in carried
    assert "2026 年 12 月 4 日前将整改情况报告报送" in text
    assert ID_NUMBER not in text


async def test_html_bulletin(db: Database, tmp_path: Path) -> None:
    named = await build(db)
    path = tmp_path / "通报.html"
    bulletin = await write_report(db, path, Quarter(2026, 4), issued=ISSUED, rule=DeadlineRule())
    html = path.read_text("utf-8")
    text = re.sub(r"<[^>]+>", "", html)
    check_content(text, named)
    assert (bulletin.passed, bulletin.failed, bulletin.incomplete) == (2, 1, 1)
    charts = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(charts) == 2
    assert "各平台合格率" in charts[0] and named["passing_platform"] in charts[0]
    assert "监测时间点前2周内无更新" in charts[1] and "<rect" in charts[1]


async def test_docx_bulletin(db: Database, tmp_path: Path) -> None:
    named = await build(db)
    path = tmp_path / "通报.docx"
    await write_report(db, path, Quarter(2026, 4), issued=ISSUED, rule=DeadlineRule())
    document = docx.Document(str(path))
    text = text_of(document)
    check_content(text, named)
    assert "图1 各平台合格率" in text and "█" in text
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert [h for h in headings if h in SECTIONS] == list(SECTIONS)


async def test_empty_quarter_still_makes_a_bulletin(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "通报.html"
    bulletin = await write_report(
        db, path, Quarter(2027, 1), issued=date(2027, 3, 31), rule=DeadlineRule()
    )
    assert bulletin.inspected == 0 and bulletin.report_deadline.provisional
    html = path.read_text("utf-8")
    assert "本季度尚未开展抽查,暂无检查结果" in html and "未发现问题" not in html
    assert "2026年第四季度未发现需要整改的问题" in html and "均已整改销号" not in html
    assert "尚未配置" in html
    with pytest.raises(ReportRefused, match="2027年第二季度 尚未开始"):
        await write_report(
            db, path, Quarter(2027, 2), issued=date(2027, 3, 31), rule=DeadlineRule()
        )


async def test_cli_report(db: Database, db_url: str, tmp_path: Path) -> None:
    named = await build(db)
    out = tmp_path / "bulletin.docx"
    result = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["report", "--quarter", "2026Q4", "-o", str(out), "--issued", "2026-11-27", "--db", db_url],
    )
    assert result.exit_code == 0, result.output
    assert named["failing_name"] in text_of(docx.Document(str(out)))
    bad = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["report", "--quarter", "2026Q4", "-o", str(tmp_path / "x.pdf"), "--db", db_url],
    )
    assert bad.exit_code == 2


async def move_to_zigong(db: Database, named: dict[str, str]) -> None:
    """The account carrying last quarter's entry now lies in another city (自贡市自流井区)."""
    async with db.write() as conn:
        await conn.execute(
            update(accounts)
            .where(accounts.c.name == named["carried_name"])
            .values(region_code="510302")
        )


async def test_city_bulletin_counts_only_its_accounts_by_county(
    db: Database, tmp_path: Path
) -> None:
    named = await build(db)
    await move_to_zigong(db, named)
    path = tmp_path / "成都.html"
    city = await write_report(
        db, path, Quarter(2026, 4), issued=ISSUED, rule=DeadlineRule(), region="510100"
    )
    text = re.sub(r"<[^>]+>", "", path.read_text("utf-8"))
    assert "关于成都市2026年第四季度政务新媒体检查情况的通报" in text
    assert "各县(市、区)检查情况" in text and "各市(州)检查情况" not in text
    assert [(r.label, r.passed, r.failed) for r in city.by_area] == [("锦江区", 2, 1)]
    assert (city.population, city.sample_size) == (4, 4)  # its active accounts, its members
    assert named["failing_name"] in text
    assert city.carried_over == [] and named["carried_name"] not in text

    other = await write_report(
        db, tmp_path / "自贡.html", Quarter(2026, 4), issued=ISSUED, rule=DeadlineRule(),
        region="510300",
    )  # fmt: skip
    assert (other.population, other.sample_size, other.inspected, other.problems) == (1, 0, 0, [])
    assert [e.account_name for e in other.carried_over] == [named["carried_name"]]

    whole = await write_report(
        db, tmp_path / "全省.html", Quarter(2026, 4), issued=ISSUED, rule=DeadlineRule()
    )
    assert whole.area == "" and not whole.by_county and whole.population == 16
    assert [r.label for r in whole.by_area] == ["成都市"]
    assert len(whole.carried_over) == 1


async def test_cli_report_for_a_region(db: Database, db_url: str, tmp_path: Path) -> None:
    named = await build(db)
    out = tmp_path / "city.html"
    args = ["report", "--quarter", "2026Q4", "-o", str(out), "--issued", "2026-11-27"]
    result = await asyncio.to_thread(
        CliRunner().invoke, main, [*args, "--region", "510100", "--db", db_url]
    )
    assert result.exit_code == 0, result.output
    assert "成都市2026年第四季度" in result.output and named["failing_name"] in out.read_text()
    bad = await asyncio.to_thread(
        CliRunner().invoke, main, [*args, "--region", "51", "--db", db_url]
    )
    assert bad.exit_code == 2 and "6 位行政区划代码" in bad.output
    empty = await asyncio.to_thread(
        CliRunner().invoke, main, [*args, "--region", "990000", "--db", db_url]
    )
    assert empty.exit_code == 1 and "行政区划 990000 下没有登记的账号" in empty.stderr


async def test_a_veto_found_without_the_feed_fails_the_account_in_the_bulletin(
    db: Database, tmp_path: Path
) -> None:
    """No interaction needs no feed: an inspection left incomplete (no feed address) that
    found it counts as 不合格, not as 未完成, beside its problem in section 二."""
    first, second = await open_accounts(db, 2)
    run_id = await make_run(db)
    async with db.write() as conn:
        await conn.execute(
            insert(inspections),
            [
                {"run_id": run_id, "account_pk": first, "outcome": "incomplete",
                 "incomplete_reason": "no_feed", "problems": ["no_interaction"],
                 "inspected_at": DETECTED},
                {"run_id": run_id, "account_pk": second, "outcome": "incomplete",
                 "incomplete_reason": "timeout", "problems": [], "inspected_at": DETECTED},
            ],
        )  # fmt: skip
    bulletin = await write_report(
        db, tmp_path / "b.html", Quarter(2026, 4), issued=ISSUED, rule=DeadlineRule()
    )
    assert (bulletin.failed, bulletin.incomplete, bulletin.passed) == (1, 1, 0)


async def test_a_region_whose_accounts_are_all_closed_still_has_a_bulletin(
    db: Database, tmp_path: Path
) -> None:
    (pk,) = await open_accounts(db, 1)
    async with db.write() as conn:
        await conn.execute(
            update(accounts).where(accounts.c.id == pk).values(region_code="510302", status="关停")
        )
    bulletin = await write_report(
        db, tmp_path / "z.html", Quarter(2026, 4), issued=ISSUED, rule=DeadlineRule(),
        region="510300",
    )  # fmt: skip
    assert bulletin.population == 0

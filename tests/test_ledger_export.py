"""``ledger export``: XLSX read back with openpyxl, CSV with BOM, JSON with the interface's keys;
formulas inert, personal data masked, the chain head in every file."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import META
from ledgerfixtures import (
    DETECTED,
    HYPERLINK,
    ID_NUMBER,
    MOBILE,
    dormant,
    open_accounts,
    privacy,
    record,
)
from sqlalchemy import select

from govmedia.cli import main
from monitor.ledger_export import export_ledger
from registry import ledger
from registry.db import Database
from registry.filing import file_on_account
from registry.lifecycle import Kind
from registry.schema import accounts
from registry.times import SHANGHAI
from registry.xlsx_stream import XlsxStream

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=DETECTED.tzinfo)
INTERFACE_KEYS = {
    "entry_id", "quarter", "platform", "account_id", "account_name", "sponsor", "region_code",
    "problem_code", "problem_label", "severity", "description", "evidence", "last_post_at",
    "detected_at", "deadline", "status", "history", "digest",
}  # fmt: skip
# The interface's Chinese headers, in the order they must appear.
CHINESE_HEADERS = [
    "编号", "检查批次", "平台", "账号ID", "账号名称", "主办单位(责任单位)", "行政区划代码",
    "问题类别", "问题描述", "证据", "检查时最近更新时间", "发现时间", "整改时限", "整改状态",
]  # fmt: skip


async def build(db: Database) -> list[int]:
    first, second, third = await open_accounts(db, 3)
    await record(db, first, [dormant(), privacy()])
    await record(db, second, [dormant()], sponsor=HYPERLINK)
    await record(db, third, [dormant()], quarter="2026Q3")  # another quarter: not exported
    await ledger.update_status(db, 1, "整改中", actor="张三", note="已安排", at=NOW)
    return [first, second]


def column(headers: list[str], name: str) -> int:
    return headers.index(name)


async def test_xlsx_reads_back_with_headers_values_and_types(db: Database, tmp_path: Path) -> None:
    await build(db)
    path = tmp_path / "ledger.xlsx"
    result = await export_ledger(db, path, "xlsx", quarter="2026Q4", now=NOW)
    assert result.count == 3
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    headers = [str(h) for h in rows[0]]
    assert [h for h in headers if h in CHINESE_HEADERS] == CHINESE_HEADERS
    # the interface's columns first, in its order (problem_code, severity, history and digest
    # have no Chinese header there); the table is extended only at the end
    interface = [*CHINESE_HEADERS[:7], "问题代码", "问题类别", "严重程度", *CHINESE_HEADERS[8:]]
    assert headers[: len(interface) + 2] == [*interface, "整改记录", "完整性摘要"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(headers)).column_letter}{len(rows)}"
    for index, header in enumerate(headers, start=1):  # readable: at least as wide as the header
        letter = sheet.cell(1, index).column_letter
        assert sheet.column_dimensions[letter].width >= max(8, len(header) * 1.5)
    body = {row[column(headers, "编号")]: row for row in rows[1:]}
    assert sorted(body) == [1, 2, 3]  # real numbers, 2026Q3's entry left out
    first = body[1]
    assert first[column(headers, "检查批次")] == "2026Q4"
    assert first[column(headers, "问题类别")] == "监测时间点前2周内无更新"
    assert first[column(headers, "主办单位(责任单位)")] == "成都市锦江区公安分局"
    assert first[column(headers, "整改状态")] == "整改中"
    assert "张三: 待整改→整改中(已安排)" in first[column(headers, "整改记录")]
    detected = first[column(headers, "发现时间")]
    assert isinstance(detected, datetime) and detected == datetime(2026, 11, 26, 10, 0)
    deadline = first[column(headers, "整改时限")]
    assert isinstance(deadline, datetime) and deadline.date() == date(2026, 12, 3)
    assert sheet.cell(2, column(headers, "整改时限") + 1).is_date
    assert first[column(headers, "检查时最近更新时间")] == datetime(2026, 11, 6, 10, 0)


def test_xlsx_drops_characters_xml_forbids(tmp_path: Path) -> None:
    path = tmp_path / "odd.xlsx"
    with XlsxStream(path) as book, book.sheet("表", ["标题"]) as sheet:
        sheet.append(["关于\uffff攻府\ud800工作\x01的通知\ufffe"])
    rows = list(openpyxl.load_workbook(path).worksheets[0].iter_rows(values_only=True))
    assert rows == [("标题",), ("关于攻府工作的通知",)]


async def test_xlsx_summary_and_chain_head(db: Database, tmp_path: Path) -> None:
    await build(db)
    path = tmp_path / "ledger.xlsx"
    result = await export_ledger(db, path, "xlsx", quarter="2026Q4", now=NOW)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["整改台账", "汇总", "说明"]
    summary = [list(r) for r in book["汇总"].iter_rows(values_only=True)]
    assert summary[0][:3] == ["市(州)", "行政区划代码", "问题条目"]
    city = next(r for r in summary if r[1] == "510100")
    assert city[0] == "成都市" and city[2] == 3 and city[3] == 2  # entries, accounts
    problems = {r[1]: r for r in summary if r[1] in ("dormant", "privacy_leak")}
    assert problems["dormant"][3] == 2 and problems["privacy_leak"][3] == 1
    assert problems["dormant"][2] == "单项否决"
    notes = dict(book["说明"].iter_rows(values_only=True))
    verified = await ledger.verify(db)
    assert result.chain_head == verified.head
    assert notes["记录链头摘要(chain_head)"] == verified.head


async def test_formula_in_sponsor_is_inert_in_xlsx_and_csv(db: Database, tmp_path: Path) -> None:
    await build(db)
    xlsx, csv_path = tmp_path / "l.xlsx", tmp_path / "l.csv"
    await export_ledger(db, xlsx, "xlsx", quarter="2026Q4", now=NOW)
    await export_ledger(db, csv_path, "csv", quarter="2026Q4", now=NOW)
    sheet = openpyxl.load_workbook(xlsx).worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == HYPERLINK]
    assert cells, "the sponsor is exported as written"
    for cell in cells:
        assert cell.data_type == "s" and cell.quotePrefix  # text, and stays text when edited
    with zipfile.ZipFile(xlsx) as archive:
        for name in archive.namelist():
            assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)
    text = csv_path.read_bytes().decode("utf-8-sig")
    values = [v for row in csv.reader(io.StringIO(text)) for v in row]
    assert "'" + HYPERLINK in values and HYPERLINK not in values


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
async def test_privacy_evidence_is_masked_in_every_format(
    db: Database, tmp_path: Path, fmt: str
) -> None:
    await build(db)
    path = tmp_path / f"ledger.{fmt}"
    await export_ledger(db, path, fmt, quarter="2026Q4", now=NOW)
    if fmt == "xlsx":
        with zipfile.ZipFile(path) as archive:
            text = "".join(archive.read(n).decode("utf-8") for n in archive.namelist())
    else:
        text = path.read_bytes().decode("utf-8-sig")
    assert ID_NUMBER not in text and MOBILE not in text
    assert "138****5678" in text and "办事公示" in text


async def test_csv_has_bom_headers_and_a_chain_head_trailer(db: Database, tmp_path: Path) -> None:
    await build(db)
    path = tmp_path / "ledger.csv"
    result = await export_ledger(db, path, "csv", quarter="2026Q4", now=NOW)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert [h for h in rows[0] if h in CHINESE_HEADERS] == CHINESE_HEADERS
    assert len(rows) == 1 + 3 + 1
    assert rows[-1][:2] == ["记录链头摘要(chain_head)", result.chain_head]
    deadline = rows[1][rows[0].index("整改时限")]
    assert deadline == "2026-12-03"


async def test_json_has_the_interface_keys_and_chain_head(db: Database, tmp_path: Path) -> None:
    await build(db)
    path = tmp_path / "ledger.json"
    await export_ledger(db, path, "json", quarter="2026Q4", now=NOW)
    document = json.loads(path.read_text("utf-8"))
    assert document["chain_head"] == (await ledger.verify(db)).head
    assert document["exported_at"].startswith("2026-11-27T17:00:00+08:00")
    entries = document["entries"]
    assert [e["entry_id"] for e in entries] == [1, 2, 3]
    assert set(entries[0]) >= INTERFACE_KEYS
    privacy_entry = next(e for e in entries if e["problem_code"] == "privacy_leak")
    assert set(privacy_entry["evidence"][0]) == {"url", "title", "published_at", "excerpt"}
    published = DETECTED - timedelta(days=1)  # privacy()'s post, shown in Shanghai time
    assert (
        privacy_entry["evidence"][0]["published_at"] == published.astimezone(SHANGHAI).isoformat()
    )
    assert privacy_entry["evidence"][0]["published_at"].endswith("+08:00")
    assert [h["status"] for h in entries[0]["history"]] == ["待整改", "整改中"]
    assert entries[0]["deadline"] == "2026-12-03"


async def test_export_reflects_the_chain_head_it_carries(db: Database, tmp_path: Path) -> None:
    """Records written after the head was read are left out, so file and head always match."""
    await build(db)
    from monitor import ledger_export

    original = ledger_export.head_record
    calls = 0

    async def head_then_write(conn):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        found = await original(conn)
        await ledger.update_status(db, 2, "整改中", actor="王五", note="", at=NOW)
        return found

    ledger_export.head_record = head_then_write  # type: ignore[assignment]
    try:
        path = tmp_path / "ledger.json"
        await export_ledger(db, path, "json", quarter="2026Q4", now=NOW)
    finally:
        ledger_export.head_record = original  # type: ignore[assignment]
    entries = json.loads(path.read_text("utf-8"))["entries"]
    assert calls == 1
    assert next(e for e in entries if e["entry_id"] == 2)["status"] == "待整改"


async def test_cli_export_writes_the_file(db: Database, db_url: str, tmp_path: Path) -> None:
    await build(db)
    out = tmp_path / "out" / "台账.xlsx"
    result = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["ledger", "export", "--quarter", "2026Q4", "-o", str(out), "--db", db_url],
    )
    assert result.exit_code == 0, result.output
    assert "已导出 3 条" in result.stdout
    assert openpyxl.load_workbook(out).sheetnames[0] == "整改台账"


async def test_an_entry_shows_the_account_as_it_was_detected(db: Database, tmp_path: Path) -> None:
    """A later change of ID, name or region (or a transfer) leaves the entry as it was found;
    an entry detected after the change shows the new identity."""
    (pk,) = await open_accounts(db, 1)
    await record(db, pk, [dormant()])
    async with db.read() as conn:
        before = (await conn.execute(select(accounts).where(accounts.c.id == pk))).one()
    moved = "510104" if before.region_code != "510104" else "510105"
    changes = {"account_id": "renamed-001", "name": "锦江发布新号", "region_code": moved}
    await file_on_account(db, str(pk), Kind.CHANGE, META, DETECTED.date(), changes)
    await record(db, pk, [dormant()], quarter="2027Q1")
    path = tmp_path / "ledger.json"
    await export_ledger(db, path, "json", quarter="2026Q4", now=NOW)
    (entry,) = json.loads(path.read_text("utf-8"))["entries"]
    assert (entry["account_id"], entry["account_name"], entry["region_code"]) == (
        before.account_id,
        before.name,
        before.region_code,
    )
    await export_ledger(db, path, "json", quarter="2027Q1", now=NOW)
    (later,) = json.loads(path.read_text("utf-8"))["entries"]
    assert (later["account_id"], later["account_name"], later["region_code"]) == (
        "renamed-001",
        "锦江发布新号",
        moved,
    )
    assert (await ledger.verify(db)).ok

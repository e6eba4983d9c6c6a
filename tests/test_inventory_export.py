"""Exports of the inventory: each format imports back with no changes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import META, TODAY, sample_rows, write_csv
from openpyxl import load_workbook

from govmedia.synthetic import header_row
from registry import queries
from registry.db import Database
from registry.fields import KEYS
from registry.filing import file_on_account
from registry.inventory import export_inventory, import_inventory
from registry.lifecycle import Kind


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
async def test_export_then_import_changes_nothing(db: Database, tmp_path: Path, fmt: str) -> None:
    rows = sample_rows(12)
    rows[0]["sponsor"] = '=HYPERLINK("http://evil","点我")'
    rows[1]["status"] = "关停"
    rows[2]["status"] = "注销"
    rows[3]["interaction"] = "无"
    await import_inventory(db, write_csv(tmp_path / "in.csv", rows), META, TODAY)
    await file_on_account(db, "5", Kind.CHANGE, META, TODAY, {"phone": "13800000000"})
    before = await queries.list_accounts(db)
    out = tmp_path / f"out.{fmt}"
    assert await export_inventory(db, out, fmt) == 12
    summary = await import_inventory(db, out, META, TODAY)
    assert (summary.opened, summary.changed, summary.status_changed, summary.unchanged) == (
        0,
        0,
        0,
        12,
    )
    assert await queries.list_accounts(db) == before


async def test_csv_has_bom_chinese_headers_and_inert_formulas(db: Database, tmp_path: Path) -> None:
    rows = sample_rows(2)
    rows[0]["sponsor"] = "=1+1"
    await import_inventory(db, write_csv(tmp_path / "in.csv", rows), META, TODAY)
    out = tmp_path / "out.csv"
    await export_inventory(db, out, "csv")
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    records = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    assert records[0] == header_row()
    assert records[1][KEYS.index("sponsor")] == "'=1+1"


async def test_xlsx_cells_are_text_and_formula_like_values_inert(
    db: Database, tmp_path: Path
) -> None:
    rows = sample_rows(2)
    rows[0]["sponsor"] = '=HYPERLINK("http://evil")'
    await import_inventory(db, write_csv(tmp_path / "in.csv", rows), META, TODAY)
    out = tmp_path / "out.xlsx"
    await export_inventory(db, out, "xlsx")
    sheet = load_workbook(out).worksheets[0]
    assert [c.value for c in sheet[1]] == header_row()
    assert sheet.freeze_panes == "A2"
    cell = sheet.cell(row=2, column=KEYS.index("sponsor") + 1)
    assert cell.data_type == "s" and cell.value == rows[0]["sponsor"]


async def test_json_uses_the_english_keys(db: Database, tmp_path: Path) -> None:
    await import_inventory(db, write_csv(tmp_path / "in.csv", sample_rows(3)), META, TODAY)
    out = tmp_path / "out.json"
    await export_inventory(db, out, "json")
    document = json.loads(out.read_text("utf-8"))
    assert len(document) == 3 and list(document[0]) == list(KEYS)

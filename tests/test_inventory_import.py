"""Importing the inventory: all-or-nothing, encodings, idempotence, changes become filings."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import META, TODAY, sample_rows, write_csv
from openpyxl import Workbook
from sqlalchemy import func, select, text

from govmedia.synthetic import header_row
from registry import queries
from registry.db import Database
from registry.fields import FIELD_BY_KEY, FIELDS, KEYS
from registry.importing import ImportRefused, RowError
from registry.inventory import import_inventory
from registry.schema import accounts, filings, units


async def refusal(db: Database, path: Path) -> list[RowError]:
    """The errors an import of ``path`` is refused with."""
    with pytest.raises(ImportRefused) as refused:
        await import_inventory(db, path, META, TODAY)
    return refused.value.errors


async def count(db: Database, table) -> int:  # type: ignore[no-untyped-def]
    async with db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def test_bad_row_7_of_ten_writes_nothing_and_names_row_and_column(
    db: Database, tmp_path: Path
) -> None:
    rows = sample_rows(10)
    rows[5]["region_code"] = "51A104"  # the 6th record sits on spreadsheet row 7
    path = write_csv(tmp_path / "inv.csv", rows)
    with pytest.raises(ImportRefused) as refused:
        await import_inventory(db, path, META, TODAY)
    assert [str(e) for e in refused.value.errors] == [
        f"{path}:7:行政区划代码: 行政区划代码应为6位数字"
    ]
    assert await count(db, accounts) == 0
    assert await count(db, filings) == 0
    assert await count(db, units) == 0


async def test_every_bad_row_is_reported(db: Database, tmp_path: Path) -> None:
    rows = sample_rows(6)
    rows[1]["platform"] = "推特"
    rows[3]["sponsor_code"] = "91330100799655058C"
    rows[4]["opened_on"] = "2026年13月1日"
    rows[5]["name"] = ""
    errors = await refusal(db, write_csv(tmp_path / "inv.csv", rows))
    assert [(e.row, e.column) for e in errors] == [
        (3, "平台"),
        (5, "主办单位统一社会信用代码"),
        (6, "开设日期"),
        (7, "账号名称"),
    ]


async def test_values_the_database_could_not_hold_are_row_errors(
    db: Database, tmp_path: Path
) -> None:
    rows = sample_rows(4)
    rows[0]["region_code"] = "5１0１0４"  # full-width digits: no region code
    rows[1]["name"] = "很长的名称" * 41  # 205 characters, the column holds 200
    rows[2]["phone"] = "028-" + "1" * 60
    errors = await refusal(db, write_csv(tmp_path / "inv.csv", rows))
    assert [(e.row, e.column) for e in errors] == [
        (2, "行政区划代码"),
        (3, "账号名称"),
        (4, "联系电话"),
    ]
    assert "最多200个字符" in str(errors[1])
    assert await count(db, accounts) == 0


async def test_an_unbalanced_quote_is_refused_naming_the_row(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "inv.csv", sample_rows(3))
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = '"' + lines[2]  # a quote opened on row 3 and never closed
    path.write_text("\n".join(lines + [f"x{n},微博,y{n}" for n in range(20_000)]), encoding="utf-8")
    with pytest.raises(ImportRefused) as refused:
        await import_inventory(db, path, META, TODAY)
    (error,) = refused.value.errors
    assert error.row == 3 and "引号" in error.message
    assert await count(db, accounts) == 0


async def test_a_gb18030_byte_order_mark_is_read_as_one(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "inv.csv"
    text = write_csv(tmp_path / "plain.csv", sample_rows(2)).read_text(encoding="utf-8")
    path.write_bytes(("\ufeff" + text).encode("gb18030"))
    assert (await import_inventory(db, path, META, TODAY)).opened == 2


async def test_dry_run_validates_but_writes_nothing(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "inv.csv", sample_rows(5))
    summary = await import_inventory(db, path, META, TODAY, dry_run=True)
    assert summary.opened == 5
    assert await count(db, accounts) == 0


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
async def test_encodings(db: Database, tmp_path: Path, encoding: str) -> None:
    rows = sample_rows(4)
    path = write_csv(tmp_path / "inv.csv", rows, encoding=encoding)
    if encoding == "gb18030":
        assert path.read_bytes().decode("gb18030") and not _is_utf8(path.read_bytes())
    await import_inventory(db, path, META, TODAY)
    listed = await queries.list_accounts(db)
    assert [r["name"] for r in listed] == [r["name"] for r in rows]
    assert listed[0]["sponsor"] == rows[0]["sponsor"]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def test_xlsx_with_english_keys_dates_and_number_cells(db: Database, tmp_path: Path) -> None:
    from datetime import datetime

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([*list(KEYS), "备注"])
    row = sample_rows(1)[0]
    values: list[object] = [row[k] for k in KEYS] + ["ignored"]
    values[KEYS.index("opened_on")] = datetime(2020, 5, 17)
    values[KEYS.index("region_code")] = 510104
    values[KEYS.index("account_id")] = 12345678
    sheet.append(values)
    path = tmp_path / "inv.xlsx"
    workbook.save(path)
    summary = await import_inventory(db, path, META, TODAY)
    assert any("备注" in w for w in summary.warnings)
    [account] = await queries.list_accounts(db)
    assert (account["opened_on"], account["region_code"], account["account_id"]) == (
        "2020-05-17",
        "510104",
        "12345678",
    )


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


async def test_xlsx_number_cells_past_excel_precision_are_refused(
    db: Database, tmp_path: Path
) -> None:
    row = sample_rows(1)[0]
    values: list[object] = [row[k] for k in KEYS]
    values[KEYS.index("account_id")] = 1.23456789012345e17  # Excel shows 123456789012345000
    path = _workbook(tmp_path / "inv.xlsx", {"清单": [list(KEYS), values]})
    with pytest.raises(ImportRefused, match=r":2:account_id: 数字超过15位"):
        await import_inventory(db, path, META, TODAY)


async def test_xlsx_with_a_second_sheet_of_accounts_is_refused_not_half_read(
    db: Database, tmp_path: Path
) -> None:
    one, two = sample_rows(2)
    sheets = {
        "锦江区": [list(KEYS), [one[k] for k in KEYS]],
        "填表说明": [["说明"], ["开设日期写作 YYYY-MM-DD"]],  # notes are no reason to refuse
    }
    path = _workbook(tmp_path / "one.xlsx", sheets)
    assert (await import_inventory(db, path, META, TODAY, dry_run=True)).opened == 1
    sheets["青羊区"] = [list(KEYS), [two[k] for k in KEYS]]
    path = _workbook(tmp_path / "two.xlsx", sheets)
    with pytest.raises(ImportRefused, match="青羊区"):
        await import_inventory(db, path, META, TODAY)


async def test_date_forms(db: Database, tmp_path: Path) -> None:
    rows = sample_rows(3)
    for row, form in zip(rows, ["2021-03-04", "2021/3/4", "2021年3月4日"], strict=True):
        row["opened_on"] = form
    await import_inventory(db, write_csv(tmp_path / "inv.csv", rows), META, TODAY)
    assert {a["opened_on"] for a in await queries.list_accounts(db)} == {"2021-03-04"}


async def test_missing_required_column_is_named(db: Database, tmp_path: Path) -> None:
    keys = [k for k in KEYS if k != "sponsor"]
    headers = [h for h, k in zip(header_row(), KEYS, strict=True) if k != "sponsor"]
    path = write_csv(tmp_path / "inv.csv", sample_rows(2), headers=headers, keys=keys)
    with pytest.raises(ImportRefused, match=r":1:主办单位: 缺少必需的列"):
        await import_inventory(db, path, META, TODAY)


async def test_duplicate_account_in_file_is_refused(db: Database, tmp_path: Path) -> None:
    rows = sample_rows(3)
    rows[2]["account_id"] = rows[0]["account_id"]
    rows[2]["platform"] = rows[0]["platform"]
    with pytest.raises(ImportRefused, match=r":4:账号ID: 与第2行重复"):
        await import_inventory(db, write_csv(tmp_path / "inv.csv", rows), META, TODAY)


async def test_reimport_is_idempotent_and_a_changed_row_becomes_a_change_filing(
    db: Database, tmp_path: Path
) -> None:
    rows = sample_rows(8)
    path = write_csv(tmp_path / "inv.csv", rows)
    await import_inventory(db, path, META, TODAY)
    again = await import_inventory(db, path, META, TODAY)
    assert (again.opened, again.changed, again.unchanged) == (0, 0, 8)
    assert await count(db, filings) == 8

    rows[2]["name"] = rows[2]["name"] + "新"
    rows[3]["status"] = "关停"
    changed = await import_inventory(db, write_csv(tmp_path / "inv2.csv", rows), META, TODAY)
    assert (changed.changed, changed.status_changed, changed.unchanged) == (1, 1, 6)
    assert await count(db, accounts) == 8
    record = await queries.get_account(db, f"{rows[2]['platform']}:{rows[2]['account_id']}")
    assert record is not None
    assert [f.kind.value for f in record.filings] == ["开设", "变更"]
    assert record.filings[1].changes == {"name": (rows[2]["name"][:-1], rows[2]["name"])}
    closed = await queries.get_account(db, f"{rows[3]['platform']}:{rows[3]['account_id']}")
    assert closed is not None and closed.fields["status"] == "关停"


async def test_columns_left_out_change_nothing_on_registered_accounts(
    db: Database, tmp_path: Path
) -> None:
    """A file of the required columns only is no instruction to clear the others or to reopen
    a closed account."""
    rows = sample_rows(4)
    rows[1]["status"] = "关停"
    await import_inventory(db, write_csv(tmp_path / "full.csv", rows), META, TODAY)
    required = [f.key for f in FIELDS if f.required]
    assert "status" not in required
    headers = [FIELD_BY_KEY[k].header for k in required]
    narrow = write_csv(tmp_path / "min.csv", rows, headers=headers, keys=required)
    again = await import_inventory(db, narrow, META, TODAY)
    assert (again.changed, again.status_changed, again.unchanged) == (0, 0, 4)
    assert await count(db, filings) == 4 + 1
    closed = await queries.get_account(db, f"{rows[1]['platform']}:{rows[1]['account_id']}")
    assert closed is not None and closed.fields["status"] == "关停"


async def test_deregistered_account_cannot_be_reopened_by_import(
    db: Database, tmp_path: Path
) -> None:
    rows = sample_rows(2)
    rows[1]["status"] = "注销"
    await import_inventory(db, write_csv(tmp_path / "a.csv", rows), META, TODAY)
    rows[1]["status"] = "正常"
    with pytest.raises(ImportRefused, match=r":3:状态: 该账号已注销"):
        await import_inventory(db, write_csv(tmp_path / "b.csv", rows), META, TODAY)


async def test_warnings_for_second_account_on_platform_and_unrelated_name(
    db: Database, tmp_path: Path
) -> None:
    rows = sample_rows(2)
    rows[1].update(
        platform=rows[0]["platform"],
        sponsor=rows[0]["sponsor"],
        sponsor_code=rows[0]["sponsor_code"],
    )
    rows[1]["name"] = "好声音"
    summary = await import_inventory(db, write_csv(tmp_path / "inv.csv", rows), META, TODAY)
    assert len(summary.warnings) == 2
    assert all(w.startswith(f"{tmp_path / 'inv.csv'}:3: ") for w in summary.warnings)
    record = await queries.get_account(db, f"{rows[1]['platform']}:{rows[1]['account_id']}")
    assert record is not None
    assert any("一个单位在同一平台只开设一个账号" in w for w in record.filings[0].warnings)
    assert any("名称无关联" in w for w in record.filings[0].warnings)


async def test_a_large_import_leaves_fresh_planner_statistics_on_postgresql(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not db.url.get_backend_name().startswith("postgresql"):
        pytest.skip("planner statistics are PostgreSQL's")
    monkeypatch.setattr("registry.inventory._ANALYZE_AFTER", 10)
    await import_inventory(db, write_csv(tmp_path / "a.csv", sample_rows(12)), META, TODAY)
    async with db.read() as conn:
        analysed = await conn.scalar(
            text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'accounts'")
        )
    assert analysed is not None


async def test_a_refused_change_names_the_column_that_asked_for_it(
    db: Database, tmp_path: Path
) -> None:
    """A change the lifecycle refuses (the account is deregistered) is reported at the column
    it would change, not at 状态."""
    rows = sample_rows(2)
    rows[1]["status"] = "注销"
    await import_inventory(db, write_csv(tmp_path / "a.csv", rows), META, TODAY)
    rows[1]["sponsor"] += "办公室"
    header = FIELD_BY_KEY["sponsor"].header
    with pytest.raises(ImportRefused, match=rf":3:{header}: 该账号已注销"):
        await import_inventory(db, write_csv(tmp_path / "b.csv", rows), META, TODAY)


async def test_a_blank_status_or_interaction_cell_leaves_a_registered_account_as_it_is(
    db: Database, tmp_path: Path
) -> None:
    """A blank 状态 or 互动功能 reads as 正常 / 有 for a new account, and as no instruction for
    a registered one (it used to reopen a closed account and turn interaction back on)."""
    rows = sample_rows(3)
    rows[1]["status"], rows[1]["interaction"] = "关停", "无"
    await import_inventory(db, write_csv(tmp_path / "a.csv", rows), META, TODAY)
    rows[1]["status"] = rows[1]["interaction"] = ""
    again = await import_inventory(db, write_csv(tmp_path / "b.csv", rows), META, TODAY)
    assert (again.changed, again.status_changed, again.unchanged) == (0, 0, 3)
    account = await queries.get_account(db, f"{rows[1]['platform']}:{rows[1]['account_id']}")
    assert account is not None
    assert (account.fields["status"], account.fields["interaction"]) == ("关停", "无")
    rows.append(sample_rows(4)[3] | {"status": "", "interaction": ""})
    opened = await import_inventory(db, write_csv(tmp_path / "c.csv", rows), META, TODAY)
    assert opened.opened == 1
    new = await queries.get_account(db, f"{rows[3]['platform']}:{rows[3]['account_id']}")
    assert new is not None and (new.fields["status"], new.fields["interaction"]) == ("正常", "有")


async def test_an_opening_date_after_the_import_is_refused_at_that_column(
    db: Database, tmp_path: Path
) -> None:
    rows = sample_rows(2)
    rows[1]["opened_on"] = "2099-01-01"
    header = FIELD_BY_KEY["opened_on"].header
    with pytest.raises(ImportRefused, match=rf":3:{header}: 生效日期 2099-01-01 晚于备案当天"):
        await import_inventory(db, write_csv(tmp_path / "a.csv", rows), META, TODAY)
    assert await count(db, accounts) == 0


async def test_data_in_a_column_without_a_header_is_refused_not_dropped(
    db: Database, tmp_path: Path
) -> None:
    """Cells past the last header (CSV), or under a blank header cell (a merged header in
    XLSX), are refused naming the row and column; blank trailing cells are fine."""
    rows = sample_rows(2)
    path = tmp_path / "more.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header_row())
        writer.writerow([rows[0][k] for k in KEYS] + ["", ""])
        writer.writerow([rows[1][k] for k in KEYS] + ["", "关停"])
    with pytest.raises(ImportRefused, match=rf":3:第{len(KEYS) + 2}列: 该列有数据但没有表头"):
        await import_inventory(db, path, META, TODAY)
    values: list[list[object]] = [[*header_row(), None], [*(rows[0][k] for k in KEYS), "赵六"]]
    book = _workbook(tmp_path / "merged.xlsx", {"清单": values})
    with pytest.raises(ImportRefused, match=rf":2:第{len(KEYS) + 1}列: 该列有数据但没有表头"):
        await import_inventory(db, book, META, TODAY)
    assert await count(db, accounts) == 0


async def test_full_width_digits_in_codes_and_dates_are_named(db: Database, tmp_path: Path) -> None:
    rows = sample_rows(2)
    rows[0]["region_code"] = "５１０１０４"
    rows[1]["opened_on"] = "２０２６－０１－０１"
    with pytest.raises(ImportRefused) as refused:
        await import_inventory(db, write_csv(tmp_path / "inv.csv", rows), META, TODAY)
    messages = [str(e) for e in refused.value.errors]
    assert messages[0].endswith(":2:行政区划代码: “５１０１０４” 含全角数字: 请改用半角数字 0-9")
    assert messages[1].endswith(
        ":3:开设日期: “２０２６－０１－０１” 含全角数字: 请改用半角数字 0-9"
    )

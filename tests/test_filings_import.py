"""Batch filings: applied in file order, all or none."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import META, NOW, TODAY, sample_rows, write_csv

from registry import queries
from registry.db import Database
from registry.filings_import import import_filings
from registry.importing import ImportRefused
from registry.inventory import import_inventory


def write_filings(path: Path, headers: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


async def test_batch_open_change_close_in_order(db: Database, tmp_path: Path) -> None:
    rows = sample_rows(2)
    await import_inventory(db, write_csv(tmp_path / "inv.csv", rows[:1]), META, TODAY)
    new = rows[1]
    old = rows[0]
    headers = [
        "备案类型",
        "平台",
        "账号ID",
        "生效日期",
        "文号",
        "原因",
        "账号名称",
        "主办单位",
        "行政区划代码",
        "开设日期",
        "新账号ID",
    ]
    path = write_filings(
        tmp_path / "f.csv",
        headers,
        [
            [
                "开设",
                new["platform"],
                new["account_id"],
                "2026-11-01",
                "川办〔2026〕1号",
                "新开",
                new["name"],
                new["sponsor"],
                new["region_code"],
                "2026-11-01",
                "",
            ],
            [
                "变更",
                old["platform"],
                old["account_id"],
                "2026-11-20",
                "",
                "改名",
                old["name"] + "2",
                "",
                "",
                "",
                "renamed",
            ],
            ["关停", old["platform"], "renamed", "2026-11-21", "", "停止维护", "", "", "", "", ""],
        ],
    )
    summary = await import_filings(db, path, "批量", NOW, TODAY)
    assert summary.by_kind == {"开设": 1, "变更": 1, "关停": 1}
    renamed = await queries.get_account(db, f"{old['platform']}:renamed")
    assert renamed is not None
    assert renamed.fields["status"] == "关停" and renamed.fields["name"] == old["name"] + "2"
    assert [
        f.doc_no
        for f in (await queries.get_account(db, f"{new['platform']}:{new['account_id']}")).filings
    ] == ["川办〔2026〕1号"]  # type: ignore[union-attr]


async def test_account_ids_swapped_or_reused_within_one_file(db: Database, tmp_path: Path) -> None:
    """A→TMP, B→A, TMP→B swaps two ids; then C's id is freed and a new account opened on it."""
    rows = [row | {"platform": "微博"} for row in sample_rows(3)]
    await import_inventory(db, write_csv(tmp_path / "inv.csv", rows), META, TODAY)
    a, b, c = rows
    platform = "微博"
    headers = [
        "备案类型",
        "平台",
        "账号ID",
        "新账号ID",
        "账号名称",
        "主办单位",
        "行政区划代码",
        "开设日期",
    ]
    change = ["", "", "", ""]
    path = write_filings(
        tmp_path / "f.csv",
        headers,
        [
            ["变更", platform, a["account_id"], "tmp", *change],
            ["变更", platform, b["account_id"], a["account_id"], *change],
            ["变更", platform, "tmp", b["account_id"], *change],
            ["变更", platform, c["account_id"], "c-new", *change],
            [
                "开设",
                platform,
                c["account_id"],
                "",
                "新号",
                c["sponsor"],
                c["region_code"],
                "2026-11-01",
            ],
        ],
    )
    summary = await import_filings(db, path, "批量", NOW, TODAY)
    assert summary.by_kind == {"变更": 4, "开设": 1}
    names = {
        account_id: (await queries.get_account(db, f"{platform}:{account_id}")).fields["name"]  # type: ignore[union-attr]
        for account_id in (a["account_id"], b["account_id"], "c-new", c["account_id"])
    }
    assert names == {
        a["account_id"]: b["name"],
        b["account_id"]: a["name"],
        "c-new": c["name"],
        c["account_id"]: "新号",
    }


async def test_status_column_is_refused_where_a_filing_kind_decides(
    db: Database, tmp_path: Path
) -> None:
    rows = sample_rows(2)
    await import_inventory(db, write_csv(tmp_path / "inv.csv", rows[:1]), META, TODAY)
    old, new = rows
    headers = [
        "备案类型",
        "平台",
        "账号ID",
        "账号名称",
        "主办单位",
        "行政区划代码",
        "开设日期",
        "状态",
    ]
    opened = [new["name"], new["sponsor"], new["region_code"], "2026-11-01"]
    path = write_filings(
        tmp_path / "f.csv",
        headers,
        [
            ["开设", new["platform"], new["account_id"], *opened, "关停"],
            ["变更", old["platform"], old["account_id"], "新名称", "", "", "", "注销"],
        ],
    )
    with pytest.raises(ImportRefused) as refused:
        await import_filings(db, path, "批量", NOW, TODAY)
    assert [(e.row, e.column) for e in refused.value.errors] == [(2, "状态"), (3, "状态")]
    ok = write_filings(
        tmp_path / "ok.csv",
        headers,
        [["开设", new["platform"], new["account_id"], *opened, "正常"]],
    )
    assert (await import_filings(db, ok, "批量", NOW, TODAY)).by_kind == {"开设": 1}


async def test_one_refused_filing_refuses_the_file(db: Database, tmp_path: Path) -> None:
    rows = sample_rows(1)
    await import_inventory(db, write_csv(tmp_path / "inv.csv", rows), META, TODAY)
    r = rows[0]
    path = write_filings(
        tmp_path / "f.csv",
        ["备案类型", "平台", "账号ID", "生效日期"],
        [
            ["关停", r["platform"], r["account_id"], "2026-11-20"],
            ["关停", r["platform"], r["account_id"], "2026-11-21"],
            ["注册", r["platform"], r["account_id"], "2026-11-21"],
        ],
    )
    with pytest.raises(ImportRefused) as refused:
        await import_filings(db, path, "批量", NOW, TODAY)
    assert [(e.row, e.column) for e in refused.value.errors] == [(3, "备案类型"), (4, "备案类型")]
    assert "已关停" in refused.value.errors[0].message
    record = await queries.get_account(db, f"{r['platform']}:{r['account_id']}")
    assert record is not None and record.fields["status"] == "正常" and len(record.filings) == 1


async def test_a_filing_dated_after_the_day_it_is_filed_is_refused_at_its_date(
    db: Database, tmp_path: Path
) -> None:
    rows = sample_rows(1)
    await import_inventory(db, write_csv(tmp_path / "inv.csv", rows), META, TODAY)
    headers = ["备案类型", "平台", "账号ID", "生效日期"]
    path = write_filings(
        tmp_path / "f.csv",
        headers,
        [["关停", rows[0]["platform"], rows[0]["account_id"], "2099-01-01"]],
    )
    with pytest.raises(ImportRefused, match=r"f\.csv:2:生效日期: 生效日期 2099-01-01 晚于备案当天"):
        await import_filings(db, path, "批量", NOW, TODAY)
    account = await queries.get_account(db, f"{rows[0]['platform']}:{rows[0]['account_id']}")
    assert account is not None and account.fields["status"] == "正常"


async def test_opening_dates_and_errors_that_follow_from_an_earlier_row(
    db: Database, tmp_path: Path
) -> None:
    """An opening without 开设日期 opens on its 生效日期; a change of an account never opened is
    named at 账号ID; rows after an account's row in error say so instead of a second cause."""
    new, other = sample_rows(2)
    headers = ["备案类型", "平台", "账号ID", "生效日期", "账号名称", "主办单位", "行政区划代码"]
    opening = [new["name"], new["sponsor"], new["region_code"]]
    good = write_filings(
        tmp_path / "ok.csv",
        headers,
        [["开设", new["platform"], new["account_id"], "2026-10-01", *opening]],
    )
    await import_filings(db, good, "批量", NOW, TODAY)
    account = await queries.get_account(db, f"{new['platform']}:{new['account_id']}")
    assert account is not None and account.fields["opened_on"] == "2026-10-01"

    bad = write_filings(
        tmp_path / "bad.csv",
        headers,
        [
            ["开设", other["platform"], other["account_id"], "2026-10-01", "", *opening[1:]],
            ["关停", other["platform"], other["account_id"], "2026-10-02", "", "", ""],
            ["变更", other["platform"], "nobody", "2026-10-02", "新名称", "", ""],
        ],
    )
    with pytest.raises(ImportRefused) as refused:
        await import_filings(db, bad, "批量", NOW, TODAY)
    assert [(e.row, e.column, e.message) for e in refused.value.errors] == [
        (2, "账号名称", "必填项为空"),
        (3, "账号ID", "同一账号的第2行有误, 本行未处理"),
        (4, "账号ID", f"{other['platform']} 账号ID nobody 尚未开设备案"),
    ]


async def test_an_opening_dated_by_its_opening_date_is_refused_there(
    db: Database, tmp_path: Path
) -> None:
    (row,) = sample_rows(1)
    headers = ["备案类型", "平台", "账号ID", "账号名称", "主办单位", "行政区划代码", "开设日期"]
    values = [row["platform"], row["account_id"], row["name"], row["sponsor"], row["region_code"]]
    path = write_filings(tmp_path / "f.csv", headers, [["开设", *values, "2099-01-01"]])
    with pytest.raises(ImportRefused, match=r"f\.csv:2:开设日期: 生效日期 2099-01-01 晚于备案当天"):
        await import_filings(db, path, "批量", NOW, TODAY)

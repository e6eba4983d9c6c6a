"""Review records: all-or-nothing import, kept per account, re-import updates."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import META, NOW, TODAY, sample_rows, write_csv

from registry.db import Database
from registry.importing import ImportRefused
from registry.inventory import import_inventory
from registry.reviews import import_reviews, reviews_for

HEADERS = [
    "平台",
    "账号ID",
    "标题",
    "链接",
    "初审人",
    "初审时间",
    "复审人",
    "复审时间",
    "终审人",
    "终审时间",
]


def write_reviews(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return path


async def test_import_and_update(db: Database, tmp_path: Path) -> None:
    account = sample_rows(1)[0]
    await import_inventory(db, write_csv(tmp_path / "inv.csv", [account]), META, TODAY)
    p, a = account["platform"], account["account_id"]
    first = write_reviews(
        tmp_path / "r.csv",
        [
            [
                p,
                a,
                "关于开展安全检查的通知",
                "https://mp.example/1",
                "张三",
                "2026-11-20 09:00",
                "李四",
                "2026-11-20 10:00",
                "",
                "",
            ],
            [
                p,
                a,
                "",
                "https://mp.example/2",
                "张三",
                "2026-11-21T09:00:00+08:00",
                "",
                "",
                "王五",
                "2026-11-21 11:30:15",
            ],
        ],
    )
    summary = await import_reviews(db, first, NOW)
    assert (summary.added, summary.updated) == (2, 0)
    again = write_reviews(
        tmp_path / "r2.csv",
        [
            [
                p,
                a,
                "关于开展安全检查的通知",
                "https://mp.example/1",
                "张三",
                "2026-11-20 09:00",
                "李四",
                "2026-11-20 10:00",
                "王五",
                "2026-11-20 11:00",
            ]
        ],
    )
    summary = await import_reviews(db, again, NOW)
    assert (summary.added, summary.updated) == (0, 1)
    async with db.read() as conn:
        records = sorted(await reviews_for(conn, 1), key=lambda r: r.url or "")
    assert records[0].final_reviewed_at == datetime(
        2026, 11, 20, 11, 0, tzinfo=ZoneInfo("Asia/Shanghai")
    )
    assert records[1].title is None and records[1].final_reviewer == "王五"


async def test_bad_rows_refuse_everything(db: Database, tmp_path: Path) -> None:
    account = sample_rows(1)[0]
    await import_inventory(db, write_csv(tmp_path / "inv.csv", [account]), META, TODAY)
    p, a = account["platform"], account["account_id"]
    path = write_reviews(
        tmp_path / "r.csv",
        [
            [p, a, "好", "", "", "", "", "", "", ""],
            [p, a, "", "", "", "", "", "", "", ""],
            [p, "unknown", "x", "", "", "", "", "", "", ""],
            [p, a, "y", "", "", "昨天", "", "", "", ""],
        ],
    )
    with pytest.raises(ImportRefused) as refused:
        await import_reviews(db, path, NOW)
    assert [(e.row, e.column) for e in refused.value.errors] == [
        (3, "标题"),
        (4, "账号ID"),
        (5, "初审时间"),
    ]
    async with db.read() as conn:
        assert await reviews_for(conn, 1) == []

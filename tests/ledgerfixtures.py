"""Helpers for the ledger tests: accounts, a run, findings (one with personal data)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from conftest import META, sample_rows
from sqlalchemy import insert

from checks.model import Evidence, Finding, Severity
from registry import ledger
from registry.db import Database
from registry.filing import file_open
from registry.schema import runs

DETECTED = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DEADLINE = date(2026, 12, 3)
ID_NUMBER = "11010519491231002X"  # a valid GB 11643 number (the standard's example)
MOBILE = "13812345678"
HYPERLINK = '=HYPERLINK("http://evil.example/x","点此")'


async def open_accounts(db: Database, count: int, **overrides: str) -> list[int]:
    pks = []
    for index, values in enumerate(sample_rows(count)):
        receipt = await file_open(db, values | (overrides if index == 0 else {}), META)
        pks.append(receipt.account_pk)
    return pks


async def make_run(db: Database, quarter: str = "2026Q4") -> int:
    async with db.write() as conn:
        result = await conn.execute(
            insert(runs).values(
                quarter=quarter,
                scope="sample",
                as_of=DETECTED,
                started_at=DETECTED,
                status="completed",
            )
        )
        return int(result.inserted_primary_key[0])


def dormant(days: int = 20) -> Finding:
    return Finding(
        "dormant",
        Severity.VETO,
        f"监测时间点前{days}天无更新",
        (
            Evidence(
                url="https://example.gov.cn/p/1",
                title="最近一条",
                published_at=DETECTED - timedelta(days=days),
            ),
        ),
        last_post_at=DETECTED - timedelta(days=days),
    )


def privacy(url: str = "https://example.gov.cn/p/2") -> Finding:
    return Finding(
        "privacy_leak",
        Severity.SERIOUS,
        "发布内容含未去标识化的个人信息",
        (
            Evidence(
                url=url,
                title=f"办事公示 {MOBILE}",
                published_at=DETECTED - timedelta(days=1),
                excerpt=f"申请人身份证号{ID_NUMBER},联系电话{MOBILE}",
            ),
        ),
    )


async def record(
    db: Database,
    pk: int,
    findings: list[Finding],
    *,
    quarter: str = "2026Q4",
    sponsor: str = "成都市锦江区公安分局",
    deadline: date = DEADLINE,
    run_id: int | None = None,
) -> int:
    async with db.write() as conn:
        return await ledger.record_findings(
            conn,
            quarter=quarter,
            account_pk=pk,
            sponsor=sponsor,
            findings=findings,
            detected_at=DETECTED,
            deadline=deadline,
            provisional=False,
            run_id=run_id,
        )

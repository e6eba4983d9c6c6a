"""The driver-level bulk insert stores exactly what SQLAlchemy's own insert would."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select

from registry.bulk import insert_rows
from registry.db import Database
from registry.schema import accounts, filings, units

BEIJING = timezone(timedelta(hours=8))


def _account(pk: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": pk,
        "platform": "微信",
        "account_id": f"acct{pk}",
        "name": f"测试账号{pk}",
        "home_url": "",
        "feed_url": f"http://127.0.0.1/feed/{pk}",
        "sponsor_id": 1,
        "sponsor_code": "",
        "supervisor_id": None,
        "region_code": "510104",
        "opened_on": date(2020, 1, pk),
        "status": "正常",
        "status_since": date(2020, 1, pk),
        "last_effective": date(2020, 1, pk),
        "interaction": pk % 2 == 0,
        "admin": "王五",
        "phone": "",
    }
    return row | overrides


def _filing(pk: int, filed_at: datetime) -> dict[str, Any]:
    return {
        "account_pk": pk,
        "seq": 1,
        "kind": "开设",
        "effective_on": date(2020, 1, pk),
        "filed_at": filed_at,
        "filed_by": "测试员",
        "doc_no": "川府办〔2026〕1号",
        "reason": "",
        "changes": {"name": ["", f"测试账号{pk}"], "quote": ['"=1+1"', "\\"]},
        "warnings": ["提示"] if pk % 2 else [],
    }


async def test_bulk_rows_read_back_like_orm_inserted_rows(db: Database) -> None:
    filed_at = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=BEIJING)
    async with db.write() as conn:
        await conn.execute(insert(units), [{"id": 1, "name": "某局", "region_code": "510104"}])
        await conn.execute(insert(accounts), [_account(1), _account(2)])
        await insert_rows(conn, accounts, [_account(3), _account(4, supervisor_id=1)], chunk=1)
        await conn.execute(insert(filings), [_filing(1, filed_at), _filing(2, filed_at)])
        await insert_rows(conn, filings, [_filing(3, filed_at), _filing(4, filed_at)])
    async with db.read() as conn:
        stored = (await conn.execute(select(accounts).order_by(accounts.c.id))).mappings().all()
        stored_filings = (
            (await conn.execute(select(filings).order_by(filings.c.account_pk))).mappings().all()
        )
    for row in stored:
        assert dict(row) == _account(row["id"], supervisor_id=row["supervisor_id"])
    assert [r["supervisor_id"] for r in stored] == [None, None, None, 1]
    for row in stored_filings:
        expected = _filing(row["account_pk"], filed_at.astimezone(UTC))
        assert {k: row[k] for k in expected} == expected
    assert [r["id"] for r in stored_filings] == [1, 2, 3, 4]


async def test_bulk_insert_refuses_rows_without_a_python_default_column(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(insert(units), [{"id": 1, "name": "某局", "region_code": "510104"}])
        row = _account(1)
        del row["admin"]  # has a Python-side default that the bulk path does not apply
        with pytest.raises(ValueError, match="accounts"):
            await insert_rows(conn, accounts, [row])

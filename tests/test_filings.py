"""Single filings through the core API: lifecycle refusals, uniqueness, warnings, history."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from conftest import META, TODAY, sample_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from registry import queries
from registry.db import Database
from registry.filing import FilingRefused, file_on_account, file_open
from registry.lifecycle import Kind
from registry.schema import filings


async def open_sample(db: Database, index: int = 0, **overrides: str) -> int:
    values = sample_rows(index + 1)[index] | overrides
    receipt = await file_open(db, values, META)
    return receipt.account_pk


async def filing_count(db: Database) -> int:
    async with db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(filings))).scalar_one()


async def test_open_change_close_deregister_with_history(db: Database) -> None:
    pk = await open_sample(db)
    earlier = TODAY - timedelta(days=2)
    await file_on_account(db, str(pk), Kind.CHANGE, META, earlier, {"name": "锦江公安"})
    await file_on_account(db, str(pk), Kind.CLOSE, META, TODAY - timedelta(days=1))
    await file_on_account(db, str(pk), Kind.DEREGISTER, META, TODAY)
    record = await queries.get_account(db, str(pk))
    assert record is not None
    assert [f.kind for f in record.filings] == [Kind.OPEN, Kind.CHANGE, Kind.CLOSE, Kind.DEREGISTER]
    assert record.fields["status"] == "注销"
    as_of = record.state_as_of(earlier)
    assert as_of is not None and (as_of.fields["name"], as_of.fields["status"]) == (
        "锦江公安",
        "正常",
    )


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([Kind.DEREGISTER, Kind.CHANGE], "已注销"),
        ([Kind.DEREGISTER, Kind.CLOSE], "已注销"),
        ([Kind.CLOSE, Kind.CLOSE], "已关停"),
    ],
)
async def test_lifecycle_refusals_write_nothing(
    db: Database, steps: list[Kind], message: str
) -> None:
    pk = await open_sample(db)
    *allowed, refused = steps
    for kind in allowed:
        await file_on_account(db, str(pk), kind, META, TODAY)
    before = await filing_count(db)
    with pytest.raises(FilingRefused, match=message):
        await file_on_account(
            db, str(pk), refused, META, TODAY, {"name": "新"} if refused is Kind.CHANGE else None
        )
    assert await filing_count(db) == before


async def test_platform_account_id_claimed_twice_is_refused(db: Database) -> None:
    first = await open_sample(db, 0)
    second_values = sample_rows(2)[1]
    await file_open(db, second_values, META)
    platform, account_id = second_values["platform"], second_values["account_id"]
    with pytest.raises(FilingRefused, match="已由账号"):
        await file_open(db, second_values | {"name": "另一个"}, META)
    record = await queries.get_account(db, str(first))
    assert record is not None
    if record.fields["platform"] == platform:
        with pytest.raises(FilingRefused, match="已由账号"):
            await file_on_account(
                db, str(first), Kind.CHANGE, META, TODAY, {"account_id": account_id}
            )


async def test_bad_field_is_named(db: Database) -> None:
    with pytest.raises(FilingRefused, match=r"sponsor_code \(主办单位统一社会信用代码\)"):
        await open_sample(db, sponsor_code="123")
    with pytest.raises(FilingRefused, match="region_code"):
        await open_sample(db, region_code="")


async def test_unknown_account_reference(db: Database) -> None:
    with pytest.raises(FilingRefused, match="找不到账号"):
        await file_on_account(db, "微博:nope", Kind.CLOSE, META, TODAY)


async def test_warnings_are_recorded_not_refused(db: Database) -> None:
    pk = await open_sample(db)
    record = await queries.get_account(db, str(pk))
    assert record is not None
    twin = sample_rows(2)[1] | {
        k: record.fields[k] for k in ("platform", "sponsor", "sponsor_code")
    }
    receipt = await file_open(db, twin | {"name": "好声音"}, META)
    assert len(receipt.warnings) == 2
    stored = await queries.get_account(db, str(receipt.account_pk))
    assert stored is not None and stored.filings[0].warnings == receipt.warnings


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from([Kind.CHANGE, Kind.CLOSE, Kind.DEREGISTER, Kind.REOPEN]),
            st.integers(0, 3),
            st.sampled_from(["甲", "乙"]),
        ),
        max_size=8,
    )
)
async def test_projection_always_equals_replay_of_stored_filings(
    db: Database, steps: list[tuple[Kind, int, str]]
) -> None:
    index = await filing_count(db)
    pk = await open_sample(db, index % 50, account_id=f"prop{index}")
    day = TODAY
    for kind, gap, name in steps:
        day += timedelta(days=gap)
        with contextlib.suppress(FilingRefused):
            await file_on_account(
                db, str(pk), kind, META, day, {"name": name} if kind is Kind.CHANGE else None
            )
        record = await queries.get_account(db, str(pk))
        assert record is not None
        replayed = record.state_as_of(day + timedelta(days=365))
        assert replayed is not None and dict(replayed.fields) == record.fields


async def test_a_filing_dated_after_the_day_it_is_filed_is_refused(db: Database) -> None:
    """A closure filed today for next month would show the account closed at once, and no
    filing dated before it could follow."""
    pk = await open_sample(db)
    with pytest.raises(FilingRefused, match=f"生效日期 {TODAY + timedelta(days=1)} 晚于备案当天"):
        await file_on_account(db, str(pk), Kind.CLOSE, META, TODAY + timedelta(days=1))
    record = await queries.get_account(db, str(pk))
    assert record is not None and [f.kind for f in record.filings] == [Kind.OPEN]


async def test_a_change_cannot_move_the_opening_date_past_the_change(db: Database) -> None:
    pk = await open_sample(db)
    with pytest.raises(FilingRefused, match="开设日期 2030-01-01 晚于本次变更的生效日期"):
        await file_on_account(db, str(pk), Kind.CHANGE, META, TODAY, {"opened_on": "2030-01-01"})

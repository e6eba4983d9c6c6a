"""The quarter's sample in the database: persisted, refused twice unless redrawn, shown."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from conftest import META, TODAY, sample_rows, write_csv
from monitorfixtures import monitor_settings

from monitor.quarter import Quarter
from monitor.run import Context, RunRequest, run_inspection
from monitor.samples import DrawRequest, SampleRefused, draw_sample, show_sample
from monitor.sampling import SamplingSettings
from registry.db import Database
from registry.inventory import import_inventory
from registry.times import SHANGHAI

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
Q = Quarter(2026, 4)
SETTINGS = SamplingSettings()


async def test_draw_show_refuse_and_redraw(db: Database, tmp_path: Path) -> None:
    rows = sample_rows(60)
    rows[0]["status"] = "关停"
    await import_inventory(db, write_csv(tmp_path / "inv.csv", rows), META, TODAY)
    sample_id, drawn = await draw_sample(db, SETTINGS, DrawRequest(Q, "审计员", NOW, seed=7))
    assert drawn.population_size == 59 and drawn.size >= 59 / 4
    shown = await show_sample(db, Q)
    assert shown["sample_id"] == sample_id and shown["seed"] == 7 and shown["size"] == drawn.size
    assert shown["drawn_at"] == NOW and shown["drawn_at"].utcoffset().total_seconds() == 8 * 3600
    assert {m["id"] for m in shown["members"]} == set(drawn.keys())
    assert {m["reason_label"] for m in shown["members"]} <= {"轮换必查", "随机抽取", "逾期复查"}
    assert drawn.reason_of(1) is None  # a closed account is not in the population

    with pytest.raises(SampleRefused, match="--redraw"):
        await draw_sample(db, SETTINGS, DrawRequest(Q, "审计员", NOW, seed=8))
    again_id, again = await draw_sample(
        db, SETTINGS, DrawRequest(Q, "审计员", NOW, seed=7, redraw=True)
    )
    assert again.keys() == drawn.keys()  # same quarter, seed and inventory: same sample
    redrawn = await show_sample(db, Q)
    assert redrawn["sample_id"] == again_id and redrawn["replaces"] == sample_id


async def test_below_minimum_ratio_refused_unless_allowed(db: Database, tmp_path: Path) -> None:
    await import_inventory(db, write_csv(tmp_path / "inv.csv", sample_rows(20)), META, TODAY)
    with pytest.raises(SampleRefused):
        await draw_sample(db, SETTINGS, DrawRequest(Q, "x", NOW, seed=1, ratio=0.1))
    _, drawn = await draw_sample(
        db, SETTINGS, DrawRequest(Q, "x", NOW, seed=1, ratio=0.1, allow_below_minimum=True)
    )
    assert drawn.ratio == 0.1


async def test_show_before_draw_is_refused(db: Database) -> None:
    with pytest.raises(SampleRefused, match="尚未抽样"):
        await show_sample(db, Q)


async def test_accounts_whose_inspection_never_completes_take_turns(
    db: Database, tmp_path: Path
) -> None:
    """Eight accounts without a feed (every inspection incomplete), two drawn a quarter: each
    is drawn once in four quarters, not at random again each quarter."""
    rows = sample_rows(8)
    for index, row in enumerate(rows):
        row.update(region_code="510104", platform="微信公众号", feed_url="")
        row.update(account_id=f"wx{index}", sponsor=f"成都市锦江区单位{index}")
    await import_inventory(db, write_csv(tmp_path / "inv.csv", rows), META, TODAY)
    context = Context.from_settings(monitor_settings())
    drawn: list[int] = []
    for quarter in (Quarter(2026, 1), Quarter(2026, 2), Quarter(2026, 3), Quarter(2026, 4)):
        now = datetime(2026, 3 * quarter.q - 1, 15, 9, 0, tzinfo=SHANGHAI)
        _, sample = await draw_sample(db, SETTINGS, DrawRequest(quarter, "t", now, seed=1))
        summary = await run_inspection(db, context, RunRequest(quarter, as_of=now, now=now))
        assert summary.incomplete_by_reason == {"no_feed": 2}
        drawn += sample.keys()
    assert sorted(drawn) == list(range(1, 9))

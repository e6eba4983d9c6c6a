"""The quarter's sample in the database: persisted, refused twice unless redrawn, shown."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from conftest import META, TODAY, sample_rows, write_csv

from monitor.quarter import Quarter
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

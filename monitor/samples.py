"""The quarter's sample in the database: drawn once (or redrawn on purpose), shown with reasons."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.quarter import Quarter
from monitor.sampling import (
    REASON_LABELS,
    Candidate,
    Draw,
    Reason,
    SamplingError,
    SamplingSettings,
    draw,
)
from registry import ledger, monitoring
from registry.db import Database
from registry.errors import Refused
from registry.times import SHANGHAI, shanghai_today


class SampleRefused(Refused):
    """A draw that was refused (a sample exists, or the ratio is below the minimum)."""


@dataclass(frozen=True, slots=True)
class DrawRequest:
    quarter: Quarter
    drawn_by: str
    now: datetime
    seed: int | None = None
    ratio: float | None = None
    allow_below_minimum: bool = False
    redraw: bool = False


async def draw_in(
    conn: AsyncConnection, settings: SamplingSettings, request: DrawRequest
) -> tuple[int, Draw]:
    """Draw and store the quarter's sample inside the caller's write transaction."""
    quarter = str(request.quarter)
    existing = await monitoring.current_sample(conn, quarter)
    if existing is not None and not request.redraw:
        raise SampleRefused(
            f"{quarter} 已于 {existing['drawn_at']:%Y-%m-%d} 抽样(样本 #{existing['id']});如需重新抽样请加 --redraw(将留档)"
        )
    population = [
        Candidate(
            pk,
            region,
            platform,
            Quarter.parse(inspected) if inspected else None,
            Quarter.parse(attempted) if attempted else None,
        )
        for pk, region, platform, inspected, attempted in await monitoring.sampling_population(conn)
    ]
    keys = {c.key for c in population}
    recheck = (await ledger.overdue_account_pks(conn, today=shanghai_today(request.now))) & keys
    seed = request.seed if request.seed is not None else secrets.randbits(48)
    try:
        result = draw(
            request.quarter,
            seed,
            population,
            ratio=request.ratio if request.ratio is not None else settings.ratio,
            recheck=recheck,
            allow_below_minimum=request.allow_below_minimum,
            minimum_ratio=settings.minimum_ratio,
            rotation_quarters=settings.rotation_quarters,
        )
    except SamplingError as exc:
        raise SampleRefused(str(exc)) from exc
    record = result.to_dict()
    sample_id = await monitoring.store_sample(
        conn,
        quarter=quarter,
        seed=seed,
        algorithm=result.algorithm,
        ratio=result.ratio,
        population_size=result.population_size,
        population_digest=result.population_digest,
        strata=record["strata"],
        members=[(m.key, str(m.reason), str(m.stratum)) for m in result.members],
        drawn_at=request.now,
        drawn_by=request.drawn_by,
        replaces=existing["id"] if existing is not None else None,
    )
    return sample_id, result


async def draw_sample(
    db: Database, settings: SamplingSettings, request: DrawRequest
) -> tuple[int, Draw]:
    async with db.write() as conn:
        return await draw_in(conn, settings, request)


async def show_sample(db: Database, quarter: Quarter) -> dict[str, Any]:
    """The current sample of ``quarter`` with every member and why it is in."""
    async with db.read() as conn:
        sample = await monitoring.current_sample(conn, str(quarter))
        if sample is None:
            raise SampleRefused(f"{quarter} 尚未抽样(govmedia sample draw --quarter {quarter})")
        members = await monitoring.sample_listing(conn, sample["id"])
    return {
        "sample_id": sample["id"],
        "quarter": sample["quarter"],
        "seed": sample["seed"],
        "algorithm": sample["algorithm"],
        "ratio": sample["ratio"],
        "population": sample["population_size"],
        "population_digest": sample["population_digest"],
        "drawn_at": sample["drawn_at"].astimezone(SHANGHAI),
        "drawn_by": sample["drawn_by"],
        "replaces": sample["replaces"],
        "size": len(members),
        "strata": sample["strata"],
        "members": [
            {
                "id": m["id"],
                "platform": m["platform"],
                "account_id": m["account_id"],
                "name": m["name"],
                "sponsor": m["sponsor"],
                "region_code": m["region_code"],
                "stratum": m["stratum"],
                "reason": m["reason"],
                "reason_label": REASON_LABELS[Reason(m["reason"])],
            }
            for m in members
        ],
    }

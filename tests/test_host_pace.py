"""A throttled host's minimum interval held across worker processes (PostgreSQL): each
worker's fetcher reserves its send times in the database, so together they never send to the
host faster than ``min_interval_s``."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from functools import partial

import pytest
from conftest import pg_url, reset_postgres
from simfixtures import fast_settings

from monitor.feed_workers import ParsePool
from monitor.fetch import Fetcher
from monitor.fetch_settings import HostLimits
from monitor.simserver import SimConfig, running
from registry import host_pace, migrate
from registry.db import Database

INTERVAL = 0.25


@pytest.fixture
async def pg() -> AsyncIterator[Database]:
    url = pg_url()
    await reset_postgres(url)
    database = Database(url)
    await migrate.upgrade(database)
    yield database
    await database.close()


async def gaps_of_two_workers(db: Database | None) -> list[float]:
    """Two fetchers (two workers' worth) read 4 feeds each from one host limited to a request
    every INTERVAL; the gaps between the requests the host saw."""
    settings = fast_settings(hosts={"127.0.0.1": HostLimits(min_interval_s=INTERVAL)})
    pacer = partial(host_pace.reserve, db) if db is not None else None
    async with (
        running(SimConfig(record_requests=True)) as sim,
        ParsePool(workers=1) as pool,
        Fetcher(settings, pool=pool, pacer=pacer) as first,
        Fetcher(settings, pool=pool, pacer=pacer) as second,
    ):
        await asyncio.gather(
            *(
                f.fetch(sim.feed_url(f"{name}{i}"))
                for f, name in ((first, "a"), (second, "b"))
                for i in range(4)
            )
        )
        arrivals = sorted(record.at for record in sim.state.log)
    assert len(arrivals) == 8
    return [later - earlier for earlier, later in itertools.pairwise(arrivals)]


async def test_workers_share_a_hosts_minimum_interval(pg: Database) -> None:
    gaps = await gaps_of_two_workers(pg)
    assert min(gaps) >= INTERVAL - 0.02, gaps


async def test_without_the_shared_pace_two_workers_are_too_fast() -> None:
    gaps = await gaps_of_two_workers(None)  # each paces only itself
    assert min(gaps) < INTERVAL / 2, gaps


async def test_reserve_hands_out_consecutive_slots(pg: Database) -> None:
    waits = [await host_pace.reserve(pg, "weibo.com", 0.5) for _ in range(3)]
    assert waits[0] == 0.0
    assert 0.4 < waits[1] <= 0.5 and 0.9 < waits[2] <= 1.0
    assert await host_pace.reserve(pg, "other.example", 0.5) == 0.0  # hosts are apart


async def test_a_failing_pacer_leaves_the_process_pacing_itself() -> None:
    async def broken(host: str, interval: float) -> float:
        raise ConnectionError("database away")

    settings = fast_settings(hosts={"127.0.0.1": HostLimits(min_interval_s=INTERVAL)})
    async with (
        running(SimConfig(record_requests=True)) as sim,
        ParsePool(workers=1) as pool,
        Fetcher(settings, pool=pool, pacer=broken) as fetcher,
    ):
        results = await asyncio.gather(*(fetcher.fetch(sim.feed_url(f"c{i}")) for i in range(3)))
        arrivals = sorted(record.at for record in sim.state.log)
    assert all(result.ok for result in results)
    assert min(b - a for a, b in itertools.pairwise(arrivals)) >= INTERVAL - 0.02

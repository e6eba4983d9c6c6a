"""Inspection runs end to end against the simulated platform: outcomes, ledger, resumption."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from conftest import META, TODAY
from monitorfixtures import monitor_settings, seed_inventory
from simfixtures import serve
from sqlalchemy import func, select

from monitor import run as run_module
from monitor import simserver
from monitor.quarter import Quarter
from monitor.run import Context, RunRequest, run_inspection
from monitor.simserver import AccountBehaviour, Fault, SimConfig
from monitor.singleton import AlreadyRunning
from registry import monitoring
from registry.db import Database
from registry.filing import file_on_account
from registry.lifecycle import Kind
from registry.schema import feed_states, inspections, ledger_entries
from registry.times import SHANGHAI

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
Q = Quarter(2026, 4)


def request(**overrides: object) -> RunRequest:
    base: dict[str, object] = {"quarter": Q, "as_of": NOW, "now": NOW, "all_accounts": True}
    return RunRequest(**(base | overrides))  # type: ignore[arg-type]


async def problems(db: Database) -> dict[int, set[str]]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(ledger_entries.c.account_pk, ledger_entries.c.problem_code)
        )
        found: dict[int, set[str]] = {}
        for pk, code in rows:
            found.setdefault(pk, set()).add(code)
        return found


async def outcomes(db: Database) -> dict[int, tuple[str, str | None]]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(inspections.c.account_pk, inspections.c.outcome, inspections.c.incomplete_reason)
        )
        return {pk: (outcome, reason) for pk, outcome, reason in rows}


async def test_outcomes_by_fault_and_the_ledger(db: Database, tmp_path: Path) -> None:
    behaviours = {
        1: AccountBehaviour(),
        2: AccountBehaviour(fault=Fault.DORMANT, dormant_age=timedelta(days=20)),
        3: AccountBehaviour(fault=Fault.DORMANT, dormant_age=timedelta(days=120)),
        4: AccountBehaviour(fault=Fault.NOT_FOUND),
        5: AccountBehaviour(fault=Fault.GONE),
        6: AccountBehaviour(fault=Fault.CHALLENGE),
        7: AccountBehaviour(fault=Fault.SLOW, slow_s=3.0),
        8: AccountBehaviour(fault=Fault.ERROR_THEN_OK),
        9: AccountBehaviour(fault=Fault.EMPTY),
        10: AccountBehaviour(fault=Fault.ALWAYS_ERROR),
        11: AccountBehaviour(fault=Fault.MALFORMED),
    }
    async with simserver.running(SimConfig(now=NOW)) as sim:
        rows = await seed_inventory(db, tmp_path, sim.url, len(behaviours))
        sim.app[simserver.SIM_CONFIG].accounts = {
            rows[pk - 1]["account_id"]: b for pk, b in behaviours.items()
        }
        summary = await run_inspection(db, Context.from_settings(monitor_settings()), request())
    assert summary.completed and summary.inspected == len(behaviours)
    found = await outcomes(db)
    assert found[1] == ("passed", None)
    assert found[8] == ("passed", None)  # 500 then 200: retried
    assert found[6] == ("incomplete", "blocked")
    assert found[7] == ("incomplete", "timeout")
    assert found[10] == ("incomplete", "http_error")
    assert found[11][0] == "incomplete"
    assert found[2] == ("failed", None)  # dormant: a veto item
    assert found[4] == ("passed", None)  # unreachable is serious, not a veto: ledgered, passes
    ledger = await problems(db)
    assert ledger[2] == {"dormant"}
    assert "zombie" in ledger[3] and "dormant" not in ledger[3]
    assert ledger[4] == {"unreachable"} and ledger[5] == {"unreachable"}
    assert ledger[9] == {"empty_shell"}
    assert not {1, 6, 7, 8, 10, 11} & set(ledger)  # no problem made of a failed fetch
    assert summary.failed_by_problem["unreachable"] == 2
    assert summary.incomplete_by_reason["blocked"] == 1
    assert summary.parse_cpu_ms is not None and 0 < min(summary.parse_cpu_ms) < 1000
    median, mean = summary.parse_cpu_ms
    assert summary.as_json()["parse_cpu_ms"] == {"median": median, "mean": mean}


async def test_closed_account_still_publishing_is_a_filing_mismatch(
    db: Database, tmp_path: Path
) -> None:
    async with simserver.running(SimConfig(now=NOW)) as sim:
        await seed_inventory(db, tmp_path, sim.url, 2)
        await file_on_account(db, "2", Kind.CLOSE, META, TODAY - timedelta(days=30))
        await run_inspection(db, Context.from_settings(monitor_settings()), request())
    assert (await problems(db)).get(2) == {"filing_mismatch"}


async def test_accounts_are_loaded_page_by_page(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_module, "TARGET_PAGE", 3)
    listed = monitoring.pending

    async def pending_and_a_vanished_account(*args: Any) -> list[tuple[int, str]]:
        return [*await listed(*args), (999, "http://127.0.0.1:1/feed/gone")]

    monkeypatch.setattr(monitoring, "pending", pending_and_a_vanished_account)
    seen: list[tuple[int, int]] = []
    async with simserver.running(SimConfig(now=NOW)) as sim:
        await seed_inventory(db, tmp_path, sim.url, 8)
        summary = await run_inspection(
            db,
            Context.from_settings(monitor_settings()),
            request(),
            progress=lambda done, total: seen.append((done, total)),
        )
    assert summary.completed and summary.inspected == 8
    assert sorted(await outcomes(db)) == list(range(1, 9))  # each account once, 999 skipped
    assert [done for done, _ in seen] == list(range(1, 9))
    assert {total for _, total in seen} == {9}  # as listed at the start


async def test_stopped_run_resumes_without_doubling(db: Database, tmp_path: Path) -> None:
    context = Context.from_settings(monitor_settings(concurrency=2))
    async with simserver.running(
        SimConfig(
            now=NOW,
            latency_s=0.05,
            default=AccountBehaviour(fault=Fault.DORMANT, dormant_age=timedelta(days=30)),
        )
    ) as sim:
        await seed_inventory(db, tmp_path, sim.url, 12)
        stop = asyncio.Event()

        def progress(done: int, total: int) -> None:
            if done >= 4:
                stop.set()

        first = await run_inspection(db, context, request(), progress=progress, stop=stop)
        assert not first.completed and 4 <= first.inspected < 12
        second = await run_inspection(db, context, request())
        assert second.resumed and second.run_id == first.run_id and second.completed
        assert second.targets == 12 - first.inspected  # only what was left
        # the summary is the whole run's, as stored, however many invocations it took
        assert (second.inspected, second.failed, second.new_entries) == (12, 12, 12)
        async with db.read() as conn:
            stored = (await monitoring.run_by_id(conn, second.run_id)).summary  # type: ignore[union-attr]
        assert (stored["inspected"], stored["new_ledger_entries"]) == (12, 12)
        third = await run_inspection(db, context, request())
        assert third.targets == 0 and third.run_id != first.run_id
    async with db.read() as conn:
        per_account = await conn.execute(
            select(inspections.c.account_pk, func.count()).group_by(inspections.c.account_pk)
        )
        assert sorted(n for _, n in per_account) == [1] * 12
        entries = (
            await conn.execute(select(func.count()).select_from(ledger_entries))
        ).scalar_one()
    assert entries == 12  # one dormant entry per account, none doubled


async def test_sample_run_draws_the_quarter_and_inspects_only_it(
    db: Database, tmp_path: Path
) -> None:
    async with simserver.running(SimConfig(now=NOW)) as sim:
        await seed_inventory(db, tmp_path, sim.url, 40)
        summary = await run_inspection(
            db, Context.from_settings(monitor_settings()), request(all_accounts=False)
        )
    assert summary.scope == "sample" and summary.completed
    assert 10 <= summary.inspected < 40  # at least a quarter of every stratum, not everyone
    assert sum(sim.state.requests.values()) == summary.inspected


async def test_second_quarter_uses_conditional_get(db: Database, tmp_path: Path) -> None:
    context = Context.from_settings(monitor_settings())
    async with simserver.running(SimConfig(now=NOW)) as sim:
        await seed_inventory(db, tmp_path, sim.url, 3)
        await run_inspection(db, context, request())
        async with db.read() as conn:
            assert (
                await conn.execute(select(func.count()).where(feed_states.c.etag.is_not(None)))
            ).scalar_one() == 3
        later = NOW + timedelta(days=1)
        summary = await run_inspection(
            db, context, request(quarter=Quarter(2027, 1), as_of=later, now=later)
        )
        assert sim.state.not_modified == 3
        assert sum(sim.state.requests.values()) == 6  # no second read: the posts were kept
    assert summary.passed == 3  # the posts kept from the first read were checked again


async def test_validators_of_an_unreadable_200_are_not_kept(db: Database, tmp_path: Path) -> None:
    """A 200 whose body cannot be parsed leaves no validators: a later 304 to them would
    bring back the copy of an older response as if it were that one."""
    sent: list[str | None] = []
    body = {"n": 1}
    feed = (
        '<rss version="2.0"><channel><title>t</title><item><title>通知</title>'
        "<pubDate>Thu, 19 Nov 2026 08:00:00 +0800</pubDate></item></channel></rss>"
    ).encode()

    async def handler(req: web.Request) -> web.Response:
        sent.append(req.headers.get("If-None-Match"))
        if body["n"] == 2:  # an unreadable 200 with a new validator
            return web.Response(
                body=b"<html>\xe7\xbb\xb4\xe6\x8a\xa4</html>", headers={"ETag": '"v2"'}
            )
        if req.headers.get("If-None-Match") == '"v2"':
            return web.Response(status=304, headers={"ETag": '"v2"'})
        return web.Response(body=feed, headers={"ETag": f'"v{body["n"]}"'})

    context = Context.from_settings(monitor_settings())
    async with serve({"/feed/{aid}": handler}) as base:
        await seed_inventory(db, tmp_path, base, 1)
        for n, quarter in enumerate((Q, Quarter(2027, 1), Quarter(2027, 2)), 1):
            body["n"] = n
            at = NOW + timedelta(days=1 + n)
            await run_inspection(db, context, request(quarter=quarter, as_of=at, now=at))
            async with db.read() as conn:
                etag = (await conn.execute(select(feed_states.c.etag))).scalar_one()
            assert etag == {1: '"v1"', 2: None, 3: '"v3"'}[n]
    assert sent == [None, '"v1"', None]  # the third read is a full one, not a 304 to "v2"
    async with db.read() as conn:
        statuses = (await conn.execute(select(inspections.c.fetch_status).order_by("id"))).scalars()
        assert list(statuses) == ["ok", "parse_error", "ok"]


async def test_a_second_run_on_the_database_is_refused_while_one_inspects(
    db: Database, tmp_path: Path
) -> None:
    """Two processes on one run overwrote each other's outcomes (a late timeout replaced a
    finished inspection). A second in-process run is refused while one inspects, and an
    incomplete outcome never replaces a complete one."""
    settings = monitor_settings()
    async with simserver.running(SimConfig(now=NOW, latency_s=0.5)) as sim:
        await seed_inventory(db, tmp_path, sim.url, 3)
        context = Context.from_settings(settings)
        first = asyncio.create_task(run_inspection(db, context, request()))
        await asyncio.sleep(0.2)
        with pytest.raises(AlreadyRunning, match="正在对数据库"):
            await run_inspection(db, context, request())
        summary = await first
    assert summary.completed and summary.inspected == 3
    assert await run_inspection(db, context, request()) is not None  # the lock was let go
    finished = await outcomes(db)
    late = monitoring.Outcome(pk=1, outcome="incomplete", findings=[], inspected_at=NOW,
                              incomplete_reason="timeout")  # fmt: skip
    async with db.write() as conn:
        await monitoring.save_outcomes(conn, summary.run_id, [late])
    assert await outcomes(db) == finished

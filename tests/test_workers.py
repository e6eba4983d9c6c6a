"""`govmedia monitor worker` on PostgreSQL: several processes share one run through leased work
items; a killed worker's accounts go to the others; the run completes exactly once."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import META, TODAY, pg_url, reset_postgres, sample_rows, write_csv
from monitorfixtures import monitor_settings, seed_inventory
from procs import GOVMEDIA, sim_server
from sqlalchemy import func, select, text

from monitor import simserver
from monitor.daemon import Daemon
from monitor.quarter import Quarter
from monitor.run import Context, RunRefused, RunRequest, run_inspection
from monitor.simserver import SimConfig
from monitor.worker import Worker, WorkerSettings, hand_to_workers
from registry import ledger, migrate, run_items
from registry.db import Database
from registry.inventory import import_inventory
from registry.schema import inspections, ledger_entries, ledger_events, runs
from registry.schema import run_items as items
from registry.times import SHANGHAI

AS_OF = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
ACCOUNTS = 3000


def write_config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text(
        """
[workers]
batch = 25
lease_s = 2.0
poll_s = 0.3
[fetch]
concurrency = 20
connect_timeout_s = 2.0
total_timeout_s = 5.0
backoff_base_s = 0.01
backoff_cap_s = 0.05
parse_workers = 1
[checks.unreviewed_post]
enabled = false
[logging]
level = "warning"
""",
        encoding="utf-8",
    )
    return path


async def prepare(url: str, folder: Path, feed_base: str, count: int) -> int:
    """A fresh schema, ``count`` accounts on the sim server and a run handed to workers."""
    await reset_postgres(url)
    db = Database(url)
    await migrate.upgrade(db)
    rows = sample_rows(count, seed=11)
    for row in rows:
        row["feed_url"] = f"{feed_base}/feed/{row['account_id']}"
    await import_inventory(db, write_csv(folder / "inventory.csv", rows), META, TODAY)
    request = RunRequest(Quarter(2026, 4), AS_OF, AS_OF, all_accounts=True)
    stop = asyncio.Event()
    stop.set()  # the daemon's part only: open the run and fill its items, do not wait
    summary = await hand_to_workers(
        db, Context.from_settings(monitor_settings()), request, stop=stop
    )
    await db.close()
    return summary.run_id


async def scalar(url: str, query: object) -> object:
    db = Database(url)
    try:
        async with db.read() as conn:
            return (await conn.execute(query)).scalar()  # type: ignore[call-overload]
    finally:
        await db.close()


def done_items(url: str, owner: str | None = None) -> int:
    query = select(func.count()).select_from(items).where(items.c.state == "done")
    if owner is not None:
        query = query.where(items.c.lease_owner == owner)
    return int(asyncio.run(scalar(url, query)))  # type: ignore[call-overload]


def held(url: str, owner: str) -> int:
    query = (
        select(func.count())
        .select_from(items)
        .where(items.c.state == "claimed", items.c.lease_owner == owner)
    )
    return int(asyncio.run(scalar(url, query)))  # type: ignore[call-overload]


def start_worker(url: str, config: Path, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*GOVMEDIA, "monitor", "worker", "--once", "--json", "--name", name,
         "--config", str(config), "--db", url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_three_workers_share_a_run_and_survive_a_sigkill(tmp_path: Path) -> None:
    url = pg_url()
    config = write_config(tmp_path)
    with sim_server(
        "--latency-ms", "5", "--items", "5", "--item-bytes", "500",
        "--now", AS_OF.isoformat(), "--fault-mix", "dormant=0.1,gone=0.02,empty=0.02",
    ) as base:  # fmt: skip
        run_id = asyncio.run(prepare(url, tmp_path, base, ACCOUNTS))
        workers = {name: start_worker(url, config, name) for name in ("w1", "w2", "w3")}
        victim = workers["w3"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if done_items(url, "w3") >= 150 and held(url, "w3") > 0:
                break
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        orphaned = held(url, "w3")
        killed_at = done_items(url)
        assert orphaned > 0 and killed_at < ACCOUNTS, "w3 was not killed mid-run"
        reports = {}
        for name in ("w1", "w2"):
            out, err = workers[name].communicate(timeout=120)
            assert workers[name].returncode == 0, err[-2000:]
            reports[name] = json.loads(out)
    by_w3 = done_items(url, "w3")
    # Every account was written exactly once: by the survivors (as they report) or by w3
    # before it died; nothing a worker wrote was written again by another.
    assert sum(r["inspected"] for r in reports.values()) + by_w3 == ACCOUNTS
    assert done_items(url) == ACCOUNTS and held(url, "w3") == 0
    survivors = done_items(url, "w1") + done_items(url, "w2")
    assert survivors == ACCOUNTS - by_w3
    retaken = asyncio.run(
        scalar(url, select(func.count()).select_from(items).where(items.c.attempts > 1))
    )
    assert int(retaken) >= orphaned  # type: ignore[call-overload]
    # The run completed exactly once, by one of the survivors.
    completions = [name for name, r in reports.items() if r["completed_runs"] == [run_id]]
    assert len(completions) == 1
    asyncio.run(check_database(url, run_id))


async def check_database(url: str, run_id: int) -> None:
    db = Database(url)
    try:
        async with db.read() as conn:
            per_account = [
                n
                for _, n in await conn.execute(
                    select(inspections.c.account_pk, func.count()).group_by(
                        inspections.c.account_pk
                    )
                )
            ]
            assert len(per_account) == ACCOUNTS and set(per_account) == {1}
            run = (await conn.execute(select(runs).where(runs.c.id == run_id))).mappings().one()
            assert run["status"] == "completed" and run["summary"]["inspected"] == ACCOUNTS
            entries = [
                tuple(row)
                for row in await conn.execute(
                    select(
                        ledger_entries.c.quarter,
                        ledger_entries.c.account_pk,
                        ledger_entries.c.problem_code,
                    )
                )
            ]
            assert entries and len(entries) == len(set(entries))
            created = [
                entry
                for (entry,) in await conn.execute(
                    select(ledger_events.c.entry_id).where(ledger_events.c.kind == "created")
                )
            ]
            assert len(created) == len(set(created)) == len(entries)
            assert run["summary"]["new_ledger_entries"] == len(entries)
        verified = await ledger.verify(db)
        assert verified.ok, verified.first
    finally:
        await db.close()


async def test_lease_protocol(tmp_path: Path) -> None:
    """Claims never overlap; an expired lease is taken over; the old holder then writes nothing."""
    url = pg_url()
    with sim_server("--items", "3", "--item-bytes", "200") as base:
        run_id = await prepare(url, tmp_path, base, 30)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            first = await run_items.claim(conn, run_id, "a", 20, 60.0)
            second = await run_items.claim(conn, run_id, "b", 20, 60.0)
        assert len(first) == 20 and len(second) == 10 and not set(first) & set(second)
        async with db.engine.begin() as conn:
            assert await run_items.claim(conn, run_id, "c", 20, 60.0) == []
            await conn.execute(  # a's lease runs out
                text("UPDATE run_items SET lease_until = now() - interval '1 second' "
                     "WHERE lease_owner = 'a'")
            )  # fmt: skip
            taken = await run_items.claim(conn, run_id, "c", 5, 60.0)
        assert taken == first[:5]
        async with db.write() as conn:
            assert await run_items.mark_done(conn, run_id, first, "a") == set(first[5:])
            assert await run_items.mark_done(conn, run_id, taken, "c") == set(taken)
            assert await run_items.open_count(conn, run_id) == 10
        async with db.engine.begin() as conn:
            assert await run_items.release(conn, run_id, "b") == 10
            assert sorted(await run_items.claim(conn, run_id, "d", 50, 60.0)) == second
    finally:
        await db.close()


async def test_daemon_hands_its_run_to_workers(tmp_path: Path) -> None:
    """[workers] enabled: the daemon opens the run and waits; in-process workers complete it."""
    url = pg_url()
    await reset_postgres(url)
    db = Database(url)
    await migrate.upgrade(db)
    settings = monitor_settings()
    settings["workers"].update(enabled=True, poll_s=0.1, batch=4)
    try:
        async with simserver.running(SimConfig(now=AS_OF)) as sim:
            await seed_inventory(db, tmp_path, sim.url, 20)
            daemon = Daemon(db, settings, clock=lambda: AS_OF)
            assert daemon.shared
            context = Context.from_settings(settings)
            workers = WorkerSettings.from_config(settings["workers"])
            quarterly = asyncio.create_task(daemon.quarterly())
            while True:  # wait for the daemon to open the run
                async with db.read() as conn:
                    if await run_items.open_runs(conn):
                        break
                await asyncio.sleep(0.05)
            reports = await asyncio.gather(
                *(Worker(db, context, workers, name=f"in{i}").serve(once=True) for i in range(2))
            )
            await asyncio.wait_for(quarterly, 10)
        assert daemon.metrics.runs_completed == 1
        async with db.read() as conn:  # the quarter's sample, drawn by the daemon
            sampled = (await conn.execute(select(func.count()).select_from(items))).scalar()
        assert sampled and sum(r.as_json()["inspected"] for r in reports) == sampled  # type: ignore[misc]
        assert sum(len(r.as_json()["completed_runs"]) for r in reports) == 1  # type: ignore[arg-type]
        async with db.read() as conn:
            assert (await conn.execute(select(runs.c.status))).scalars().all() == ["completed"]
    finally:
        await db.close()


async def test_a_worker_takes_its_batch_one_host_at_a_time(tmp_path: Path) -> None:
    """A throttled host must not hold up the others: a claimed batch is fetched host by host
    in turn, not in account order."""
    url = pg_url()
    await reset_postgres(url)
    db = Database(url)
    await migrate.upgrade(db)
    settings = monitor_settings(concurrency=1)  # requests reach the server in the order sent
    settings["workers"].update(batch=8)
    try:
        async with simserver.running(SimConfig(now=AS_OF, record_requests=True)) as sim:
            port = sim.url.rsplit(":", 1)[1]
            rows = sample_rows(8, seed=11)
            for index, row in enumerate(rows):  # the first four accounts on one host
                host = "127.0.0.1" if index < 4 else "localhost"
                row["feed_url"] = f"http://{host}:{port}/feed/{row['account_id']}"
            await import_inventory(db, write_csv(tmp_path / "inventory.csv", rows), META, TODAY)
            context = Context.from_settings(settings)
            stop = asyncio.Event()
            stop.set()  # open the run and fill its items only
            request = RunRequest(Quarter(2026, 4), AS_OF, AS_OF, all_accounts=True)
            await hand_to_workers(db, context, request, stop=stop)
            workers = WorkerSettings.from_config(settings["workers"])
            await Worker(db, context, workers, name="w").serve(once=True)
            hosts = [record.headers["Host"].rsplit(":", 1)[0] for record in sim.state.log]
        assert sorted(hosts) == ["127.0.0.1"] * 4 + ["localhost"] * 4
        assert all(a != b for a, b in pairwise(hosts)), hosts
    finally:
        await db.close()


async def held_run(url: str, tmp_path: Path, base: str, accounts: int, held: int) -> int:
    """A run handed to workers whose first ``held`` items worker "w1" holds on a long lease."""
    run_id = await prepare(url, tmp_path, base, accounts)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            assert len(await run_items.claim(conn, run_id, "w1", held, 600.0)) == held
    finally:
        await db.close()
    return run_id


async def test_a_worker_restarted_under_its_name_frees_what_the_killed_one_held(
    tmp_path: Path,
) -> None:
    """A killed worker's claims, still leased, would be renewed forever by its successor of
    the same name (systemd restarts ``worker@1`` as ``worker@1``): the successor gives them
    back at start and the run completes."""
    url = pg_url()
    with sim_server("--items", "3", "--item-bytes", "200") as base:
        run_id = await held_run(url, tmp_path, base, 12, 5)
        db = Database(url)
        try:
            context = Context.from_settings(monitor_settings())
            workers = WorkerSettings.from_config(monitor_settings()["workers"])
            worker = Worker(db, context, workers, name="w1")
            await asyncio.wait_for(worker.serve(once=True), 60)  # it waited for ever
            async with db.read() as conn:
                assert await run_items.open_count(conn, run_id) == 0
                assert await run_items.done_by(conn, run_id) == {"w1": 12}
        finally:
            await db.close()


async def test_a_run_workers_are_inspecting_is_not_also_inspected_in_process(
    tmp_path: Path,
) -> None:
    url = pg_url()
    with sim_server("--items", "3", "--item-bytes", "200") as base:
        run_id = await held_run(url, tmp_path, base, 6, 3)
    db = Database(url)
    try:
        request = RunRequest(Quarter(2026, 4), AS_OF, AS_OF, all_accounts=True)
        with pytest.raises(RunRefused, match=f"检查运行 #{run_id} 正由 monitor worker 进程检查"):
            await run_inspection(db, Context.from_settings(monitor_settings()), request)
    finally:
        await db.close()

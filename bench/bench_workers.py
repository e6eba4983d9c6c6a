"""Benchmark of `govmedia monitor worker` on PostgreSQL: throughput with 1 and 2 workers on
parsing-heavy feeds, and the claim protocol's overhead per account.

    .venv/bin/python bench/bench_workers.py --db postgresql+asyncpg://postgres@127.0.0.1/bench

The database's schema ``public`` is dropped and re-created (use a database of its own). Starts
``monitor.simserver`` in a child process (default 20 items x 3 KB per feed: CPU-bound parsing
and checking), then for each worker count: a fresh schema, ``--accounts`` accounts, a run
handed to workers as the daemon does, and that many ``govmedia monitor worker --once``
processes; throughput is accounts divided by the time from starting the workers to the last
one exiting (the run completed). Worker i is pinned to core i (``--pin``, the default; its
parser processes inherit the pin): a worker is one core's worth of inspection (one parser
process beside its event loop), so 1 worker uses one core and 2 workers use both: the figure
shows whether adding a worker and its core adds throughput. Unpinned (``--no-pin``) a single
worker already spreads over both cores (parser processes and its own checks), and 2 workers on
2 cores can only add what one left idle. The claim
overhead is measured apart, with no inspection: claim a batch (``FOR UPDATE SKIP LOCKED``),
then mark it done inside ``Database.write()`` as a worker's commit does, per account.

The simulated server runs on the same cores: its CPU seconds are printed so that its share can
be read off; so is the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
from sqlalchemy import text

from govmedia import config, logs
from govmedia.synthetic import inventory
from monitor.quarter import Quarter
from monitor.run import Context, RunRequest
from monitor.worker import hand_to_workers
from registry import migrate, run_items
from registry.db import Database
from registry.inventory import import_inventory
from registry.times import SHANGHAI
from registry.writer import FilingMeta

NOW = "2026-11-20T10:00:00+08:00"


async def reset(url: str) -> None:
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await database.close()
    database = Database(url)
    await migrate.upgrade(database)
    await database.close()


async def prepare(url: str, folder: Path, base: str, accounts: int) -> int:
    import csv
    from datetime import datetime

    from govmedia.synthetic import header_row
    from registry.fields import KEYS

    await reset(url)
    db = Database(url)
    path = folder / "inventory.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header_row())
        for row in inventory(accounts, seed=3):
            row["feed_url"] = f"{base}/feed/{row['account_id']}"
            writer.writerow([row.get(k, "") for k in KEYS])
    now = datetime.fromisoformat(NOW).astimezone(SHANGHAI)
    await import_inventory(db, path, FilingMeta("bench", now, "bench"), now.date())
    settings = config.load_defaults()
    settings["checks"]["unreviewed_post"]["enabled"] = False
    stop = asyncio.Event()
    stop.set()
    request = RunRequest(Quarter(2026, 4), now, now, all_accounts=True)
    summary = await hand_to_workers(db, Context.from_settings(settings), request, stop=stop)
    await db.close()
    return summary.run_id


def write_config(folder: Path, args: argparse.Namespace) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"""
[workers]
batch = {args.batch}
poll_s = 0.2
[fetch]
concurrency = {args.concurrency}
parse_workers = {args.parse_workers}
[checks.unreviewed_post]
enabled = false
[logging]
level = "warning"
""",
        encoding="utf-8",
    )
    return path


def run_workers(
    url: str, cfg: Path, count: int, pin: bool
) -> tuple[float, list[dict[str, object]], float]:
    command = [sys.executable, "-m", "govmedia", "monitor", "worker", "--once", "--json"]
    cores = sorted(os.sched_getaffinity(0))
    started = time.monotonic()
    procs = []
    for i in range(count):
        core = cores[i % len(cores)]
        procs.append(
            subprocess.Popen(
                [*command, "--name", f"bench{i}", "--config", str(cfg), "--db", url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=(lambda core=core: os.sched_setaffinity(0, {core})) if pin else None,
            )
        )
    handles = [psutil.Process(p.pid) for p in procs]
    cpu = 0.0
    reports = []
    peak: dict[int, float] = {}
    while any(proc.poll() is None for proc in procs):  # CPU of each worker with its parsers
        for handle in handles:
            try:
                family = [handle, *handle.children(recursive=True)]
                peak[handle.pid] = max(
                    peak.get(handle.pid, 0.0),
                    sum(sum(p.cpu_times()[:4]) for p in family),
                )
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.2)
    cpu = sum(peak.values())
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"worker failed:\n{err[-3000:]}")
        reports.append(json.loads(out))
    return time.monotonic() - started, reports, cpu


async def claim_overhead(url: str, run_id: int, batch: int) -> tuple[float, float, int]:
    """(ms per account to claim, ms per account to claim and mark done, accounts)."""
    db = Database(url)
    claimed_s = total_s = 0.0
    count = 0
    try:
        while True:
            start = time.perf_counter()
            async with db.engine.begin() as conn:
                pks = await run_items.claim(conn, run_id, "bench", batch, 60.0)
            middle = time.perf_counter()
            if not pks:
                break
            async with db.write() as conn:
                await run_items.mark_done(conn, run_id, pks, "bench")
                await run_items.open_count(conn, run_id)
            claimed_s += middle - start
            total_s += time.perf_counter() - start
            count += len(pks)
    finally:
        await db.close()
    return 1000 * claimed_s / max(count, 1), 1000 * total_s / max(count, 1), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db", default="postgresql+asyncpg://postgres@127.0.0.1:5432/govmedia_bench"
    )
    parser.add_argument("--accounts", type=int, default=1500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--item-bytes", type=int, default=3000)
    parser.add_argument("--latency-ms", type=float, default=2.0)
    parser.add_argument("--workers", default="1,2", help="worker counts to measure")
    parser.add_argument("--parse-workers", type=int, default=1, help="parser processes per worker")
    parser.add_argument("--pin", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--batch", type=int, default=25)
    args = parser.parse_args()
    logs.configure("warning")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"cores: {os.cpu_count()}")  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "monitor.simserver", "--port", "0", "--items", str(args.items),
         "--item-bytes", str(args.item_bytes), "--latency-ms", str(args.latency_ms), "--now", NOW],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    base = server.stdout.readline().rsplit(" ", 1)[1].strip()
    sim = psutil.Process(server.pid)
    results: dict[int, float] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            cfg = write_config(folder, args)
            for count in (int(n) for n in args.workers.split(",")):
                asyncio.run(prepare(args.db, folder, base, args.accounts))
                sim_before = sum(sim.cpu_times()[:2])
                elapsed, reports, cpu = run_workers(args.db, cfg, count, args.pin)
                sim_cpu = sum(sim.cpu_times()[:2]) - sim_before
                inspected = sum(int(r["inspected"]) for r in reports)  # type: ignore[call-overload]
                results[count] = inspected / elapsed
                print(
                    f"{count} worker(s): {inspected} accounts in {elapsed:.1f} s = "
                    f"{results[count]:.1f} accounts/s; worker CPU {1000 * cpu / inspected:.0f} ms/account"
                    f" (sim server CPU {sim_cpu:.1f} s); "
                    f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
                )
            if 1 in results and 2 in results:
                print(f"speed-up 2 workers / 1 worker: {results[2] / results[1]:.2f}x")
            run_id = asyncio.run(prepare(args.db, folder, base, 3000))
            claim_ms, total_ms, n = asyncio.run(claim_overhead(args.db, run_id, args.batch))
            print(
                f"claim overhead ({n} items, batch {args.batch}): claim {claim_ms:.3f} ms/account, "
                f"claim + mark done {total_ms:.3f} ms/account"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

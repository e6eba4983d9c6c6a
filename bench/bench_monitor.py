"""Benchmark of a whole inspection run (`monitor run --all`) against the simulated platform.

    .venv/bin/python bench/bench_monitor.py --accounts 25000 --latency-ms 100 --concurrency 100

Imports N accounts into a fresh SQLite database (in a child process: the peak RSS printed
is the run's, not an import's leftovers), starts ``monitor.simserver`` in a separate
process (20 full-text items of ~3 KB a feed, the given latency) and has it render and compress
every feed once before the run (``--cache-bodies``: a real platform's CPU is not this machine's;
the server's CPU in the run, the HTTP exchange, is still printed), then times ``run_inspection``:
fetch, parse (worker processes), check, write outcomes and ledger entries. Prints accounts/s,
efficiency against the ideal bound max(N x latency / concurrency, N x parse time / cores),
event-loop lag p99, peak RSS of the client with its parser processes (the server apart) and the
CPU seconds of each part. One feed's parse time is the mean CPU time ``parse_feed`` took in the
run's own parser processes over all N feeds (``RunSummary.parse_cpu_ms``; N times it is the
run's parse work, which two cores at best halve): this machine's cores drift in speed by up to
70 % within a minute, and apart from each other, so a probe process sampling now and then read
25 % off either way; the probe's figures before and after the run (``bench_fetch.measure_parse``,
an idle machine's parse) are printed beside it. Repeat
with several N (``--accounts 2000,25000``) to see memory stay flat. The machine's other load is
printed too: figures on a busy machine are pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import psutil
from bench_fetch import (
    NOW,
    LagTicker,
    MemorySampler,
    cpu_seconds,
    machine_busy_seconds,
    measure_parse,
    start_server,
)

from govmedia import config, logs
from govmedia.synthetic import header_row, inventory
from monitor.quarter import Quarter
from monitor.run import Context, RunRequest, run_inspection
from registry import migrate
from registry.db import Database
from registry.fields import KEYS
from registry.inventory import import_inventory
from registry.times import SHANGHAI
from registry.writer import FilingMeta

CORES = os.cpu_count() or 1


async def warm_server(urls: list[str], concurrency: int = 100) -> None:
    """Have the server render and compress every feed once (it keeps them): a real platform's
    CPU is not spent on this machine, so the timed run should not pay for the simulated one's.
    ``concurrency`` workers take the URLs in turn (no task per URL: this process's memory is
    measured afterwards).
    """
    pending = iter(urls)
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            for url in pending:
                async with session.get(url, auto_decompress=False) as resp:
                    assert resp.status == 200, (url, resp.status)
                    await resp.read()

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def prepare_database(url: str, source: Path) -> None:
    """Create the schema and import the inventory (run in a child process: the run's memory
    is measured in this one, and an import's leftovers in the allocator are not the run's)."""

    async def prepare() -> None:
        db = Database(url)
        await migrate.upgrade(db)
        now = datetime.fromisoformat(NOW).astimezone(SHANGHAI)
        await import_inventory(db, source, FilingMeta("bench", now), now.date())
        await db.close()

    asyncio.run(prepare())


async def one_run(
    folder: Path,
    base: str,
    n: int,
    latency_s: float,
    concurrency: int,
    server: psutil.Process,
) -> None:
    source = folder / f"inventory-{n}.csv"
    urls = []
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header_row())
        for row in inventory(n, seed=n):
            row["feed_url"] = f"{base}/feed/{row['account_id']}"
            urls.append(row["feed_url"])
            writer.writerow([row[k] for k in KEYS])
    started = time.perf_counter()
    await warm_server(urls)
    print(
        f"N={n}: server's bodies rendered and compressed in {time.perf_counter() - started:.0f} s"
    )
    del urls
    url = f"sqlite+aiosqlite:///{folder / f'bench-{n}.db'}"
    preparing = multiprocessing.get_context("spawn").Process(
        target=prepare_database, args=(url, source)
    )
    preparing.start()
    await asyncio.to_thread(preparing.join)
    assert preparing.exitcode == 0, "the inventory import failed"
    db = Database(url)
    now = datetime.fromisoformat(NOW).astimezone(SHANGHAI)
    settings = config.load_defaults()
    context = Context.from_settings(settings)
    request = RunRequest(
        Quarter.of(now.date()), now, now, all_accounts=True, concurrency=concurrency
    )
    parse_before, _ = await measure_parse(base)
    sampler = MemorySampler(server.pid)
    sampler.start()
    me = psutil.Process()
    main0, server0, machine0 = cpu_seconds([me]), cpu_seconds([server]), machine_busy_seconds()
    parser_cpu: dict[int, float] = {}  # last CPU seconds seen per parser (they exit at the end)

    def progress(done: int, total: int) -> None:
        if done % 50 and done != total:
            return
        for child in sampler.children:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = child.cpu_times()
                parser_cpu[child.pid] = times.user + times.system

    with LagTicker() as ticker:
        start = time.perf_counter()
        summary = await run_inspection(db, context, request, progress=progress)
        seconds = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    cpu_main = cpu_seconds([me]) - main0
    cpu_workers = sum(parser_cpu.values())
    cpu_server = cpu_seconds([server]) - server0
    cpu_other = max(0.0, machine_busy_seconds() - machine0 - cpu_main - cpu_workers - cpu_server)
    await db.close()
    parse_after, _ = await measure_parse(base)
    assert summary.parse_cpu_ms is not None
    median_ms, mean_ms = summary.parse_cpu_ms
    parse_s = mean_ms / 1000
    print(
        f"one feed's parse: {mean_ms:.2f} ms, the mean over the run's {n} feeds where the parser "
        f"processes read them (the bound's; median {median_ms:.2f} ms); a probe process: "
        f"{parse_before * 1000:.2f} ms before the run, {parse_after * 1000:.2f} ms after"
    )
    bound = max(n * latency_s / concurrency, n * parse_s / CORES)
    print(
        f"N={n}: {seconds:.1f} s, {n / seconds:.1f} accounts/s, efficiency {bound / seconds:.2f} "
        f"(bound {bound:.1f} s), loop lag p99 {ticker.p99_ms():.1f} ms (max {ticker.max_ms():.0f} ms), "
        f"peak RSS client+parsers {sampler.peak_client / 2**20:.0f} MB, server {sampler.peak_server / 2**20:.0f} MB"
    )
    print(
        f"  outcomes: passed {summary.passed}, failed {summary.failed}, incomplete {sum(summary.incomplete_by_reason.values())}; "
        f"CPU s: main {cpu_main:.0f}, parsers {cpu_workers:.0f}, server {cpu_server:.0f}, "
        f"other processes {cpu_other:.0f} ({cpu_other / seconds:.2f} cores busy elsewhere)"
    )
    per_account = (cpu_main + cpu_workers + cpu_server) / n
    print(
        f"  CPU per account: main {cpu_main / n * 1000:.2f} ms, parsers {cpu_workers / n * 1000:.2f} ms, "
        f"server {cpu_server / n * 1000:.2f} ms; with the {CORES} cores busy only with this run, the "
        f"efficiency could reach at most parse time / CPU per account = {parse_s / per_account:.2f}"
    )


async def main_async(args: argparse.Namespace) -> None:
    logs.configure("error")
    proc, base = start_server(args.latency_ms, gzip=True, cache_bodies=True)
    try:
        parse_s, size = await measure_parse(base)
        print(
            f"one feed: {size / 1024:.0f} KiB, parse {parse_s * 1000:.2f} ms; cores {CORES}; load average {os.getloadavg()[0]:.2f}"
        )
        with tempfile.TemporaryDirectory() as tmp:
            for n in (int(x) for x in args.accounts.split(",")):
                await one_run(
                    Path(tmp),
                    base,
                    n,
                    args.latency_ms / 1000,
                    args.concurrency,
                    psutil.Process(proc.pid),
                )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--accounts", default="25000", help="comma-separated sizes, e.g. 2000,25000"
    )
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=100)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

"""Benchmark of the fetch-and-parse pipeline against the simulated platform.

    .venv/bin/python bench/bench_fetch.py --accounts 25000 --latency-ms 100 --concurrency 100

Starts ``monitor.simserver`` in a separate process (feeds of 20 full-text items, ~65 KB), measures
one feed's parse time, computes the ideal bound

    bound = max(N * latency / concurrency,  N * parse_time / cores)

then runs the real pipeline (``Fetcher.fetch_many``: process-pool parsing) and a naive baseline
(``asyncio.gather`` over every account, the same ``parse_feed`` called inline on the event loop;
``--naive-parser feedparser-defaults``: ``feedparser.parse`` with its defaults, as naive code would),
and prints accounts/s, efficiency (bound / actual time; for the pipeline also against the parse
time its own parser processes measured during the run), event-loop lag p99 (a 10 ms ticker),
peak RSS (this process and its children; the server apart), CPU seconds per process group, and
the pipeline/baseline ratio. The server shares the machine's cores: its CPU time is printed so
its share of the machine can be read off.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import feedparser
import psutil
import structlog

from monitor.feeds import parse_feed
from monitor.fetch import Fetcher, FetchRequest, FetchSettings

NOW = "2026-11-20T12:00:00+08:00"
CORES = os.cpu_count() or 1


class MemorySampler(threading.Thread):
    """Peak RSS of this process with its children, and of the server, sampled every 100 ms.

    ``children`` (the server apart) is listed again only every 2 s: listing walks every process
    in /proc, and that CPU would be counted as the run's.
    """

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.me = psutil.Process()
        self.server = psutil.Process(server_pid)
        self.server_pid = server_pid
        self.children: list[psutil.Process] = self._list_children()
        self.peak_client = 0
        self.peak_server = 0
        self.stop = threading.Event()

    def _list_children(self) -> list[psutil.Process]:
        return [c for c in self.me.children(recursive=True) if c.pid != self.server_pid]

    def client_rss(self) -> int:
        total = self.me.memory_info().rss
        for child in self.children:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return total

    def run(self) -> None:
        ticks = 0
        while not self.stop.is_set():
            if ticks % 20 == 0:
                self.children = self._list_children()
            ticks += 1
            try:
                self.peak_client = max(self.peak_client, self.client_rss())
                self.peak_server = max(self.peak_server, self.server.memory_info().rss)
            except psutil.NoSuchProcess:
                pass
            self.stop.wait(0.1)


class LagTicker:
    """How late a 10 ms sleep wakes up: the event loop's responsiveness."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags.append(time.perf_counter() - start - 0.01)

    def __enter__(self) -> LagTicker:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def p99_ms(self) -> float:
        if not self.lags:
            return 0.0
        return sorted(self.lags)[int(0.99 * (len(self.lags) - 1))] * 1000

    def max_ms(self) -> float:
        return max(self.lags, default=0.0) * 1000


def machine_busy_seconds() -> float:
    t = psutil.cpu_times()
    return (
        t.user
        + t.nice
        + t.system
        + getattr(t, "irq", 0)
        + getattr(t, "softirq", 0)
        + getattr(t, "steal", 0)
    )


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


@dataclass
class Phase:
    name: str
    accounts: int
    seconds: float
    statuses: Counter[str]
    lag_p99_ms: float
    lag_max_ms: float
    cpu_main: float
    cpu_workers: float
    cpu_server: float
    cpu_machine: float  # every process on the machine, ours included

    @property
    def cpu_others(self) -> float:
        return max(0.0, self.cpu_machine - self.cpu_main - self.cpu_workers - self.cpu_server)

    @property
    def rate(self) -> float:
        return self.accounts / self.seconds


def _parse_time(body: bytes, content_type: str | None, base: str) -> float:
    start = time.process_time()
    parsed = parse_feed(body, content_type, base)
    seconds = time.process_time() - start
    assert parsed.ok and len(parsed.posts) == 20, parsed.error
    return seconds


async def probe_bodies(base: str, count: int) -> list[tuple[bytes, str | None]]:
    """``count`` distinct feeds (``/feed/probe0`` on) with their content types."""
    limit = asyncio.Semaphore(20)
    async with aiohttp.ClientSession() as session:

        async def get(index: int) -> tuple[bytes, str | None]:
            async with limit, session.get(f"{base}/feed/probe{index}") as resp:
                return await resp.read(), resp.headers.get("Content-Type")

        return await asyncio.gather(*(get(i) for i in range(count)))


def _probe(base: str, count: int, line: Connection) -> None:
    """Child side of ``measure_parse``: fetch ``count`` feeds, warm up, time each parse."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    warm_up = 5
    bodies = asyncio.run(probe_bodies(base, warm_up + count))
    for body, content_type in bodies[:warm_up]:
        parse_feed(body, content_type, base)
    feeds = bodies[warm_up:]
    times = [_parse_time(body, content_type, base) for body, content_type in feeds]
    line.send((times, sum(len(body) for body, _ in feeds) // len(feeds)))


async def measure_parse(base: str, samples: int = 100) -> tuple[float, int]:
    """One feed's parse time on a machine otherwise idle, and the mean feed size: the median
    CPU time over ``samples`` distinct feeds (parsing the same feed again is faster: caches),
    in a fresh process (like a parser worker), under SCHED_FIFO where allowed (root) so that
    nothing preempts it. Figures taken during a run come from the run's own parser processes
    (``Fetcher.parse_cpu``): this machine's cores drift in speed by up to 70 % within a minute,
    and apart from each other, so a probe beside a run reads the run's parse poorly."""
    spawn = multiprocessing.get_context("spawn")
    line, child_line = spawn.Pipe()
    process = spawn.Process(target=_probe, args=(base, samples, child_line), daemon=True)
    process.start()
    times, size = await asyncio.get_running_loop().run_in_executor(None, line.recv)
    process.join()
    return statistics.median(times), size


async def run_phase(
    name: str,
    n: int,
    body: Callable[[LagTicker], Any],
    server: psutil.Process,
    workers: Callable[[], list[psutil.Process]],
) -> Phase:
    me = psutil.Process()
    main0, server0 = cpu_seconds([me]), cpu_seconds([server])
    worker_procs = workers()
    workers0 = cpu_seconds(worker_procs)
    machine0 = machine_busy_seconds()
    with LagTicker() as ticker:
        start = time.perf_counter()
        statuses = await body(ticker)
        seconds = time.perf_counter() - start
    worker_procs = workers() or worker_procs
    return Phase(
        name,
        n,
        seconds,
        statuses,
        ticker.p99_ms(),
        ticker.max_ms(),
        cpu_seconds([me]) - main0,
        cpu_seconds(worker_procs) - workers0,
        cpu_seconds([server]) - server0,
        machine_busy_seconds() - machine0,
    )


async def pipeline(
    base: str, n: int, concurrency: int, latency_s: float, server: psutil.Process
) -> Phase:
    settings = FetchSettings(concurrency=concurrency)
    started = time.perf_counter()
    async with Fetcher(settings) as fetcher:
        print(
            f"  pipeline start-up (parser processes): {time.perf_counter() - started:.2f} s",
            flush=True,
        )
        me = psutil.Process()

        def workers() -> list[psutil.Process]:
            return [c for c in me.children(recursive=True) if c.pid != server.pid]

        async def body(_: LagTicker) -> Counter[str]:
            statuses: Counter[str] = Counter()
            requests = (FetchRequest(f"{base}/feed/p{i}") for i in range(n))
            async for _request, result in fetcher.fetch_many(requests):
                statuses[result.status.value] += 1
                if result.status.value == "ok" and len(result.posts or ()) != 20:
                    statuses["wrong_item_count"] += 1
            return statuses

        phase = await run_phase("pipeline", n, body, server, workers)
        measured = fetcher.parse_cpu()
        assert measured is not None
        median, mean = measured
        bound = n * max(latency_s / concurrency, mean / CORES)
        print(
            f"  one feed's parse in the run's parser processes: mean {mean * 1000:.2f} ms "
            f"(median {median * 1000:.2f}) over {n} -> bound {bound:.1f} s, "
            f"efficiency {bound / phase.seconds:.2f}"
        )
        return phase


def feedparser_defaults(data: bytes, content_type: str | None, url: str) -> bool:
    """What naive code calls: feedparser.parse with its defaults (HTML sanitizing on)."""
    result = feedparser.parse(
        io.BytesIO(data),
        response_headers={"content-type": content_type or "", "content-location": url},
    )
    return len(result.entries) == 20


async def naive(
    base: str, n: int, concurrency: int, server: psutil.Process, defaults: bool = False
) -> Phase:
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(i: int) -> str:
            url = f"{base}/feed/b{i}"
            try:
                async with session.get(url) as resp:
                    data = await resp.read()
                    content_type = resp.headers.get("Content-Type")
            except (aiohttp.ClientError, OSError):
                return "network"
            if defaults:  # inline, on the event loop
                return "ok" if feedparser_defaults(data, content_type, url) else "parse_error"
            parsed = parse_feed(data, content_type, url)  # inline, on the event loop
            return "ok" if parsed.ok and len(parsed.posts) == 20 else "parse_error"

        async def body(_: LagTicker) -> Counter[str]:
            return Counter(await asyncio.gather(*(one(i) for i in range(n))))

        return await run_phase("naive" if not defaults else "naive-fpd", n, body, server, list)


def start_server(
    latency_ms: float, gzip: bool, *, cache_bodies: bool = False
) -> tuple[subprocess.Popen[str], str]:
    cmd = [
        sys.executable,
        "-m",
        "monitor.simserver",
        "--port",
        "0",
        "--latency-ms",
        str(latency_ms),
        "--now",
        NOW,
    ]
    if not gzip:
        cmd.append("--no-gzip")
    if cache_bodies:
        cmd.append("--cache-bodies")
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"simserver did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[1].strip()


def report(phase: Phase, bound: float, parse_s: float) -> None:
    st = dict(phase.statuses)
    # the same bound on the cores the server and other processes left to the client
    left = max(0.1, CORES - (phase.cpu_server + phase.cpu_others) / phase.seconds)
    bound_left = max(bound, parse_s / left)
    print(
        f"  {phase.name:9s} N={phase.accounts}: {phase.seconds:8.1f} s  "
        f"{phase.rate:7.1f} accounts/s  efficiency {bound * phase.accounts / phase.seconds:.2f}"
        f"  loop lag p99 {phase.lag_p99_ms:6.1f} ms (max {phase.lag_max_ms:.0f})  statuses {st}"
    )
    print(
        f"  {'':9s} CPU s: main {phase.cpu_main:.1f}, parser workers {phase.cpu_workers:.1f}, "
        f"server {phase.cpu_server:.1f}  "
        f"(per feed: {1000 * (phase.cpu_main + phase.cpu_workers) / phase.accounts:.2f} ms "
        f"client, {1000 * phase.cpu_server / phase.accounts:.2f} ms server); "
        f"other processes on the machine {phase.cpu_others:.1f} "
        f"({phase.cpu_others / phase.seconds:.2f} cores on average)",
        flush=True,
    )
    print(
        f"  {'':9s} cores left to the client {left:.2f} -> efficiency on them "
        f"{bound_left * phase.accounts / phase.seconds:.2f}",
        flush=True,
    )


async def main_async(args: argparse.Namespace) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    proc, base = start_server(args.latency_ms, not args.no_gzip)
    server = psutil.Process(proc.pid)
    sampler = MemorySampler(proc.pid)
    try:
        parse_s, size = await measure_parse(base)
        cores = CORES
        n = args.accounts
        network_bound = args.latency_ms / 1000 / args.concurrency
        parse_bound = parse_s / cores
        per_account = max(network_bound, parse_bound)
        print(f"feed: {size} bytes; one parse {parse_s * 1000:.2f} ms; cores {cores}")
        print(
            f"bound per account: network {network_bound * 1000:.2f} ms, parsing "
            f"{parse_bound * 1000:.2f} ms -> N={n}: {per_account * n:.1f} s "
            f"({1 / per_account:.1f} accounts/s)",
            flush=True,
        )
        sampler.start()
        phase = await pipeline(base, n, args.concurrency, args.latency_ms / 1000, server)
        report(phase, per_account, parse_s)
        peak_pipeline = sampler.peak_client
        print(
            f"  peak RSS client (main + parser processes) {peak_pipeline / 2**20:.0f} MB, "
            f"server {sampler.peak_server / 2**20:.0f} MB",
            flush=True,
        )
        if args.baseline_accounts != 0:
            nb = args.baseline_accounts or n
            defaults = args.naive_parser == "feedparser-defaults"
            base_phase = await naive(base, nb, args.concurrency, server, defaults)
            report(base_phase, per_account, parse_s)
            print(f"  peak RSS client during both phases {sampler.peak_client / 2**20:.0f} MB")
            print(f"ratio pipeline/naive (accounts/s): {phase.rate / base_phase.rate:.2f}")
    finally:
        sampler.stop.set()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=25000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument(
        "--baseline-accounts",
        type=int,
        default=None,
        help="accounts for the naive baseline (default: --accounts; 0: skip)",
    )
    parser.add_argument("--no-gzip", action="store_true")
    parser.add_argument(
        "--naive-parser",
        choices=["same", "feedparser-defaults"],
        default="same",
        help="the baseline's parser: parse_feed as the pipeline (default), or "
        "feedparser.parse with its defaults (HTML sanitizing on)",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

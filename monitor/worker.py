"""Inspection workers (``govmedia monitor worker``): several processes, on any machine that
reaches the PostgreSQL database, share the accounts of the current run.

The daemon (``[workers] enabled = true``) opens the run and fills its work items
(``hand_to_workers``); each worker claims batches of items under a lease, inspects them with
the same ``_Inspector`` as an in-process run and writes each outcome with the same
``_Writer._commit``, which marks the item done in that transaction and completes the run when
the last item is done. The protocol is in ``registry.run_items``.

A worker holds one aiohttp session per run and one feed-parser pool for its whole life, and
keeps ``lanes`` claimed batches in flight so that the fetch window never runs dry while a batch
finishes. It renews the leases of what it holds every ``lease_s / 3`` seconds; SIGTERM/SIGINT
drop the fetches in flight, write every outcome already known, give the unfinished items back
and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

import structlog

from monitor import batching
from monitor.feed_workers import ParsePool
from monitor.fetch import Fetcher, interleave_by_host
from monitor.run import (
    Context,
    RunRequest,
    RunSummary,
    _accounts_with_reviews,
    _Inspector,
    _Writer,
    complete_if_finished,
    open_run,
)
from registry import host_pace, monitoring, run_items
from registry.db import Database
from registry.errors import Refused
from registry.monitoring import RunRow
from registry.times import SHANGHAI

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """The ``[workers]`` table of ``config.toml``."""

    enabled: bool = False  # the daemon hands its runs to workers (PostgreSQL only)
    batch: int = 25  # accounts claimed in one transaction
    lease_s: float = 60.0  # a claim not renewed for this long is free for another worker
    poll_s: float = 2.0  # idle workers (and the daemon waiting for a run) look again this often
    lanes: int = 2  # claimed batches in flight in one worker

    def __post_init__(self) -> None:
        if self.batch < 1 or self.lanes < 1:
            raise ValueError("workers.batch and workers.lanes must be at least 1")
        if self.lease_s <= 0 or self.poll_s <= 0:
            raise ValueError("workers.lease_s and workers.poll_s must be positive")

    @classmethod
    def from_config(cls, table: dict[str, Any]) -> WorkerSettings:
        values = dict(table)
        for key in ("lease_s", "poll_s"):
            if key in values:
                values[key] = float(values[key])
        return cls(**values)

    def with_options(self, **options: Any) -> WorkerSettings:
        from dataclasses import replace

        return replace(self, **{k: v for k, v in options.items() if v is not None})


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(slots=True)
class RunShare:
    """What one worker did in one run."""

    run_id: int
    inspected: int = 0
    lost: int = 0  # outcomes not written: the lease ran out and another worker took over
    completed: bool = False  # this worker's commit completed the run


@dataclass(slots=True)
class WorkerReport:
    name: str
    runs: list[RunShare] = field(default_factory=list)
    stopped: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "worker": self.name,
            "stopped": self.stopped,
            "inspected": sum(r.inspected for r in self.runs),
            "lost": sum(r.lost for r in self.runs),
            "completed_runs": [r.run_id for r in self.runs if r.completed],
            "runs": [
                {"run_id": r.run_id, "inspected": r.inspected, "lost": r.lost,
                 "completed": r.completed}
                for r in self.runs
            ],
        }  # fmt: skip


class Worker:
    def __init__(
        self,
        db: Database,
        context: Context,
        settings: WorkerSettings,
        *,
        name: str | None = None,
        concurrency: int | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        if db.is_sqlite:
            raise Refused(
                "monitor worker 需要 PostgreSQL 数据库;SQLite 上由 monitor run / daemon 在进程内检查"
            )
        self.db = db
        self.context = context
        self.settings = settings
        self.name = name or default_name()
        self.fetch = context.fetch.with_concurrency(concurrency)
        self.stop = stop or asyncio.Event()
        self.report = WorkerReport(self.name)
        self._pool: ParsePool | None = None

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    async def serve(self, *, once: bool = False) -> WorkerReport:
        """Work on the open runs until stopped (``once``: until no run has work left)."""
        log.info("worker.start", worker=self.name, batch=self.settings.batch)
        async with self.db.write() as conn:
            left = await run_items.release_left_by(conn, self.name)
        if left:
            log.warning("worker.released_left_over", worker=self.name, items=left)
        self._pool = ParsePool(self.fetch.parse_workers, self.fetch.parse_timeout_s)
        await self._pool.start()
        try:
            while not self.stop.is_set():
                async with self.db.read() as conn:
                    open_ids = await run_items.open_runs(conn)
                if not open_ids:
                    if once:
                        break
                    await self._sleep(self.settings.poll_s)
                    continue
                async with self.db.read() as conn:
                    run = await monitoring.run_by_id(conn, open_ids[0])
                assert run is not None
                await self._work_on(run)
        finally:
            await self._pool.close()
        self.report.stopped = self.stop.is_set()
        log.info("worker.stop", **self.report.as_json())
        return self.report

    async def _work_on(self, run: RunRow) -> None:
        share = RunShare(run.id)
        self.report.runs.append(share)
        structlog.contextvars.bind_contextvars(run_id=run.id, worker=self.name)
        summary = RunSummary(run.id, run.quarter, run.scope, resumed=True, targets=0)
        writer = _Writer(self.db, run, self.context, summary, owner=self.name)
        writer.start()
        reviewed = await _accounts_with_reviews(self.db)
        inspector = _Inspector(self.db, self.context, run, writer, reviewed)
        heartbeat = asyncio.create_task(self._heartbeat(run.id))
        log.info("worker.run", quarter=run.quarter, scope=run.scope)
        try:
            pacer = functools.partial(host_pace.reserve, self.db)
            async with Fetcher(self.fetch, pool=self._pool, pacer=pacer) as fetcher:
                while not self.stop.is_set():
                    await self._lanes(fetcher, inspector, run)
                    if self.stop.is_set():
                        break
                    async with self.db.read() as conn:
                        if not await run_items.open_count(conn, run.id):
                            break
                    await self._sleep(self.settings.poll_s)  # items held by others: wait
        finally:
            try:
                await writer.close()  # raises if a commit failed, once the leases are given back
            finally:
                heartbeat.cancel()
                await asyncio.gather(heartbeat, return_exceptions=True)
                async with self.db.engine.begin() as conn:
                    released = await run_items.release(conn, run.id, self.name)
                if released:
                    log.info("worker.released", items=released)
                share.inspected = summary.inspected
                share.lost = writer.lost
                share.completed = writer.completed_run
                structlog.contextvars.unbind_contextvars("run_id", "worker")

    async def _lanes(self, fetcher: Fetcher, inspector: _Inspector, run: RunRow) -> None:
        """Claim and inspect until nothing is left to claim (or stop)."""
        lanes: asyncio.Future[Any] = asyncio.gather(
            *(self._lane(fetcher, inspector, run) for _ in range(self.settings.lanes))
        )
        stopping: asyncio.Future[Any] = asyncio.create_task(self.stop.wait())
        try:
            await asyncio.wait({lanes, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not lanes.done():
                lanes.cancel()
            results = await asyncio.gather(lanes, stopping, return_exceptions=True)
        if not self.stop.is_set() and isinstance(results[0], BaseException):
            raise results[0]

    async def _lane(self, fetcher: Fetcher, inspector: _Inspector, run: RunRow) -> None:
        batch, lease_s = self.settings.batch, self.settings.lease_s
        while not self.stop.is_set():
            async with self.db.engine.begin() as conn:
                claimed = await run_items.claim(conn, run.id, self.name, batch, lease_s)
            if not claimed:
                return
            async with self.db.read() as conn:
                todo = await monitoring.targets(conn, run, claimed, pending_only=False)
            gone = sorted(set(claimed) - {t.pk for t in todo})
            if gone:  # no longer in the run's scope (e.g. deregistered without an address)
                async with self.db.write() as conn:
                    await run_items.mark_done(conn, run.id, gone, self.name)
                    await complete_if_finished(conn, run)
            in_turn = interleave_by_host(todo, attrgetter("feed_url"))  # hosts take turns
            await inspector.inspect_with(
                fetcher, batching.stream(in_turn), len(todo), datetime.now(SHANGHAI), None
            )

    async def _heartbeat(self, run_id: int) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_s / 3)
            try:
                async with self.db.engine.begin() as conn:
                    await run_items.renew(conn, run_id, self.name, self.settings.lease_s)
            except Exception:  # a missed renewal only risks a take-over, never a double write
                log.warning("worker.renew_failed", exc_info=True)


def summary_of(run: RunRow, *, resumed: bool) -> RunSummary:
    """A RunSummary from the summary a completed shared run stored."""
    stored = run.summary or {}
    return RunSummary(
        run.id,
        run.quarter,
        run.scope,
        resumed,
        targets=int(stored.get("inspected", 0)),
        inspected=int(stored.get("inspected", 0)),
        passed=int(stored.get("passed", 0)),
        failed_by_problem=Counter(stored.get("failed_by_problem", {})),
        failed=int(stored.get("failed", 0)),
        incomplete_by_reason=Counter(stored.get("incomplete_by_reason", {})),
        new_entries=int(stored.get("new_ledger_entries", 0)),
        completed=run.status == "completed",
    )


async def hand_to_workers(
    db: Database,
    context: Context,
    request: RunRequest,
    *,
    poll_s: float = 2.0,
    stop: asyncio.Event | None = None,
) -> RunSummary:
    """Open (or resume) the run, fill its work items and wait until the workers complete it.

    Setting ``stop`` ends the wait only: the run stays open and the workers go on with it.
    """
    run, resumed = await open_run(db, context, request)
    async with db.read() as conn:
        todo = await monitoring.targets(conn, run, request.only)
    async with db.write() as conn:
        await run_items.fill(conn, run.id, [t.pk for t in todo])
        await complete_if_finished(conn, run)  # nothing to inspect
    log.info("run.handed_to_workers", run_id=run.id, accounts=len(todo), resumed=resumed)
    stop = stop or asyncio.Event()
    while True:
        async with db.read() as conn:
            current = await monitoring.run_by_id(conn, run.id)
        assert current is not None
        if current.status == "completed" or stop.is_set():
            return summary_of(current, resumed=resumed)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_s)

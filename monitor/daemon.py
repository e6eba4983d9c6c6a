"""The long-running scheduler (``govmedia monitor daemon``).

APScheduler 3.11's ``AsyncIOScheduler`` in Asia/Shanghai runs two jobs: the quarterly draw and
run (a cron schedule in ``[daemon]``) and a daily sweep that marks overdue rectifications and
re-checks the accounts whose deadline has passed. On start it catches up when the current
quarter has no completed run. SIGTERM/SIGINT stop new work, let the run in flight checkpoint
(every finished account is already written) and exit within the configured grace period.

On PostgreSQL with ``[workers] enabled = true`` the daemon only schedules: it opens each run,
fills its work items and waits for ``govmedia monitor worker`` processes to complete it
(``monitor.worker.hand_to_workers``). On SQLite it always inspects in-process.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from monitor.metrics import Metrics, create_app
from monitor.quarter import Quarter
from monitor.run import Context, RunRequest, RunSummary, run_inspection
from monitor.singleton import daemon_lock
from monitor.worker import WorkerSettings, hand_to_workers
from registry import ledger, monitoring
from registry.db import Database
from registry.errors import Refused
from registry.times import SHANGHAI, shanghai_today

log = structlog.get_logger()
TZ = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    quarterly_cron: str = "0 2 15 2,5,8,11 *"
    sweep_cron: str = "30 1 * * *"
    catch_up: bool = True
    http_host: str = "127.0.0.1"
    http_port: int = 9466
    shutdown_grace_s: float = 8.0
    lock_check_s: float = 15.0

    @classmethod
    def from_config(cls, table: dict[str, Any]) -> DaemonSettings:
        settings = cls(**table)
        for name in ("quarterly_cron", "sweep_cron"):
            try:
                CronTrigger.from_crontab(getattr(settings, name), timezone=TZ)
            except ValueError as exc:
                raise ValueError(f"[daemon] {name}: {exc}") from exc
        if not 0 < settings.lock_check_s <= 3600:
            raise ValueError(f"[daemon] lock_check_s must be 0-3600, not {settings.lock_check_s}")
        if not 1 <= settings.http_port <= 65535:
            raise ValueError(f"[daemon] http_port must be 1-65535, not {settings.http_port}")
        return settings


class LockLost(Refused):
    """The daemon's single-instance lock was lost (its database connection ended)."""


async def _first_of(*events: asyncio.Event) -> None:
    waiting = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)


class Daemon:
    def __init__(
        self, db: Database, settings: dict[str, Any], *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.db = db
        self.context = Context.from_settings(settings)
        self.settings = DaemonSettings.from_config(settings["daemon"])
        self.workers = WorkerSettings.from_config(settings["workers"])
        if self.workers.enabled and db.is_sqlite:
            log.warning("daemon.workers_need_postgresql", detail="inspecting in-process")
        self.clock = clock or (lambda: datetime.now(SHANGHAI))
        self.metrics = Metrics()
        self.stop = asyncio.Event()
        self._work = asyncio.Lock()  # one job at a time: a sweep never races a quarterly run
        self._tasks: set[asyncio.Task[Any]] = set()

    def _record(self, summary: RunSummary) -> None:
        self.metrics.runs_completed += int(summary.completed)
        self.metrics.inspections["passed"] += summary.passed
        self.metrics.inspections["failed"] += summary.failed
        self.metrics.inspections["incomplete"] += sum(summary.incomplete_by_reason.values())
        self.metrics.last_run_finished = time.time()

    async def _guarded(self, name: str, job: Callable[[], Awaitable[None]]) -> None:
        if self.stop.is_set():
            return
        async with self._work:
            if self.stop.is_set():  # stopped while it waited for the job before it
                return
            self.metrics.running_jobs.add(name)
            try:
                await job()
            except Exception:  # a failing job is logged and counted; the daemon goes on
                self.metrics.jobs_failed[name] += 1
                log.exception("daemon.job_failed", job=name)
            finally:
                self.metrics.running_jobs.discard(name)

    @property
    def shared(self) -> bool:
        """Runs go to `monitor worker` processes (PostgreSQL and [workers] enabled)."""
        return self.workers.enabled and not self.db.is_sqlite

    async def _inspect(self, request: RunRequest) -> RunSummary:
        if self.shared:
            return await hand_to_workers(
                self.db, self.context, request, poll_s=self.workers.poll_s, stop=self.stop
            )
        return await run_inspection(self.db, self.context, request, stop=self.stop)

    async def quarterly(self) -> None:
        now = self.clock()
        request = RunRequest(quarter=Quarter.of(now.date()), as_of=now, now=now, actor="daemon")
        log.info("daemon.quarterly", quarter=str(request.quarter))
        self._record(await self._inspect(request))

    async def sweep(self) -> None:
        now = self.clock()
        today = shanghai_today(now)
        async with self.db.write() as conn:
            overdue = await ledger.mark_overdue(conn, today=today, at=now, actor="daemon")
            due = await ledger.overdue_account_pks(
                conn, today=today
            ) | await ledger.awaiting_recheck_pks(conn)
            # The quarter's run if it stopped on an error (a write that failed), or if its
            # scheduled time has passed without one (the job failed to start: another process
            # was inspecting): the sweep makes up for it.
            quarter = Quarter.of(today)
            unfinished = await monitoring.unfinished_run(conn, str(quarter), "sample")
            missed = self._scheduled_before(now, quarter) and not (
                await monitoring.completed_run_exists(conn, str(quarter))
            )
        log.info("daemon.sweep", marked_overdue=overdue, recheck=len(due))
        if (unfinished is not None or missed) and not self.stop.is_set():
            log.info("daemon.make_up_quarterly", quarter=str(quarter))
            await self.quarterly()
        if due and not self.stop.is_set():
            request = RunRequest(
                quarter=Quarter.of(today),
                as_of=now,
                now=now,
                actor="daemon",
                only=frozenset(due),
                scope="recheck",
            )
            self._record(await self._inspect(request))

    def _scheduled_before(self, now: datetime, quarter: Quarter) -> bool:
        """Whether the quarterly schedule fired in ``quarter`` before ``now``."""
        trigger = CronTrigger.from_crontab(self.settings.quarterly_cron, timezone=TZ)
        start = datetime.combine(quarter.start, datetime.min.time(), tzinfo=SHANGHAI)
        first = trigger.get_next_fire_time(None, start)
        return first is not None and first <= now

    async def needs_catch_up(self) -> bool:
        quarter = Quarter.of(self.clock().date())
        async with self.db.read() as conn:
            return not await monitoring.completed_run_exists(conn, str(quarter))

    def _spawn(self, name: str, job: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.create_task(self._guarded(name, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fire(self, name: str, job: Callable[[], Awaitable[None]]) -> None:
        """What the scheduler calls. A coroutine function, so that APScheduler runs it on the
        event loop: a plain function it would run in a worker thread, with no loop to start
        the job on."""
        self._spawn(name, job)

    def scheduler(self) -> AsyncIOScheduler:
        """The quarterly and sweep jobs on a scheduler not yet started."""
        scheduler = AsyncIOScheduler(timezone=TZ)
        # misfire_grace_time=None: a run time missed (the machine asleep) still runs, once
        scheduler.add_job(
            self._fire, CronTrigger.from_crontab(self.settings.quarterly_cron, timezone=TZ),
            args=["quarterly", self.quarterly], id="quarterly", max_instances=1, coalesce=True,
            misfire_grace_time=None,
        )  # fmt: skip
        scheduler.add_job(
            self._fire, CronTrigger.from_crontab(self.settings.sweep_cron, timezone=TZ),
            args=["sweep", self.sweep], id="sweep", max_instances=1, coalesce=True,
            misfire_grace_time=None,
        )  # fmt: skip
        return scheduler

    async def serve(self) -> None:
        """Run until SIGTERM/SIGINT (or ``stop``); refuses if another daemon holds the database."""
        async with daemon_lock(self.db, self.settings.lock_check_s) as lock_lost:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
            runner = web.AppRunner(create_app(self.metrics), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, self.settings.http_host, self.settings.http_port)
            await site.start()
            scheduler = self.scheduler()
            scheduler.start()
            log.info(
                "daemon.start",
                port=self.settings.http_port,
                quarterly=self.settings.quarterly_cron,
                sweep=self.settings.sweep_cron,
            )
            if self.settings.catch_up and await self.needs_catch_up():
                log.info("daemon.catch_up", quarter=str(Quarter.of(self.clock().date())))
                self._spawn("quarterly", self.quarterly)
            try:
                await _first_of(self.stop, lock_lost)
                if lock_lost.is_set():
                    log.error("daemon.lock_lost")
                    self.stop.set()
            finally:
                scheduler.shutdown(wait=False)
                if self._tasks:
                    _, late = await asyncio.wait(
                        self._tasks, timeout=self.settings.shutdown_grace_s
                    )
                    for task in late:
                        task.cancel()
                await runner.cleanup()
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
                log.info("daemon.stop")
            if lock_lost.is_set():
                raise LockLost(
                    "与数据库的连接中断, 守护进程的唯一性锁已失效: 本进程退出"
                    "(由 systemd 等重启后重新取得锁)"
                )

    def request_stop(self) -> None:
        log.info("daemon.stopping")
        self.stop.set()

"""An inspection run (``govmedia monitor run``): fetch, check and record every account of the
quarter's sample (or the whole inventory), resumably.

Each account's outcome is written as soon as it is known (a writer task commits whatever has
queued up, in one transaction), so a killed run loses at most what was in flight; running again
picks up the same run and inspects only the accounts without a complete inspection. The ledger
refuses a second entry for the same (quarter, account, problem), so nothing is ever doubled.

The same inspection (``_Inspector``) and the same commit (``_Writer``) serve the run inspected
in this process (``run_inspection``) and the run shared by ``govmedia monitor worker``
processes (``monitor.worker``): a worker's writer carries its name as ``owner`` and writes only
the accounts whose work item it still holds (see ``registry.run_items``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

import checks
from checks.model import AccountFacts, FetchStatus, ReviewRecord
from monitor.batching import gather_batch
from monitor.fetch import Fetcher, FetchRequest, FetchResult, interleave_by_host
from monitor.fetch_settings import FetchSettings
from monitor.inspect_account import judge, outcome_of
from monitor.quarter import Quarter
from monitor.samples import DrawRequest, draw_in
from monitor.sampling import SamplingSettings
from monitor.singleton import inspection_lock
from monitor.workdays import DeadlineRule
from registry import ledger, monitoring, run_items
from registry.db import Database
from registry.errors import Refused
from registry.monitoring import Outcome, RunRow, Target
from registry.reviews import reviews_for
from registry.schema import ledger_entries, review_records
from registry.times import SHANGHAI, shanghai_today

log = structlog.get_logger()


class RunRefused(Refused):
    """The run cannot be inspected in this process; the message says why, in Chinese."""


@dataclass(frozen=True, slots=True)
class RunRequest:
    quarter: Quarter
    as_of: datetime
    now: datetime
    all_accounts: bool = False
    concurrency: int | None = None
    actor: str = "monitor"
    only: frozenset[int] | None = None  # re-check runs: just these accounts
    scope: str | None = None  # default: "all" with all_accounts, else "sample"


@dataclass(slots=True)
class RunSummary:
    run_id: int
    quarter: str
    scope: str
    resumed: bool
    targets: int
    inspected: int = 0
    passed: int = 0
    failed_by_problem: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    incomplete_by_reason: Counter[str] = field(default_factory=Counter)
    new_entries: int = 0
    completed: bool = False
    # (median, mean) CPU milliseconds of one feed's parse in this process's parser processes
    parse_cpu_ms: tuple[float, float] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "quarter": self.quarter,
            "scope": self.scope,
            "resumed": self.resumed,
            "inspected": self.inspected,
            "passed": self.passed,
            "failed": self.failed,
            "failed_by_problem": dict(self.failed_by_problem),
            "incomplete": sum(self.incomplete_by_reason.values()),
            "incomplete_by_reason": dict(self.incomplete_by_reason),
            "new_ledger_entries": self.new_entries,
            "completed": self.completed,
            "parse_cpu_ms": self.parse_cpu_ms
            and dict(zip(("median", "mean"), self.parse_cpu_ms, strict=True)),
        }


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    host_failure_ratio: float = 0.5
    host_failure_min_fetches: int = 10
    writer_batch: int = 200
    writer_linger_s: float = 0.25

    @classmethod
    def from_config(cls, table: dict[str, Any]) -> MonitorSettings:
        return cls(
            **{
                k: table[k]
                for k in (
                    "host_failure_ratio",
                    "host_failure_min_fetches",
                    "writer_batch",
                    "writer_linger_s",
                )
                if k in table
            }
        )


@dataclass(slots=True)
class Context:
    """Everything a run needs besides the database, built once from the settings."""

    policy: checks.Policy
    fetch: FetchSettings
    sampling: SamplingSettings
    monitor: MonitorSettings
    deadlines: DeadlineRule

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Context:
        return cls(
            policy=checks.load_policy(settings["checks"]),
            fetch=FetchSettings.from_config(settings["fetch"]),
            sampling=SamplingSettings.from_config(settings["sampling"]),
            monitor=MonitorSettings.from_config(settings["monitor"]),
            deadlines=DeadlineRule.from_config(settings),
        )


Progress = Callable[[int, int], None]  # (done, total)
TARGET_PAGE = 500  # accounts whose facts a run loads at a time


async def open_run(db: Database, context: Context, request: RunRequest) -> tuple[RunRow, bool]:
    scope = request.scope or ("all" if request.all_accounts else "sample")
    quarter = str(request.quarter)
    async with db.write() as conn:
        run = await monitoring.unfinished_run(conn, quarter, scope)
        if run is not None:
            if scope != "recheck":
                return run, True
            # a re-check judges the accounts now, not at an earlier sweep's time point
            await monitoring.supersede_run(conn, run.id, request.now)
        sample_id = None
        if scope == "sample":
            sample = await monitoring.current_sample(conn, quarter)
            if sample is None:
                draw_request = DrawRequest(request.quarter, request.actor, request.now)
                sample_id, _ = await draw_in(conn, context.sampling, draw_request)
            else:
                sample_id = sample["id"]
        run = await monitoring.create_run(
            conn,
            quarter=quarter,
            scope=scope,
            sample_id=sample_id,
            as_of=request.as_of,
            now=request.now,
        )
        return run, False


class _Writer:
    """Commits queued outcomes with their ledger entries, one transaction per drain.

    ``owner`` (a worker's name): write only the accounts whose work item the worker still
    holds, marking them done in the same transaction, and complete the run when its last open
    item is done. Without an owner (the in-process run) every outcome is written and the run is
    closed by ``_close``.
    """

    def __init__(
        self,
        db: Database,
        run: RunRow,
        context: Context,
        summary: RunSummary,
        owner: str | None = None,
    ) -> None:
        self.db = db
        self.run = run
        self.context = context
        self.summary = summary
        self.owner = owner
        self.lost = 0  # outcomes dropped: the lease ran out and another worker took the account
        self.error: Exception | None = None
        self.failed = asyncio.Event()
        self.completed_run = False  # this writer's commit completed the run
        # Bounded: when the database falls behind, fetching waits instead of piling up outcomes
        # (with their posts) in memory.
        self.queue: asyncio.Queue[tuple[Outcome, AccountFacts] | None] = asyncio.Queue(
            maxsize=4 * context.monitor.writer_batch
        )
        detected = shanghai_today(run.as_of)
        self.deadline = context.deadlines.deadline(detected)
        if self.deadline.provisional:
            log.warning(
                "ledger.deadline_provisional",
                detected=str(detected),
                deadline=str(self.deadline.date),
            )

    def start(self) -> None:
        self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        """Commit what has queued up until the closing ``None``. After a failed commit the
        rest is only taken off the queue (nothing more is written): producers never block,
        ``failed`` tells the run to stop, and ``close`` raises the error."""
        done = False
        while not done:
            settings = self.context.monitor
            batch = await gather_batch(self.queue, settings.writer_batch, settings.writer_linger_s)
            done = None in batch
            pending = [entry for entry in batch if entry is not None]
            if pending and self.error is None:
                try:
                    await self._commit(pending)
                except Exception as exc:
                    self.error = exc
                    self.failed.set()
                    log.exception("run.write_failed", run_id=self.run.id)

    async def close(self) -> None:
        """Write what is queued, stop, and raise the error of a failed commit, if any."""
        await self.queue.put(None)
        await self._task
        if self.error is not None:
            raise self.error

    async def _commit(self, batch: list[tuple[Outcome, AccountFacts]]) -> None:
        async with self.db.write() as conn:
            pks = [outcome.pk for outcome, _ in batch]
            mine = await run_items.mark_done(conn, self.run.id, pks, self.owner)
            if self.owner is not None:
                batch = [entry for entry in batch if entry[0].pk in mine]
            await monitoring.save_outcomes(conn, self.run.id, [outcome for outcome, _ in batch])
            self.summary.new_entries += await ledger.record_findings_batch(
                conn,
                [
                    ledger.AccountFindings(
                        quarter=self.run.quarter,
                        account_pk=outcome.pk,
                        platform=facts.platform,
                        account_id=facts.account_id,
                        account_name=facts.name,
                        region_code=facts.region_code,
                        sponsor=facts.sponsor,
                        findings=outcome.findings,
                        detected_at=self.run.as_of,
                        deadline=self.deadline.date,
                        provisional=self.deadline.provisional,
                        run_id=self.run.id,
                    )
                    for outcome, facts in batch
                    if outcome.findings
                ],
            )
            complete = [o for o, _ in batch if o.outcome != "incomplete"]
            await ledger.apply_rechecks(
                conn,
                {o.pk: {f.code for f in o.findings} for o in complete},
                at=batch[-1][0].inspected_at if batch else self.run.as_of,
                run_id=self.run.id,
                judged={o.pk: o.judged for o in complete},
            )
            if self.owner is not None and mine:
                self.completed_run = await complete_if_finished(conn, self.run) or (
                    self.completed_run
                )
        self.lost += len(pks) - len(batch)
        for outcome, _ in batch:
            self.summary.inspected += 1
            structlog.get_logger().info(
                "inspection.saved",
                run_id=self.run.id,
                account=outcome.pk,
                outcome=outcome.outcome,
                reason=outcome.incomplete_reason,
                problems=[f.code for f in outcome.findings],
            )


async def _accounts_with_reviews(db: Database) -> set[int]:
    async with db.read() as conn:
        result = await conn.execute(select(review_records.c.account_pk).distinct())
        return {pk for (pk,) in result}


class _Inspector:
    """Fetches and judges the run's accounts, handing each outcome to the writer."""

    def __init__(
        self, db: Database, context: Context, run: RunRow, writer: _Writer, reviewed: set[int]
    ) -> None:
        self.db = db
        self.context = context
        self.writer = writer
        self.reviewed = reviewed
        self.at = run.as_of.astimezone(SHANGHAI)
        self.done = 0
        self.parse_cpu_s: tuple[float, float] | None = None

    async def _reviews(self, pk: int) -> list[ReviewRecord]:
        if pk not in self.reviewed:
            return []
        async with self.db.read() as conn:
            return await reviews_for(conn, pk)

    async def _degraded(self, fetcher: Fetcher, host: str) -> bool:
        stats = fetcher.host_stats.get(host)
        monitor = self.context.monitor
        return bool(
            stats
            and stats.fetches >= monitor.host_failure_min_fetches
            and stats.failure_ratio > monitor.host_failure_ratio
        )

    async def without_feed(self, target: Target, now: datetime) -> Outcome:
        judged = judge(
            target, at=self.at, status=None, posts=None, reviews=[], policy=self.context.policy
        )
        return outcome_of(target, at=self.at, inspected_at=now, judged=judged)

    async def fetched(self, fetcher: Fetcher, target: Target, result: FetchResult) -> Outcome:
        posts = result.posts
        if result.status is FetchStatus.NOT_MODIFIED and posts is None:
            async with self.db.read() as conn:
                kept = await monitoring.stored_feed(conn, target.pk)
            posts = await fetcher.stored_posts(kept, target.feed_url) if kept else None
            if posts is None:  # nothing kept to reuse: ask again without validators
                result = await fetcher.fetch(target.feed_url)
                posts = result.posts
        judged = judge(
            target,
            at=self.at,
            status=result.status,
            posts=posts,
            reviews=await self._reviews(target.pk),
            policy=self.context.policy,
            host_degraded=await self._degraded(fetcher, result.host),
        )
        return outcome_of(
            target,
            at=self.at,
            inspected_at=datetime.now(SHANGHAI),
            judged=judged,
            status=result.status,
            http_status=result.http_status,
            posts=posts,
            stored_feed=result.stored_feed,
            etag=result.etag,
            last_modified=result.last_modified,
            error=result.error,
        )

    async def inspect(
        self,
        todo: AsyncIterable[Target],
        total: int,
        settings: FetchSettings,
        now: datetime,
        progress: Progress | None,
    ) -> None:
        async with Fetcher(settings) as fetcher:
            try:
                await self.inspect_with(fetcher, todo, total, now, progress)
            finally:
                self.parse_cpu_s = fetcher.parse_cpu()

    async def inspect_with(
        self,
        fetcher: Fetcher,
        todo: AsyncIterable[Target],
        total: int,
        now: datetime,
        progress: Progress | None,
    ) -> None:
        """Inspect ``todo`` (``total`` accounts, fetched in the order given) through an open
        fetcher (a worker keeps one for a whole run)."""
        total += self.done
        fetching: dict[int, Target] = {}

        async def hand_over(target: Target, outcome: Outcome) -> None:
            await self.writer.queue.put((outcome, target.facts))
            self.done += 1
            if progress:
                progress(self.done, total)

        async def requests() -> AsyncGenerator[FetchRequest, None]:
            async for target in todo:
                if not target.feed_url:
                    await hand_over(target, await self.without_feed(target, now))
                    continue
                fetching[target.pk] = target
                yield FetchRequest(
                    target.feed_url, target.etag, target.last_modified, key=target.pk
                )

        async with (
            contextlib.aclosing(requests()) as stream,
            contextlib.aclosing(fetcher.fetch_many(stream)) as results,
        ):
            async for fetch_request, result in results:
                target = fetching.pop(int(fetch_request.key))  # type: ignore[call-overload]
                await hand_over(target, await self.fetched(fetcher, target, result))


async def _in_pages(db: Database, run: RunRow, order: list[int]) -> AsyncIterator[Target]:
    """The targets of the accounts ``order`` lists, in that order, loaded a page at a time."""
    for start in range(0, len(order), TARGET_PAGE):
        page = order[start : start + TARGET_PAGE]
        async with db.read() as conn:
            loaded = {
                t.pk: t for t in await monitoring.targets(conn, run, page, pending_only=False)
            }
        for pk in page:
            if pk in loaded:  # else it left the run's scope since it was listed
                yield loaded[pk]


async def run_inspection(
    db: Database,
    context: Context,
    request: RunRequest,
    *,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
) -> RunSummary:
    """Inspect what is left of the quarter's run; returns the run's closing summary.

    Setting ``stop`` ends the run at once: fetches in flight are dropped (their accounts stay
    to do), every outcome already known is written, and the run stays open to be resumed.
    Another process inspecting on the same database meanwhile is refused (``AlreadyRunning``).
    """
    async with inspection_lock(db):
        return await _inspect_run(db, context, request, progress, stop)


async def _inspect_run(
    db: Database,
    context: Context,
    request: RunRequest,
    progress: Progress | None,
    stop: asyncio.Event | None,
) -> RunSummary:
    run, resumed = await open_run(db, context, request)
    if not db.is_sqlite:
        async with db.read() as conn:
            if await run_items.in_hand(conn, run.id):
                raise RunRefused(
                    f"检查运行 #{run.id} 正由 monitor worker 进程检查: 由它们完成, 本进程不检查"
                )
    if resumed and run.as_of != request.as_of:
        log.info("run.resumed", run_id=run.id, as_of=run.as_of.isoformat())
    async with db.read() as conn:
        listed = await monitoring.pending(conn, run, request.only)
    order = [pk for pk, _ in interleave_by_host(listed, itemgetter(1))]
    del listed
    summary = RunSummary(run.id, run.quarter, run.scope, resumed, len(order))
    structlog.contextvars.bind_contextvars(run_id=run.id)
    log.info(
        "run.start", quarter=run.quarter, scope=run.scope, accounts=len(order), resumed=resumed
    )
    writer = _Writer(db, run, context, summary)
    writer.start()
    inspector = _Inspector(db, context, run, writer, await _accounts_with_reviews(db))
    settings = context.fetch.with_concurrency(request.concurrency)
    todo = _in_pages(db, run, order)
    inspecting = asyncio.create_task(
        inspector.inspect(todo, len(order), settings, request.now, progress)
    )
    stopping = asyncio.create_task((stop or asyncio.Event()).wait())
    failing = asyncio.create_task(writer.failed.wait())
    try:
        await asyncio.wait({inspecting, stopping, failing}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped = not inspecting.done()
        for task in (inspecting, stopping, failing):
            task.cancel()
        await asyncio.gather(inspecting, stopping, failing, return_exceptions=True)
        try:
            await writer.close()
        finally:
            structlog.contextvars.unbind_contextvars("run_id")
    if not stopped:
        inspecting.result()  # a failure inside the run is raised here, after the checkpoint
    if inspector.parse_cpu_s is not None:
        median, mean = inspector.parse_cpu_s
        summary.parse_cpu_ms = (round(median * 1000, 2), round(mean * 1000, 2))
    return await _close(db, run, summary, request, stopped=stopped)


async def _close(
    db: Database, run: RunRow, summary: RunSummary, request: RunRequest, *, stopped: bool
) -> RunSummary:
    """Count the run's outcomes and, unless it was stopped, mark it completed."""
    async with db.write() as conn:
        await _tally(conn, run.id, summary)
        summary.completed = not stopped
        if summary.completed:
            await monitoring.finish_run(conn, run.id, summary.as_json(), datetime.now(SHANGHAI))
    figures = summary.as_json()
    log.info(
        "run.end",
        **{
            k: figures[k]
            for k in (
                "run_id",
                "completed",
                "inspected",
                "passed",
                "failed",
                "incomplete",
                "parse_cpu_ms",
            )
        },
    )
    return summary


async def _tally(conn: AsyncConnection, run_id: int, summary: RunSummary) -> None:
    """The run's figures from the database: the whole run's, however many invocations (a
    resumed run, workers) it took."""
    rows = await monitoring.run_counts(conn, run_id)
    summary.inspected = len(rows)
    summary.new_entries = int(
        (
            await conn.execute(
                select(func.count())
                .select_from(ledger_entries)
                .where(ledger_entries.c.run_id == run_id)
            )
        ).scalar_one()
    )
    summary.passed = sum(1 for outcome, _, _ in rows if outcome == "passed")
    summary.failed = sum(1 for outcome, _, _ in rows if outcome == "failed")
    summary.failed_by_problem = Counter(  # every problem found, serious ones of passed accounts too
        c for outcome, _, codes in rows if outcome != "incomplete" for c in codes
    )
    summary.incomplete_by_reason = Counter(
        r or "unknown" for outcome, r, _ in rows if outcome == "incomplete"
    )


async def complete_if_finished(conn: AsyncConnection, run: RunRow) -> bool:
    """Inside a write transaction: complete a shared run whose work items are all done.

    Writers are serialised and the run's row is locked, so of all the workers' commits exactly
    one finds the last item done while the run is still running; that one completes it.
    """
    if await run_items.open_count(conn, run.id) or not await run_items.lock_running(conn, run.id):
        return False
    summary = RunSummary(run.id, run.quarter, run.scope, resumed=False, targets=0)
    await _tally(conn, run.id, summary)
    summary.targets = summary.inspected
    summary.completed = True
    await monitoring.finish_run(conn, run.id, summary.as_json(), datetime.now(SHANGHAI))
    log.info("run.completed", run_id=run.id, inspected=summary.inspected, by="workers")
    return True

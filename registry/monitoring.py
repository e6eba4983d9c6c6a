"""What the monitor keeps: samples, runs, inspections and the last state of every feed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from checks.codes import SEVERITY
from checks.model import AccountFacts, Finding, Severity
from registry.accounts_view import account_select
from registry.fields import Status
from registry.schema import accounts, feed_states, inspections, runs, sample_members, samples, units


@dataclass(frozen=True, slots=True)
class Target:
    """An account to inspect: its registry facts and what the last fetch left behind."""

    pk: int
    facts: AccountFacts
    feed_url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(slots=True)
class Outcome:
    """The result of inspecting one account, as persisted."""

    pk: int
    outcome: str  # passed | failed | incomplete
    findings: list[Finding]
    inspected_at: datetime
    judged: frozenset[str] = frozenset()  # codes decided: a re-check closes only those (not stored)
    incomplete_reason: str | None = None
    fetch_status: str | None = None
    http_status: int | None = None
    last_post_at: datetime | None = None
    feed_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    stored_feed: bytes | None = None  # ``feed_copy`` of the feed read, for the next 304
    # (None: keep what is stored)
    fetched: bool = False


@dataclass(slots=True)
class RunRow:
    id: int
    quarter: str
    scope: str
    sample_id: int | None
    as_of: datetime
    status: str
    summary: dict[str, Any] = field(default_factory=dict)


def facts_of(row: Any) -> AccountFacts:
    return AccountFacts(
        platform=row["platform"],
        account_id=row["account_id"],
        name=row["name"],
        sponsor=row["sponsor"] or "",
        region_code=row["region_code"],
        status=row["status"],
        interaction=row["interaction"] == "有",
        opened_on=date.fromisoformat(row["opened_on"]),
        status_since=row["status_since"],
    )


# --- the feed kept for conditional GET ------------------------------------------------------


async def stored_feed(conn: AsyncConnection, pk: int) -> bytes | None:
    """The ``registry.feed_copy`` kept by the account's last successful fetch, if any."""
    query = select(feed_states.c.posts).where(feed_states.c.account_pk == pk)
    return (await conn.execute(query)).scalar()


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


# --- samples ------------------------------------------------------------------------------


async def sampling_population(
    conn: AsyncConnection,
) -> list[tuple[int, str, str, str | None, str | None]]:
    """Active accounts as (pk, region code, platform, last quarter with a complete inspection,
    last quarter with any inspection)."""
    complete = case((inspections.c.outcome != "incomplete", runs.c.quarter))
    last = (
        select(
            inspections.c.account_pk,
            func.max(complete).label("inspected"),
            func.max(runs.c.quarter).label("attempted"),
        )
        .join(runs, inspections.c.run_id == runs.c.id)
        .group_by(inspections.c.account_pk)
        .subquery()
    )
    query = (
        select(
            accounts.c.id,
            accounts.c.region_code,
            accounts.c.platform,
            last.c.inspected,
            last.c.attempted,
        )
        .outerjoin(last, last.c.account_pk == accounts.c.id)
        .where(accounts.c.status == Status.ACTIVE.value)
        .order_by(accounts.c.id)
    )
    return [
        (pk, region, platform, done, tried)
        for pk, region, platform, done, tried in await conn.execute(query)
    ]


async def current_sample(conn: AsyncConnection, quarter: str) -> Any | None:
    query = select(samples).where(samples.c.quarter == quarter, samples.c.current.is_(True))
    return (await conn.execute(query)).mappings().first()


async def store_sample(
    conn: AsyncConnection,
    *,
    quarter: str,
    seed: int,
    algorithm: str,
    ratio: float,
    population_size: int,
    population_digest: str,
    strata: list[dict[str, Any]],
    members: Iterable[tuple[int, str, str]],
    drawn_at: datetime,
    drawn_by: str,
    replaces: int | None,
) -> int:
    if replaces is not None:
        await conn.execute(update(samples).where(samples.c.id == replaces).values(current=False))
    result = await conn.execute(
        insert(samples).values(
            quarter=quarter,
            seed=seed,
            algorithm=algorithm,
            ratio=ratio,
            population_size=population_size,
            population_digest=population_digest,
            strata=strata,
            drawn_at=drawn_at,
            drawn_by=drawn_by,
            replaces=replaces,
            current=True,
        )
    )
    sample_id = _new_id(result)
    rows = [
        {"sample_id": sample_id, "account_pk": pk, "reason": r, "stratum": s}
        for pk, r, s in members
    ]
    if rows:
        await conn.execute(insert(sample_members), rows)
    return sample_id


async def sample_listing(conn: AsyncConnection, sample_id: int) -> list[dict[str, Any]]:
    query = (
        account_select()
        .add_columns(sample_members.c.reason, sample_members.c.stratum)
        .join(sample_members, sample_members.c.account_pk == accounts.c.id)
        .where(sample_members.c.sample_id == sample_id)
        .order_by(accounts.c.id)
    )
    return [dict(row) for row in (await conn.execute(query)).mappings()]


# --- runs ---------------------------------------------------------------------------------


async def unfinished_run(conn: AsyncConnection, quarter: str, scope: str) -> RunRow | None:
    query = (
        select(runs)
        .where(runs.c.quarter == quarter, runs.c.scope == scope, runs.c.status == "running")
        .order_by(runs.c.id.desc())
    )
    row = (await conn.execute(query)).mappings().first()
    return _run_row(row) if row else None


async def supersede_run(conn: AsyncConnection, run_id: int, now: datetime) -> None:
    """End an unfinished run that a new one replaces (its outcomes so far are kept)."""
    await conn.execute(
        update(runs).where(runs.c.id == run_id).values(status="superseded", finished_at=now)
    )


async def run_by_id(conn: AsyncConnection, run_id: int) -> RunRow | None:
    row = (await conn.execute(select(runs).where(runs.c.id == run_id))).mappings().first()
    return _run_row(row) if row else None


def _run_row(row: Any) -> RunRow:
    return RunRow(
        row["id"],
        row["quarter"],
        row["scope"],
        row["sample_id"],
        row["as_of"],
        row["status"],
        row["summary"] or {},
    )


async def create_run(
    conn: AsyncConnection,
    *,
    quarter: str,
    scope: str,
    sample_id: int | None,
    as_of: datetime,
    now: datetime,
) -> RunRow:
    result = await conn.execute(
        insert(runs).values(
            quarter=quarter,
            scope=scope,
            sample_id=sample_id,
            as_of=as_of,
            started_at=now,
            status="running",
        )
    )
    return RunRow(_new_id(result), quarter, scope, sample_id, as_of, "running")


async def finish_run(
    conn: AsyncConnection, run_id: int, summary: dict[str, Any], now: datetime
) -> None:
    await conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(status="completed", finished_at=now, summary=summary)
    )


async def completed_run_exists(conn: AsyncConnection, quarter: str) -> bool:
    """Whether the quarter's inspection (its sample, or every account) has a completed run; a
    sweep's re-check run is not one."""
    query = (
        select(runs.c.id)
        .where(
            runs.c.quarter == quarter,
            runs.c.status == "completed",
            runs.c.scope.in_(("sample", "all")),
        )
        .limit(1)
    )
    return (await conn.execute(query)).first() is not None


async def pending(
    conn: AsyncConnection, run: RunRow, only: Iterable[int] | None = None
) -> list[tuple[int, str]]:
    """(account id, feed address) of the run's accounts that still need an inspection in its
    quarter and scope, by id: what ``targets`` would load, without the account facts (a run of
    many accounts loads those page by page)."""
    query = _in_run(select(accounts.c.id, accounts.c.feed_url), run, only, pending_only=True)
    return [(pk, url) for pk, url in await conn.execute(query.order_by(accounts.c.id))]


async def targets(
    conn: AsyncConnection,
    run: RunRow,
    only: Iterable[int] | None = None,
    *,
    pending_only: bool = True,
) -> list[Target]:
    """The run's accounts that still need an inspection in its quarter and scope.

    An account is done once any run of the same quarter and scope holds a complete (passed or
    failed) inspection of it; incomplete ones are tried again. ``pending_only=False`` skips
    that test (a worker loading the accounts it claimed: its work items already say what is
    left, and the test costs a scan of the quarter's inspections).
    """
    query = account_select().add_columns(
        feed_states.c.etag, feed_states.c.last_modified, feed_states.c.url.label("state_url")
    )
    query = query.outerjoin(feed_states, feed_states.c.account_pk == accounts.c.id)
    query = _in_run(query, run, only, pending_only=pending_only)
    result = []
    for row in (await conn.execute(query.order_by(accounts.c.id))).mappings():
        same_url = row["state_url"] == row["feed_url"]
        result.append(
            Target(
                pk=row["id"],
                facts=facts_of(row),
                feed_url=row["feed_url"],
                etag=row["etag"] if same_url else None,
                last_modified=row["last_modified"] if same_url else None,
            )
        )
    return result


def _in_run(
    query: Select[Any], run: RunRow, only: Iterable[int] | None, *, pending_only: bool
) -> Select[Any]:
    """``query`` (over ``accounts``) kept to the run's scope, ``only`` and, if asked, to the
    accounts without a complete inspection in the run's quarter and scope."""
    if run.scope == "sample":
        query = query.join(
            sample_members,
            and_(
                sample_members.c.account_pk == accounts.c.id,
                sample_members.c.sample_id == run.sample_id,
            ),
        )
    elif run.scope == "all":
        query = query.where(
            (accounts.c.status == Status.ACTIVE.value) | (accounts.c.feed_url != "")
        )
    if only is not None:
        query = query.where(accounts.c.id.in_(list(only)))
    if run.scope != "recheck" and pending_only:
        done = (
            select(inspections.c.account_pk)
            .join(runs, inspections.c.run_id == runs.c.id)
            .where(
                runs.c.quarter == run.quarter,
                runs.c.scope == run.scope,
                inspections.c.outcome != "incomplete",
            )
        )
        query = query.where(accounts.c.id.not_in(done))
    return query


_INSPECTION_FIELDS = (
    "outcome",
    "incomplete_reason",
    "fetch_status",
    "http_status",
    "problems",
    "last_post_at",
    "inspected_at",
)
_FEED_FIELDS = (
    "url",
    "etag",
    "last_modified",
    "last_status",
    "last_http_status",
    "last_error",
    "last_fetched_at",
)


async def save_outcomes(conn: AsyncConnection, run_id: int, outcomes: Sequence[Outcome]) -> None:
    """The inspection rows and the feeds' state for a batch of outcomes (two statements); the
    ledger is written by the caller."""
    if not outcomes:
        return
    insert_ = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    rows = [
        {
            "run_id": run_id,
            "account_pk": o.pk,
            "outcome": o.outcome,
            "incomplete_reason": o.incomplete_reason,
            "fetch_status": o.fetch_status,
            "http_status": o.http_status,
            "problems": [f.code for f in o.findings],
            "last_post_at": o.last_post_at,
            "inspected_at": o.inspected_at,
        }
        for o in outcomes
    ]
    statement = insert_(inspections)
    # An account left incomplete is tried again in the same run when it resumes; a complete
    # inspection is never replaced (whatever a second process on the run found later).
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["run_id", "account_pk"],
            set_={k: statement.excluded[k] for k in _INSPECTION_FIELDS},
            where=inspections.c.outcome == "incomplete",
        ),
        rows,
    )
    states = [
        {
            "account_pk": o.pk,
            "url": o.feed_url,
            "etag": o.etag,
            "last_modified": o.last_modified,
            "last_status": o.fetch_status,
            "last_http_status": o.http_status,
            "last_error": o.error,
            "last_fetched_at": o.inspected_at,
            "consecutive_failures": int(o.outcome == "incomplete"),
            "posts": o.stored_feed,
        }
        for o in outcomes
        if o.fetched and o.feed_url is not None
    ]
    if not states:
        return
    statement = insert_(feed_states)
    excluded = statement.excluded
    on_conflict = {
        **{k: excluded[k] for k in _FEED_FIELDS},
        # the insert's value is 1 for a failed fetch: count a streak of failures, reset on success
        "consecutive_failures": case(
            (excluded.consecutive_failures == 0, 0), else_=feed_states.c.consecutive_failures + 1
        ),
        "posts": func.coalesce(excluded.posts, feed_states.c.posts),  # kept for the next 304
    }
    await conn.execute(
        statement.on_conflict_do_update(index_elements=["account_pk"], set_=on_conflict), states
    )


async def run_counts(conn: AsyncConnection, run_id: int) -> list[tuple[str, str | None, list[str]]]:
    query = select(
        inspections.c.outcome, inspections.c.incomplete_reason, inspections.c.problems
    ).where(inspections.c.run_id == run_id)
    return [(o, r, list(p)) for o, r, p in await conn.execute(query)]


async def latest_outcomes(
    conn: AsyncConnection, quarter: str, where: ColumnElement[bool] | None = None
) -> dict[int, tuple[str, str, str, str]]:
    """Account pk -> (verdict, platform, region code, sponsor) of its latest inspection in the
    quarter's runs (optionally only the accounts ``where`` selects). The verdict is the
    outcome, but an incomplete inspection that found a veto item (one that needs no feed, such
    as no interaction) is failed: any veto item fails the account."""
    query = (
        select(
            inspections.c.account_pk,
            inspections.c.outcome,
            inspections.c.problems,
            accounts.c.platform,
            accounts.c.region_code,
            units.c.name,
        )
        .join(runs, inspections.c.run_id == runs.c.id)
        .join(accounts, inspections.c.account_pk == accounts.c.id)
        .join(units, accounts.c.sponsor_id == units.c.id)
        .where(runs.c.quarter == quarter)
        .order_by(inspections.c.inspected_at, inspections.c.id)
    )
    if where is not None:
        query = query.where(where)
    return {
        pk: (_verdict(outcome, problems), platform, region, sponsor)
        for pk, outcome, problems, platform, region, sponsor in await conn.execute(query)
    }


def _verdict(outcome: str, problems: Any) -> str:
    if outcome == "incomplete" and any(
        SEVERITY.get(code) is Severity.VETO for code in problems or ()
    ):
        return "failed"
    return outcome

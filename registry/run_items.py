"""A run's accounts as work items, shared by ``govmedia monitor worker`` processes.

Protocol (PostgreSQL; times are the database server's clock, so workers on several machines
need no synchronised clocks):

* The daemon opens a run and ``fill``s one ``todo`` item per account to inspect.
* A worker ``claim``s a batch: ``SELECT ... FOR UPDATE SKIP LOCKED LIMIT n`` over the items that
  are ``todo`` or ``claimed`` with a lease that has run out, and sets them ``claimed`` with
  itself as ``lease_owner`` and ``lease_until = now() + lease``. Two workers never get the same
  item: the row locks make one skip what the other is claiming.
* While it works, a worker ``renew``s the lease of everything it holds; a worker that dies stops
  renewing, its leases run out and the items become claimable again.
* An account's outcome is written in the transaction that marks its item ``done`` with
  ``mark_done(owner=...)``: the update only touches items the worker still holds, so a worker
  whose lease ran out and was taken over writes nothing for those accounts (the new holder
  does). A ``done`` item is never claimed again.
* Claims and lease renewals take only row locks (and never wait: SKIP LOCKED). Outcomes are
  committed inside ``Database.write()`` because the ledger's hash chain needs one writer at a
  time; the same lock makes "no open item left" a question only one committer can answer yes
  to, which is how a run completes exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.schema import run_items, runs

TODO, CLAIMED, DONE = "todo", "claimed", "done"


async def fill(conn: AsyncConnection, run_id: int, account_pks: Iterable[int]) -> int:
    """One ``todo`` item per account (items already there are left as they are)."""
    insert_ = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    rows = [
        {"run_id": run_id, "account_pk": pk, "state": TODO, "attempts": 0} for pk in account_pks
    ]
    for start in range(0, len(rows), 5000):
        await conn.execute(insert_(run_items).on_conflict_do_nothing(), rows[start : start + 5000])
    return len(rows)


_CLAIM = text(
    """
    UPDATE run_items AS i
       SET state = 'claimed', lease_owner = :owner,
           lease_until = now() + make_interval(secs => :lease_s), attempts = i.attempts + 1
      FROM (SELECT run_id, account_pk FROM run_items
             WHERE run_id = :run_id
               AND (state = 'todo' OR (state = 'claimed' AND lease_until < now()))
             ORDER BY account_pk
             LIMIT :limit
             FOR UPDATE SKIP LOCKED) AS picked
     WHERE i.run_id = picked.run_id AND i.account_pk = picked.account_pk
    RETURNING i.account_pk
    """
)

_RENEW = text(
    """
    UPDATE run_items AS i
       SET lease_until = now() + make_interval(secs => :lease_s)
      FROM (SELECT run_id, account_pk FROM run_items
             WHERE run_id = :run_id AND state = 'claimed' AND lease_owner = :owner
             FOR UPDATE SKIP LOCKED) AS held
     WHERE i.run_id = held.run_id AND i.account_pk = held.account_pk
    """
)

_RELEASE = text(
    """
    UPDATE run_items AS i
       SET state = 'todo', lease_owner = NULL, lease_until = NULL
      FROM (SELECT run_id, account_pk FROM run_items
             WHERE run_id = :run_id AND state = 'claimed' AND lease_owner = :owner
             FOR UPDATE SKIP LOCKED) AS held
     WHERE i.run_id = held.run_id AND i.account_pk = held.account_pk
    """
)


async def claim(
    conn: AsyncConnection, run_id: int, owner: str, limit: int, lease_s: float
) -> list[int]:
    """Claim up to ``limit`` open items of the run; returns their account pks (PostgreSQL)."""
    result = await conn.execute(
        _CLAIM, {"run_id": run_id, "owner": owner, "limit": limit, "lease_s": float(lease_s)}
    )
    return sorted(pk for (pk,) in result)


async def renew(conn: AsyncConnection, run_id: int, owner: str, lease_s: float) -> int:
    """Extend the lease of every item the owner holds in the run (PostgreSQL)."""
    result = await conn.execute(
        _RENEW, {"run_id": run_id, "owner": owner, "lease_s": float(lease_s)}
    )
    return int(result.rowcount or 0)


async def release(conn: AsyncConnection, run_id: int, owner: str) -> int:
    """Give back the items the owner holds but did not finish (a worker stopping cleanly)."""
    result = await conn.execute(_RELEASE, {"run_id": run_id, "owner": owner})
    return int(result.rowcount or 0)


async def release_left_by(conn: AsyncConnection, owner: str) -> int:
    """Give back, in every run, the items still claimed under ``owner``: a worker starting
    under a name its killed predecessor used would otherwise keep renewing that process's
    leases, and nobody would ever inspect those accounts."""
    statement = (
        update(run_items)
        .where(run_items.c.state == CLAIMED, run_items.c.lease_owner == owner)
        .values(state=TODO, lease_owner=None, lease_until=None)
    )
    result = await conn.execute(statement)
    return int(result.rowcount or 0)


async def mark_done(
    conn: AsyncConnection, run_id: int, account_pks: Sequence[int], owner: str | None
) -> set[int]:
    """Mark items done; returns the account pks whose item this call marked.

    With an ``owner`` only the items that owner still holds are marked (a worker that lost its
    lease marks nothing); without one (the in-process run) every open item of those accounts.
    """
    if not account_pks:
        return set()
    condition = and_(run_items.c.run_id == run_id, run_items.c.account_pk.in_(list(account_pks)))
    if owner is None:
        condition = and_(condition, run_items.c.state != DONE)
    else:
        condition = and_(condition, run_items.c.state == CLAIMED, run_items.c.lease_owner == owner)
    statement = update(run_items).where(condition).values(state=DONE, lease_until=None)
    if conn.dialect.name == "postgresql":
        result = await conn.execute(statement.returning(run_items.c.account_pk))
        return {pk for (pk,) in result}
    await conn.execute(statement)
    return set(account_pks)


async def open_count(conn: AsyncConnection, run_id: int) -> int:
    """Items of the run not done yet (todo or claimed)."""
    query = select(func.count()).where(run_items.c.run_id == run_id, run_items.c.state != DONE)
    return int((await conn.execute(query)).scalar_one())


async def in_hand(conn: AsyncConnection, run_id: int) -> bool:
    """Whether workers hold items of the run under a lease still running (PostgreSQL)."""
    query = (
        select(run_items.c.run_id)
        .where(
            run_items.c.run_id == run_id,
            run_items.c.state == CLAIMED,
            run_items.c.lease_until > func.now(),
        )
        .limit(1)
    )
    return (await conn.execute(query)).first() is not None


async def has_items(conn: AsyncConnection, run_id: int) -> bool:
    query = select(run_items.c.run_id).where(run_items.c.run_id == run_id).limit(1)
    return (await conn.execute(query)).first() is not None


async def open_runs(conn: AsyncConnection) -> list[int]:
    """Running runs that still have open items, oldest first."""
    query = (
        select(runs.c.id)
        .where(
            runs.c.status == "running",
            select(run_items.c.run_id)
            .where(run_items.c.run_id == runs.c.id, run_items.c.state != DONE)
            .exists(),
        )
        .order_by(runs.c.id)
    )
    return [run_id for (run_id,) in await conn.execute(query)]


async def lock_running(conn: AsyncConnection, run_id: int) -> bool:
    """Lock the run's row; True when it is still running (the caller may complete it)."""
    query = select(runs.c.status).where(runs.c.id == run_id).with_for_update()
    if conn.dialect.name == "sqlite":
        query = select(runs.c.status).where(runs.c.id == run_id)
    return (await conn.execute(query)).scalar_one_or_none() == "running"


async def done_by(conn: AsyncConnection, run_id: int) -> dict[str, int]:
    """How many of the run's items each worker finished."""
    query = (
        select(run_items.c.lease_owner, func.count())
        .where(run_items.c.run_id == run_id, run_items.c.state == DONE)
        .group_by(run_items.c.lease_owner)
    )
    return {owner or "": n for owner, n in await conn.execute(query)}

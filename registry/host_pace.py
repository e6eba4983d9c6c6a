"""A host's minimum interval kept across processes: ``monitor worker`` processes on several
machines reserve their send times for a throttled host in one row of ``host_pace``.

The database's clock decides, so the workers' clocks need not agree. PostgreSQL only (workers
run only there); a process alone paces itself (``monitor.fetch``).
"""

from __future__ import annotations

from sqlalchemy import text

from registry.db import Database

_RESERVE = text(
    """
    INSERT INTO host_pace (host, next_at)
    VALUES (:host, clock_timestamp() + make_interval(secs => :interval))
    ON CONFLICT (host) DO UPDATE
    SET next_at = GREATEST(host_pace.next_at, clock_timestamp()) + make_interval(secs => :interval)
    RETURNING EXTRACT(EPOCH FROM (next_at - clock_timestamp())) - :interval
    """
)


async def reserve(db: Database, host: str, interval_s: float) -> float:
    """Take the host's next send time, at least ``interval_s`` after the one taken before it by
    any process; returns the seconds to wait until then (0 when it is now)."""
    async with db.engine.begin() as conn:
        wait = (await conn.execute(_RESERVE, {"host": host, "interval": interval_s})).scalar_one()
    return max(0.0, float(wait))

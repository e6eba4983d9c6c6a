"""Short-lived caches of what every page view would otherwise recompute.

``ReadCache`` keeps, per scope (role and value) and filters, for a few seconds:

* the dashboard's figures per quarter (``[web] dashboard_cache_s``, 30 s by default);
* the ordered ids of the accounts an inventory listing matches (``[web] list_cache_s``, 5 s
  by default), so that the total and any page of the listing cost a slice of an array and one
  query for that page's rows (no ``COUNT`` and no deep ``OFFSET`` over 100,000 accounts).
  The rows themselves are always read fresh, with the scope and the filters applied again in
  SQL: an account that left the scope since the ids were listed is not shown. On SQLite they
  are read on the event loop's thread (``scoped.LoopReader``: well under a millisecond,
  cheaper than a round trip to an aiosqlite thread).

The key always holds the scope, so nothing is shared across scopes. One computation at a time
per key (others wait for it), so twenty clients opening the same listing together cost one
query. Writes made through the console or the API clear everything at once; writes made by
other processes (command-line imports) show within the time to live.

``AuthCache`` remembers who a session cookie or an API token stands for.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from registry import scoped, scoped_dashboard, users
from registry.db import Database
from registry.scope import Scope
from registry.users import Session, User

K = TypeVar("K")
V = TypeVar("V")
# Ids held in all cached listings together (8 bytes each): the least recently used listings
# are dropped past it (the newest is kept even when longer by itself).
MAX_CACHED_IDS = 2_000_000
MAX_DASHBOARDS = 256
PAGE_READS = 6


class Entries(Generic[K, V]):
    """Values with an expiry time, the least recently used dropped past ``weight_limit`` (the
    newest is kept even when it weighs more by itself: recomputing it for every caller would
    cost more than its memory)."""

    def __init__(self, weight_limit: int, weight: Callable[[V], int]) -> None:
        self.weight_limit = weight_limit
        self._weight = weight
        self._values: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._total = 0
        self._pending: dict[K, asyncio.Future[V]] = {}  # computations under way
        self._generation = 0

    def clear(self) -> None:
        self._values.clear()
        self._total = 0
        # computations under way may have read the data before the write that clears: their
        # results are neither stored nor given to callers that come after the clear
        self._pending.clear()
        self._generation += 1

    def get(self, key: K) -> V | None:
        found = self._values.get(key)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            self._drop(key)
            return None
        self._values.move_to_end(key)
        return found[1]

    def _drop(self, key: K) -> None:
        _expires, value = self._values.pop(key)
        self._total -= self._weight(value)

    def put(self, key: K, value: V, ttl_s: float) -> None:
        if key in self._values:
            self._drop(key)
        self._values[key] = (time.monotonic() + ttl_s, value)
        self._total += self._weight(value)
        while self._total > self.weight_limit and len(self._values) > 1:
            self._drop(next(iter(self._values)))

    async def get_or_compute(self, key: K, ttl_s: float, compute: Callable[[], Awaitable[V]]) -> V:
        """The value under ``key``, computed once for all the callers asking meanwhile (in a
        task of its own, so that a caller that goes away does not cancel it for the others)."""
        found = self.get(key)
        if found is not None:
            return found
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._compute(key, ttl_s, compute, self._generation))
            task.add_done_callback(_retrieve)
            self._pending[key] = task
        return await asyncio.shield(task)

    async def _compute(
        self, key: K, ttl_s: float, compute: Callable[[], Awaitable[V]], generation: int
    ) -> V:
        try:
            value = await compute()
        finally:
            if generation == self._generation:
                del self._pending[key]
        if value is not None and generation == self._generation:
            self.put(key, value, ttl_s)  # None (nothing found) is never kept
        return value


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a computation's failure as seen (its callers got it, if any were still waiting)."""
    if not task.cancelled():
        task.exception()


class ReadCache:
    def __init__(
        self,
        dashboard_ttl_s: float,
        list_ttl_s: float = 5.0,
        *,
        reader: scoped.LoopReader | None = None,
    ) -> None:
        self.dashboard_ttl_s = dashboard_ttl_s
        self.list_ttl_s = list_ttl_s
        self.reader = reader  # SQLite: a page's rows are read on the loop's thread
        # pages read at once through the pool (PostgreSQL): a burst of twenty clients then
        # queues for a few connections (each read is one short round trip) instead of opening
        # a connection per client past the pool's size
        self._page_reads = asyncio.Semaphore(PAGE_READS)
        self._dashboards: Entries[tuple[str, str, str], dict[str, Any]] = Entries(
            MAX_DASHBOARDS, lambda _figures: 1
        )
        self._listings: Entries[tuple[str, ...], array[int]] = Entries(MAX_CACHED_IDS, len)

    def clear(self) -> None:
        """Forget everything (after a write made through the console or the API)."""
        self._dashboards.clear()
        self._listings.clear()

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()

    async def dashboard(self, db: Database, scope: Scope, quarter: str) -> dict[str, Any]:
        if self.dashboard_ttl_s <= 0:
            return await scoped_dashboard.dashboard(db, scope, quarter)
        return await self._dashboards.get_or_compute(
            (scope.role.value, scope.value, quarter),
            self.dashboard_ttl_s,
            lambda: scoped_dashboard.dashboard(db, scope, quarter),
        )

    async def account_page(
        self,
        db: Database,
        scope: Scope,
        filters: scoped.AccountFilters,
        *,
        page: int,
        per_page: int,
    ) -> scoped.Page:
        """One page of the accounts in scope matching ``filters``, with their total."""
        if self.list_ttl_s <= 0:
            return await scoped.search_accounts(db, scope, filters, page=page, per_page=per_page)
        key = (scope.role.value, scope.value, *filters.key())
        ids = await self._listings.get_or_compute(
            key, self.list_ttl_s, lambda: scoped.matching_ids(db, scope, filters)
        )
        start = (page - 1) * per_page
        chosen = ids[start : start + per_page].tolist()
        if not chosen:
            return scoped.Page(len(ids), page, per_page, [])
        async with self._page_reads:
            rows = await scoped.accounts_by_ids(db, scope, filters, chosen, reader=self.reader)
        return scoped.Page(len(ids), page, per_page, rows)


class AuthCache:
    """Who a session or an API token stands for, remembered for ``[web] auth_cache_s`` seconds
    (5 by default; 0 turns it off) by the SHA-256 of the secret, so that a page view does not
    query the database for it. Logging out, and revoking a user or a token in this process,
    forget every entry at once; a revocation made by another process (``govmedia users revoke``,
    ``govmedia users revoke-token``) takes effect within those seconds. A session's expiry is
    checked on every request."""

    MAX_ENTRIES = 10_000

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: Entries[tuple[str, str], Session | User | None] = Entries(
            self.MAX_ENTRIES, lambda _value: 1
        )
        self._revocations = users.revocation_count()

    def _forget_if_revoked(self) -> None:
        """Forget everything when this process revoked something since last seen (a lookup
        under way then is neither kept nor shared with later callers: see ``Entries.clear``)."""
        count = users.revocation_count()
        if count != self._revocations:
            self._entries.clear()
            self._revocations = count

    async def session(self, db: Database, cookie: str, *, now: datetime) -> Session | None:
        if self.ttl_s <= 0:
            return await users.get_session(db, cookie, now=now)
        self._forget_if_revoked()
        found = await self._entries.get_or_compute(
            ("session", users.digest(cookie)),
            self.ttl_s,
            lambda: users.get_session(db, cookie, now=now),
        )
        return found if isinstance(found, Session) and found.expires_at > now else None

    async def token(self, db: Database, token: str) -> User | None:
        if self.ttl_s <= 0:
            return await users.user_for_token(db, token)
        self._forget_if_revoked()
        found = await self._entries.get_or_compute(
            ("token", users.digest(token)), self.ttl_s, lambda: users.user_for_token(db, token)
        )
        return found if isinstance(found, User) else None

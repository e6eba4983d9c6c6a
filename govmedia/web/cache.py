"""The dashboard's figures, reused for ``[web] dashboard_cache_s`` seconds per scope and quarter.

One computation at a time per key (others wait for it), so twenty clients opening the
dashboard together cost one aggregation. Writes made through the console clear the cache.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from registry import scoped
from registry.db import Database
from registry.scope import Scope


class DashboardCache:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._values: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}

    def clear(self) -> None:
        self._values.clear()

    async def dashboard(self, db: Database, scope: Scope, quarter: str) -> dict[str, Any]:
        if self.ttl_s <= 0:
            return await scoped.dashboard(db, scope, quarter)
        key = (scope.role.value, scope.value, quarter)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            found = self._values.get(key)
            if found is not None and found[0] > time.monotonic():
                return found[1]
            figures = await scoped.dashboard(db, scope, quarter)
            self._values[key] = (time.monotonic() + self.ttl_s, figures)
            return figures

"""Login rate limiting: failed attempts per (user name, client address), kept in memory.

In memory means per process and reset on restart; that is enough for one loopback server
behind a proxy. A successful login clears the counter.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    def __init__(
        self, max_attempts: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_attempts = max_attempts
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        now = self.clock()
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def blocked(self, username: str, remote: str) -> float:
        """Seconds until another attempt is allowed (0 when allowed now)."""
        failures = self._recent((username, remote))
        if len(failures) < self.max_attempts:
            return 0.0
        return max(0.0, failures[0] + self.window_s - self.clock())

    def failed(self, username: str, remote: str) -> None:
        self._recent((username, remote)).append(self.clock())
        if len(self._failures) > 100_000:  # bound memory under a spray of names
            self._failures.clear()

    def succeeded(self, username: str, remote: str) -> None:
        self._failures.pop((username, remote), None)

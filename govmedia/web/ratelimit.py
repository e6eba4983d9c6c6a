"""Login rate limiting: failed attempts per (user name, client address), kept in memory.

In memory means per process and reset on restart; that is enough for one loopback server
behind a proxy. A successful login clears the counter.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

MAX_KEYS = 100_000


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
        if len(self._failures) > MAX_KEYS:  # bound memory under a spray of names
            self._evict()

    def _evict(self) -> None:
        """Forget counters past the window, then (a spray within one window) the oldest of the
        names not locked out: clearing them all would also free a locked name."""
        cutoff = self.clock() - self.window_s
        kept = {key: times for key, times in self._failures.items() if times and times[-1] > cutoff}
        if len(kept) > MAX_KEYS // 2:
            locked = {k: t for k, t in kept.items() if len(t) >= self.max_attempts}
            others = sorted(
                (item for item in kept.items() if len(item[1]) < self.max_attempts),
                key=lambda item: item[1][-1],
            )
            room = max(0, MAX_KEYS // 2 - len(locked))
            kept = locked | dict(others[len(others) - room :])
        self._failures = kept

    def succeeded(self, username: str, remote: str) -> None:
        self._failures.pop((username, remote), None)

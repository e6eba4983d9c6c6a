"""The fetcher's result types (see ``monitor.fetch``); plain data that pickles."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from checks.model import FetchStatus, Post

#: outcomes caused by something other than the account: they make an inspection incomplete
OUTSIDE_ACCOUNT = frozenset(
    {
        FetchStatus.TIMEOUT,
        FetchStatus.BLOCKED,
        FetchStatus.RATE_LIMITED,
        FetchStatus.NETWORK,
        FetchStatus.HTTP_ERROR,
    }
)


@dataclass(slots=True)
class FetchResult:
    url: str
    status: FetchStatus
    http_status: int | None = None
    posts: list[Post] | None = None  # None unless read (ok) or reused (not_modified)
    stored_feed: bytes | None = None  # ``registry.feed_copy`` of the feed, for the next 304
    etag: str | None = None  # validators to send next time (kept from the request on a 304)
    last_modified: str | None = None
    attempts: int = 0
    error: str | None = None
    elapsed_s: float = 0.0
    feed_title: str | None = None
    feed_format: str | None = None
    final_url: str | None = None  # after redirects
    body_bytes: int = 0
    retry_after_s: float | None = None
    bozo: str | None = None  # the feed was ill-formed but items were recovered
    host: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED)

    @property
    def outside_account(self) -> bool:
        return self.status in OUTSIDE_ACCOUNT


@dataclass(frozen=True, slots=True)
class FetchRequest:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    previous_posts: Sequence[Post] | None = None
    key: Hashable = None  # the caller's handle, e.g. the account id


@dataclass
class HostStats:
    fetches: int = 0  # completed fetch() calls
    attempts: int = 0  # HTTP attempts, retries included
    by_status: Counter[FetchStatus] = field(default_factory=Counter)  # final outcomes
    attempt_statuses: Counter[FetchStatus] = field(default_factory=Counter)

    @property
    def failures(self) -> int:
        """Fetches that ended for a reason outside the account (see ``OUTSIDE_ACCOUNT``)."""
        return sum(self.by_status[status] for status in OUTSIDE_ACCOUNT)

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.fetches if self.fetches else 0.0

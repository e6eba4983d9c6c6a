"""The data that flows into and out of the inspection rules.

Everything here is plain, immutable data: the monitor builds these from the registry and the
fetched feed, the rules in this package turn them into findings. No I/O happens here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class FetchStatus(StrEnum):
    """Outcome of one attempt to read an account's feed (the fixed taxonomy of the interface)."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    GONE = "gone"  # 404 / 410: the account's page or feed no longer exists
    BLOCKED = "blocked"  # 403 with a challenge page
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    NETWORK = "network"
    HTTP_ERROR = "http_error"
    PARSE_ERROR = "parse_error"
    TOO_LARGE = "too_large"


class Severity(StrEnum):
    VETO = "veto"
    SERIOUS = "serious"


@dataclass(frozen=True, slots=True)
class Post:
    """One item of an account's feed.

    ``published_at`` is timezone-aware when the source gave an offset; a naive value means
    Asia/Shanghai. ``None`` means the item carried no usable date.
    """

    title: str
    url: str | None = None
    published_at: datetime | None = None
    content: str = ""  # plain text or HTML of the item body


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """A review record (审核记录) kept by the operating unit for one published post."""

    title: str | None = None
    url: str | None = None
    first_reviewer: str | None = None
    first_reviewed_at: datetime | None = None
    second_reviewer: str | None = None
    second_reviewed_at: datetime | None = None
    final_reviewer: str | None = None
    final_reviewed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What the registry knows about an account at the monitoring time point."""

    platform: str
    account_id: str
    name: str
    sponsor: str
    region_code: str
    status: str  # 正常 | 关停 | 注销
    interaction: bool = True
    opened_on: date | None = None
    status_since: date | None = None  # effective date of the filing that set ``status``


@dataclass(frozen=True, slots=True)
class InspectionInput:
    """Everything one inspection of one account looks at.

    ``posts`` is ``None`` when no feed could be read (see ``fetch_status``); an empty sequence
    means the feed was read and holds no items. ``at`` is the monitoring time point.
    """

    account: AccountFacts
    at: datetime
    posts: Sequence[Post] | None = None
    reviews: Sequence[ReviewRecord] = ()
    fetch_status: FetchStatus | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of evidence for a finding; personal data in it is already masked."""

    url: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    excerpt: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found on an account: one per (account, problem code) and inspection."""

    code: str
    severity: Severity
    description: str  # Chinese, for the ledger
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    last_post_at: datetime | None = None

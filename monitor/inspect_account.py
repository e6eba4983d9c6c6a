"""One account's inspection: from a fetch result to an outcome (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import checks
from checks.model import FetchStatus, InspectionInput, Post, ReviewRecord, Severity
from registry.monitoring import Outcome, Target
from registry.times import SHANGHAI

COMPLETE = frozenset({FetchStatus.OK, FetchStatus.NOT_MODIFIED, FetchStatus.GONE})
# Why an inspection could not be completed, as the run's summary shows it.
INCOMPLETE_LABELS = {
    "no_feed": "未登记订阅地址",
    "host_degraded": "平台大面积访问失败",
    str(FetchStatus.TIMEOUT): "访问超时",
    str(FetchStatus.NETWORK): "网络连接失败",
    str(FetchStatus.BLOCKED): "被平台拦截(验证页)",
    str(FetchStatus.RATE_LIMITED): "被平台限流",
    str(FetchStatus.HTTP_ERROR): "平台返回错误",
    str(FetchStatus.PARSE_ERROR): "订阅内容无法解析",
    str(FetchStatus.TOO_LARGE): "订阅内容超过大小上限",
}


def newest_post_at(posts: Sequence[Post] | None, at: datetime) -> datetime | None:
    """The newest item time not after the time point (naive times are Asia/Shanghai)."""
    newest = None
    for post in posts or ():
        moment = post.published_at
        if moment is None:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=SHANGHAI)
        if moment <= at and (newest is None or moment > newest):
            newest = moment
    return newest


class Judgement(NamedTuple):
    outcome: str  # passed | failed | incomplete
    reason: str | None  # why incomplete
    findings: list[checks.Finding]
    judged: frozenset[str]  # the problem codes decided (``checks.judged_codes``)


def judge(
    target: Target,
    *,
    at: datetime,
    status: FetchStatus | None,
    posts: Sequence[Post] | None,
    reviews: Sequence[ReviewRecord],
    policy: checks.Policy,
    host_degraded: bool = False,
) -> Judgement:
    """The outcome, findings and decided codes of one account: failed when a veto item is found.

    A fetch that failed for reasons outside the account leaves the inspection incomplete: only
    the rules that need no feed run (``no_interaction``), never a problem made of the failure.
    A 404/410 from a host where most fetches of the run failed is treated the same way.
    """
    if status is None:
        reason: str | None = "no_feed"
    elif status is FetchStatus.GONE and host_degraded:
        reason = "host_degraded"
    elif status not in COMPLETE:
        reason = str(status)
    else:
        reason = None
    complete = reason is None
    inspection = InspectionInput(
        account=target.facts,
        at=at,
        posts=posts if complete else None,
        reviews=reviews,
        fetch_status=status if complete else None,
    )
    findings = checks.inspect(inspection, policy)
    judged = checks.judged_codes(inspection, policy)
    if not complete:
        return Judgement("incomplete", reason, findings, judged)
    # Only veto items fail an account (国办秘函〔2019〕19号); serious problems are ledgered all
    # the same, and the account still passes.
    failed = any(finding.severity is Severity.VETO for finding in findings)
    return Judgement("failed" if failed else "passed", None, findings, judged)


def outcome_of(
    target: Target,
    *,
    at: datetime,
    inspected_at: datetime,
    judged: Judgement,
    status: FetchStatus | None = None,
    http_status: int | None = None,
    posts: Sequence[Post] | None = None,
    stored_feed: bytes | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    error: str | None = None,
) -> Outcome:
    outcome, reason, findings, decided = judged
    # Validators vouch for the kept copy: a 200 that could not be read must not leave its own
    # (a 304 to them would bring back an older copy as if it were that response).
    vouched = status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED)
    return Outcome(
        pk=target.pk,
        outcome=outcome,
        findings=findings,
        judged=decided,
        inspected_at=inspected_at,
        incomplete_reason=reason,
        fetch_status=str(status) if status else None,
        http_status=http_status,
        last_post_at=newest_post_at(posts, at),
        feed_url=target.feed_url or None,
        etag=etag if vouched else None,
        last_modified=last_modified if vouched else None,
        error=error,
        stored_feed=stored_feed if status is FetchStatus.OK else None,
        fetched=status is not None,
    )

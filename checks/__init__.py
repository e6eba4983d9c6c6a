"""Inspection rules as pure functions: account facts, posts and review records in, findings out.

``inspect`` runs every rule of the policy on one account. It does no I/O and reads no clock: the
monitoring time point, the fetched posts and the fetch outcome all come in ``InspectionInput``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from checks.activity import check_activity
from checks.codes import PROBLEM_LABELS, SEVERITY
from checks.dictionary import WordingTerm, load_dictionary, parse_dictionary
from checks.feed import prepare
from checks.leaks import check_privacy
from checks.loader import load_policy
from checks.model import FetchStatus, Finding, InspectionInput, Post
from checks.policy import Policy
from checks.privacy import mask_personal_data
from checks.registry_rules import (
    ACTIVE,
    check_filing,
    check_interaction,
    check_unreachable,
)
from checks.review import check_reviews
from checks.times import aware
from checks.wording import check_content

__all__ = [
    "PROBLEM_LABELS",
    "SEVERITY",
    "Policy",
    "WordingTerm",
    "inspect",
    "judged_codes",
    "load_dictionary",
    "load_policy",
    "mask_personal_data",
    "parse_dictionary",
]

_ORDER = {code: rank for rank, code in enumerate(PROBLEM_LABELS)}
_FEED_CODES = (
    "dormant",
    "zombie",
    "empty_shell",
    "unreviewed_post",
    "privacy_leak",
    "wording_error",
    "commercial_content",
)
# the rules that read post dates: a feed whose items carry none leaves them undecided
_NEED_DATES = frozenset({"dormant", "zombie", "empty_shell", "unreviewed_post"})
# the rules for active accounts only
_ACTIVE_ONLY = ("no_interaction", "unreachable", *_FEED_CODES)


def inspect(inspection: InspectionInput, policy: Policy) -> list[Finding]:
    """All findings for one account at ``inspection.at``, in the interface's order of codes.

    Without posts (the feed could not be read) only the registry rules run. Accounts filed as
    closed or deregistered are checked for signs of life (``filing_mismatch``) and nothing else.
    Every finding of a readable feed carries the newest post time not after the time point.
    """
    account = inspection.account
    active = account.status == ACTIVE
    found: list[Finding] = []
    if active and policy.no_interaction.enabled:
        found += check_interaction(account)
    if active and policy.unreachable.enabled:
        found += check_unreachable(account, inspection.fetch_status)
    if inspection.posts is None:
        return sorted(found, key=lambda f: _ORDER[f.code])
    feed = prepare(inspection.posts, inspection.at)
    if not active:
        if policy.filing_mismatch.enabled:
            found += check_filing(account, feed, policy)
    else:
        found += check_activity(account, feed, policy)
        if policy.unreviewed_post.enabled:
            found += check_reviews(feed, inspection.reviews, policy)
        if policy.privacy_leak.enabled:
            found += check_privacy(feed, policy)
        found += check_content(feed, policy)
    newest = feed.newest
    if newest is not None:
        found = [dataclasses.replace(f, last_post_at=newest.published) for f in found]
    return sorted(found, key=lambda f: _ORDER[f.code])


def judged_codes(inspection: InspectionInput, policy: Policy) -> frozenset[str]:
    """The problem codes ``inspect`` decides for this input: a code left out was not looked at
    (its rule is off, needs the posts, or needs their dates: none of the items is dated), so
    its absence from the findings proves nothing.

    An account filed as closed or deregistered is past every rule for active accounts (closing
    it rectifies them: decided, and not found); its ``filing_mismatch`` is decided by dated
    posts, or by a feed that is gone (no sign of life).
    """
    posts = inspection.posts
    undated = posts is not None and _undated_only(posts, inspection.at)
    if inspection.account.status != ACTIVE:
        seen = (posts is not None and not undated) or inspection.fetch_status is FetchStatus.GONE
        mismatch = ("filing_mismatch",) if seen and policy.filing_mismatch.enabled else ()
        return frozenset((*_ACTIVE_ONLY, *mismatch))
    codes = ["no_interaction"]
    if inspection.fetch_status is not None:
        codes.append("unreachable")
    if posts is not None:
        codes += [code for code in _FEED_CODES if not (undated and code in _NEED_DATES)]
    return frozenset(code for code in codes if getattr(policy, code).enabled)


def _undated_only(posts: Sequence[Post], at: datetime) -> bool:
    """Items, none of them dated at or before the time point (``prepare`` drops later ones)."""
    moment = aware(at)
    undated = False
    for post in posts:
        if post.published_at is None:
            undated = True
        elif aware(post.published_at) <= moment:
            return False
    return undated

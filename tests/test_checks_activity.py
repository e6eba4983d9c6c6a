"""Golden tests: dormant, zombie and empty_shell (checks/activity.py through checks.inspect)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from checks import Policy, inspect, judged_codes
from checks.model import AccountFacts, FetchStatus, InspectionInput, Post

AT = datetime(2026, 3, 31, 10, 0)  # naive: Asia/Shanghai
ACCOUNT = AccountFacts("微信公众号", "gh_test", "某县发布", "某县人民政府办公室", "510101", "正常")
ACTIVITY = {"dormant", "zombie", "empty_shell"}


def post(
    when: datetime | timedelta | None,
    title: str = "关于开展春季森林防火工作的通知",
    content: str = "<p>各乡镇人民政府：现将有关事项通知如下。</p>",
) -> Post:
    published = AT - when if isinstance(when, timedelta) else when
    return Post(
        title=title,
        url=f"https://example.gov.cn/{title}/{when}",
        published_at=published,
        content=content,
    )


def originals(*ages_days: float) -> list[Post]:
    return [post(timedelta(days=d), title=f"原创稿件{i}") for i, d in enumerate(ages_days)]


def run(posts: list[Post] | None, account: AccountFacts = ACCOUNT, policy: Policy | None = None):
    findings = inspect(InspectionInput(account, AT, posts), policy or Policy())
    return {f.code: f for f in findings if f.code in ACTIVITY}


D, H = timedelta(days=1), timedelta(hours=1)

IDLE_CASES = [
    # (case, posts, expected activity codes)
    ("13 days, offset-less", [post(13 * D), *originals(20, 30)], set()),
    ("13 days 23 hours", [post(13 * D + 23 * H), *originals(20, 30)], set()),
    ("exactly 14 days: still inside the window", [post(14 * D), *originals(20, 30)], set()),
    ("14 days and 3 hours, offset-less", [post(14 * D + 3 * H), *originals(20, 30)], {"dormant"}),
    (
        "naive 14d1h before is dormant, same wall time in UTC is not",
        [post(datetime(2026, 3, 17, 9, 0)), *originals(20, 30)],
        {"dormant"},
    ),
    (
        "same wall time with UTC offset is 13d17h before",
        [post(datetime(2026, 3, 17, 9, 0, tzinfo=UTC)), *originals(20, 30)],
        set(),
    ),
    ("unsorted items: newest in the middle", originals(30, 2, 60, 45), set()),
    ("unsorted old items", originals(40, 20, 60), {"dormant"}),
    (
        "items dated after the time point are ignored",
        [post(-3 * D), *originals(20, 25, 26)],
        {"dormant"},
    ),
    ("exactly 90 days is dormant, not zombie", originals(90, 91, 200), {"dormant", "empty_shell"}),
    ("over 90 days: zombie supersedes dormant", originals(90.01, 100, 200), {"zombie"}),
    ("recent post but few originals", originals(1, 120), {"empty_shell"}),
]


@pytest.mark.parametrize(
    ("posts", "expected"), [c[1:] for c in IDLE_CASES], ids=[c[0] for c in IDLE_CASES]
)
def test_dormant_and_zombie(posts: list[Post], expected: set[str]) -> None:
    assert set(run(posts)) == expected


def test_dormant_evidence_carries_newest_item_not_build_date() -> None:
    # A feed rendered a minute ago (RSSHub's lastBuildDate) whose items are old: only items count.
    items = [*originals(40, 20, 33), post(-1 * D, title="未来日期的条目")]
    found = run(items)["dormant"]
    newest = AT - 20 * D
    assert found.last_post_at is not None
    assert found.last_post_at == newest.replace(tzinfo=found.last_post_at.tzinfo)
    assert [e.title for e in found.evidence] == ["原创稿件1"]
    assert found.evidence[0].published_at == found.last_post_at
    assert "14天内无更新" in found.description and "2026-03-11 10:00" in found.description


def test_zombie_description_and_last_post() -> None:
    found = run(originals(120, 150))["zombie"]
    assert "超过90天未更新" in found.description and "120天" in found.description
    assert found.last_post_at is not None and found.last_post_at.utcoffset() == 8 * H


NEVER_CASES = [
    ("empty feed", [], "没有任何内容"),
    ("only items after the time point", [post(-2 * D)], "没有任何内容"),
]


@pytest.mark.parametrize(
    ("posts", "phrase"), [c[1:] for c in NEVER_CASES], ids=[c[0] for c in NEVER_CASES]
)
def test_never_published_is_empty_shell_only(posts: list[Post], phrase: str) -> None:
    found = run(posts)
    assert set(found) == {"empty_shell"}
    assert "开通至今未发布任何消息" in found["empty_shell"].description
    assert phrase in found["empty_shell"].description
    assert found["empty_shell"].last_post_at is None


def test_unreadable_feed_runs_no_activity_rule() -> None:
    assert run(None) == {}


def test_items_none_of_them_dated_leave_activity_undecided() -> None:
    """Published, but when cannot be told (a gateway that drops dates): neither an empty
    shell (a veto, which it was) nor dormant; and not counted as decided for a re-check."""
    posts = [post(None), post(None, title="另一条")]
    assert {"dormant", "zombie", "empty_shell"} & set(run(posts)) == set()
    judged = judged_codes(InspectionInput(ACCOUNT, AT, posts, (), FetchStatus.OK), Policy())
    assert {"dormant", "zombie", "empty_shell"} & judged == set()
    assert "wording_error" in judged
    dated = [post(None), post(3 * D)]
    judged = judged_codes(InspectionInput(ACCOUNT, AT, dated, (), FetchStatus.OK), Policy())
    assert {"dormant", "zombie", "empty_shell"} <= judged


REPOST = "<p>转发微博</p>"
SHELL_CASES = [
    ("three originals", originals(1, 10, 80), None),
    ("two originals", originals(1, 10), "原创发布2条"),
    ("third original outside the window", originals(1, 10, 91), "原创发布2条"),
    (
        "reposts do not count",
        [
            *originals(1, 10),
            post(2 * D, "转发微博", content=""),
            post(3 * D, "看看这条", content="//@人民日报:好消息"),
            post(4 * D, "【转载】省政府常务会议召开"),
            post(5 * D, "会议召开", content="本文转载自新华社"),
        ],
        "同期转发4条",
    ),
    (
        "empty items do not count",
        [*originals(1, 10), post(2 * D, " ", content="<p> </p>")],
        "空内容1条",
    ),
]


@pytest.mark.parametrize(
    ("posts", "phrase"), [c[1:] for c in SHELL_CASES], ids=[c[0] for c in SHELL_CASES]
)
def test_empty_shell_counts_original_posts(posts: list[Post], phrase: str | None) -> None:
    found = run(posts)
    if phrase is None:
        assert "empty_shell" not in found
    else:
        assert "empty_shell" in found and phrase in found["empty_shell"].description


@pytest.mark.parametrize(
    ("opened_days_ago", "ages", "expected"),
    [(20, (1,), False), (20, (), True), (60, (1,), True), (60, (1, 5), False), (None, (1,), True)],
)
def test_young_account_minimum_is_prorated(opened_days_ago, ages, expected) -> None:
    opened = None if opened_days_ago is None else (AT - opened_days_ago * D).date()
    account = dataclasses.replace(ACCOUNT, opened_on=opened)
    items = [*originals(*ages), post(2 * D, "转发微博")]
    assert ("empty_shell" in run(items, account)) is expected


def test_repost_markers_are_configurable() -> None:
    items = [*originals(1, 2), post(3 * D, "转自人民日报：春耕进行时")]
    assert "empty_shell" not in run(items)
    policy = Policy.from_config({"empty_shell": {"repost_markers": ["转自"]}})
    assert "empty_shell" in run(items, policy=policy)


@pytest.mark.parametrize(
    ("config", "ages", "expected"),
    [
        ({"dormant": {"days": 7}}, (8, 9, 10), {"dormant"}),
        ({"dormant": {"days": 7}}, (6, 9, 10), set()),
        ({"zombie": {"days": 30}}, (31, 40, 50), {"zombie"}),
        ({"empty_shell": {"min_original_posts": 1}}, (1,), set()),
        ({"dormant": {"enabled": False}}, (20, 30, 40), set()),
    ],
)
def test_thresholds_follow_policy(config, ages, expected) -> None:
    assert set(run(originals(*ages), policy=Policy.from_config(config))) == expected


def test_opened_on_date_type_is_accepted() -> None:
    account = dataclasses.replace(ACCOUNT, opened_on=date(2026, 3, 30))
    assert run([], account)["empty_shell"].code == "empty_shell"

"""Golden tests: unreviewed_post (checks/review.py through checks.inspect)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checks import Policy, inspect
from checks.model import AccountFacts, Finding, InspectionInput, Post, ReviewRecord
from checks.review import normalise_url
from checks.text import normalise_title

AT = datetime(2026, 3, 31, 18, 0)
PUBLISHED = datetime(2026, 3, 30, 10, 0)  # naive: Asia/Shanghai
ACCOUNT = AccountFacts("微博", "123456", "某市发布", "某市人民政府办公室", "510100", "正常")
URL = "https://weibo.com/123456/P1a2b3"
TITLE = "关于开展2026年春季森林防火工作的通知"


def full(
    url: str | None = URL,
    title: str | None = TITLE,
    *,
    first: datetime | None = None,
    second: datetime | None = None,
    final: datetime | None = None,
) -> ReviewRecord:
    stamp = PUBLISHED - timedelta(hours=2)
    return ReviewRecord(
        title=title,
        url=url,
        first_reviewer="编辑甲",
        first_reviewed_at=first or stamp,
        second_reviewer="科长乙",
        second_reviewed_at=second or stamp,
        final_reviewer="主任丙",
        final_reviewed_at=final or stamp,
    )


def run(
    posts: list[Post],
    reviews: list[ReviewRecord],
    policy: Policy | None = None,
) -> Finding | None:
    found = inspect(InspectionInput(ACCOUNT, AT, posts, reviews), policy or Policy())
    return next((f for f in found if f.code == "unreviewed_post"), None)


POST = Post(TITLE, URL, PUBLISHED, "<p>正文</p>")
MINUTE = timedelta(minutes=1)
NO_FINAL = ReviewRecord(
    title=TITLE,
    url=URL,
    first_reviewed_at=PUBLISHED - MINUTE,
    second_reviewed_at=PUBLISHED - MINUTE,
)

CASES = [
    # (case, reviews, expected reason in the evidence or None when the post passes)
    ("complete review before publication", [full()], None),
    ("final review at exactly the publication minute", [full(final=PUBLISHED)], None),
    ("final review one minute after publication", [full(final=PUBLISHED + MINUTE)], "终审时间"),
    ("final review one second before", [full(final=PUBLISHED - timedelta(seconds=1))], None),
    (
        "final review in UTC at the same instant",
        [full(final=datetime(2026, 3, 30, 2, 0, tzinfo=UTC))],
        None,
    ),
    (
        "final review in UTC one minute later",
        [full(final=datetime(2026, 3, 30, 2, 1, tzinfo=UTC))],
        "晚于发布时间",
    ),
    ("first review after publication", [full(first=PUBLISHED + timedelta(hours=1))], "初审时间"),
    ("missing final review", [NO_FINAL], "缺少终审"),
    ("no record at all", [], "无审核记录"),
    (
        "record of another post",
        [full(url="https://weibo.com/123456/Other", title="另一条")],
        "无审核记录",
    ),
    (
        "matched by normalised title when the URL is absent",
        [full(url=None, title=" 关于开展２０２６年春季【森林防火】工作的通知！ ")],
        None,
    ),
    (
        "matched by URL despite scheme, fragment and trailing slash",
        [full(url="http://WEIBO.com/123456/P1a2b3/#comment", title=None)],
        None,
    ),
    (
        "URL match wins over a title match",
        [full(title=None, final=PUBLISHED + MINUTE), full(url=None)],
        "终审时间",
    ),
    (
        "of two records with the same title the complete one counts",
        [full(url=None, final=PUBLISHED + MINUTE), full(url=None)],
        None,
    ),
]


@pytest.mark.parametrize(("reviews", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_single_post(reviews: list[ReviewRecord], reason: str | None) -> None:
    found = run([POST], reviews)
    if reason is None:
        assert found is None
        return
    assert found is not None and found.severity == "veto"
    [evidence] = found.evidence
    assert evidence.url == URL and evidence.title == TITLE
    assert evidence.excerpt is not None and reason in evidence.excerpt


@pytest.mark.parametrize(
    ("levels", "record", "passes"),
    [
        (["初审", "复审", "终审"], NO_FINAL, False),
        (["初审", "复审"], NO_FINAL, True),
        (["终审"], ReviewRecord(url=URL, final_reviewed_at=PUBLISHED), True),
        (["终审"], ReviewRecord(url=URL, final_reviewed_at=PUBLISHED + MINUTE), False),
        (["初审", "终审"], ReviewRecord(url=URL, final_reviewed_at=PUBLISHED), False),
    ],
)
def test_required_levels_are_configurable(levels, record, passes) -> None:
    policy = Policy.from_config({"unreviewed_post": {"required_levels": levels}})
    assert (run([POST], [record], policy) is None) is passes


def test_one_finding_lists_every_failing_post_in_the_window() -> None:
    posts = [
        Post("第一条", "https://e.gov.cn/1", AT - timedelta(days=1)),
        Post("第二条", "https://e.gov.cn/2", AT - timedelta(days=89)),
        Post("窗口之外", "https://e.gov.cn/3", AT - timedelta(days=91)),
        Post("无日期", "https://e.gov.cn/4", None),
        Post("已审核", "https://e.gov.cn/5", AT - timedelta(days=2)),
        Post("先发后审", "https://e.gov.cn/6", AT - timedelta(days=3)),
        Post("未来", "https://e.gov.cn/7", AT + timedelta(days=1)),
    ]
    day2 = AT - timedelta(days=2)
    reviews = [
        full(url="https://e.gov.cn/5", title=None, first=day2, second=day2, final=day2),
        full(url="https://e.gov.cn/6", title=None, first=day2, second=day2, final=day2),
    ]
    found = run(posts, reviews)
    assert found is not None
    assert [e.title for e in found.evidence] == ["第一条", "先发后审", "第二条"]
    assert "3条" in found.description and "无审核记录2条" in found.description
    assert "先发后审1条" in found.description


def test_a_record_found_by_title_vouches_for_one_post() -> None:
    """A daily column under one title: one record (naming the third issue by URL) clears that
    issue only; records that name no post of the window clear one post each by title."""
    days = [AT - timedelta(days=d, hours=8) for d in (3, 2, 1)]
    posts = [Post("每日一图", f"https://e.gov.cn/tu{n}", day) for n, day in enumerate(days, 1)]
    early = days[0] - timedelta(days=1)
    named = full(
        url="https://e.gov.cn/tu3", title="每日一图", first=early, second=early, final=early
    )
    found = run(posts, [named])
    assert found is not None and [e.url for e in found.evidence] == [
        "https://e.gov.cn/tu2",
        "https://e.gov.cn/tu1",
    ]
    elsewhere = full(
        url="https://m.e.gov.cn/p/9", title="每日一图", first=early, second=early, final=early
    )
    found = run(posts, [named, elsewhere])  # a link the feed does not use: found by its title
    assert found is not None and [e.url for e in found.evidence] == ["https://e.gov.cn/tu1"]
    untitled = full(url=None, title="每日一图", first=early, second=early, final=early)
    assert run(posts, [named, elsewhere, untitled]) is None


def test_window_is_configurable() -> None:
    old = Post("上月稿件", "https://e.gov.cn/old", AT - timedelta(days=40))
    assert run([old], []) is not None
    assert run([old], [], Policy.from_config({"unreviewed_post": {"window_days": 30}})) is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("关于开展 春季防火 工作的通知", "关于开展春季防火工作的通知"),
        ("【通知】ＡＢＣ　２０２６", "通知abc2026"),
        ("&quot;两会&quot;精神", "两会精神"),
    ],
)
def test_title_normalisation(a: str, b: str) -> None:
    assert normalise_title(a) == normalise_title(b) == b


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://mp.weixin.qq.com/s/AbC", "http://MP.weixin.qq.com/s/AbC#x", True),
        ("https://e.gov.cn/a/", "https://e.gov.cn/a", True),
        ("https://e.gov.cn/s/AbC", "https://e.gov.cn/s/abc", False),
        ("https://e.gov.cn/a?id=1", "https://e.gov.cn/a?id=2", False),
    ],
)
def test_url_normalisation(a: str, b: str, same: bool) -> None:
    assert (normalise_url(a) == normalise_url(b)) is same

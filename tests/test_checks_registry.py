"""Golden tests: no_interaction, filing_mismatch, unreachable, and how inspect dispatches."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest

from checks import PROBLEM_LABELS, SEVERITY, Policy, inspect, judged_codes
from checks.model import AccountFacts, FetchStatus, InspectionInput, Post, Severity
from checks.times import aware

AT = datetime(2026, 3, 31, 10, 0)
ACTIVE = AccountFacts("抖音", "dy_1", "某县应急", "某县应急管理局", "510122", "正常")


def recent(*ages_days: float) -> list[Post]:
    return [
        Post(f"稿件{i}", f"https://e.gov.cn/{i}", AT - timedelta(days=d), "原创内容")
        for i, d in enumerate(ages_days)
    ]


def codes(
    account: AccountFacts,
    posts: list[Post] | None,
    status: FetchStatus | None = None,
    policy: Policy | None = None,
) -> list[str]:
    inspection = InspectionInput(account, AT, posts, (), status)
    return [f.code for f in inspect(inspection, policy or Policy()) if f.code != "unreviewed_post"]


CLOSED = dataclasses.replace(ACTIVE, status="关停", status_since=date(2026, 1, 10))
GONE_FOR_GOOD = dataclasses.replace(ACTIVE, status="注销", status_since=None)
MUTE = dataclasses.replace(ACTIVE, interaction=False)

CASES = [
    # (case, account, posts, fetch status, expected codes)
    ("healthy active account", ACTIVE, recent(1, 5, 9), FetchStatus.OK, []),
    ("no interaction function", MUTE, recent(1, 5, 9), FetchStatus.OK, ["no_interaction"]),
    ("feed gone on an active account", ACTIVE, None, FetchStatus.GONE, ["unreachable"]),
    ("gone and no interaction", MUTE, None, FetchStatus.GONE, ["no_interaction", "unreachable"]),
    ("timeout is not a problem of the account", ACTIVE, None, FetchStatus.TIMEOUT, []),
    ("blocked is not a problem of the account", ACTIVE, None, FetchStatus.BLOCKED, []),
    ("closed account gone: as filed", CLOSED, None, FetchStatus.GONE, []),
    (
        "closed, last post on the closure day",
        CLOSED,
        [Post("最后一条", None, datetime(2026, 1, 10, 23, 59))],
        FetchStatus.OK,
        [],
    ),
    (
        "closed, post the day after closure",
        CLOSED,
        [Post("复活", None, datetime(2026, 1, 11, 0, 0))],
        FetchStatus.OK,
        ["filing_mismatch"],
    ),
    ("closed and silent for months: no dormant or zombie", CLOSED, recent(200), FetchStatus.OK, []),
    ("closed with an empty feed: no empty shell", CLOSED, [], FetchStatus.OK, []),
    (
        "closed without interaction: only filing checked",
        dataclasses.replace(CLOSED, interaction=False),
        recent(1),
        FetchStatus.OK,
        ["filing_mismatch"],
    ),
    (
        "deregistered, date unknown, post 13 days ago",
        GONE_FOR_GOOD,
        recent(13),
        FetchStatus.OK,
        ["filing_mismatch"],
    ),
    ("deregistered, date unknown, post 15 days ago", GONE_FOR_GOOD, recent(15), FetchStatus.OK, []),
    (
        "deregistered, post after the time point ignored",
        GONE_FOR_GOOD,
        recent(-1),
        FetchStatus.OK,
        [],
    ),
]


@pytest.mark.parametrize(
    ("account", "posts", "status", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_registry_rules(account, posts, status, expected) -> None:
    assert codes(account, posts, status) == expected


def test_filing_mismatch_description_and_evidence() -> None:
    posts = recent(80, 3, 30)
    inspection = InspectionInput(CLOSED, AT, posts, (), FetchStatus.OK)
    [found] = inspect(inspection, Policy())
    assert found.severity == Severity.SERIOUS
    assert "2026-01-10备案关停" in found.description and "2条" in found.description
    assert [e.title for e in found.evidence] == ["稿件1", "稿件2"]
    assert found.last_post_at == found.evidence[0].published_at


def test_unreachable_is_serious_and_registry_rules_switch_off() -> None:
    [found] = inspect(InspectionInput(ACTIVE, AT, None, (), FetchStatus.GONE), Policy())
    assert found.code == "unreachable" and found.severity == "serious"
    assert "404/410" in found.description
    off = Policy.from_config(
        {"unreachable": {"enabled": False}, "no_interaction": {"enabled": False}}
    )
    assert codes(MUTE, None, FetchStatus.GONE, off) == []


def test_every_finding_carries_the_newest_post_time() -> None:
    posts = [*recent(20, 40), Post("未来", None, AT + timedelta(hours=1))]
    found = inspect(InspectionInput(MUTE, AT, posts, ()), Policy())
    assert {f.code for f in found} >= {"no_interaction", "dormant", "unreviewed_post"}
    assert {f.last_post_at for f in found} == {aware(AT - timedelta(days=20))}


def test_findings_come_in_interface_order() -> None:
    posts = [Post("攻府通知", None, AT - timedelta(days=20), "电话13812345678 限时抢购")]
    found = [f.code for f in inspect(InspectionInput(MUTE, AT, posts, ()), Policy())]
    assert found == [c for c in PROBLEM_LABELS if c in found]
    assert set(found) == {
        "dormant",
        "empty_shell",
        "unreviewed_post",
        "no_interaction",
        "wording_error",
        "privacy_leak",
        "commercial_content",
    }


INTERFACE = [
    ("dormant", "监测时间点前2周内无更新", "veto"),
    ("zombie", "超过3个月未更新(僵尸账号)", "veto"),
    ("empty_shell", "空壳账号", "veto"),
    ("unreviewed_post", "未经审核发布", "veto"),
    ("no_interaction", "未提供有效互动功能", "veto"),
    ("wording_error", "严重表述错误", "veto"),
    ("privacy_leak", "个人信息未去标识化", "serious"),
    ("commercial_content", "发布商业广告", "serious"),
    ("filing_mismatch", "备案状态与实际不符", "serious"),
    ("unreachable", "账号无法访问", "serious"),
]


@pytest.mark.parametrize(("code", "label", "severity"), INTERFACE)
def test_problem_codes_match_the_interface(code: str, label: str, severity: str) -> None:
    assert PROBLEM_LABELS[code] == label
    assert SEVERITY[code] == severity


def test_no_other_problem_codes() -> None:
    assert list(PROBLEM_LABELS) == [c for c, _, _ in INTERFACE]
    assert set(SEVERITY) == set(PROBLEM_LABELS)


def test_judged_codes_are_what_inspect_could_decide() -> None:
    """A code is decided when its rule is on and had what it reads: without posts only the
    registry rules; without dates no activity or review rule. A filed-closed account is past
    the rules for active accounts (closing it rectifies them), and its filing_mismatch is
    decided by dated posts or a gone feed."""
    feed_codes = {"dormant", "zombie", "empty_shell", "unreviewed_post", "privacy_leak"}
    feed_codes |= {"wording_error", "commercial_content"}
    active_only = feed_codes | {"no_interaction", "unreachable"}
    undated = [Post("无日期", None, None, "内容")]

    def judged(account: AccountFacts, posts: list[Post] | None, status: FetchStatus | None,
               policy: Policy | None = None) -> set[str]:  # fmt: skip
        return set(
            judged_codes(InspectionInput(account, AT, posts, (), status), policy or Policy())
        )

    assert judged(ACTIVE, None, FetchStatus.GONE) == {"no_interaction", "unreachable"}
    assert judged(ACTIVE, None, None) == {"no_interaction"}
    assert judged(ACTIVE, recent(1), FetchStatus.OK) == active_only
    assert judged(ACTIVE, undated, FetchStatus.OK) == active_only - {
        "dormant", "zombie", "empty_shell", "unreviewed_post"
    }  # fmt: skip
    off = Policy.from_config({"unreviewed_post": {"enabled": False}})
    assert "unreviewed_post" not in judged(ACTIVE, recent(1), FetchStatus.OK, off)
    assert judged(CLOSED, None, FetchStatus.GONE) == active_only | {"filing_mismatch"}
    assert judged(CLOSED, recent(1), FetchStatus.OK) == active_only | {"filing_mismatch"}
    assert judged(CLOSED, undated, FetchStatus.OK) == active_only
    assert judged(CLOSED, None, None) == active_only


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_code_found_was_judged(case: tuple[object, ...]) -> None:
    _, account, posts, status, _ = case
    inspection = InspectionInput(account, AT, posts, (), status)  # type: ignore[arg-type]
    found = {f.code for f in inspect(inspection, Policy())}
    assert found <= judged_codes(inspection, Policy())

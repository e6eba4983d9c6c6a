"""Golden tests: wording_error and commercial_content, the dictionary and the matcher."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from checks import Policy, inspect, load_dictionary, load_policy, parse_dictionary
from checks.dictionary import WordingTerm, builtin_dictionary
from checks.matcher import WIDE_ROOT, Matcher
from checks.model import AccountFacts, Finding, InspectionInput, Post

AT = datetime(2026, 3, 31, 10, 0)
ACCOUNT = AccountFacts("今日头条", "tt_1", "某县融媒", "某县融媒体中心", "510121", "正常")


def run(posts: list[Post], policy: Policy | None = None) -> dict[str, Finding]:
    found = inspect(InspectionInput(ACCOUNT, AT, posts, ()), policy or Policy())
    return {f.code: f for f in found if f.code in ("wording_error", "commercial_content")}


def one(content: str, title: str = "工作动态") -> list[Post]:
    return [Post(title, "https://e.gov.cn/p/1", AT - timedelta(days=1), content)]


WORDING_CASES = [
    # (text, wrong term, correction) — the cases named in the domain page
    ("县攻府召开常务会议", "攻府", "政府"),
    ("中华人民共合国成立纪念日", "共合国", "共和国"),
    ("庆祝中共人民共和国成立77周年", "中共人民共和国", "中华人民共和国"),
    ("国务园办公厅印发通知", "国务园", "国务院"),
    ("县党伟书记调研", "党伟", "党委"),
    ("中央政冶局会议精神", "政冶局", "政治局"),
    ('<p><span style="color:red">县攻府办公室</span></p>', "攻府", "政府"),
]


@pytest.mark.parametrize(("text", "wrong", "right"), WORDING_CASES)
def test_builtin_wording_errors(text: str, wrong: str, right: str) -> None:
    found = run(one(f"<p>{text}</p>"))["wording_error"]
    assert found.severity == "veto"
    assert f"“{wrong}”（应为“{right}”）" in found.description
    [evidence] = found.evidence
    assert evidence.excerpt is not None and f"“{wrong}”应为“{right}”" in evidence.excerpt


@pytest.mark.parametrize(
    "text",
    [
        "县人民政府召开常务会议",
        "中华人民共和国成立纪念日",
        "中共中央政治局会议",
        "国务院办公厅",
        "",
    ],
)
def test_correct_wording_passes(text: str) -> None:
    assert run(one(text)) == {}


def test_wording_error_in_title_and_many_posts_one_finding() -> None:
    posts = [
        Post("攻府信息公开年报", "https://e.gov.cn/1", AT - timedelta(days=1)),
        Post("无误", "https://e.gov.cn/2", AT - timedelta(days=2), "政府工作报告"),
        Post("通知", "https://e.gov.cn/3", AT - timedelta(days=3), "国务园、党伟"),
    ]
    found = run(posts)["wording_error"]
    assert [e.url for e in found.evidence] == ["https://e.gov.cn/1", "https://e.gov.cn/3"]
    assert found.description.startswith("2条发布")
    assert "“国务园”应为“国务院”、“党伟”应为“党委”" in (found.evidence[1].excerpt or "")


def test_extra_dictionary_and_allowed_phrase(tmp_path: Path) -> None:
    file = tmp_path / "office.txt"
    file.write_text("# 本单位词库\n成都市政俯\t成都市政府\n!张党伟\n", encoding="utf-8")
    terms = load_dictionary(file)
    assert terms == (WordingTerm("成都市政俯", "成都市政府"), WordingTerm("张党伟", None))
    policy = load_policy({"wording_error": {"extra_dictionary": "office.txt"}}, base_dir=tmp_path)
    assert policy.wording_error.extra_terms == terms
    assert "wording_error" not in run(one("张党伟同志调研春耕"), policy)
    assert "wording_error" in run(one("张党伟同志调研春耕"))
    assert "wording_error" in run(one("县党伟会议"), policy)
    found = run(one("成都市政俯发布"), policy)["wording_error"]
    assert "“成都市政俯”（应为“成都市政府”）" in found.description


def test_allowed_phrase_with_full_width_punctuation_is_matched_as_written() -> None:
    terms = parse_dictionary("!更正：攻府\n")
    assert terms == (WordingTerm("更正：攻府", None),)
    policy = Policy().with_wording_terms(terms)
    assert "wording_error" not in run(one("更正：攻府应为政府，特此致歉。"), policy)
    assert "wording_error" in run(one("更正：攻府应为政府，特此致歉。"))


@pytest.mark.parametrize(
    ("text", "message"),
    [("只有一列\n", "x.txt:1"), ("# c\n错\t对\t多\n", "x.txt:2")],
)
def test_dictionary_format_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_dictionary(text, "x.txt")


def test_missing_dictionary_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nope\.txt"):
        load_dictionary(tmp_path / "nope.txt")


def test_builtin_dictionary_covers_domain_cases() -> None:
    pairs = {t.term: t.correction for t in builtin_dictionary()}
    for wrong, right in {(w, r) for _, w, r in WORDING_CASES}:
        assert pairs[wrong] == right
    assert (
        run(one("县攻府"), Policy.from_config({"wording_error": {"builtin_dictionary": False}}))
        == {}
    )


COMMERCIAL_CASES = [
    ("本店商品限时抢购，扫码下单", ["限时抢购"]),
    ("招商加盟热线，全场包邮", ["招商加盟", "全场包邮"]),
    ("县市场监管局提醒：谨防虚假宣传", []),
]


@pytest.mark.parametrize(("text", "terms"), COMMERCIAL_CASES)
def test_commercial_terms(text: str, terms: list[str]) -> None:
    found = run(one(text)).get("commercial_content")
    if not terms:
        assert found is None
        return
    assert found is not None and found.severity == "serious"
    for term in terms:
        assert f"“{term}”" in found.description


def test_commercial_terms_are_configurable() -> None:
    policy = Policy.from_config({"commercial_content": {"terms": ["谨防虚假宣传"]}})
    assert "commercial_content" in run(one(COMMERCIAL_CASES[2][0]), policy)
    assert "commercial_content" not in run(one(COMMERCIAL_CASES[0][0]), policy)


def test_matcher_is_built_once_per_policy() -> None:
    policy = Policy()
    assert policy.content_matcher is policy.content_matcher
    other = policy.with_wording_terms([WordingTerm("错字", "对字")])
    assert other.content_matcher is not policy.content_matcher
    assert other.content_matcher.size == policy.content_matcher.size + 1


def _naive_find(terms: list[str], text: str) -> set[tuple[int, str]]:
    return {(i, t) for t in terms for i in range(len(text)) if text.startswith(t, i)}


@pytest.mark.parametrize("count", [20, WIDE_ROOT * 4])
def test_matcher_agrees_with_naive_search_in_both_encodings(count: int) -> None:
    rng = random.Random(count)
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 600)] + ["😀", "A", "1"]
    terms = sorted({"".join(rng.choices(alphabet, k=rng.randint(2, 4))) for _ in range(count)})
    matcher = Matcher((t, t) for t in terms)
    assert matcher._utf8 is (count > WIDE_ROOT)
    for _ in range(30):
        chosen = rng.sample(terms, 3)
        parts = [*chosen, *("".join(rng.choices(alphabet, k=5)) for _ in range(3))]
        rng.shuffle(parts)
        text = "😀".join(parts)
        found = {(m.start, m.term) for m in matcher.find(text)}
        assert all(text[s : s + len(t)] == t for s, t in found)
        for term in chosen:  # non-overlapping leftmost-longest may hide only overlapping ones
            spans = [(s, s + len(t)) for s, t in found]
            start = text.index(term)
            assert (start, term) in found or any(
                a < start + len(term) and start < b for a, b in spans
            )
        assert found <= _naive_find(terms, text)


def test_empty_matcher_finds_nothing() -> None:
    assert Matcher[str]([]).find("任何文本") == []

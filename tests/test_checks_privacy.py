"""Golden tests: privacy_leak detection and masking (checks/privacy.py, checks/leaks.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from checks import Policy, inspect, mask_personal_data
from checks.evidence import excerpt_around
from checks.model import AccountFacts, InspectionInput, Post
from checks.privacy import find_personal_data, luhn_valid, valid_id_number
from checks.text import html_to_text

AT = datetime(2026, 3, 31, 10, 0)
ACCOUNT = AccountFacts("微信公众号", "gh_x", "某区民政", "某区民政局", "510104", "正常")

ID_OK = "11010519491231002X"  # the example of GB 11643-1999
ID_WRONG_CHECK = "110105194912310021"  # same number, wrong check character
CARD_OK = "4111111111111111"  # Luhn-valid test number
CARD_BAD = "4111111111111112"


def id_number(body17: str) -> str:
    """Independent GB 11643 check character, to build test numbers."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(d) * w for d, w in zip(body17, weights, strict=True))
    return body17 + "10X98765432"[total % 11]


def test_fixtures_are_what_they_claim() -> None:
    assert id_number(ID_OK[:17]) == ID_OK
    assert ID_WRONG_CHECK != ID_OK and not luhn_valid(ID_WRONG_CHECK)
    assert luhn_valid(CARD_OK) and not luhn_valid(CARD_BAD)


SCAN_CASES = [
    # (case, text, expected kinds)
    ("mobile", "咨询电话13812345678。", ["mobile"]),
    ("mobile with separators", "电话：138-1234-5678", ["mobile"]),
    ("mobile with country code", "+86 139 1234 5678", ["mobile"]),
    ("full-width digits", "电话１３８１２３４５６７８", ["mobile"]),
    ("full-width hyphens", "电话138－1234－5678", ["mobile"]),
    (
        "bank card in full-width digits 3-9 only",
        "卡号４５３９４５３９４５３９４５３７",
        ["bank_card"],
    ),
    (
        "adjacent table cells stay apart",
        html_to_text("<tr><td>13812345678</td><td>13912345678</td></tr>"),
        ["mobile", "mobile"],
    ),
    ("masked mobile passes", "联系人王先生138****1234", []),
    ("mobile inside a longer digit run", "订单号213812345678901", []),
    ("landline is not a mobile", "值班电话028-86123456", []),
    ("12 is not a mobile prefix", "12812345678", []),
    ("valid ID", f"身份证号：{ID_OK}", ["id_card"]),
    ("valid ID lower-case x", f"身份证号{ID_OK.lower()}", ["id_card"]),
    ("valid ID full-width capital X", f"身份证号{ID_OK[:-1]}Ｘ", ["id_card"]),
    ("mobile split by no-break spaces", "手机：138\xa01234\xa05678", ["mobile"]),
    ("mobile split by ideographic spaces", "手机：138\u30001234\u30005678", ["mobile"]),
    ("valid ID ending in a full-width x", f"身份证号{ID_OK[:17]}ｘ", ["id_card"]),
    ("ID built from a birth date", id_number("51010420010203123"), ["id_card"]),
    ("masked ID passes", "身份证号51**************23", []),
    ("wrong check character is not an ID", f"证件号{ID_WRONG_CHECK}", []),
    ("impossible birth date", id_number("51010420011332123"), []),
    ("unknown province", id_number("99010420010203123"), []),
    ("bank card", f"卡号{CARD_OK}", ["bank_card"]),
    ("bank card in groups of four", "卡号 4111 1111 1111 1111", ["bank_card"]),
    ("bank card failing Luhn", f"卡号{CARD_BAD}", []),
    ("masked bank card passes", "卡号4111********1111", []),
    ("dates are not numbers", "时间：2026-03-31 2026-04-01", []),
    (
        "several kinds",
        f"{ID_OK}，电话15912345678，卡号{CARD_OK}",
        ["id_card", "mobile", "bank_card"],
    ),
]


@pytest.mark.parametrize(
    ("text", "kinds"), [c[1:] for c in SCAN_CASES], ids=[c[0] for c in SCAN_CASES]
)
def test_find_personal_data(text: str, kinds: list[str]) -> None:
    assert [hit.kind for hit in find_personal_data(text)] == kinds


MASK_CASES = [
    ("电话13812345678。", "电话138****5678。"),
    ("电话：138-1234-5678", "电话：138-****-5678"),
    (f"身份证{ID_OK}", "身份证11*************02X"),
    (f"卡号{CARD_OK}号", "卡号4111********1111号"),
    ("已脱敏138****1234", "已脱敏138****1234"),
    (f"错号{ID_WRONG_CHECK}", f"错号{ID_WRONG_CHECK}"),
    (f"身份证{ID_OK[:-1]}Ｘ", "身份证11*************02Ｘ"),
    ("电话138\xa01234\u30005678", "电话138\xa0****\u30005678"),
]


@pytest.mark.parametrize(("text", "masked"), MASK_CASES)
def test_mask_personal_data(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked
    assert len(mask_personal_data(text)) == len(text)
    assert list(find_personal_data(mask_personal_data(text))) == []


@pytest.mark.parametrize(
    ("number", "valid"), [(ID_OK, True), (ID_WRONG_CHECK, False), ("1101051949123100", False)]
)
def test_valid_id_number(number: str, valid: bool) -> None:
    assert valid_id_number(number) is valid


def run(posts: list[Post], policy: Policy | None = None):
    found = inspect(InspectionInput(ACCOUNT, AT, posts, ()), policy or Policy())
    return next((f for f in found if f.code == "privacy_leak"), None)


def test_finding_evidence_is_masked_and_names_the_post() -> None:
    filler = "按照有关规定，现将低保审核结果公示如下。" * 5
    leaky = Post(
        title="低保公示 联系人13812345678",
        url="https://e.gov.cn/a/1",
        published_at=AT - timedelta(days=1),
        content=f"<p>{filler}</p><p>申请人张三，身份证号{ID_OK}，卡号{CARD_OK}。</p>{filler}",
    )
    clean = Post("已脱敏公示", "https://e.gov.cn/a/2", AT - timedelta(days=2), "电话138****1234")
    found = run([leaky, clean])
    assert found is not None and found.severity == "serious"
    [evidence] = found.evidence
    assert evidence.url == leaky.url and evidence.published_at is not None
    assert evidence.title == "低保公示 联系人138****5678"
    assert evidence.excerpt is not None and "138****5678" in evidence.excerpt
    assert "身份证号1处" in found.description and "手机号1处" in found.description
    assert "银行卡号1处" in found.description
    ledger_text = repr(found)
    for secret in ("13812345678", ID_OK, CARD_OK, ID_OK[2:15], CARD_OK[4:12]):
        assert secret not in ledger_text
    # No run of 11 or more digits survives anywhere in what the ledger would store.
    assert not re.search(r"\d{11,}", ledger_text)


@pytest.mark.parametrize("width", [4, 6, 9, 13])
def test_excerpt_never_cuts_a_number_in_two(width: int) -> None:
    text = "本店限时抢购，电话13812345678，欢迎选购"
    start = text.index("限时抢购")
    excerpt = excerpt_around(text, start, start + 4, width)
    assert "138****5678" in excerpt
    assert not re.search(r"\d{5,}", excerpt)


@pytest.mark.parametrize("width", range(30, 62, 3))
def test_excerpt_cut_inside_a_run_of_numbers_shows_no_unmasked_digits(width: int) -> None:
    """A roster flattened into one line of numbers: the window cannot widen to the end of the
    run, and the number it cuts must come out masked all the same."""
    roster = " ".join(f"1390000{n:04d} {id_number(f'5101011986021{n:04d}')}" for n in range(6))
    text = f"名单：{roster}"
    excerpt = excerpt_around(text, 0, 3, width)
    assert excerpt.endswith("…") and excerpt[:-1] in mask_personal_data(text)


@pytest.mark.parametrize(
    ("config", "reported"),
    [
        ({}, True),
        ({"privacy_leak": {"mobile": False}}, False),
        ({"privacy_leak": {"id_card": False, "bank_card": False}}, True),
        ({"privacy_leak": {"enabled": False}}, False),
    ],
)
def test_kinds_are_configurable(config, reported: bool) -> None:
    posts = [Post("通知", None, AT - timedelta(days=1), "电话13812345678")]
    assert (run(posts, Policy.from_config(config)) is not None) is reported

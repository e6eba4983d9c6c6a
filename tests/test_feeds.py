"""parse_feed: formats, encodings, Chinese date forms, and what must not be taken for a date."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timedelta, timezone

import pytest

from monitor.feeds import SHANGHAI, looks_like_challenge, parse_date, parse_feed
from monitor.sim_content import CHALLENGE_PAGE, MALFORMED, render

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI)
CST = timezone(timedelta(hours=8))


def rss(
    items: str, *, channel_extra: str = "", encoding: str = "utf-8", title: str = "广州发布"
) -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://www.gz.gov.cn/</link>{channel_extra}{items}"
        "</channel></rss>"
    ).encode(encoding)


def render_feed(fmt: str, **kwargs: object) -> tuple[bytes, str]:
    options: dict[str, object] = dict(
        fmt=fmt,
        items=5,
        item_bytes=600,
        newest=NOW - timedelta(hours=3),
        spacing=timedelta(days=2),
        date_style="rfc822",
        build_date=NOW,
    )
    options.update(kwargs)
    return render("acc1", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_formats_give_the_same_posts(fmt: str) -> None:
    body, content_type = render_feed(fmt)
    parsed = parse_feed(body, content_type, "http://sim/feed/acc1")
    assert parsed.ok, parsed.error
    assert parsed.title == "政务号acc1"
    assert len(parsed.posts) == 5
    dates = [p.published_at for p in parsed.posts]
    assert dates == [NOW - timedelta(hours=3, days=2 * i) for i in range(5)]
    assert all(d is not None and d.utcoffset() == timedelta(hours=8) for d in dates)
    first = parsed.posts[0]
    assert first.title.endswith("（第5期）")
    assert first.url == "https://www.example.gov.cn/acc1/article/" + first.url.rsplit("/", 1)[1]
    assert first.content.startswith("<p>") and "<img" not in first.title


def test_format_names() -> None:
    names = {fmt: parse_feed(*render_feed(fmt), "u").format for fmt in ("rss", "atom", "json")}
    assert names == {"rss": "rss20", "atom": "atom10", "json": "json1.1"}


@pytest.mark.parametrize("encoding", ["gb18030", "gb2312", "gbk", "big5", "utf-16"])
def test_declared_encodings(encoding: str) -> None:
    big5 = encoding == "big5"
    title = "關於冬季安全生產的通知" if big5 else "关于做好冬季安全生产工作的通知"
    channel = "廣州發佈" if big5 else "广州发布"
    body = rss(
        f"<item><title>{title}</title><pubDate>Fri, 20 Nov 2026 08:30:00 +0800</pubDate></item>",
        encoding=encoding,
        title=channel,
    )
    parsed = parse_feed(body, "application/rss+xml", "u")
    assert parsed.ok, parsed.error
    assert parsed.posts[0].title == title and parsed.title == channel
    assert parsed.posts[0].published_at == datetime(2026, 11, 20, 8, 30, tzinfo=CST)


def test_gb18030_from_http_charset_only() -> None:
    item = "<item><title>政务公开：数字政府建设𠀀</title></item>"
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>测试</title>'
        f"{item}</channel></rss>"
    ).encode("gb18030")
    parsed = parse_feed(body, "application/rss+xml; charset=GB18030", "u")
    assert parsed.ok and parsed.posts[0].title == "政务公开：数字政府建设𠀀"


def test_gb18030_sim_feed_atom() -> None:
    body, content_type = render_feed("atom", encoding="gb18030")
    parsed = parse_feed(body, content_type, "u")
    assert parsed.ok and len(parsed.posts) == 5 and "（第5期）" in parsed.posts[0].title


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026年11月20日 08:30", datetime(2026, 11, 20, 8, 30, tzinfo=CST)),
        ("2026年11月20日", datetime(2026, 11, 20, tzinfo=CST)),
        ("2026年11月20日08:30", datetime(2026, 11, 20, 8, 30, tzinfo=CST)),
        ("2026年11月20日08时30分", datetime(2026, 11, 20, 8, 30, tzinfo=CST)),
        ("2026年11月20日 上午08:30", datetime(2026, 11, 20, 8, 30, tzinfo=CST)),
        ("2026年11月20日 下午3:05", datetime(2026, 11, 20, 15, 5, tzinfo=CST)),
        ("2026年11月20日 中午12:10", datetime(2026, 11, 20, 12, 10, tzinfo=CST)),
        ("2026年11月20日 晚上8点15", datetime(2026, 11, 20, 20, 15, tzinfo=CST)),
        ("2026-11-20 08:30:00 +08", datetime(2026, 11, 20, 8, 30, tzinfo=CST)),
        ("2026-11-20 08:30:00", datetime(2026, 11, 20, 8, 30, tzinfo=CST)),
        ("2026/11/20 8:05", datetime(2026, 11, 20, 8, 5, tzinfo=CST)),
        ("2026-11-20T08:30:00Z", datetime(2026, 11, 20, 16, 30, tzinfo=CST)),
        ("2026-11-20T08:30:00+09:00", datetime(2026, 11, 20, 7, 30, tzinfo=CST)),
        ("Fri Nov 20 08:30:00 CST 2026", datetime(2026, 11, 20, 8, 30, tzinfo=CST)),
        ("Fri, 20 Nov 2026 08:30:00 CST", datetime(2026, 11, 20, 8, 30, tzinfo=CST)),
        ("Fri, 20 Nov 2026 08:30:00", datetime(2026, 11, 20, 8, 30, tzinfo=CST)),
        ("Fri, 20 Nov 2026 08:30:00 -0500", datetime(2026, 11, 20, 21, 30, tzinfo=CST)),
    ],
)
def test_chinese_and_offsetless_dates(raw: str, expected: datetime) -> None:
    assert parse_date(raw) == expected
    parsed = parse_feed(rss(f"<item><title>t</title><pubDate>{raw}</pubDate></item>"), None, "u")
    assert parsed.posts[0].published_at == expected


@pytest.mark.parametrize("raw", ["", "garbage", "2026-13-40", "昨天"])
def test_unreadable_dates(raw: str) -> None:
    assert parse_date(raw) is None


def test_named_zone_rfc822_is_left_to_feedparser() -> None:
    parsed = parse_feed(
        rss("<item><title>t</title><pubDate>Fri, 20 Nov 2026 00:30:00 GMT</pubDate></item>"),
        None,
        "u",
    )
    assert parsed.posts[0].published_at == datetime(2026, 11, 20, 8, 30, tzinfo=CST)


@pytest.mark.parametrize("style", ["chinese", "naive", "iso", "rfc822"])
def test_sim_date_styles_read_back(style: str) -> None:
    body, content_type = render_feed("rss", date_style=style)
    parsed = parse_feed(body, content_type, "u")
    newest = NOW - timedelta(hours=3)
    assert parsed.posts[0].published_at == newest


def test_build_date_is_never_an_item_date() -> None:
    body = rss(
        "<item><title>无日期</title><link>https://a/1</link></item>",
        channel_extra="<lastBuildDate>Fri, 20 Nov 2026 08:30:00 +0800</lastBuildDate>"
        "<pubDate>Fri, 20 Nov 2026 08:30:00 +0800</pubDate>",
    )
    parsed = parse_feed(body, None, "u")
    assert parsed.ok and parsed.posts[0].published_at is None


def test_atom_updated_and_dc_date_are_item_dates() -> None:
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<updated>2026-11-20T12:00:00+08:00</updated>"
        b"<entry><title>a</title><updated>2026-10-01T09:00:00+08:00</updated></entry></feed>"
    )
    assert parse_feed(atom, None, "u").posts[0].published_at == datetime(2026, 10, 1, 9, tzinfo=CST)
    rdf = rss(
        '<item><title>b</title><dc:date xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "2026-09-01 10:00</dc:date></item>"
    )
    assert parse_feed(rdf, None, "u").posts[0].published_at == datetime(2026, 9, 1, 10, tzinfo=CST)


def test_content_prefers_full_text_and_link_falls_back_to_guid() -> None:
    body = rss(
        '<item xmlns:content="http://purl.org/rss/1.0/modules/content/"><title>t</title>'
        "<description>摘要</description><content:encoded><![CDATA[<p>全文</p>]]></content:encoded>"
        "<guid>https://www.gz.gov.cn/a/9</guid></item>"
    )
    post = parse_feed(body, None, "u").posts[0]
    assert post.content == "<p>全文</p>" and post.url == "https://www.gz.gov.cn/a/9"


def test_characters_no_export_or_database_could_store_are_dropped() -> None:
    """A JSON feed can carry a lone surrogate (a title cut inside an emoji) and characters XML
    forbids; kept, they made the ledger's insert fail for the whole run, or the XLSX unreadable."""
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {
                "title": "关于攻府\ud83d工作的通知\uffff",
                "content_text": "正文\x01\ufffe",
                "url": "https://e.gov.cn/1\ud800",
            }
        ],
    }
    parsed = parse_feed(json.dumps(doc).encode(), "application/feed+json", "u")
    (post,) = parsed.posts
    assert (post.title, post.content, post.url) == (
        "关于攻府工作的通知",
        "正文",
        "https://e.gov.cn/1",
    )


def test_json_feed_variants() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1",
        "title": "JSON 发布",
        "items": [
            {
                "id": "1",
                "url": "https://a/1",
                "title": "一",
                "content_text": "正文",
                "date_published": "2026-11-20T08:30:00+08:00",
            },
            {
                "id": "2",
                "external_url": "https://a/2",
                "summary": "摘要",
                "date_modified": "2026-11-19 10:00:00",
            },
            {"id": "3"},
            "not an item",
        ],
    }
    parsed = parse_feed(json.dumps(doc).encode(), "application/json", "u")
    assert parsed.ok and parsed.format == "json1" and parsed.title == "JSON 发布"
    one, two, three = parsed.posts
    assert (one.title, one.url, one.content) == ("一", "https://a/1", "正文")
    assert one.published_at == datetime(2026, 11, 20, 8, 30, tzinfo=CST)
    assert two.url == "https://a/2" and two.content == "摘要"
    assert two.published_at == datetime(2026, 11, 19, 10, tzinfo=CST)
    assert three.published_at is None and three.title == ""


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"items": 5}'])
def test_bad_json_is_an_error(body: bytes) -> None:
    assert not parse_feed(body, "application/feed+json", "u").ok


def test_malformed_without_items_is_an_error_not_an_empty_feed() -> None:
    parsed = parse_feed(MALFORMED, "application/rss+xml", "u")
    assert not parsed.ok and parsed.posts == []
    assert "not well-formed" in (parsed.error or "")


def test_ill_formed_feed_with_items_is_read_loosely() -> None:
    body = rss("<item><title>甲 &bogus; </title></item><item><title>乙</title></item>")
    parsed = parse_feed(body, None, "u")
    assert parsed.ok and parsed.bozo and [p.title for p in parsed.posts][1] == "乙"


def test_empty_feed_is_ok() -> None:
    parsed = parse_feed(rss(""), "application/rss+xml", "u")
    assert parsed.ok and parsed.posts == [] and parsed.format == "rss20"


def test_html_pages_are_not_feeds() -> None:
    page = parse_feed(b"<html><body><p>hello</p></body></html>", "text/html", "u")
    assert not page.ok and not page.challenge
    challenge = parse_feed(CHALLENGE_PAGE, "text/html", "u")
    assert not challenge.ok and challenge.challenge


@pytest.mark.parametrize("charset", ["utf-8", "gbk", "gb18030", "gb2312"])
def test_chinese_challenge_page_in_any_chinese_charset(charset: str) -> None:
    page = f'<html><head><meta charset="{charset}"><title>安全验证</title></head>'
    page += "<body>请完成验证后继续访问</body></html>"
    assert looks_like_challenge(page.encode(charset))
    assert not looks_like_challenge("<html><body>政务公开</body></html>".encode(charset))


def test_body_is_never_taken_for_a_file_name(tmp_path: object) -> None:
    parsed = parse_feed(b"/etc/hostname", None, "u")
    assert not parsed.ok and parsed.posts == []


def test_binary_garbage_does_not_raise() -> None:
    for body in (b"", b"\x00\xff" * 100, b"\xef\xbb\xbf", "<rss>".encode("utf-32")):
        assert parse_feed(body, "application/rss+xml", "u").error


def test_parsed_feed_pickles() -> None:
    parsed = parse_feed(*render_feed("rss"), "u")
    again = pickle.loads(pickle.dumps(parsed))
    assert again == parsed and again.posts[0].published_at == parsed.posts[0].published_at

"""Decoding bodies as the server sent them, and the feed copy kept for the next 304."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import datetime

import pytest

from checks.model import Post
from monitor import content_coding
from monitor.content_coding import BadCoding, TooLarge, decode
from monitor.feed_workers import read_body
from registry import feed_copy
from registry.times import SHANGHAI

FEED = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>政务号</title>'
    "<item><title>通知</title><link>https://example.gov.cn/1</link>"
    "<pubDate>Fri, 20 Nov 2026 08:30:00 +0800</pubDate><description>正文</description></item>"
    "</channel></rss>"
).encode()


def deflate(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(wbits=wbits)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("gzip", gzip.compress(FEED)),
        ("x-gzip", gzip.compress(FEED)),
        ("deflate", zlib.compress(FEED)),  # zlib-wrapped, as the standard says
        ("deflate", deflate(FEED, 9)),  # zlib-wrapped with a small window
        ("deflate", deflate(FEED, -zlib.MAX_WBITS)),  # raw, as some servers send it
        (" GZIP ", gzip.compress(FEED)),
        ("identity", FEED),
        (None, FEED),
    ],
)
def test_decodes_the_codings_it_asks_for(coding: str | None, body: bytes) -> None:
    assert decode(body, coding, cap=len(FEED)) == FEED


def test_an_empty_body_is_empty_whatever_its_coding() -> None:
    assert decode(b"", "gzip", cap=10) == decode(b"", "br") == b""


def test_a_zip_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MiB of zeros in about 64 KB
    with pytest.raises(TooLarge, match="1048576"):
        decode(bomb, "gzip", cap=1 << 20)
    assert decode(gzip.compress(b"x" * 100), "gzip", cap=100) == b"x" * 100  # at the cap: fine
    with pytest.raises(TooLarge):
        decode(b"x" * 101, None, cap=100)


@pytest.mark.parametrize(
    ("coding", "body", "message"),
    [
        ("gzip", b"this is not gzip", "corrupt gzip"),
        ("gzip", gzip.compress(FEED)[:-30], "truncated gzip"),
        ("br", b"\x1b", "unsupported Content-Encoding: br"),
        ("gzip, gzip", gzip.compress(gzip.compress(FEED)), "unsupported"),
    ],
)
def test_bad_bodies_are_named(coding: str, body: bytes, message: str) -> None:
    with pytest.raises(BadCoding, match=message):
        decode(body, coding, cap=1 << 20)


def test_a_partial_body_gives_what_it_holds() -> None:
    cut = gzip.compress(FEED * 20)[:200]
    head = decode(cut, "gzip", cap=1 << 20, partial=True)
    assert len(head) > 100 and (FEED * 20).startswith(head)
    opening = decode(gzip.compress(FEED * 20), "gzip", cap=100, partial=True)
    assert opening == FEED[:100]  # cut at the cap, not refused


def test_read_body_decodes_and_parses_a_compressed_document() -> None:
    zipped = gzip.compress(FEED)
    parsed = read_body(zipped, "application/rss+xml", "https://example.gov.cn/feed", "gzip", None)
    assert parsed.ok and [p.title for p in parsed.posts] == ["通知"]
    assert parsed.body_bytes == len(FEED)
    assert parsed.stored is None  # the caller keeps the body it sent: it is not sent back


def test_a_compressed_document_is_kept_as_sent() -> None:
    zipped = gzip.compress(FEED)
    kept = feed_copy.unpack(feed_copy.pack(zipped, "gzip", "application/rss+xml"))
    assert isinstance(kept, feed_copy.FeedCopy)
    assert (kept.body, kept.coding) == (zipped, "gzip")  # as sent: no work to keep it
    assert kept.content_type == "application/rss+xml"


def test_read_body_compresses_a_plain_document_to_keep_it() -> None:
    parsed = read_body(FEED, None, "u", "identity", None)
    assert parsed.stored is not None
    kept = feed_copy.unpack(parsed.stored)
    assert isinstance(kept, feed_copy.FeedCopy) and kept.coding == "deflate"
    assert decode(kept.body, kept.coding) == FEED


def test_read_body_reports_what_could_not_be_decoded() -> None:
    too_big = read_body(gzip.compress(b" " * 10_000), None, "u", "gzip", 1000)
    assert too_big.body_fault == "too_large" and too_big.stored is None and not too_big.posts
    corrupt = read_body(b"garbage", None, "u", "gzip", 1000)
    assert corrupt.body_fault == "network" and "corrupt gzip" in (corrupt.error or "")
    not_a_feed = read_body(b"<html><body>hello</body></html>", "text/html", "u", "identity", None)
    assert not_a_feed.body_fault is None and not not_a_feed.ok and not_a_feed.stored is None


def test_posts_kept_by_an_earlier_version_are_still_read() -> None:
    moment = datetime(2026, 11, 20, 8, 30, tzinfo=SHANGHAI)
    legacy = zlib.compress(
        json.dumps(
            [["通知", "https://example.gov.cn/1", moment.isoformat(), "<p>正文</p>"]]
        ).encode()
    )
    assert feed_copy.unpack(legacy) == [
        Post(
            title="通知", url="https://example.gov.cn/1", published_at=moment, content="<p>正文</p>"
        )
    ]


def test_accept_encoding_names_only_what_decode_reads() -> None:
    asked = [coding.strip() for coding in content_coding.ACCEPT_ENCODING.split(",")]
    assert asked == ["gzip", "deflate"]
    assert decode(gzip.compress(b"x"), asked[0]) == decode(zlib.compress(b"x"), asked[1]) == b"x"

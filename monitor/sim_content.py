"""Deterministic feed documents for the simulated platform (see ``monitor.simserver``).

Feeds are shaped like real full-text output of RSSHub or a WeChat gateway: by default 20 items
of about 3 KB of Chinese HTML each (~65 KB a feed). Item bodies are assembled from a pool of
paragraphs generated once, so rendering a feed costs a few string joins, not text generation:
the server must stay cheap next to the client it is measuring.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from datetime import datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

_CHARS = (
    "政务公开信息发布工作会议召开全市各级部门认真贯彻落实党中央国务院决策部署推进高质量发展民生服务"
    "保障群众办事便利化改革营商环境优化乡村振兴生态环境保护安全生产防汛抗旱教育医疗养老就业社保交通"
    "城市更新基层治理数字政府建设一网通办数据共享应急管理疫情防控文明创建志愿服务科技创新人才引进"
)
_TOPICS = (
    "关于做好冬季安全生产工作的通知",
    "我市召开优化营商环境推进会",
    "政务服务“一网通办”再提速",
    "2026年民生实事项目进展情况",
    "防汛抗旱工作部署会召开",
    "关于征求意见的公告",
    "乡村振兴示范村建设观察",
    "城市更新项目集中开工",
    "就业创业补贴申领指南",
    "文明城市创建进行时",
    "数字政府建设取得新进展",
    "养老服务体系建设提质增效",
)
_POOL_SIZE = 64
_PARAGRAPH_CHARS = 80  # 80 CJK characters = 240 UTF-8 bytes


def _build_pool(seed: int = 20261120) -> list[str]:
    rnd = random.Random(seed)
    paragraphs = []
    for _ in range(_POOL_SIZE):
        words = "".join(rnd.choice(_CHARS) for _ in range(_PARAGRAPH_CHARS))
        paragraphs.append(f"<p>{words[:30]}，{words[30:60]}。{words[60:]}。</p>")
    return paragraphs


_POOL = _build_pool()


def account_seed(account_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(account_id.encode(), digest_size=8).digest(), "big")


def item_html(seed: int, index: int, target_bytes: int) -> str:
    """An item body of about ``target_bytes``; only ``seed % 64`` matters (so it caches)."""
    return _item_html(seed % _POOL_SIZE, index, target_bytes)


@functools.lru_cache(maxsize=4096)
def _item_html(seed: int, index: int, target_bytes: int) -> str:
    parts: list[str] = []
    size = 0
    k = 0
    while size < target_bytes:
        paragraph = _POOL[(seed + index * 7 + k * 13) % _POOL_SIZE]
        parts.append(paragraph)
        size += len(paragraph) * 3  # CJK is 3 bytes in UTF-8
        if k % 4 == 3:
            img = f'<p><img src="https://img.example.gov.cn/{seed}/{index}_{k}.jpg"/></p>'
            parts.append(img)
            size += len(img)
        k += 1
    return "".join(parts)


def format_date(moment: datetime, style: str) -> str:
    """A date as feeds write it: ``rfc822``, ``iso``, ``chinese`` or ``naive`` (no offset)."""
    if style == "chinese":
        return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"
    if style == "naive":
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if style == "iso":
        return moment.isoformat(timespec="seconds")
    return format_datetime(moment)


def render(
    account_id: str,
    *,
    fmt: str,
    items: int,
    item_bytes: int,
    newest: datetime,
    spacing: timedelta,
    date_style: str,
    build_date: datetime,
    encoding: str = "utf-8",
) -> tuple[bytes, str]:
    """Render one account's feed; returns ``(body, content_type)``."""
    seed = account_seed(account_id)
    name = f"政务号{account_id}"
    home = f"https://www.example.gov.cn/{account_id}"
    entries = []
    for i in range(items):
        entries.append(
            (
                f"{_TOPICS[(seed + i) % len(_TOPICS)]}（第{items - i}期）",
                f"{home}/article/{seed % 100000}-{items - i}",
                newest - spacing * i,
                item_html(seed, i, item_bytes),
            )
        )
    if fmt == "json":
        doc = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": name,
            "home_page_url": home,
            "items": [
                {
                    "id": url,
                    "url": url,
                    "title": title,
                    "content_html": html,
                    "date_published": moment.isoformat(timespec="seconds"),
                }
                for title, url, moment, html in entries
            ],
        }
        return json.dumps(doc, ensure_ascii=False).encode("utf-8"), "application/feed+json"
    if fmt == "atom":
        body = "".join(
            f'<entry><title>{escape(title)}</title><link href="{url}"/><id>{url}</id>'
            f"<updated>{moment.isoformat(timespec='seconds')}</updated>"
            f'<content type="html">{escape(html)}</content></entry>'
            for title, url, moment, html in entries
        )
        text = (
            f'<?xml version="1.0" encoding="{encoding}"?>\n'
            f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{escape(name)}</title>'
            f'<link href="{home}"/><id>{home}</id>'
            f"<updated>{build_date.isoformat(timespec='seconds')}</updated>{body}</feed>"
        )
        return text.encode(encoding), f"application/atom+xml; charset={encoding}"
    body = "".join(
        f"<item><title>{escape(title)}</title><link>{url}</link>"
        f'<guid isPermaLink="true">{url}</guid>'
        f"<pubDate>{format_date(moment, date_style)}</pubDate>"
        f"<description><![CDATA[{html}]]></description></item>"
        for title, url, moment, html in entries
    )
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<rss version="2.0"><channel><title>{escape(name)}</title><link>{home}</link>'
        f"<description>{escape(name)}的最新发布</description>"
        f"<lastBuildDate>{format_datetime(build_date)}</lastBuildDate>"
        f"<generator>simserver</generator>{body}</channel></rss>"
    )
    return text.encode(encoding), f"application/rss+xml; charset={encoding}"


CHALLENGE_PAGE = (
    "<!DOCTYPE html><html><head><title>安全验证</title></head><body>"
    "<h1>访问验证</h1><p>检测到异常访问，请完成验证码验证后继续访问。</p>"
    '<div id="captcha" class="challenge-platform"></div></body></html>'
).encode()

MALFORMED = (
    '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>出错了</title>'
    "<<>> &&& </chanel></rs"
).encode()

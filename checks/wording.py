"""Content rules: serious wording errors (严重表述错误) and commercial advertising (商业广告).

Both use one compiled multi-pattern matcher (``Policy.content_matcher``), so each post's text is
scanned once whatever the size of the dictionaries.
"""

from __future__ import annotations

from checks.evidence import evidence, excerpt_around, finding
from checks.feed import Feed
from checks.model import Evidence, Finding
from checks.policy import Policy


def check_content(feed: Feed, policy: Policy) -> list[Finding]:
    """``wording_error`` and ``commercial_content`` findings over every visible post."""
    matcher = policy.content_matcher
    if not matcher.size:
        return []
    wording: list[Evidence] = []
    commercial: list[Evidence] = []
    wrong_terms: dict[str, str] = {}
    ad_terms: dict[str, None] = {}
    items = feed.items
    for item, hits in zip(items, matcher.find_each([item.text for item in items]), strict=True):
        if not hits:
            continue
        text = item.text
        errors = [m for m in hits if m.value.kind == "wording"]
        ads = [m for m in hits if m.value.kind == "commercial"]
        if errors:
            first = errors[0]
            for m in errors:
                wrong_terms.setdefault(m.term, m.value.correction or "")
            pairs = (f"“{m.term}”应为“{m.value.correction}”" for m in errors)
            listed = "、".join(dict.fromkeys(pairs))
            width = policy.wording_error.excerpt_chars
            context = excerpt_around(text, first.start, first.end, width)
            wording.append(evidence(item, f"{listed}：{context}"))
        if ads:
            first = ads[0]
            for m in ads:
                ad_terms.setdefault(m.term)
            listed = "、".join(dict.fromkeys(f"“{m.term}”" for m in ads))
            width = policy.commercial_content.excerpt_chars
            context = excerpt_around(text, first.start, first.end, width)
            commercial.append(evidence(item, f"含{listed}：{context}"))
    found: list[Finding] = []
    if wording:
        terms = "、".join(f"“{w}”（应为“{r}”）" for w, r in list(wrong_terms.items())[:5])
        more = "等" if len(wrong_terms) > 5 else ""
        text = f"{len(wording)}条发布存在严重表述错误：{terms}{more}。"
        found.append(finding("wording_error", text, wording))
    if commercial:
        terms = "、".join(f"“{t}”" for t in list(ad_terms)[:5])
        more = "等" if len(ad_terms) > 5 else ""
        text = f"{len(commercial)}条发布疑似含商业广告内容：{terms}{more}。"
        found.append(finding("commercial_content", text, commercial))
    return found

"""The ``privacy_leak`` rule: posts that publish personal data without de-identification."""

from __future__ import annotations

from checks.evidence import evidence, excerpt_around, finding
from checks.feed import Feed
from checks.model import Evidence, Finding
from checks.policy import Policy
from checks.privacy import BANK_CARD, ID_CARD, KIND_LABELS, MOBILE, find_personal_data_each


def check_privacy(feed: Feed, policy: Policy) -> list[Finding]:
    """One finding listing each post with an unmasked ID card, mobile or bank card number."""
    rule = policy.privacy_leak
    wanted = {ID_CARD: rule.id_card, MOBILE: rule.mobile, BANK_CARD: rule.bank_card}
    kinds = frozenset(kind for kind, on in wanted.items() if on)
    if not kinds:
        return []
    counts = dict.fromkeys(KIND_LABELS, 0)
    found: list[Evidence] = []
    items = feed.items
    each = find_personal_data_each([item.text for item in items], kinds)
    for item, hits in zip(items, each, strict=True):
        if not hits:
            continue
        text = item.text
        for hit in hits:
            counts[hit.kind] += 1
        labels = "、".join(dict.fromkeys(KIND_LABELS[hit.kind] for hit in hits))
        context = excerpt_around(text, hits[0].start, hits[0].end, rule.excerpt_chars)
        found.append(evidence(item, f"含未去标识化的{labels}（共{len(hits)}处）：{context}"))
    if not found:
        return []
    detail = "，".join(f"{KIND_LABELS[k]}{n}处" for k, n in counts.items() if n)
    text = f"{len(found)}条发布含未去标识化的个人信息（{detail}），应删除或遮蔽后重新发布。"
    return [finding("privacy_leak", text, found)]

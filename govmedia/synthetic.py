"""Synthetic inventories shaped like a province's: for the demo, the tests and the benchmarks."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

from registry.fields import FIELDS

# (code, name, short name) — Sichuan cities and districts (GB/T 2260).
REGIONS = (
    ("510104", "成都市锦江区", "锦江"), ("510105", "成都市青羊区", "青羊"),
    ("510106", "成都市金牛区", "金牛"), ("510302", "自贡市自流井区", "自流井"),
    ("510703", "绵阳市涪城区", "涪城"), ("510704", "绵阳市游仙区", "游仙"),
    ("511002", "内江市市中区", "内江市中"), ("511802", "雅安市雨城区", "雨城"),
    ("511822", "雅安市荥经县", "荥经"), ("511823", "雅安市汉源县", "汉源"),
    ("513401", "凉山州西昌市", "西昌"), ("510681", "德阳市广汉市", "广汉"),
)  # fmt: skip
# (unit suffix, account name pattern)
DEPARTMENTS = (
    ("公安分局", "平安{short}"), ("人民政府办公室", "{short}发布"),
    ("卫生健康局", "健康{short}"), ("市场监督管理局", "{short}市场监管"),
    ("教育局", "{short}教育"), ("文化广播电视和旅游局", "{short}文旅"),
    ("应急管理局", "{short}应急"), ("融媒体中心", "今日{short}"),
)  # fmt: skip
PLATFORM_MIX = ("微信公众号", "微博", "抖音", "今日头条", "微信视频号", "快手", "移动客户端")
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code(seed: str) -> str:
    """A unified social credit code with a valid check character, derived from ``seed``."""
    digest = hashlib.sha256(seed.encode()).digest()
    body = "11" + "".join(_ALPHABET[b % 31] for b in digest[:15])
    total = sum(_ALPHABET.index(c) * w for c, w in zip(body, _WEIGHTS, strict=False))
    return body + _ALPHABET[(31 - total % 31) % 31]


def inventory(count: int, seed: int = 1, feed_base: str = "") -> Iterator[dict[str, str]]:
    """``count`` inventory rows (field key -> text) with realistic names, units and platforms.

    Units are made unique by a batch number once the region x department grid is used up, so
    larger inventories stay within one account per unit and platform.
    """
    rng = random.Random(seed)
    emitted = 0
    batch = 0
    while emitted < count:
        for code, place, short in REGIONS:
            for suffix, pattern in DEPARTMENTS:
                sponsor = f"{place}{suffix}" if batch == 0 else f"{place}{suffix}第{batch}分部"
                name = pattern.format(short=short) + ("" if batch == 0 else str(batch))
                for platform in rng.sample(PLATFORM_MIX, rng.randint(1, 3)):
                    if emitted >= count:
                        return
                    emitted += 1
                    account_id = f"gov{seed}{emitted:07d}"
                    yield {
                        "name": name,
                        "platform": platform,
                        "account_id": account_id,
                        "home_url": f"https://example.gov.cn/{account_id}",
                        "feed_url": f"{feed_base}/feed/{account_id}" if feed_base else "",
                        "sponsor": sponsor,
                        "sponsor_code": credit_code(sponsor),
                        "supervisor": f"{place[:3]}人民政府办公室",
                        "region_code": code,
                        "opened_on": f"20{rng.randint(15, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                        "status": "正常",
                        "interaction": "有",
                        "admin": f"管理员{emitted % 97}",
                        "phone": f"028-8{emitted % 10000000:07d}",
                    }
        batch += 1


def header_row() -> list[str]:
    return [f.header for f in FIELDS]

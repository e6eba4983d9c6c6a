"""Benchmark of the inspection rules (a plain script: ``.venv/bin/python bench/bench_checks.py``).

Prints
- the median time of ``checks.inspect`` (all rules) on an account with 50 realistic Chinese posts
  of about 1-3 KB of HTML each, with review records for every post;
- the per-post time of the wording/commercial matcher with 100 and 10,000 dictionary terms, and
  the median of all checks with the 10,000-term dictionary.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from checks import Policy, inspect
from checks.dictionary import WordingTerm
from checks.feed import prepare
from checks.model import AccountFacts, InspectionInput, Post, ReviewRecord

AT = datetime(2026, 3, 31, 10, 0)
SENTENCES = [
    "为深入贯彻落实党中央、国务院决策部署，进一步做好春季森林草原防灭火工作，",
    "县人民政府召开常务会议，研究部署安全生产、防汛抗旱和乡村振兴等重点工作。",
    "会议强调，要坚持以人民为中心的发展思想，切实保障人民群众生命财产安全。",
    "各乡镇（街道）要压紧压实属地责任，加强隐患排查整治，确保不发生重大事故。",
    "据统计，今年一季度全县地区生产总值同比增长5.8%，固定资产投资增长7.2%。",
    "县政务服务中心推行“一窗受理、集成服务”，企业开办时间压缩至1个工作日。",
    "欢迎广大市民通过12345政务服务便民热线反映问题、提出意见建议。",
    "下一步，我们将持续优化营商环境，推动经济社会高质量发展再上新台阶。",
    "本次公示期为2026年3月25日至2026年3月31日，如有异议请于公示期内反映。",
    "联系人：王老师，联系电话：028-86123456，工作时间：周一至周五9:00-17:00。",
    "全县共发放惠民惠农补贴资金1.2亿元，惠及群众3.5万户。",
    "县卫生健康局提醒：春季是传染病高发季节，请注意个人防护，勤洗手、常通风。",
]


def article(rng: random.Random, index: int) -> str:
    """An HTML body of about 1-3 KB, as WeChat/RSSHub feeds deliver it."""
    paragraphs = []
    size = 0
    target = rng.randint(1000, 3000)
    while size < target:
        text = "".join(rng.choices(SENTENCES, k=rng.randint(1, 3)))
        paragraphs.append(
            f'<p style="text-indent:2em;line-height:1.75em;"><span style="font-size:16px;">'
            f"{text}</span></p>"
        )
        size += len(paragraphs[-1].encode("utf-8"))
    if index % 7 == 0:
        paragraphs.insert(1, f'<p><img src="https://e.gov.cn/img/{index}.jpg" alt=""/></p>')
    if index % 11 == 0:
        paragraphs.append("<p>联系人：李先生，电话139****5678。</p>")
    return "".join(paragraphs)


def account_input(rng: random.Random) -> InspectionInput:
    posts, reviews = [], []
    for i in range(50):
        published = AT - timedelta(hours=7 * i + rng.randint(0, 5), minutes=rng.randint(0, 59))
        title = f"关于做好2026年第{i + 1}期重点工作的通知"
        url = f"https://mp.weixin.qq.com/s/{rng.getrandbits(64):016x}"
        posts.append(Post(title, url, published, article(rng, i)))
        before = published - timedelta(minutes=30)
        reviews.append(
            ReviewRecord(
                title=title,
                url=url,
                first_reviewer="编辑",
                first_reviewed_at=before - timedelta(hours=2),
                second_reviewer="科长",
                second_reviewed_at=before - timedelta(hours=1),
                final_reviewer="主任",
                final_reviewed_at=before,
            )
        )
    rng.shuffle(posts)
    account = AccountFacts(
        "微信公众号", "gh_bench", "某县发布", "某县人民政府办公室", "510121", "正常"
    )
    return InspectionInput(account, AT, posts, reviews)


def synthetic_terms(count: int, rng: random.Random) -> list[WordingTerm]:
    """Dictionary terms of 2-4 Chinese characters (typo-like: they rarely occur in the text)."""
    terms: set[str] = set()
    while len(terms) < count:
        terms.add("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(2, 4))))
    return [WordingTerm(t, "正确表述") for t in sorted(terms)]


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    rng = random.Random(20260331)
    inspection = account_input(rng)
    assert inspection.posts is not None
    sizes = [len(p.content.encode("utf-8")) for p in inspection.posts]
    print(f"account: {len(sizes)} posts, body {min(sizes)}-{max(sizes)} bytes "
          f"(mean {statistics.mean(sizes):.0f}), {len(inspection.reviews)} review records")  # fmt: skip

    policy = Policy()
    found = inspect(inspection, policy)  # warm-up: builds the matcher once
    print(f"findings on the benchmark account: {[f.code for f in found] or 'none'}")
    all_checks = median_seconds(lambda: inspect(inspection, policy), 2000)
    print(f"all checks, 50 posts, default policy: median {all_checks * 1e3:.3f} ms")

    items = prepare(inspection.posts, inspection.at).items
    for count in (100, 10_000):
        terms = synthetic_terms(count, rng)
        sized = Policy().with_wording_terms(terms)
        built = time.perf_counter()
        matcher = sized.content_matcher
        built = time.perf_counter() - built
        texts = [item.text for item in items]

        def scan(matcher=matcher, texts=texts) -> None:
            for text in texts:
                matcher.find(text)

        per_post = median_seconds(scan, 200) / len(texts)
        whole = median_seconds(lambda sized=sized: inspect(inspection, sized), 100)
        print(
            f"{count:>6} extra wording terms ({matcher.size} in matcher, built once in "
            f"{built * 1e3:.1f} ms): {per_post * 1e6:.1f} µs per post; "
            f"all checks median {whole * 1e3:.3f} ms"
        )


if __name__ == "__main__":
    main()

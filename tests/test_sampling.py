from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.quarter import Quarter
from monitor.sampling import (
    ALGORITHM,
    REASON_LABELS,
    Candidate,
    Draw,
    Reason,
    SamplingError,
    SamplingSettings,
    Stratum,
    draw,
    population_digest,
    quota,
)

Q = Quarter(2026, 4)
# Counties of three cities (成都 5101xx, 自贡 5103xx, 北京 1101xx) so strata merge counties.
REGIONS = ("510104", "510105", "510112", "510302", "510311", "110101", "110105")
PLATFORMS = ("微信公众号", "微博", "抖音")
ratios = st.decimals(min_value="0.25", max_value="1", places=3).map(float)


def exact_quota(ratio: float, n: int) -> int:
    """The quota as the spec states it: ceil(ratio × n), ratio read as a decimal."""
    return math.ceil(Fraction(str(ratio)) * n)


@st.composite
def populations(
    draw_: st.DrawFn, max_size: int = 60, history: bool = True, min_size: int = 0
) -> list[Candidate]:
    keys = draw_(st.sets(st.integers(1, 10_000), min_size=min_size, max_size=max_size))
    last = st.none()
    if history:
        last = st.one_of(st.none(), st.integers(-8, 3).map(Q.shift))
    return [
        Candidate(
            key,
            draw_(st.sampled_from(REGIONS)),
            draw_(st.sampled_from(PLATFORMS)),
            draw_(last),
        )
        for key in sorted(keys)
    ]


def by_stratum(population: Sequence[Candidate]) -> Counter[Stratum]:
    return Counter(c.stratum for c in population)


def simulate(
    population: list[Candidate], first: Quarter, quarters: int, ratio: float, seed: int
) -> tuple[list[Draw], list[Candidate]]:
    """Draw consecutive quarters, feeding every drawn account's inspection back."""
    draws = []
    for offset in range(quarters):
        quarter = first.shift(offset)
        result = draw(quarter, seed, population, ratio=ratio)
        drawn = result.keys()
        population = [
            dataclasses.replace(c, last_inspected=quarter) if c.key in drawn else c
            for c in population
        ]
        draws.append(result)
    return draws, population


# -- ratio per stratum -----------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(populations(), ratios, st.integers())
def test_every_stratum_gets_at_least_its_quota(
    population: list[Candidate], ratio: float, seed: int
) -> None:
    result = draw(Q, seed, population, ratio=ratio)
    sizes = by_stratum(population)
    drawn = Counter(m.stratum for m in result.members)
    for stratum, n in sizes.items():
        assert drawn[stratum] >= exact_quota(ratio, n)
    assert result.size >= ratio * len(population) - 1e-9
    # every member is a real account, in its own stratum, listed once, sorted by key
    strata = {c.key: c.stratum for c in population}
    assert [m.key for m in result.members] == sorted(strata.keys() & result.keys())
    assert all(strata[m.key] == m.stratum for m in result.members)
    # the per-stratum counts describe the members
    assert {s.stratum: s.population for s in result.strata} == sizes
    assert {s.stratum: s.drawn for s in result.strata} == {s: drawn[s] for s in sizes}
    assert all(s.quota == exact_quota(ratio, s.population) for s in result.strata)
    assert [s.stratum for s in result.strata] == sorted(sizes)
    assert result.population_size == len(population)


def test_quota_reads_the_ratio_as_a_decimal() -> None:
    # 0.07 * 100 is 7.000000000000001 in binary floating point; the quota is still 7.
    assert 0.07 * 100 > 7 and quota(0.35, 20) == 7
    assert quota(0.07, 100) == 7
    assert quota(0.25, 4) == 1
    assert quota(0.25, 5) == 2
    assert quota(1, 7) == 7
    assert quota(0.3, 0) == 0


def test_small_strata_are_rounded_up_not_skipped() -> None:
    population = [Candidate(k, REGIONS[k % len(REGIONS)], "抖音") for k in range(7)]
    result = draw(Q, 1, population, ratio=0.25)
    # seven regions in three cities: every city-level stratum is inspected
    assert {m.stratum.city_code for m in result.members} == {"510100", "510300", "110100"}


def test_ratio_one_takes_everyone() -> None:
    population = [Candidate(k, REGIONS[k % 3], PLATFORMS[k % 2]) for k in range(40)]
    assert draw(Q, 9, population, ratio=1.0).keys() == {c.key for c in population}


# -- reproducibility -------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(populations(), ratios, st.integers(), st.randoms(use_true_random=False))
def test_same_inputs_same_draw_regardless_of_order(
    population: list[Candidate], ratio: float, seed: int, rnd: object
) -> None:
    shuffled = list(population)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    recheck = [c.key for c in population[::5]]
    first = draw(Q, seed, population, ratio=ratio, recheck=recheck)
    assert draw(Q, seed, shuffled, ratio=ratio, recheck=list(reversed(recheck))) == first
    assert first.seed == seed and first.algorithm == ALGORITHM and first.quarter == Q


@settings(max_examples=30)
@given(st.integers(), st.integers())
def test_different_seeds_give_different_samples(seed: int, other: int) -> None:
    # one stratum of 200 never-inspected accounts, 50 places: C(200, 50) possible samples
    population = [Candidate(k, "510104", "微博") for k in range(200)]
    first = draw(Q, seed, population, ratio=0.25)
    if other == seed:
        assert draw(Q, other, population, ratio=0.25) == first
    else:
        assert draw(Q, other, population, ratio=0.25).keys() != first.keys()


def test_quarter_changes_the_random_choice() -> None:
    population = [Candidate(k, "510104", "微博", Q.previous()) for k in range(200)]
    assert (
        draw(Q, 5, population, ratio=0.25).keys()
        != draw(Q.next(), 5, population, ratio=0.25).keys()
    )


def test_random_part_follows_the_documented_hash() -> None:
    # An independent restatement of the documented ranking: smallest sha256 first.
    population = [Candidate(k, "510104", "微博", Q.previous()) for k in range(1, 41)]
    seed = 20261
    result = draw(Q, seed, population, ratio=0.3)

    def rank(key: int) -> bytes:
        return hashlib.sha256(f"{ALGORITHM}:{seed}:{Q}:{key}".encode()).digest()

    expected = sorted(range(1, 41), key=rank)[:12]
    assert result.keys() == set(expected)
    assert {m.reason for m in result.members} == {Reason.RANDOM}


def test_draw_is_identical_in_other_processes() -> None:
    population = [
        Candidate(
            k, REGIONS[k % len(REGIONS)], PLATFORMS[k % 3], Q.shift(-(k % 6)) if k % 4 else None
        )
        for k in range(1, 301)
    ]
    here = draw(Q, 77, population, ratio=0.3, recheck=[3, 30]).to_dict()
    script = (
        "import json, sys\n"
        "from monitor.quarter import Quarter\n"
        "from monitor.sampling import Candidate, draw\n"
        "rows = json.load(sys.stdin)\n"
        "pop = [Candidate(k, r, p, q and Quarter.parse(q)) for k, r, p, q in rows]\n"
        "print(json.dumps(draw(Quarter.parse('2026Q4'), 77, pop, ratio=0.3, recheck=[3, 30])"
        ".to_dict(), ensure_ascii=False))\n"
    )
    rows = json.dumps(
        [
            [
                c.key,
                c.region_code,
                c.platform,
                None if c.last_inspected is None else str(c.last_inspected),
            ]
            for c in population
        ]
    )
    root = Path(__file__).resolve().parent.parent
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)}
        out = subprocess.run(
            [sys.executable, "-c", script],
            input=rows,
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=root,
        )
        assert json.loads(out.stdout) == here


# -- rotation and coverage -------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(populations(history=False, min_size=1), ratios, st.integers())
def test_four_consecutive_quarters_cover_everyone(
    population: list[Candidate], ratio: float, seed: int
) -> None:
    first = Quarter(2025, 3)  # crosses a year boundary
    draws, _ = simulate(population, first, 9, ratio, seed)
    everyone = {c.key for c in population}
    for start in range(len(draws) - 3):
        window = draws[start : start + 4]
        assert set().union(*(d.keys() for d in window)) == everyone, [
            str(d.quarter) for d in window
        ]
    # with a stable population the coverage never needs more than the quota
    for result in draws:
        assert all(s.drawn == s.quota for s in result.strata)


@settings(max_examples=60, deadline=None)
@given(populations(history=True, min_size=1), ratios, st.integers())
def test_no_inspected_account_waits_four_quarters(
    population: list[Candidate], ratio: float, seed: int
) -> None:
    quarter = Q
    for _ in range(6):
        result = draw(quarter, seed, population, ratio=ratio)
        drawn = result.keys()
        population = [
            dataclasses.replace(c, last_inspected=quarter) if c.key in drawn else c
            for c in population
        ]
        for c in population:
            if c.last_inspected is not None:
                # inspected in this quarter or one of the three before it
                assert quarter.quarters_since(c.last_inspected) <= 3
        quarter = quarter.next()


@pytest.mark.parametrize("seed", range(10))
def test_never_inspected_take_turns_by_their_last_attempt(seed: int) -> None:
    """Accounts whose inspection never completes (no feed) are drawn in turn; an account never
    attempted goes before them."""
    population = [Candidate(k, "510104", "微信公众号") for k in range(1, 9)]
    quarter, drawn = Q, []
    for _ in range(4):
        keys = draw(quarter, seed, population, ratio=0.25).keys()
        drawn += keys
        population = [
            dataclasses.replace(c, last_attempted=quarter) if c.key in keys else c
            for c in population
        ]
        quarter = quarter.next()
    assert sorted(drawn) == list(range(1, 9))
    tried = [dataclasses.replace(c, last_attempted=Q) for c in population]
    newcomer = Candidate(9, "510104", "微信公众号")
    assert draw(quarter, seed, [*tried, newcomer], ratio=0.25).reason_of(9) is Reason.ROTATION


def test_overdue_accounts_go_in_even_beyond_the_quota() -> None:
    long_ago = Q.shift(-6)
    overdue = [Candidate(k, "510104", "抖音", long_ago) for k in range(1, 7)]
    recent = [Candidate(k, "510104", "抖音", Q.previous()) for k in range(7, 21)]
    result = draw(Q, 3, overdue + recent, ratio=0.25)
    assert result.keys() == set(range(1, 7))  # quota is 5, six are overdue: all six
    assert all(m.reason is Reason.ROTATION for m in result.members)
    (count,) = result.strata
    assert (count.quota, count.drawn, count.rotation) == (5, 6, 6)


def test_three_quarters_without_inspection_is_not_yet_overdue() -> None:
    boundary = [
        Candidate(1, "510104", "抖音", Q.shift(-4)),
        Candidate(2, "510104", "抖音", Q.shift(-3)),
    ]
    others = [Candidate(k, "510104", "抖音", Q.previous()) for k in range(3, 9)]
    for seed in range(20):
        result = draw(Q, seed, boundary + others, ratio=0.25)
        assert result.reason_of(1) is Reason.ROTATION
        assert result.reason_of(2) in (None, Reason.RANDOM)


def test_never_inspected_come_first_but_do_not_open_the_quota() -> None:
    never = [Candidate(k, "510104", "微博") for k in range(1, 21)]
    recent = [Candidate(k, "510104", "微博", Q.previous()) for k in range(21, 41)]
    result = draw(Q, 11, never + recent, ratio=0.25)
    assert result.size == 10
    assert result.keys() <= set(range(1, 21))
    assert {m.reason for m in result.members} == {Reason.ROTATION}

    few_never = never[:3]
    result = draw(Q, 11, few_never + recent, ratio=0.25)
    assert result.size == quota(0.25, 23) == 6
    assert {m.key for m in result.members if m.reason is Reason.ROTATION} == {1, 2, 3}
    assert Counter(m.reason for m in result.members)[Reason.RANDOM] == 3


def test_longer_uninspected_overdue_ranked_first_then_recent_random() -> None:
    population = [
        Candidate(1, "510104", "微博", Q.shift(-5)),
        Candidate(2, "510104", "微博", Q.shift(-4)),
        *(Candidate(k, "510104", "微博", Q.shift(-1)) for k in range(3, 13)),
    ]
    result = draw(Q, 0, population, ratio=0.25)  # 3 places: two overdue, one random
    assert result.reason_of(1) is Reason.ROTATION and result.reason_of(2) is Reason.ROTATION
    assert Counter(m.reason for m in result.members) == {Reason.ROTATION: 2, Reason.RANDOM: 1}


# -- re-check --------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(populations(min_size=1), ratios, st.integers(), st.data())
def test_recheck_is_added_on_top(
    population: list[Candidate], ratio: float, seed: int, data: st.DataObject
) -> None:
    keys = [c.key for c in population]
    recheck = data.draw(st.sets(st.sampled_from(keys)))
    plain = draw(Q, seed, population, ratio=ratio)
    with_recheck = draw(Q, seed, population, ratio=ratio, recheck=recheck)
    assert with_recheck.keys() == plain.keys() | recheck
    for member in with_recheck.members:
        if member.key in recheck:
            assert member.reason is Reason.RECHECK
        else:
            assert member.reason is plain.reason_of(member.key)
    assert sum(s.recheck for s in with_recheck.strata) == len(recheck)
    for s in with_recheck.strata:
        assert s.drawn >= s.quota


def test_recheck_of_unknown_account_is_refused() -> None:
    population = [Candidate(1, "510104", "微博")]
    with pytest.raises(SamplingError, match=r"not in the population.*99"):
        draw(Q, 1, population, ratio=0.25, recheck=[99])


# -- digest ----------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(populations(min_size=1), st.randoms(use_true_random=False), st.data())
def test_digest_identifies_the_population(
    population: list[Candidate], rnd: object, data: st.DataObject
) -> None:
    digest = population_digest(population)
    shuffled = list(population)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert population_digest(shuffled) == digest
    assert draw(Q, 1, shuffled, ratio=0.5).population_digest == digest

    index = data.draw(st.integers(0, len(population) - 1))
    target = population[index]
    changes = [
        dataclasses.replace(
            target, region_code="510106" if target.region_code != "510106" else "510107"
        ),
        dataclasses.replace(target, platform=target.platform + "X"),
        dataclasses.replace(target, last_inspected=Q if target.last_inspected is None else None),
        dataclasses.replace(target, last_attempted=Q if target.last_attempted is None else None),
    ]
    for changed in changes:
        altered = [*population[:index], changed, *population[index + 1 :]]
        assert population_digest(altered) != digest
    assert population_digest(population[:index] + population[index + 1 :]) != digest
    assert len(digest) == 64 and int(digest, 16) >= 0


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", [0.0, -0.5, 1.01, 2, float("nan"), float("inf")])
def test_ratio_outside_zero_one_refused(ratio: float) -> None:
    population = [Candidate(1, "510104", "微博")]
    for allow in (False, True):
        with pytest.raises(SamplingError, match="ratio"):
            draw(Q, 1, population, ratio=ratio, allow_below_minimum=allow)


def test_ratio_below_minimum_needs_explicit_permission() -> None:
    population = [Candidate(k, "510104", "微博", Q.previous()) for k in range(100)]
    with pytest.raises(SamplingError, match=r"低于最低比例.*--allow-below-minimum"):
        draw(Q, 1, population, ratio=0.2)
    assert draw(Q, 1, population, ratio=0.2, allow_below_minimum=True).size == 20
    assert draw(Q, 1, population, ratio=0.1, minimum_ratio=0.1).size == 10
    with pytest.raises(SamplingError):
        draw(Q, 1, population, ratio=0.3, minimum_ratio=0.35)
    assert isinstance(SamplingError("x"), ValueError)


def test_bad_population_refused() -> None:
    with pytest.raises(SamplingError, match=r"duplicate.*7"):
        draw(Q, 1, [Candidate(7, "510104", "微博"), Candidate(7, "510105", "抖音")], ratio=0.5)
    with pytest.raises(SamplingError, match="region code"):
        Candidate(1, "5101", "微博")
    with pytest.raises(SamplingError, match="platform"):
        Candidate(1, "510104", " ")
    with pytest.raises(SamplingError, match="seed"):
        draw(Q, "1", [], ratio=0.5)  # type: ignore[arg-type]


def test_empty_population_gives_an_empty_sample() -> None:
    result = draw(Q, 1, [], ratio=0.25)
    assert result.members == () and result.strata == () and result.population_size == 0


# -- the record ------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(populations(), ratios, st.integers())
def test_record_round_trips_through_json(
    population: list[Candidate], ratio: float, seed: int
) -> None:
    result = draw(Q, seed, population, ratio=ratio, recheck=[c.key for c in population[:2]])
    record = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert Draw.from_dict(record) == result
    assert record["size"] == len(record["members"]) == result.size
    for member in record["members"]:
        assert member["reason_label"] == REASON_LABELS[Reason(member["reason"])]


def test_reason_labels() -> None:
    assert {r.value: r.label for r in Reason} == {
        "rotation": "轮换必查",
        "random": "随机抽取",
        "recheck": "逾期复查",
    }


def test_from_dict_refuses_garbage() -> None:
    with pytest.raises(SamplingError, match="not a sample record"):
        Draw.from_dict({"quarter": "2026Q4"})


# -- settings --------------------------------------------------------------------------------


def test_settings_from_config() -> None:
    assert SamplingSettings.from_config({}) == SamplingSettings(0.25, 0.25, 4)
    full = {
        "database": {},
        "sampling": {"ratio": 0.3, "minimum_ratio": 0.25, "rotation_quarters": 4},
    }
    assert SamplingSettings.from_config(full) == SamplingSettings(0.3, 0.25, 4)
    assert SamplingSettings.from_config({"ratio": 0.5}).ratio == 0.5


@pytest.mark.parametrize(
    "table",
    [
        {"ratio": "0.3"},
        {"ratio": 0},
        {"minimum_ratio": 1.5},
        {"rotation_quarters": 0},
        {"rotation_quarters": 2.5},
    ],
)
def test_settings_refuse_bad_values(table: dict[str, object]) -> None:
    with pytest.raises(SamplingError, match=r"\[sampling\]"):
        SamplingSettings.from_config({"sampling": table})

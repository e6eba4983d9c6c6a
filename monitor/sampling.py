"""The quarterly sample (季度抽查): a pure, reproducible, stratified draw with rotation.

Nothing here touches the database, the clock or the network: :func:`draw` is a function of
``(quarter, seed, population, ratio, recheck)`` and gives the same :class:`Draw` in every process
and on every Python version, so a persisted sample can be audited by drawing it again.

The rules (四川 2021 plan, item 十九: 季度抽查比例不低于25%):

* **Strata.** The population is split by city-level region (the first four digits of the
  administrative region code + ``00``) × platform. Every stratum gets its own quota
  ``ceil(ratio × n)``, so no city and no platform escapes a quarter. ``ratio`` is read as the
  decimal it is written as (``0.07 × 100`` is 7, not 8 through binary rounding).
* **Rotation.** Across ``rotation_quarters`` (4) consecutive quarters every account is inspected
  at least once. An account that *was* inspected, but not in the 3 quarters before the draw, is
  *overdue*: it must go in now, or there would be 4 quarters without an inspection, so it is taken
  even beyond the quota (coverage wins). An account *never* inspected is also "rotation", ranked
  ahead of everything else for the places left under the quota; it does not force the quota
  open, or the first quarter of a new inventory would be a 100% inspection. In a new stratum of
  ``n`` accounts the never-inspected fill the whole quota for ``ceil(n / quota) ≤ 4`` quarters, so
  everyone is inspected within the first four quarters. Among the never-inspected, those never
  attempted go first, then those attempted longest ago (``last_attempted``): an account whose
  inspection cannot complete (no feed, a blocked platform) takes its turn instead of being
  drawn at random each quarter, crowding out the others.
* **Random.** Places still free are filled by a seeded random choice among the other accounts.
  The randomness is a ranking by ``sha256("strata-rotation-v2:{seed}:{quarter}:{key}")`` (smaller
  first), never ``hash()`` or the ``random`` module. The same rank breaks ties among rotation
  accounts, after "longest uninspected first".
* **Re-check.** Accounts with an open rectification entry past its deadline (``recheck``) are
  added on top. The ratio part is drawn exactly as if there were no re-checks, so the random part
  depends only on the inventory and the seed, never on the ledger. An account that is both drawn
  and due for re-check is marked ``recheck``: the re-check is why it must be inspected whatever
  the draw says, and it is still counted in its stratum, which therefore holds at least its quota.

Can the overdue accounts exceed a stratum's quota? **Not with a stable population, a constant
ratio ≥ 1/rotation_quarters (so 4 × quota ≥ n), a draw every quarter and every drawn account
actually inspected.** Proof: after the start-up (never-inspected first, ``quota`` of them per
quarter, ``4 × quota ≥ n``) every account has been inspected in the last four quarters. An
account overdue at quarter Q was then last inspected in Q-4, so the overdue set is a subset of
the sample of Q-4, which had exactly ``quota`` members; by induction no sample grows beyond its
quota. Overflow does happen, temporarily, when the ratio is lowered, when a stratum shrinks
(accounts closed, or moved to another region or platform: smaller quota, same overdue backlog),
when accounts with an inspection history move into a stratum, when a quarter is skipped or
drawn accounts are left uninspected (their ``last_inspected`` does not advance), and structurally
when the ratio is below ``1/rotation_quarters`` (only with ``allow_below_minimum``). Each stratum's
:class:`StratumCount` shows it (``drawn > quota``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any, NamedTuple

from monitor.quarter import Quarter
from registry.codes import city_of, region_code_problem

ALGORITHM = "strata-rotation-v2"
DIGEST_FORMAT = "govmedia-population-v2"

DEFAULT_RATIO = 0.25
DEFAULT_MINIMUM_RATIO = 0.25  # 四川 2021 plan, item 十九: 季度抽查比例不低于25%
DEFAULT_ROTATION_QUARTERS = 4


class SamplingError(ValueError):
    """The draw was refused; the message says why."""


class Reason(StrEnum):
    """Why an account is in the sample."""

    ROTATION = "rotation"  # never inspected, or not inspected in the last rotation window
    RANDOM = "random"  # seeded random choice for the rest of the quota
    RECHECK = "recheck"  # open rectification entry past its deadline

    @property
    def label(self) -> str:
        return REASON_LABELS[self]


REASON_LABELS: dict[Reason, str] = {
    Reason.ROTATION: "轮换必查",
    Reason.RANDOM: "随机抽取",
    Reason.RECHECK: "逾期复查",
}


class Stratum(NamedTuple):
    """A sampling stratum: city-level region code × platform."""

    city_code: str
    platform: str

    def __str__(self) -> str:
        return f"{self.city_code}/{self.platform}"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One active account of the population, as the draw sees it.

    ``key`` is the internal account id; ``last_inspected`` the latest quarter in which the
    account was actually inspected (``None``: never). A ``last_inspected`` at or after the quarter
    being drawn (a redraw of an earlier quarter) counts as recent. ``last_attempted``: the latest
    quarter with an inspection of the account, complete or not (``None``: never).
    """

    key: int
    region_code: str
    platform: str
    last_inspected: Quarter | None = None
    last_attempted: Quarter | None = None

    def __post_init__(self) -> None:
        if isinstance(self.key, bool) or not isinstance(self.key, int):
            raise SamplingError(f"account key must be an int, not {self.key!r}")
        if not isinstance(self.region_code, str):
            raise SamplingError(f"account {self.key}: region code must be text")
        problem = region_code_problem(self.region_code)
        if problem is not None:
            raise SamplingError(f"account {self.key}: region code {self.region_code!r}: {problem}")
        if not isinstance(self.platform, str) or not self.platform.strip():
            raise SamplingError(f"account {self.key}: platform is empty")
        for name in ("last_inspected", "last_attempted"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Quarter):
                raise SamplingError(
                    f"account {self.key}: {name} must be a Quarter or None, not {value!r}"
                )

    @property
    def stratum(self) -> Stratum:
        return Stratum(city_of(self.region_code), self.platform)


@dataclass(frozen=True, slots=True)
class Member:
    """One account of the sample and why it is there."""

    key: int
    reason: Reason
    stratum: Stratum


@dataclass(frozen=True, slots=True)
class StratumCount:
    """The sample in one stratum: ``drawn`` ≥ ``quota`` = ceil(ratio × ``population``)."""

    stratum: Stratum
    population: int
    quota: int
    rotation: int
    random: int
    recheck: int

    @property
    def drawn(self) -> int:
        return self.rotation + self.random + self.recheck


@dataclass(frozen=True, slots=True)
class Draw:
    """A quarter's sample with everything needed to audit it.

    ``members`` is sorted by key and ``strata`` by stratum. Drawing again with the same
    quarter, seed, ratio, rotation window, population and re-check keys gives an equal ``Draw``.
    """

    quarter: Quarter
    seed: int
    algorithm: str
    population_digest: str
    ratio: float
    rotation_quarters: int
    population_size: int
    members: tuple[Member, ...]
    strata: tuple[StratumCount, ...]

    @property
    def size(self) -> int:
        return len(self.members)

    def keys(self) -> frozenset[int]:
        return frozenset(member.key for member in self.members)

    def reason_of(self, key: int) -> Reason | None:
        """Why ``key`` is in the sample, or ``None`` when it is not."""
        for member in self.members:
            if member.key == key:
                return member.reason
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (what ``sample show --json`` prints and the database may keep)."""
        return {
            "quarter": str(self.quarter),
            "seed": self.seed,
            "algorithm": self.algorithm,
            "population_digest": self.population_digest,
            "ratio": self.ratio,
            "rotation_quarters": self.rotation_quarters,
            "population": self.population_size,
            "size": self.size,
            "members": [
                {
                    "key": m.key,
                    "reason": str(m.reason),
                    "reason_label": m.reason.label,
                    "city_code": m.stratum.city_code,
                    "platform": m.stratum.platform,
                }
                for m in self.members
            ],
            "strata": [
                {
                    "city_code": s.stratum.city_code,
                    "platform": s.stratum.platform,
                    "population": s.population,
                    "quota": s.quota,
                    "drawn": s.drawn,
                    "rotation": s.rotation,
                    "random": s.random,
                    "recheck": s.recheck,
                }
                for s in self.strata
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Draw:
        """Inverse of :meth:`to_dict` (derived fields such as ``size`` are ignored)."""
        try:
            return cls(
                quarter=Quarter.parse(data["quarter"]),
                seed=int(data["seed"]),
                algorithm=str(data["algorithm"]),
                population_digest=str(data["population_digest"]),
                ratio=float(data["ratio"]),
                rotation_quarters=int(data["rotation_quarters"]),
                population_size=int(data["population"]),
                members=tuple(
                    Member(
                        key=int(m["key"]),
                        reason=Reason(m["reason"]),
                        stratum=Stratum(str(m["city_code"]), str(m["platform"])),
                    )
                    for m in data["members"]
                ),
                strata=tuple(
                    StratumCount(
                        stratum=Stratum(str(s["city_code"]), str(s["platform"])),
                        population=int(s["population"]),
                        quota=int(s["quota"]),
                        rotation=int(s["rotation"]),
                        random=int(s["random"]),
                        recheck=int(s["recheck"]),
                    )
                    for s in data["strata"]
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SamplingError(f"not a sample record: {exc!r}") from exc


@dataclass(frozen=True, slots=True)
class SamplingSettings:
    """The ``[sampling]`` table of ``config.toml``."""

    ratio: float = DEFAULT_RATIO
    minimum_ratio: float = DEFAULT_MINIMUM_RATIO
    rotation_quarters: int = DEFAULT_ROTATION_QUARTERS

    def __post_init__(self) -> None:
        _check_ratio("[sampling] ratio", self.ratio)
        _check_ratio("[sampling] minimum_ratio", self.minimum_ratio)
        _check_rotation("[sampling] rotation_quarters", self.rotation_quarters)
        if self.ratio < self.minimum_ratio:  # every scheduled draw would be refused
            raise SamplingError(
                f"[sampling] ratio {self.ratio} is below [sampling] minimum_ratio "
                f"{self.minimum_ratio}: lower minimum_ratio too if that is intended"
            )

    @classmethod
    def from_config(cls, mapping: Mapping[str, Any]) -> SamplingSettings:
        """Settings from the loaded configuration (its ``sampling`` table is used when present,
        otherwise ``mapping`` is taken to be that table). Missing keys keep their defaults."""
        table = mapping.get("sampling", mapping)
        if not isinstance(table, Mapping):
            raise SamplingError("[sampling] must be a table")
        return cls(
            ratio=table.get("ratio", DEFAULT_RATIO),
            minimum_ratio=table.get("minimum_ratio", DEFAULT_MINIMUM_RATIO),
            rotation_quarters=table.get("rotation_quarters", DEFAULT_ROTATION_QUARTERS),
        )


def _exact(value: float) -> Fraction:
    """``value`` as the decimal it is written as (``0.07`` is 7/100, not the binary float)."""
    return Fraction(str(value))


def _check_ratio(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SamplingError(f"{name} must be a number, not {value!r}")
    if not math.isfinite(value) or not 0 < value <= 1:
        raise SamplingError(f"{name} must be greater than 0 and at most 1, not {value!r}")


def _check_rotation(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SamplingError(f"{name} must be a whole number of quarters ≥ 1, not {value!r}")


def quota(ratio: float, size: int) -> int:
    """``ceil(ratio × size)`` with ``ratio`` read as a decimal: the places a stratum must fill."""
    return math.ceil(_exact(ratio) * size)


def population_digest(population: Iterable[Candidate]) -> str:
    """SHA-256 (hex) of the canonical population: one JSON row per account, sorted by key.

    Independent of the input order; any change of an account's key, region code, platform,
    last inspection or last attempt, or of membership, changes it.
    """
    digest = hashlib.sha256(f"{DIGEST_FORMAT}\n".encode())
    for c in sorted(population, key=lambda c: c.key):
        last = None if c.last_inspected is None else str(c.last_inspected)
        tried = None if c.last_attempted is None else str(c.last_attempted)
        row = json.dumps([c.key, c.region_code, c.platform, last, tried], ensure_ascii=False)
        digest.update(row.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _attempt_order(candidate: Candidate) -> tuple[int, int]:
    """Never attempted first, then the longest ago."""
    last = candidate.last_attempted
    return (0, 0) if last is None else (last.year, last.q)


def _rank(seed: int, quarter: Quarter, key: int) -> bytes:
    return hashlib.sha256(f"{ALGORITHM}:{seed}:{quarter}:{key}".encode("ascii")).digest()


def draw(
    quarter: Quarter,
    seed: int,
    population: Sequence[Candidate],
    *,
    ratio: float,
    recheck: Collection[int] = (),
    allow_below_minimum: bool = False,
    minimum_ratio: float = DEFAULT_MINIMUM_RATIO,
    rotation_quarters: int = DEFAULT_ROTATION_QUARTERS,
) -> Draw:
    """Draw ``quarter``'s sample from ``population`` (the active accounts); see the module doc.

    ``recheck`` holds keys of accounts in ``population`` that must be re-checked. Raises
    :class:`SamplingError` for a ratio outside (0, 1], a ratio below ``minimum_ratio`` without
    ``allow_below_minimum``, duplicate keys, or re-check keys missing from the population.
    """
    if not isinstance(quarter, Quarter):
        raise SamplingError(f"quarter must be a Quarter, not {quarter!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SamplingError(f"seed must be an integer, not {seed!r}")
    _check_ratio("sampling ratio", ratio)
    _check_ratio("minimum sampling ratio", minimum_ratio)
    _check_rotation("rotation_quarters", rotation_quarters)
    if _exact(ratio) < _exact(minimum_ratio) and not allow_below_minimum:
        raise SamplingError(
            f"抽样比例 {ratio:g} 低于最低比例 {minimum_ratio:g} (季度抽查比例不低于25%);"
            "确需如此请加 --allow-below-minimum"
        )

    by_key: dict[int, Candidate] = {}
    duplicates: set[int] = set()
    for candidate in population:
        if candidate.key in by_key:
            duplicates.add(candidate.key)
        by_key[candidate.key] = candidate
    if duplicates:
        raise SamplingError(f"duplicate account keys in the population: {_listing(duplicates)}")
    recheck_keys = set(recheck)
    missing = recheck_keys - by_key.keys()
    if missing:
        raise SamplingError(
            f"re-check accounts not in the population (closed or not active?): {_listing(missing)}"
        )

    strata: dict[Stratum, list[Candidate]] = {}
    for candidate in by_key.values():
        strata.setdefault(candidate.stratum, []).append(candidate)

    # A candidate inspected at or before this quarter has gone rotation_quarters - 1 quarters
    # without inspection; skipping it now would leave a full window uncovered.
    overdue_at = quarter.shift(-rotation_quarters)
    chosen: dict[int, Reason] = {}
    for members in strata.values():
        places = quota(ratio, len(members))
        ranked = sorted(members, key=lambda c: _rank(seed, quarter, c.key))
        overdue = [
            c for c in ranked if c.last_inspected is not None and c.last_inspected <= overdue_at
        ]
        overdue.sort(key=lambda c: c.last_inspected or overdue_at)  # stable: rank breaks ties
        never = [c for c in ranked if c.last_inspected is None]
        never.sort(key=_attempt_order)  # stable: rank breaks ties
        rotation = overdue + never[: max(0, places - len(overdue))]
        for c in rotation:
            chosen[c.key] = Reason.ROTATION
        free = places - len(rotation)
        if free > 0:
            others = [c for c in ranked if c.key not in chosen]
            for c in others[:free]:
                chosen[c.key] = Reason.RANDOM
    for key in recheck_keys:
        chosen[key] = Reason.RECHECK

    sample = tuple(
        Member(key, reason, by_key[key].stratum) for key, reason in sorted(chosen.items())
    )
    reasons: dict[Stratum, list[Reason]] = {stratum: [] for stratum in strata}
    for member in sample:
        reasons[member.stratum].append(member.reason)
    counts = tuple(
        StratumCount(
            stratum=stratum,
            population=len(strata[stratum]),
            quota=quota(ratio, len(strata[stratum])),
            rotation=reasons[stratum].count(Reason.ROTATION),
            random=reasons[stratum].count(Reason.RANDOM),
            recheck=reasons[stratum].count(Reason.RECHECK),
        )
        for stratum in sorted(strata)
    )
    return Draw(
        quarter=quarter,
        seed=seed,
        algorithm=ALGORITHM,
        population_digest=population_digest(by_key.values()),
        ratio=float(ratio),
        rotation_quarters=rotation_quarters,
        population_size=len(by_key),
        members=sample,
        strata=counts,
    )


def _listing(keys: Iterable[int], limit: int = 10) -> str:
    ordered = sorted(keys)
    shown = ", ".join(str(k) for k in ordered[:limit])
    return shown + (f" (and {len(ordered) - limit} more)" if len(ordered) > limit else "")

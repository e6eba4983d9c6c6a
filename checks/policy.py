"""The inspection policy: every threshold and list of the rules, as read from ``[checks.*]``.

The defaults here equal the documented ``config.toml`` (a test holds them together). Each table is
named after the problem code it governs. Heavy derived objects (the compiled term matcher) are
built lazily once per ``Policy`` instance and never per post.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from checks.dictionary import WordingTerm, builtin_dictionary
from checks.matcher import Matcher

REVIEW_LEVELS = ("初审", "复审", "终审")


@dataclass(frozen=True)
class DormantPolicy:
    enabled: bool = True
    days: int = 14  # national: 国办秘函〔2019〕19号, no update in the 2 weeks before the time point


@dataclass(frozen=True)
class ZombiePolicy:
    enabled: bool = True
    days: int = 90  # domain page: over three months (Guizhou 2025 zombie list)


@dataclass(frozen=True)
class EmptyShellPolicy:
    enabled: bool = True
    window_days: int = 90
    min_original_posts: int = 3  # local practice: at least one original post a month
    repost_markers: tuple[str, ...] = ("转发微博", "//@", "【转载】", "转载自", "【转发】")


@dataclass(frozen=True)
class UnreviewedPostPolicy:
    enabled: bool = True
    window_days: int = 90
    required_levels: tuple[str, ...] = REVIEW_LEVELS  # local practice: three-level review


@dataclass(frozen=True)
class PrivacyLeakPolicy:
    enabled: bool = True
    id_card: bool = True
    mobile: bool = True
    bank_card: bool = True
    excerpt_chars: int = 20


@dataclass(frozen=True)
class WordingErrorPolicy:
    enabled: bool = True
    builtin_dictionary: bool = True
    extra_dictionary: str = ""
    #: Terms of ``extra_dictionary``, loaded by the caller (``checks.loader.load_policy``).
    extra_terms: tuple[WordingTerm, ...] = field(default=(), metadata={"config": False})
    excerpt_chars: int = 20


@dataclass(frozen=True)
class CommercialContentPolicy:
    enabled: bool = True
    terms: tuple[str, ...] = (
        "限时抢购", "限时特惠", "秒杀价", "全场包邮", "包邮到家", "下单立减", "点击购买",
        "立即购买", "扫码购买", "招商加盟", "代理加盟", "诚招代理", "微商代理", "天猫旗舰店",
        "加微信咨询", "私聊下单", "团购价",
    )  # fmt: skip
    excerpt_chars: int = 20


@dataclass(frozen=True)
class Toggle:
    enabled: bool = True


class ContentTerm(NamedTuple):
    """What a term of the content matcher means: a wording error, an allowed phrase, an ad."""

    kind: str  # "wording" | "allowed" | "commercial"
    correction: str | None = None


@dataclass(frozen=True)
class Policy:
    """All rule settings; build with ``Policy.from_config(settings["checks"])``."""

    dormant: DormantPolicy = DormantPolicy()
    zombie: ZombiePolicy = ZombiePolicy()
    empty_shell: EmptyShellPolicy = EmptyShellPolicy()
    unreviewed_post: UnreviewedPostPolicy = UnreviewedPostPolicy()
    privacy_leak: PrivacyLeakPolicy = PrivacyLeakPolicy()
    wording_error: WordingErrorPolicy = WordingErrorPolicy()
    commercial_content: CommercialContentPolicy = CommercialContentPolicy()
    no_interaction: Toggle = Toggle()
    filing_mismatch: Toggle = Toggle()
    unreachable: Toggle = Toggle()

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> Policy:
        """The policy of a parsed ``[checks]`` table; ``ValueError`` names a bad or unknown key."""
        if not isinstance(table, Mapping):
            raise ValueError("checks: must be a table")
        known = {f.name: f for f in dataclasses.fields(cls)}
        parts: dict[str, Any] = {}
        for name, section in table.items():
            if name not in known:
                raise ValueError(f"checks.{name}: unknown setting")
            if not isinstance(section, Mapping):
                raise ValueError(f"checks.{name}: must be a table")
            parts[name] = _section(type(known[name].default), section, f"checks.{name}")
        return cls(**parts)

    def with_wording_terms(self, terms: Iterable[WordingTerm]) -> Policy:
        """A copy of this policy with the office's extra wording terms."""
        wording = dataclasses.replace(self.wording_error, extra_terms=tuple(terms))
        return dataclasses.replace(self, wording_error=wording)

    @cached_property
    def content_matcher(self) -> Matcher[ContentTerm]:
        """One automaton for wording errors, allowed phrases and commercial terms."""
        entries: list[tuple[str, ContentTerm]] = []
        gate: list[str] = []
        wording = self.wording_error
        if wording.enabled:
            builtin = builtin_dictionary() if wording.builtin_dictionary else ()
            terms = builtin + wording.extra_terms
            for term in terms:  # allowed phrases first: they win a tie with a wrong term
                if term.correction is None:
                    entries.append((term.term, ContentTerm("allowed")))
            for term in terms:
                if term.correction is not None:
                    entries.append((term.term, ContentTerm("wording", term.correction)))
                    gate.append(typo_key(term.term, term.correction))
        if self.commercial_content.enabled:
            entries.extend((t, ContentTerm("commercial")) for t in self.commercial_content.terms)
            gate.extend(self.commercial_content.terms)
        return Matcher(entries, gate)


def typo_key(term: str, correction: str) -> str:
    """Two characters of ``term`` around its first difference from ``correction``.

    Unlike the term's opening characters (中华, 国务, 社会 ...), they are rare in correct text,
    which makes them a good gate for the matcher.
    """
    at = next((i for i, (a, b) in enumerate(zip(term, correction, strict=False)) if a != b), 0)
    if at >= len(term) - 1:
        at = max(len(term) - 2, 0)
    return term[at : at + 2]


def _section(kind: type[Any], section: Mapping[str, Any], prefix: str) -> Any:
    values: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(kind) if f.metadata.get("config", True)}
    for key, value in section.items():
        if key not in fields:
            raise ValueError(f"{prefix}.{key}: unknown setting")
        values[key] = _coerce(str(fields[key].type), value, f"{prefix}.{key}")
    return kind(**values)


#: days, counts and widths beyond this are typing mistakes (and overflow date arithmetic)
_MAX_INT = 36_500


def _coerce(annotation: str, value: Any, key: str) -> Any:
    if annotation == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{key}: expected true or false, got {value!r}")
        return value
    if annotation == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_INT:
            raise ValueError(f"{key}: expected a whole number from 0 to {_MAX_INT}, got {value!r}")
        return value
    if annotation == "str":
        if not isinstance(value, str):
            raise ValueError(f"{key}: expected a string, got {value!r}")
        return value
    if annotation == "tuple[str, ...]":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"{key}: expected a list of non-empty strings, got {value!r}")
        return tuple(value)
    raise AssertionError(f"{key}: unsupported setting type {annotation}")  # pragma: no cover


def _validate(policy: Policy) -> None:
    for name in ("dormant", "zombie"):
        if getattr(policy, name).days < 1:
            raise ValueError(f"checks.{name}.days: must be at least 1")
    if policy.zombie.days < policy.dormant.days:
        raise ValueError("checks.zombie.days: must not be shorter than checks.dormant.days")
    for name in ("empty_shell", "unreviewed_post"):
        if getattr(policy, name).window_days < 1:
            raise ValueError(f"checks.{name}.window_days: must be at least 1")
    levels = policy.unreviewed_post.required_levels
    unknown = [level for level in levels if level not in REVIEW_LEVELS]
    if unknown:
        raise ValueError(
            f"checks.unreviewed_post.required_levels: unknown level {unknown[0]!r}"
            f" (choose among {', '.join(REVIEW_LEVELS)})"
        )

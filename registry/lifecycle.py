"""The filing state machine: which filings an account accepts, and the state they lead to.

Pure functions over plain values. The registry stores every accepted filing; an account's
state at any date is ``replay`` of its filings effective on or before that date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from registry.fields import CHANGEABLE, KEYS, Status


class Kind(StrEnum):
    OPEN = "开设"
    CHANGE = "变更"
    CLOSE = "关停"
    DEREGISTER = "注销"
    REOPEN = "重新开设"


class LifecycleError(ValueError):
    """A filing the account's lifecycle does not allow; the message says why, in Chinese."""


class EffectiveDateError(LifecycleError):
    """A filing dated before the account's latest filing, or after the day it is filed."""


Changes = Mapping[str, tuple[str, str]]  # field -> (old, new)


@dataclass(frozen=True, slots=True)
class FilingFacts:
    """The part of a filing that decides state: what it is, when it takes effect, what it sets."""

    kind: Kind
    effective_on: date
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccountState:
    fields: Mapping[str, str]  # every key of registry.fields.KEYS, canonical text
    status_since: date
    last_effective: date

    @property
    def status(self) -> Status:
        return Status(self.fields["status"])


_STATUS_AFTER = {
    Kind.CLOSE: Status.CLOSED,
    Kind.DEREGISTER: Status.DEREGISTERED,
    Kind.REOPEN: Status.ACTIVE,
}


def apply(state: AccountState | None, filing: FilingFacts) -> tuple[AccountState, Changes]:
    """The state after ``filing`` and the fields it changed; raises LifecycleError."""
    if filing.kind is Kind.OPEN:
        if state is not None:
            raise LifecycleError("该账号已登记,不能重复开设")
        values = {key: filing.values.get(key, "") for key in KEYS}
        values["status"] = Status.ACTIVE.value
        changes = {key: ("", value) for key, value in values.items() if value}
        return make_state(values, filing.effective_on, filing.effective_on), changes
    if state is None:
        raise LifecycleError("该账号尚未开设备案")
    if state.status is Status.DEREGISTERED:
        raise LifecycleError(f"该账号已注销,不能再{filing.kind.value}")
    if filing.kind is Kind.CLOSE and state.status is Status.CLOSED:
        raise LifecycleError("该账号已关停,不能重复关停")
    if filing.kind is Kind.REOPEN and state.status is not Status.CLOSED:
        raise LifecycleError("只有已关停的账号才能重新开设")
    if filing.effective_on < state.last_effective:
        raise EffectiveDateError(
            f"生效日期 {filing.effective_on} 早于该账号最近一次备案的生效日期 {state.last_effective}"
        )
    if filing.kind is Kind.CHANGE:
        return _change(state, filing)
    target = _STATUS_AFTER[filing.kind]
    values = dict(state.fields)
    values["status"] = target.value
    changes = {"status": (state.fields["status"], target.value)}
    return make_state(values, filing.effective_on, filing.effective_on), changes


def _change(state: AccountState, filing: FilingFacts) -> tuple[AccountState, Changes]:
    refused = sorted(set(filing.values) - set(CHANGEABLE))
    if refused:
        hints = {
            "status": "状态请用关停/注销/重新开设备案",
            "platform": "平台不同即为另一账号: 请注销本账号, 再开设新账号",
        }
        hint = ";".join(hints[key] for key in refused if key in hints)
        raise LifecycleError(
            f"变更不能修改字段 {', '.join(refused)}" + (f"({hint})" if hint else "")
        )
    changes = {
        key: (state.fields[key], value)
        for key, value in filing.values.items()
        if state.fields[key] != value
    }
    if not changes:
        raise LifecycleError("变更内容与现有登记信息相同")
    opened = changes.get("opened_on", ("", ""))[1]
    if opened and opened > filing.effective_on.isoformat():  # ISO dates order as text
        raise LifecycleError(f"开设日期 {opened} 晚于本次变更的生效日期 {filing.effective_on}")
    values = dict(state.fields)
    values.update({key: new for key, (_, new) in changes.items()})
    return make_state(values, state.status_since, filing.effective_on), changes


def make_state(values: dict[str, str], status_since: date, last_effective: date) -> AccountState:
    return AccountState(MappingProxyType(values), status_since, last_effective)


def replay(filings: Iterable[FilingFacts], as_of: date | None = None) -> AccountState | None:
    """The state that accepted ``filings`` (in filing order) lead to, as of ``as_of``."""
    state: AccountState | None = None
    for filing in filings:
        if as_of is not None and filing.effective_on > as_of:
            break
        state, _ = apply(state, filing)
    return state


def facts_from_changes(kind: Kind, effective_on: date, changes: Changes) -> FilingFacts:
    """Rebuild the filing facts from a stored filing's recorded changes."""
    values = {} if kind in _STATUS_AFTER else {key: new for key, (_, new) in changes.items()}
    return FilingFacts(kind, effective_on, values)

"""Rectification statuses (整改状态) and the transitions a person may record."""

from __future__ import annotations

from enum import StrEnum


class LedgerStatus(StrEnum):
    OPEN = "待整改"
    IN_PROGRESS = "整改中"
    AWAITING_RECHECK = "待复核"  # the unit reports the problem fixed
    CLOSED = "已销号"  # set by a passed re-check only
    REOPENED = "复核未通过"  # set by a failed re-check only
    OVERDUE = "已逾期"  # set when the deadline passes


STATUS_KEYS: dict[LedgerStatus, str] = {
    LedgerStatus.OPEN: "open",
    LedgerStatus.IN_PROGRESS: "in_progress",
    LedgerStatus.AWAITING_RECHECK: "fixed",  # the interface's key
    LedgerStatus.CLOSED: "closed",
    LedgerStatus.REOPENED: "reopened",
    LedgerStatus.OVERDUE: "overdue",
}

# What `ledger update` may record. 已销号, 复核未通过 and 已逾期 are set by the monitor only
# (re-check results and passed deadlines); 已销号 is final.
MANUAL_TRANSITIONS: dict[LedgerStatus, frozenset[LedgerStatus]] = {
    LedgerStatus.OPEN: frozenset({LedgerStatus.IN_PROGRESS, LedgerStatus.AWAITING_RECHECK}),
    LedgerStatus.IN_PROGRESS: frozenset({LedgerStatus.AWAITING_RECHECK}),
    LedgerStatus.AWAITING_RECHECK: frozenset({LedgerStatus.IN_PROGRESS}),
    LedgerStatus.REOPENED: frozenset({LedgerStatus.IN_PROGRESS, LedgerStatus.AWAITING_RECHECK}),
    LedgerStatus.OVERDUE: frozenset({LedgerStatus.IN_PROGRESS, LedgerStatus.AWAITING_RECHECK}),
    LedgerStatus.CLOSED: frozenset(),
}

# Statuses that become 已逾期 when the deadline passes (a unit that reported back is waiting on
# the re-check, not late).
OVERDUE_FROM = frozenset({LedgerStatus.OPEN, LedgerStatus.IN_PROGRESS, LedgerStatus.REOPENED})


# Other names accepted for a status: the key this program used before it took the interface's.
_ALIASES = {"awaiting_recheck": LedgerStatus.AWAITING_RECHECK}


def parse_status(text: str) -> LedgerStatus | None:
    """A status by its Chinese name or its English key (``in_progress``, ``fixed``)."""
    text = text.strip()
    for status, key in STATUS_KEYS.items():
        if text in (status.value, key):
            return status
    return _ALIASES.get(text)

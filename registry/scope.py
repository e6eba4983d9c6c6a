"""Who may see what: a user's scope as a SQL condition on accounts, applied inside queries.

Offices (province, city, county) and read-only reviewers see the accounts whose region code
falls under theirs (510000 covers 51xxxx, 510100 covers 5101xx, 510104 only itself); an
operating unit sees the accounts it sponsors. Every query the web console and the API run
takes the scope's ``clause()``, so counts, searches, exports and the dashboard cannot leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, false, select, true

from registry.queries import region_prefix
from registry.schema import accounts, units


class Role(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    UNIT = "unit"
    REVIEWER = "reviewer"


ROLE_LABELS: Mapping[Role, str] = {
    Role.PROVINCE: "省级主管单位",
    Role.CITY: "市级主管单位",
    Role.COUNTY: "县级主管单位",
    Role.UNIT: "运维(主办)单位",
    Role.REVIEWER: "考核督查(只读)",
}
OFFICES = frozenset({Role.PROVINCE, Role.CITY, Role.COUNTY})


@dataclass(frozen=True, slots=True)
class Scope:
    """A role and what it covers: a region code (offices, reviewers) or a unit's name."""

    role: Role
    value: str

    @property
    def is_unit(self) -> bool:
        return self.role is Role.UNIT

    @property
    def can_write(self) -> bool:
        return self.role is not Role.REVIEWER

    @property
    def prefix(self) -> str:
        return "" if self.is_unit else region_prefix(self.value)

    def clause(self) -> ColumnElement[bool]:
        """The accounts this scope covers, as a condition on ``accounts``."""
        if self.is_unit:
            unit_id = select(units.c.id).where(units.c.name == self.value).scalar_subquery()
            return accounts.c.sponsor_id == unit_id
        return prefix_clause(self.prefix)

    def covers(self, fields: Mapping[str, str]) -> bool:
        """Whether an account with these inventory fields is inside the scope."""
        if self.is_unit:
            return fields.get("sponsor", "") == self.value
        return fields.get("region_code", "").startswith(self.prefix)

    def label(self) -> str:
        return f"{ROLE_LABELS[self.role]} · {self.value}"


def prefix_clause(prefix: str) -> ColumnElement[bool]:
    """Region codes starting with ``prefix``, as a range the index on region_code serves."""
    if not prefix:
        return true()
    if not prefix.isdigit():
        return false()
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(accounts.c.region_code >= prefix, accounts.c.region_code < upper)


def validate_scope(role: Role, value: str) -> str | None:
    """Why ``value`` cannot be the scope of ``role`` (None when it can)."""
    value = value.strip()
    if role is Role.UNIT:
        return None if value else "运维单位的范围应为主办单位全称"
    if len(value) != 6 or not value.isdigit():
        return "范围应为6位行政区划代码"
    expected = {
        Role.PROVINCE: value.endswith("0000"),
        Role.CITY: value.endswith("00") and not value.endswith("0000"),
        Role.COUNTY: not value.endswith("00"),
        Role.REVIEWER: True,
    }
    if not expected[role]:
        return f"{ROLE_LABELS[role]}的范围代码 {value} 级别不符(省 XX0000,市 XXXX00,县 XXXXXX)"
    return None

"""Reading account state back from the projection (``accounts`` joined with its units)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.fields import KEYS
from registry.lifecycle import AccountState, make_state
from registry.schema import accounts, units

sponsor_unit = units.alias("sponsor_unit")
supervisor_unit = units.alias("supervisor_unit")

# Every inventory column comes out of the database already in its canonical text form (the
# date as YYYY-MM-DD, 有/无, "" for no supervisor), so that listing 100,000 accounts does no
# per-value work in Python.
ACCOUNT_COLUMNS = (
    accounts.c.id,
    accounts.c.name,
    accounts.c.platform,
    accounts.c.account_id,
    accounts.c.home_url,
    accounts.c.feed_url,
    sponsor_unit.c.name.label("sponsor"),
    accounts.c.sponsor_code,
    func.coalesce(supervisor_unit.c.name, "").label("supervisor"),
    accounts.c.region_code,
    cast(accounts.c.opened_on, String).label("opened_on"),
    accounts.c.status,
    case((accounts.c.interaction, "有"), else_="无").label("interaction"),
    accounts.c.admin,
    accounts.c.phone,
    accounts.c.status_since,
    accounts.c.last_effective,
)


ID_AND_KEYS = ("id", *KEYS)  # the first columns of ACCOUNT_COLUMNS, in this order
assert tuple(c.key for c in ACCOUNT_COLUMNS[: len(ID_AND_KEYS)]) == ID_AND_KEYS


def as_records(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """``account_select`` rows as dicts of the id and the inventory columns (fast: no per-value
    work in Python, which matters for 100,000 accounts)."""
    return [dict(zip(ID_AND_KEYS, row, strict=False)) for row in rows]


def _with_units(query: Select[Any]) -> Select[Any]:
    return query.select_from(
        accounts.join(sponsor_unit, accounts.c.sponsor_id == sponsor_unit.c.id).outerjoin(
            supervisor_unit, accounts.c.supervisor_id == supervisor_unit.c.id
        )
    )


def account_select() -> Select[Any]:
    """Every account with its state in the inventory's canonical text form."""
    return _with_units(select(*ACCOUNT_COLUMNS))


def listing_select() -> Select[Any]:
    """Every account's id and inventory columns only (``as_records`` rows, no dates to parse)."""
    return _with_units(select(*ACCOUNT_COLUMNS[: len(ID_AND_KEYS)]))


def row_fields(row: Mapping[str, Any]) -> dict[str, str]:
    """The inventory columns of one ``account_select`` row."""
    return {key: row[key] for key in KEYS}


def row_state(row: Mapping[str, Any]) -> AccountState:
    return make_state(row_fields(row), row["status_since"], row["last_effective"])


def by_identity(
    identities: Iterable[tuple[str, str]], chunk: int = 400
) -> Iterator[ColumnElement[bool]]:
    """WHERE clauses matching (platform, account_id) pairs, one platform and chunk at a time,
    so that every lookup uses the unique index (SQLite would scan for a row-value IN list)."""
    per_platform: dict[str, list[str]] = defaultdict(list)
    for platform, account_id in identities:
        per_platform[platform].append(account_id)
    for platform, ids in per_platform.items():
        for start in range(0, len(ids), chunk):
            yield and_(
                accounts.c.platform == platform,
                accounts.c.account_id.in_(ids[start : start + chunk]),
            )


async def registered(
    conn: AsyncConnection, identities: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Any]:
    """The registered accounts among ``identities``, as projection rows by identity."""
    found: dict[tuple[str, str], Any] = {}
    for clause in by_identity(identities):
        for row in (await conn.execute(account_select().where(clause))).mappings():
            found[(row["platform"], row["account_id"])] = row
    return found


async def find_account(conn: AsyncConnection, ref: str) -> Mapping[str, Any] | None:
    """An account by internal id ("42") or by ``PLATFORM:ACCOUNT_ID``."""
    query = account_select()
    if ref.isdigit():
        if not ref.isascii() or len(ref) > 18:  # not an id any account has
            return None
        query = query.where(accounts.c.id == int(ref))
    elif ":" in ref:
        platform, account_id = ref.split(":", 1)
        query = query.where(accounts.c.platform == platform, accounts.c.account_id == account_id)
    else:
        return None
    return (await conn.execute(query)).mappings().first()

"""The one path by which filings reach the database.

Callers build an ``AccountPlan`` per account (applying each filing through the lifecycle rules,
which refuse bad ones before anything is written), then ``commit`` writes the plans inside a
write transaction: units first, then new accounts, updated projections and the filings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.bulk import first_free_id, insert_rows, sync_id_sequence
from registry.fields import Status
from registry.lifecycle import (
    AccountState,
    Changes,
    EffectiveDateError,
    FilingFacts,
    Kind,
    apply,
)
from registry.names import name_relates_to_sponsor
from registry.schema import accounts, filings, units
from registry.times import shanghai_today

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class FilingMeta:
    """Who filed, when, and on what authority."""

    filed_by: str
    filed_at: datetime
    doc_no: str = ""
    reason: str = ""


@dataclass(slots=True)
class PlannedFiling:
    facts: FilingFacts
    changes: Changes
    meta: FilingMeta
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AccountPlan:
    """An account's current state and the filings to add to it, already checked."""

    pk: int | None
    state: AccountState | None
    filings: list[PlannedFiling] = field(default_factory=list)
    _final: AccountState | None = None

    @property
    def final(self) -> AccountState | None:
        return self._final if self.filings else self.state

    def add(self, facts: FilingFacts, meta: FilingMeta) -> PlannedFiling:
        """Apply one filing (raises ``LifecycleError``) and keep it for ``commit``.

        A filing records what has taken effect: one dated after the day it is filed is refused
        (the account's current state would show it early, and no earlier filing could follow).
        """
        filed_on = shanghai_today(meta.filed_at)
        if facts.effective_on > filed_on:
            raise EffectiveDateError(f"生效日期 {facts.effective_on} 晚于备案当天 {filed_on}")
        new_state, changes = apply(self.final, facts)
        planned = PlannedFiling(facts, changes, meta)
        self.filings.append(planned)
        self._final = new_state
        return planned


def name_warning(state: AccountState) -> str | None:
    name, sponsor = state.fields["name"], state.fields["sponsor"]
    if name_relates_to_sponsor(name, sponsor):
        return None
    return f"账号名称“{name}”与主办单位“{sponsor}”名称无关联(账号名称应与主办单位职能相符)"


def duplicate_warning(state: AccountState, others: int) -> str | None:
    if others == 0 or state.status is not Status.ACTIVE:
        return None
    return (
        f"主办单位“{state.fields['sponsor']}”在{state.fields['platform']}已有{others}个正常账号"
        "(原则上一个单位在同一平台只开设一个账号)"
    )


async def active_counts(conn: AsyncConnection) -> dict[tuple[str, str], int]:
    """Active accounts per (sponsor name, platform)."""
    rows = await conn.execute(
        select(units.c.name, accounts.c.platform, func.count())
        .join(units, accounts.c.sponsor_id == units.c.id)
        .where(accounts.c.status == Status.ACTIVE.value)
        .group_by(units.c.name, accounts.c.platform)
    )
    return {(sponsor, platform): count for sponsor, platform, count in rows}


def add_warnings(plans: Iterable[AccountPlan], counts: dict[tuple[str, str], int]) -> None:
    """Record the naming and one-account-per-platform warnings on the filings that cause them.

    ``counts`` holds the active accounts per (sponsor, platform) before the plans; it is updated
    to include them, so that batches of one import can be passed in turn.
    """
    plans = list(plans)
    for plan in plans:
        if plan.filings and plan.state is not None and plan.state.status is Status.ACTIVE:
            counts[(plan.state.fields["sponsor"], plan.state.fields["platform"])] -= 1
    for plan in plans:
        final = plan.final
        if final is None or not plan.filings:
            continue
        touched = {key for planned in plan.filings for key in planned.changes}
        warnings = plan.filings[-1].warnings
        if final.status is Status.ACTIVE:
            key = (final.fields["sponsor"], final.fields["platform"])
            others = counts.get(key, 0)
            counts[key] = others + 1
            if touched & {"sponsor", "status"} and (found := duplicate_warning(final, others)):
                warnings.append(found)
        if touched & {"name", "sponsor"} and (found := name_warning(final)):
            warnings.append(found)


async def commit(conn: AsyncConnection, plans: Sequence[AccountPlan]) -> None:
    """Write every plan's filings and the resulting account projections."""
    plans = [p for p in plans if p.filings]
    if not plans:
        return
    unit_ids = await _ensure_units(conn, plans)
    # Registered accounts first, renamed ones by way of a placeholder: within one import an
    # account id may pass from one account to another, or be freed for a new account.
    registered_plans = [p for p in plans if p.state is not None]
    for plan in registered_plans:
        assert plan.state is not None and plan.final is not None
        if plan.final.fields["account_id"] != plan.state.fields["account_id"]:
            placeholder = f"~renaming~{plan.pk}"
            await conn.execute(
                update(accounts).where(accounts.c.id == plan.pk).values(account_id=placeholder)
            )
    for plan in registered_plans:
        await conn.execute(
            update(accounts).where(accounts.c.id == plan.pk).values(_projection(plan, unit_ids))
        )
    new = [p for p in plans if p.pk is None]
    if new:
        first = await first_free_id(conn, accounts)
        for offset, plan in enumerate(new):
            plan.pk = first + offset
        await insert_rows(conn, accounts, [{"id": p.pk, **_projection(p, unit_ids)} for p in new])
        await sync_id_sequence(conn, accounts)
    next_seq = await _next_seq(conn, [p.pk for p in plans if p.state is not None])
    rows: list[dict[str, Any]] = []
    for plan in plans:
        assert plan.pk is not None
        seq = next_seq.get(plan.pk, 1)
        for offset, planned in enumerate(plan.filings):
            rows.append(_filing_row(plan.pk, seq + offset, planned))
    await insert_rows(conn, filings, rows)


def _filing_row(pk: int, seq: int, planned: PlannedFiling) -> dict[str, Any]:
    return {
        "account_pk": pk,
        "seq": seq,
        "kind": planned.facts.kind.value,
        "effective_on": planned.facts.effective_on,
        "filed_at": planned.meta.filed_at,
        "filed_by": planned.meta.filed_by,
        "doc_no": planned.meta.doc_no,
        "reason": planned.meta.reason,
        "changes": dict(planned.changes),  # (old, new) pairs are stored as JSON arrays
        "warnings": planned.warnings,
    }


def _projection(plan: AccountPlan, unit_ids: dict[str, int]) -> dict[str, Any]:
    final = plan.final
    assert final is not None
    values = final.fields
    return {
        "platform": values["platform"],
        "account_id": values["account_id"],
        "name": values["name"],
        "home_url": values["home_url"],
        "feed_url": values["feed_url"],
        "sponsor_id": unit_ids[values["sponsor"]],
        "sponsor_code": values["sponsor_code"],
        "supervisor_id": unit_ids[values["supervisor"]] if values["supervisor"] else None,
        "region_code": values["region_code"],
        "opened_on": date.fromisoformat(values["opened_on"]),
        "status": values["status"],
        "status_since": final.status_since,
        "last_effective": final.last_effective,
        "interaction": values["interaction"] == "有",
        "admin": values["admin"],
        "phone": values["phone"],
    }


async def _ensure_units(conn: AsyncConnection, plans: Sequence[AccountPlan]) -> dict[str, int]:
    """Ids of every unit the plans name, creating the missing ones."""
    wanted: dict[str, tuple[str, str]] = {}  # name -> (region_code, credit_code)
    for plan in plans:
        final = plan.final
        assert final is not None
        values = final.fields
        wanted.setdefault(values["sponsor"], (values["region_code"], values["sponsor_code"]))
        if values["supervisor"]:
            wanted.setdefault(values["supervisor"], (values["region_code"], ""))
    known: dict[str, int] = {}
    names = list(wanted)
    for start in range(0, len(names), _CHUNK):
        chunk = names[start : start + _CHUNK]
        found = await conn.execute(select(units.c.name, units.c.id).where(units.c.name.in_(chunk)))
        known.update({name: pk for name, pk in found})
    missing = [n for n in names if n not in known]
    if missing:
        first = await first_free_id(conn, units)
        ids = {name: first + i for i, name in enumerate(missing)}
        rows = [
            {
                "id": ids[n],
                "name": n,
                "region_code": wanted[n][0],
                "credit_code": wanted[n][1] or None,
            }
            for n in missing
        ]
        await insert_rows(conn, units, rows)
        await sync_id_sequence(conn, units)
        known.update(ids)
    return known


async def _next_seq(conn: AsyncConnection, pks: list[int | None]) -> dict[int, int]:
    found: dict[int, int] = {}
    ids = [pk for pk in pks if pk is not None]
    for start in range(0, len(ids), _CHUNK):
        rows = await conn.execute(
            select(filings.c.account_pk, func.max(filings.c.seq))
            .where(filings.c.account_pk.in_(ids[start : start + _CHUNK]))
            .group_by(filings.c.account_pk)
        )
        found.update({pk: top + 1 for pk, top in rows})
    return found


def opening(values: dict[str, str], effective_on: date | None = None) -> FilingFacts:
    """The opening filing for a new account (effective on its opening date by default)."""
    return FilingFacts(Kind.OPEN, effective_on or date.fromisoformat(values["opened_on"]), values)

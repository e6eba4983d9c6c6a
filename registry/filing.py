"""Single filings (开设, 变更, 关停, 注销, 重新开设), as ``govmedia file ...`` makes them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.accounts_view import find_account, row_state
from registry.db import Database
from registry.errors import Refused
from registry.fields import FIELD_BY_KEY, FieldError, normalise
from registry.lifecycle import FilingFacts, Kind, LifecycleError
from registry.schema import accounts
from registry.writer import (
    AccountPlan,
    FilingMeta,
    PlannedFiling,
    active_counts,
    add_warnings,
    commit,
)


class FilingRefused(Refused):
    """The filing was refused; nothing was written. The message says why, in Chinese."""


@dataclass(frozen=True, slots=True)
class Receipt:
    account_pk: int
    kind: Kind
    changes: Mapping[str, tuple[str, str]]
    warnings: list[str]


def clean_values(raw: Mapping[str, Any], *, opening: bool) -> dict[str, str]:
    """Validated canonical values; raises FilingRefused naming the field."""
    values: dict[str, str] = {}
    for key, value in raw.items():
        if key not in FIELD_BY_KEY:
            raise FilingRefused(f"未知字段 '{key}'")
        try:
            values[key] = normalise(key, value)
        except FieldError as exc:
            raise FilingRefused(f"{key} ({FIELD_BY_KEY[key].header}): {exc}") from exc
    if opening:
        for key, field in FIELD_BY_KEY.items():
            if key not in values:
                try:
                    values[key] = normalise(key, None)
                except FieldError as exc:
                    raise FilingRefused(f"{key} ({field.header}): {exc}") from exc
    return values


async def _claimed_by(conn: AsyncConnection, platform: str, account_id: str) -> int | None:
    found = await conn.execute(
        select(accounts.c.id).where(
            accounts.c.platform == platform, accounts.c.account_id == account_id
        )
    )
    return found.scalar()


async def file_open(
    db: Database, raw: Mapping[str, Any], meta: FilingMeta, effective_on: date | None = None
) -> Receipt:
    """Register a new account with its opening filing."""
    values = clean_values(raw, opening=True)
    async with db.write() as conn:
        owner = await _claimed_by(conn, values["platform"], values["account_id"])
        if owner is not None:
            raise FilingRefused(
                f"{values['platform']} 账号ID {values['account_id']} 已由账号 #{owner} 登记"
            )
        facts = FilingFacts(
            Kind.OPEN, effective_on or date.fromisoformat(values["opened_on"]), values
        )
        plan = AccountPlan(None, None)
        planned = _add(plan, facts, meta)
        add_warnings([plan], await active_counts(conn))
        await commit(conn, [plan])
    assert plan.pk is not None
    return Receipt(plan.pk, Kind.OPEN, planned.changes, planned.warnings)


async def file_on_account(
    db: Database,
    ref: str,
    kind: Kind,
    meta: FilingMeta,
    effective_on: date,
    raw: Mapping[str, Any] | None = None,
) -> Receipt:
    """A change, closure, deregistration or re-opening of the account ``ref``."""
    values = clean_values(raw or {}, opening=False)
    async with db.write() as conn:
        row = await find_account(conn, ref)
        if row is None:
            raise FilingRefused(f"找不到账号 {ref}(用内部编号或 平台:账号ID)")
        state = row_state(row)
        new_id = values.get("account_id")
        if new_id and new_id != state.fields["account_id"]:
            owner = await _claimed_by(conn, state.fields["platform"], new_id)
            if owner is not None:
                raise FilingRefused(
                    f"{state.fields['platform']} 账号ID {new_id} 已由账号 #{owner} 登记"
                )
        plan = AccountPlan(row["id"], state)
        planned = _add(plan, FilingFacts(kind, effective_on, values), meta)
        add_warnings([plan], await active_counts(conn))
        await commit(conn, [plan])
    return Receipt(row["id"], kind, planned.changes, planned.warnings)


def _add(plan: AccountPlan, facts: FilingFacts, meta: FilingMeta) -> PlannedFiling:
    try:
        return plan.add(facts, meta)
    except LifecycleError as exc:
        raise FilingRefused(str(exc)) from exc

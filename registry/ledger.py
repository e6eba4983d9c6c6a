"""The rectification ledger (整改台账): entries per (quarter, account, problem), their workflow,
and the hash chain that makes every change accountable. Nothing is ever deleted.

The monitor calls ``record_findings``, ``apply_recheck``, ``mark_overdue`` and
``overdue_account_pks`` inside its own write transactions; ``update_status`` is
``govmedia ledger update``; ``verify`` is ``govmedia ledger verify``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from checks.codes import still_failing
from checks.model import Evidence, Finding
from checks.privacy import mask_personal_data
from registry.bulk import first_free_id, insert_rows, sync_id_sequence
from registry.db import Database
from registry.errors import Refused
from registry.fields import Status
from registry.ledger_chain import append, created_content, iso_time, status_content
from registry.ledger_status import (
    MANUAL_TRANSITIONS,
    OVERDUE_FROM,
    STATUS_KEYS,
    LedgerStatus,
    parse_status,
)
from registry.ledger_verify import Problem, VerifyResult, verify_chain
from registry.schema import accounts, ledger_entries, ledger_events

__all__ = [
    "LedgerRefused",
    "LedgerStatus",
    "Transition",
    "VerifyResult",
    "apply_recheck",
    "awaiting_recheck_pks",
    "evidence_json",
    "mark_overdue",
    "overdue_account_pks",
    "record_findings",
    "update_status",
    "verify",
]


class LedgerRefused(Refused):
    """A ledger update was refused; nothing was written. The message says why, in Chinese."""


@dataclass(frozen=True, slots=True)
class Transition:
    entry_id: int
    old: LedgerStatus
    new: LedgerStatus
    digest: str


def evidence_json(evidence: Evidence) -> dict[str, Any]:
    """One piece of evidence as the ledger stores it, personal data masked (again)."""
    return {
        "url": evidence.url,
        "title": _mask(evidence.title),
        "published_at": iso_time(evidence.published_at),
        "excerpt": _mask(evidence.excerpt),
    }


def _mask(value: str | None) -> str | None:
    return None if value is None else mask_personal_data(value)


def _merge(findings: Sequence[Finding]) -> dict[str, dict[str, Any]]:
    """One entry's values per problem code, evidence aggregated in order without repeats."""
    merged: dict[str, dict[str, Any]] = {}
    for finding in findings:
        values = merged.setdefault(
            finding.code,
            {
                "severity": str(finding.severity),
                "descriptions": [],
                "evidence": [],
                "last_post_at": None,
            },
        )
        description = mask_personal_data(finding.description)
        if description not in values["descriptions"]:
            values["descriptions"].append(description)
        for item in finding.evidence:
            stored = evidence_json(item)
            if stored not in values["evidence"]:
                values["evidence"].append(stored)
        if finding.last_post_at is not None and (
            values["last_post_at"] is None or finding.last_post_at > values["last_post_at"]
        ):
            values["last_post_at"] = finding.last_post_at
    return merged


@dataclass(frozen=True, slots=True)
class AccountFindings:
    """One account's findings of one inspection, with what its ledger entries record."""

    quarter: str
    account_pk: int
    platform: str
    account_id: str
    account_name: str
    region_code: str
    sponsor: str
    findings: Sequence[Finding]
    detected_at: datetime
    deadline: date
    provisional: bool
    run_id: int | None


async def record_findings(
    conn: AsyncConnection,
    *,
    quarter: str,
    account_pk: int,
    sponsor: str,
    findings: Sequence[Finding],
    detected_at: datetime,
    deadline: date,
    provisional: bool,
    run_id: int | None,
    actor: str = "monitor",
) -> int:
    """Create the missing entries for ``findings`` (one per problem code); existing entries of
    the quarter are left as they are. Returns the number of entries created."""
    account = (
        await conn.execute(
            select(
                accounts.c.platform,
                accounts.c.account_id,
                accounts.c.name,
                accounts.c.region_code,
            ).where(accounts.c.id == account_pk)
        )
    ).one()
    item = AccountFindings(
        quarter,
        account_pk,
        account.platform,
        account.account_id,
        account.name,
        account.region_code,
        sponsor,
        findings,
        detected_at,
        deadline,
        provisional,
        run_id,
    )
    return await record_findings_batch(conn, [item], actor=actor)


async def record_findings_batch(
    conn: AsyncConnection, items: Sequence[AccountFindings], *, actor: str = "monitor"
) -> int:
    """``record_findings`` for many accounts in a few statements (a run's writer batch)."""
    merged = {(item.quarter, item.account_pk): (item, _merge(item.findings)) for item in items}
    merged = {key: value for key, value in merged.items() if value[1]}
    if not merged:
        return 0
    for quarter in {quarter for quarter, _ in merged}:
        pks = [pk for q, pk in merged if q == quarter]
        existing = await conn.execute(
            select(ledger_entries.c.account_pk, ledger_entries.c.problem_code).where(
                ledger_entries.c.quarter == quarter, ledger_entries.c.account_pk.in_(pks)
            )
        )
        for pk, code in existing:
            merged[(quarter, pk)][1].pop(code, None)
    next_id = await first_free_id(conn, ledger_entries)
    rows: list[dict[str, Any]] = []
    platforms: dict[int, str] = {}
    for item, by_code in merged.values():
        platforms[item.account_pk] = item.platform
        for code, values in by_code.items():
            rows.append(
                {
                    "id": next_id,
                    "quarter": item.quarter,
                    "account_pk": item.account_pk,
                    "account_id": item.account_id,
                    "account_name": item.account_name,
                    "region_code": item.region_code,
                    "problem_code": code,
                    "severity": values["severity"],
                    "description": ";".join(values["descriptions"]),
                    "evidence": values["evidence"],
                    "last_post_at": values["last_post_at"],
                    "detected_at": item.detected_at,
                    "deadline": item.deadline,
                    "deadline_provisional": item.provisional,
                    "sponsor": item.sponsor,
                    "run_id": item.run_id,
                    "status": LedgerStatus.OPEN.value,
                }
            )
            next_id += 1
    if rows:
        await insert_entries(conn, rows, platforms=platforms, actor=actor)
    return len(rows)


async def insert_entries(
    conn: AsyncConnection,
    rows: Sequence[dict[str, Any]],
    *,
    platforms: Mapping[int, str],
    actor: str,
    chunk: int = 2000,
) -> None:
    """Insert entry rows (ids assigned by the caller; the account as detected in each) and
    chain their 'created' records. ``platforms`` maps account pk -> platform. Also used by the
    benchmark to build a large ledger with a real chain.
    """
    await insert_rows(conn, ledger_entries, rows, chunk=chunk)
    await sync_id_sequence(conn, ledger_entries)
    contents = [
        created_content(row["id"], row, platforms[row["account_pk"]], actor, row["detected_at"])
        for row in rows
    ]
    await append(conn, contents)


async def _transition(
    conn: AsyncConnection,
    changes: Sequence[tuple[int, str, LedgerStatus]],
    *,
    actor: str,
    at: datetime,
    note: str,
) -> list[Transition]:
    """Set each (entry id, old status, new status) and chain a 'status' record for it."""
    contents = []
    for entry_id, old, new in changes:
        await conn.execute(
            update(ledger_entries).where(ledger_entries.c.id == entry_id).values(status=new.value)
        )
        contents.append(status_content(entry_id, old, new.value, actor, at, note))
    appended = await append(conn, contents)
    return [
        Transition(entry_id, LedgerStatus(old), new, done.digest)
        for (entry_id, old, new), done in zip(changes, appended, strict=True)
    ]


async def apply_recheck(
    conn: AsyncConnection,
    *,
    account_pk: int,
    found_codes: Collection[str],
    at: datetime,
    run_id: int | None,
    actor: str = "monitor",
) -> list[tuple[int, str]]:
    """Re-check results: the account's 待复核 entries (any quarter) become 已销号 when their
    problem is gone, else 复核未通过 (a zombie finding keeps dormant and empty-shell entries
    failing: ``checks.codes.COVERS``). Other entries are left alone."""
    return await apply_rechecks(conn, {account_pk: found_codes}, at=at, run_id=run_id, actor=actor)


async def apply_rechecks(
    conn: AsyncConnection,
    found: Mapping[int, Collection[str]],
    *,
    at: datetime,
    run_id: int | None,
    actor: str = "monitor",
    judged: Mapping[int, Collection[str]] | None = None,
) -> list[tuple[int, str]]:
    """``apply_recheck`` for many accounts: ``found`` maps account pk -> problem codes found.

    ``judged`` maps account pk -> the codes the inspection decided: an entry whose code it did
    not decide (the rule is off, or the posts could not be read) stays 待复核. Default: all."""
    if not found:
        return []
    failing = {pk: still_failing(codes) for pk, codes in found.items()}
    result = await conn.execute(
        select(ledger_entries.c.id, ledger_entries.c.account_pk, ledger_entries.c.problem_code)
        .where(
            ledger_entries.c.account_pk.in_(list(found)),
            ledger_entries.c.status == LedgerStatus.AWAITING_RECHECK.value,
        )
        .order_by(ledger_entries.c.id)
    )
    changes = [
        (
            entry_id,
            LedgerStatus.AWAITING_RECHECK.value,
            LedgerStatus.REOPENED if code in failing[pk] else LedgerStatus.CLOSED,
        )
        for entry_id, pk, code in result
        if judged is None or code in judged[pk] or code in failing[pk]
    ]
    note = "复核" + (f"(检查批次 #{run_id})" if run_id is not None else "")
    done = await _transition(conn, changes, actor=actor, at=at, note=note)
    return [(t.entry_id, t.new.value) for t in done]


async def mark_overdue(
    conn: AsyncConnection, *, today: date, at: datetime, actor: str = "monitor"
) -> int:
    """Entries past their deadline, not rectified and never overdue before, become 已逾期."""
    was_overdue = exists().where(
        and_(
            ledger_events.c.entry_id == ledger_entries.c.id,
            ledger_events.c.status == LedgerStatus.OVERDUE.value,
        )
    )
    result = await conn.execute(
        select(ledger_entries.c.id, ledger_entries.c.status, ledger_entries.c.deadline)
        .where(
            ledger_entries.c.deadline < today,
            ledger_entries.c.status.in_([s.value for s in OVERDUE_FROM]),
            ~was_overdue,
        )
        .order_by(ledger_entries.c.id)
    )
    changes = [(entry_id, old, LedgerStatus.OVERDUE) for entry_id, old, _ in result]
    await _transition(conn, changes, actor=actor, at=at, note=f"超过整改时限({today} 检查)")
    return len(changes)


async def overdue_account_pks(conn: AsyncConnection, *, today: date) -> set[int]:
    """Accounts with an entry not yet closed whose deadline has passed (to be re-checked).

    A closed or deregistered account is only checked for signs of life, so only its
    ``filing_mismatch`` entries bring it back; its other problems ended with the account.
    """
    result = await conn.execute(
        select(ledger_entries.c.account_pk)
        .join(accounts, accounts.c.id == ledger_entries.c.account_pk)
        .where(
            ledger_entries.c.deadline < today,
            ledger_entries.c.status != LedgerStatus.CLOSED.value,
            or_(
                accounts.c.status == Status.ACTIVE.value,
                ledger_entries.c.problem_code == "filing_mismatch",
            ),
        )
        .distinct()
    )
    return {pk for (pk,) in result}


async def awaiting_recheck_pks(conn: AsyncConnection) -> set[int]:
    """Accounts with an entry a unit reported fixed (待复核), waiting for the monitor's re-check."""
    result = await conn.execute(
        select(ledger_entries.c.account_pk)
        .where(ledger_entries.c.status == LedgerStatus.AWAITING_RECHECK.value)
        .distinct()
    )
    return {pk for (pk,) in result}


async def update_status(
    db: Database, entry_id: int, status: str, *, actor: str, note: str, at: datetime
) -> Transition:
    """Record rectification progress (``ledger update``); refused transitions write nothing."""
    new = parse_status(status)
    if new is None:
        names = "、".join(s.value for s in LedgerStatus)
        raise LedgerRefused(f"未知的整改状态“{status}”,应为: {names}")
    if not actor.strip():
        raise LedgerRefused("必须注明操作人 (--by)")
    async with db.write() as conn:
        current = (
            await conn.execute(
                select(ledger_entries.c.status).where(ledger_entries.c.id == entry_id)
            )
        ).scalar_one_or_none()
        if current is None:
            raise LedgerRefused(f"台账条目 #{entry_id} 不存在")
        old = LedgerStatus(current)
        if new not in MANUAL_TRANSITIONS[old]:
            raise LedgerRefused(_refusal(entry_id, old, new))
        (done,) = await _transition(
            conn, [(entry_id, old.value, new)], actor=actor, at=at, note=note
        )
        return done


def _refusal(entry_id: int, old: LedgerStatus, new: LedgerStatus) -> str:
    if old is new:
        return f"台账条目 #{entry_id} 已是“{old.value}”状态"
    if old is LedgerStatus.CLOSED:
        return f"台账条目 #{entry_id} 已销号,不能再变更状态"
    if new in (LedgerStatus.CLOSED, LedgerStatus.REOPENED):
        return (
            f"台账条目 #{entry_id}: “{new.value}”只能由复核结果确定"
            "(整改完成后请改为“待复核”,由下次监测复核)"
        )
    if new is LedgerStatus.OVERDUE:
        return f"台账条目 #{entry_id}: “已逾期”由整改时限自动确定,不能手工设置"
    allowed = "、".join(
        s.value for s in sorted(MANUAL_TRANSITIONS[old], key=list(STATUS_KEYS).index)
    )
    return f"台账条目 #{entry_id} 不能从“{old.value}”改为“{new.value}”(可改为: {allowed})"


async def verify(db: Database, *, expect_head: str | None = None) -> VerifyResult:
    """Recompute the chain; the result names the first altered or missing record.

    ``expect_head``: a chain head read earlier (an export carries one). The chain must still
    hold that record: removing the newest records leaves a chain that verifies, but not this.
    """
    async with db.read() as conn:
        result = await verify_chain(conn)
        if expect_head is not None:
            query = select(ledger_events.c.id).where(ledger_events.c.digest == expect_head.lower())
            if (await conn.execute(query)).first() is None:
                result.problems.append(
                    Problem(
                        f"链头摘要 {expect_head} 不在记录链中: 该链头之后或之前的记录已被删除或改动"
                    )
                )
        return result

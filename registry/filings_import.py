"""Batch filings (``govmedia filings import``): one row per filing, applied in file order.

Columns: 备案类型 (开设/变更/关停/注销/重新开设), 平台, 账号ID, 生效日期 (default today), 文号, 原因,
报备人, 新账号ID (a 变更 of the account ID), and any inventory column: for 开设 the inventory's
required ones, for 变更 the fields to set (empty cells are left as they are).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from registry.accounts_view import registered, row_state
from registry.db import Database
from registry.fields import (
    FIELD_BY_KEY,
    FIELDS,
    HEADER_TO_KEY,
    FieldError,
    Status,
    normalise,
    parse_date,
)
from registry.importing import ImportRefused, RowError, open_import
from registry.lifecycle import EffectiveDateError, FilingFacts, Kind, LifecycleError
from registry.writer import AccountPlan, FilingMeta, active_counts, add_warnings, commit

FILING_HEADERS = {
    "备案类型": "kind",
    "生效日期": "effective_on",
    "文号": "doc_no",
    "原因": "reason",
    "报备人": "filed_by",
    "新账号ID": "new_account_id",
    **{k: k for k in ("kind", "effective_on", "doc_no", "reason", "filed_by", "new_account_id")},
}
KNOWN = {**HEADER_TO_KEY, **FILING_HEADERS}


@dataclass(slots=True)
class FilingsSummary:
    rows: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False


@dataclass(slots=True)
class _Row:
    number: int
    kind: Kind
    identity: tuple[str, str]
    effective_on: date | None
    values: dict[str, str]
    meta: FilingMeta


def _parse_row(
    path: Path,
    number: int,
    record: dict[str, Any],
    header_of: dict[str, str],
    filed_by: str,
    now: datetime,
    errors: list[RowError],
    failed: dict[tuple[str, str], int],
) -> _Row | None:
    """The row's filing, or None (its errors added, its account noted in ``failed``)."""

    def cell(key: str) -> Any:
        value = record.get(header_of[key]) if key in header_of else None
        return None if value is None or str(value).strip() == "" else value

    def error(key: str, message: str) -> None:
        errors.append(RowError(path, number, header_of.get(key, key), message))

    start = len(errors)
    try:
        kind = Kind(str(cell("kind") or "").strip())
    except ValueError:
        error("kind", "备案类型应为 开设、变更、关停、注销 或 重新开设")
        return None
    effective_on = None
    if cell("effective_on") is not None:
        try:
            effective_on = parse_date(cell("effective_on"))
        except FieldError as exc:
            error("effective_on", str(exc))
    values: dict[str, str] = {}
    wanted = (
        [f.key for f in FIELDS]
        if kind is Kind.OPEN
        else [k for k in header_of if k in FIELD_BY_KEY]
    )
    for key in wanted:
        if kind is not Kind.OPEN and cell(key) is None:
            continue
        if key == "opened_on" and cell(key) is None and effective_on is not None:
            values[key] = effective_on.isoformat()  # an opening takes effect on its opening date
            continue
        try:
            values[key] = normalise(key, cell(key))
        except FieldError as exc:
            error(key, str(exc))
    for key in ("platform", "account_id"):
        if key not in values:
            error(key, "必填项为空")
    status = values.get("status", Status.ACTIVE.value)
    if status != Status.ACTIVE.value or (kind is not Kind.OPEN and cell("status") is not None):
        error("status", "状态由备案类型改变(关停、注销、重新开设), 开设的账号状态为正常")
    if cell("new_account_id") is not None:
        values["new_account_id"] = str(cell("new_account_id")).strip()
    if len(errors) > start:
        if "platform" in values and "account_id" in values:
            failed.setdefault((values["platform"], values["account_id"]), number)
        return None
    identity = (values.pop("platform"), values.pop("account_id"))
    if kind is Kind.OPEN:
        values.update(platform=identity[0], account_id=identity[1])
    elif "new_account_id" in values:
        values["account_id"] = values.pop("new_account_id")
    meta = FilingMeta(
        filed_by=str(cell("filed_by") or filed_by),
        filed_at=now,
        doc_no=str(cell("doc_no") or ""),
        reason=str(cell("reason") or ""),
    )
    return _Row(number, kind, identity, effective_on, values, meta)


async def import_filings(
    db: Database, path: Path, filed_by: str, now: datetime, today: date, *, dry_run: bool = False
) -> FilingsSummary:
    """Apply every filing of ``path`` in order, or none; raises ImportRefused."""
    summary = FilingsSummary(dry_run=dry_run)
    records, header_of = open_import(
        path, KNOWN, {"kind", "platform", "account_id"}, summary.warnings
    )
    errors: list[RowError] = []
    failed: dict[tuple[str, str], int] = {}  # account -> its first row in error
    rows = [
        r
        for n, rec in records
        if (r := _parse_row(path, n, rec, header_of, filed_by, now, errors, failed))
    ]
    summary.rows = len(rows) + len({e.row for e in errors})
    async with db.read() if dry_run else db.write() as conn:
        identities = {r.identity for r in rows} | {
            (r.identity[0], r.values["account_id"])
            for r in rows
            if r.kind is Kind.CHANGE and "account_id" in r.values
        }
        existing = await registered(conn, list(identities))
        plans: dict[tuple[str, str], AccountPlan] = {
            identity: AccountPlan(row["id"], row_state(row)) for identity, row in existing.items()
        }
        numbers: dict[int, int] = {}
        for row in rows:
            earlier = failed.get(row.identity)
            if earlier is not None and earlier < row.number:
                message = f"同一账号的第{earlier}行有误, 本行未处理"
                errors.append(RowError(path, row.number, header_of["account_id"], message))
                continue
            plan = plans.get(row.identity)
            if plan is None:
                plan = plans[row.identity] = AccountPlan(None, None)
            if plan.final is None and row.kind is not Kind.OPEN:
                message = f"{row.identity[0]} 账号ID {row.identity[1]} 尚未开设备案"
                errors.append(RowError(path, row.number, header_of["account_id"], message))
                failed.setdefault(row.identity, row.number)
                continue
            facts = FilingFacts(
                row.kind,
                row.effective_on
                or (
                    date.fromisoformat(row.values["opened_on"]) if row.kind is Kind.OPEN else today
                ),
                row.values,
            )
            new_id = row.values.get("account_id") if row.kind is Kind.CHANGE else None
            if new_id and new_id != row.identity[1] and (row.identity[0], new_id) in plans:
                errors.append(
                    RowError(
                        path,
                        row.number,
                        header_of.get("new_account_id", "新账号ID"),
                        f"账号ID {new_id} 已被其他账号登记",
                    )
                )
                continue
            try:
                plan.add(facts, row.meta)
            except LifecycleError as exc:
                if isinstance(exc, EffectiveDateError):
                    dated_by = "effective_on" if row.effective_on else "opened_on"
                    header = header_of.get(dated_by, "生效日期")
                else:
                    header = header_of["kind"]
                errors.append(RowError(path, row.number, header, str(exc)))
                failed.setdefault(row.identity, row.number)
                continue
            if new_id and new_id != row.identity[1]:
                plans[(row.identity[0], new_id)] = plans.pop(row.identity)
            numbers[id(plan.filings[-1])] = row.number
            summary.by_kind[row.kind.value] = summary.by_kind.get(row.kind.value, 0) + 1
        if errors:
            raise ImportRefused(sorted(errors, key=lambda e: e.row))
        touched = [p for p in plans.values() if p.filings]
        add_warnings(touched, await active_counts(conn))
        for plan in touched:
            for planned in plan.filings:
                summary.warnings.extend(
                    f"{path}:{numbers[id(planned)]}: {w}" for w in planned.warnings
                )
        if not dry_run:
            await commit(conn, touched)
    return summary

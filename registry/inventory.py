"""Importing and exporting the inventory (账号清单).

An import is all-or-nothing: every row is validated and checked against the lifecycle before
anything is written. A row for an account already registered becomes a 变更 filing for the
fields that differ among the file's columns (and a 关停 / 注销 / 重新开设 filing when its status
column differs), so importing the same file twice changes nothing, and a file of a few columns
updates those only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, text

from registry import tabular
from registry.accounts_view import listing_select, registered, row_fields, row_state
from registry.db import Database
from registry.fields import FIELD_BY_KEY, FIELDS, HEADER_TO_KEY, KEYS, FieldError, Status
from registry.importing import ImportRefused, RowError, open_import
from registry.lifecycle import EffectiveDateError, FilingFacts, Kind, LifecycleError
from registry.schema import accounts
from registry.writer import AccountPlan, FilingMeta, active_counts, add_warnings, commit, opening

_STATUS_FILING = {
    Status.CLOSED: Kind.CLOSE,
    Status.DEREGISTERED: Kind.DEREGISTER,
    Status.ACTIVE: Kind.REOPEN,
}
_REQUIRED = {f.key for f in FIELDS if f.required}
_LOOKUP_CHUNK = 400
_BATCH = 2000
_ANALYZE_AFTER = 10_000  # accounts opened by one import
T = TypeVar("T")


@dataclass(slots=True)
class ImportSummary:
    rows: int = 0
    opened: int = 0
    changed: int = 0
    status_changed: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False


def _validated(
    path: Path,
    records: Iterable[tuple[int, dict[str, Any]]],
    header_of: dict[str, str],
    errors: list[RowError],
    summary: ImportSummary,
) -> Iterator[tuple[int, dict[str, str], frozenset[str]]]:
    """Rows whose every field is valid, with the keys whose blank cell took the field's
    default (状态 正常, 互动功能 有); the other rows add their errors to ``errors``."""
    seen: dict[tuple[str, str], int] = {}
    columns = [(f.key, header_of.get(f.key), f) for f in FIELDS]
    for number, record in records:
        summary.rows += 1
        first_error = len(errors)
        values: dict[str, str] = {}
        defaulted = set()
        for key, header, spec in columns:
            raw = record.get(header) if header else None
            try:
                values[key] = spec.clean(raw)
                if spec.default and tabular.blank(raw):
                    defaulted.add(key)
            except FieldError as exc:
                errors.append(RowError(path, number, header or spec.header, str(exc)))
        if "platform" in values and "account_id" in values:
            identity = (values["platform"], values["account_id"])
            if identity in seen:
                message = f"与第{seen[identity]}行重复(同一平台账号ID唯一)"
                errors.append(RowError(path, number, header_of["account_id"], message))
            seen.setdefault(identity, number)
        if len(errors) == first_error:
            yield number, values, frozenset(defaulted)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class _RowRefused(Exception):
    """A filing of a row that the lifecycle refused, with the column that asked for it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _file(plan: AccountPlan, facts: FilingFacts, meta: FilingMeta, key: str) -> None:
    try:
        plan.add(facts, meta)
    except EffectiveDateError as exc:  # an opening is dated by its 开设日期
        raise _RowRefused("opened_on" if facts.kind is Kind.OPEN else key, str(exc)) from exc
    except LifecycleError as exc:
        raise _RowRefused(key, str(exc)) from exc


def _plan_row(
    values: dict[str, str],
    existing: Any,
    meta: FilingMeta,
    today: date,
    summary: ImportSummary,
    present: frozenset[str],
) -> AccountPlan:
    """The filings a row makes. A registered account changes only in the file's columns: a
    column left out, or a blank 状态 or 互动功能 cell, is no instruction to reset the field."""
    target = Status(values["status"])
    if existing is None:
        plan = AccountPlan(None, None)
        _file(plan, opening(values), meta, "account_id")
        summary.opened += 1
        if target is not Status.ACTIVE:
            effective = max(today, plan.filings[0].facts.effective_on)
            _file(plan, FilingFacts(_STATUS_FILING[target], effective), meta, "status")
        return plan
    plan = AccountPlan(existing["id"], row_state(existing))
    current = row_fields(existing)
    changed = {
        k: v for k, v in values.items() if k != "status" and k in present and current[k] != v
    }
    if changed:
        # a refused change is reported at the first column it would have changed
        _file(plan, FilingFacts(Kind.CHANGE, today, changed), meta, min(changed, key=KEYS.index))
        summary.changed += 1
    if "status" in present and target.value != current["status"]:
        _file(plan, FilingFacts(_STATUS_FILING[target], today), meta, "status")
        summary.status_changed += 1
    if not plan.filings:
        summary.unchanged += 1
    return plan


async def import_inventory(
    db: Database, path: Path, meta: FilingMeta, today: date, *, dry_run: bool = False
) -> ImportSummary:
    """Load an inventory file; raises ImportRefused (nothing written) on any bad row.

    Rows are planned and written in batches inside one transaction, so memory stays flat on a
    large file; an error anywhere rolls the whole transaction back.
    """
    summary = ImportSummary(dry_run=dry_run)
    records, header_of = open_import(path, HEADER_TO_KEY, _REQUIRED, summary.warnings)
    errors: list[RowError] = []
    present = frozenset(header_of)
    async with db.read() if dry_run else db.write() as conn:
        counts = await active_counts(conn)
        for batch in batched(_validated(path, records, header_of, errors, summary), _BATCH):
            existing = await registered(
                conn, [(v["platform"], v["account_id"]) for _, v, _ in batch]
            )
            plans: list[AccountPlan] = []
            numbers: list[int] = []
            for number, values, defaulted in batch:
                identity = (values["platform"], values["account_id"])
                instructed = present - defaulted
                try:
                    plan = _plan_row(
                        values, existing.get(identity), meta, today, summary, instructed
                    )
                    plans.append(plan)
                except _RowRefused as exc:
                    header = header_of.get(exc.key) or FIELD_BY_KEY[exc.key].header
                    errors.append(RowError(path, number, header, str(exc)))
                    continue
                numbers.append(number)
            add_warnings(plans, counts)
            for number, plan in zip(numbers, plans, strict=True):
                for planned in plan.filings:
                    summary.warnings.extend(f"{path}:{number}: {w}" for w in planned.warnings)
            if not errors and not dry_run:
                await commit(conn, plans)
        if errors:
            raise ImportRefused(sorted(errors, key=lambda e: e.row))
        if not dry_run and summary.opened >= _ANALYZE_AFTER and conn.dialect.name == "postgresql":
            # fresh statistics, or the planner scans the region index over the whole table
            await conn.execute(text("ANALYZE units, accounts, filings"))
    return summary


async def export_inventory(
    db: Database, path: Path, fmt: str, *, where: ColumnElement[bool] | None = None
) -> int:
    """Write the inventory (the accounts ``where`` selects, by default all) with the import's
    columns; returns the number of accounts."""
    query = listing_select().order_by(accounts.c.id)
    if where is not None:
        query = query.where(where)
    async with db.read() as conn:
        rows = [list(row[1:]) for row in await conn.execute(query)]  # after the id: KEYS
    headers = [f.header for f in FIELDS]
    if fmt == "csv":
        tabular.write_csv(path, headers, rows)
    elif fmt == "xlsx":
        widths = [24, 12, 20, 30, 30, 28, 22, 24, 12, 12, 8, 8, 10, 14]
        tabular.write_xlsx(path, headers, rows, title="账号清单", widths=widths)
    elif fmt == "json":
        tabular.write_json(path, [dict(zip(KEYS, row, strict=True)) for row in rows])
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    return len(rows)

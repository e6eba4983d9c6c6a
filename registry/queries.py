"""Reading the registry: inventory queries, one account with its history, state as of a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from registry.accounts_view import account_select, as_records, find_account, row_fields
from registry.db import Database
from registry.lifecycle import AccountState, Kind, facts_from_changes, replay
from registry.schema import accounts, filings
from registry.times import SHANGHAI


@dataclass(frozen=True, slots=True)
class FilingRecord:
    seq: int
    kind: Kind
    effective_on: date
    filed_at: datetime
    filed_by: str
    doc_no: str
    reason: str
    changes: dict[str, tuple[str, str]]
    warnings: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind.value,
            "effective_on": self.effective_on.isoformat(),
            "filed_at": self.filed_at.astimezone(SHANGHAI).isoformat(),
            "filed_by": self.filed_by,
            "doc_no": self.doc_no,
            "reason": self.reason,
            "changes": {k: {"old": old, "new": new} for k, (old, new) in self.changes.items()},
            "warnings": self.warnings,
        }


@dataclass(frozen=True, slots=True)
class AccountRecord:
    pk: int
    fields: dict[str, str]
    filings: list[FilingRecord]

    def state_as_of(self, day: date) -> AccountState | None:
        """The account as the filings effective on or before ``day`` describe it."""
        return replay(
            (facts_from_changes(f.kind, f.effective_on, f.changes) for f in self.filings), day
        )


def region_prefix(code: str) -> str:
    """The region code prefix an office's code covers: 510000 -> "51", 510100 -> "5101"."""
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


async def list_accounts(
    db: Database,
    *,
    region: str | None = None,
    platform: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Accounts matching the filters; ``region`` covers its sub-regions (510100: all of 成都)."""
    query = account_select().order_by(accounts.c.id)
    if region:
        prefix = region_prefix(region)
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        query = query.where(accounts.c.region_code >= prefix, accounts.c.region_code < upper)
    if platform:
        query = query.where(accounts.c.platform == platform)
    if status:
        query = query.where(accounts.c.status == status)
    async with db.read() as conn:
        result = await conn.execute(query)
        return as_records(result)


async def get_account(db: Database, ref: str) -> AccountRecord | None:
    async with db.read() as conn:
        row = await find_account(conn, ref)
        if row is None:
            return None
        result = await conn.execute(
            select(filings).where(filings.c.account_pk == row["id"]).order_by(filings.c.seq)
        )
        history = [
            FilingRecord(
                seq=f.seq,
                kind=Kind(f.kind),
                effective_on=f.effective_on,
                filed_at=f.filed_at,
                filed_by=f.filed_by,
                doc_no=f.doc_no,
                reason=f.reason,
                changes={k: (old, new) for k, (old, new) in f.changes.items()},
                warnings=list(f.warnings),
            )
            for f in result
        ]
    return AccountRecord(row["id"], row_fields(row), history)

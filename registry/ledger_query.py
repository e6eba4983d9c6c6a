"""Reading the ledger: entries with their history, as rows with the interface's keys."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncConnection

from checks.codes import PROBLEM_LABELS
from checks.privacy import mask_personal_data
from registry.db import Database
from registry.schema import accounts, ledger_entries, ledger_events
from registry.times import SHANGHAI

_PAGE = 5000
# A record's "from" is the status of the entry's record before it (``ledger verify`` checks
# that the chained content says the same), so the content itself need not be read here.
_HISTORY_COLUMNS = (
    ledger_events.c.id,
    ledger_events.c.entry_id,
    ledger_events.c.status,
    ledger_events.c.actor,
    ledger_events.c.at,
    ledger_events.c.note,
    ledger_events.c.digest,
)

# The interface's keys, in export order ("deadline_provisional" is an added optional column).
KEYS = (
    "entry_id",
    "quarter",
    "platform",
    "account_id",
    "account_name",
    "sponsor",
    "region_code",
    "problem_code",
    "problem_label",
    "severity",
    "description",
    "evidence",
    "last_post_at",
    "detected_at",
    "deadline",
    "deadline_provisional",
    "status",
    "history",
    "digest",
)


def _local(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(SHANGHAI)


def _masked(evidence: Any) -> list[dict[str, Any]]:
    items = evidence if isinstance(evidence, list) else []
    masked = []
    for item in items:
        copy = dict(item)
        for key in ("title", "excerpt"):
            if isinstance(copy.get(key), str):
                copy[key] = mask_personal_data(copy[key])
        published = copy.get("published_at")
        if isinstance(published, str) and published:  # stored in UTC, shown as every time is
            with contextlib.suppress(ValueError):
                copy["published_at"] = (
                    datetime.fromisoformat(published).astimezone(SHANGHAI).isoformat()
                )
        masked.append(copy)
    return masked


def _history_item(event: Mapping[Any, Any], previous: str | None) -> dict[str, Any]:
    return {
        "from": previous,
        "status": event["status"],
        "actor": event["actor"],
        "at": _local(event["at"]),
        "note": event["note"],
    }


def _entry_query(
    quarter: str | None, status: str | None, after: int, where: ColumnElement[bool] | None = None
) -> Any:
    query = (
        select(ledger_entries, accounts.c.platform)
        .join(accounts, ledger_entries.c.account_pk == accounts.c.id)
        .where(ledger_entries.c.id > after)
        .order_by(ledger_entries.c.id)
        .limit(_PAGE)
    )
    if quarter:
        query = query.where(ledger_entries.c.quarter == quarter)
    if status:
        query = query.where(ledger_entries.c.status == status)
    if where is not None:
        query = query.where(where)
    return query


async def iter_entries(
    conn: AsyncConnection,
    *,
    quarter: str | None = None,
    status: str | None = None,
    upto: int | None = None,
    where: ColumnElement[bool] | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Pages of ledger rows (interface keys), in entry order.

    With ``upto`` (a chain record id) the ledger is shown as it stood at that record: later
    records are left out, statuses and digests come from the records up to it, and entries
    created after it are skipped. An export then matches the chain head it carries exactly,
    whatever is written meanwhile. ``where`` narrows the entries (a condition on the entry or
    its account, such as a user's scope).
    """
    after = 0
    while True:
        entries = (await conn.execute(_entry_query(quarter, status, after, where))).mappings().all()
        if not entries:
            return
        first, last = entries[0]["id"], entries[-1]["id"]
        event_query = (
            select(*_HISTORY_COLUMNS)
            .where(ledger_events.c.entry_id >= first, ledger_events.c.entry_id <= last)
            .order_by(ledger_events.c.id)
        )
        if upto is not None:
            event_query = event_query.where(ledger_events.c.id <= upto)
        events = await conn.execute(event_query)
        history: dict[int, list[dict[str, Any]]] = defaultdict(list)
        digests: dict[int, str] = {}
        for event in events.mappings():
            items = history[event["entry_id"]]
            items.append(_history_item(event, items[-1]["status"] if items else None))
            digests[event["entry_id"]] = event["digest"]
        rows = [
            _row(entry, history[entry["id"]], digests.get(entry["id"], ""))
            for entry in entries
            if upto is None or entry["id"] in digests
        ]
        if upto is not None:
            for row in rows:
                row["status"] = row["history"][-1]["status"]
        yield rows
        after = last


def _row(entry: Mapping[Any, Any], history: list[dict[str, Any]], digest: str) -> dict[str, Any]:
    return {
        "entry_id": entry["id"],
        "quarter": entry["quarter"],
        "platform": entry["platform"],
        "account_id": entry["account_id"],
        "account_name": entry["account_name"],
        "sponsor": entry["sponsor"],
        "region_code": entry["region_code"],
        "problem_code": entry["problem_code"],
        "problem_label": PROBLEM_LABELS.get(entry["problem_code"], entry["problem_code"]),
        "severity": entry["severity"],
        "description": mask_personal_data(entry["description"]),
        "evidence": _masked(entry["evidence"]),
        "last_post_at": _local(entry["last_post_at"]),
        "detected_at": _local(entry["detected_at"]),
        "deadline": entry["deadline"],
        "deadline_provisional": bool(entry["deadline_provisional"]),
        "status": entry["status"],
        "history": history,
        "digest": digest,
    }


async def list_entries(
    db: Database,
    *,
    quarter: str | None = None,
    status: str | None = None,
    where: ColumnElement[bool] | None = None,
) -> list[dict[str, Any]]:
    """Every entry matching the filters, with its history."""
    rows: list[dict[str, Any]] = []
    async with db.read() as conn:
        async for page in iter_entries(conn, quarter=quarter, status=status, where=where):
            rows.extend(page)
    return rows

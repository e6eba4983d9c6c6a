"""The ledger's hash chain: every entry creation and status change is one record whose digest
covers its content and the previous record's digest.

digest = SHA-256( previous digest (64 hex characters; 64 zeros for the first record)
                  + canonical JSON of the content (sorted keys, no spaces, UTF-8) )

A reviewer can recompute it from ``ledger_events.content`` and ``prev_digest`` alone. Appends
happen inside a write transaction (writers are serialised), so reading the head and appending
after it is safe.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.bulk import first_free_id, insert_rows, sync_id_sequence
from registry.schema import ledger_events

GENESIS = "0" * 64
CREATED, STATUS = "created", "status"
# The ledger_entries columns a 'created' record vouches for. Records made before 0006 hold no
# account_name or region_code (``ledger_verify`` leaves those unchecked for them).
ENTRY_FIELDS = (
    "quarter",
    "account_pk",
    "account_id",
    "account_name",
    "region_code",
    "sponsor",
    "problem_code",
    "severity",
    "description",
    "evidence",
    "last_post_at",
    "detected_at",
    "deadline",
    "deadline_provisional",
)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chain_digest(prev_digest: str, content: Mapping[str, Any]) -> str:
    return text_digest(prev_digest, canonical(content))


def text_digest(prev_digest: str, canonical_text: str) -> str:
    return hashlib.sha256((prev_digest + canonical_text).encode("utf-8")).hexdigest()


def iso_time(value: datetime | None) -> str | None:
    """A time as it enters the chain: ISO 8601 in UTC."""
    return None if value is None else value.astimezone(UTC).isoformat()


def entry_projection(row: Mapping[str, Any]) -> dict[str, Any]:
    """The chained form of a ledger_entries row's vouched-for columns."""
    values = {key: row[key] for key in ENTRY_FIELDS}
    values["last_post_at"] = iso_time(values["last_post_at"])
    values["detected_at"] = iso_time(values["detected_at"])
    deadline = values["deadline"]
    values["deadline"] = deadline.isoformat() if isinstance(deadline, date) else deadline
    values["deadline_provisional"] = bool(values["deadline_provisional"])
    return values


def created_content(
    entry_id: int, row: Mapping[str, Any], platform: str, actor: str, at: datetime
) -> dict[str, Any]:
    return {
        "kind": CREATED,
        "entry_id": entry_id,
        "platform": platform,
        **entry_projection(row),
        "status": row["status"],
        "actor": actor,
        "at": iso_time(at),
    }


def status_content(
    entry_id: int, old: str, new: str, actor: str, at: datetime, note: str
) -> dict[str, Any]:
    return {
        "kind": STATUS,
        "entry_id": entry_id,
        "from": old,
        "to": new,
        "actor": actor,
        "at": iso_time(at),
        "note": note,
    }


@dataclass(frozen=True, slots=True)
class Appended:
    event_id: int
    entry_id: int
    digest: str


async def chain_head(conn: AsyncConnection) -> str | None:
    """The digest of the last record, or None for an empty ledger."""
    result = await conn.execute(
        select(ledger_events.c.digest).order_by(ledger_events.c.id.desc()).limit(1)
    )
    return result.scalar_one_or_none()


async def head_record(conn: AsyncConnection) -> tuple[int, str] | None:
    """(id, digest) of the last record, or None for an empty ledger."""
    result = await conn.execute(
        select(ledger_events.c.id, ledger_events.c.digest)
        .order_by(ledger_events.c.id.desc())
        .limit(1)
    )
    row = result.first()
    return None if row is None else (row[0], row[1])


async def append(
    conn: AsyncConnection, contents: Sequence[Mapping[str, Any]], *, chunk: int = 2000
) -> list[Appended]:
    """Append records (each content as ``created_content`` / ``status_content`` make it)."""
    if not contents:
        return []
    next_id = await first_free_id(conn, ledger_events)
    prev = await chain_head(conn) or GENESIS
    rows: list[dict[str, Any]] = []
    appended: list[Appended] = []
    for content in contents:
        stored = canonical(content)
        digest = text_digest(prev, stored)
        rows.append(
            {
                "id": next_id,
                "entry_id": content["entry_id"],
                "kind": content["kind"],
                "status": content["status"] if content["kind"] == CREATED else content["to"],
                "actor": content["actor"],
                "at": datetime.fromisoformat(content["at"]),
                "note": content.get("note", ""),
                "content": stored,  # the stored text is the hashed text
                "prev_digest": prev,
                "digest": digest,
            }
        )
        appended.append(Appended(next_id, content["entry_id"], digest))
        prev = digest
        next_id += 1
    await insert_rows(conn, ledger_events, rows, chunk=chunk, stored=("content",))
    await sync_id_sequence(conn, ledger_events)
    return appended

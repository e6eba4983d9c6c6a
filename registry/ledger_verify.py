"""``ledger verify``: recompute the hash chain and check the entries against it.

A record is altered when its digest no longer matches its content and previous digest, or when
its columns disagree with its content; a record is missing when the next one's previous digest
does not match. An entry is altered when its columns differ from its 'created' record, or when
its status is not the one its last record set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.ledger_chain import (
    CREATED,
    ENTRY_FIELDS,
    GENESIS,
    STATUS,
    canonical,
    chain_digest,
    entry_projection,
    iso_time,
)
from registry.schema import ledger_entries, ledger_events

_PAGE = 5000
_EVENT_COLUMNS = (
    *(c for c in ledger_events.c if c.name != "content"),
    cast(ledger_events.c.content, Text).label("content_text"),
)
_MAX_PROBLEMS = 100


@dataclass(frozen=True, slots=True)
class Problem:
    message: str  # Chinese, names the record and the entry
    entry_id: int | None = None
    event_id: int | None = None


@dataclass(slots=True)
class VerifyResult:
    records: int = 0
    entries: int = 0
    head: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


@dataclass(slots=True)
class _EntryTrace:
    created_event: int | None = None
    projection: bytes = b""
    status: str | None = None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _parse(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _fingerprint(projection: Mapping[Any, Any]) -> bytes:
    return hashlib.blake2b(canonical(projection).encode("utf-8"), digest_size=16).digest()


class _Checker:
    def __init__(self) -> None:
        self.result = VerifyResult()
        self.traces: dict[int, _EntryTrace] = {}
        self.prev = GENESIS

    def problem(self, message: str, entry_id: int | None, event_id: int | None = None) -> None:
        if len(self.result.problems) < _MAX_PROBLEMS:
            self.result.problems.append(Problem(message, entry_id, event_id))

    def event(self, row: Mapping[Any, Any]) -> None:
        event_id, entry_id, text = row["id"], row["entry_id"], row["content_text"] or ""
        where = f"台账记录 #{event_id}(条目 #{entry_id})"
        self.result.records += 1
        if row["prev_digest"] != self.prev:
            self.problem(f"{where}之前的记录缺失或被改动: 前一摘要不符", entry_id, event_id)
        content = _parse(text)
        # Content is stored in canonical form, so the stored text is normally what was hashed;
        # otherwise (stored reformatted) the canonical form of what it says is checked.
        if _sha256(row["prev_digest"] + text) != row["digest"] and (
            content is None or chain_digest(row["prev_digest"], content) != row["digest"]
        ):
            self.problem(f"{where}内容被改动: 摘要不符", entry_id, event_id)
        content = content or {}
        self.prev = row["digest"]
        self.result.head = row["digest"]
        status = content.get("status") if content.get("kind") == CREATED else content.get("to")
        stated = {
            "entry_id": content.get("entry_id"),
            "kind": content.get("kind"),
            "status": status,
            "actor": content.get("actor"),
            "at": content.get("at"),
            "note": content.get("note", ""),
        }
        actual = {**{k: row[k] for k in stated}, "at": iso_time(row["at"])}
        differing = [k for k in stated if stated[k] != actual[k]]
        if differing:
            self.problem(f"{where}的字段 {', '.join(differing)} 与存证内容不符", entry_id, event_id)
        trace = self.traces.setdefault(entry_id, _EntryTrace())
        if row["kind"] == CREATED:
            if trace.created_event is not None:
                self.problem(f"{where}: 条目重复创建", entry_id, event_id)
            trace.created_event = event_id
            trace.projection = _fingerprint({k: content.get(k) for k in ENTRY_FIELDS})
        elif row["kind"] == STATUS:
            if trace.created_event is None:
                self.problem(f"{where}: 条目的创建记录缺失", entry_id, event_id)
            elif trace.status != content.get("from"):
                self.problem(
                    f"{where}: 变更前状态应为“{trace.status}”,记录为“{content.get('from')}”"
                    "(中间记录缺失或被改动)",
                    entry_id,
                    event_id,
                )
        else:
            self.problem(f"{where}: 未知记录类型 {row['kind']}", entry_id, event_id)
        trace.status = status

    def entry(self, row: Mapping[Any, Any]) -> bool:
        """Check one entry; True when its columns differ from its created record."""
        entry_id = row["id"]
        self.result.entries += 1
        trace = self.traces.pop(entry_id, None)
        if trace is None or trace.created_event is None:
            self.problem(f"台账条目 #{entry_id} 没有创建记录(记录缺失)", entry_id)
            return False
        if row["status"] != trace.status:
            self.problem(
                f"台账条目 #{entry_id} 的整改状态被改动: 台账为“{row['status']}”,"
                f"记录链为“{trace.status}”",
                entry_id,
            )
        return _fingerprint(entry_projection(row)) != trace.projection

    def orphans(self) -> None:
        for entry_id, trace in sorted(self.traces.items()):
            self.problem(
                f"台账条目 #{entry_id} 已被删除(记录链中仍有记录)", entry_id, trace.created_event
            )


async def verify_chain(conn: AsyncConnection) -> VerifyResult:
    checker = _Checker()
    last = 0
    while True:
        page = (
            (
                await conn.execute(
                    select(*_EVENT_COLUMNS)
                    .where(ledger_events.c.id > last)
                    .order_by(ledger_events.c.id)
                    .limit(_PAGE)
                )
            )
            .mappings()
            .all()
        )
        if not page:
            break
        for row in page:
            checker.event(row)
        last = page[-1]["id"]
    last = 0
    while True:
        page = (
            (
                await conn.execute(
                    select(ledger_entries)
                    .where(ledger_entries.c.id > last)
                    .order_by(ledger_entries.c.id)
                    .limit(_PAGE)
                )
            )
            .mappings()
            .all()
        )
        if not page:
            break
        for row in page:
            created = checker.traces.get(row["id"])
            created_event = created.created_event if created else None
            if checker.entry(row) and created_event is not None:
                await _name_fields(conn, checker, row, created_event)
        last = page[-1]["id"]
    checker.orphans()
    checker.result.problems.sort(key=_order)
    return checker.result


def _order(problem: Problem) -> tuple[int, int]:
    return (
        (problem.event_id or 0, problem.entry_id or 0)
        if problem.event_id
        else (1 << 62, problem.entry_id or 0)
    )


async def _name_fields(
    conn: AsyncConnection, checker: _Checker, row: Mapping[Any, Any], event_id: int
) -> None:
    content = (
        await conn.execute(select(ledger_events.c.content).where(ledger_events.c.id == event_id))
    ).scalar_one()
    projection = entry_projection(row)
    differing = [k for k in ENTRY_FIELDS if canonical(projection[k]) != canonical(content.get(k))]
    checker.problem(
        f"台账条目 #{row['id']} 被改动: {', '.join(differing)} 与创建记录 #{event_id} 不符",
        row["id"],
    )

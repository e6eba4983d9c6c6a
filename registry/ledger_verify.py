"""``ledger verify``: recompute the hash chain and check the entries against it.

A record is altered when its digest no longer matches its content and previous digest, or when
its columns disagree with its content; a record is missing when the next one's previous digest
does not match. An entry is altered when its columns differ from its 'created' record, or when
its status is not the one its last record set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.ledger_chain import (
    CREATED,
    ENTRY_FIELDS,
    GENESIS,
    STATUS,
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
    status: str | None = None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _parse(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class _Checker:
    def __init__(self) -> None:
        self.result = VerifyResult()
        self.traces: dict[int, _EntryTrace] = {}
        self.prev = GENESIS
        # Created records and entry rows wait here for their other half. Entries are created in
        # id order, so walking both tables in step keeps these small.
        self.vouched: dict[int, dict[str, Any]] = {}  # entry id -> what its created record says
        self.unvouched: dict[int, dict[str, Any]] = {}  # entry id -> its row's projection
        self.entry_status: dict[int, str] = {}
        self.last_created = 0

    def problem(self, message: str, entry_id: int | None, event_id: int | None = None) -> None:
        if len(self.result.problems) < _MAX_PROBLEMS:
            self.result.problems.append(Problem(message, entry_id, event_id))

    def event(self, row: Sequence[Any]) -> None:
        """Check one record (a row of ``_EVENT_COLUMNS``, by position: this runs 100,000 times)."""
        event_id, entry_id, kind, status_column, actor, at, note, prev_digest, digest, text = row
        text = text or ""

        def where() -> str:
            return f"台账记录 #{event_id}(条目 #{entry_id})"

        self.result.records += 1
        if prev_digest != self.prev:
            self.problem(f"{where()}之前的记录缺失或被改动: 前一摘要不符", entry_id, event_id)
        content = _parse(text)
        # Content is stored in canonical form, so the stored text is normally what was hashed;
        # otherwise (stored reformatted) the canonical form of what it says is checked.
        if _sha256(prev_digest + text) != digest and (
            content is None or chain_digest(prev_digest, content) != digest
        ):
            self.problem(f"{where()}内容被改动: 摘要不符", entry_id, event_id)
        content = content or {}
        self.prev = digest
        self.result.head = digest
        status = content.get("status") if content.get("kind") == CREATED else content.get("to")
        stated = (
            content.get("entry_id"),
            content.get("kind"),
            status,
            content.get("actor"),
            content.get("at"),
            content.get("note", ""),
        )
        actual = (entry_id, kind, status_column, actor, iso_time(at), note)
        if stated != actual:
            names = ("entry_id", "kind", "status", "actor", "at", "note")
            differing = [n for n, x, y in zip(names, stated, actual, strict=True) if x != y]
            self.problem(
                f"{where()}的字段 {', '.join(differing)} 与存证内容不符", entry_id, event_id
            )
        trace = self.traces.setdefault(entry_id, _EntryTrace())
        if kind == CREATED:
            if trace.created_event is not None:
                self.problem(f"{where()}: 条目重复创建", entry_id, event_id)
            trace.created_event = event_id
            vouched = {k: content.get(k) for k in ENTRY_FIELDS}
            self.last_created = max(self.last_created, entry_id)
            waiting = self.unvouched.pop(entry_id, None)
            if waiting is None:
                self.vouched[entry_id] = vouched
            else:
                self.compare(entry_id, waiting, vouched, event_id)
        elif kind == STATUS:
            if trace.created_event is None:
                self.problem(f"{where()}: 条目的创建记录缺失", entry_id, event_id)
            elif trace.status != content.get("from"):
                self.problem(
                    f"{where()}: 变更前状态应为“{trace.status}”,记录为“{content.get('from')}”"
                    "(中间记录缺失或被改动)",
                    entry_id,
                    event_id,
                )
        else:
            self.problem(f"{where()}: 未知记录类型 {kind}", entry_id, event_id)
        trace.status = status

    def entry(self, row: Mapping[Any, Any]) -> None:
        """Take one entry row: compare it with its created record now or when that comes."""
        entry_id = row["id"]
        self.result.entries += 1
        self.entry_status[entry_id] = row["status"]
        projection = entry_projection(row)
        vouched = self.vouched.pop(entry_id, None)
        if vouched is None:
            self.unvouched[entry_id] = projection
        else:
            trace = self.traces[entry_id]
            self.compare(entry_id, projection, vouched, trace.created_event)

    def compare(
        self,
        entry_id: int,
        projection: Mapping[str, Any],
        vouched: Mapping[str, Any],
        event_id: int | None,
    ) -> None:
        if projection != vouched:
            differing = [k for k in ENTRY_FIELDS if projection[k] != vouched.get(k)]
            self.problem(
                f"台账条目 #{entry_id} 被改动: {', '.join(differing)} 与创建记录 #{event_id} 不符",
                entry_id,
            )

    def finish(self) -> None:
        """Entries without a created record, created records without an entry, statuses."""
        for entry_id in sorted(self.unvouched):
            self.problem(f"台账条目 #{entry_id} 没有创建记录(记录缺失)", entry_id)
        for entry_id, status in self.entry_status.items():
            trace = self.traces.get(entry_id)
            if trace is not None and trace.created_event is not None and status != trace.status:
                self.problem(
                    f"台账条目 #{entry_id} 的整改状态被改动: 台账为“{status}”,"
                    f"记录链为“{trace.status}”",
                    entry_id,
                )
        for entry_id in sorted(self.vouched):
            self.problem(
                f"台账条目 #{entry_id} 已被删除(记录链中仍有记录)",
                entry_id,
                self.traces[entry_id].created_event,
            )


async def verify_chain(conn: AsyncConnection) -> VerifyResult:
    checker = _Checker()
    entries = _Pages(conn, select(ledger_entries), ledger_entries.c.id, by_name=True)
    events = _Pages(conn, select(*_EVENT_COLUMNS), ledger_events.c.id, by_name=False)
    async for page in events:
        for row in page:
            checker.event(row)
        async for entry_page in entries.upto(checker.last_created):
            for row in entry_page:
                checker.entry(row)
    async for entry_page in entries.upto(None):
        for row in entry_page:
            checker.entry(row)
    checker.finish()
    checker.result.problems.sort(key=_order)
    return checker.result


class _Pages:
    """A table read in id order, a page at a time, resumable up to a given id."""

    def __init__(self, conn: AsyncConnection, query: Any, id_column: Any, *, by_name: bool) -> None:
        self.conn = conn
        self.by_name = by_name
        self.query = query
        self.id_column = id_column
        self.last = 0
        self.done = False

    def __aiter__(self) -> _Pages:
        return self

    async def __anext__(self) -> list[Any]:
        page = await self._page(None)
        if not page:
            raise StopAsyncIteration
        return page

    async def upto(self, bound: int | None) -> Any:
        while not self.done and (bound is None or self.last < bound):
            page = await self._page(bound)
            if not page:
                return
            yield page

    async def _page(self, bound: int | None) -> list[Any]:
        query = self.query.where(self.id_column > self.last)
        if bound is not None:
            query = query.where(self.id_column <= bound)
        result = await self.conn.execute(query.order_by(self.id_column).limit(_PAGE))
        page: list[Any] = list(result.mappings().all() if self.by_name else result.all())
        if page:
            self.last = page[-1]["id"] if self.by_name else page[-1][0]
        elif bound is None:
            self.done = True
        return page


def _order(problem: Problem) -> tuple[int, int]:
    return (
        (problem.event_id or 0, problem.entry_id or 0)
        if problem.event_id
        else (1 << 62, problem.entry_id or 0)
    )

"""``ledger verify``: recompute the hash chain and check the entries against it.

A record is altered when its digest no longer matches its content and previous digest, or when
its columns disagree with its content; a record is missing when the next one's previous digest
does not match. An entry is altered when its columns differ from its 'created' record, or when
its status is not the one its last record set.

Speed (issue #5: 100,000 records well under 10 s): both tables are read a page at a time, by
position and without the columns' SQLAlchemy result conversions; times and dates are compared in
their chained text form, each distinct stored value converted once. A record's stored content is
the canonical JSON that was hashed, so its digest is checked on the stored text; the canonical
form of what it says is computed only when that fails (content stored reformatted). JSON is
decoded once per record and once per entry's evidence, by the C scanner directly.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Integer, Text, bindparam, cast, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.ledger_chain import CREATED, ENTRY_FIELDS, GENESIS, STATUS, chain_digest
from registry.schema import ledger_entries, ledger_events

_PAGE = 5000
_MAX_PROBLEMS = 100
_FORMS_KEPT = 20_000  # converted times (dates) kept; most repeat (a run's detection time)
_VOUCHED_FIELDS = operator.itemgetter(*ENTRY_FIELDS)
# What a record made before 0006 says of the fields it did not hold yet: anything matches it.
_UNSTATED: Any = object()
_SINCE_0006 = frozenset({"account_name", "region_code"})

# Read by position (these run 100,000 times): a record is (id, entry_id, kind, status, actor,
# at, note, prev_digest, digest, content text); an entry is (id, status, *ENTRY_FIELDS).
_EVENT_NAMES = (
    "id",
    "entry_id",
    "kind",
    "status",
    "actor",
    "at",
    "note",
    "prev_digest",
    "digest",
    "content",
)
_ENTRY_NAMES = ("id", "status", *ENTRY_FIELDS)


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


class _Unreadable:
    """A stored value that could not be read: equal to nothing, so it is reported."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return id(self)


# json.loads less its Python layers (whitespace regexes): the C scanner on the whole text.
_DECODER = json.JSONDecoder()
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _json_value(text: Any) -> Any:
    """The value of a stored JSON text, or an unreadable marker."""
    try:
        value, end = _scan(text, 0)
        if end == len(text):
            return value
    except (StopIteration, TypeError, ValueError):
        pass
    # Surrounding whitespace, trailing data, not text at all: the full parser decides.
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return _Unreadable(text)


def _time_text(raw: Any) -> Any:
    """A stored UTC time (SQLite stores it naive, PostgreSQL returns it aware) as the chain
    writes it: ISO 8601 in UTC."""
    try:
        value = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return value.astimezone(UTC).isoformat()
    except (TypeError, ValueError):
        return _Unreadable(raw)


def _date_text(raw: Any) -> Any:
    """A stored date as the chain writes it: ISO 8601."""
    if isinstance(raw, date):
        return raw.isoformat()
    try:
        return date.fromisoformat(raw).isoformat()
    except (TypeError, ValueError):
        return _Unreadable(raw)


class _Memo:
    """``convert`` of a stored value, each recent distinct value converted once (most repeat:
    a run's detection time); None stays None."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        self._convert = convert
        self._known: dict[Any, Any] = {None: None}

    def __call__(self, raw: Any) -> Any:
        try:
            return self._known[raw]
        except KeyError:
            pass
        if len(self._known) > _FORMS_KEPT:
            self._known = {None: None}
        text = self._known[raw] = self._convert(raw)
        return text


class _TextForms:
    """Stored times and dates in their chained text form: the same as reading the column
    through its SQLAlchemy type and formatting it as ``registry.ledger_chain`` does."""

    def __init__(self) -> None:
        self.time = _Memo(_time_text)
        self.date = _Memo(_date_text)


class _Checker:
    def __init__(self) -> None:
        self.result = VerifyResult()
        self.forms = _TextForms()
        self.prev = GENESIS
        self.created_event: dict[int, int] = {}  # entry id -> its created record
        self.chain_status: dict[int, Any] = {}  # entry id -> the status its last record set
        # Created records and entry rows wait here for their other half. Entries are created in
        # id order, so walking both tables in step keeps these small.
        self.vouched: dict[int, tuple[Any, ...]] = {}  # entry id -> what its created record says
        self.unvouched: dict[int, tuple[Any, ...]] = {}  # entry id -> its row's projection
        self.entry_status: dict[int, str] = {}
        self.last_created = 0

    def problem(self, message: str, entry_id: int | None, event_id: int | None = None) -> None:
        if len(self.result.problems) < _MAX_PROBLEMS:
            self.result.problems.append(Problem(message, entry_id, event_id))

    def events(self, rows: Sequence[Sequence[Any]]) -> None:
        """Check a page of records, in chain order."""
        sha256 = hashlib.sha256
        scan = _scan
        vouched_fields = _VOUCHED_FIELDS
        time = self.forms.time
        created_event = self.created_event
        chain_status = self.chain_status
        vouched_by = self.vouched
        unvouched = self.unvouched
        prev = self.prev
        for (
            event_id,
            entry_id,
            kind,
            status_column,
            actor,
            at,
            note,
            prev_digest,
            digest,
            text,
        ) in rows:
            if prev_digest != prev:
                self.problem(
                    f"{_where(event_id, entry_id)}之前的记录缺失或被改动: 前一摘要不符",
                    entry_id,
                    event_id,
                )
            text = text or ""
            try:
                content, end = scan(text, 0)
                if end != len(text):
                    content = _json_value(text)
            except (StopIteration, ValueError):
                content = _json_value(text)
            if not isinstance(content, dict):
                content = None
            # Content is stored in canonical form, so the stored text is normally what was
            # hashed; otherwise (stored reformatted) the canonical form of what it says is.
            if sha256((prev_digest + text).encode()).hexdigest() != digest and (
                content is None or chain_digest(prev_digest, content) != digest
            ):
                self.problem(
                    f"{_where(event_id, entry_id)}内容被改动: 摘要不符", entry_id, event_id
                )
            if content is None:
                content = {}
            prev = digest
            get = content.get
            stated_kind = get("kind")
            status = get("status") if stated_kind == CREATED else get("to")
            stated = (
                get("entry_id"),
                stated_kind,
                status,
                get("actor"),
                get("at"),
                get("note", ""),
            )
            actual = (entry_id, kind, status_column, actor, time(at), note)
            if stated != actual:
                names = ("entry_id", "kind", "status", "actor", "at", "note")
                differing = [n for n, x, y in zip(names, stated, actual, strict=True) if x != y]
                self.problem(
                    f"{_where(event_id, entry_id)}的字段 {', '.join(differing)} 与存证内容不符",
                    entry_id,
                    event_id,
                )
            if kind == CREATED:
                if entry_id in created_event:
                    self.problem(f"{_where(event_id, entry_id)}: 条目重复创建", entry_id, event_id)
                created_event[entry_id] = event_id
                try:
                    vouched = vouched_fields(content)
                except KeyError:
                    vouched = tuple(
                        [get(k, _UNSTATED if k in _SINCE_0006 else None) for k in ENTRY_FIELDS]
                    )
                if entry_id > self.last_created:
                    self.last_created = entry_id
                waiting = unvouched.pop(entry_id, None)
                if waiting is None:
                    vouched_by[entry_id] = vouched
                else:
                    self.compare(entry_id, waiting, vouched, event_id)
            elif kind == STATUS:
                if entry_id not in created_event:
                    self.problem(
                        f"{_where(event_id, entry_id)}: 条目的创建记录缺失", entry_id, event_id
                    )
                elif chain_status.get(entry_id) != get("from"):
                    self.problem(
                        f"{_where(event_id, entry_id)}: 变更前状态应为“{chain_status.get(entry_id)}”,"
                        f"记录为“{get('from')}”(中间记录缺失或被改动)",
                        entry_id,
                        event_id,
                    )
            else:
                self.problem(
                    f"{_where(event_id, entry_id)}: 未知记录类型 {kind}", entry_id, event_id
                )
            chain_status[entry_id] = status
        self.prev = prev
        self.result.records += len(rows)
        if rows:
            self.result.head = prev

    def entries(self, rows: Sequence[Sequence[Any]]) -> None:
        """Take a page of entry rows: compare each with its created record now or when it comes."""
        time = self.forms.time
        day = self.forms.date
        entry_status = self.entry_status
        vouched_by = self.vouched
        # A row is (id, status, *ENTRY_FIELDS); the first nine fields are chained as they are.
        for entry_id, status, *as_stored, evidence, last_post, detected, deadline, flag in rows:
            entry_status[entry_id] = status
            # The chained form of the vouched-for columns (``ledger_chain.entry_projection``).
            projection = (
                *as_stored,
                _json_value(evidence),
                time(last_post),
                time(detected),
                day(deadline),
                bool(flag),
            )
            vouched = vouched_by.pop(entry_id, None)
            if vouched is None:
                self.unvouched[entry_id] = projection
            else:
                self.compare(entry_id, projection, vouched, self.created_event[entry_id])
        self.result.entries += len(rows)

    def compare(
        self,
        entry_id: int,
        projection: tuple[Any, ...],
        vouched: tuple[Any, ...],
        event_id: int | None,
    ) -> None:
        if projection != vouched:
            differing = [
                k
                for k, x, y in zip(ENTRY_FIELDS, projection, vouched, strict=True)
                if x != y and y is not _UNSTATED
            ]
            if not differing:
                return
            self.problem(
                f"台账条目 #{entry_id} 被改动: {', '.join(differing)} 与创建记录 #{event_id} 不符",
                entry_id,
            )

    def finish(self) -> None:
        """Entries without a created record, created records without an entry, statuses."""
        for entry_id in sorted(self.unvouched):
            self.problem(f"台账条目 #{entry_id} 没有创建记录(记录缺失)", entry_id)
        for entry_id, status in self.entry_status.items():
            if entry_id in self.created_event and status != self.chain_status.get(entry_id):
                self.problem(
                    f"台账条目 #{entry_id} 的整改状态被改动: 台账为“{status}”,"
                    f"记录链为“{self.chain_status.get(entry_id)}”",
                    entry_id,
                )
        for entry_id in sorted(self.vouched):
            self.problem(
                f"台账条目 #{entry_id} 已被删除(记录链中仍有记录)",
                entry_id,
                self.created_event[entry_id],
            )


def _where(event_id: int, entry_id: int) -> str:
    return f"台账记录 #{event_id}(条目 #{entry_id})"


def _queries() -> tuple[Any, Any, Any]:
    """Pages of records, of entries, of entries up to an id: plain values, by position.

    The columns' SQLAlchemy result conversions are left out (JSON read as its text; times,
    dates and booleans as the driver gives them), and ``_TextForms`` puts them in chained form.
    """

    def plain(column: Any) -> Any:
        if isinstance(column.type, JSON):
            return cast(column, Text)
        if isinstance(column.type, Integer):
            return column
        return type_coerce(column, Text)

    after = bindparam("after", type_=Integer)
    events = (
        select(*(plain(ledger_events.c[n]) for n in _EVENT_NAMES))
        .where(ledger_events.c.id > after)
        .order_by(ledger_events.c.id)
        .limit(_PAGE)
    )
    entries = (
        select(*(plain(ledger_entries.c[n]) for n in _ENTRY_NAMES))
        .where(ledger_entries.c.id > after)
        .order_by(ledger_entries.c.id)
        .limit(_PAGE)
    )
    return events, entries, entries.where(ledger_entries.c.id <= bindparam("bound", type_=Integer))


_EVENTS, _ENTRIES, _ENTRIES_UPTO = _queries()


class _Entries:
    """The entries table read in id order, a page at a time, resumable up to a given id."""

    def __init__(self, conn: AsyncConnection, checker: _Checker) -> None:
        self.conn = conn
        self.checker = checker
        self.last = 0
        self.done = False

    async def upto(self, bound: int | None) -> None:
        while not self.done and (bound is None or self.last < bound):
            if bound is None:
                result = await self.conn.execute(_ENTRIES, {"after": self.last})
            else:
                result = await self.conn.execute(
                    _ENTRIES_UPTO, {"after": self.last, "bound": bound}
                )
            page = result.all()
            if not page:
                self.done = bound is None
                return
            self.last = page[-1][0]
            self.checker.entries(page)


async def verify_chain(conn: AsyncConnection) -> VerifyResult:
    checker = _Checker()
    entries = _Entries(conn, checker)
    after = 0
    while page := (await conn.execute(_EVENTS, {"after": after})).all():
        after = page[-1][0]
        checker.events(page)
        await entries.upto(checker.last_created)
    await entries.upto(None)
    checker.finish()
    checker.result.problems.sort(key=_order)
    return checker.result


def _order(problem: Problem) -> tuple[int, int]:
    return (
        (problem.event_id or 0, problem.entry_id or 0)
        if problem.event_id
        else (1 << 62, problem.entry_id or 0)
    )

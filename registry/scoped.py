"""Reads for the web console and the API, every one narrowed to a user's scope in SQL.

Counts, searches, pages and exports all come from queries that carry ``Scope.clause()``, so
nothing outside the scope is counted, listed or downloaded (the dashboard's figures likewise, in
``registry.scoped_dashboard``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.engine import Dialect

from registry.accounts_view import (
    account_select,
    as_records,
    listing_select,
    sponsor_unit,
)
from registry.db import Database
from registry.ledger_query import list_entries
from registry.queries import AccountRecord, get_account, region_prefix
from registry.schema import (
    accounts,
    inspections,
    ledger_entries,
    runs,
    sample_members,
    samples,
    units,
)
from registry.scope import Scope, prefix_clause

MAX_PER_PAGE = 200


@dataclass(frozen=True, slots=True)
class Page:
    total: int
    page: int
    per_page: int
    items: list[dict[str, Any]]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
            "items": self.items,
        }


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class AccountFilters:
    """What an inventory listing is narrowed to besides the scope; "" means any.

    ``q`` searches the account's name, its platform ID and its sponsor's name; ``region`` is a
    region code or a prefix of one (an office's code covers its subdivisions)."""

    q: str = ""
    platform: str = ""
    status: str = ""
    region: str = ""

    def key(self) -> tuple[str, str, str, str]:
        return (self.q.strip(), self.platform, self.status, self.region)

    def as_query(self) -> dict[str, str]:
        """The filters that are set, as query-string parameters."""
        names = ("q", "platform", "status", "region")
        return {k: v for k, v in zip(names, self.key(), strict=True) if v}


def _account_conditions(scope: Scope, filters: AccountFilters) -> list[ColumnElement[bool]]:
    """The scope and the filters as conditions on ``accounts`` (and ``sponsor_unit`` when
    searching: the query must join it)."""
    conditions = [scope.clause()]
    if filters.region:
        conditions.append(prefix_clause(region_prefix(filters.region)))
    if filters.platform:
        conditions.append(accounts.c.platform == filters.platform)
    if filters.status:
        conditions.append(accounts.c.status == filters.status)
    if filters.q.strip():
        pattern = _like(filters.q.strip())
        conditions.append(
            or_(
                accounts.c.name.like(pattern, escape="\\"),
                accounts.c.account_id.like(pattern, escape="\\"),
                sponsor_unit.c.name.like(pattern, escape="\\"),
            )
        )
    return conditions


def _source(filters: AccountFilters) -> Any:
    if filters.q.strip():
        return accounts.join(sponsor_unit, accounts.c.sponsor_id == sponsor_unit.c.id)
    return accounts


async def search_accounts(
    db: Database,
    scope: Scope,
    filters: AccountFilters = AccountFilters(),
    *,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """One page of the accounts in scope matching the filters, with the total count."""
    conditions = _account_conditions(scope, filters)
    source = _source(filters)
    count = select(func.count()).select_from(source).where(*conditions)
    # Page the ids alone (an index walk), then join the units for those rows only: a deep
    # OFFSET over the joined listing would build and discard every skipped row.
    page_ids = (
        select(accounts.c.id)
        .select_from(source)
        .where(*conditions)
        .order_by(accounts.c.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    async with db.read() as conn:
        total = int((await conn.execute(count)).scalar_one())
        ids = list((await conn.execute(page_ids)).scalars())
    rows = await accounts_by_ids(db, scope, filters, ids) if ids else []
    return Page(total, page, per_page, rows)


async def matching_ids(db: Database, scope: Scope, filters: AccountFilters) -> array[int]:
    """The ids of every account in scope matching the filters, in ascending order (8 bytes an
    account: the whole listing's total and pages, for a cache to slice).

    The database joins them into one string (``group_concat``, ``string_agg``): reading
    100,000 one-column rows would cost ~40 ms of the event loop's time, parsing the one string
    ~10 ms. Sorted here: an aggregate's order is not guaranteed, and timsort takes the few
    ascending runs of the region index in linear time."""
    matching = (
        select(accounts.c.id)
        .select_from(_source(filters))
        .where(*_account_conditions(scope, filters))
        .subquery()
    )
    query = select(func.aggregate_strings(cast(matching.c.id, String), ","))
    async with db.read() as conn:
        text = (await conn.execute(query)).scalar()
    return array("q", sorted(json.loads(f"[{text}]"))) if text else array("q")


@functools.lru_cache(maxsize=512)
def _rows_by_ids(scope: Scope, filters: AccountFilters) -> Select[Any]:
    """The listing's rows of the accounts whose ids are bound as ``ids``; built once per scope
    and filters (SQLAlchemy then reuses its compiled form without recomputing its cache key)."""
    return (
        listing_select()
        .where(
            accounts.c.id.in_(bindparam("ids", expanding=True)),
            *_account_conditions(scope, filters),
        )
        .order_by(accounts.c.id)
    )


@dataclass(frozen=True, slots=True)
class _DriverQuery:
    """A SELECT compiled once and run on the driver's own connection in one call."""

    sql: str
    params: tuple[Any, ...]  # in placeholder order, the ids' place left empty
    ids_at: int


@functools.cache
def _sqlite_has_json() -> bool:
    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as connection:
            connection.execute("SELECT value FROM json_each('[1]')").fetchall()
    except sqlite3.Error:
        return False
    return True


@functools.lru_cache(maxsize=512)
def _driver_rows_by_ids(
    dialect: Dialect, scope: Scope, filters: AccountFilters
) -> _DriverQuery | None:
    """``_rows_by_ids`` with the ids bound as one parameter, a JSON array on SQLite
    (``json_each``) and an array on PostgreSQL (``= ANY``), so that the text and the parameters
    are fixed. None when a parameter would need converting, or on a SQLite without JSON
    functions (an option before 3.38)."""
    matching: ColumnElement[bool]
    if dialect.name == "sqlite" and _sqlite_has_json():
        values: Select[Any] = select(literal_column("value")).select_from(
            func.json_each(bindparam("ids_param", type_=String()))
        )
        matching = accounts.c.id.in_(values)
    elif dialect.name == "postgresql" and dialect.driver == "asyncpg":
        matching = accounts.c.id == any_(bindparam("ids_param", type_=ARRAY(Integer())))
    else:
        return None
    query = (
        listing_select()
        .where(matching, *_account_conditions(scope, filters))
        .order_by(accounts.c.id)
    )
    compiled = query.compile(dialect=dialect)
    names = list(compiled.positiontup or ())
    params = tuple(compiled.params.get(name) for name in names)
    if names.count("ids_param") != 1 or not all(
        type(value) in (str, int)
        for name, value in zip(names, params, strict=True)
        if name != "ids_param"
    ):
        return None
    return _DriverQuery(compiled.string, params, names.index("ids_param"))


class LoopReader:
    """A plain ``sqlite3`` connection for sub-millisecond reads on the event loop's thread.

    Every aiosqlite call is a round trip to its connection's thread, and with twenty
    requests at once those round trips (each handing the GIL over and back) cost several
    times what SQLite spends on a page of the inventory: up to 200 accounts read by primary
    key, well under a millisecond. ``accounts_by_ids`` runs that query here when given a
    reader, and nothing longer ever does. The connection is in autocommit mode (each statement
    reads its own consistent snapshot, released when its rows are fetched), ``query_only``, and
    never waits for a lock: when SQLite reports the database busy or locked (rare for a WAL
    reader) ``fetch`` returns None and the caller reads through the pool instead."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None

    @classmethod
    def for_database(cls, db: Database) -> LoopReader | None:
        """A reader for ``db`` when it is an SQLite file (None for PostgreSQL, whose driver
        needs no thread, and for in-memory databases)."""
        database = db.url.database
        if not db.is_sqlite or not database or database == ":memory:" or db.url.query:
            return None  # not a plain file (a URI filename's options are not reproduced here)
        return cls(os.path.abspath(database)) if _sqlite_has_json() else None

    def fetch(self, sql: str, params: Sequence[Any]) -> list[Any] | None:
        try:
            if self._connection is None:
                uri = f"{Path(self.path).as_uri()}?mode=rw"  # never creates the file
                connection = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None)
                connection.execute("PRAGMA query_only=ON")
                self._connection = connection
            return self._connection.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            return None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


async def accounts_by_ids(
    db: Database,
    scope: Scope,
    filters: AccountFilters,
    ids: Sequence[int],
    *,
    reader: LoopReader | None = None,
) -> list[dict[str, Any]]:
    """The listing's rows of these accounts, in id order. The scope and the filters are applied
    again, so an account that left them since ``ids`` were found is left out.

    The query runs in one call on the SQLite ``reader`` when given, else on the driver's own
    connection, outside a transaction (one statement reads a consistent snapshot by itself):
    through SQLAlchemy's ``db.read()`` it would cost nine round trips to an aiosqlite
    connection's thread (BEGIN, cursor, execute, fetch, close, COMMIT...) or three to
    PostgreSQL, and a busy console waits for each. The listing's columns need no conversion
    from what the drivers return."""
    driver = _driver_rows_by_ids(db.engine.dialect, scope, filters)
    if driver is None:
        async with db.read() as conn:
            statement = _rows_by_ids(scope, filters)
            return as_records(await conn.execute(statement, {"ids": list(ids)}))
    params = list(driver.params)
    params[driver.ids_at] = json.dumps(list(ids)) if db.is_sqlite else list(ids)
    rows = reader.fetch(driver.sql, params) if reader is not None and db.is_sqlite else None
    if rows is None:
        async with db.engine.connect() as conn:
            connection: Any = (await conn.get_raw_connection()).driver_connection
            if db.is_sqlite:
                rows = await connection.execute_fetchall(driver.sql, params)
            else:
                rows = await connection.fetch(driver.sql, *params)
    return as_records(rows)


async def account_in_scope(db: Database, scope: Scope, ref: str) -> AccountRecord | None:
    """One account with its history, or None when it does not exist or is outside the scope."""
    record = await get_account(db, ref)
    if record is None or not scope.covers(record.fields):
        return None
    return record


async def unit_regions(db: Database, unit: str) -> set[str]:
    """The region codes a unit is registered in: its own and its accounts' (empty for a unit
    the registry does not know yet)."""
    async with db.read() as conn:
        own = await conn.execute(select(units.c.region_code).where(units.c.name == unit))
        held = await conn.execute(
            select(accounts.c.region_code)
            .join(units, accounts.c.sponsor_id == units.c.id)
            .where(units.c.name == unit)
            .distinct()
        )
        return {code for (code,) in own} | {code for (code,) in held}


async def covers_everything(db: Database, scope: Scope) -> bool:
    """Whether no account of the registry lies outside the scope (whole-registry documents
    such as the bulletin are offered only then)."""
    async with db.read() as conn:
        outside = await conn.execute(select(accounts.c.id).where(~scope.clause()).limit(1))
        return outside.first() is None


async def account_activity(db: Database, pk: int) -> dict[str, Any]:
    """The inspections and ledger entries of one account (the caller checked the scope)."""
    async with db.read() as conn:
        result = await conn.execute(
            select(
                runs.c.quarter,
                inspections.c.outcome,
                inspections.c.incomplete_reason,
                inspections.c.problems,
                inspections.c.last_post_at,
                inspections.c.inspected_at,
            )
            .join(runs, inspections.c.run_id == runs.c.id)
            .where(inspections.c.account_pk == pk)
            .order_by(inspections.c.inspected_at.desc())
            .limit(50)
        )
        checks = [dict(r._mapping) for r in result]
    entries = await list_entries(db, where=ledger_entries.c.account_pk == pk)
    return {"inspections": checks, "ledger": entries}


async def ledger_page(
    db: Database,
    scope: Scope,
    *,
    quarter: str = "",
    status: str = "",
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """One page of ledger entries (with history) of the accounts in scope."""
    conditions = [scope.clause()]
    if quarter:
        conditions.append(ledger_entries.c.quarter == quarter)
    if status:
        conditions.append(ledger_entries.c.status == status)
    base = select(ledger_entries.c.id).join(accounts, ledger_entries.c.account_pk == accounts.c.id)
    for condition in conditions:
        base = base.where(condition)
    async with db.read() as conn:
        total = int(
            (await conn.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
        )
        ids = list(
            (
                await conn.execute(
                    base.order_by(ledger_entries.c.id).limit(per_page).offset((page - 1) * per_page)
                )
            ).scalars()
        )
    items = await list_entries(db, where=ledger_entries.c.id.in_(ids)) if ids else []
    return Page(total, page, per_page, items)


async def entry_in_scope(db: Database, scope: Scope, entry_id: int) -> dict[str, Any] | None:
    rows = await list_entries(db, where=(ledger_entries.c.id == entry_id) & scope.clause())
    return rows[0] if rows else None


async def scoped_sample(db: Database, scope: Scope, quarter: str) -> dict[str, Any] | None:
    """The quarter's current sample, only its members in scope; None when not drawn."""
    async with db.read() as conn:
        sample = (
            await conn.execute(
                select(samples)
                .where(samples.c.quarter == quarter, samples.c.current.is_(True))
                .order_by(samples.c.id.desc())
                .limit(1)
            )
        ).first()
        if sample is None:
            return None
        result = await conn.execute(
            account_select()
            .add_columns(sample_members.c.reason, sample_members.c.stratum)
            .join(sample_members, sample_members.c.account_pk == accounts.c.id)
            .where(sample_members.c.sample_id == sample.id, scope.clause())
            .order_by(accounts.c.id)
        )
        members = [dict(r) for r in result.mappings()]
        population = await conn.execute(
            select(func.count())
            .select_from(accounts)
            .where(scope.clause(), accounts.c.status == "正常")
        )
    return {
        "sample_id": sample.id,
        "quarter": sample.quarter,
        "seed": sample.seed,
        "algorithm": sample.algorithm,
        "ratio": sample.ratio,
        "drawn_at": sample.drawn_at,
        "drawn_by": sample.drawn_by,
        "population_in_scope": int(population.scalar_one()),
        "members": members,
    }

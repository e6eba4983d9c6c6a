"""Review records (审核记录): imported per account, read back for the unreviewed-post rule.

A record is identified by (account, url, title); importing it again updates its review times,
so a unit can send the same sheet after its final approvals are filled in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from checks.model import ReviewRecord
from registry import tabular
from registry.accounts_view import by_identity
from registry.db import Database
from registry.errors import Refused
from registry.fields import PLATFORMS
from registry.importing import ImportRefused, RowError, map_headers, refusing
from registry.schema import accounts, review_records
from registry.times import SHANGHAI, parse_time

LEVELS = ("first", "second", "final")
HEADERS = {
    "平台": "platform",
    "账号ID": "account_id",
    "标题": "title",
    "链接": "url",
    "初审人": "first_reviewer",
    "初审时间": "first_reviewed_at",
    "复审人": "second_reviewer",
    "复审时间": "second_reviewed_at",
    "终审人": "final_reviewer",
    "终审时间": "final_reviewed_at",
}
KNOWN = {**HEADERS, **{key: key for key in HEADERS.values()}}
_CHUNK = 400


@dataclass(slots=True)
class ReviewsSummary:
    rows: int = 0
    added: int = 0
    updated: int = 0
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False


def _parse(
    path: Path,
    number: int,
    record: dict[str, Any],
    header_of: dict[str, str],
    errors: list[RowError],
    now: datetime,
) -> dict[str, Any] | None:
    def cell(key: str) -> Any:
        value = record.get(header_of[key]) if key in header_of else None
        return None if value is None or str(value).strip() == "" else value

    start = len(errors)
    row: dict[str, Any] = {"_row": number}
    platform = str(cell("platform") or "").strip()
    if platform not in PLATFORMS:
        errors.append(
            RowError(path, number, header_of["platform"], f"平台 '{platform}' 不在允许的范围内")
        )
    account_id = str(cell("account_id") or "").strip()
    if not account_id:
        errors.append(RowError(path, number, header_of["account_id"], "必填项为空"))
    row["identity"] = (platform, account_id)
    row["title"] = str(cell("title") or "").strip()
    row["url"] = str(cell("url") or "").strip()
    if not row["title"] and not row["url"]:
        errors.append(
            RowError(path, number, header_of.get("title", "标题"), "标题和链接至少填写一项")
        )
    for level in LEVELS:
        row[f"{level}_reviewer"] = str(cell(f"{level}_reviewer") or "").strip()
        raw = cell(f"{level}_reviewed_at")
        try:
            row[f"{level}_reviewed_at"] = None if raw is None else _review_time(raw, now)
        except ValueError as exc:
            errors.append(RowError(path, number, header_of[f"{level}_reviewed_at"], str(exc)))
    return row if len(errors) == start else None


def _review_time(raw: Any, now: datetime) -> datetime:
    """A review time as recorded; one later than now is refused (no review is signed ahead)."""
    moment = parse_time(raw)
    if moment > now + timedelta(minutes=5):
        raise ValueError(f"审核时间 {moment.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 晚于现在")
    return moment


async def _account_ids(
    conn: AsyncConnection, identities: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for clause in by_identity(identities):
        columns = select(accounts.c.platform, accounts.c.account_id, accounts.c.id)
        found.update({(p, a): pk for p, a, pk in await conn.execute(columns.where(clause))})
    return found


async def import_reviews(
    db: Database, path: Path, now: datetime, *, dry_run: bool = False
) -> ReviewsSummary:
    """Load review records; raises ImportRefused (nothing written) on any bad row."""
    summary = ReviewsSummary(dry_run=dry_run)
    try:
        table = tabular.read_table(path)
    except tabular.TableError as exc:
        raise ImportRefused([RowError(path, 1, "-", str(exc))]) from exc
    mapping, warnings, errors = map_headers(path, table.headers, KNOWN, {"platform", "account_id"})
    summary.warnings.extend(warnings)
    if not errors and not ({"title", "url"} & set(mapping.values())):
        errors.append(RowError(path, 1, "标题", "缺少必需的列(标题或链接)"))
    if errors:
        raise ImportRefused(errors)
    header_of = {key: header for header, key in mapping.items()}
    table_rows = refusing(path, table.rows)
    rows = [r for n, rec in table_rows if (r := _parse(path, n, rec, header_of, errors, now))]
    summary.rows = len(rows)
    async with db.read() if dry_run else db.write() as conn:
        pks = await _account_ids(conn, list({r["identity"] for r in rows}))
        for row in rows:
            if row["identity"] not in pks:
                errors.append(
                    RowError(
                        path,
                        row["_row"],
                        header_of["account_id"],
                        f"账号 {row['identity'][0]}:{row['identity'][1]} 未登记",
                    )
                )
        if errors:
            raise ImportRefused(sorted(errors, key=lambda e: e.row))
        records = {}
        for row in rows:
            key = (pks[row["identity"]], row["url"], row["title"])
            records[key] = {
                "account_pk": key[0],
                "url": row["url"],
                "title": row["title"],
                **{
                    f"{lvl}_{part}": row[f"{lvl}_{part}"]
                    for lvl in LEVELS
                    for part in ("reviewer", "reviewed_at")
                },
                "imported_at": now,
            }
        known = await _existing_keys(conn, list(records))
        summary.updated = len(known)
        summary.added = len(records) - len(known)
        if not dry_run and records:
            await _upsert(conn, list(records.values()))
    return summary


async def _existing_keys(
    conn: AsyncConnection, keys: list[tuple[int, str, str]]
) -> set[tuple[int, str, str]]:
    wanted = set(keys)
    pks = sorted({pk for pk, _, _ in keys})
    found: set[tuple[int, str, str]] = set()
    columns = select(review_records.c.account_pk, review_records.c.url, review_records.c.title)
    for start in range(0, len(pks), _CHUNK):
        chunk = columns.where(review_records.c.account_pk.in_(pks[start : start + _CHUNK]))
        found.update(
            key for key in ((pk, u, t) for pk, u, t in await conn.execute(chunk)) if key in wanted
        )
    return found


async def _upsert(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(review_records)
    updated = {
        column: statement.excluded[column]
        for column in rows[0]
        if column not in ("account_pk", "url", "title")
    }
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["account_pk", "url", "title"], set_=updated
        ),
        list(rows),
    )


async def reviews_for(conn: AsyncConnection, account_pk: int) -> list[ReviewRecord]:
    """The review records of one account, as the checks take them."""
    result = await conn.execute(
        select(review_records).where(review_records.c.account_pk == account_pk)
    )
    return [
        ReviewRecord(
            title=r.title or None,
            url=r.url or None,
            **{f"{lvl}_reviewer": getattr(r, f"{lvl}_reviewer") or None for lvl in LEVELS},
            **{f"{lvl}_reviewed_at": getattr(r, f"{lvl}_reviewed_at") for lvl in LEVELS},
        )
        for r in result
    ]


class ReviewRefused(Refused):
    """A review record submitted through the API was refused; nothing was written."""


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise ReviewRefused(f"{key}: 应为字符串")
    return (value or "").strip()


def review_account(record: Mapping[str, Any]) -> tuple[str, str]:
    """The (platform, account ID) a submitted review record names; raises ReviewRefused."""
    platform, account_id = _text(record, "platform"), _text(record, "account_id")
    if platform not in PLATFORMS:
        raise ReviewRefused(f"platform (平台): '{platform}' 不在允许的范围内")
    if not account_id:
        raise ReviewRefused("account_id (账号ID): 必填项为空")
    return platform, account_id


async def submit_review(db: Database, record: Mapping[str, Any], now: datetime) -> tuple[int, bool]:
    """Store one review record (a unit's publishing system posting an approved post), with the
    import's rules; returns (account pk, whether it was new). Raises ReviewRefused."""
    unknown = sorted(set(record) - set(HEADERS.values()))
    if unknown:
        raise ReviewRefused(f"未知字段: {', '.join(unknown)}")
    platform, account_id = review_account(record)
    values: dict[str, Any] = {"title": _text(record, "title"), "url": _text(record, "url")}
    if not values["title"] and not values["url"]:
        raise ReviewRefused("title (标题) 和 url (链接) 至少填写一项")
    for level in LEVELS:
        values[f"{level}_reviewer"] = _text(record, f"{level}_reviewer")
        raw = _text(record, f"{level}_reviewed_at")
        try:
            values[f"{level}_reviewed_at"] = _review_time(raw, now) if raw else None
        except ValueError as exc:
            raise ReviewRefused(f"{level}_reviewed_at: {exc}") from exc
    async with db.write() as conn:
        pks = await _account_ids(conn, [(platform, account_id)])
        if (platform, account_id) not in pks:
            raise ReviewRefused(f"账号 {platform}:{account_id} 未登记")
        pk = pks[(platform, account_id)]
        known = await _existing_keys(conn, [(pk, values["url"], values["title"])])
        await _upsert(conn, [{"account_pk": pk, **values, "imported_at": now}])
    return pk, not known

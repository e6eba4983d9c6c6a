"""``ledger export``: the quarter's ledger for accountability review, as XLSX, CSV or JSON.

Every export carries the chain head (the digest of the last ledger record it reflects), so a
reviewer can match the file against ``govmedia ledger verify`` on the database. The export shows
the ledger exactly as it stood at that record, even while the monitor keeps writing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement

from monitor.cities import city_code, city_name
from registry import tabular
from registry.db import Database
from registry.ledger_chain import head_record
from registry.ledger_query import KEYS, iter_entries
from registry.ledger_status import LedgerStatus
from registry.times import SHANGHAI
from registry.xlsx_stream import HEADER_STYLE, XlsxStream

FORMATS = ("xlsx", "csv", "json")
SEVERITY_LABELS = {"veto": "单项否决", "serious": "严重问题"}
# (key, Chinese header, column width) for the entries sheet and the CSV
COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("entry_id", "编号", 8),
    ("quarter", "检查批次", 10),
    ("platform", "平台", 12),
    ("account_id", "账号ID", 18),
    ("account_name", "账号名称", 22),
    ("sponsor", "主办单位(责任单位)", 32),
    ("region_code", "行政区划代码", 13),
    ("problem_code", "问题代码", 18),
    ("problem_label", "问题类别", 26),
    ("severity", "严重程度", 10),
    ("description", "问题描述", 48),
    ("evidence", "证据", 60),
    ("last_post_at", "检查时最近更新时间", 18),
    ("detected_at", "发现时间", 18),
    ("deadline", "整改时限", 12),
    ("status", "整改状态", 11),
    ("history", "整改记录", 48),
    ("digest", "完整性摘要", 22),
    # the interface's columns come first, in its order: it is extended only at the end
    ("deadline_provisional", "时限待定", 9),
)
HEADERS = tuple(header for _, header, _ in COLUMNS)
CHAIN_HEAD_LABEL = "记录链头摘要(chain_head)"
assert {key for key, _, _ in COLUMNS} == set(KEYS)


@dataclass(slots=True)
class _Tally:
    entries: int = 0
    accounts: set[tuple[str, str]] = field(default_factory=set)
    closed: int = 0
    overdue: int = 0

    def add(self, row: dict[str, Any]) -> None:
        self.entries += 1
        self.accounts.add((row["platform"], row["account_id"]))
        if row["status"] == LedgerStatus.CLOSED:
            self.closed += 1
        elif row["status"] == LedgerStatus.OVERDUE:
            self.overdue += 1

    def cells(self) -> list[int]:
        return [
            self.entries,
            len(self.accounts),
            self.closed,
            self.entries - self.closed,
            self.overdue,
        ]


@dataclass(slots=True)
class Summary:
    """Counts by city and by problem, gathered while the entries stream past."""

    by_city: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    by_problem: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    problem_labels: dict[str, tuple[str, str]] = field(default_factory=dict)
    sponsors: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    total: _Tally = field(default_factory=_Tally)

    def add(self, row: dict[str, Any]) -> None:
        city = city_code(row["region_code"])
        self.by_city[city].add(row)
        self.sponsors[city].add(row["sponsor"])
        self.by_problem[row["problem_code"]].add(row)
        self.problem_labels[row["problem_code"]] = (row["problem_label"], row["severity"])
        self.total.add(row)


@dataclass(frozen=True, slots=True)
class ExportResult:
    count: int
    chain_head: str | None
    exported_at: datetime


def _time_text(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def evidence_text(evidence: Sequence[dict[str, Any]]) -> str:
    lines = []
    for item in evidence:
        published = item.get("published_at")
        when = (
            _time_text(datetime.fromisoformat(published).astimezone(SHANGHAI)) if published else ""
        )
        parts = [when, item.get("title") or "", item.get("url") or ""]
        line = " ".join(p for p in parts if p)
        if item.get("excerpt"):
            line += f" 摘录: {item['excerpt']}"
        lines.append(line)
    return "\n".join(lines)


def history_text(history: Sequence[dict[str, Any]]) -> str:
    lines = []
    for item in history:
        change = f"{item['from']}→{item['status']}" if item.get("from") else item["status"]
        note = f"({item['note']})" if item.get("note") else ""
        lines.append(f"{_time_text(item['at'])} {item['actor']}: {change}{note}")
    return "\n".join(lines)


def sheet_values(row: dict[str, Any], *, text_times: bool = False) -> list[Any]:
    """One entry as the cells of the entries sheet (real dates unless ``text_times``)."""
    values: list[Any] = []
    for key, _, _ in COLUMNS:
        value = row[key]
        if key == "severity":
            value = SEVERITY_LABELS.get(value, value)
        elif key == "evidence":
            value = evidence_text(value)
        elif key == "history":
            value = history_text(value)
        elif key == "deadline_provisional":
            value = "是" if value else ""
        elif isinstance(value, datetime):
            value = _time_text(value) if text_times else value.replace(tzinfo=None)
        elif isinstance(value, date) and text_times:
            value = value.isoformat()
        values.append(value)
    return values


async def export_ledger(
    db: Database,
    path: Path,
    fmt: str,
    *,
    quarter: str,
    now: datetime,
    where: ColumnElement[bool] | None = None,
) -> ExportResult:
    """Write the quarter's ledger to ``path`` in ``fmt`` (xlsx, csv or json); ``where`` narrows
    the entries (the web console passes the user's scope)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    async with db.read() as conn:
        head = await head_record(conn)
        upto, chain_head = head if head else (0, None)
        pages = iter_entries(conn, quarter=quarter, upto=upto, where=where)
        exported_at = now.astimezone(SHANGHAI)
        if fmt == "json":
            entries = [row async for page in pages for row in page]
            tabular.write_json(
                path,
                {
                    "quarter": quarter,
                    "chain_head": chain_head,
                    "exported_at": exported_at,
                    "entries": [{key: row[key] for key in KEYS} for row in entries],
                },
            )
            return ExportResult(len(entries), chain_head, exported_at)
        rows: list[dict[str, Any]] = []
        summary = Summary()
        if fmt == "csv":
            async for page in pages:
                rows.extend(page)
            tabular.write_csv(path, HEADERS, _csv_rows(rows, chain_head, exported_at))
            return ExportResult(len(rows), chain_head, exported_at)
        with XlsxStream(path) as book:
            with book.sheet("整改台账", HEADERS, widths=[w for _, _, w in COLUMNS]) as sheet:
                async for page in pages:
                    for row in page:
                        summary.add(row)
                        sheet.append(sheet_values(row))
            _write_summary(book, summary)
            _write_notes(book, quarter, chain_head, exported_at, summary.total.entries)
        return ExportResult(summary.total.entries, chain_head, exported_at)


def _csv_rows(
    rows: list[dict[str, Any]], chain_head: str | None, exported_at: datetime
) -> Iterator[list[Any]]:
    for row in rows:
        yield sheet_values(row, text_times=True)
    # The trailer: the header stays on row 1, so Excel and other tools import the table as is.
    yield [CHAIN_HEAD_LABEL, chain_head or "", "导出时间", _time_text(exported_at)]


_TALLY_HEADERS = ["问题条目", "涉及账号", "已销号", "未销号", "其中已逾期"]


def _write_summary(book: XlsxStream, summary: Summary) -> None:
    headers = ["市(州)", "行政区划代码", *_TALLY_HEADERS]
    widths = [22, 14, 10, 10, 10, 10, 12, 10]
    with book.sheet("汇总", headers, widths=widths, auto_filter=False) as sheet:
        for code in sorted(summary.by_city):
            name = city_name(code, summary.sponsors[code])
            sheet.append([name, code, *summary.by_city[code].cells()])
        sheet.append(["合计", "", *summary.total.cells()])
        sheet.append([])
        sheet.append(["问题类别", "问题代码", "严重程度", *_TALLY_HEADERS], style=HEADER_STYLE)
        order = sorted(summary.by_problem, key=lambda c: (-summary.by_problem[c].entries, c))
        for code in order:
            label, severity = summary.problem_labels[code]
            sheet.append(
                [
                    label,
                    code,
                    SEVERITY_LABELS.get(severity, severity),
                    *summary.by_problem[code].cells(),
                ]
            )
        sheet.append(["合计", "", "", *summary.total.cells()])


def _write_notes(
    book: XlsxStream, quarter: str, chain_head: str | None, exported_at: datetime, count: int
) -> None:
    with book.sheet("说明", ["项目", "内容"], widths=[26, 80], auto_filter=False) as sheet:
        sheet.append(["检查批次", quarter])
        sheet.append(["导出时间", exported_at.replace(tzinfo=None)])
        sheet.append(["条目数", count])
        sheet.append([CHAIN_HEAD_LABEL, chain_head or "(台账为空)"])
        sheet.append(
            [
                "核对方法",
                "在数据库上运行 govmedia ledger verify:校验通过且输出的记录链头摘要与本文件一致,"
                "即本文件反映的台账记录未被改动或删除。",
            ]
        )

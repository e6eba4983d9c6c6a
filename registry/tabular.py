"""Reading and writing the spreadsheets offices exchange: CSV (UTF-8, BOM, GB18030), XLSX, JSON.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@")


class TableError(ValueError):
    """The file cannot be read as a table; the message names the file, or else ``row`` (the
    row where reading failed) goes with it."""

    def __init__(self, message: str, row: int = 1, column: str = "-") -> None:
        super().__init__(message)
        self.row = row
        self.column = column


def _check_headed(headers: tuple[str, ...], record: Sequence[Any], number: int) -> None:
    """Refuse a row with data in a column that has no header (a merged or blank header cell,
    or cells past the last header): that data would otherwise be dropped without a word."""
    for index, cell in enumerate(record):
        if (index >= len(headers) or not headers[index]) and not blank(cell):
            raise TableError(
                "该列有数据但没有表头: 请补上表头或删去该列的数据", number, f"第{index + 1}列"
            )


def blank(cell: Any) -> bool:
    """Whether a cell as read holds nothing: none, or only spaces."""
    return cell is None or (isinstance(cell, str) and not cell.strip())


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: Iterable[tuple[int, dict[str, Any]]]  # (row number, header -> cell value)


def read_table(path: Path) -> Table:
    """Open a CSV, XLSX or JSON file as a table of header -> value rows."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            return _read_xlsx(path)
        if suffix == ".json":
            return _read_json(path)
        if suffix in (".csv", ".txt"):
            return _read_csv(path)
    except OSError as exc:
        raise TableError(f"{path}: 无法读取文件 ({exc.strerror})") from exc
    raise TableError(f"{path}: 不支持的文件类型 '{suffix}'(应为 .csv、.xlsx 或 .json)")


def decode_csv_bytes(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM) first, then GB18030, as Excel in China saves it."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding).removeprefix("\ufeff")  # GB18030's BOM decodes to it
        except UnicodeDecodeError:
            continue
    raise TableError(f"{path}: 无法识别文件编码(支持 UTF-8、UTF-8 BOM、GB18030)")


def _read_csv(path: Path) -> Table:
    text = decode_csv_bytes(path.read_bytes(), path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header_row = next(reader, None)
    except csv.Error as exc:
        raise TableError(f"{path}: {_csv_error(exc)}") from exc
    if header_row is None:
        raise TableError(f"{path}: 文件为空")
    headers = tuple(h.strip() for h in header_row)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        number = 1
        try:
            for number, record in enumerate(reader, start=2):
                if any(cell.strip() for cell in record):
                    _check_headed(headers, record, number)
                    yield number, {h: _restore(v) for h, v in zip(headers, record, strict=False)}
        except csv.Error as exc:  # an unbalanced quote, most often
            raise TableError(_csv_error(exc), number + 1) from exc

    return Table(headers, rows())


def _csv_error(exc: csv.Error) -> str:
    return f"CSV 格式错误,请检查该行起的引号是否成对 ({exc})"


def _restore(value: str) -> str:
    """Undo ``neutralise`` so that an exported CSV imports back unchanged."""
    if value[:1] == "'" and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


#: Excel keeps 15 significant digits: a number cell this large has already lost some
EXCEL_EXACT_LIMIT = 10**15


def _cell(value: Any) -> Any:
    if isinstance(value, float) and abs(value) >= EXCEL_EXACT_LIMIT:
        return value  # left a number: the field refuses it (its digits cannot be trusted)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise TableError(f"{path}: 不是有效的 XLSX 文件 ({exc})") from exc
    sheet = workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    header_row = next(values, None)
    if header_row is None:
        workbook.close()
        raise TableError(f"{path}: 工作表为空")
    headers = tuple("" if h is None else str(h).strip() for h in header_row)
    ignored = [s.title for s in workbook.worksheets[1:] if _more_of(s, headers)]
    if ignored:
        workbook.close()
        names = "、".join(ignored)
        raise TableError(
            f"{path}: 只能导入一个工作表, 但工作表 {names} 也有数据: 请合并到第一个工作表或分别导入"
        )

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            for number, record in enumerate(values, start=2):
                if any(cell not in (None, "") for cell in record):
                    _check_headed(headers, record, number)
                    yield number, {h: _cell(v) for h, v in zip(headers, record, strict=False)}
        finally:
            workbook.close()

    return Table(headers, rows())


def _more_of(sheet: Any, headers: tuple[str, ...]) -> bool:
    """Whether ``sheet`` holds records under the first sheet's headers (the national template
    has a sheet per unit), not notes: more than half the headers, and a row under them."""
    rows = sheet.iter_rows(values_only=True)
    first = {str(h).strip() for h in next(rows, ()) if h is not None}
    named = {h for h in headers if h}
    if len(first & named) * 2 <= len(named):
        return False
    return any(any(cell not in (None, "") for cell in row) for row in rows)


def _read_json(path: Path) -> Table:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: 不是有效的 JSON ({exc})") from exc
    if isinstance(data, dict) and len(data) == 1:
        data = next(iter(data.values()))
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise TableError(f"{path}: JSON 应为对象数组")
    headers: dict[str, None] = {}
    for item in data:
        headers.update(dict.fromkeys(item))
    return Table(tuple(headers), ((n, item) for n, item in enumerate(data, start=2)))


def neutralise(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is made inert by a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """CSV with a BOM, so that Excel shows the Chinese correctly."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([_text(neutralise(v)) for v in row])


def _text(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return "" if value is None else value


def write_xlsx(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str = "Sheet1",
    widths: Sequence[int] | None = None,
) -> None:
    """A single-sheet XLSX, streamed, with a frozen, filtered header row (``xlsx_stream``)."""
    from registry.xlsx_stream import XlsxStream  # it imports this module

    with XlsxStream(path) as book, book.sheet(title, headers, widths=widths) as sheet:
        for row in rows:
            sheet.append(row)


def write_json(path: Path, document: Any) -> None:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=1, default=_json_default)
        handle.write("\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

"""What every all-or-nothing import shares: row errors, header mapping, the refusal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry import tabular
from registry.errors import Refused


@dataclass(frozen=True, slots=True)
class RowError:
    path: Path
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.row}:{self.column}: {self.message}"


class ImportRefused(Refused):
    """The file was refused as a whole; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def map_headers(
    path: Path, headers: tuple[str, ...], known: Mapping[str, str], required: set[str]
) -> tuple[dict[str, str], list[str], list[RowError]]:
    """header -> key for the known headers, warnings for unknown ones, errors for missing ones."""
    mapping: dict[str, str] = {}
    warnings: list[str] = []
    errors: list[RowError] = []
    for header in headers:
        key = known.get(header)
        if key is None:
            if header:
                warnings.append(f"{path}: 忽略未知列 “{header}”")
        elif key in mapping.values():
            errors.append(RowError(path, 1, header, "列重复"))
        else:
            mapping[header] = key
    for key in sorted(required - set(mapping.values())):
        label = next((h for h, k in known.items() if k == key and h != key), key)
        errors.append(RowError(path, 1, label, "缺少必需的列"))
    return mapping, warnings, errors


def open_import(
    path: Path, known: Mapping[str, str], required: set[str], warnings: list[str]
) -> tuple[Iterable[tuple[int, dict[str, Any]]], dict[str, str]]:
    """The file's rows and key -> header, its unknown columns added to ``warnings``.

    Raises ImportRefused when the file cannot be read or a required column is missing.
    """
    try:
        table = tabular.read_table(path)
    except tabular.TableError as exc:
        raise ImportRefused([RowError(path, 1, "-", str(exc))]) from exc
    mapping, unknown, errors = map_headers(path, table.headers, known, required)
    warnings.extend(unknown)
    if errors:
        raise ImportRefused(errors)
    return refusing(path, table.rows), {key: header for header, key in mapping.items()}


def refusing(
    path: Path, rows: Iterable[tuple[int, dict[str, Any]]]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``rows``, a file that turns out unreadable midway refused like a bad row."""
    try:
        yield from rows
    except tabular.TableError as exc:
        raise ImportRefused([RowError(path, exc.row, exc.column, str(exc))]) from exc

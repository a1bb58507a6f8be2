"""Writing exports staff open in Excel or WPS as CSV or XLSX, with formula injection escaped
(safety.md §4.7): a text cell that starts with = + - @, a tab or a carriage return gets a
leading apostrophe, so a resident's answer is never run as a formula."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell value that cannot be read as a formula (numbers stay numbers)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
        return "'" + text if text.startswith(FORMULA_STARTS) else text
    return value


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A UTF-8 CSV with a byte-order mark, so Excel shows Chinese correctly."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([safe_cell(v) for v in header])
        writer.writerows([safe_cell(v) for v in row] for row in rows)


def write_xlsx(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str
) -> None:
    """One sheet: the header row, then the rows; every text cell is stored as text."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _sheet_title(title)
    for row in [header, *rows]:
        sheet.append([_xlsx_cell(v) for v in row])
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never "f" (formula), whatever the text looks like
    book.save(path)


def _xlsx_cell(value: Any) -> Any:
    cell = safe_cell(value)
    return ILLEGAL_CHARACTERS_RE.sub("", cell) if isinstance(cell, str) else cell


def _sheet_title(title: str) -> str:
    cleaned = "".join(" " if c in "[]:*?/\\" else c for c in title).strip() or "Sheet"
    return cleaned[:31]  # Excel's limit

"""Cell addresses: column letters and ``A1`` references, as a clerk sees them.

The one place that converts between letters and indexes: the sheet-XML patcher, the
fast city rows, shared formulas, the in-place writer, the formulas and the workbook
builders all call these helpers (rows 1-based, columns 0-based, as everywhere in xlz).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import TypeAlias

# What an engine hands the core for one cell.
CellValue: TypeAlias = "str | int | float | bool | dt.datetime | dt.date | dt.time | None"
"""What an engine hands the core for one cell."""

# The most characters one Excel cell holds (Excel specifications and limits). Longer
# text from another program is cut when Excel opens the file; xlz refuses it instead
# (workbook.cell.too_long) and never writes longer text itself.
CELL_TEXT_LIMIT = 32_767
CUT_MARK = "…（超出 Excel 单元格上限，以下已截去）"


def fit_cell(text: str) -> str:
    """``text`` as one cell can hold it: unchanged when it fits, else cut with
    :data:`CUT_MARK` at the end, so that a reader sees it was cut. (Town entries never
    get here cut: the validator refuses them first; this keeps a finding's quoted value
    or a file name from being cut silently.)"""
    if len(text) <= CELL_TEXT_LIMIT:
        return text
    return text[:CELL_TEXT_LIMIT - len(CUT_MARK)] + CUT_MARK

_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


@functools.lru_cache(maxsize=1024)
def column_letter(index: int) -> str:
    """0-based column index → ``A``, ``B`` … ``AA``."""
    if index < 0:
        raise ValueError(index)
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """``A`` → 0, ``AA`` → 26 (``$`` and case ignored); ``ValueError`` for anything
    that is not column letters."""
    letters = letters.lstrip("$")
    if not (letters.isascii() and letters.isalpha()):
        raise ValueError(f"not a column: {letters!r}")
    index = 0
    for ch in letters.upper():
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def cell_ref(row: int, col: int) -> str:
    """1-based row and 0-based column → ``D12``."""
    return f"{column_letter(col)}{row}"


def parse_ref(ref: str) -> tuple[int, int]:
    """``D12`` → (12, 3): 1-based row, 0-based column."""
    match = _REF.match(ref)
    if match is None:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(match.group(2)), column_index(match.group(1))


def range_ref(first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    """Corners (1-based rows, 0-based columns) → ``A1:D12``; one cell → ``A1``."""
    first = cell_ref(first_row, first_col)
    if (first_row, first_col) == (last_row, last_col):
        return first
    return f"{first}:{cell_ref(last_row, last_col)}"


def parse_range(ref: str) -> tuple[int, int, int, int]:
    """``A1:D12`` (or one cell, ``A1``) → (first row, first col, last row, last col)."""
    first, _, last = ref.partition(":")
    r1, c1 = parse_ref(first)
    r2, c2 = parse_ref(last) if last else (r1, c1)
    return r1, c1, r2, c2


def display(value: object) -> str:
    """A value as a clerk would recognise it in a message."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)

"""Shared formulas: one formula text for a filled-down column, as Excel stores it.

A town template repeats the same ~3 KB live check on every prepared row; written out
per cell that is 3.8 MB of sheet XML that every reader (calamine, openpyxl, the clerk's
Excel) has to parse. Excel itself stores a filled-down formula once: the first cell
carries ``<f t="shared" ref="U3:U1001" si="0">…</f>`` and the others ``<f t="shared"
si="0"/>``, each meaning "the first cell's formula, moved down by my distance to it".

That meaning is only ours to use when it is true, so this module proves it: a formula
is shared only with rows whose own formula equals the first one translated by the row
distance, with the translation Excel applies (:func:`row_shifter`). Anything the
translator does not model (whole-row ranges such as ``2:5``, structured or external
references ``[…]``) makes it decline, and the rows are written one formula each.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from xlz.core.cells import column_index

MAX_ROW: Final = 1_048_576
MAX_COLUMN: Final = 16_384  # XFD: a longer "column" (XYZ1) is a defined name, not a cell

# One token per match, tried in this order at every position:
# - a string literal or a quoted sheet name is copied as it is (Excel never shifts text);
# - ``[`` (structured or external reference) and a whole-row range are not modelled;
# - an A1 reference: not glued to a longer name on the left (``TAX2023X``, ``项目A1``,
#   ``_xlfn.X1``) or on the right (a function ``LOG10(``, a sheet name ``A1!``).
_TOKEN: Final = re.compile(
    r"""
      (?P<text>"(?:[^"]|"")*"|'(?:[^']|'')*')
    | (?P<unsupported>\[|(?<![\w.$:])\$?\d+:\$?\d+(?![\w.(]))
    | (?<![\w.$])(?P<col>\$?[A-Za-z]{1,3})(?P<abs>\$?)(?P<row>\d+)(?![\w.(!])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Ref:
    prefix: str  # the column part as written, ``$`` included
    row: int
    absolute: bool


def row_shifter(formula: str) -> Callable[[int], str | None] | None:
    """A function giving ``formula`` moved down by ``n`` rows (up for negative ``n``),
    as Excel translates a copied or shared formula: relative row numbers change, ``$``
    rows, columns, names, function names, numbers and text do not. It returns None when
    a reference would leave the sheet (Excel would write ``#REF!``). None instead of a
    function when the formula holds something this translator does not model."""
    pieces: list[str | _Ref] = []
    last = 0
    for m in _TOKEN.finditer(formula):
        if m.group("unsupported"):
            return None
        if m.group("text"):
            continue
        col = m.group("col")
        row = int(m.group("row"))
        if not 1 <= row <= MAX_ROW:
            return None  # neither a cell nor an ordinary name: do not guess
        if column_index(col.lstrip("$")) >= MAX_COLUMN:
            continue  # a defined name that looks like a reference (XYZ1): never shifted
        pieces.append(formula[last:m.start()])
        pieces.append(_Ref(col + m.group("abs"), row, bool(m.group("abs"))))
        last = m.end()
    pieces.append(formula[last:])

    def shift(n: int) -> str | None:
        out: list[str] = []
        for piece in pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            row = piece.row if piece.absolute else piece.row + n
            if not 1 <= row <= MAX_ROW:
                return None
            out.append(f"{piece.prefix}{row}")
        return "".join(out)

    return shift


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive rows of one column whose formulas are the first one's, shifted."""

    first: int
    last: int

    @property
    def shared(self) -> bool:
        return self.last > self.first  # one cell: a plain formula says the same, simpler


def shared_runs(formulas: Sequence[tuple[int, str]]) -> list[Run]:
    """Split ``(row, formula)`` pairs (ascending rows of one column) into runs; every row
    of a run was checked to hold its first row's formula translated to it."""
    runs: list[Run] = []
    i = 0
    while i < len(formulas):
        first, master = formulas[i]
        shift = row_shifter(master)
        j = i + 1
        while shift is not None and j < len(formulas):
            row, formula = formulas[j]
            if row != first + (j - i) or shift(row - first) != formula:
                break
            j += 1
        runs.append(Run(first, formulas[j - 1][0]))
        i = j
    return runs

"""The area a worksheet part spans, and the counts a part declares, measured before the
reader trusts them.

python-calamine turns a sheet into one dense grid from its first to its last cell: a
5 KB workbook holding ``A1`` and one value in ``XFD1048576`` (the last cell of a sheet —
a Ctrl+End slip, or a file made on purpose) asks for 16384 × 1048576 cells of 32 bytes,
512 GB. Rust cannot allocate that and aborts the whole process: no exception, no
message, and in ``consolidate`` every town's submission of the round with it (found by
the fuzzer, tests/corpus/). :func:`sheet_extent` finds the area from the cell and row
references in the part's bytes, so that a reader is never handed such a sheet.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

# A row's r="12" or a cell's r="AB12" (with or without a namespace prefix on the element;
# the attribute itself is never prefixed in SpreadsheetML).
# Wider than Excel's own limits (XFD, 1048576) on purpose: a reader takes what the file
# says, and a row of 99999999 is a bigger grid, not an invalid one, to calamine.
_REF: Final = re.compile(rb'\sr="([A-Za-z]{0,8})([0-9]{1,12})"')
# A reference past column ZZ (702) or row 9,999: without one, a sheet spans at most
# 702 × 9,999 cells and needs no full scan. One search (~2.5 ms per MB of sheet XML)
# instead of a match per cell (~15 ms per MB): town sheets rarely have one.
# (No \s before r=: a literal start keeps the search fast; another attribute ending in
# "r" can only send a sheet to the full scan, never past it.) Three letters count only
# when a digit follows, as in every reference _REF takes: the root element's
# xmlns:r="http://..." is in every worksheet Excel writes, and matched it sent every
# sheet to the full scan (8 ms of a 200-row town file's 22 ms; bench/README.md).
_FAR: Final = re.compile(rb'r="(?:[A-Za-z]{3,8}[0-9]|[A-Za-z]{0,2}[0-9]{5})')
_NEAR_CELLS: Final = 702 * 9_999


class Extent(NamedTuple):
    """First and last row and column (1-based) referenced in a sheet part."""

    first_row: int
    last_row: int
    first_col: int
    last_col: int

    @property
    def cells(self) -> int:
        """How many cells the dense grid from the first to the last reference holds."""
        return (self.last_row - self.first_row + 1) * (self.last_col - self.first_col + 1)


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def sheet_extent(xml: bytes) -> Extent | None:
    """The extent of the references in a worksheet part, or None when it has none."""
    rows: set[int] = set()
    cols: set[bytes] = set()
    for match in _REF.finditer(xml):
        letters, digits = match.groups()
        rows.add(int(digits))
        if letters:
            cols.add(letters)
    if not rows:
        return None
    numbers = [_column(c) for c in cols] or [1]
    return Extent(min(rows), max(rows), min(numbers), max(numbers))


def too_large(xml: bytes, max_cells: int) -> Extent | None:
    """The extent of a worksheet part when its grid would hold more than ``max_cells``
    cells, else None (cheaply, when no reference is far out)."""
    if max_cells >= _NEAR_CELLS and _FAR.search(xml) is None:
        return None
    extent = sheet_extent(xml)
    return extent if extent is not None and extent.cells > max_cells else None


_UNIQUE_COUNT: Final = re.compile(rb'<(?:\w+:)?sst\b[^>]*?\suniqueCount="([0-9]{1,20})"')
_SMALLEST_ITEM: Final = len(b"<si/>")


def impossible_string_count(xml: bytes) -> int | None:
    """The ``uniqueCount`` a shared-strings part declares when its bytes cannot hold that
    many strings (each ``<si/>`` takes 5 bytes), else None. calamine reserves room for
    the declared count before reading: ``uniqueCount="4294967295"`` in a 9 KB part asks
    for 103 GB and aborts the process (found by the fuzzer, tests/corpus/)."""
    match = _UNIQUE_COUNT.search(xml, 0, 4096)
    if match is None:
        return None
    declared = int(match.group(1))
    return declared if declared > len(xml) // _SMALLEST_ITEM + 1 else None


SHARED_STRINGS: Final = "xl/sharedStrings.xml"


class Refusal(NamedTuple):
    """Why a part must not reach the reader: a shared-strings part's impossible
    ``declared`` count, or a worksheet part's too large ``extent``."""

    part: str
    declared: int | None = None
    extent: Extent | None = None


def measured(name: str) -> bool:
    """Whether :func:`refusal` looks at the part ``name`` (the others pass unread)."""
    return name == SHARED_STRINGS or (name.startswith("xl/worksheets/") and name.endswith(".xml"))


def refusal(name: str, xml: bytes, max_cells: int) -> Refusal | None:
    """What is wrong with the part ``name`` of bytes ``xml`` for a reader, or None: the
    checks of :func:`impossible_string_count` and :func:`too_large`."""
    if name == SHARED_STRINGS:
        declared = impossible_string_count(xml)
        if declared is not None:
            return Refusal(name, declared=declared)
    if name.startswith("xl/worksheets/") and name.endswith(".xml"):
        extent = too_large(xml, max_cells)
        if extent is not None:
            return Refusal(name, extent=extent)
    return None

"""A sheet of the city workbook as it is written and printed (issue 12).

Written row by row (xlsxwriter's ``constant_memory``), text always as text. Printed the
way the city office uses it at meetings: A4 landscape; the workbook's title, the
sheet's name and the period (截至日期) in the page header of every page; 第 N 页 / 共 M
页 in the footer; the header row repeated on every page. Row 1 stays the header row
(docs/standard.md section 5), so the title lives in the page header, not in a cell.

Width: a sheet whose printed columns fit the page is printed at 100 %; one slightly
wider is fitted to one page wide (never below ~80 %); a wider one is not shrunk into
unreadability but split across pages at column boundaries, its first columns (the
town, the name) repeated on each, pages numbered across then down. Provenance columns
(file, SHA-256, sheet, row) are left outside the print area: they are for tracing a
figure on screen, not for paper.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from xlz.books.xlsxwriter_internals import RowWriter
from xlz.core.cells import fit_cell

# Page width in pixels of a column-width unit: what A4 landscape holds between 1 cm
# margins at 100 %, and up to where fitting to the page width still prints at ~80 % or
# more. Measured with LibreOffice, whose stand-in for Calibri (DejaVu Sans where Carlito
# is not installed) makes a unit ~9 px against Excel's and WPS's 7: what fits there
# fits in Excel and WPS with room to spare.
PAGE_PX = 950.0
FIT_PX = 1190.0


def column_px(width: float) -> float:
    return 9 * width + 5
_ALL_ROWS = 1_048_575
_A4 = 9


@dataclass(frozen=True, slots=True)
class PageTitle:
    """What the page header says: the workbook's title and the period."""

    title: str
    period: dt.date
    period_source: str

    def header(self, sheet: str) -> str:
        def esc(text: str) -> str:
            return text.replace("&", "&&")

        # The size code goes before the font code: "&12" followed by "2023年" would
        # read as one size, &122023.
        return (f'&L&12&"-,Bold"{esc(self.title)}&C&12&"-,Bold"{esc(sheet)}'
                f"&R&10截至 {self.period:%Y-%m-%d}")


def column_breaks(widths: Sequence[float], repeat: int, page: float = PAGE_PX) -> list[int]:
    """Where to break a row of columns across pages: greedily as many columns as fit
    beside the ``repeat`` first ones (repeated on every page). A column wider than a page
    gets a page of its own."""
    px = [column_px(w) for w in widths]
    fixed = sum(px[:repeat])
    breaks: list[int] = []
    used = fixed
    for col in range(repeat, len(px)):
        if used + px[col] > page and used > fixed:
            breaks.append(col)
            used = fixed
        used += px[col]
    return breaks


class CitySheet:
    """A worksheet written row by row, text always as text, set up for printing."""

    def __init__(self, book: Any, name: str, formats: dict[str, Any], page: PageTitle
                 ) -> None:
        self.book = book
        self.name = name
        self.ws = book.add_worksheet(name)
        self.f = formats
        self.row = 0
        ws = self.ws
        ws.set_landscape()
        ws.set_paper(_A4)
        ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
        ws.set_header(page.header(name), {"margin": 0.3})
        ws.set_footer("&C&9第 &P 页，共 &N 页", {"margin": 0.3})
        ws.repeat_rows(0)

    def put(self, row: int, col: int, value: Any, fmt: Any = None) -> None:
        ws = self.ws
        if value is None:
            if fmt is not None:
                ws.write_blank(row, col, None, fmt)
        elif isinstance(value, str):
            ws.write_string(row, col, fit_cell(value), fmt)  # xlsxwriter would cut silently
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value, fmt)
        elif isinstance(value, (int, float)):
            ws.write_number(row, col, value, fmt)
        elif isinstance(value, dt.datetime):
            ws.write_datetime(row, col, value, fmt or self.f["datetime"])
        elif isinstance(value, dt.date):
            ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()),
                              fmt or self.f["date"])
        else:
            ws.write_string(row, col, fit_cell(str(value)), fmt)

    def line(self, values: Sequence[Any], fmt: Any = None, formats: Sequence[Any] = ()) -> int:
        row = self.row
        for col, value in enumerate(values):
            self.put(row, col, value, formats[col] if col < len(formats) and formats[col]
                     else fmt)
        self.row += 1
        return row

    def lines(self, rows: Iterable[tuple[Sequence[Any], Any, Sequence[Any]]]) -> None:
        """:meth:`line` for each ``(values, fmt, formats)``, the same XML written
        faster: whole rows at a time (:meth:`cell_rows`)."""
        self.cell_rows((row, _line_cells(values, fmt, formats))
                       for row, (values, fmt, formats) in enumerate(rows, self.row))

    def cell_rows(self, rows: Iterable[tuple[int, Sequence[tuple[int, Any, Any]]]]) -> None:
        """Rows given as ``(row, [(column, value, format), …])``, rows increasing,
        written as :meth:`put` would write each cell in that order, and :attr:`row` moved
        past the last. The rows are rendered whole, as the XML xlsxwriter's per-cell calls
        write (:class:`~xlz.books.xlsxwriter_internals.RowWriter`: ~10 µs a cell less);
        a row it does not take (a date, a text too long for a cell, columns out of
        order …) goes cell by cell. So does the last row: xlsxwriter renders its own
        last row only when the book is closed, and styles are numbered as rows are
        rendered, so this keeps the numbering (and the file) the same."""
        # RowWriter takes no text that fit_cell would cut (it refuses any text over
        # half of Excel's limit), so what it writes is what put would.
        writer = RowWriter(self.ws)
        last: tuple[int, Sequence[tuple[int, Any, Any]]] | None = None
        for item in rows:
            if last is not None:
                row, cells = last
                if writer.write(row, cells):
                    self.row = max(self.row, row + 1)
                else:
                    writer.flush()
                    self._put_cells(row, cells)
            last = item
        writer.flush()
        if last is not None:
            self._put_cells(*last)

    def _put_cells(self, row: int, cells: Sequence[tuple[int, Any, Any]]) -> None:
        for col, value, fmt in cells:
            self.put(row, col, value, fmt)
        self.row = max(self.row, row + 1)

    def section(self, text: str, width: int) -> None:
        """A heading over ``width`` columns (merged along the row: constant_memory-safe)."""
        self.ws.merge_range(self.row, 0, self.row, width - 1, text, self.f["section"])
        self.row += 1

    def header(self, headers: Sequence[str], widths: Sequence[float] = (), *,
               printed: int | None = None, repeat: int = 1) -> None:
        """The header row, the column widths and the print layout: columns from
        ``printed`` on (provenance) are outside the print area; ``repeat`` first columns
        are repeated on every page when the sheet is split across pages."""
        for col, width in enumerate(widths):
            self.ws.set_column(col, col, width)
        self.print_columns(widths[:printed] if printed is not None else widths, repeat)
        self.line(headers, self.f["header"])

    def print_columns(self, widths: Sequence[float], repeat: int = 1) -> None:
        """Print columns ``0 … len(widths) - 1`` only, one page wide when that is
        readable, else split (see the module docstring)."""
        ws = self.ws
        if not widths:
            return
        ws.print_area(0, 0, _ALL_ROWS, len(widths) - 1)
        if sum(column_px(w) for w in widths) <= FIT_PX:
            ws.fit_to_pages(1, 0)
            return
        ws.repeat_columns(0, repeat - 1)
        ws.print_across()
        ws.set_v_pagebreaks(column_breaks(widths, repeat))


def _line_cells(values: Sequence[Any], fmt: Any, formats: Sequence[Any]
                ) -> list[tuple[int, Any, Any]]:
    """:meth:`CitySheet.line`'s cells: a value's own format where ``formats`` has one."""
    if not formats:
        return [(col, value, fmt) for col, value in enumerate(values)]
    n = len(formats)
    return [(col, value, formats[col] if col < n and formats[col] else fmt)
            for col, value in enumerate(values)]

"""The only place that touches xlsxwriter's private API, checked against the versions
it was written for (``pyproject.toml`` pins the range; ``tests/test_xlsxwriter_internals.py``
fails first when a release changes either member).

- ``Worksheet._prepare_formula``: xlsxwriter runs ~30 regular expressions over every
  formula to add ``_xlfn.`` prefixes for post-2010 functions; on the 2,000-character
  live checks that is 4 ms a cell (6 s a workbook). Our formulas use only Excel 2010
  functions, so the scan is replaced by the identity.
- ``Format._get_xf_index``: the city workbook's fast rows (``xlz.ooxml.fastrows``) are
  written outside xlsxwriter and need the style index xlsxwriter gave a format.
- A ``constant_memory`` worksheet's row file and row state (``fh``, ``previous_row``,
  ``table``, ``row_info``, ``comments``, ``col_info``, ``_check_dimensions``,
  ``_write_single_row``, ``_write_row``) and ``XMLwriter``'s escapers: :class:`RowWriter`
  writes whole rows into that file as xlsxwriter's own per-cell calls would.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from typing import Any, Final

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter


def _plain_formula(formula: str, expand_future_functions: bool = False) -> str:
    return formula[1:] if formula.startswith("=") else formula


def skip_future_function_scan(ws: Worksheet) -> None:
    """Formulas of ``ws`` are written as given (no ``_xlfn.`` prefixing)."""
    if not callable(getattr(ws, "_prepare_formula", None)):
        raise RuntimeError("xlsxwriter 已不提供 Worksheet._prepare_formula：请检查 xlsxwriter 版本")
    ws._prepare_formula = _plain_formula


def style_index(fmt: Format | Any) -> int:
    """The ``s`` attribute xlsxwriter gives cells of ``fmt`` (registered before close)."""
    index: int = fmt._get_xf_index()
    return index


# xlsxwriter's own escapers (methods that use no state of the writer).
_XML: Final = XMLwriter()
# xlsxwriter.utility's test for an xml:space="preserve" string (leading or trailing \s).
_LEADING: Final = re.compile(r"^\s")
_TRAILING: Final = re.compile(r"\s$")
_NO_FORMAT: Final = object()


def _inline_tail(text: str) -> str | None:
    """What follows a text cell's attributes, as ``Worksheet._write_cell`` writes it in
    constant_memory mode; None where it would write a rich string (text that looks
    like ``<r>…</r>``), which is left to xlsxwriter."""
    # Towns, states and words repeat down a sheet; long texts are not kept.
    return _short_tail(text) if len(text) <= 256 else _tail(text)


def _tail(text: str) -> str | None:
    text = _XML._escape_control_characters(text)
    if text.startswith("<r>") and text.endswith("</r>"):
        return None
    space = ' xml:space="preserve"' if _LEADING.search(text) or _TRAILING.search(text) else ""
    return f' t="inlineStr"><is><t{space}>{_XML._escape_data(text)}</t></is></c>'


_short_tail = functools.lru_cache(maxsize=1 << 14)(_tail)


class _Letters(dict[int, str]):
    """Column letters by 0-based index, made on first use."""

    def __missing__(self, col: int) -> str:
        letters = self[col] = str(xl_col_to_name(col))
        return letters


_LETTERS: Final = _Letters()


class RowWriter:
    """Whole rows of a ``constant_memory`` worksheet written into its row file as the
    same XML, byte for byte, that xlsxwriter's per-cell calls (``write_string``,
    ``write_number``, ``write_blank``) would write there: the per-cell calls cost ~10 µs
    a cell (argument checks, a cell tuple, attribute lists, escaping, several writes),
    and a 500-town city workbook has tens of thousands of such cells.

    Only text, ``int``/``float`` and blanks that carry a format; anything else, and any
    row xlsxwriter keeps state for (a row height, a comment, a row already begun), makes
    :meth:`write` refuse without side effects, so that the caller writes that row cell
    by cell. Styles are numbered when a row is rendered, as xlsxwriter numbers them when
    it renders a row: rows written in the same order get the same style indices."""

    def __init__(self, ws: Worksheet | Any) -> None:
        if not ws.constant_memory:
            raise ValueError("RowWriter needs a constant_memory worksheet")
        self.ws = ws
        # Rows are held here and written in one piece by :meth:`flush`: every write
        # that reaches the file releases the GIL, and while the deflate threads run
        # Python code, getting it back can take a switch interval (5 ms) each time.
        self._out: list[str] = []
        self._sink = _Sink(self._out)

    def flush(self) -> None:
        """Write the rows held so far into the worksheet's row file: due before
        anything else is written into the worksheet (xlsxwriter's own calls)."""
        if self._out:
            self.ws.fh.write("".join(self._out))
            self._out.clear()

    def write(self, row: int, cells: Sequence[tuple[int, Any, Format | Any | None]]) -> bool:
        """Write 0-based ``row`` with ``cells`` (column, value, format), columns
        increasing; a None value is a blank cell, written only with a format. False
        (nothing written, nothing changed) when the row must go cell by cell. The row
        is held until :meth:`flush`."""
        ws = self.ws
        if row <= ws.previous_row or row >= ws.xls_rowmax or row in ws.row_info \
                or row in ws.comments:
            return False
        # First every check and rendering without side effects; styles are numbered
        # only once the whole row is known to be writable here.
        pending: list[tuple[int, Any, str]] = []
        last = -1
        longest = ws.xls_strmax // 2  # longer text may be cut by xlsxwriter
        col_info = ws.col_info
        for col, value, fmt in cells:
            if col <= last:
                return False
            last = col
            cls = value.__class__
            if cls is str:
                if len(value) > longest:
                    return False
                body = _inline_tail(value)
                if body is None:
                    return False
            elif value is None:
                if fmt is None:
                    continue  # write_blank without a format writes nothing
                body = "/>"
            elif cls is int or cls is float:
                if cls is float and not math.isfinite(value):
                    return False  # xlsxwriter refuses NaN and infinities
                try:
                    body = f"><v>{value:.16G}</v></c>"
                except OverflowError:  # an int past float's range: xlsxwriter's error
                    return False
            else:
                return False
            if fmt is None and col in col_info:  # a column format styles a plain cell
                fmt = getattr(col_info[col], "column_format", _NO_FORMAT)
                if fmt is _NO_FORMAT:
                    return False
            pending.append((col, fmt, body))
        if not pending:
            return True
        last = pending[-1][0]  # what is written: a skipped blank counts for nothing
        if last >= ws.xls_colmax:
            return False
        ws._check_dimensions(row, pending[0][0])
        ws._check_dimensions(row, last)
        previous = ws.previous_row
        if ws.table.get(previous) or previous in ws.row_info or previous in ws.comments:
            self.flush()  # xlsxwriter is about to write the row before: ours come first
        ws._write_single_row(row)  # the row before, still in xlsxwriter's table
        out = self._out
        fh, ws.fh = ws.fh, self._sink
        try:
            ws._write_row(row, None)  # <row …> exactly as xlsxwriter opens it
        finally:
            ws.fh = fh
        number = str(row + 1)
        letters = _LETTERS
        out.append("".join([
            f'<c r="{letters[col]}{number}" s="{fmt._get_xf_index()}"{body}'
            if fmt is not None else f'<c r="{letters[col]}{number}"{body}'
            for col, fmt, body in pending]) + "</row>")
        return True


class _Sink:
    """A file-like end of :class:`RowWriter`'s held rows."""

    def __init__(self, out: list[str]) -> None:
        self.write = out.append

"""Bulk rows for one sheet of an xlsxwriter workbook, written as sheet XML directly.

xlsxwriter spends ~3 µs per cell (field notes: 100,000 × 15 cells in 8–9 s); a
500-town 项目信息库 has 2.4 million cells. So xlsxwriter writes everything it is good at
(header, widths, frozen panes, the autofilter and its defined name, styles) and the data
rows of the big sheet are spliced into that sheet's part afterwards, streamed while the
zip is copied: the same inline-string cells xlsxwriter's constant_memory mode writes,
without the per-cell call overhead. Values are never formulas: every string is an
inline string, so ``=1+1`` typed by a clerk stays text.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from xlz.core.cells import CELL_TEXT_LIMIT, column_letter, fit_cell, range_ref
from xlz.ooxml.xmltext import xml_text
from xlz.ooxml.zipjoin import Part, Segment, deflate_segment, inflated, join, parts_of, write_zip

_EPOCH = dt.datetime(1899, 12, 30)
_CHUNK_ROWS = 2000


@functools.lru_cache(maxsize=1 << 16)  # towns, categories, files and hashes repeat per row
def _text(value: str) -> str:
    value = fit_cell(value)  # never cut silently (accepted entries always fit)
    value = xml_text(value)
    if value[:1].isspace() or value[-1:].isspace():
        return f'<is><t xml:space="preserve">{value}</t></is>'
    return f"<is><t>{value}</t></is>"


# Placeholders while a row is built away from its place: the row number (a worker
# builds a file's rows before the parent knows where they go) and the date style index
# (known only when the book is written). Both are C0 controls, which xml_text encodes,
# so no cell text can contain them.
ROW: Final = "\x00"
STYLE: Final = "\x01"
ROW_SEP: Final = "\x02"  # between the rows of one block (see :func:`rows_block_of`)
_STYLE_B: Final = STYLE.encode()
_ROW_B: Final = ROW.encode()
_ROW_SEP_B: Final = ROW_SEP.encode()


def _serial(value: dt.date) -> float:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    delta = value.replace(tzinfo=None) - _EPOCH
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000


@functools.lru_cache(maxsize=4096)  # signing dates repeat; only plain dates are cached
def _date_serial(value: dt.date) -> str:
    return repr(_serial(value))


@functools.lru_cache(maxsize=64)
def _openers(width: int) -> tuple[tuple[str, str, str, str], ...]:
    """Per column: how a text, bool, number and date cell starts (row number as ROW)."""
    out = []
    for col in range(width):
        ref = f"{column_letter(col)}{ROW}"
        out.append((f'<c r="{ref}" t="inlineStr">', f'<c r="{ref}" t="b"><v>',
                    f'<c r="{ref}"><v>', f'<c r="{ref}" s="{STYLE}"><v>'))
    return tuple(out)


def row_template(values: Sequence[Any], width: int) -> str:
    """One ``<row>`` with :data:`ROW` for its number and :data:`STYLE` for the date
    style. None is an empty cell (not written)."""
    if len(values) > width:
        raise IndexError(f"{len(values)} values for {width} columns")
    return f'<row r="{ROW}">' + cells(values, width) + "</row>"


def cells(values: Sequence[Any], width: int, first: int = 0) -> str:
    """The cells of ``values`` placed from 0-based column ``first`` of a ``width``-column
    row (row number as :data:`ROW`): a part of :func:`row_template`, so that cells that
    are the same on many rows can be built once."""
    return "".join([_cell(opener, value) for opener, value
                    in zip(_openers(width)[first:], values, strict=False) if value is not None])


def column_cells(values: Sequence[Any], width: int, col: int) -> list[str]:
    """The cell of each of ``values`` in 0-based column ``col`` ("" for None): rows
    built column by column. A column holds one type almost always (text, numbers or
    dates), and then its cells come from one comprehension; anything mixed goes cell
    by cell."""
    opener = _openers(width)[col]
    kinds = set(map(type, values))
    kinds.discard(_NONE_TYPE)
    if kinds == _STR:
        distinct = set(values)
        start = opener[0]
        if _plain(distinct):
            start += "<is><t>"
            if 2 * len(distinct) > len(values):  # mostly distinct: names, telephones
                return ["" if v is None else f"{start}{v}</t></is></c>" for v in values]
            cell_of = {v: f"{start}{v}</t></is></c>" for v in distinct}
        else:
            # Mostly distinct: the cache would only churn.
            text = _text.__wrapped__ if 2 * len(distinct) > len(values) else _text
            cell_of = {v: f"{start}{text(v)}</c>" for v in distinct if v is not None}
        cell_of[None] = ""
        return list(map(cell_of.__getitem__, values))
    if kinds <= _NUMBER_TYPES and kinds:
        start = opener[2]
        return ["" if v is None else f"{start}{v!r}</v></c>" for v in values]
    if kinds == _DATE:
        serial, start = _date_serial, opener[3]
        cell_of = {v: f"{start}{serial(v)}</v></c>" for v in set(values) if v is not None}
        cell_of[None] = ""
        return list(map(cell_of.__getitem__, values))
    return ["" if v is None else _cell(opener, v) for v in values]


_NONE_TYPE: Final = type(None)
_STR: Final = frozenset({str})
_DATE: Final = frozenset({dt.date})
# White space at either end of a line (a value's start or end, in _plain's join).
_EDGE_SPACE: Final = re.compile(r"\n\s|\s\n")


def _plain(texts: Collection[str | None]) -> bool:
    """Whether :func:`_text` makes ``<is><t>text</t></is>`` of every one of ``texts``
    (None skipped): none too long for a cell, nothing to escape, no white space at an
    end. Checked for a whole column at once, on the safe side: a text with a line
    break next to white space is reported not plain."""
    some = [t for t in texts if t]  # "" is plain: "<is><t></t></is>" either way
    if sum(map(len, some)) > CELL_TEXT_LIMIT and max(map(len, some)) > CELL_TEXT_LIMIT:
        return False
    # Letters and digits only (Chinese names, telephone numbers): nothing to escape
    # and no white space; a faster scan than the patterns below.
    if "".join(some).isalnum():
        return True
    joined = "\n".join(some)  # "\n" is neither escaped nor part of an _xHHHH_
    return xml_text(joined) == joined and _EDGE_SPACE.search(f"\n{joined}\n") is None


_NUMBER_TYPES: Final = frozenset({int, float})  # exactly: bool is written as TRUE/FALSE


def _cell(opener: tuple[str, str, str, str], value: Any) -> str:
    cls = value.__class__
    if cls is str:
        return opener[0] + _text(value) + "</c>"
    if cls is float or cls is int:
        return opener[2] + repr(value) + "</v></c>"
    if cls is dt.date:
        return opener[3] + _date_serial(value) + "</v></c>"
    if isinstance(value, str):
        return opener[0] + _text(value) + "</c>"
    if isinstance(value, bool):
        return opener[1] + str(int(value)) + "</v></c>"
    if isinstance(value, (int, float)):
        return opener[2] + repr(value) + "</v></c>"
    if isinstance(value, dt.date):
        return opener[3] + repr(_serial(value)) + "</v></c>"
    return opener[0] + _text(str(value)) + "</c>"


def rows_block_of(rows: Sequence[str]) -> bytes:
    """Rows built ahead of time (in a worker process, each like :func:`row_template`'s):
    placed later by :class:`BackgroundRows` as one :class:`Block`."""
    # Not compressed: zlib here and again in the parent cost more (~1 ms per file)
    # than moving ~200 KB through a pipe; the parent holds ~0.1 GB more for 500 files.
    return ROW_SEP.join(rows).encode()


@dataclass(frozen=True, slots=True)
class Block:
    """``count`` consecutive rows from :func:`rows_block_of`."""

    data: bytes
    count: int


def _place(block: Block, first: int, style: bytes) -> bytes:
    data = block.data.replace(_STYLE_B, style)  # the whole block at once, not row by row
    rows = data.split(_ROW_SEP_B)
    if len(rows) != block.count:
        raise RuntimeError(f"expected {block.count} rows in a block, got {len(rows)}")
    return b"".join([row.replace(_ROW_B, b"%d" % n) for n, row in enumerate(rows, first)])


def _numbered(rows: list[str], first: int) -> bytes:
    return "".join([row.replace(ROW, str(n)) for n, row in enumerate(rows, first)]).encode()


Item = Sequence[Any] | Block  # one row's values, or a block of prebuilt rows


def _count(item: Item) -> int:
    return item.count if isinstance(item, Block) else 1


def _rendered(items: Sequence[Item], first: int, width: int, style: bytes
              ) -> Iterator[bytes]:
    """The rows' XML from row ``first`` on: a block's rows in one piece, rows given
    as values in pieces of up to :data:`_CHUNK_ROWS` (each piece is handed to zlib as
    it is: joining them first would copy every byte once more)."""
    pending: list[str] = []
    row = first
    for item in items:
        if isinstance(item, Block):
            if pending:
                yield _numbered(pending, row - len(pending)).replace(_STYLE_B, style)
                pending = []
            yield _place(item, row, style)
            row += item.count
            continue
        pending.append(row_template(item, width))
        row += 1
        if len(pending) >= _CHUNK_ROWS:
            yield _numbered(pending, row - len(pending)).replace(_STYLE_B, style)
            pending = []
    if pending:
        yield _numbered(pending, row - len(pending)).replace(_STYLE_B, style)


class BackgroundRows:
    """Rows for one sheet, rendered and deflated in background threads while the
    caller writes the rest of the book with xlsxwriter; :meth:`splice` then puts them
    into that sheet's part. zlib releases the GIL, so on a 2-core PC the big part is
    compressed beside xlsxwriter's work instead of after it (see :mod:`xlz.ooxml.zipjoin`).
    """

    def __init__(self, rows: Iterable[Item], count: int, width: int, first_row: int,
                 date_style: int, pieces: int = 2) -> None:
        items = list(rows)
        total = sum(_count(i) for i in items)
        if total != count:
            raise RuntimeError(f"expected {count} rows, got {total}")
        self.count, self.width, self.first_row = count, width, first_row
        style = str(date_style).encode()
        self.pool = ThreadPoolExecutor(pieces)
        self.pieces: list[Future[Segment]] = []
        share = -(-count // pieces) if count else 1
        start, row, part = 0, first_row, 0
        for end in range(len(items) + 1):
            if end == len(items) or part >= share:
                if end > start:
                    self.pieces.append(self.pool.submit(
                        _deflated, items[start:end], row, width, style))
                    row += part
                start, part = end, 0
            if end < len(items):
                part += _count(items[end])

    def cancel(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def splice(self, book_path: Path, sheet_part: str) -> None:
        """Rewrite ``book_path`` with the rows appended to ``sheet_part``'s sheetData;
        the sheet's dimension is widened to match. Other parts are copied as they are."""
        try:
            rows = [f.result() for f in self.pieces]
        finally:
            self.pool.shutdown()
        parts = parts_of(book_path)
        info = parts[sheet_part].info
        xml = inflated(parts[sheet_part]).decode("utf-8")
        last = self.first_row + self.count - 1
        if self.count:
            dimension = range_ref(1, 0, last, self.width - 1)
            xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>',
                         xml, count=1)
        xml = xml.replace("<sheetData/>", "<sheetData></sheetData>", 1)
        head, tail = xml.split("</sheetData>", 1)
        whole = join([deflate_segment([head.encode()], final=False), *rows,
                      deflate_segment([("</sheetData>" + tail).encode()], final=True)])
        parts[sheet_part] = Part(info, whole.data, whole.crc, whole.size)
        tmp = book_path.with_name(book_path.name + ".rows")
        try:
            write_zip(tmp, list(parts.values()))
            tmp.replace(book_path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def _deflated(items: Sequence[Item], first: int, width: int, style: bytes) -> Segment:
    return deflate_segment(_rendered(items, first, width, style), final=False)


def splice_rows(book_path: Path, sheet_part: str, rows: Iterable[Item], count: int,
                width: int, first_row: int, date_style: int) -> None:
    """Append ``count`` ``rows`` to ``sheet_part``'s sheetData from 1-based
    ``first_row`` (:class:`BackgroundRows` without anything to do meanwhile)."""
    BackgroundRows(rows, count, width, first_row, date_style).splice(book_path, sheet_part)

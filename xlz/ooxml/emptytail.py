"""A worksheet part without its trailing rows that provably hold no value, and a stored
package to hand a reader in place of the original.

A template prepares a thousand rows whose only content is a formula cell with an empty
cached value (``<c r="U301" s="12"><f t="shared" si="0"/><v></v></c>``); a clerk fills
two hundred. The reader (python-calamine) parses every byte of the rest twice (its cell
pass and its merged-cells pass) to find nothing. :func:`trim_empty_tail` cuts them, but
only when the cut region matches, whole, a strict grammar of rows of cells that read as
nothing: no type or the number or shared-string type, an optional formula, no value or
an empty one. A prefixed element, an inline string, a non-empty ``<v>``, a cell of
another type, any element but ``<f>`` and ``<v>`` in a cell, a comment or CDATA
anywhere in the part — and nothing is cut.

One more kind of cell is cut, with a note of where it was: a formula's empty text result
as LibreOffice saves it (``<c r="U301" s="14" t="str"><f>…</f><v></v></c>``), written
``t="str"`` exactly and with one reference. The reader counts it in its grid as an empty
string, so cutting it changes the grid's first row or columns unless it lies below the
rows kept and within their columns: :attr:`Trim.strings` says where such cells were, for
the caller to check against what the reader makes of the trimmed part. Which sheet a part
is: :func:`sheet_names`. :func:`stored_package` writes the package again, uncompressed,
with such parts replaced. Bytes only: nothing here knows what a sheet means.

A saved template also writes each kept row's formula out in full (~5 KB of text the
reader parses, twice, to keep only the cached value): :func:`without_formulas` drops
every formula that is a cell's first child and holds only text, leaving the values;
:func:`formula_share` says, cheaply, whether a part is worth that pass.
"""
from __future__ import annotations

import re
import zipfile
from collections.abc import Collection, Iterator, Mapping
from typing import Final, NamedTuple

from xlz.ooxml import ziprecords as zr
from xlz.ooxml.deflate import zlib
from xlz.ooxml.inflate import compressed_bytes

_S: Final = rb"[ \t\r\n]"
# An attribute value with nothing a reader would unescape, nor anything that could end
# the tag or pass for another attribute.
_VALUE: Final = rb"""(?:"[^"<>&=]*+"|'[^'<>&=]*+')"""
_EQ: Final = _S + rb"*+=" + _S + rb"*+"
# Any other attribute: a plain or prefixed name that declares no namespace.
_OTHER: Final = rb"(?!xmlns\b)[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?+" + _EQ + _VALUE
_ROW_NUMBER: Final = rb"[1-9][0-9]{0,6}"
# The reader refuses a malformed row number or cell reference: those stay to be refused.
_ROW_ATTR: Final = (rb"(?:r" + _EQ + rb"""(?:"%s"|'%s')|(?!r\b)""" % (_ROW_NUMBER, _ROW_NUMBER)
                    + _OTHER + rb")")
_CELL_REF: Final = rb"[A-Z]{1,3}" + _ROW_NUMBER
_CELL_ATTR: Final = (
    rb"(?:r" + _EQ + rb"""(?:"%s"|'%s')""" % (_CELL_REF, _CELL_REF)
    + rb"|s" + _EQ + rb"""(?:"[0-9]{1,9}"|'[0-9]{1,9}')"""
    + rb"|t" + _EQ + rb"""(?:"[ns]"|'[ns]')"""
    # A formula's text result, in one spelling only: :func:`_string_cells` finds it.
    + rb'|t="str"'
    + rb"|(?![rst]\b)" + _OTHER + rb")")
# Possessive repeats throughout: the grammar never needs to backtrack, and a row of
# values fails at once. Formula text: ">" too is escaped by every writer, so a comment or CDATA opened before
# the rows cannot end among them.
_FORMULA: Final = (rb"<f(?:" + _S + rb"++" + _OTHER + rb")*+" + _S
                   + rb"*+(?:/>|>[^<>]*</f" + _S + rb"*+>)")
_EMPTY_VALUE: Final = rb"<v" + _S + rb"*+(?:/>|></v" + _S + rb"*+>)"
_CELL: Final = (rb"<c(?:" + _S + rb"++" + _CELL_ATTR + rb")*+" + _S + rb"*+(?:/>|>" + _S
                + rb"*+(?:" + _FORMULA + _S + rb"*+)?+(?:" + _EMPTY_VALUE + _S + rb"*+)?</c"
                + _S + rb"*+>)")
_ROW_START: Final = rb"<row(?:" + _S + rb"++" + _ROW_ATTR + rb")*+" + _S + rb"*+"
_CLOSED_ROWS: Final = rb"(?:" + _S + rb"*+" + _ROW_START + rb"/>)*+" + _S + rb"*+"
_CLOSE: Final = b"</row>"
# The rows are split at their closing tags: a piece is rows without cells (<row/>), then
# one row's start and its cells; the last piece only rows without cells.
_PIECE: Final = re.compile(_CLOSED_ROWS + _ROW_START + rb">" + _S + rb"*+(?:" + _CELL + _S
                           + rb"*+)*+")
_LAST_PIECE: Final = re.compile(_CLOSED_ROWS)
# Row numbers and references are checked digit by digit class (a leading zero is not a
# number); mapping 1-9 to 1 leaves a thousand template rows a handful of shapes to check.
_DIGITS: Final = bytes.maketrans(b"23456789", b"11111111")
_END: Final = b"</sheetData>"
_WINDOW: Final = 1 << 16
_STR: Final = b't="str"'
# A cell's start tag in a row the grammar accepted, and its attributes.
_CELL_TAG: Final = re.compile(rb"<c[ \t\r\n]([^>]*)>")
_ATTRIBUTE: Final = re.compile(rb"""([^ \t\r\n=]+)[ \t\r\n]*=[ \t\r\n]*("[^"]*"|'[^']*')""")
_LETTERS: Final = re.compile(rb"[A-Z]+")


class Trim(NamedTuple):
    """A worksheet part with its empty tail cut (:func:`trim_empty_tail`)."""

    xml: bytes
    # The cut cells that read as an empty string (``t="str"``, no value or an empty one):
    # (first row, first column, last column), 0-based, or None. A reader counts them in
    # its grid: they change nothing only when they lie below the rows kept and within
    # their columns, which the caller checks against what the reader makes of ``xml``.
    strings: tuple[int, int, int] | None


def trim_empty_tail(xml: bytes) -> Trim | None:
    """``xml`` (a worksheet part) without the rows after its last value, or None when
    there are none or they are not provably empty (see the module's docstring). The
    ``<dimension>`` stays as it was: the reader builds its grid from the cells."""
    end = xml.rfind(_END)
    begin = xml.find(b"<sheetData")
    if end < 0 or not 0 <= begin < end:
        return None
    # Walk back from the end in windows, each starting just after a row's end (or at
    # the first row), so that every piece is whole rows.
    high = end
    empty: set[bytes] = set()  # the shapes of rows known to be empty
    strings: dict[bytes, list[tuple[int, int, int]]] = {}  # shape → its t="str" cells
    cut_rows: list[tuple[int, list[bytes]]] = []  # (offset of the first, shapes) cut
    window = _WINDOW
    while True:
        low = max(begin, high - window)
        if low == begin:
            start = xml.find(b">", begin) + 1
        else:
            start = xml.find(_CLOSE, low, high) + len(_CLOSE)
            if start < len(_CLOSE):  # no row ends in the window: look further back
                window *= 4
                continue
        pieces = xml[start:high].translate(_DIGITS).split(_CLOSE)
        if high == end and _LAST_PIECE.fullmatch(pieces[-1]) is None:
            return None
        if high < end and pieces[-1]:
            return None  # pragma: no cover - the window ended just after a row's end
        rows = pieces[:-1]
        # Each shape once; then the last row of another shape, if any, ends the values.
        shapes = set(rows)
        shapes.difference_update(empty)
        bad = {p for p in shapes if _PIECE.fullmatch(p) is None}
        for p in shapes - bad:
            if _STR in p:
                found = _string_cells(p)
                if found is None:
                    bad.add(p)
                elif found:
                    strings[p] = found
        empty |= shapes - bad
        if bad:
            i = len(rows) - 1
            while rows[i] not in bad:
                i -= 1
            tail = rows[i + 1:]
            cut = high - len(pieces[-1]) - sum(map(len, tail)) - len(_CLOSE) * len(tail)
            cut_rows.append((cut, tail))
            break
        cut_rows.append((start, rows))
        if low == begin:
            cut = start
            break
        # The rows of values are usually just before: a small window finds the last;
        # a longer tail (rows of long formulas) is walked in growing windows.
        window = _WINDOW // 16 if high == end else min(window * 2, _WINDOW)
        high = start
    if cut >= end or xml.find(b"<row", cut, end) < 0:
        return None
    return Trim(xml[:cut] + xml[end:], _string_bounds(xml, cut_rows, strings))


def _string_cells(shape: bytes) -> list[tuple[int, int, int]] | None:
    """The ``t="str"`` cells of a row ``shape`` (digits mapped to classes: the same
    length as the row) as (offset of the row number in the row, its length, column),
    or None when one has no reference or more than one (its place is then the
    reader's count, not a number here)."""
    found: list[tuple[int, int, int]] = []
    for tag in _CELL_TAG.finditer(shape):
        attributes = list(_ATTRIBUTE.finditer(shape, tag.start(1), tag.end(1)))
        if not any(a[1] == b"t" and a[2] == b'"str"' for a in attributes):
            continue
        refs = [a for a in attributes if a[1] == b"r"]
        if len(refs) != 1:
            return None
        # The grammar's reference: letters, then digits, quoted.
        letters = _LETTERS.match(shape, refs[0].start(2) + 1)
        assert letters is not None
        column = 0
        for letter in letters[0]:
            column = column * 26 + letter - 64
        found.append((letters.end(), refs[0].end(2) - 1 - letters.end(), column - 1))
    return found


def _string_bounds(xml: bytes, cut_rows: list[tuple[int, list[bytes]]],
                   strings: dict[bytes, list[tuple[int, int, int]]]
                   ) -> tuple[int, int, int] | None:
    """Where the cut ``t="str"`` cells are: their columns from the shapes, their row
    numbers read from ``xml`` (the shapes have lost them)."""
    if not strings:
        return None
    numbers: list[bytes] = []
    seen: set[bytes] = set()
    close = len(_CLOSE)
    for offset, rows in cut_rows:
        for row in rows:
            cells = strings.get(row)
            if cells is not None:
                seen.add(row)
                numbers += [xml[offset + at:offset + at + length] for at, length, _ in cells]
            offset += len(row) + close
    columns = [column for row in seen for _, _, column in strings[row]]
    if not columns:
        return None
    return min(map(int, numbers)) - 1, min(columns), max(columns)


def stored_package(buf: bytes, infos: Mapping[str, zipfile.ZipInfo],
                   parts: Mapping[str, bytes], replaced: Mapping[str, bytes]) -> bytes | None:
    """The package ``buf`` (its members ``infos``, in order) as a new zip in memory:
    a part in ``replaced`` stored with its new content, a part in ``parts`` (its content
    as the guard inflated it and checked against its CRC) stored, any other copied as
    it is compressed. None when a member's local header disagrees with the central
    directory (a reader of the original might see another file than this one)."""
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    unpack, pack_local, pack_central = zr.LOCAL.unpack_from, zr.pack_local, zr.pack_central
    for name, info in infos.items():
        at = info.header_offset
        if at < 0 or at + zr.LOCAL.size > len(buf):
            return None
        sig, _, _, method, dos_time, dos_date, _, _, _, name_length, _ = unpack(buf, at)
        raw = info.orig_filename.encode("utf-8" if info.flag_bits & zr.UTF8_FLAG else "cp437")
        start = at + zr.LOCAL.size
        if (sig != zr.LOCAL_SIG or method != info.compress_type
                or buf[start:start + name_length] != raw):
            return None
        if name in replaced:
            data = replaced[name]
            crc, method, size = zlib.crc32(data), zipfile.ZIP_STORED, len(data)
        elif name in parts:
            data = parts[name]
            crc, method, size = info.CRC, zipfile.ZIP_STORED, len(data)
        else:
            data = bytes(compressed_bytes(buf, info))
            crc, size = info.CRC, info.file_size
        if len(data) > zr.ZIP64_LIMIT or size > zr.ZIP64_LIMIT or offset > zr.ZIP64_LIMIT:
            return None
        ascii = raw.isascii()
        encoded = raw if ascii else name.encode("utf-8")
        flags = 0 if ascii else zr.UTF8_FLAG
        local = pack_local(flags, method, dos_time, dos_date, crc, len(data), size, encoded)
        out += (local, data)
        central.append(pack_central(flags, method, dos_time, dos_date, crc, len(data), size,
                                    encoded, info.external_attr, offset))
        offset += len(local) + len(data)
    directory = b"".join(central)
    out += (directory, zr.pack_end(len(central), len(directory), offset))
    return b"".join(out)


_TAG_ATTRIBUTES: Final = rb"(?:[A-Za-z_][\w.-]*:)?%s(?=[ \t\r\n/>])([^>]*)>"
_SHEET: Final = re.compile(b"<" + _TAG_ATTRIBUTES % b"sheet")
_RELATIONSHIP: Final = re.compile(b"<" + _TAG_ATTRIBUTES % b"Relationship")
_SHEET_ID_KEYS: Final = (b"r:id", b"relationships:id")


def sheet_names(workbook: bytes, rels: bytes, names: Collection[str]) -> dict[str, str] | None:
    """Part name → sheet name from ``xl/workbook.xml`` and its relationships, as
    python-calamine resolves them (the tag's local name; the ``r:id`` or
    ``relationships:id`` attribute as written; a target under ``xl/`` unless it starts
    with ``xl/`` or ``/xl/``), for the parts among ``names``. None at any doubt — a
    comment or CDATA, an entity in a name, an attribute or an id twice, two sheets on
    one part, a part name another differs from only in case: the caller then has no
    sheet to check a part against."""
    if any(b"<!--" in xml or b"<![CDATA[" in xml for xml in (workbook, rels)):
        return None
    targets: dict[bytes, bytes] = {}
    for tag in _RELATIONSHIP.finditer(rels):
        rel = _attributes(tag[1]) or {}
        rid, target = rel.get(b"Id"), rel.get(b"Target")
        if rid is None or target is None or rid in targets:
            return None
        targets[rid] = target
    folded: dict[str, int] = {}
    for part in names:
        folded[part.lower()] = folded.get(part.lower(), 0) + 1
    parts: dict[str, str] = {}
    for tag in _SHEET.finditer(workbook):
        attributes = _attributes(tag[1])
        if attributes is None:
            return None
        ids = [value for key, value in attributes.items() if key in _SHEET_ID_KEYS]
        sheet = attributes.get(b"name")
        if len(ids) != 1 or sheet is None or b"&" in sheet or ids[0] not in targets:
            return None
        target = targets[ids[0]]
        if b"&" in target:
            return None
        path = (target[1:] if target.startswith(b"/xl/") else target
                if target.startswith(b"xl/") else b"xl/" + target).decode("utf-8", "replace")
        if path in parts or folded.get(path.lower(), 0) > 1:
            return None
        parts[path] = sheet.decode("utf-8", "replace")
    return {part: sheet for part, sheet in parts.items() if part in names}


def _attributes(text: bytes) -> dict[bytes, bytes] | None:
    """A start tag's attributes, their values as written; None for one given twice."""
    found: dict[bytes, bytes] = {}
    for match in _ATTRIBUTE.finditer(text):
        if match[1] in found:
            return None
        found[match[1]] = match[2][1:-1]
    return found


# A formula holding only text (no element, no comment or CDATA: no "<"), and the start
# tag of a cell it must directly follow (attribute values as :data:`_VALUE`: no "<" or
# ">" that could end the tag early), whitespace after it.
_TEXT_FORMULA: Final = re.compile(rb"<f(?:" + _S + rb"++" + _OTHER + rb")*+" + _S
                                  + rb"*+(?:/>|>[^<]*+</f" + _S + rb"*+>)")
_CELL_START: Final = re.compile(rb"<c(?:" + _S + rb"++" + _OTHER + rb")*+" + _S + rb"*+>"
                                + _S + rb"*+")
# Where text could hide markup the search would misread: a comment, CDATA, a
# declaration or a processing instruction. None of them can be in what is dropped (no
# "<" but those of the formula's tags), so the stretch is checked once stripped.
_DOUBT: Final = (b"<!", b"<?")
_SHEET_DATA: Final = b"<sheetData"


def without_formulas(xml: bytes, least: int = 1) -> bytes | None:
    """``xml`` (a worksheet part) without the formula of each cell whose first child is
    an unprefixed ``<f>`` holding only text (``<c r="U5" t="str"><f>…</f><v>…</v>``):
    the reader's values are the cells' ``<v>``, which stay, and a template's check
    formula is most of a saved sheet's bytes. Only cells between the part's one
    ``<sheetData`` and its ``</sheetData>`` are touched, and only when that stretch
    holds no comment, CDATA, declaration or processing instruction (text that could
    pass for a cell). Any other ``<f>`` (after a value, prefixed, holding an element)
    stays. None when there is no such stretch, or fewer than ``least`` bytes of
    formulas to drop."""
    bounds = _sheet_data(xml)
    if bounds is None:
        return None
    begin, end = bounds
    pieces: list[bytes] = []
    at = begin
    dropped = 0
    for start, stop in _formulas(xml, begin, end):
        pieces.append(xml[at:start])
        at = stop
        dropped += stop - start
    if dropped < max(least, 1):
        return None
    pieces.append(xml[at:end])
    data = b"".join(pieces)
    if data.find(_SHEET_DATA, 1) >= 0 or any(doubt in data for doubt in _DOUBT):
        return None
    return xml[:begin] + data + xml[end:]


def formula_share(xml: bytes, sample: int = 16 * 1024) -> float:
    """About what share of ``xml``'s rows (a worksheet part) :func:`without_formulas`
    would drop, from their first ``sample`` bytes (a template's filled rows, before any
    empty tail): for a caller to skip a part where the pass would not pay. 0.0 when
    there are no rows to look at."""
    bounds = _sheet_data(xml)
    if bounds is None:
        return 0.0
    begin, end = bounds
    end = min(end, begin + sample)
    return sum(stop - start for start, stop in _formulas(xml, begin, end)) / max(end - begin, 1)


def _sheet_data(xml: bytes) -> tuple[int, int] | None:
    """Where the part's one sheetData is, from its start tag to its end tag."""
    begin = xml.find(_SHEET_DATA)
    end = xml.rfind(_END)
    if begin < 0 or end < begin or xml.find(_SHEET_DATA, end) >= 0:
        return None
    return begin, end


def _formulas(xml: bytes, begin: int, end: int) -> Iterator[tuple[int, int]]:
    """Where the formulas :func:`without_formulas` drops are in ``xml[begin:end]``."""
    cell_start = _CELL_START.fullmatch
    at = begin
    for formula in _TEXT_FORMULA.finditer(xml, begin, end):
        start = formula.start()
        # The markup before it, whole: no "<" can be between (attribute values hold
        # none, and a comment or CDATA is refused).
        tag = xml.rfind(b"<", at, start)
        if tag >= 0 and cell_start(xml, tag, start) is not None:
            at = formula.end()
            yield start, at

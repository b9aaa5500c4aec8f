"""A worksheet part without its trailing rows that provably hold no value, and a stored
package to hand a reader in place of the original.

A template prepares a thousand rows whose only content is a formula cell with an empty
cached value (``<c r="U301" s="12"><f t="shared" si="0"/><v></v></c>``); a clerk fills
two hundred. The reader (python-calamine) parses every byte of the rest twice (its cell
pass and its merged-cells pass) to find nothing. :func:`trim_empty_tail` cuts them, but
only when the cut region matches, whole, a strict grammar of rows of cells that read as
nothing: no type or the number or shared-string type, an optional formula, no value or
an empty one. A prefixed element, an inline string, a non-empty ``<v>``, a cell of
another type (an empty ``t="str"`` reads as an empty string, which takes a place in the
reader's grid), any element but ``<f>`` and ``<v>`` in a cell, a comment or CDATA
anywhere in the part — and nothing is cut. :func:`stored_package` writes the package
again, uncompressed, with such parts replaced. Bytes only: nothing here knows what a
sheet means.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from typing import Final

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
def trim_empty_tail(xml: bytes) -> bytes | None:
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
        empty |= shapes - bad
        cut = start
        if bad:
            i = len(rows) - 1
            while rows[i] not in bad:
                i -= 1
            tail = rows[i + 1:]
            cut = high - len(pieces[-1]) - sum(map(len, tail)) - len(_CLOSE) * len(tail)
        if bad or low == begin:
            break
        high = start
        # The rows of values are usually just before: a small window finds the last.
        window = _WINDOW // 16 if window == _WINDOW else window * 2
    if cut >= end or xml.find(b"<row", cut, end) < 0:
        return None
    return xml[:cut] + xml[end:]


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

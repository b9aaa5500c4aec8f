"""Text into sheet XML: the one escaper for cell text xlz writes itself.

Cell text (``<t>`` of an inline or shared string, the ``<v>`` of a formula's string
result) is an OOXML ``ST_Xstring``: after XML parsing, a reader decodes ``_xHHHH_`` to
the UTF-16 code unit HHHH. That is how OOXML carries characters XML 1.0 cannot (most C0
controls, U+FFFE/U+FFFF, lone surrogates), and it means a clerk's literal ``_x0041_``
must be written ``_x005F_x0041_`` (an escaped underscore) or it reads back as ``A``.
Excel and xlsxwriter write text this way; the fast city-sheet rows
(:mod:`xlz.ooxml.fastrows`) and the in-place writer (:mod:`xlz.ooxml.sheetxml`) both
call :func:`xml_text`, so the city workbook and the cells ``validate`` writes agree
with what xlsxwriter writes in the other sheets.

A carriage return is encoded too (``_x000D_``, as Excel does): an XML parser turns a
literal ``\\r`` into ``\\n``.
"""

from __future__ import annotations

import re
from typing import Final

_MARKUP: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Characters XML 1.0 cannot hold (or would not keep: \r), and the underscore that would
# start a literal _xHHHH_. One scan finds whether anything is to be done at all.
_ENCODED: Final = "\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_SPECIAL: Final = re.compile(f"[&<>{_ENCODED}]|_x[0-9A-Fa-f]{{4}}_")
_ENCODE: Final = re.compile(f"[{_ENCODED}]|_(?=x[0-9A-Fa-f]{{4}}_)")


def _code_unit(match: re.Match[str]) -> str:
    return f"_x{ord(match.group()):04X}_"


def xml_text(value: str) -> str:
    """``value`` as the content of a ``<t>`` or string ``<v>`` element: ``&``, ``<``
    and ``>`` escaped, characters XML cannot hold as ``_xHHHH_``, and a literal
    ``_xHHHH_`` kept literal (``_x005F_xHHHH_``). Every reader that decodes ST_Xstring
    (Excel, WPS, LibreOffice, calamine) reads ``value`` back unchanged."""
    if _SPECIAL.search(value) is None:  # almost every cell: one scan, no copy
        return value
    if "&" in value or "<" in value or ">" in value:
        value = value.translate(_MARKUP)
    return _ENCODE.sub(_code_unit, value)


def xml_markup(value: str) -> str:
    """``value`` as element content that is not ST_Xstring text (a formula xlz built):
    only ``&``, ``<`` and ``>`` escaped."""
    return value.translate(_MARKUP)

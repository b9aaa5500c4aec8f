"""Which part holds each sheet of a workbook — by the package's rules, and by
python-calamine's.

``xl/workbook.xml`` names the sheets; each points through a relationship of
``xl/_rels/workbook.xml.rels`` at a part. Office (and xlz's in-place writer) resolve a
relationship's target as OPC says: relative to ``xl/`` and normalised, so
``../xl/worksheets/sheet2.xml`` is ``xl/worksheets/sheet2.xml``. python-calamine 0.9.1
only prefixes ``xl/`` (unless the target starts with ``xl/`` or ``/xl/``) and looks the
result up as it is. For a real workbook the two agree, or calamine finds no part and
refuses the file; a package that holds both spellings of a part would be read by
calamine from one while Excel shows the other — so the reader refuses it
(:func:`xlz.io.read.check_sheet_parts`).
"""

from __future__ import annotations

import posixpath
import re
from typing import Final, NamedTuple

_REL_NS: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


# A relationship's target as written (an attribute value of either quote).
_TARGET: Final = re.compile(rb"""\bTarget\s*=\s*(?:"([^"]*)"|'([^']*)')""")
# Where the two rules can part: an absolute target, one that starts with xl/, a dot or
# empty segment, a backslash, or anything escaped (an entity could spell any of these).
_UNUSUAL: Final = re.compile(rb"^/|^xl/|(?:^|/)\.{1,2}(?:/|$)|//|\\|&")


def plain_targets(rels: bytes) -> bool:
    """Whether every relationship target in ``rels`` resolves to the same part by both
    rules of :func:`workbook_sheets` (``xl/`` + the target) — cheaply, without parsing:
    the answer False only means "look closer"."""
    return all(_UNUSUAL.search(m[1] if m[1] is not None else m[2]) is None
               for m in _TARGET.finditer(rels))


class SheetPart(NamedTuple):
    """One sheet of ``xl/workbook.xml`` and the part its relationship names."""

    name: str
    sheet_id: str
    part: str  # as the package's rules resolve it (Office, the in-place writer)
    calamine_part: str  # as python-calamine looks it up


def _opc(target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join("xl", target))


def _calamine(target: str) -> str:
    if target.startswith("/xl/"):
        return target[1:]
    return target if target.startswith("xl/") else "xl/" + target


def workbook_sheets(workbook: bytes, rels: bytes) -> list[SheetPart]:
    """The sheets of ``xl/workbook.xml`` (its bytes) whose relationship in ``rels``
    (``xl/_rels/workbook.xml.rels``) exists, in the workbook's order. defusedxml: no
    entity expansion, no external entities (the package guard has refused a DTD)."""
    from defusedxml import ElementTree as DET

    targets = {rel.get("Id"): rel.get("Target") or "" for rel in DET.fromstring(rels)}
    out: list[SheetPart] = []
    for el in DET.fromstring(workbook).iter():
        if el.tag.endswith("}sheet") or el.tag == "sheet":
            target = targets.get(el.get(f"{{{_REL_NS}}}id"))
            name = el.get("name")
            if target is not None and name is not None:
                out.append(SheetPart(name, el.get("sheetId") or "", _opc(target),
                                     _calamine(target)))
    return out

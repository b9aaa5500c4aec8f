"""What a reader hands the core about one workbook file: its format, sheets, the xlz.*
metadata and its hash. Readers (``xlz.io.read``, the xlwings engine) fill it in."""

from __future__ import annotations

from dataclasses import dataclass, field

from xlz.core.validator import SheetValues


@dataclass(slots=True)
class WorkbookData:
    """One workbook as read: format, sheet values, the xlz.* metadata and the hash."""

    path: str
    format: str  # from xlz.io.intake.sniff: xlsx, xlsm, xls, ods, ...
    sheets: dict[str, SheetValues]
    # The xlz.* custom document properties ({} when the file has none); None when the
    # reader cannot see them (.ods, .xls, an open book). The _xlz sheet, their mirror,
    # is in ``sheets``: xlz.core.identity compares the two.
    properties: dict[str, str] | None
    sha256: str
    hidden: frozenset[str] = field(default_factory=frozenset)  # hidden / very hidden sheets

"""The 科技招商 add-in's Python side: entry points that xlwings ``RunPython`` calls on the
workbook open in Excel.

The buttons reuse the core of ``xlz validate`` / ``xlz fill``: the book's values are
read into the readers' :class:`~xlz.core.workbook.WorkbookData`, and what to write is
decided by :mod:`xlz.ops.live_edits` (the same cell edits as the file writer). Only the
transport is here: the values come from and the blocks go back through xlwings. The WPS
add-in (:mod:`xlz.web.wps`) is the other transport of the same function.

Calls into Excel are the slow part of a button press, so they grow with the number of
sheets, never with the number of cells: every sheet's used range is read in one call,
and every edited sheet is written in one call (the bounding block of its edits).

Works with any xlwings ``Book``: the COM engine in Excel (through RunPython) and, in
the tests, xlwings' remote engine, which builds a Book from a JSON description and
records the actions it would send to Excel.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from xlz.core.errors import OutputError, XlzError, make_error
from xlz.core.findings import Report
from xlz.core.identity import Identity, base_name
from xlz.core.validator import SheetValues
from xlz.core.workbook import WorkbookData
from xlz.ops.live_edits import Block, clear_edits, fill_edits, summary, validate_edits


def read_book(book: Any) -> WorkbookData:
    """Every sheet's used range in one call each, as the core's plain values, and the
    book's ``xlz.*`` custom document properties (see :func:`book_properties`)."""
    sheets: dict[str, SheetValues] = {}
    for sheet in book.sheets:
        used = sheet.used_range
        rows = used.options(ndim=2).value or []
        sheets[sheet.name] = SheetValues(sheet.name, rows, used.row, used.column - 1)
    return WorkbookData(book.fullname or book.name, "xlsx", sheets, book_properties(book), "")


def book_properties(book: Any) -> dict[str, str] | None:
    """The open book's ``xlz.*`` custom document properties: through COM when Excel or
    WPS runs the book, else from the saved file (the properties are set when the
    template is made and no button changes them). None when neither can be seen: the
    identity then rests on the ``_xlz`` sheet alone."""
    try:
        found = {}
        for prop in book.api.CustomDocumentProperties:
            name = str(prop.Name)
            if name.startswith("xlz."):
                found[name] = "" if prop.Value is None else str(prop.Value)
        return found
    except Exception:  # not COM (xlwings' remote engine), or COM refused: the saved file
        pass
    from pathlib import Path

    from xlz.io.read import file_properties

    path = Path(str(book.fullname or ""))
    return file_properties(path) if path.is_absolute() and path.is_file() else None


def identify_book(data: WorkbookData) -> Identity:
    """The identity decision for an open book read by :func:`read_book`: the same as
    ``xlz validate`` / ``xlz fill`` make for the file (:func:`xlz.ops.workbook.identify_workbook`)."""
    from xlz.ops.workbook import identify_workbook

    return identify_workbook(data, None, name=base_name(data.path))


# Excel's finer protection switches, in the order Worksheet.Protect takes them after
# Password, DrawingObjects, Contents, Scenarios and UserInterfaceOnly.
_ALLOW = ("AllowFormattingCells", "AllowFormattingColumns", "AllowFormattingRows",
          "AllowInsertingColumns", "AllowInsertingRows", "AllowInsertingHyperlinks",
          "AllowDeletingColumns", "AllowDeletingRows", "AllowSorting", "AllowFiltering",
          "AllowUsingPivotTables")
_NOT_PROTECTED: tuple[bool, ...] = ()


def _unprotect(sheet: Any) -> tuple[bool, ...]:
    """Lift a sheet's protection (templates protect without a password, docs/standard.md)
    and say how it was, for :func:`_reprotect`: ``()`` when it was not protected, or when
    the engine has no Excel object model (xlwings' remote engine in the tests). Raises
    ``output.sheet_password`` when the sheet has a password."""
    try:
        ws = sheet.api
        if not ws.ProtectContents:
            return _NOT_PROTECTED
    except Exception:  # no COM object model: nothing to lift
        return _NOT_PROTECTED
    saved = [bool(ws.ProtectDrawingObjects), True, bool(ws.ProtectScenarios)]
    try:
        allow = [bool(getattr(ws.Protection, name)) for name in _ALLOW]
    except Exception:  # a host without the Allow* switches keeps their defaults
        allow = []
    try:
        ws.Unprotect("")
    except Exception as exc:
        raise make_error(OutputError, "output.sheet_password", None, sheet=sheet.name) \
            from exc
    return (*saved, *allow)


def _reprotect(sheet: Any, saved: tuple[bool, ...]) -> None:
    """Put back the protection :func:`_unprotect` lifted, with the same switches (as the
    add-in's VBA Relock does; positional, which every COM host takes)."""
    if saved:
        drawing, contents, scenarios, *allow = saved
        sheet.api.Protect("", drawing, contents, scenarios, False, *allow)


def write_blocks(book: Any, todo: list[Block]) -> None:
    """Write the edits, one call per block. The cells a button writes (校验提示,
    校验结果, 校验状态, 任务分解 …) are locked in the template's protected sheets, and
    Excel refuses a write there from outside VBA: every target sheet is unprotected first
    and protected again afterwards, exactly as it was (the WPS add-in does the same). If
    one has a password, nothing is written (``output.sheet_password``)."""
    lifted: list[tuple[Any, tuple[bool, ...]]] = []
    try:
        for name in dict.fromkeys(block.sheet for block in todo):
            sheet = book.sheets[name]
            lifted.append((sheet, _unprotect(sheet)))
        for block in todo:
            target = book.sheets[block.sheet].range(block.address)
            if block.formulas:
                target.formula = block.values
            else:
                target.value = block.values
    finally:
        for sheet, saved in lifted:
            _reprotect(sheet, saved)


def validate_book(book: Any, *, now: dt.datetime | None = None) -> Report:
    """校验本表: validate the open workbook and write the findings into its reserved
    places, exactly as ``xlz validate`` writes them into a file."""
    done = validate_edits(read_book(book), now=now)
    write_blocks(book, done.blocks)
    return done.report


def fill_book(book: Any) -> Report:
    """生成汇总: bring 任务分解 and 载体汇总 of the open workbook up to date."""
    done = fill_edits(read_book(book))
    write_blocks(book, done.blocks)
    return done.report


def clear_book(book: Any) -> None:
    """清除标记 (the add-in does this in VBA without Python; kept for scripting)."""
    write_blocks(book, clear_edits(read_book(book)).blocks)


def validate_active() -> None:
    """Called by the add-in's 校验本表 button through RunPython."""
    import xlwings as xw

    book = xw.Book.caller()
    try:
        report = validate_book(book)
    except XlzError as exc:  # a message for the clerk, not a traceback
        book.app.alert(exc.message, title="科技招商")
        return
    book.app.alert(summary(report, "校验"), title="科技招商")


def fill_active() -> None:
    """Called by the add-in's 生成汇总 button through RunPython."""
    import xlwings as xw

    book = xw.Book.caller()
    try:
        report = fill_book(book)
    except XlzError as exc:
        book.app.alert(exc.message, title="科技招商")
        return
    book.app.alert(summary(report, "生成汇总"), title="科技招商")


def clear_active() -> None:
    import xlwings as xw

    book = xw.Book.caller()
    try:
        clear_book(book)
    except XlzError as exc:
        book.app.alert(exc.message, title="科技招商")

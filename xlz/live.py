"""The 科技招商 add-in's Python side: entry points that xlwings ``RunPython`` calls on the
workbook open in Excel.

The buttons reuse the core of ``xlz validate`` / ``xlz fill``: the same reader output
(:class:`~xlz.io.read.WorkbookData`), the same validator, and the same cell edits
(:func:`xlz.io.inplace.validation_edits`, :func:`xlz.io.inplace.fill_edits`). Only the
transport differs: instead of patching the zip, the edits are written through xlwings.

Calls into Excel are the slow part of a button press, so they grow with the number of
sheets, never with the number of cells: every sheet's used range is read in one call,
and every edited sheet is written in one call (the bounding block of its edits).

Works with any xlwings ``Book``: the COM engine in Excel (through RunPython) and, in
the tests, xlwings' remote engine, which builds a Book from a JSON description and
records the actions it would send to Excel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xlz.core import layout as L
from xlz.core.cells import cell_ref, parse_ref
from xlz.core.findings import Report
from xlz.core.identity import Identity, base_name
from xlz.core.validator import SheetValues
from xlz.core.workbook import WorkbookData
from xlz.ooxml.sheetxml import Clear, Edit, Formula, Number

# Text Excel would turn into a formula or a number when written: keep it text with the
# leading apostrophe that Excel itself uses for that (it is not part of the value).
_FORMULA_LEAD = ("=", "+", "-", "@")


@dataclass(frozen=True, slots=True)
class Block:
    """One rectangular write: top-left cell and a 2-D array of values or formulas."""

    sheet: str
    row: int  # 1-based
    col: int  # 0-based
    values: list[list[Any]]
    formulas: bool  # write through Range.formula (the block holds a formula)

    @property
    def address(self) -> str:
        bottom = self.row + len(self.values) - 1
        right = self.col + len(self.values[0]) - 1
        return f"{cell_ref(self.row, self.col)}:{cell_ref(bottom, right)}"


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


def _as_written(edit: Edit) -> Any:
    if isinstance(edit, Clear):
        return None
    if isinstance(edit, Number):
        return edit.value
    if isinstance(edit, Formula):
        return "=" + edit.text
    text = edit.value
    if text.startswith(_FORMULA_LEAD) or _looks_numeric(text):
        return "'" + text
    return text


def _looks_numeric(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _current(data: WorkbookData, sheet: str, row: int, col: int) -> object:
    values = data.sheets.get(sheet)
    if values is None:
        return None
    i, j = row - values.first_row, col - values.first_col
    if 0 <= i < len(values.rows) and 0 <= j < len(values.rows[i]):
        return values.rows[i][j]
    return None


def blocks(data: WorkbookData, edits: Mapping[str, Mapping[str, Edit]]) -> list[Block]:
    """One block per edited sheet: the bounding rectangle of its edits. Cells inside it
    that are not edited keep their current value (the reserved places hold values, not
    formulas; a block that would overwrite a formula is split by the caller)."""
    out: list[Block] = []
    for sheet, cells in edits.items():
        if not cells:
            continue
        refs = {parse_ref(ref): edit for ref, edit in cells.items()}
        top = min(r for r, _ in refs)
        bottom = max(r for r, _ in refs)
        left = min(c for _, c in refs)
        right = max(c for _, c in refs)
        grid: list[list[Any]] = []
        for row in range(top, bottom + 1):
            line = []
            for col in range(left, right + 1):
                edit = refs.get((row, col))
                line.append(_as_written(edit) if edit is not None
                            else _current(data, sheet, row, col))
            grid.append(line)
        has_formula = any(isinstance(e, Formula) for e in refs.values())
        out.append(Block(sheet, top, left, grid, has_formula))
    return out


def write_blocks(book: Any, todo: list[Block]) -> None:
    for block in todo:
        target = book.sheets[block.sheet].range(block.address)
        if block.formulas:
            target.formula = block.values
        else:
            target.value = block.values


def validate_book(book: Any, *, now: dt.datetime | None = None) -> Report:
    """校验本表: validate the open workbook and write the findings into its reserved
    places, exactly as ``xlz validate`` writes them into a file."""
    from xlz.core.validator import validate_values
    from xlz.io.inplace import find_places, validation_edits

    data = read_book(book)
    ctx = identify_book(data)
    validation = validate_values(data.sheets, ctx.plan, source=base_name(data.path),
                                 standard=ctx.standard)
    report = validation.report
    report.findings[:0] = ctx.findings
    places = find_places(data)
    if not (ctx.template and places.complete):
        return report  # not our template: never write into someone else's workbook
    now = now or dt.datetime.now().replace(microsecond=0)
    write_blocks(book, blocks(data, validation_edits(data, report, places, now)))
    return report


def fill_book(book: Any) -> Report:
    """生成汇总: bring 任务分解 and 载体汇总 of the open workbook up to date."""
    from xlz.core.validator import validate_values
    from xlz.io.inplace import fill_edits, fill_missing

    data = read_book(book)
    ctx = identify_book(data)
    validation = validate_values(data.sheets, ctx.plan, source=base_name(data.path),
                                 standard=ctx.standard)
    report = validation.report
    report.findings[:0] = ctx.findings
    if not ctx.accepted or ctx.town is None or fill_missing(data, validation):
        return report
    write_blocks(book, blocks(data, fill_edits(data, validation, ctx.plan, ctx.town)))
    return report


def clear_book(book: Any) -> None:
    """清除标记 (the add-in does this in VBA without Python; kept for scripting)."""
    from xlz.io.inplace import find_places, validation_edits

    data = read_book(book)
    places = find_places(data)
    if not places.complete:
        return
    edits = validation_edits(data, Report(), places, dt.datetime.now())
    guide = edits.get(L.GUIDE, {})
    for key in L.STATUS_WRITTEN:  # cleared, not "通过": nothing was checked
        row, col = places.status[key]
        guide[cell_ref(row, col)] = Clear()
    write_blocks(book, blocks(data, edits))


def _summary(report: Report, what: str) -> str:
    counts = report.counts()
    if any(f.code in ("file.not_template", "file.standard_mismatch", "file.wrong_kind",
                      "file.meta_conflict") for f in report):
        return "当前工作簿不是市里下发的标准模板，未作任何修改。请打开本镇区的填报模板后再试。"
    return (f"{what}完成：错误 {counts['错误']} 条，提醒 {counts['提醒']} 条。"
            + ("详见“校验结果”工作表，点击位置可跳到对应单元格。" if len(report) else ""))


def validate_active() -> None:
    """Called by the add-in's 校验本表 button through RunPython."""
    import xlwings as xw

    book = xw.Book.caller()
    report = validate_book(book)
    book.app.alert(_summary(report, "校验"), title="科技招商")


def fill_active() -> None:
    """Called by the add-in's 生成汇总 button through RunPython."""
    import xlwings as xw

    book = xw.Book.caller()
    report = fill_book(book)
    book.app.alert(_summary(report, "生成汇总"), title="科技招商")


def clear_active() -> None:
    import xlwings as xw

    clear_book(xw.Book.caller())

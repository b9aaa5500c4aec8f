"""The buttons' edits for a workbook that is open in a spreadsheet application, with no
transport: what 校验本表, 生成汇总 and 清除标记 write, as rectangular blocks of values.

Two doors move these blocks: :mod:`xlz.live` (xlwings, Python on the clerk's PC) and
the portal's WPS add-in endpoint (:mod:`xlz.web`, the values arrive as JSON and the
blocks go back to the add-in's JavaScript). Both hand in the book's values as a
:class:`~xlz.core.workbook.WorkbookData` and write the blocks they get back; the
decisions (identity, validation, which cells) are made here once, by the same functions
``xlz validate`` / ``xlz fill`` use to patch a file (:func:`xlz.io.inplace.validation_edits`,
:func:`xlz.io.inplace.fill_edits`).

A block is the bounding rectangle of one sheet's edits, so a button costs one write per
edited sheet, never one per cell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xlz.core import layout as L
from xlz.core.cells import cell_ref, parse_ref
from xlz.core.findings import Report
from xlz.core.identity import base_name
from xlz.core.workbook import WorkbookData
from xlz.ooxml.sheetxml import Clear, Edit, Formula, Number

# Text a spreadsheet would turn into a formula or a number when written: kept text with
# the leading apostrophe that Excel and WPS themselves use for that (not part of the value).
_FORMULA_LEAD = ("=", "+", "-", "@")
# Findings that mean "this is not our template": the buttons then write nothing.
_NOT_OURS = frozenset({"file.not_template", "file.standard_mismatch", "file.wrong_kind",
                       "file.meta_conflict"})


@dataclass(frozen=True, slots=True)
class Block:
    """One rectangular write: top-left cell and a 2-D array of values or formulas."""

    sheet: str
    row: int  # 1-based
    col: int  # 0-based
    values: list[list[Any]]
    formulas: bool  # write through Range.Formula (the block holds a formula)

    @property
    def address(self) -> str:
        bottom = self.row + len(self.values) - 1
        right = self.col + len(self.values[0]) - 1
        return f"{cell_ref(self.row, self.col)}:{cell_ref(bottom, right)}"

    def to_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "address": self.address, "row": self.row,
                "col": self.col, "values": self.values, "formulas": self.formulas}


@dataclass(slots=True)
class LiveEdits:
    """What one button press writes (``blocks``, possibly none), the report behind it,
    and the Chinese sentence the button shows."""

    report: Report
    blocks: list[Block] = field(default_factory=list)
    message: str = ""


def as_written(edit: Edit) -> Any:
    """The value a spreadsheet application is given for ``edit``."""
    if isinstance(edit, Clear):
        return None
    if isinstance(edit, Number):
        return edit.value
    if isinstance(edit, Formula):
        return "=" + edit.text
    return _guarded(edit.value)


def _guarded(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_LEAD) or _looks_numeric(text) else text


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
    value = values.cell(row, col)
    # Written back unchanged, text such as 00123 must not become the number 123.
    return _guarded(value) if isinstance(value, str) else value


def blocks(data: WorkbookData, edits: Mapping[str, Mapping[str, Edit]]) -> list[Block]:
    """One block per edited sheet: the bounding rectangle of its edits. Cells inside it
    that are not edited keep their current value (the reserved places hold values, not
    formulas)."""
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
                line.append(as_written(edit) if edit is not None
                            else _current(data, sheet, row, col))
            grid.append(line)
        has_formula = any(isinstance(e, Formula) for e in refs.values())
        out.append(Block(sheet, top, left, grid, has_formula))
    return out


def summary(report: Report, what: str) -> str:
    """The sentence a button shows after ``what`` (校验 / 生成汇总)."""
    counts = report.counts()
    if any(f.code in _NOT_OURS for f in report):
        return "当前工作簿不是市里下发的标准模板，未作任何修改。请打开本镇区的填报模板后再试。"
    return (f"{what}完成：错误 {counts['错误']} 条，提醒 {counts['提醒']} 条。"
            + ("详见“校验结果”工作表，点击位置可跳到对应单元格。" if len(report) else ""))


def validate_edits(data: WorkbookData, *, now: dt.datetime | None = None) -> LiveEdits:
    """校验本表: the findings written into the reserved places, exactly as ``xlz validate``
    writes them into a file. No blocks when the book is not our template."""
    from xlz.io.inplace import find_places, validation_edits
    from xlz.ops.workbook import check_workbook

    ctx, validation = check_workbook(data, name=base_name(data.path))
    report = validation.report
    done = LiveEdits(report, message=summary(report, "校验"))
    places = find_places(data)
    if not (ctx.template and places.complete):
        return done  # not our template: never write into someone else's workbook
    now = now or dt.datetime.now().replace(microsecond=0)
    done.blocks = blocks(data, validation_edits(data, report, places, now))
    return done


def fill_edits(data: WorkbookData) -> LiveEdits:
    """生成汇总: 任务分解 and 载体汇总 brought up to date, as ``xlz fill`` writes them."""
    from xlz.io import inplace
    from xlz.ops.workbook import check_workbook

    ctx, validation = check_workbook(data, name=base_name(data.path))
    report = validation.report
    done = LiveEdits(report, message=summary(report, "生成汇总"))
    if not ctx.accepted or ctx.town is None or inplace.fill_missing(data, validation):
        return done
    done.blocks = blocks(data, inplace.fill_edits(data, validation, ctx.plan, ctx.town))
    return done


def clear_edits(data: WorkbookData) -> LiveEdits:
    """清除标记: what the last check wrote, removed (the status cells emptied, not
    "通过": nothing was checked)."""
    from xlz.io.inplace import find_places, validation_edits

    places = find_places(data)
    if not places.complete:
        return LiveEdits(Report(), message="当前工作簿不是市里下发的标准模板，未作任何修改。")
    edits = validation_edits(data, Report(), places, dt.datetime.now())
    guide = edits.get(L.GUIDE, {})
    for key in L.STATUS_WRITTEN:
        row, col = places.status[key]
        guide[cell_ref(row, col)] = Clear()
    return LiveEdits(Report(), blocks(data, edits), "已清除上次校验留下的标记。")

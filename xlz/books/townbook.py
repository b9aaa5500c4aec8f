"""The town workbook (镇区填报表) written with xlsxwriter, per docs/standard.md
section 2.

Deterministic: the timestamps come from the plan (its issue date), sheets, names, lists
and rows are written in fixed order, and xlsxwriter stamps zip entries with a fixed
date, so regenerating gives byte-identical files.

Every formula is written with the value Python computes for it (the validator for the
实时检查 column, :func:`xlz.core.summary.progress` for 任务分解), because xlsxwriter would
otherwise cache 0 and readers that do not recalculate (calamine, previews) would show
it. ``entries`` lets the demo and the tests write a filled-in workbook the same way.

The 实时检查 column is one formula per prepared row. After xlsxwriter closes the file,
the rows whose formula is provably the first one filled down are stored as one Excel
shared formula (:mod:`xlz.ooxml.sharedformula` proves it, :mod:`xlz.ooxml.sharedxml` rewrites the
sheet part): 项目信息 shrinks from 3.8 MB of XML to ~100 KB, cached values unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from xlz.books.common import (
    DATE_MAX,
    DATE_MIN,
    NOT_CHECKED,
    Formats,
    formats,
    new_workbook,
    new_worksheet,
    print_setup,
    protect,
    table_sheet,
    template_version,
    town_file_name,
    write_meta_sheet,
    write_metadata,
    write_value,
)
from xlz.core import formulas as fx
from xlz.core.catalogue import RULES
from xlz.core.cells import CellValue, column_letter
from xlz.core.entries import ENTRY_SHEETS, Column, EntrySheet, Kind
from xlz.core.findings import Severity
from xlz.core.guide import guide_sections
from xlz.core.guideinfo import as_of_range
from xlz.core.layout import (
    CARRIER_SUMMARY,
    CARRIER_SUMMARY_HEADERS,
    CONTACT_LABELS,
    CONTACT_ROWS,
    ENTRY_CAPACITY,
    FIRST_DATA_ROW,
    GUIDE,
    HEADER_ROW,
    RESULT_HEADERS,
    RESULTS,
    STATUS_LABELS,
    STATUS_ROWS,
    TASK_FIRST_ROW,
    TASK_HEADERS,
    TASKS,
)
from xlz.core.plan import METRICS, Plan, Town
from xlz.core.summary import METRIC_LABELS, MetricProgress, carrier_rows, progress
from xlz.core.validator import SheetValues, Validation, validate_values
from xlz.ooxml.sharedformula import Run, shared_runs
from xlz.ooxml.sharedxml import CHILD_PLACEHOLDER, share_formulas

Entries = Mapping[str, Sequence[Mapping[str, CellValue]]]

# ------------------------------------------------------------------ entry sheets


def _input_format(col: Column, fm: Formats) -> Format:
    if col.kind is Kind.DATE:
        return fm.input_date
    if col.kind in (Kind.PHONE, Kind.TEXT):
        return fm.input_text  # keeps leading zeros of phone numbers and IDs
    return fm.input


_ERROR_TEXT = {
    Kind.CHOICE: "请从下拉列表中选择。",
    Kind.MONTH: "请填写1–12的月份数字，或“全年”。",
    Kind.INTEGER: "请填写不小于0的整数，不要加文字。",
    Kind.NUMBER: "请填写不小于0的数字。",
    Kind.MONEY: "请填写以万元为单位、不小于0的数字，不要加文字。",
    Kind.AREA: "请填写以平方米为单位、不小于0的数字，不要加文字。",
    Kind.DATE: "请填写日期，如 2023-03-05。",
    Kind.TEXT: "内容过长，请精简。",
}


def _validation(col: Column) -> dict[str, Any] | None:
    """The classic data-validation form (kept by Excel, WPS, LibreOffice and openpyxl)."""
    kind = col.kind
    opts: dict[str, Any]
    if kind is Kind.CHOICE:
        opts = {"validate": "list", "source": f"={col.choices}"}
    elif kind is Kind.MONTH:
        opts = {"validate": "list", "source": f"={fx.MONTH_LIST}"}
    elif kind is Kind.INTEGER:
        opts = {"validate": "integer", "criteria": ">=", "value": 0}
    elif kind in (Kind.NUMBER, Kind.MONEY, Kind.AREA):
        opts = {"validate": "decimal", "criteria": ">=", "value": 0}
    elif kind is Kind.DATE:
        opts = {"validate": "date", "criteria": "between", "minimum": DATE_MIN,
                "maximum": DATE_MAX}
    elif kind is Kind.TEXT and col.max_length:
        opts = {"validate": "length", "criteria": "<=", "value": col.max_length}
    elif col.hint:
        opts = {"validate": "any"}
    else:
        return None
    if opts["validate"] != "any":
        # 提醒-level columns warn and let the clerk keep the value; 错误-level ones refuse it.
        opts["error_type"] = "stop" if col.invalid is Severity.ERROR else "warning"
        opts["error_title"] = col.header[:32]
        opts["error_message"] = _ERROR_TEXT.get(kind, "填写内容不符合要求。")
    if col.hint:
        opts["input_title"] = col.header[:32]
        opts["input_message"] = col.hint[:255]
    return opts


def _entry_sheet(wb: xlsxwriter.Workbook, fm: Formats, plan: Plan, sheet: EntrySheet,
                 rows: Sequence[Mapping[str, CellValue]], validation: Validation
                 ) -> tuple[str, list[tuple[str, list[Run]]]]:
    """Write one entry sheet; returns its part name and the formula columns to share."""
    ws = new_worksheet(wb, sheet.name)
    cols = sheet.columns
    last = fx.last_row(sheet)  # 1-based
    hdr = HEADER_ROW - 1
    for i, col in enumerate(cols):
        library = col.kind is Kind.LIBRARY
        fmt = (fm.live if col.key == "live_check" else fm.findings) if library \
            else _input_format(col, fm)
        ws.set_column(i, i, col.width, fmt)
        ws.write_string(hdr, i, col.header, fm.header_library if library else fm.header)
        opts = _validation(col) if not library else None
        if opts is not None:
            ws.data_validation(FIRST_DATA_ROW - 1, i, last - 1, i, opts)
    ws.set_row(hdr, 36)
    for r, entry in enumerate(rows):
        for i, col in enumerate(cols):
            if col.kind is not Kind.LIBRARY and col.key in entry:
                write_value(ws, FIRST_DATA_ROW - 1 + r, i, entry[col.key], _input_format(col, fm))
    if len(rows) > ENTRY_CAPACITY[sheet.key]:
        raise ValueError(f"{sheet.name}: {len(rows)} rows exceed the template's capacity")
    # 实时检查: one formula per prepared row, cached with the Python validator's verdict.
    # Rows proven to hold their run's first formula filled down become shared formulas
    # once the workbook is closed; until then they hold a placeholder (xlz.ooxml.sharedxml).
    live_idx = next(i for i, c in enumerate(cols) if c.key == "live_check")
    cached = fx.live_check_values(plan, sheet, validation.report)
    rules = fx.live_rules(plan, sheet)
    formulas = [(row, fx.live_check_formula(plan, sheet, row, rules))
                for row in range(FIRST_DATA_ROW, last + 1)]
    runs = shared_runs(formulas)
    children = {r for run in runs if run.shared for r in range(run.first + 1, run.last + 1)}
    for row, formula in formulas:
        ws.write_formula(row - 1, live_idx, CHILD_PLACEHOLDER if row in children else formula,
                         fm.live, cached.get(row, ""))
    # Highlighting, never a style rewrite: red where the live check names the cell,
    # yellow rows where 校验提示 holds text.
    letters = fx.letters(sheet)
    for key in fx.flagged_columns(plan, sheet):
        ref = f"{letters[key]}{FIRST_DATA_ROW}:{letters[key]}{last}"
        ws.conditional_format(ref, {"type": "formula",
                                    "criteria": fx.flag_format_formula(sheet, key),
                                    "format": fm.flag_red})
    inputs = sheet.input_columns
    span = f"{letters[inputs[0].key]}{FIRST_DATA_ROW}:{letters[inputs[-1].key]}{last}"
    ws.conditional_format(span, {"type": "formula",
                                 "criteria": fx.findings_format_formula(sheet),
                                 "format": fm.flag_yellow})
    ws.freeze_panes(HEADER_ROW, 2)
    ws.autofilter(hdr, 0, last - 1, len(cols) - 1)
    print_setup(ws)
    # The clerk's columns only: 实时检查 holds a formula on every prepared row, so
    # without a print area an empty template printed a dozen pages of blank rows. Inside
    # this area an empty page is skipped (Excel, WPS, LibreOffice); filled rows print.
    ws.print_area(hdr, 0, max(last, FIRST_DATA_ROW + len(rows)) - 1, len(inputs) - 1)
    protect(ws, entry=True)
    # xlsxwriter names worksheet parts by position: sheet1.xml is the first sheet.
    part = f"xl/worksheets/sheet{ws.index + 1}.xml"
    return part, [(column_letter(live_idx), runs)]


# ------------------------------------------------------------------ library sheets


def _contact_rows(ws: Worksheet, fm: Formats, plan: Plan,
                  info: Mapping[str, CellValue]) -> None:
    """填报人, 联系电话, 数据截至日期 (standard 2): unlocked cells beside their labels, with
    data validation where typing can be checked (the validator checks them all)."""
    first, last = as_of_range(plan)
    as_of_hint = (f"必填：本表数据截至的日期，如 {plan.year}-06-30；"
                  f"应在 {first.isoformat()} 至 {last.isoformat()} 之间")
    phone = RULES["guide.phone.invalid"].params["expected"]
    rules: dict[str, dict[str, Any]] = {
        "reporter": {"validate": "length", "criteria": "<=", "value": 50,
                     "input_message": "填写本表的经办人姓名"},
        # A formula cannot check a phone number's form (docs/rules.md): the length keeps
        # out slips, the validator does the rest.
        "phone": {"validate": "length", "criteria": "between", "minimum": 7, "maximum": 40,
                  "error_type": "warning", "input_message": f"填报人的{phone}"[:255],
                  "error_message": f"请填写{phone}"[:255]},
        "as_of": {"validate": "date", "criteria": "between",
                  "minimum": dt.datetime.combine(first, dt.time()),
                  "maximum": dt.datetime.combine(last, dt.time()),
                  "input_message": as_of_hint, "error_message": as_of_hint},
    }
    for key, label in CONTACT_LABELS.items():
        r = CONTACT_ROWS[key] - 1
        fmt = fm.guide_date if key == "as_of" else fm.guide_input
        ws.write_string(r, 0, label, fm.label)
        ws.write_blank(r, 1, None, fmt)
        if key in info:
            write_value(ws, r, 1, info[key], fmt)
        opts = rules[key]
        opts.setdefault("error_type", "stop")
        ws.data_validation(r, 1, r, 1, {"input_title": label, "error_title": label, **opts})


def _guide_sheet(wb: xlsxwriter.Workbook, fm: Formats, plan: Plan, town: Town,
                 info: Mapping[str, CellValue]) -> None:
    ws = new_worksheet(wb, GUIDE)
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 96)
    ws.write_string(0, 0, f"{plan.city}科技招商填报表（{town.short}）", fm.title)
    ws.write_string(1, 0, plan.title)
    values = {
        "town": town.name, "plan": f"{plan.year}年 {plan.id}", "version": template_version(plan),
        "state": NOT_CHECKED, "checked_at": "", "errors": "", "warnings": "",
    }
    for key, label in STATUS_LABELS.items():
        r = STATUS_ROWS[key] - 1
        ws.write_string(r, 0, label, fm.label)
        ws.write_string(r, 1, values[key], fm.value)
    _contact_rows(ws, fm, plan, info)
    r = max(CONTACT_ROWS.values()) + 1
    for head, text in guide_sections(plan, town):
        ws.write_string(r, 0, head, fm.guide_head)
        ws.write_string(r, 1, text, fm.guide_text)
        # Row height by hand: xlsxwriter cannot autofit wrapped text (≈46 CJK chars a line).
        ws.set_row(r, 16 * max(1, -(-len(text) // 46)) + 4)
        r += 1
    print_setup(ws)
    ws.set_portrait()
    protect(ws, entry=False)
    ws.activate()


def _task_sheet(wb: xlsxwriter.Workbook, fm: Formats, plan: Plan, town: Town,
                done: Sequence[MetricProgress]) -> None:
    ws = new_worksheet(wb, TASKS)
    widths = (36, 10, 10, 10, 14)
    for i, (header, width) in enumerate(zip(TASK_HEADERS, widths, strict=True)):
        ws.set_column(i, i, width)
        ws.write_string(0, i, header, fm.header)
    formulas = fx.task_formulas(plan)
    values = fx.task_values(done)
    for metric in METRICS:
        r = fx.task_row(metric)
        ws.write_string(r - 1, 0, METRIC_LABELS[metric], fm.value)
        target = values[f"{fx.TARGET_COL}{r}"]
        if target is None:  # printed blank in 附件2: no target, never 0
            ws.write_blank(r - 1, 1, None, fm.number)
        else:
            ws.write_number(r - 1, 1, target, fm.number)
        for col, fmt in ((fx.DONE_COL, fm.number), (fx.RATE_COL, fm.percent),
                         (fx.PIPELINE_COL, fm.number)):
            ref = f"{col}{r}"
            ws.write_formula(ref, formulas[ref], fmt, values[ref])
    note = TASK_FIRST_ROW + len(METRICS) + 1
    ws.write_string(note - 1, 0, f"镇区：{town.name}。目标为附件2下达数，空白表示未下达该项任务。")
    ws.write_string(note, 0, "完成数只统计项目进展为“已签约”“已注册”“已投产”的项目；"
                             "“洽谈中”的项目列为在谈，不计入完成。专利数为计入完成的科创类、"
                             "人才类、服务类项目的合计。本表由公式自动计算，请勿修改。")
    ws.freeze_panes(1, 1)
    print_setup(ws)
    protect(ws, entry=False)


def _lists_sheet(wb: xlsxwriter.Workbook, plan: Plan) -> None:
    ws = new_worksheet(wb, fx.LISTS_SHEET)
    for c, name in enumerate(fx.list_names(plan)):
        ws.write_string(0, c, name)
        values = fx.list_values(plan, name)
        for r, value in enumerate(values, start=1):
            write_value(ws, r, c, value, None)
        letter = column_letter(c)
        wb.define_name(name, f"={fx.quote_sheet(fx.LISTS_SHEET)}!${letter}$2:${letter}$"
                             f"{len(values) + 1}")
    ws.hide()


# ------------------------------------------------------------------------ public


def _sheet_values(rows: Sequence[Mapping[str, CellValue]], sheet: EntrySheet) -> SheetValues:
    grid: list[list[CellValue]] = [list(sheet.headers)]
    for entry in rows:
        grid.append([entry.get(c.key) for c in sheet.columns])
    return SheetValues(sheet.name, grid)


def town_state(plan: Plan, town_code: str, entries: Entries | None = None
               ) -> tuple[Validation, list[MetricProgress]]:
    """What Python says about ``entries``: the validation (live-check cache) and the
    任务分解 figures (all project rows whose category and status are readable, exactly
    what the 任务分解 formulas count)."""
    entries = entries or {}
    sheets = {s.name: _sheet_values(entries.get(s.key, ()), s) for s in ENTRY_SHEETS}
    validation = validate_values(sheets, plan)
    done = progress(validation.records.get("project", []), plan.target(town_code), plan)
    return validation, done


def build_town_workbook(plan: Plan, town_code: str, path: str | Path,
                        entries: Entries | None = None) -> Path:
    """Write the town template (optionally with entries typed into its entry sheets, and
    under the key ``"guide"`` one mapping of 填报信息: ``reporter``, ``phone``, ``as_of``)."""
    town = plan.town(town_code)
    entries = entries or {}
    unknown = set(entries) - {s.key for s in ENTRY_SHEETS} - {"guide"}
    if unknown:
        raise ValueError(f"unknown entry sheets: {sorted(unknown)}")
    validation, done = town_state(plan, town_code, entries)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb = new_workbook(out)
    fm = formats(wb)
    meta = write_metadata(wb, plan, "town", town.code, town_file_name(plan, town)[:-5])
    guide = entries.get("guide", ())
    _guide_sheet(wb, fm, plan, town, guide[0] if guide else {})
    shared = dict(_entry_sheet(wb, fm, plan, sheet, entries.get(sheet.key, ()), validation)
                  for sheet in ENTRY_SHEETS)
    _task_sheet(wb, fm, plan, town, done)
    carriers = [
        (c.seq, c.town, c.name, c.method, c.direction, c.area, c.progress)
        for c in carrier_rows(validation.records.get("carrier", []), town.short)
    ]
    ws = table_sheet(wb, fm, CARRIER_SUMMARY, CARRIER_SUMMARY_HEADERS,
                      (6, 12, 28, 12, 28, 16, 10), carriers)
    protect(ws, entry=False)
    ws = table_sheet(wb, fm, RESULTS, RESULT_HEADERS, (6, 8, 16, 18, 20, 80, 30))
    protect(ws, entry=False)
    _lists_sheet(wb, plan)
    write_meta_sheet(wb, meta)
    wb.close()
    # One live-check formula per prepared row is 3.8 MB of XML on 项目信息; stored the
    # way Excel stores a filled-down column it is ~100 KB, and every reader is faster.
    share_formulas(out, shared)
    return out

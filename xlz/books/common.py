"""What every workbook xlz writes shares: metadata (custom properties and the ``_xlz``
sheet), file names, cell formats, protection, print setup and plain table sheets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from xlz.books.xlsxwriter_internals import skip_future_function_scan
from xlz.core.cells import CellValue
from xlz.core.layout import (
    META_GENERATED,
    META_PLAN,
    META_SHEET,
    META_STANDARD,
    META_TEMPLATE,
    META_TOWN,
    STANDARD_VERSION,
)
from xlz.core.plan import Plan, Town

NOT_CHECKED = "未校验"
DATE_MIN = dt.datetime(1900, 1, 1)
DATE_MAX = dt.datetime(9999, 12, 31)
RED_FILL = "#FFC7CE"
RED_FONT = "#9C0006"
YELLOW_FILL = "#FFF2CC"
HEADER_FILL = "#DDEBF7"
LIBRARY_FILL = "#EDEDED"


def generated_at(plan: Plan) -> dt.datetime:
    """The fixed ``xlz.generated`` time: midnight of the plan's issue date."""
    return dt.datetime.combine(dt.date.fromisoformat(plan.issued), dt.time())


def template_version(plan: Plan) -> str:
    return f"标准 {STANDARD_VERSION} · {plan.id} · {plan.issued}"


def town_file_name(plan: Plan, town: Town) -> str:
    return f"{plan.city}科技招商填报表-{town.short}.xlsx"


def city_file_name(plan: Plan) -> str:
    return f"{plan.city}科技招商汇总表-市级.xlsx"


def write_metadata(wb: xlsxwriter.Workbook, plan: Plan, template: str, town: str,
                   title: str) -> list[tuple[str, str]]:
    """Custom document properties (the consolidator reads these) and the fixed core
    properties; returns the key/value rows mirrored on ``_xlz``."""
    when = generated_at(plan)
    meta = [
        (META_TEMPLATE, template),
        (META_STANDARD, STANDARD_VERSION),
        (META_PLAN, plan.id),
        (META_TOWN, town),
        (META_GENERATED, when.isoformat()),
    ]
    wb.set_properties({
        "title": title, "subject": plan.title, "author": plan.office, "company": plan.city,
        "comments": f"xlz {template_version(plan)}", "created": when,
    })
    for key, value in meta:
        wb.set_custom_property(key, value, "text")
    return meta


def write_meta_sheet(wb: xlsxwriter.Workbook, meta: Sequence[tuple[str, str]]) -> None:
    ws = new_worksheet(wb, META_SHEET)
    for i, (key, value) in enumerate(meta):
        ws.write_string(i, 0, key)
        ws.write_string(i, 1, value)
    ws.very_hidden()


def new_worksheet(wb: xlsxwriter.Workbook, name: str) -> Worksheet:
    ws: Worksheet = wb.add_worksheet(name)
    skip_future_function_scan(ws)
    return ws


def new_workbook(path: Path) -> xlsxwriter.Workbook:
    # Text is text: a clerk's "=1+1" or "00121" must never become a formula or number.
    return xlsxwriter.Workbook(str(path), {
        "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
    })


# ------------------------------------------------------------------------ formats


@dataclass(frozen=True, slots=True)
class Formats:
    title: Format
    header: Format
    header_library: Format
    label: Format
    value: Format
    guide_head: Format
    guide_text: Format
    guide_input: Format  # 填报信息 on 填报说明: typed by the clerk, bordered like the status
    guide_date: Format
    input: Format
    input_date: Format
    input_text: Format
    findings: Format
    live: Format
    flag_red: Format
    flag_yellow: Format
    number: Format
    percent: Format
    locked: Format


def formats(wb: xlsxwriter.Workbook) -> Formats:
    f = wb.add_format
    border = {"border": 1, "border_color": "#BFBFBF"}
    header = {"bold": True, "text_wrap": True, "valign": "vcenter", "align": "center", **border}
    return Formats(
        title=f({"bold": True, "font_size": 16}),
        header=f({**header, "bg_color": HEADER_FILL}),
        header_library=f({**header, "bg_color": LIBRARY_FILL, "font_color": "#595959"}),
        label=f({"bold": True, **border, "bg_color": HEADER_FILL}),
        value=f({**border}),
        guide_head=f({"bold": True, "valign": "top", "text_wrap": True}),
        guide_text=f({"text_wrap": True, "valign": "top"}),
        guide_input=f({**border, "locked": False, "num_format": "@"}),
        guide_date=f({**border, "locked": False, "num_format": "yyyy-mm-dd"}),
        input=f({"locked": False}),
        input_date=f({"locked": False, "num_format": "yyyy-mm-dd"}),
        input_text=f({"locked": False, "num_format": "@"}),
        findings=f({"text_wrap": False, "font_color": "#7F6000", "bg_color": LIBRARY_FILL}),
        live=f({"text_wrap": False, "font_color": "#C00000", "bg_color": LIBRARY_FILL}),
        flag_red=f({"bg_color": RED_FILL, "font_color": RED_FONT}),
        flag_yellow=f({"bg_color": YELLOW_FILL}),
        number=f({**border}),
        percent=f({**border, "num_format": "0.0%"}),
        locked=f({}),
    )


def protect(ws: Worksheet, *, entry: bool) -> None:
    # No password (documented on 填报说明): protection stops slips, not people.
    ws.protect("", {
        "format_columns": True, "format_rows": True, "autofilter": entry, "sort": entry,
        "insert_rows": False, "delete_rows": False,
        "select_locked_cells": True, "select_unlocked_cells": True,
    })


def print_setup(ws: Worksheet) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_footer("&C第 &P 页，共 &N 页")


def write_value(ws: Worksheet, row: int, col: int, value: CellValue,
                 fmt: Format | None) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, dt.datetime):
        ws.write_datetime(row, col, value, fmt)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), fmt)
    elif isinstance(value, dt.time):
        ws.write_datetime(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def table_sheet(wb: xlsxwriter.Workbook, fm: Formats, name: str, headers: Sequence[str],
                 widths: Sequence[float], rows: Sequence[Sequence[Any]] = ()) -> Worksheet:
    ws = new_worksheet(wb, name)
    for i, (header, width) in enumerate(zip(headers, widths, strict=True)):
        ws.set_column(i, i, width)
        ws.write_string(0, i, header, fm.header)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            write_value(ws, r, c, value, fm.value)
    ws.freeze_panes(1, 0)
    print_setup(ws)
    return ws

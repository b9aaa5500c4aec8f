"""The report workbook written beside a file xlz must not modify (not a template, lost
its reserved places, or .xls/.ods): ``<file name>.校验报告.xlsx``, named after the whole
file name so that ``丁堰镇.xls`` and ``丁堰镇.ods`` do not overwrite each other's report.

It says what it is the way every xlz workbook does (``xlz.template = report`` in the
custom properties and on the very hidden ``_xlz`` sheet): ``validate`` and
``consolidate`` recognise it by that, whatever it has been renamed to, and skip it
instead of reporting on their own report.

Text from the clerk's file is always written as text: a value starting with ``=`` stays
a string, never becomes a formula.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, BinaryIO

from xlz.core.cells import display, fit_cell
from xlz.core.findings import Report
from xlz.core.identity import REPORT_SUFFIX
from xlz.core.layout import (
    META_GENERATED,
    META_STANDARD,
    META_TEMPLATE,
    RESULT_HEADERS,
    RESULTS,
    STANDARD_VERSION,
)


def report_path(path: str | Path) -> Path:
    """``丁堰镇.xls`` → ``丁堰镇.xls.校验报告.xlsx``: the whole name, suffix included."""
    p = Path(path)
    return p.with_name(p.name + REPORT_SUFFIX)


def write_report_workbook(target: Path, source: Path, report: Report, state: str,
                          now: dt.datetime, sha256: str) -> None:
    import xlsxwriter

    from xlz.books.common import write_meta_sheet
    from xlz.io.output import atomic_write

    meta = [(META_TEMPLATE, "report"), (META_STANDARD, STANDARD_VERSION),
            (META_GENERATED, now.isoformat())]

    def write(fh: BinaryIO) -> None:
        wb = xlsxwriter.Workbook(fh, {"in_memory": True, "strings_to_formulas": False,
                                      "strings_to_numbers": False, "strings_to_urls": False})
        bold = wb.add_format({"bold": True})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        info = wb.add_worksheet("说明")
        counts = report.counts()
        lines: list[tuple[str, Any]] = [
            ("校验文件", source.name), ("SHA-256", sha256), ("校验状态", state),
            ("校验时间", now.strftime("%Y-%m-%d %H:%M:%S")), ("错误数", counts["错误"]),
            ("提醒数", counts["提醒"]),
            ("说明", "原文件未改动；请按“校验结果”逐条修改原文件后重新校验。"),
        ]
        info.set_column(0, 0, 12)
        info.set_column(1, 1, 80)
        for i, (label, value) in enumerate(lines):
            info.write_string(i, 0, label, bold)
            if isinstance(value, int):
                info.write_number(i, 1, value)
            else:
                info.write_string(i, 1, str(value))
        sheet = wb.add_worksheet(RESULTS)
        for j, header in enumerate(RESULT_HEADERS):
            sheet.write_string(0, j, header, bold)
        for width, j in ((6, 0), (8, 1), (18, 2), (16, 3), (20, 4), (80, 5), (30, 6)):
            sheet.set_column(j, j, width)
        for i, f in enumerate(report.sorted(), start=1):
            sheet.write_number(i, 0, i)
            for j, text in enumerate((f.severity.value, f.address, f.column or "",
                                      fit_cell(display(f.value)), f.message, f.code),
                                     start=1):
                sheet.write_string(i, j, text, wrap if j == 5 else None)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(1, len(report)), len(RESULT_HEADERS) - 1)
        for key, value in meta:
            wb.set_custom_property(key, value, "text")
        write_meta_sheet(wb, meta)
        wb.close()

    atomic_write(target, write)

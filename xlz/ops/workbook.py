"""The public operations on one workbook file: ``validate`` and ``fill``.

Pipeline: intake (refuse what is not a usable workbook, with a Chinese message) → fast
read (calamine) → the metadata checks → :func:`validate_values` → write: in place when
the file is an xlz template in an OOXML format with all its reserved places, otherwise
a report workbook beside it (the clerk's file is never modified then).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlz.core import layout as L
from xlz.core.catalogue import RULES
from xlz.core.errors import boundary
from xlz.core.findings import Finding, Report, Severity
from xlz.core.guideinfo import GuideInfo
from xlz.core.identity import Identity, evidence_of, identify
from xlz.core.plan import Plan, load_plan
from xlz.core.validator import Validation, validate_values
from xlz.core.workbook import WorkbookData
from xlz.io.intake import WRITABLE_FORMATS, InputError, classify, misnamed
from xlz.io.read import read_workbook
from xlz.io.writelock import exclusive

PathLike = str | os.PathLike[str]


@dataclass(slots=True)
class FileResult:
    """What happened to one file."""

    path: str
    report: Report
    format: str
    written: bool = False  # the file itself was modified (in place)
    report_path: str | None = None  # a report workbook written beside the file
    mode: str = "check"  # "inplace" | "report" | "check" | "fill" | "skipped"
    skipped_formula_cells: tuple[str, ...] = ()  # reserved cells left alone (live formulas)
    guide: GuideInfo | None = None  # 填报人, 联系电话, 数据截至日期 (standard 2)

    @property
    def ok(self) -> bool:
        return self.report.ok

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "mode": self.mode,
                "written": self.written, "report_path": self.report_path,
                "skipped_formula_cells": list(self.skipped_formula_cells),
                "guide": self.guide.to_dict() if self.guide is not None else None,
                **self.report.to_dict()}


def _file_finding(code: str, name: str, **extra: Any) -> Finding:
    rule = RULES[code]
    return Finding(code, rule.severity, None, None, None, rule.format(file=name, **extra),
                   file=name)


def identify_workbook(data: WorkbookData, plan: Plan | None = None, *,
                      name: str | None = None) -> Identity:
    """What the read workbook is (kind, plan, town, standard) with its file findings:
    :func:`xlz.core.identity.identify` on the evidence in ``data``. ``name``: the name
    findings carry (default: the file name of ``data.path``). The one identity decision
    of ``validate``, ``fill`` and the add-in's entry points (:mod:`xlz.live`)."""
    evidence = evidence_of(data, name)
    return identify(evidence, plan, source=name or evidence.file_name)


def check_workbook(data: WorkbookData, plan: Plan | None = None, *, name: str
                   ) -> tuple[Identity, Validation]:
    """The identity of a read workbook and its validation against the plan and standard
    that identity names, the identity's findings first: what ``validate``, ``fill`` and
    the buttons (:mod:`xlz.ops.live_edits`) all start from."""
    ctx = identify_workbook(data, plan, name=name)
    validation = validate_values(data.sheets, ctx.plan, source=name, standard=ctx.standard)
    validation.report.findings[:0] = ctx.findings
    return ctx, validation


def _run(path: PathLike, plan: Plan | None, *, write: bool
         ) -> tuple[Path, WorkbookData, Identity, Validation]:
    p = Path(path)
    fmt = classify(p, write=write)
    data = read_workbook(p, fmt=fmt)
    ctx, validation = check_workbook(data, plan, name=p.name)
    wrong = misnamed(p, fmt)
    if wrong is not None:  # read as what it is; the clerk should know what that is
        validation.report.findings.insert(0, _file_finding("file.suffix_mismatch", p.name,
                                                           **wrong))
    return p, data, ctx, validation


@boundary
def validate(path: PathLike, *, check: bool = False, plan: Plan | str | None = None,
             now: dt.datetime | None = None) -> FileResult:
    """Validate one workbook. Writes findings into its reserved places (校验提示, 校验结果,
    the status on 填报说明), or — for a file that is not an xlz template, lost its
    reserved places, or is .xls/.ods — into ``<file name>.校验报告.xlsx`` beside it.
    ``check=True`` writes nothing. xlz's own report workbooks are skipped (mode
    ``skipped``, a ``file.own_report`` note). While it reads and writes, the file is
    locked against another xlz run (:mod:`xlz.io.writelock`; ``output.busy`` after a
    minute's wait). Raises :class:`InputError` for unusable files and
    :class:`OutputError` when the result cannot be written (the file stays as it was);
    never anything but an :class:`XlzError`."""
    if check:
        return _validate(path, check=True, plan=plan, now=now)
    with exclusive(path):  # read → patch → replace, never interleaved with a fill
        return _validate(path, check=False, plan=plan, now=now)


def _validate(path: PathLike, *, check: bool, plan: Plan | str | None,
              now: dt.datetime | None) -> FileResult:
    from xlz.books.reportbook import report_path, write_report_workbook
    from xlz.io.inplace import find_places, patch_package, state_of, validation_edits

    resolved = load_plan(plan) if isinstance(plan, str) else plan
    # A file we would only report on may be open or read-only: check that after reading.
    p, data, ctx, validation = _run(path, resolved, write=False)
    if ctx.kind == "report":  # our own output: never a report on a report
        return FileResult(str(p), Report(source=p.name, findings=list(ctx.findings)),
                          data.format, mode="skipped")
    report = validation.report
    result = FileResult(str(p), report, data.format, guide=validation.guide)
    if check:
        return result
    now = now or dt.datetime.now().replace(microsecond=0)
    places = find_places(data)
    in_place = ctx.template and data.format in WRITABLE_FORMATS and places.complete
    target = report_path(p)
    if in_place:
        classify(p, write=True)
        patched = patch_package(p, validation_edits(data, report, places, now),
                                keep_formulas=(L.GUIDE, *places.findings))
        result.written, result.mode = True, "inplace"
        result.skipped_formula_cells = tuple(
            f"{sheet}!{ref}" for sheet, refs in patched.skipped.items() for ref in refs)
        return result
    if data.format not in WRITABLE_FORMATS:
        report.add(_file_finding("file.format_not_writable", p.name, format=data.format,
                                 report=target.name))
    elif ctx.template:
        report.add(_file_finding("file.reserved_missing", p.name,
                                 what="、".join(places.missing[:5]), report=target.name))
    if target.exists():
        from xlz.io.intake import check_writable

        check_writable(target)
    write_report_workbook(target, p, report, state_of(report), now, data.sha256)
    result.report_path, result.mode = str(target), "report"
    return result


@boundary
def fill(path: PathLike, *, plan: Plan | str | None = None) -> FileResult:
    """Fill 任务分解 (restore the formulas, cached values = Python's :func:`progress`)
    and 载体汇总 (附件4 layout) of a town workbook, in place. Raises InputError when
    the file cannot be filled (not a template, .xls/.ods, summary sheets missing),
    OutputError when it cannot be written; never anything but an XlzError. Locked
    against another xlz run on the same file, as :func:`validate` is."""
    with exclusive(path):
        return _fill(path, plan=plan)


def _fill(path: PathLike, *, plan: Plan | str | None) -> FileResult:
    from xlz.io.inplace import fill_edits, fill_places, patch_package

    resolved = load_plan(plan) if isinstance(plan, str) else plan
    p, data, ctx, validation = _run(path, resolved, write=True)
    if ctx.kind == "report":
        raise InputError("file.own_report", f"文件“{p.name}”是 xlz 生成的校验报告，不能生成汇总，"
                         "原文件未改动。请对原来的填报表生成汇总。", p)
    if data.format not in WRITABLE_FORMATS:
        wrong = misnamed(p, data.format)
        if wrong is not None:
            raise InputError("file.suffix_mismatch", RULES["file.suffix_mismatch"].format(
                file=p.name, **wrong) + "未生成汇总，原文件未改动。", p)
        raise InputError("file.format_not_writable",
                         f"文件“{p.name}”是 {data.format} 格式，不能生成汇总。"
                         "请在 Excel/WPS 中另存为 .xlsx 后重试。", p)
    if not ctx.accepted or ctx.town is None:
        refusal = next((f for f in ctx.findings if f.severity is Severity.ERROR), None)
        if refusal is None or refusal.code == "file.not_template":
            raise InputError("file.not_template",
                             f"文件“{p.name}”不是 xlz 标准模板（缺少模板标识），不能生成汇总。"
                             "请使用市里下发的模板。", p)
        raise InputError(refusal.code, f"{refusal.message}（未生成汇总，原文件未改动。）", p)
    # Every cell is found by its labels, or nothing is written (the same structure
    # findings validate gives).
    places = fill_places(data, validation)
    if places.problems:
        first, *more = places.problems
        raise InputError(first.code, f"文件“{p.name}”：{first.message}（未生成汇总，原文件未改动。）"
                         + "".join(f"\n    {f.message}" for f in more[:4]), p)
    patch_package(p, fill_edits(data, validation, ctx.plan, ctx.town, places))
    return FileResult(str(p), validation.report, data.format, written=True, mode="fill",
                      guide=validation.guide)

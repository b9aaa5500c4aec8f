"""In-place writing: findings and summaries into the cells a town template reserves.

Decides *what* goes where (this module) and hands the cell edits to
:mod:`xlz.ooxml.sheetxml` (one worksheet part) and :mod:`xlz.ooxml.zipcopy` (the package). Only
the worksheet parts that hold a reserved cell are rewritten, and inside them only the
edited rows; every other zip part is copied byte for byte.

Reserved places (xlz/core/layout.py): the 校验提示 column of each entry sheet, the 校验结果
sheet below its header, the status cells on 填报说明, and (for ``fill``) 任务分解 and
载体汇总 below their headers. They are located by their labels and headers, not only by
position, so a clerk inserting a row above the status block does not make us write into
the wrong cell.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException

from xlz.core import layout as L
from xlz.core.cells import cell_ref, column_letter, display, fit_cell
from xlz.core.entries import ENTRY_SHEETS, FINDINGS_HEADER
from xlz.core.findings import Finding, Report, Severity
from xlz.core.plan import METRICS, Metric, Plan, Town
from xlz.core.text import match_key
from xlz.core.validator import SheetValues, Validation
from xlz.core.workbook import WorkbookData
from xlz.io.boundary import untrusted
from xlz.io.guard import guard_workbook
from xlz.io.intake import ZIP_ERRORS, InputError, input_error
from xlz.io.output import atomic_write
from xlz.io.read import zip_error
from xlz.ooxml.sheetmap import workbook_sheets
from xlz.ooxml.sheetxml import Clear, Edit, Formula, Number, SheetPatcher, SheetXmlError, Text

if TYPE_CHECKING:
    from xlz.core.formulas import TaskGrid

_STRICT_MAIN: Final = b"http://purl.oclc.org/ooxml/spreadsheetml/main"
_SEVERITY_MARK: Final = {Severity.ERROR: "【错误】", Severity.WARNING: "【提醒】"}
STATE_OK: Final = "通过"
STATE_ERRORS: Final = "有错误"
STATE_WARNINGS: Final = "仅有提醒"

SheetEdits = dict[str, dict[str, Edit]]  # sheet name → cell ref → edit


@dataclass(slots=True)
class Places:
    """Where the reserved cells of one workbook are (1-based rows, 0-based columns)."""

    status: dict[str, tuple[int, int]] = field(default_factory=dict)  # key → (row, col)
    findings: dict[str, tuple[int, int]] = field(default_factory=dict)  # sheet → (header row, col)
    results: dict[str, int] = field(default_factory=dict)  # result header → col
    results_row: int = 1  # the header row of 校验结果; findings go below it
    missing: list[str] = field(default_factory=list)  # what could not be found (Chinese)

    @property
    def complete(self) -> bool:
        return not self.missing


def _row_texts(values: SheetValues, row: int) -> dict[str, int]:
    i = row - values.first_row
    if not 0 <= i < len(values.rows):
        return {}
    return {match_key(v): values.first_col + j for j, v in enumerate(values.rows[i])
            if isinstance(v, str)}


T = TypeVar("T")


def _only(found: list[T], missing: list[str], what: str) -> T | None:
    """A reserved place is one found exactly once: a second one makes it ambiguous (the
    writer would not know which to write), none makes it missing; both go to ``missing``."""
    if len(found) == 1:
        return found[0]
    missing.append(f"{what}（出现了不止一处）" if found else what)
    return None


_HEADER_SEARCH_ROWS: Final = 10  # a header row is looked for among the first rows


def _header_row(values: SheetValues, headers: Iterable[str]) -> tuple[int, dict[str, list[int]]]:
    """The row among the first ones holding most of ``headers``, and for each header
    found there every column (0-based) it is in: more than one is ambiguous."""
    wanted = {match_key(h) for h in headers}
    best: tuple[int, dict[str, list[int]]] = (values.first_row, {})
    for i, cells in enumerate(values.rows[:_HEADER_SEARCH_ROWS]):
        found: dict[str, list[int]] = {}
        for j, v in enumerate(cells):
            if isinstance(v, str) and (key := match_key(v)) in wanted:
                found.setdefault(key, []).append(values.first_col + j)
        if len(found) > len(best[1]):
            best = (values.first_row + i, found)
    return best


def find_places(data: WorkbookData) -> Places:
    """Every cell ``validate`` writes, found by its label or header (never by a fixed
    address): a clerk's inserted row or column moves the places, it does not make xlz
    write into the clerk's cells. What cannot be found, or is found twice, is missing."""
    places = Places()
    guide = data.sheets.get(L.GUIDE)
    if guide is None:
        places.missing.append(f"“{L.GUIDE}”工作表")
    else:
        # A status label may be anywhere; its value is the cell to its right.
        labels = {match_key(L.STATUS_LABELS[k]): k for k in L.STATUS_WRITTEN}
        seen: dict[str, list[tuple[int, int]]] = {}
        for i, cells in enumerate(guide.rows):
            for j, label in enumerate(cells):
                if isinstance(label, str) and (key := labels.get(match_key(label))):
                    seen.setdefault(key, []).append((guide.first_row + i,
                                                     guide.first_col + j + 1))
        for key in L.STATUS_WRITTEN:
            at = _only(seen.get(key, []), places.missing,
                       f"“{L.GUIDE}”的“{L.STATUS_LABELS[key]}”")
            if at is not None:
                places.status[key] = at
    for sheet in ENTRY_SHEETS:
        values = data.sheets.get(sheet.name)
        found = None
        if values is not None:
            for header_row in range(values.first_row, values.first_row + 10):
                col = _row_texts(values, header_row).get(match_key(FINDINGS_HEADER))
                if col is not None:
                    found = (header_row, col)
                    break
        if found is None:
            places.missing.append(f"“{sheet.name}”的“{FINDINGS_HEADER}”列")
        else:
            places.findings[sheet.name] = found
    results = data.sheets.get(L.RESULTS)
    row, headers = (_header_row(results, L.RESULT_HEADERS) if results is not None
                    else (1, {}))
    places.results_row = row
    for header in L.RESULT_HEADERS:
        col = _only(headers.get(match_key(header), []), places.missing,
                    f"“{L.RESULTS}”的“{header}”列")
        if col is not None:
            places.results[header] = col
    return places


def state_of(report: Report) -> str:
    if report.errors:
        return STATE_ERRORS
    return STATE_WARNINGS if report.warnings else STATE_OK


def finding_text(finding: Finding) -> str:
    return f"{_SEVERITY_MARK[finding.severity]}{finding.message}"


def hyperlink(finding: Finding) -> Edit:
    """位置 on 校验结果: a link to the cell, as a formula with its cached text, so that
    the change stays inside the sheet part (no hyperlink relationships)."""
    if not (finding.sheet and finding.cell):
        return Text(finding.address) if finding.address else Clear()
    target = "#'" + finding.sheet.replace("'", "''") + "'!" + finding.cell
    shown = finding.address
    formula = 'HYPERLINK("{}","{}")'.format(target.replace('"', '""'), shown.replace('"', '""'))
    return Formula(formula, shown, keep=False)


def validation_edits(data: WorkbookData, report: Report, places: Places,
                     now: dt.datetime) -> SheetEdits:
    """Cell edits that record ``report`` in the reserved places and clear what a previous
    validation left there."""
    edits: SheetEdits = {}
    # 校验提示: one cell per entry row, all of that row's findings.
    per_row: dict[tuple[str, int], list[Finding]] = {}
    for f in report.sorted():
        if f.sheet in places.findings and f.row is not None:
            per_row.setdefault((f.sheet, f.row), []).append(f)
    for sheet, (header_row, col) in places.findings.items():
        sheet_edits = edits.setdefault(sheet, {})
        values = data.sheets[sheet]
        last = values.first_row + len(values.rows) - 1
        for row in range(header_row + 1, last + 1):
            if values.cell(row, col) is not None:
                sheet_edits[cell_ref(row, col)] = Clear()
        for (name, row), found in per_row.items():
            if name == sheet and row > header_row:
                sheet_edits[cell_ref(row, col)] = Text("\n".join(finding_text(f) for f in found))
    # 校验结果: one row per finding below the header; stale rows cleared.
    results = data.sheets[L.RESULTS]
    result_edits = edits.setdefault(L.RESULTS, {})
    cols = places.results
    last = results.first_row + len(results.rows) - 1
    for row in range(places.results_row + 1, last + 1):
        for col in cols.values():
            if results.cell(row, col) is not None:
                result_edits[cell_ref(row, col)] = Clear()
    for n, f in enumerate(report.sorted(), start=1):
        row = places.results_row + n
        cells: dict[str, Edit] = {
            "序号": Number(n),
            "严重程度": Text(f.severity.value),
            "位置": hyperlink(f),
            "列": Text(f.column or ""),
            "填写内容": Text(fit_cell(display(f.value))),
            "问题说明": Text(f.message),
            "规则代码": Text(f.code),
        }
        for header, edit in cells.items():
            if isinstance(edit, Text) and not edit.value:
                edit = Clear()
            result_edits[cell_ref(row, cols[header])] = edit
    # 填报说明: status.
    counts = report.counts()
    status: dict[str, Edit] = {
        "state": Text(state_of(report)),
        "checked_at": Text(now.strftime("%Y-%m-%d %H:%M:%S")),
        "errors": Number(counts["错误"]),
        "warnings": Number(counts["提醒"]),
    }
    guide_edits = edits.setdefault(L.GUIDE, {})
    for key, edit in status.items():
        row, col = places.status[key]
        guide_edits[cell_ref(row, col)] = edit
    return edits


# --- the package ------------------------------------------------------------------------


def sheet_parts(zf_read: Callable[[str], bytes]) -> dict[str, tuple[str, str]]:
    """Sheet name → (part name, sheetId) from xl/workbook.xml and its relationships, as
    the package's rules resolve them (:func:`xlz.ooxml.sheetmap.workbook_sheets`)."""
    sheets = workbook_sheets(zf_read("xl/workbook.xml"),
                             zf_read("xl/_rels/workbook.xml.rels"))
    return {s.name: (s.part, s.sheet_id) for s in sheets}


def prune_calc_chain(xml: bytes, sheet_id: str, refs: Iterable[str]) -> bytes:
    """Drop calcChain entries of cells that no longer hold a formula (Excel reports a
    damaged file otherwise). An entry's sheet (``i``) carries over to the entries after
    it, so a removed entry's ``i`` moves to the next kept one."""
    gone = set(refs)
    text = xml.decode("utf-8")
    out: list[str] = []
    last = 0
    current: str | None = None
    carry: str | None = None
    for m in re.finditer(r"<(\w+:)?c\b([^>]*?)/>", text):
        attrs = dict(re.findall(r'([\w:]+)="([^"]*)"', m.group(2)))
        if "i" in attrs:
            current = attrs["i"]
        if current == sheet_id and attrs.get("r") in gone:
            out.append(text[last:m.start()])
            last = m.end()
            if "i" in attrs:
                carry = attrs["i"]
            continue
        if carry is not None and "i" not in attrs:
            out.append(text[last:m.start()])
            out.append(m.group(0).replace(f"<{m.group(1) or ''}c", f'<{m.group(1) or ""}c i="{carry}"', 1))
            last = m.end()
        carry = None
    out.append(text[last:])
    return "".join(out).encode("utf-8")


@dataclass(slots=True)
class PatchResult:
    skipped: dict[str, list[str]] = field(default_factory=dict)  # sheet → formula cells left


def patch_package(path: str | os.PathLike[str], edits: Mapping[str, Mapping[str, Edit]],
                  *, keep_formulas: Iterable[str] = ()) -> PatchResult:
    """Apply cell edits to the workbook at ``path`` atomically. ``keep_formulas``: sheets
    whose formula cells are never replaced (live checks, a clerk's own formulas).
    Raises InputError (nothing written) for a package the writer cannot edit, and
    OutputError (the file unchanged) when the new file cannot be written."""
    from xlz.ooxml.zipcopy import rewrite

    p = Path(path)
    protected = set(keep_formulas)
    result = PatchResult()
    replacements: dict[str, bytes] = {}
    reading = ["xl/workbook.xml"]  # the part being read and parsed, for the message

    def read(zf: zipfile.ZipFile, name: str) -> bytes:
        reading[0] = name
        return package.read(name)  # inflated under the caps (the guard below)

    # Everything is read and checked before anything is written: an unusable package
    # raises InputError and the file stays as it was. Whatever parsing the clerk's parts
    # raises passes the reader boundary (a damaged part → its own rule, else
    # file.reader_crashed).
    with untrusted(p, "解析工作簿部件", known=lambda exc: _parse_error(p, reading[0], exc)):
        original = p.read_bytes()
        # The same guard and caps as the reader: every part inflated under the caps
        # before any is parsed.
        package = guard_workbook(original, p)
        with zipfile.ZipFile(p) as zf:
            _refuse_strict(p, read(zf, "xl/workbook.xml"))
            parts = sheet_parts(lambda name: read(zf, name))
            names = set(zf.namelist())
            removed = _patch_sheets(zf, read, parts, edits, protected, result, replacements)
            chain = "xl/calcChain.xml"
            if removed and chain in names:
                xml = read(zf, chain)
                for sheet_id, refs in removed.items():
                    xml = prune_calc_chain(xml, sheet_id, refs)
                replacements[chain] = xml
    atomic_write(p, lambda fh: rewrite(original, replacements, fh))
    return result


def _refuse_strict(path: Path, workbook_xml: bytes) -> None:
    """Strict Open XML (Excel's "Strict Open XML 电子表格") uses other namespaces in
    every part; the writer edits transitional parts only."""
    if _STRICT_MAIN in workbook_xml[:4096]:
        raise input_error("file.strict_ooxml", path)


def _parse_error(path: Path, part: str, exc: Exception) -> InputError | None:
    if isinstance(exc, (DefusedXmlException, ParseError, SheetXmlError, UnicodeDecodeError)):
        return _xml_error(path, part, exc)
    if isinstance(exc, ZIP_ERRORS):
        return zip_error(path, exc)
    return None


def _xml_error(path: Path, part: str, exc: Exception) -> InputError:
    if isinstance(exc, DefusedXmlException):
        return input_error("file.unsafe_xml", path, part=part)
    return input_error("file.corrupt", path, reason=f"部件 {part} 不是有效的 XML：{exc}"[:200])


def _patch_sheets(zf: zipfile.ZipFile, read: Callable[[zipfile.ZipFile, str], bytes],
                  parts: Mapping[str, tuple[str, str]],
                  edits: Mapping[str, Mapping[str, Edit]], protected: set[str],
                  result: PatchResult, replacements: dict[str, bytes]
                  ) -> dict[str, list[str]]:
    """Patch each edited sheet's part into ``replacements``; sheetId → formula cells
    that were removed (for the calcChain)."""
    removed: dict[str, list[str]] = {}
    for sheet, cells in edits.items():
        if not cells:
            continue
        if sheet not in parts:
            raise input_error("file.corrupt", zf.filename or "",
                              reason=f"找不到工作表“{sheet}”的部件")
        part, sheet_id = parts[sheet]
        patcher = SheetPatcher(read(zf, part))
        patcher.keep_formulas = sheet in protected
        for ref, edit in cells.items():
            patcher.set(ref, edit)
        new = patcher.apply()
        if patcher.skipped:
            result.skipped[sheet] = patcher.skipped
        if patcher.formulas_removed:
            removed[sheet_id] = patcher.formulas_removed
        replacements[part] = new
    return removed


# --- fill: 任务分解 and 载体汇总 ------------------------------------------------------------


# Entry sheets whose cells fill reads (the 任务分解 formulas, 载体汇总), and the findings
# that mean their cells cannot be found.
_FILL_READS: Final = ("项目信息", "孵化载体")
_STRUCTURE_CODES: Final = ("workbook.sheet.missing", "workbook.column.missing")


@dataclass(slots=True)
class FillPlaces:
    """Where ``fill`` writes, found by labels and headers, or why it cannot (``problems``:
    findings with catalogue codes; any problem means nothing is written)."""

    grid: TaskGrid | None = None  # 任务分解 cells and the 项目信息 columns they count
    carrier_row: int = 1  # header row of 载体汇总
    carrier_cols: dict[str, int] = field(default_factory=dict)  # header → col (0-based)
    problems: list[Finding] = field(default_factory=list)


def _structure(code: str, sheet: str, **extra: object) -> Finding:
    from xlz.core.catalogue import RULES

    rule = RULES[code]
    return Finding(code, rule.severity, sheet, None, None, rule.format(sheet=sheet, **extra))


def _locate_headers(data: WorkbookData, sheet: str, headers: Sequence[str],
                    problems: list[Finding]) -> tuple[int, dict[str, int]]:
    values = data.sheets.get(sheet)
    if values is None:
        problems.append(_structure("workbook.sheet.missing", sheet))
        return 1, {}
    row, found = _header_row(values, headers)
    cols: dict[str, int] = {}
    for header in headers:
        where = found.get(match_key(header), [])
        if len(where) == 1:
            cols[header] = where[0]
        elif where:
            problems.append(_structure("workbook.label.duplicate", sheet, label=header,
                                       cells="、".join(cell_ref(row, c) for c in where)))
        else:
            problems.append(_structure("workbook.column.missing", sheet, header=header,
                                       header_row=row))
    return row, cols


def _metric_rows(values: SheetValues, header_row: int, col: int,
                 problems: list[Finding]) -> dict[Metric, int]:
    """The 任务分解 row of each metric, by its label in the 指标 column."""
    from xlz.core.summary import METRIC_LABELS

    labels = {match_key(label): m for m, label in METRIC_LABELS.items()}
    seen: dict[Metric, list[int]] = {}
    last = values.first_row + len(values.rows) - 1
    for row in range(header_row + 1, last + 1):
        v = values.cell(row, col)
        if isinstance(v, str) and (metric := labels.get(match_key(v))) is not None:
            seen.setdefault(metric, []).append(row)
    rows: dict[Metric, int] = {}
    for metric in METRICS:
        where = seen.get(metric, [])
        if len(where) == 1:
            rows[metric] = where[0]
        elif where:
            problems.append(_structure("workbook.label.duplicate", L.TASKS,
                                       label=METRIC_LABELS[metric],
                                       cells="、".join(cell_ref(r, col) for r in where)))
        else:
            problems.append(_structure("workbook.row.missing", L.TASKS,
                                       header=L.TASK_HEADERS[0], column=column_letter(col),
                                       label=METRIC_LABELS[metric]))
    return rows


def fill_places(data: WorkbookData, validation: Validation) -> FillPlaces:
    """Every cell ``fill`` writes, found by its labels: the metric rows by their labels in
    the 指标 column of 任务分解, its columns and those of 载体汇总 by their headers, and
    the 项目信息 columns the 任务分解 formulas count where the validator found them. A
    sheet, header or label that is missing or found twice is a problem (the same
    structure finding ``validate`` gives for the entry sheets): fill then writes nothing."""
    from xlz.core.entries import PROJECTS
    from xlz.core.formulas import TASK_PROJECT_KEYS, TaskGrid

    places = FillPlaces()
    problems = places.problems
    problems += [f for f in validation.report if f.code in _STRUCTURE_CODES
                 and f.sheet in _FILL_READS]
    task_row, task_cols = _locate_headers(data, L.TASKS, L.TASK_HEADERS, problems)
    tasks = data.sheets.get(L.TASKS)
    label_col = task_cols.get(L.TASK_HEADERS[0])
    metric_rows = ({} if tasks is None or label_col is None
                   else _metric_rows(tasks, task_row, label_col, problems))
    places.carrier_row, places.carrier_cols = _locate_headers(
        data, L.CARRIER_SUMMARY, L.CARRIER_SUMMARY_HEADERS, problems)
    projects = data.sheets.get(PROJECTS.name)
    found = validation.columns.get(PROJECTS.key, {})
    header = validation.header_rows.get(PROJECTS.key)
    if problems or projects is None or header is None \
            or any(k not in found for k in TASK_PROJECT_KEYS):
        if not problems:  # pragma: no cover - the validator reports these first
            problems.append(_structure("workbook.sheet.missing", PROJECTS.name))
        return places
    # Every row the validator reads is counted: at least the template's prepared rows,
    # and any row a clerk added below them.
    last = max(header + L.ENTRY_CAPACITY[PROJECTS.key],
               projects.first_row + len(projects.rows) - 1)
    places.grid = TaskGrid(
        metric_rows,
        {h: column_letter(c) for h, c in task_cols.items()},
        {k: column_letter(projects.first_col + i) for k, i in found.items()},
        (header + 1, last))
    return places


def fill_edits(data: WorkbookData, validation: Validation, plan: Plan, town: Town,
               places: FillPlaces | None = None) -> SheetEdits:
    """任务分解 (formulas built from the columns found, cached values =
    :func:`xlz.progress`) and 载体汇总 (附件4 layout, 建设方向 rendered) for one town, in
    the cells :func:`fill_places` found. Raises ValueError when it found problems (check
    them first: :func:`fill_problems`)."""
    from xlz.core.formulas import task_formulas, task_values
    from xlz.core.summary import carrier_rows, progress

    places = places or fill_places(data, validation)
    if places.problems or places.grid is None:
        raise ValueError("fill_edits: the workbook's places were not found: "
                         + "; ".join(f.message for f in places.problems))
    edits: SheetEdits = {}
    rows = progress(validation.records.get("project", []), plan.target(town.code), plan)
    formulas = task_formulas(plan, places.grid)
    task: dict[str, Edit] = {}
    for ref, value in task_values(rows, places.grid).items():
        if ref in formulas:
            cached = "" if value is None else value
            task[ref] = Formula(formulas[ref].lstrip("="), cached, keep=True)
        elif value is None or value == "":
            task[ref] = Clear()
        else:
            task[ref] = Number(value) if not isinstance(value, str) else Text(value)
    edits[L.TASKS] = task
    summary = data.sheets[L.CARRIER_SUMMARY]
    cols = [places.carrier_cols[h] for h in L.CARRIER_SUMMARY_HEADERS]
    first = places.carrier_row + 1
    sheet_edits: dict[str, Edit] = {}
    last = summary.first_row + len(summary.rows) - 1
    for row in range(first, last + 1):
        for col in cols:
            if summary.cell(row, col) is not None:
                sheet_edits[cell_ref(row, col)] = Clear()
    named = [r for r in validation.records.get("carrier", []) if r.values.get("name")]
    for i, c in enumerate(carrier_rows(named, town.short)):
        row = first + i
        values: tuple[object, ...] = (c.seq, c.town, c.name, c.method, c.direction, c.area,
                                      c.progress)
        for col, item in zip(cols, values, strict=True):
            if isinstance(item, (int, float)):
                sheet_edits[cell_ref(row, col)] = Number(item)
            elif item:
                sheet_edits[cell_ref(row, col)] = Text(str(item))
            else:
                sheet_edits[cell_ref(row, col)] = Clear()
    edits[L.CARRIER_SUMMARY] = sheet_edits
    return edits


def fill_problems(data: WorkbookData, validation: Validation) -> list[Finding]:
    """Why ``fill`` must not write into this workbook (empty: it may)."""
    return fill_places(data, validation).problems


def fill_missing(data: WorkbookData, validation: Validation | None = None) -> list[str]:
    """The messages of :func:`fill_problems` (without ``validation``: the summary sheets
    only)."""
    if validation is None:
        problems: list[Finding] = []
        for sheet, headers in ((L.TASKS, L.TASK_HEADERS),
                               (L.CARRIER_SUMMARY, L.CARRIER_SUMMARY_HEADERS)):
            _locate_headers(data, sheet, headers, problems)
        return [f.message for f in problems]
    return [f.message for f in fill_problems(data, validation)]

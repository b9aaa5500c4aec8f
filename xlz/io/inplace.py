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
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException

from xlz.core import layout as L
from xlz.core.cells import cell_ref, display
from xlz.core.entries import ENTRY_SHEETS, FINDINGS_HEADER
from xlz.core.errors import output_error
from xlz.core.findings import Finding, Report, Severity
from xlz.core.plan import Plan, Town
from xlz.core.text import match_key
from xlz.core.validator import SheetValues, Validation
from xlz.core.workbook import WorkbookData
from xlz.io.guard import guard_workbook
from xlz.io.intake import ZIP_ERRORS, InputError, input_error
from xlz.io.read import zip_error
from xlz.ooxml.sheetxml import Clear, Edit, Formula, Number, SheetPatcher, SheetXmlError, Text

_REL_NS: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
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
    missing: list[str] = field(default_factory=list)  # what could not be found (Chinese)

    @property
    def complete(self) -> bool:
        return not self.missing


def _cell(values: SheetValues, row: int, col: int) -> object:
    i, j = row - values.first_row, col - values.first_col
    if 0 <= i < len(values.rows) and 0 <= j < len(values.rows[i]):
        return values.rows[i][j]
    return None


def _row_texts(values: SheetValues, row: int) -> dict[str, int]:
    i = row - values.first_row
    if not 0 <= i < len(values.rows):
        return {}
    return {match_key(v): values.first_col + j for j, v in enumerate(values.rows[i])
            if isinstance(v, str)}


def find_places(data: WorkbookData) -> Places:
    places = Places()
    guide = data.sheets.get(L.GUIDE)
    if guide is None:
        places.missing.append(f"“{L.GUIDE}”工作表")
    else:
        labels = {match_key(L.STATUS_LABELS[k]): k for k in L.STATUS_WRITTEN}
        value_col = ord(L.STATUS_VALUE_COLUMN) - ord("A")
        for i, cells in enumerate(guide.rows):
            j = value_col - 1 - guide.first_col
            label = cells[j] if 0 <= j < len(cells) else None
            if isinstance(label, str):
                key = labels.get(match_key(label))
                if key is not None and key not in places.status:
                    places.status[key] = (guide.first_row + i, value_col)
        for key in L.STATUS_WRITTEN:
            if key not in places.status:
                places.missing.append(f"“{L.GUIDE}”的“{L.STATUS_LABELS[key]}”")
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
    headers = _row_texts(results, 1) if results is not None else {}
    for header in L.RESULT_HEADERS:
        col = headers.get(match_key(header))
        if col is None:
            places.missing.append(f"“{L.RESULTS}”的“{header}”列")
        else:
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
            if _cell(values, row, col) is not None:
                sheet_edits[cell_ref(row, col)] = Clear()
        for (name, row), found in per_row.items():
            if name == sheet and row > header_row:
                sheet_edits[cell_ref(row, col)] = Text("\n".join(finding_text(f) for f in found))
    # 校验结果: one row per finding below the header; stale rows cleared.
    results = data.sheets[L.RESULTS]
    result_edits = edits.setdefault(L.RESULTS, {})
    cols = places.results
    last = results.first_row + len(results.rows) - 1
    for row in range(2, last + 1):
        for col in cols.values():
            if _cell(results, row, col) is not None:
                result_edits[cell_ref(row, col)] = Clear()
    for n, f in enumerate(report.sorted(), start=1):
        row = n + 1
        cells: dict[str, Edit] = {
            "序号": Number(n),
            "严重程度": Text(f.severity.value),
            "位置": hyperlink(f),
            "列": Text(f.column or ""),
            "填写内容": Text(display(f.value)),
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


def _parse_xml(xml: bytes) -> Element:
    from defusedxml import ElementTree as DET

    root: Element = DET.fromstring(xml)
    return root


def sheet_parts(zf_read: Callable[[str], bytes]) -> dict[str, tuple[str, str]]:
    """Sheet name → (part name, sheetId) from xl/workbook.xml and its relationships."""
    workbook = _parse_xml(zf_read("xl/workbook.xml"))
    rels = _parse_xml(zf_read("xl/_rels/workbook.xml.rels"))
    targets = {}
    for rel in rels:
        target = rel.get("Target") or ""
        if target.startswith("/"):
            part = target.lstrip("/")
        else:
            part = os.path.normpath(os.path.join("xl", target)).replace(os.sep, "/")
        targets[rel.get("Id")] = part
    out: dict[str, tuple[str, str]] = {}
    for el in workbook.iter():
        if el.tag.endswith("}sheet") or el.tag == "sheet":
            rid = el.get(f"{{{_REL_NS}}}id")
            name = el.get("name")
            if rid in targets and name is not None:
                out[name] = (targets[rid], el.get("sheetId") or "")
    return out


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
    # raises InputError and the file stays as it was.
    try:
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
    except InputError:
        raise
    except (DefusedXmlException, ParseError, SheetXmlError, UnicodeDecodeError) as exc:
        raise _xml_error(p, reading[0], exc) from exc
    except ZIP_ERRORS as exc:
        raise zip_error(p, exc) from exc
    atomic_write(p, lambda fh: rewrite(original, replacements, fh))
    return result


def _refuse_strict(path: Path, workbook_xml: bytes) -> None:
    """Strict Open XML (Excel's "Strict Open XML 电子表格") uses other namespaces in
    every part; the writer edits transitional parts only."""
    if _STRICT_MAIN in workbook_xml[:4096]:
        raise input_error("file.strict_ooxml", path)


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


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write through a temporary file in the same folder and rename it over ``path``:
    a crash (or an exception in ``write``) leaves the original untouched. An OS error
    (disk full, no permission) becomes an OutputError."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".~xlz-", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise output_error(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):  # disk full, no permission, …: the original is intact
            raise output_error(path, exc) from exc
        raise


# --- fill: 任务分解 and 载体汇总 ------------------------------------------------------------


def fill_edits(data: WorkbookData, validation: Validation, plan: Plan, town: Town
               ) -> SheetEdits:
    """任务分解 (formulas restored, cached values = :func:`xlz.progress`) and 载体汇总
    (附件4 layout, 建设方向 rendered) for one town."""
    from xlz.core.formulas import task_formulas, task_values
    from xlz.core.summary import carrier_rows, progress

    edits: SheetEdits = {}
    rows = progress(validation.records.get("project", []), plan.target(town.code), plan)
    formulas = task_formulas(plan)
    task: dict[str, Edit] = {}
    for ref, value in task_values(rows).items():
        if ref in formulas:
            cached = "" if value is None else value
            task[ref] = Formula(formulas[ref].lstrip("="), cached, keep=True)
        elif value is None or value == "":
            task[ref] = Clear()
        else:
            task[ref] = Number(value) if not isinstance(value, str) else Text(value)
    edits[L.TASKS] = task
    summary = data.sheets[L.CARRIER_SUMMARY]
    headers = _row_texts(summary, 1)
    cols = [headers.get(match_key(h)) for h in L.CARRIER_SUMMARY_HEADERS]
    sheet_edits: dict[str, Edit] = {}
    last = summary.first_row + len(summary.rows) - 1
    for row in range(2, last + 1):
        for col in cols:
            if col is not None and _cell(summary, row, col) is not None:
                sheet_edits[cell_ref(row, col)] = Clear()
    named = [r for r in validation.records.get("carrier", []) if r.values.get("name")]
    for i, c in enumerate(carrier_rows(named, town.short)):
        row = 2 + i
        values: tuple[object, ...] = (c.seq, c.town, c.name, c.method, c.direction, c.area,
                                      c.progress)
        for col, item in zip(cols, values, strict=True):
            if col is None:
                continue
            if isinstance(item, (int, float)):
                sheet_edits[cell_ref(row, col)] = Number(item)
            elif item:
                sheet_edits[cell_ref(row, col)] = Text(str(item))
            else:
                sheet_edits[cell_ref(row, col)] = Clear()
    edits[L.CARRIER_SUMMARY] = sheet_edits
    return edits


def fill_missing(data: WorkbookData) -> list[str]:
    missing = []
    for sheet, headers in ((L.TASKS, L.TASK_HEADERS),
                           (L.CARRIER_SUMMARY, L.CARRIER_SUMMARY_HEADERS)):
        values = data.sheets.get(sheet)
        found = _row_texts(values, 1) if values is not None else {}
        missing += [f"“{sheet}”的“{h}”列" for h in headers if match_key(h) not in found]
    return missing

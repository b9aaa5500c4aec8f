#!/usr/bin/python3
"""Run one job against a private headless LibreOffice and print the result as JSON.

Run with LibreOffice's Python (``/usr/bin/python3``, which has ``import uno``), not the
project venv. The venv-side API is ``tests/lo/harness.py``; the step format is documented
there and in ``STEPS`` below.

stdin:  {"steps": [{"op": "open", "path": ...}, ...],
         "timeout": 180, "workdir": "/tmp/...", "recalc_on_load": false}
stdout: {"ok": bool, "steps": [{"op": ..., "ok": bool, "error"?: str, ...}, ...],
         "timings": {"start": s, "steps": s, "total": s}, "error"?: str}

One soffice per job, with a fresh profile, so jobs are isolated from each other and from
the user's own LibreOffice; it is always killed (whole process group) when the job ends.
A failing step does not stop the job: later steps still run (so a test can check that a
locked cell is refused and still save), except that every step after a failed ``open``
fails with "no document".
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.connection import NoConnectException  # type: ignore[import-not-found]

SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"
CONNECT_TIMEOUT = 60.0  # the first start of a fresh profile takes several seconds

# com.sun.star.sheet.CellFlags / FormulaResult / document.MacroExecMode constants.
CELLFLAG_VALUE, CELLFLAG_DATETIME, CELLFLAG_STRING, CELLFLAG_FORMULA = 1, 2, 4, 16
FORMULARESULT_ERROR = 4
MACRO_MODES = {"never": 0, "from_list": 1, "always": 2, "use_config": 3, "always_no_warn": 4}

# LibreOffice's internal error codes (FormulaError) → the text a user sees in Excel/Calc.
ERROR_NAMES = {
    501: "#ILLCHAR!", 502: "#VALUE!", 503: "#NUM!", 504: "#VALUE!", 507: "#PAIR!",
    508: "#PAIR!", 509: "#OPERATOR!", 510: "#VARIABLE!", 511: "#VARIABLE!", 512: "#FORMULA!",
    513: "#STRING!", 514: "#OVERFLOW!", 516: "#STACK!", 517: "#UNKNOWN!", 519: "#VALUE!",
    520: "#INTERNAL!", 521: "#INTERNAL!", 522: "#CIRCULAR!", 523: "#NOCONV!", 524: "#REF!",
    525: "#NAME?", 526: "#INTERNAL!", 527: "#NESTING!", 532: "#DIV/0!", 533: "#NESTING!",
    32767: "#N/A",
}

FILTERS = {
    ".xlsx": "Calc MS Excel 2007 XML",
    ".xlsm": "Calc MS Excel 2007 VBA XML",
    ".xls": "MS Excel 97",
    ".ods": "calc8",
    ".pdf": "calc_pdf_Export",
    ".csv": "Text - txt - csv (StarCalc)",
}


class StepError(Exception):
    """A step failed in an expected way (bad input, locked cell …): report, don't trace."""


def props(**kw):
    out = []
    for k, v in kw.items():
        p = PropertyValue()
        p.Name, p.Value = k, v
        out.append(p)
    return tuple(out)


def to_url(path):
    return uno.systemPathToFileUrl(os.path.abspath(path))


# --------------------------------------------------------------------------- soffice


class Office:
    """A private soffice process and the UNO connection to it."""

    def __init__(self, workdir, recalc_on_load=False):
        self.workdir = workdir
        self.profile = os.path.join(workdir, "profile")
        self.pipe = "xlz_lo_" + uuid.uuid4().hex
        self.proc = None
        self.desktop = None
        self.ctx = None
        self.recalc_on_load = recalc_on_load

    def _write_profile(self):
        # Pin the load-time recalculation mode: "never" (1) means a read right after open
        # shows the cached values stored in the file, so tests can check our cached values
        # and then `recalc` to compare with LibreOffice's own results. 0 = always.
        mode = "0" if self.recalc_on_load else "1"
        user = os.path.join(self.profile, "user")
        os.makedirs(user, exist_ok=True)
        settings = [
            ("/org.openoffice.Office.Calc/Formula/Load", "OOXMLRecalcMode", mode),
            ("/org.openoffice.Office.Calc/Formula/Load", "ODFRecalcMode", mode),
            # No ".~lock.x.xlsx#" files: a lock left by a killed job makes the next
            # headless load of that file fail silently (there is no one to answer the
            # "file is locked" dialog), and tests must not litter fixture folders.
            ("/org.openoffice.Office.Common/Misc", "UseDocumentOOoLockFile", "false"),
            ("/org.openoffice.Office.Common/Misc", "UseDocumentSystemFileLocking", "false"),
        ]
        items = "".join(
            f'<item oor:path="{path}"><prop oor:name="{name}" oor:op="fuse">'
            f"<value>{value}</value></prop></item>\n"
            for path, name, value in settings
        )
        with open(os.path.join(user, "registrymodifications.xcu"), "w", encoding="utf-8") as f:
            f.write(
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
                'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
                f"{items}</oor:items>\n"
            )

    def start(self):
        self._write_profile()
        # A named pipe instead of a TCP port: no race between picking a free port and
        # soffice binding it, and nothing listens on the network.
        cmd = [
            SOFFICE, "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
            "--nolockcheck",
            "-env:UserInstallation=" + to_url(self.profile),
            f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext",
        ]
        # Own session/process group: soffice is a shell script → oosplash → soffice.bin,
        # and killing the group is the only way to be sure all of them are gone.
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.workdir, "soffice.log"), "wb"),
            start_new_session=True,
        )
        # Tell the harness which group to kill if this driver itself gets killed.
        with open(os.path.join(self.workdir, "soffice.pgid"), "w") as f:
            f.write(str(self.proc.pid))
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local)
        url = f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext"
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            try:
                self.ctx = resolver.resolve(url)
                break
            except NoConnectException:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"soffice exited early with code {self.proc.returncode}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"no UNO connection after {CONNECT_TIMEOUT:.0f} s") from None
                time.sleep(0.25)
        smgr = self.ctx.ServiceManager
        self.desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", self.ctx)

    def kill(self):
        if self.proc is None:
            return
        try:
            if self.desktop is not None and self.proc.poll() is None:
                # A clean shutdown is quick; if it hangs the watchdog/kill below wins.
                t = threading.Thread(target=self._terminate, daemon=True)
                t.start()
                t.join(5)
        finally:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(3)
                except subprocess.TimeoutExpired:
                    continue
            # oosplash may be gone while soffice.bin lingers in the group: final sweep.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc = None

    def _terminate(self):
        try:
            self.desktop.terminate()
        except Exception:
            pass  # the bridge dies with the process: DisposedException is expected


# --------------------------------------------------------------------------- helpers


def col_letters(col):
    s = ""
    col += 1
    while col:
        col, r = divmod(col - 1, 26)
        s = chr(65 + r) + s
    return s


def addr_name(row, col):
    return f"{col_letters(col)}{row + 1}"


def split_ref(ref, default_sheet=None):
    """'项目信息!A1:T20' / "'My sheet'!B2" / '项目信息' (whole used area) → (sheet, range|None)."""
    if "!" in ref:
        sheet, rng = ref.rsplit("!", 1)
    elif default_sheet is not None:
        sheet, rng = default_sheet, ref
    else:
        sheet, rng = ref, None
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, (rng.replace("$", "") if rng else None)


def get_sheet(doc, name):
    sheets = doc.getSheets()
    if not sheets.hasByName(name):
        raise StepError(f"no sheet named {name!r}; sheets: {list(sheets.getElementNames())}")
    return sheets.getByName(name)


def used_range(sheet):
    cur = sheet.createCursor()
    cur.gotoStartOfUsedArea(False)
    cur.gotoEndOfUsedArea(True)
    a = cur.getRangeAddress()
    # Always start at A1 so cell names in results are the sheet's own.
    return sheet.getCellRangeByPosition(0, 0, a.EndColumn, a.EndRow)


def get_range(doc, ref):
    sheet_name, rng = split_ref(ref)
    sheet = get_sheet(doc, sheet_name)
    return sheet_name, sheet, (sheet.getCellRangeByName(rng) if rng else used_range(sheet))


def ranges_cells(sheet_ranges):
    """XSheetCellRanges → set of (row, col)."""
    out = set()
    if sheet_ranges is None:
        return out
    for a in sheet_ranges.getRangeAddresses():
        for r in range(a.StartRow, a.EndRow + 1):
            for c in range(a.StartColumn, a.EndColumn + 1):
                out.add((r, c))
    return out


def jsonable(v):
    """UNO Any → something json.dumps accepts (NaN/inf become strings)."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, uno.ByteSequence):
        return v.value.hex()
    if isinstance(v, uno.Enum):
        return v.value
    return repr(v)


# ReferenceFlags
REF_COL_REL, REF_ROW_REL, REF_SHEET_REL, REF_SHEET_3D = 1, 4, 16, 64


def _anchor_ref(ref, sheet, col, row):
    # Relative parts are offsets from the position the formula was parsed at; adding the
    # target cell's position gives where the rule looks when it is evaluated for that cell.
    if ref.Flags & REF_COL_REL:
        ref.Column = col + ref.RelativeColumn
    if ref.Flags & REF_ROW_REL:
        ref.Row = row + ref.RelativeRow
    if ref.Flags & REF_SHEET_REL:
        ref.Sheet = sheet + ref.RelativeSheet
    ref.Flags = (ref.Flags & ~(REF_COL_REL | REF_ROW_REL | REF_SHEET_REL)) | REF_SHEET_3D
    return ref


def _anchor_tokens(tokens, sheet, col, row):
    out = []
    for t in tokens:
        d = t.Data
        name = getattr(d, "typeName", "")
        if name == "com.sun.star.sheet.SingleReference":
            t.Data = uno.Any(name, _anchor_ref(d, sheet, col, row))
        elif name == "com.sun.star.sheet.ComplexReference":
            d.Reference1 = _anchor_ref(d.Reference1, sheet, col, row)
            d.Reference2 = _anchor_ref(d.Reference2, sheet, col, row)
            t.Data = uno.Any(name, d)
        out.append(t)
    return tuple(out)


# --------------------------------------------------------------------------- steps


class Formulas:
    """Formula text ⇄ tokens for one document, in Excel syntax or LibreOffice's API syntax.

    ``XCell.setFormula`` only understands LibreOffice's API grammar (``;`` between
    arguments): ``=IF(A1>0,1,2)`` becomes #NAME?. Parsing with the OOXML op-code map and
    putting the tokens in with ``setTokens`` accepts formulas exactly as Excel (and our
    xlsxwriter code) writes them, and printing tokens with it reads them back that way.
    """

    def __init__(self, doc):
        from com.sun.star.sheet.AddressConvention import OOO, XL_A1
        from com.sun.star.sheet.FormulaLanguage import API, OOXML
        from com.sun.star.sheet.FormulaMapGroup import ALL_EXCEPT_SPECIAL

        mapper = doc.createInstance("com.sun.star.sheet.FormulaOpCodeMapper")
        self.excel = doc.createInstance("com.sun.star.sheet.FormulaParser")
        self.excel.OpCodeMap = mapper.getAvailableMappings(OOXML, ALL_EXCEPT_SPECIAL)
        self.excel.FormulaConvention = XL_A1
        self.excel.CompileEnglish = True
        self.api = doc.createInstance("com.sun.star.sheet.FormulaParser")
        self.api.OpCodeMap = mapper.getAvailableMappings(API, ALL_EXCEPT_SPECIAL)
        self.api.FormulaConvention = OOO
        self.api.CompileEnglish = True

    def to_excel(self, cell):
        return "=" + self.excel.printFormula(cell.getTokens(), cell.getCellAddress())


class Job:
    def __init__(self, office):
        self.office = office
        self.doc = None
        self.path = None
        self.macro_mode = MACRO_MODES["never"]
        self._formulas = None

    @property
    def formulas(self):
        if self._formulas is None:
            self._formulas = Formulas(self.need_doc())
        return self._formulas

    def need_doc(self):
        if self.doc is None:
            raise StepError("no document: run an 'open' step first")
        return self.doc

    # {"op": "open", "path": str, "macro_mode": "never"|"always_no_warn"|..., "read_only": bool}
    def op_open(self, step):
        self.op_close({})
        path = step["path"]
        if not os.path.exists(path):
            raise StepError(f"no such file: {path}")
        mode = MACRO_MODES[step.get("macro_mode", "never")]
        self.macro_mode = mode
        self.doc = self.office.desktop.loadComponentFromURL(
            to_url(path), "_blank", 0,
            props(Hidden=True, MacroExecutionMode=mode, ReadOnly=bool(step.get("read_only")),
                  UpdateDocMode=0))  # 0 = never update links to other files
        if self.doc is None:
            raise StepError(f"LibreOffice could not open {path}")
        self.path = path
        return {"sheets": list(self.doc.getSheets().getElementNames())}

    # {"op": "close"}
    def op_close(self, step):
        if self.doc is not None:
            try:
                self.doc.close(True)
            except Exception:
                self.doc.dispose()
            self.doc = None
            self._formulas = None
        return {}

    # {"op": "recalc"}
    def op_recalc(self, step):
        self.need_doc().calculateAll()
        return {}

    # {"op": "sheets"}
    def op_sheets(self, step):
        doc = self.need_doc()
        active = doc.getCurrentController().getActiveSheet().getName()
        out = []
        for i, name in enumerate(doc.getSheets().getElementNames()):
            sh = doc.getSheets().getByIndex(i)
            out.append({"index": i, "name": name, "visible": bool(sh.IsVisible),
                        "protected": bool(sh.isProtected()), "active": name == active})
        return {"sheets": out}

    # {"op": "set", "cells": [{"sheet", "cell", "value": str|number|null, "as_formula"?: bool}]}
    # Errors are per cell ("errors": [...]); the cells without error are still set.
    def op_set(self, step):
        doc = self.need_doc()
        done, errors = [], []
        for e in step["cells"]:
            sheet_name, ref = split_ref(e["cell"], e.get("sheet"))
            label = f"{sheet_name}!{ref}"
            try:
                sheet = get_sheet(doc, sheet_name)
                cell = sheet.getCellRangeByName(ref)
                if cell.getRangeAddress().EndRow != cell.getRangeAddress().StartRow or \
                        cell.getRangeAddress().EndColumn != cell.getRangeAddress().StartColumn:
                    raise StepError("set takes single cells")
                # The API writes straight through sheet protection, even into locked cells;
                # refuse those explicitly so a test can't pass by writing where a clerk can't.
                if sheet.isProtected() and cell.getPropertyValue("CellProtection").IsLocked:
                    raise StepError("cell is locked on a protected sheet")
                v = e.get("value")
                if e.get("as_formula"):
                    f = str(v)
                    tokens = self.formulas.excel.parseFormula(
                        f[1:] if f.startswith("=") else f, cell.getCellAddress())
                    cell.setTokens(tokens)
                elif v is None:
                    cell.clearContents(CELLFLAG_VALUE | CELLFLAG_DATETIME | CELLFLAG_STRING
                                       | CELLFLAG_FORMULA)
                elif isinstance(v, bool):
                    raise StepError("booleans are ambiguous in a spreadsheet; send 1/0 or text")
                elif isinstance(v, (int, float)):
                    cell.setValue(v)
                else:
                    cell.setString(str(v))  # text stays text, even "=1+1" or "00121"
                done.append(label)
            except StepError as exc:
                errors.append({"cell": label, "error": str(exc)})
            except Exception as exc:
                errors.append({"cell": label, "error": f"{type(exc).__name__}: {exc}"})
        out = {"set": done, "errors": errors}
        if errors:
            out["ok"] = False
            out["error"] = "; ".join(f"{x['cell']}: {x['error']}" for x in errors)
        return out

    # {"op": "unprotect", "sheet": str, "password"?: str}: what a clerk does before
    # inserting rows into a sheet protected without a password.
    def op_unprotect(self, step):
        sheet = get_sheet(self.need_doc(), step["sheet"])
        sheet.unprotect(step.get("password", ""))
        return {"protected": bool(sheet.isProtected())}

    # {"op": "insert" | "delete", "sheet": str, "rows"?: [first (1-based), count],
    #  "columns"?: [first letter, count]}: whole rows/columns, as the Insert/Delete menu
    # does (references elsewhere are adjusted by LibreOffice).
    def op_insert(self, step):
        return self._rows_columns(step, insert=True)

    def op_delete(self, step):
        return self._rows_columns(step, insert=False)

    def _rows_columns(self, step, insert):
        sheet = get_sheet(self.need_doc(), step["sheet"])
        if sheet.isProtected():
            raise StepError("sheet is protected: run an 'unprotect' step first")
        done = {}
        for kind in ("rows", "columns"):
            if kind not in step:
                continue
            first, count = step[kind]
            if kind == "rows":
                index, target = int(first) - 1, sheet.getRows()
            else:
                index, target = sheet.getCellRangeByName(f"{first}1").getCellAddress().Column, \
                    sheet.getColumns()
            if insert:
                target.insertByIndex(index, int(count))
            else:
                target.removeByIndex(index, int(count))
            done[kind] = [first, count]
        return done

    # {"op": "rename_sheet", "sheet": str, "name": str}
    def op_rename_sheet(self, step):
        get_sheet(self.need_doc(), step["sheet"]).setName(step["name"])
        return {}

    # {"op": "sort", "range": "项目信息!A1:U1001", "by": "A", "ascending"?: true,
    #  "header"?: true, "unprotect"?: false}
    # Sorts like Data ▸ Sort (XSortable.sort, the document's own reference handling:
    # formulas move with their rows as a copy would). A protected sheet is refused
    # unless "unprotect" (what a clerk does first: the templates have no password).
    def op_sort(self, step):
        from com.sun.star.table import TableSortField

        doc = self.need_doc()
        _name, sheet, rng = get_range(doc, step["range"])
        if sheet.isProtected():
            if not step.get("unprotect"):
                raise StepError("sheet is protected; pass unprotect to lift it (no password)")
            sheet.unprotect("")
        by = step["by"].upper()
        index = 0
        for ch in by:
            index = index * 26 + ord(ch) - 64
        field = TableSortField()
        field.Field = index - 1 - rng.getRangeAddress().StartColumn
        field.IsAscending = bool(step.get("ascending", True))
        field.IsCaseSensitive = False
        descriptor = list(rng.createSortDescriptor())
        for prop in descriptor:
            if prop.Name == "SortFields":
                prop.Value = uno.Any("[]com.sun.star.table.TableSortField", (field,))
            elif prop.Name == "ContainsHeader":
                prop.Value = bool(step.get("header", True))
        uno.invoke(rng, "sort", (tuple(descriptor),))
        return {}

    # {"op": "read", "ranges": ["项目信息!A1:T20", "任务分解"]}
    # → {"ranges": {ref: {"sheet", "range", "cells": {"A1": {value, formula, type, error?}}}}}
    def op_read(self, step):
        doc = self.need_doc()
        out = {}
        for ref in step["ranges"]:
            sheet_name, _sheet, rng = get_range(doc, ref)
            out[ref] = {"sheet": sheet_name, "range": rng.AbsoluteName,
                        "cells": self._read_range(rng)}
        return {"ranges": out}

    def _read_range(self, rng):
        # Bulk calls (getDataArray, query*Cells) keep a 20×20 read at a few UNO round trips
        # instead of four per cell.
        a = rng.getRangeAddress()
        data = rng.getDataArray()
        lo_formulas = rng.getFormulaArray()
        formula_cells = ranges_cells(rng.queryContentCells(CELLFLAG_FORMULA))
        empty_cells = ranges_cells(rng.queryEmptyCells())
        error_cells = ranges_cells(rng.queryFormulaCells(FORMULARESULT_ERROR))
        sheet = rng.getSpreadsheet()
        cells = {}
        for i, row in enumerate(data):
            for j, v in enumerate(row):
                r, c = a.StartRow + i, a.StartColumn + j
                entry = {"value": jsonable(v), "formula": None}
                if (r, c) in formula_cells:
                    cell = sheet.getCellByPosition(c, r)
                    entry["type"] = "FORMULA"
                    entry["formula"] = self.formulas.to_excel(cell)
                    entry["formula_lo"] = lo_formulas[i][j]
                    if (r, c) in error_cells:
                        code = cell.getError()
                        entry.update(value=None, error=code, error_name=ERROR_NAMES.get(code))
                elif (r, c) in empty_cells:
                    entry.update(type="EMPTY", value=None)
                else:
                    entry["type"] = "VALUE" if isinstance(v, float) else "TEXT"
                cells[addr_name(r, c)] = entry
        return cells

    # {"op": "formula_errors"} → {"errors": [{sheet, cell, code, name, formula}]}, all sheets
    # including hidden ones.
    def op_formula_errors(self, step):
        doc = self.need_doc()
        errors = []
        for name in doc.getSheets().getElementNames():
            sheet = doc.getSheets().getByName(name)
            found = sheet.queryFormulaCells(FORMULARESULT_ERROR)
            for (r, c) in sorted(ranges_cells(found)):
                cell = sheet.getCellByPosition(c, r)
                code = cell.getError()
                errors.append({"sheet": name, "cell": addr_name(r, c), "code": code,
                               "name": ERROR_NAMES.get(code, "#ERR"),
                               "formula": self.formulas.to_excel(cell)})
        return {"errors": errors}

    # {"op": "save", "path": str, "filter"?: str, "sheet"?: str (PDF only: print this sheet),
    #  "password"?: str (saved encrypted, as "用密码进行加密" does)}
    def op_save(self, step):
        doc = self.need_doc()
        path = os.path.abspath(step["path"])
        ext = os.path.splitext(path)[1].lower()
        filt = step.get("filter") or FILTERS.get(ext)
        if not filt:
            raise StepError(f"no filter given and none known for {ext!r}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if filt == "calc_pdf_Export" and step.get("sheet"):
            return self._pdf_of_sheet(doc, path, step["sheet"])
        extra = {"Password": step["password"]} if step.get("password") else {}
        doc.storeToURL(to_url(path), props(FilterName=filt, Overwrite=True, **extra))
        return {"path": path, "filter": filt, "bytes": os.path.getsize(path)}

    def _pdf_of_sheet(self, doc, path, sheet_name):
        # The PDF export prints every visible sheet; hiding the others for the duration of
        # the export is simpler and more predictable than the "Selection" filter data
        # (which prints only the used area of a range and ignores the sheet's print ranges).
        target = get_sheet(doc, sheet_name)
        sheets = doc.getSheets()
        was_visible = {}
        controller = doc.getCurrentController()
        was_active = controller.getActiveSheet()
        target.IsVisible = True
        controller.setActiveSheet(target)
        try:
            for name in sheets.getElementNames():
                if name != sheet_name:
                    sh = sheets.getByName(name)
                    was_visible[name] = sh.IsVisible
                    sh.IsVisible = False
            doc.storeToURL(to_url(path), props(FilterName="calc_pdf_Export", Overwrite=True))
        finally:
            for name, vis in was_visible.items():
                sheets.getByName(name).IsVisible = vis
            controller.setActiveSheet(was_active)  # a later xlsx save keeps the same tab
        return {"path": path, "filter": "calc_pdf_Export", "bytes": os.path.getsize(path)}

    # {"op": "run_macro", "url": "vnd.sun.star.script:...?language=Basic&location=document",
    #  "args": [...]} → {"result": ...}. Needs the document opened with a macro_mode that
    # allows document macros (e.g. "always_no_warn") for location=document.
    def op_run_macro(self, step):
        url = step["url"]
        # Calling a script through the API bypasses MacroExecutionMode (measured: a Basic
        # function ran in a document opened with "never"). Refuse it, so a test only runs
        # macros in a document opened the way a user who allowed macros would open it.
        if self.macro_mode == MACRO_MODES["never"]:
            raise StepError("macros are disabled: open the document with macro_mode "
                            "'always_no_warn' to run them")
        if "location=document" in url:
            provider = self.need_doc().getScriptProvider()
        else:
            factory = self.office.ctx.ServiceManager.createInstanceWithContext(
                "com.sun.star.script.provider.MasterScriptProviderFactory", self.office.ctx)
            provider = factory.createScriptProvider("")
        script = provider.getScript(url)
        result, _out_idx, out_params = script.invoke(tuple(step.get("args", [])), (), ())
        return {"result": jsonable(result), "out_params": jsonable(out_params)}

    # {"op": "conditional_format_hits", "range": "Sheet!A1:C10"}
    # → {"hits": {"B3": [{"index", "operator", "formula1", "formula2", "style"}]},
    #    "errors": [...], "checked": n, "unsupported": [...]}
    def op_conditional_format_hits(self, step):
        """Which cells have a conditional-format condition that is TRUE right now.

        LibreOffice has no API for "the format a cell shows". What it has: every cell's
        ``ConditionalFormat`` property lists the condition entries that cover it, each
        with operator, Formula1/2 (API syntax) and the source position the formulas are
        relative to. For each (cell, entry) we build one boolean formula (the expression
        itself, or "cell <op> Formula1" for cell-value rules), parse it at the source
        position, re-anchor its relative references on the cell (relative offsets +
        cell position → absolute, pinned to the cell's sheet), put the tokens into a
        scratch sheet and let Calc evaluate them all at once. The scratch sheet is removed
        afterwards. Only condition entries are visible through this API: colour scales,
        data bars, icon sets and date rules are not evaluated; duplicate/unique rules are
        listed under "unsupported".
        """
        from com.sun.star.sheet.ConditionOperator import (
            BETWEEN,
            EQUAL,
            FORMULA,
            GREATER,
            GREATER_EQUAL,
            LESS,
            LESS_EQUAL,
            NONE,
            NOT_BETWEEN,
            NOT_EQUAL,
        )

        cmp_ops = {EQUAL.value: "=", NOT_EQUAL.value: "<>", GREATER.value: ">",
                   GREATER_EQUAL.value: ">=", LESS.value: "<", LESS_EQUAL.value: "<="}
        doc = self.need_doc()
        _, sheet, rng = get_range(doc, step["range"])
        sheet_index = sheet.getRangeAddress().Sheet
        a = rng.getRangeAddress()
        probes, unsupported = [], []  # probes: (cell name, entry info, tokens)
        for r in range(a.StartRow, a.EndRow + 1):
            for c in range(a.StartColumn, a.EndColumn + 1):
                entries = sheet.getCellByPosition(c, r).getPropertyValue("ConditionalFormat")
                for k in range(entries.getCount()):
                    e = entries.getByIndex(k)
                    op = e.getOperator().value
                    src = e.getSourcePosition()
                    info = {"index": k, "operator": op, "formula1": e.getFormula1(),
                            "formula2": e.getFormula2(), "style": e.getStyleName()}
                    f1, f2 = f"({e.getFormula1()})", f"({e.getFormula2()})"
                    me = addr_name(src.Row, src.Column)  # "the cell", relative at src
                    if op == FORMULA.value:
                        text = f1
                    elif op in cmp_ops:
                        text = f"{me}{cmp_ops[op]}{f1}"
                    elif op in (BETWEEN.value, NOT_BETWEEN.value):
                        text = f"AND({me}>=MIN({f1};{f2});{me}<=MAX({f1};{f2}))"
                        text = text if op == BETWEEN.value else f"NOT({text})"
                    else:
                        if op != NONE.value:
                            unsupported.append({"cell": addr_name(r, c), **info})
                        continue
                    tokens = self.formulas.api.parseFormula(text, src)
                    probes.append((addr_name(r, c), info,
                                   _anchor_tokens(tokens, sheet_index, c, r)))
        hits, errors = {}, []
        if probes:
            sheets = doc.getSheets()
            scratch = "xlzcf" + uuid.uuid4().hex[:8]
            sheets.insertNewByName(scratch, sheets.getCount())  # last: indices unchanged
            try:
                helper = sheets.getByName(scratch)
                for i, (_, _, tokens) in enumerate(probes):
                    helper.getCellByPosition(0, i).setTokens(tokens)
                doc.calculate()
                for i, (name, info, _) in enumerate(probes):
                    cell = helper.getCellByPosition(0, i)
                    if cell.getError():
                        # Calc treats a condition that errors as false; say so anyway.
                        errors.append({"cell": name, **info, "error": cell.getError()})
                    elif cell.getValue() != 0:
                        hits.setdefault(name, []).append(info)
            finally:
                sheets.removeByName(scratch)
        return {"hits": hits, "errors": errors, "checked": len(probes),
                "unsupported": unsupported}


# --------------------------------------------------------------------------- main


def run(job):
    t0 = time.monotonic()
    result = {"ok": False, "steps": [], "timings": {}}
    own_workdir = not job.get("workdir")
    workdir = tempfile.mkdtemp(prefix="xlz-lo-") if own_workdir else job["workdir"]
    os.makedirs(workdir, exist_ok=True)
    office = Office(workdir, recalc_on_load=bool(job.get("recalc_on_load")))
    timeout = float(job.get("timeout", 180))
    # Watchdog: a UNO call blocked in C can't be interrupted by a Python signal handler,
    # but killing soffice makes it return with an exception.
    timed_out = threading.Event()

    def on_timeout():
        timed_out.set()
        office.kill()

    watchdog = threading.Timer(timeout, on_timeout)
    watchdog.daemon = True
    watchdog.start()
    try:
        office.start()
        t1 = time.monotonic()
        result["timings"]["start"] = round(t1 - t0, 3)
        runner = Job(office)
        for step in job["steps"]:
            ts = time.monotonic()
            op = step.get("op")
            entry = {"op": op}
            try:
                method = getattr(runner, f"op_{op}", None)
                if method is None:
                    raise StepError(f"unknown op {op!r}")
                out = method(step) or {}
                entry["ok"] = out.pop("ok", True)
                entry.update(out)
            except StepError as exc:
                entry.update(ok=False, error=str(exc))
            except Exception as exc:
                entry.update(ok=False, error=f"{type(exc).__name__}: {exc}",
                             traceback=traceback.format_exc(limit=4))
            entry["seconds"] = round(time.monotonic() - ts, 3)
            result["steps"].append(entry)
            if timed_out.is_set():
                break
        runner.op_close({})
        result["timings"]["steps"] = round(time.monotonic() - t1, 3)
        result["ok"] = all(s["ok"] for s in result["steps"]) and not timed_out.is_set()
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc(limit=6)
    finally:
        watchdog.cancel()
        office.kill()
        if timed_out.is_set():
            result["ok"] = False
            result["error"] = f"job timed out after {timeout:.0f} s (soffice killed)"
        if own_workdir or job.get("cleanup_profile", True):
            shutil.rmtree(office.profile, ignore_errors=True)
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    result["timings"]["total"] = round(time.monotonic() - t0, 3)
    return result


def main():
    # The harness kills us with SIGTERM on timeout: turn it into a normal exit so the
    # finally-block still kills soffice.
    def _term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _term)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    result = run(job)
    sys.stdout.buffer.write(json.dumps(result, ensure_ascii=False).encode("utf-8"))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()

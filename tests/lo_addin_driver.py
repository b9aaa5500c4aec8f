"""Run the add-in's VBA in headless LibreOffice (run with /usr/bin/python3, which has uno).

    /usr/bin/python3 tests/lo_addin_driver.py WORKBOOK.xlsm OUT.xlsx VBA_PROJECT_NAME

Opens the macro-enabled test workbook built from the add-in's vbaProject.bin with
macros allowed, reports the Basic modules LibreOffice imported, adds the sheets
清除标记 works on (two of them protected without a password), runs
XlzMarks.ClearActive, and saves the result as .xlsx for openpyxl to check. Prints one
JSON object on stdout. LibreOffice 7.4 will not open the .xlam itself (its OOXML import
does not accept the add-in content type, even with the filter named; measured), hence
the .xlsm with the identical vbaProject.bin. LibreOffice 7.4 imports Excel VBA into a document Basic library
named after the VBA project (not "Standard"), each module with `Option VBASupport 1`.

Headless LibreOffice reports neither compile nor runtime errors to a UNO caller: the
error dialog is suppressed and `invoke` returns normally (measured). So the driver
adds small probe modules to the library, each a Function returning a known string
after touching one of the add-in's modules; a compile error anywhere in the library,
or a runtime error, leaves the string empty or names the error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.connection import NoConnectException  # type: ignore[import-not-found]

ALWAYS_EXECUTE_NO_WARN = 4
CONNECT_TIMEOUT = 60.0

# Rows written before the macro runs; what must be empty afterwards is checked by the test.
PROJECT_ROWS = [
    ["项目名称", "负责人", "校验提示"],
    ["甲项目", "张三", "第2行：投资额必须是数字"],
    ["乙项目", "李四", ""],
    ["丙项目", "王五", "第4行：缺少负责人"],
]
RESULT_ROWS = [
    ["工作表", "单元格", "级别", "说明"],
    ["项目信息", "C2", "错误", "投资额必须是数字"],
    ["项目信息", "B4", "提醒", "缺少负责人"],
]
GUIDE_ROWS = [
    ["填报说明", "请按表头填写"],
    ["校验状态", "有错误"],
    ["校验时间", "2024-05-01 10:00"],
    ["错误数", 1],
    ["提醒数", 1],
    ["联系人", "办公室"],
]


def probe(body: str) -> str:
    return (
        "Option VBASupport 1\n"
        "Function Probe() As String\n"
        "    On Error GoTo Failed\n"
        f"{body}\n"
        "    Exit Function\n"
        "Failed:\n"
        '    Probe = "error " & Err.Number & ": " & Err.Description\n'
        "End Function\n"
    )


# Run in this order; the test checks each result against its expected string.
PROBES = {
    "version": probe('    Probe = "version " & XLZ_VERSION'),
    "xlwings": probe('    Probe = "xlwings " & CStr(XlwingsLoaded())'),
    "clear": probe('    ClearActive\n    Probe = "cleared"'),
    # The ribbon callback itself, with no IRibbonControl (it does not use it).
    "ribbon": probe('    XlzClear Nothing\n    Probe = "ribbon"'),
}


def props(**kwargs: object) -> tuple[PropertyValue, ...]:
    out = []
    for name, value in kwargs.items():
        p = PropertyValue()
        p.Name = name
        p.Value = value
        out.append(p)
    return tuple(out)


def url(path: str) -> str:
    return uno.systemPathToFileUrl(os.path.abspath(path))


def start_office(profile: str) -> tuple[subprocess.Popen[bytes], object]:
    pipe = f"xlz_addin_{uuid.uuid4().hex}"
    # A named pipe rather than a TCP port: no race for a free port, nothing on the network.
    proc = subprocess.Popen(
        [
            shutil.which("soffice") or "soffice",
            "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
            "--nolockcheck",
            "-env:UserInstallation=" + url(profile),
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # soffice spawns soffice.bin: kill the whole group later
    )
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            return proc, ctx
        except NoConnectException:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("soffice did not start") from None
            time.sleep(0.3)


def fill(sheet: object, rows: list[list[object]]) -> None:
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            cell = sheet.getCellByPosition(c, r)  # type: ignore[attr-defined]
            if isinstance(value, str):
                cell.setString(value)
            else:
                cell.setValue(value)


def basic_modules(doc: object, library: str) -> dict[str, str]:
    libraries = doc.BasicLibraries  # type: ignore[attr-defined]
    if not libraries.hasByName(library):
        return {}
    libraries.loadLibrary(library)
    lib = libraries.getByName(library)
    return {name: lib.getByName(name) for name in lib.getElementNames()}


def invoke(doc: object, macro: str, args: tuple[object, ...] = ()) -> dict[str, object]:
    script_url = f"vnd.sun.star.script:{macro}?language=Basic&location=document"
    try:
        script = doc.getScriptProvider().getScript(script_url)  # type: ignore[attr-defined]
        result, _, _ = script.invoke(args, (), ())
        return {"ok": True, "result": result if isinstance(result, (str, int, float, bool))
                else None}
    except Exception as exc:  # every failure is reported to the test
        return {"ok": False, "error": f"{type(exc).__name__}: {getattr(exc, 'Message', exc)}"}


def run(workbook: str, out_xlsx: str, library: str) -> dict[str, object]:
    report: dict[str, object] = {}
    profile = tempfile.mkdtemp(prefix="xlz_lo_profile_")
    proc, ctx = start_office(profile)
    try:
        smgr = ctx.ServiceManager  # type: ignore[attr-defined]
        desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        doc = desktop.loadComponentFromURL(
            url(workbook), "_blank", 0,
            props(Hidden=True, MacroExecutionMode=ALWAYS_EXECUTE_NO_WARN))
        if doc is None:
            raise RuntimeError("LibreOffice could not load the workbook")
        report["libraries"] = list(doc.BasicLibraries.getElementNames())
        report["modules"] = basic_modules(doc, library)

        sheets = doc.getSheets()
        for name, rows in (("项目信息", PROJECT_ROWS), ("校验结果", RESULT_ROWS),
                           ("填报说明", GUIDE_ROWS)):
            sheets.insertNewByName(name, sheets.getCount())
            fill(sheets.getByName(name), rows)
        # Templates protect sheets without a password; the macro must cope and re-protect.
        sheets.getByName("项目信息").protect("")
        sheets.getByName("填报说明").protect("")
        # ActiveWorkbook is the document whose view is current.
        doc.getCurrentController().setActiveSheet(sheets.getByName("项目信息"))

        lib = doc.BasicLibraries.getByName(library)
        results = {}
        for name, code in PROBES.items():
            module = f"XlzProbe{name.capitalize()}"
            lib.insertByName(module, code)
            results[name] = invoke(doc, f"{library}.{module}.Probe")
        report["probes"] = results
        # The probes are not part of the saved workbook's story.
        for name in PROBES:
            lib.removeByName(f"XlzProbe{name.capitalize()}")
        report["protected_after"] = {
            name: sheets.getByName(name).isProtected() for name in ("项目信息", "填报说明")
        }
        doc.storeToURL(url(out_xlsx), props(FilterName="Calc Office Open XML"))
        report["saved"] = os.path.exists(out_xlsx)
        doc.close(True)
    finally:
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)
    return report


def main() -> int:
    try:
        report = run(sys.argv[1], sys.argv[2], sys.argv[3])
    except Exception:  # the test prints this
        print(json.dumps({"fatal": traceback.format_exc()}, ensure_ascii=False))
        return 1
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

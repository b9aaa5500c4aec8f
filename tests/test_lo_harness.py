"""Tests of the LibreOffice harness itself (tests/lo), against a real headless soffice.

One module-scoped job does most of the work (one soffice start serves many steps), and
the tests below check its step results; the convenience functions get their own jobs.
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from tests.lo import harness

pytestmark = pytest.mark.libreoffice

TITLE = "如皋市科技招商（试行）"


def _build_workbook(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("项目信息")
    ws.write_column("A1", [10, 20, 30.5])
    ws.write("B1", TITLE)
    ws.write("B2", "科创类")
    # Deliberately wrong cached value: only a real recalculation can show 60.5.
    ws.write_formula("A4", "=SUM(A1:A3)", None, 0)
    ws.write_formula("A5", "=A1/0", None, 0)
    ws.write_formula("A6", '=IF(A1>15,"大","小")', None, "")
    ws.data_validation("C1", {"validate": "list", "source": ["科创类", "人才类"]})
    ws.conditional_format(
        "A1:A3",
        {"type": "cell", "criteria": ">", "value": 15, "format": wb.add_format({"bold": True})},
    )
    ws.conditional_format(
        "B1:B3",
        {"type": "formula", "criteria": "=LEN(B1)=0", "format": wb.add_format({"italic": True})},
    )
    ps = wb.add_worksheet("保护")
    ps.write("A1", "锁定单元格")
    ps.write("B2", "", wb.add_format({"locked": False}))
    ps.protect("pw")
    hidden = wb.add_worksheet("_lists")
    hidden.write_formula("A1", "=1/0", None, 0)
    hidden.hide()
    wb.close()
    return path


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_workbook(tmp_path_factory.mktemp("lo") / "样例.xlsx")


@pytest.fixture(scope="module")
def outdir(workbook: Path) -> Path:
    return workbook.parent


@pytest.fixture(scope="module")
def job(workbook: Path, outdir: Path) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [
        {"op": "open", "path": str(workbook)},
        {"op": "sheets"},
        {"op": "read", "ranges": ["项目信息!A1:C6"]},  # before recalc: cached values
        {"op": "recalc"},
        {"op": "read", "ranges": ["项目信息!A1:C6", "_lists"]},
        {"op": "formula_errors"},
        {"op": "conditional_format_hits", "range": "项目信息!A1:B3"},
        {"op": "set", "cells": [
            {"sheet": "保护", "cell": "B2", "value": "镇区填写"},
            {"sheet": "保护", "cell": "A1", "value": "改写"},
        ]},
        {"op": "set", "cells": [
            {"cell": "项目信息!A3", "value": 0.5},
            {"cell": "项目信息!D1", "value": "=IF(A1>5,SUM(A1:A2),0)", "as_formula": True},
        ]},
        {"op": "recalc"},
        {"op": "read", "ranges": ["保护!A1:B2", "项目信息!A3:D4"]},
    ]
    for ext in ("xlsx", "xls", "ods", "pdf"):
        steps.append({"op": "save", "path": str(outdir / f"out.{ext}")})
    t0 = time.perf_counter()
    res = harness.run_job(steps)
    wall = time.perf_counter() - t0
    print(f"\nLibreOffice job: {len(steps)} steps, wall {wall:.2f} s, driver timings "
          f"{res['timings']}, per step "
          + ", ".join(f"{s['op']} {s['seconds']:.3f}" for s in res["steps"]))
    assert "error" not in res, res.get("error")
    return res


def step(job: dict[str, Any], index: int) -> dict[str, Any]:
    s: dict[str, Any] = job["steps"][index]
    assert s["op"] and s["ok"], s.get("error")
    return s


def test_sheets_lists_hidden_and_protected(job: dict[str, Any]) -> None:
    sheets = {s["name"]: s for s in step(job, 1)["sheets"]}
    assert list(sheets) == ["项目信息", "保护", "_lists"]
    assert sheets["_lists"]["visible"] is False
    assert sheets["保护"]["protected"] is True
    assert sheets["项目信息"]["active"] is True


def test_read_before_recalc_shows_stale_cached_value(job: dict[str, Any]) -> None:
    cells = step(job, 2)["ranges"]["项目信息!A1:C6"]["cells"]
    assert cells["A4"]["type"] == "FORMULA"
    assert cells["A4"]["value"] == 0  # what xlsxwriter cached, not the real sum


def test_recalc_gives_real_results(job: dict[str, Any]) -> None:
    cells = step(job, 4)["ranges"]["项目信息!A1:C6"]["cells"]
    assert cells["A4"] == {"value": 60.5, "formula": "=SUM(A1:A3)", "formula_lo": "=SUM(A1:A3)",
                           "type": "FORMULA"}
    assert cells["A6"]["value"] == "小"
    assert cells["A6"]["formula"] == '=IF(A1>15,"大","小")'  # Excel syntax back
    assert cells["A5"]["error_name"] == "#DIV/0!" and cells["A5"]["value"] is None
    assert cells["B1"] == {"value": TITLE, "formula": None, "type": "TEXT"}
    assert cells["A1"]["type"] == "VALUE" and cells["C1"]["type"] == "EMPTY"


def test_formula_errors_cover_hidden_sheets(job: dict[str, Any]) -> None:
    found = {(e["sheet"], e["cell"]): e for e in step(job, 5)["errors"]}
    assert set(found) == {("项目信息", "A5"), ("_lists", "A1")}
    assert found[("项目信息", "A5")]["name"] == "#DIV/0!"
    assert found[("项目信息", "A5")]["code"] == 532
    assert found[("项目信息", "A5")]["formula"] == "=A1/0"


def test_conditional_format_hits(job: dict[str, Any]) -> None:
    s = step(job, 6)
    hits = s["hits"]
    # A1:A3 > 15 → A2 (20) and A3 (30.5); B1:B3 LEN(B)=0 → only B3 is empty.
    assert set(hits) == {"A2", "A3", "B3"}
    assert hits["A2"][0]["operator"] == "GREATER"
    assert hits["B3"][0]["operator"] == "FORMULA"
    assert s["checked"] == 6 and s["unsupported"] == [] and s["errors"] == []


def test_set_unlocked_cell_ok_locked_cell_refused(job: dict[str, Any]) -> None:
    s = job["steps"][7]
    assert s["ok"] is False
    assert s["set"] == ["保护!B2"]
    assert [e["cell"] for e in s["errors"]] == ["保护!A1"]
    assert "locked" in s["errors"][0]["error"]
    cells = step(job, 10)["ranges"]["保护!A1:B2"]["cells"]
    assert cells["B2"]["value"] == "镇区填写"
    assert cells["A1"]["value"] == "锁定单元格"  # not silently overwritten


def test_set_number_and_excel_syntax_formula(job: dict[str, Any]) -> None:
    step(job, 8)
    cells = step(job, 10)["ranges"]["项目信息!A3:D4"]["cells"]
    assert cells["A4"]["value"] == 30.5  # 10 + 20 + 0.5
    assert cells["D3"]["type"] == "EMPTY"


@pytest.mark.parametrize("ext", ["xlsx", "xls", "ods"])
def test_saved_files_read_back_with_calamine(job: dict[str, Any], outdir: Path, ext: str) -> None:
    saves = [s for s in job["steps"] if s["op"] == "save"]
    assert all(s["ok"] for s in saves), [s.get("error") for s in saves]
    wb = CalamineWorkbook.from_path(str(outdir / f"out.{ext}"))
    assert wb.sheet_names[:2] == ["项目信息", "保护"]
    rows = wb.get_sheet_by_name("项目信息").to_python()
    assert rows[0][1] == TITLE
    assert rows[3][0] == 30.5  # LibreOffice wrote its recalculated value
    assert rows[0][3] == 30  # D1 = SUM(A1:A2)
    assert wb.get_sheet_by_name("保护").to_python()[1][1] == "镇区填写"


def test_saved_xlsx_keeps_validation_and_protection(job: dict[str, Any], outdir: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(outdir / "out.xlsx")
    dv = wb["项目信息"].data_validations.dataValidation
    assert [str(d.sqref) for d in dv] == ["C1"]
    assert "科创类" in dv[0].formula1
    assert wb["保护"].protection.sheet is True
    assert wb["保护"]["B2"].protection.locked is False


def test_pdf_saved(job: dict[str, Any], outdir: Path) -> None:
    assert (outdir / "out.pdf").read_bytes()[:5] == b"%PDF-"


def test_render_png_of_chosen_sheet(workbook: Path, outdir: Path) -> None:
    t0 = time.perf_counter()
    png = harness.render_png(workbook, outdir / "shot" / "保护.png", sheet="保护")
    print(f"\nrender_png: {time.perf_counter() - t0:.2f} s")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_fill_and_save_refuses_locked_cells(workbook: Path, outdir: Path) -> None:
    out = outdir / "filled.xlsx"
    res = harness.fill_and_save(workbook, [{"cell": "保护!B2", "value": "甲"}], out)
    assert res["ok"]
    assert CalamineWorkbook.from_path(str(out)).get_sheet_by_name("保护").to_python()[1][1] == "甲"
    with pytest.raises(harness.LOError, match="locked"):
        harness.fill_and_save(workbook, [{"cell": "保护!A1", "value": "乙"}], outdir / "x.xlsx")


def test_convenience_read_convert_errors(workbook: Path, outdir: Path) -> None:
    got = harness.recalc_and_read(workbook, ["项目信息!A4"])
    assert got["项目信息!A4"]["A4"]["value"] == 60.5
    assert harness.read_cached(workbook, ["项目信息!A4"])["项目信息!A4"]["A4"]["value"] == 0
    ods = harness.convert(workbook, outdir / "conv.ods")
    assert CalamineWorkbook.from_path(str(ods)).get_sheet_by_name("项目信息").to_python()[3][0] \
        == 60.5
    assert {(e["sheet"], e["cell"]) for e in harness.formula_errors(workbook)} == {
        ("项目信息", "A5"), ("_lists", "A1")}


def test_bad_steps_are_reported_not_raised(tmp_path: Path) -> None:
    res = harness.run_job([
        {"op": "open", "path": str(tmp_path / "missing.xlsx")},
        {"op": "recalc"},
        {"op": "frobnicate"},
    ])
    assert res["ok"] is False
    assert "no such file" in res["steps"][0]["error"]
    assert "no document" in res["steps"][1]["error"]
    assert "unknown op" in res["steps"][2]["error"]
    with pytest.raises(harness.LOError):
        harness.run_job([{"op": "recalc"}], check=True)


_BASIC_MODULE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" \
script:language="StarBasic">Function Twice(x)
  Twice = x * 2
End Function
Sub Mark
  ThisComponent.Sheets.getByName("保护").getCellRangeByName("C3").setString("宏已运行")
End Sub
</script:module>"""
_BASIC_LIBRARY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">
<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" \
library:readonly="false" library:passwordprotected="false">
 <library:element library:name="Module1"/>
</library:library>"""
_BASIC_CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:libraries PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" \
"libraries.dtd">
<library:libraries xmlns:library="http://openoffice.org/2000/library" \
xmlns:xlink="http://www.w3.org/1999/xlink">
 <library:library library:name="Standard" library:link="false"/>
</library:libraries>"""


def _add_basic(ods: Path, out: Path) -> Path:
    """Copy an .ods, adding a document Basic library (the layout LibreOffice itself writes)."""
    extra = {"Basic/script-lc.xml": _BASIC_CONTAINER,
             "Basic/Standard/script-lb.xml": _BASIC_LIBRARY,
             "Basic/Standard/Module1.xml": _BASIC_MODULE}
    entries = "".join(f' <manifest:file-entry manifest:full-path="{name}" '
                      'manifest:media-type="text/xml"/>\n' for name in extra)
    with zipfile.ZipFile(ods) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():  # mimetype stays first and stored
            data = src.read(info)
            if info.filename == "META-INF/manifest.xml":
                data = data.replace(b"</manifest:manifest>",
                                    entries.encode() + b"</manifest:manifest>")
            dst.writestr(info, data)
        for name, text in extra.items():
            dst.writestr(name, text.encode("utf-8"), zipfile.ZIP_DEFLATED)
    return out


def test_run_macro(job: dict[str, Any], outdir: Path) -> None:
    doc = _add_basic(outdir / "out.ods", outdir / "macro.ods")
    url = "vnd.sun.star.script:Standard.Module1.{}?language=Basic&location=document"
    res = harness.run_job([
        {"op": "open", "path": str(doc)},  # default: macros never run
        {"op": "run_macro", "url": url.format("Twice"), "args": [21]},
        {"op": "open", "path": str(doc), "macro_mode": "always_no_warn"},
        {"op": "run_macro", "url": url.format("Twice"), "args": [21]},
        {"op": "run_macro", "url": url.format("Mark")},
        {"op": "read", "ranges": ["保护!C3"]},
        {"op": "run_macro", "url": url.format("Missing")},
    ])
    s = res["steps"]
    assert not s[1]["ok"] and "macros are disabled" in s[1]["error"]
    assert s[3]["ok"] and s[3]["result"] == 42
    assert s[4]["ok"]
    assert s[5]["ranges"]["保护!C3"]["cells"]["C3"]["value"] == "宏已运行"
    assert not s[6]["ok"] and "Missing" in s[6]["error"]

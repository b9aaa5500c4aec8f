"""Fidelity: an in-place validation and a fill change only the reserved cells; every
other zip part is byte-for-byte the same, on generated and on LibreOffice-saved files."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

import xlz
from tests.xlz_books import (
    build,
    column,
    diff,
    fill_reserved,
    parts,
    validation_reserved,
    values,
)

FINDINGS_COL = 19  # 项目信息!T


def test_validate_changes_only_reserved_cells(tmp_path: Path) -> None:
    original = build(tmp_path / "orig.xlsx")
    work = tmp_path / "town.xlsx"
    shutil.copy(original, work)
    result = xlz.validate(work)
    assert result.written and result.mode == "inplace"
    assert diff(original, work, validation_reserved) == []
    # Only the guide, the three entry sheets and 校验结果 may change at all.
    a, b = parts(original), parts(work)
    changed = {p for p in a if a[p] != b[p]}
    assert changed <= {f"xl/worksheets/sheet{i}.xml" for i in (1, 2, 3, 4, 7)}
    assert "xl/sharedStrings.xml" not in changed


def test_fill_changes_only_summary_cells(tmp_path: Path) -> None:
    original = build(tmp_path / "orig.xlsx")
    work = tmp_path / "town.xlsx"
    shutil.copy(original, work)
    xlz.fill(work)
    assert diff(original, work, fill_reserved) == []
    rows = values(work, "载体汇总")
    assert rows[1][4] == "省级专业孵化器（合成生物）"


def test_fill_restores_overwritten_formula(tmp_path: Path) -> None:
    from xlz.core.formulas import task_formulas
    from xlz.io.inplace import patch_package
    from xlz.ooxml.sheetxml import Number

    work = build(tmp_path / "town.xlsx")
    patch_package(work, {"任务分解": {"C2": Number(99)}})  # the clerk typed over 完成
    xlz.fill(work)
    from tests.xlz_books import cells, sheet_parts

    part = sheet_parts(work)["任务分解"]
    cell = cells(parts(work)[part])["C2"]
    formula = task_formulas(xlz.load_plan())["C2"].lstrip("=")
    # ElementTree's prefix depends on what other tests registered: match any prefix.
    assert re.search(r"<(\w+:)?f>", cell) and re.search(r"<(\w+:)?v>2</", cell)  # 2 done
    from xml.sax.saxutils import escape

    assert escape(formula) in cell


def test_second_validation_clears_stale_findings(tmp_path: Path) -> None:
    from xlz.io.inplace import patch_package
    from xlz.ooxml.sheetxml import Text

    work = build(tmp_path / "town.xlsx")
    xlz.validate(work)
    notes = column(values(work, "项目信息"), FINDINGS_COL)
    assert notes[2] and "项目类别" in notes[2]  # row 3: 错类
    first = xlz.validate(work, check=True).report
    patch_package(work, {"项目信息": {"C3": Text("科创类")}})  # the clerk fixes C3
    second = xlz.validate(work).report
    assert len(second) == len(first) - 1
    notes = column(values(work, "项目信息"), FINDINGS_COL)
    assert not notes[2] or "项目类别" not in notes[2]
    results = values(work, "校验结果")
    assert len([r for r in results[1:] if r[0] is not None]) == len(second)
    assert not any(r[2] == "项目信息!C3" for r in results[1:])


def test_validation_is_idempotent(tmp_path: Path) -> None:
    work = build(tmp_path / "town.xlsx")
    now = dt.datetime(2023, 6, 1, 9, 0)
    xlz.validate(work, now=now)
    once = work.read_bytes()
    xlz.validate(work, now=now)
    assert work.read_bytes() == once


@pytest.mark.libreoffice
def test_libreoffice_saved_file(tmp_path: Path) -> None:
    from tests.lo.harness import convert, formula_errors, read_cached

    generated = build(tmp_path / "gen.xlsx")
    saved = convert(generated, tmp_path / "lo.xlsx", "Calc MS Excel 2007 XML")
    work = tmp_path / "town.xlsx"
    shutil.copy(saved, work)
    result = xlz.validate(work)
    assert result.mode == "inplace", result.report.to_json()
    assert diff(saved, work, validation_reserved) == []
    filled = tmp_path / "filled.xlsx"
    shutil.copy(work, filled)
    xlz.fill(filled)
    assert diff(work, filled, fill_reserved) == []
    assert formula_errors(filled) == []
    got = read_cached(filled, ["项目信息!T1:T6", "校验结果!A1:G4", "填报说明!B6:B9"])
    notes = got["项目信息!T1:T6"]
    assert "项目类别" in notes["T3"]["value"]
    assert got["填报说明!B6:B9"]["B6"]["value"] == "有错误"
    assert got["校验结果!A1:G4"]["C2"]["formula"].startswith("=HYPERLINK(")

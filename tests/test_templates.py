"""The generated workbooks: structure per docs/standard.md, metadata, dropdowns and
protection as a real reader sees them, determinism, the committed copies, and that a
real spreadsheet application (LibreOffice) opens every one without a formula error."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from xlz.books.common import NOT_CHECKED, city_file_name, town_file_name
from xlz.books.templates import build_templates
from xlz.books.townbook import build_town_workbook
from xlz.cli import main
from xlz.core import formulas as fx
from xlz.core.entries import ENTRY_SHEETS, PROJECTS, Kind
from xlz.core.layout import (
    CARRIER_SUMMARY,
    CARRIER_SUMMARY_HEADERS,
    CITY_HEADERS,
    CITY_PRINTED_TOTAL_LABEL,
    CITY_SHEETS,
    CITY_TASKS,
    CITY_TOTAL_LABEL,
    ENTRY_CAPACITY,
    GUIDE,
    META_SHEET,
    RESULT_HEADERS,
    RESULTS,
    STANDARD_VERSION,
    STATUS_LABELS,
    STATUS_ROWS,
    TASK_HEADERS,
    TASKS,
    TOWN_SHEETS,
)
from xlz.core.plan import METRICS, load_plan
from xlz.core.summary import METRIC_LABELS

PLAN = load_plan()
ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbook_templates"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build_templates(tmp_path_factory.mktemp("templates"), PLAN)


def _town_path(paths: list[Path], code: str) -> Path:
    return next(p for p in paths if p.name == town_file_name(PLAN, PLAN.town(code)))


def _custom_properties(path: Path) -> dict[str, str]:
    import re

    xml = zipfile.ZipFile(path).read("docProps/custom.xml").decode()
    return dict(re.findall(r'name="([^"]+)"><vt:lpwstr>([^<]*)</vt:lpwstr>', xml))


def test_one_file_per_town_and_the_city(generated: list[Path]) -> None:
    names = [p.name for p in generated]
    assert names == [town_file_name(PLAN, t) for t in PLAN.towns] + [city_file_name(PLAN)]
    assert "如皋市科技招商填报表-丁堰镇.xlsx" in names
    assert "如皋市科技招商汇总表-市级.xlsx" in names


@pytest.mark.parametrize("code", [t.code for t in PLAN.towns])
def test_town_structure_and_metadata(generated: list[Path], code: str) -> None:
    path = _town_path(generated, code)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:7] == list(TOWN_SHEETS)
    assert wb.sheetnames[-1] == META_SHEET and wb[META_SHEET].sheet_state == "veryHidden"
    assert all(wb[n].sheet_state == "hidden" for n in wb.sheetnames[7:-1])
    assert all(wb[n].sheet_state == "visible" for n in TOWN_SHEETS)
    props = _custom_properties(path)
    assert props == {"xlz.template": "town", "xlz.standard": STANDARD_VERSION,
                     "xlz.plan": PLAN.id, "xlz.town": code, "xlz.generated": "2023-02-01T00:00:00"}
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    assert meta == props
    for sheet in ENTRY_SHEETS:
        ws = wb[sheet.name]
        assert tuple(c.value for c in ws[1]) == sheet.headers
        assert ws.freeze_panes == "C2"
    assert tuple(c.value for c in wb[TASKS][1]) == TASK_HEADERS
    assert tuple(c.value for c in wb[CARRIER_SUMMARY][1]) == CARRIER_SUMMARY_HEADERS
    assert tuple(c.value for c in wb[RESULTS][1]) == RESULT_HEADERS
    guide = wb[GUIDE]
    town = PLAN.town(code)
    for key, label in STATUS_LABELS.items():
        assert guide[f"A{STATUS_ROWS[key]}"].value == label
    assert guide[f"B{STATUS_ROWS['town']}"].value == town.name
    assert guide[f"B{STATUS_ROWS['state']}"].value == NOT_CHECKED
    # 目标 straight from 附件2; blank (never 0) where it prints none
    target = PLAN.target(code)
    for metric in METRICS:
        row = fx.task_row(metric)
        assert wb[TASKS][f"A{row}"].value == METRIC_LABELS[metric]
        assert wb[TASKS][f"B{row}"].value == target.get(metric)


def test_guide_explains_what_a_clerk_needs(generated: list[Path]) -> None:
    wb = openpyxl.load_workbook(_town_path(generated, "dingyan"))
    text = "\n".join(str(c.value) for row in wb[GUIDE].iter_rows() for c in row if c.value)
    for needle in ("丁堰镇", "实时检查", "校验提示", "校验本表", "生成汇总", "清除标记", "关于",
                   "没有密码", "WPS", "如皋市科技招商中心", "项目名称", "洽谈中"):
        assert needle in text, needle


def _column_style(ws: Any, letter: str) -> Any:
    """The <col> element covering ``letter`` (xlsxwriter merges equal neighbours)."""
    from openpyxl.utils import column_index_from_string

    idx = column_index_from_string(letter)
    for dim in ws.column_dimensions.values():
        if dim.min is not None and dim.min <= idx <= dim.max:
            return dim
    raise AssertionError(f"no column style for {letter}")


def test_dropdowns_constraints_and_protection(generated: list[Path]) -> None:
    wb = openpyxl.load_workbook(_town_path(generated, "gaoxin"))
    names = set(wb.defined_names)
    for sheet in ENTRY_SHEETS:
        ws = wb[sheet.name]
        assert ws.protection.sheet and ws.protection.password is None
        assert ws.protection.autoFilter is False  # False = "allowed" in OOXML's inverted flags
        validations = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
        last = fx.last_row(sheet)
        for col in sheet.input_columns:
            letter = fx.letters(sheet)[col.key]
            # Unlocked through the column's default style, which Excel, WPS and LibreOffice
            # apply to every empty cell of the column (checked in LibreOffice below).
            assert _column_style(ws, letter).protection.locked is False, col.header
            dv = validations.get(f"{letter}2:{letter}{last}")
            if col.kind is Kind.CHOICE:
                assert dv is not None and dv.type == "list" and dv.formula1 == col.choices
                assert col.choices in names
                assert (dv.errorStyle or "stop") == ("stop" if col.invalid.value == "错误" else "warning")
            elif col.kind is Kind.INTEGER:
                assert dv is not None and dv.type == "whole" and dv.operator == "greaterThanOrEqual"
            elif col.kind in (Kind.MONEY, Kind.AREA):
                assert dv is not None and dv.type == "decimal"
            elif col.kind is Kind.DATE:
                assert dv is not None and dv.type == "date" and dv.prompt
            elif col.kind is Kind.MONTH:
                assert dv is not None and dv.type == "list" and dv.formula1 == fx.MONTH_LIST
        for col in sheet.columns:
            if col.kind is Kind.LIBRARY:
                letter = fx.letters(sheet)[col.key]
                assert _column_style(ws, letter).protection.locked is not False
        assert ws["A1"].protection.locked is not False
        assert ws.print_title_rows == "$1:$1" and ws.page_setup.orientation == "landscape"
    for name in (TASKS, GUIDE, CARRIER_SUMMARY, RESULTS):
        assert wb[name].protection.sheet
    # the raw XML holds classic <dataValidation> only, never the x14 extension form
    xml = zipfile.ZipFile(_town_path(generated, "gaoxin")).read("xl/worksheets/sheet2.xml")
    assert b"x14:dataValidation" not in xml and b"<dataValidation " in xml


def test_live_check_in_every_prepared_row(generated: list[Path]) -> None:
    wb = openpyxl.load_workbook(_town_path(generated, "baipu"))
    ws = wb[PROJECTS.name]
    live = fx.letters(PROJECTS)["live_check"]
    last = fx.last_row(PROJECTS)
    assert ws[f"{live}2"].value == fx.live_check_formula(PLAN, PROJECTS, 2)
    assert ws[f"{live}{last}"].value == fx.live_check_formula(PLAN, PROJECTS, last)
    assert ws[f"{live}{last + 1}"].value is None
    assert ENTRY_CAPACITY[PROJECTS.key] == last - 1


def test_regeneration_is_byte_identical(generated: list[Path], tmp_path: Path) -> None:
    again = build_templates(tmp_path, PLAN)
    for a, b in zip(generated, again, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_committed_templates_are_current(generated: list[Path]) -> None:
    """workbook_templates/ is what `xlz templates` writes today (regenerate and commit)."""
    for path in generated:
        committed = COMMITTED / path.name
        assert committed.exists(), f"run: xlz templates --out workbook_templates ({path.name})"
        assert committed.read_bytes() == path.read_bytes(), path.name


def test_city_template(generated: list[Path]) -> None:
    path = generated[-1]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [*CITY_SHEETS, META_SHEET]
    for name in CITY_SHEETS:
        assert tuple(c.value for c in wb[name][1]) == CITY_HEADERS[name]
    assert _custom_properties(path)["xlz.template"] == "city"
    tasks = list(CalamineWorkbook.from_path(str(path)).get_sheet_by_name(CITY_TASKS).to_python())
    labels = [r[0] for r in tasks]
    assert labels[1:14] == [r.label for r in PLAN.attachment2.rows]
    total = tasks[labels.index(CITY_TOTAL_LABEL)]
    printed = tasks[labels.index(CITY_PRINTED_TOTAL_LABEL)]
    assert (total[1], printed[1]) == (398, 400)  # both shown, neither corrected
    assert (total[4], printed[4]) == (398, 400)
    assert "370" not in str(printed)
    assert 370 in [r[1] for r in tasks if r and r[0].startswith("科创类")]
    assert 400000 in [r[1] for r in tasks]


def test_cli_templates(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["templates", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("*.xlsx"))) == 14
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(main, ["templates", "--out", str(tmp_path / "x"),
                                       "--plan", str(bad)])
    assert result.exit_code == 2


def test_entries_beyond_capacity_are_refused(tmp_path: Path) -> None:
    rows = [{"name": f"项目{i}"} for i in range(ENTRY_CAPACITY["activity"] + 1)]
    with pytest.raises(ValueError):
        build_town_workbook(PLAN, "dingyan", tmp_path / "x.xlsx", {"activity": rows})


@pytest.mark.libreoffice
def test_every_workbook_opens_in_libreoffice_without_formula_errors(
    generated: list[Path],
) -> None:
    from tests.lo import harness

    steps: list[dict[str, object]] = []
    for path in generated:
        steps += [{"op": "open", "path": str(path)}, {"op": "recalc"},
                  {"op": "formula_errors"}, {"op": "sheets"}]
    result = harness.run_job(steps, timeout=600, check=True)
    reports = [s for s in result["steps"] if s["op"] == "formula_errors"]
    sheets = [s for s in result["steps"] if s["op"] == "sheets"]
    assert len(reports) == len(generated)
    for path, report, listing in zip(generated, reports, sheets, strict=True):
        assert report["errors"] == [], path.name
        assert all(s["protected"] for s in listing["sheets"]
                   if s["name"] in TOWN_SHEETS) or path == generated[-1]


@pytest.mark.libreoffice
def test_locked_cells_refuse_a_clerk(generated: list[Path], tmp_path: Path) -> None:
    from tests.lo import harness

    live = fx.letters(PROJECTS)["live_check"]
    inputs = [f"{s.name}!{fx.letters(s)[c.key]}{row}" for s in ENTRY_SHEETS
              for c in s.input_columns for row in (2, fx.last_row(s))]
    locked = [f"{PROJECTS.name}!A1", f"{PROJECTS.name}!{live}2", f"{TASKS}!C2", f"{GUIDE}!B6"]
    result = harness.run_job([
        {"op": "open", "path": str(_town_path(generated, "dingyan"))},
        {"op": "set", "cells": [{"cell": ref, "value": "1"} for ref in locked + inputs]},
    ])
    step = result["steps"][1]
    assert {e["cell"] for e in step["errors"]} == set(locked)
    assert step["set"] == inputs

"""The live checks: the rule catalogue compiled to formulas, against the Python validator.

The differential tests type entries into a town template through LibreOffice (unlocked
cells only, like a clerk), let LibreOffice recalculate and save, then compare what its
formulas say (实时检查 text, red conditional format, 任务分解) with what the Python
validator and ``progress()`` say about the very same saved cells.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from xlz.books.townbook import build_town_workbook, town_state
from xlz.core import formulas as fx
from xlz.core.catalogue import RULES
from xlz.core.cells import CellValue, cell_ref
from xlz.core.entries import ACTIVITIES, CARRIERS, ENTRY_SHEETS, PROJECTS, EntrySheet
from xlz.core.layout import FIRST_DATA_ROW, TASKS
from xlz.core.plan import METRICS, load_plan
from xlz.core.summary import progress
from xlz.core.validator import SheetValues, validate_values

PLAN = load_plan()
TOWN = "gaoxin"  # has platform and fund targets, so every 完成率 is live

D = dt.date
GOOD_AND_BAD: dict[str, list[dict[str, CellValue]]] = {
    "project": [
        # good
        {"seq": 1, "name": "高端光学镜头项目", "category": "科创类", "field": "精密光学制造",
         "origin": "上海", "status": "已签约", "signed": D(2023, 3, 5), "prereview": "预审通过",
         "carrier": "皋加速科创园", "invention_patents": 3, "utility_patents": 10,
         "investment": 5000},
        {"seq": 2, "name": "氢能人才项目", "category": "人才类", "field": "氢能", "origin": "北京",
         "leader": "张三", "company": "如皋氢能科技有限公司", "status": "已注册",
         "signed": D(2023, 4, 1), "prereview": "预审通过", "invention_patents": 2,
         "utility_patents": 5},
        {"seq": 3, "name": "新材料研究院", "category": "平台类", "field": "前沿新材料",
         "origin": "苏南", "host": "南京大学", "company": "如皋新材料研究院有限公司",
         "status": "已投产", "signed": D(2023, 1, 20)},
        {"seq": 4, "name": "科创基金", "category": "基金类", "field": "其他", "origin": "深圳",
         "host": "某创投", "status": "洽谈中"},
        {"seq": 5, "name": "检测服务项目", "category": "服务类", "field": "大健康", "origin": "杭州",
         "status": "洽谈中", "invention_patents": 4},
        # bad
        {"seq": 6, "name": "错类别项目", "category": "科技类", "field": "氢能", "origin": "上海",
         "status": "已签约"},
        {"seq": 7, "name": "高端光学镜头项目", "category": "服务类", "origin": "境外",
         "status": "洽谈中"},
        {"seq": 8, "name": "无依托平台", "category": "平台类", "field": "储能节能", "origin": "北京",
         "status": "已注册", "signed": D(2022, 5, 1)},
        {"seq": 9, "name": "人才缺负责人", "category": "人才类", "field": "大健康", "origin": "上海",
         "status": "已签约", "signed": D(2023, 6, 1), "prereview": "未预审",
         "invention_patents": -1, "utility_patents": 2.5, "investment": "abc"},
        {"seq": 10, "name": "长" * 101, "category": "科创类", "field": "氢能", "origin": "火星",
         "status": "洽谈中", "carrier": "不存在的载体"},
        {"seq": 11},  # only 序号: not an entry for either side
        {},
        {"name": "只有名称"},
    ],
    "carrier": [
        {"seq": 1, "name": "皋加速科创园", "method": "新建载体", "level": "省级",
         "type": "专业孵化器", "specialty": "合成生物", "area": 5000, "progress": "在建"},
        {"seq": 2, "name": "缺领域孵化器", "method": "新建", "type": "专业孵化器"},
        {"seq": 3, "name": "皋加速科创园", "method": "升级", "area": -5, "level": "区级"},
        # standard 2: an accreditation without its date, on a carrier still 在建
        {"seq": 4, "name": "已认定孵化器", "method": "新建载体", "type": "孵化器", "area": 3000,
         "progress": "在建", "accreditation": "省级"},
        {"seq": 5, "name": "省级认定孵化器", "method": "盘活厂房", "type": "孵化器", "area": 4000,
         "progress": "建成运营", "accreditation": "省级", "accredited_on": D(2023, 6, 1)},
        {"seq": 6, "name": "坏认定", "method": "升级", "area": 1, "accreditation": "部级",
         "accredited_on": "去年"},
    ],
    "activity": [
        {"seq": 1, "name": "合成生物路演", "month": 3, "host": "高新区", "type": "路演",
         "state": "已举办", "matched": 5, "signed": 2},
        {"seq": 2, "name": "坏活动", "month": 13, "type": "晚会", "matched": "五"},
        {"seq": 3, "name": "常年招商", "month": "全年", "host": "高新区", "signed": -2},
    ],
}


def _serial(value: CellValue) -> CellValue:
    """What a clerk's typed date is to the spreadsheet: a serial number."""
    if isinstance(value, dt.date):
        return float((value - dt.date(1899, 12, 30)).days)
    return value


def _edits(entries: Mapping[str, Sequence[Mapping[str, CellValue]]]) -> list[dict[str, Any]]:
    edits = []
    for sheet in ENTRY_SHEETS:
        cols = fx.letters(sheet)
        for i, entry in enumerate(entries.get(sheet.key, ())):
            for key, value in entry.items():
                edits.append({"cell": f"{sheet.name}!{cols[key]}{FIRST_DATA_ROW + i}",
                              "value": _serial(value)})
    return edits


def _read_sheets(path: Path, rows: int = 30) -> dict[str, list[list[Any]]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python()[:rows] for name in wb.sheet_names}


def _live_texts(grid: list[list[Any]], sheet: EntrySheet) -> dict[int, set[str]]:
    idx = [c.key for c in sheet.columns].index("live_check")
    out: dict[int, set[str]] = {}
    for r, row in enumerate(grid[1:], start=FIRST_DATA_ROW):
        text = row[idx] if idx < len(row) else ""
        if text:
            out[r] = set(str(text).split(fx.SEPARATOR))
    return out


def _python_expected(plan: Any, sheets: Mapping[str, SheetValues]
                     ) -> dict[str, dict[int, set[str]]]:
    """Python's verdict, restricted to the rules a formula expresses, as live-check text."""
    validation = validate_values(sheets, plan)
    out: dict[str, dict[int, set[str]]] = {}
    for sheet in ENTRY_SHEETS:
        values = fx.live_check_values(plan, sheet, validation.report)
        out[sheet.name] = {r: set(t.split(fx.SEPARATOR)) for r, t in values.items()}
    return out


def _input_grid(grid: list[list[Any]], sheet: EntrySheet) -> SheetValues:
    """The clerk's cells as the Python reader sees them (library columns blanked)."""
    n = len(sheet.input_columns)
    return SheetValues(sheet.name, [list(row[:n]) for row in grid])


# ---------------------------------------------------------------- catalogue coverage


def test_every_row_rule_is_compiled_or_listed_as_not_expressible() -> None:
    assert fx.not_expressible(PLAN) == fx.NOT_EXPRESSIBLE
    compiled = fx.expressible_codes(PLAN)
    row_rules = {c for c, r in RULES.items() if r.sheet is not None and r.field is not None}
    assert compiled | set(fx.NOT_EXPRESSIBLE) == row_rules
    assert "project.phone.invalid" not in compiled


@pytest.mark.parametrize("sheet", ENTRY_SHEETS, ids=lambda s: s.key)
def test_live_formula_uses_only_portable_functions_and_fits(sheet: EntrySheet) -> None:
    allowed = {"IF", "AND", "OR", "NOT", "TRIM", "LEN", "MID", "FIND", "ROW", "INT", "YEAR",
               "ISNUMBER", "SUMPRODUCT", "N"}
    last = fx.last_row(sheet)
    formula = fx.live_check_formula(PLAN, sheet, last)
    assert len(formula) < fx.MAX_FORMULA_CHARS
    used = set(re.findall(r"([A-Z][A-Z0-9.]*)\(", re.sub(r'"[^"]*"', '""', formula)))
    assert used <= allowed, used - allowed
    # every message is one rule's title, so the catalogue is the only source of text
    for lr in fx.live_rules(PLAN, sheet):
        assert lr.rule.title in formula


def test_task_formulas_use_only_portable_functions() -> None:
    for ref, formula in fx.task_formulas(PLAN).items():
        used = set(re.findall(r"([A-Z][A-Z0-9.]*)\(", re.sub(r'"[^"]*"', '""', formula)))
        assert used <= {"SUMPRODUCT", "TRIM", "ISNUMBER", "ISERROR", "FIND", "IF", "N"}, (ref, used)


def test_cached_values_are_pythons_numbers(tmp_path: Path) -> None:
    """Readers that do not recalculate (calamine) see the validator's and progress()'s
    figures, not xlsxwriter's default 0."""
    path = build_town_workbook(PLAN, TOWN, tmp_path / "t.xlsx", GOOD_AND_BAD)
    grids = _read_sheets(path)
    validation, done = town_state(PLAN, TOWN, GOOD_AND_BAD)
    for sheet in ENTRY_SHEETS:
        expected = fx.live_check_values(PLAN, sheet, validation.report)
        got = _live_texts(grids[sheet.name], sheet)
        assert got == {r: set(t.split(fx.SEPARATOR)) for r, t in expected.items()}
        assert expected, f"the bad entries must flag something on {sheet.name}"
    tasks = grids[TASKS]
    for p in done:
        row = tasks[fx.task_row(p.metric) - 1]
        assert row[1] == ("" if p.target is None else p.target)
        assert row[2] == p.done and row[4] == p.pipeline
        assert row[3] == ("" if p.rate is None else pytest.approx(p.rate))
    # done: rows 2, 3 and 10 (projects; a row with errors still counts when its category
    # and status are readable), rows 4 and 9 (platform); patents of row 10 are unreadable
    assert [p.done for p in done] == [3, 5, 15, 2, 0]
    assert [p.pipeline for p in done] == [3, 4, 0, 0, 1]


# ---------------------------------------------------------------- through LibreOffice


@pytest.fixture(scope="module")
def typed_in_lo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.lo import harness

    folder = tmp_path_factory.mktemp("live")
    template = build_town_workbook(PLAN, TOWN, folder / "template.xlsx")
    out = folder / "typed.xlsx"
    harness.fill_and_save(template, _edits(GOOD_AND_BAD), out)
    return out


@pytest.mark.libreoffice
def test_differential_live_checks_equal_python_validator(typed_in_lo: Path) -> None:
    grids = _read_sheets(typed_in_lo)
    sheets = {s.name: _input_grid(grids[s.name], s) for s in ENTRY_SHEETS}
    expected = _python_expected(PLAN, sheets)
    for sheet in ENTRY_SHEETS:
        assert _live_texts(grids[sheet.name], sheet) == expected[sheet.name], sheet.name
    # the bad rows really are bad, and the good ones clean
    assert set(expected[PROJECTS.name]) == {7, 8, 9, 10, 11, 14}
    assert set(expected[CARRIERS.name]) == {3, 4, 5, 7}
    assert set(expected[ACTIVITIES.name]) == {3, 4}


@pytest.mark.libreoffice
def test_differential_task_breakdown_equals_progress(typed_in_lo: Path) -> None:
    grids = _read_sheets(typed_in_lo)
    sheets = {s.name: _input_grid(grids[s.name], s) for s in ENTRY_SHEETS}
    validation = validate_values(sheets, PLAN)
    done = progress(validation.records["project"], PLAN.target(TOWN), PLAN)
    tasks = grids[TASKS]  # values as LibreOffice recalculated and saved them
    for p in done:
        row = tasks[fx.task_row(p.metric) - 1]
        assert (row[2], row[4]) == (p.done, p.pipeline), p.metric
        assert row[3] == ("" if p.rate is None else pytest.approx(p.rate)), p.metric
    assert len(done) == len(METRICS)


@pytest.mark.libreoffice
def test_differential_red_cells_equal_python_findings(typed_in_lo: Path) -> None:
    from tests.lo import harness

    grids = _read_sheets(typed_in_lo)
    sheets = {s.name: _input_grid(grids[s.name], s) for s in ENTRY_SHEETS}
    expected = _python_expected(PLAN, sheets)
    for sheet in ENTRY_SHEETS:
        last = fx.letters(sheet)[sheet.input_columns[-1].key]
        hits = harness.conditional_format_hits(typed_in_lo, f"{sheet.name}!A2:{last}16")
        red = {cell for cell, entries in hits.items()
               if any("FIND" in e["formula1"] for e in entries)}
        want = {text.split(" ")[0] for texts in expected[sheet.name].values() for text in texts}
        assert red == want, sheet.name
        assert not any(any("FIND" not in e["formula1"] for e in entries)
                       for entries in hits.values()), "no 校验提示 yet: no yellow rows"


@pytest.mark.libreoffice
def test_libreoffice_recalculation_equals_cached_values(tmp_path: Path) -> None:
    """The cached values written by Python are what LibreOffice computes."""
    from tests.lo import harness

    path = build_town_workbook(PLAN, TOWN, tmp_path / "filled.xlsx", GOOD_AND_BAD)
    cached = _read_sheets(path)
    ranges = [f"{PROJECTS.name}!U2:U16", f"{CARRIERS.name}!K2:K6", f"{ACTIVITIES.name}!K2:K6",
              f"{TASKS}!C2:E6"]
    lo = harness.recalc_and_read(path, ranges)
    for ref, cells in lo.items():
        sheet = ref.split("!")[0]
        for name, cell in cells.items():
            row, col = _rc(name)
            grid = cached[sheet]  # calamine drops trailing rows whose cells are all empty
            want = grid[row - 1][col] if row - 1 < len(grid) else ""
            got = cell["value"]
            assert "error" not in cell, (ref, name, cell)
            assert (got or "") == (want or "") or got == pytest.approx(want), (ref, name)
    assert harness.formula_errors(path) == []


def _rc(name: str) -> tuple[int, int]:
    from xlz.core.cells import parse_ref

    return parse_ref(name)


@pytest.mark.libreoffice
def test_noise_python_tolerates_is_flagged_by_formulas(tmp_path: Path) -> None:
    """Documented difference: text that only the Python normaliser reads (22个, a date as
    text, full-width digits) is 格式不对 to a formula. Python accepts it."""
    from tests.lo import harness

    entries = {"project": [
        {"name": "噪声项目", "category": "科创类", "field": "氢能", "origin": "上海",
         "status": "已签约", "signed": "2023.3.5", "prereview": "预审通过",
         "invention_patents": "22个",
         "utility_patents": "１２"},
    ]}
    template = build_town_workbook(PLAN, TOWN, tmp_path / "template.xlsx")
    out = tmp_path / "noise.xlsx"
    harness.fill_and_save(template, _edits(entries), out)
    grid = _read_sheets(out)[PROJECTS.name]
    live = _live_texts(grid, PROJECTS)[2]
    assert live == {"K2 签约日期格式不对", "N2 发明专利实审数（件）格式不对",
                    "O2 实用新型专利授权数（件）格式不对"}
    sheets = {s.name: _input_grid(_read_sheets(out)[s.name], s) for s in ENTRY_SHEETS}
    assert not validate_values(sheets, PLAN).report.findings
    # …and 任务分解 counts the project but not the noisy patent counts
    tasks = _read_sheets(out)[TASKS]
    assert (tasks[1][2], tasks[2][2], tasks[3][2]) == (1, 0, 0)


def test_live_check_values_format() -> None:
    sheets = {PROJECTS.name: SheetValues(PROJECTS.name, [list(PROJECTS.headers),
                                                         [None, "x", "科技类"]])}
    validation = validate_values(sheets, PLAN, only=["project"])
    text = fx.live_check_values(PLAN, PROJECTS, validation.report)[2]
    assert text.startswith("C2 项目类别不在可选项中；")
    assert "B2" not in text and cell_ref(2, 1) == "B2"


@pytest.mark.libreoffice
def test_findings_text_lights_its_row_yellow(tmp_path: Path) -> None:
    """What `xlz validate` writes into 校验提示 lights the row through the template's own
    conditional format (no style is written)."""
    import openpyxl

    from tests.lo import harness

    path = build_town_workbook(PLAN, TOWN, tmp_path / "t.xlsx", GOOD_AND_BAD)
    wb = openpyxl.load_workbook(path)
    findings = fx.letters(PROJECTS)["findings"]
    wb[PROJECTS.name][f"{findings}3"] = "项目信息!C3「项目类别」……"
    wb.save(tmp_path / "validated.xlsx")
    hits = harness.conditional_format_hits(tmp_path / "validated.xlsx", f"{PROJECTS.name}!A2:S4")
    yellow = {cell for cell, entries in hits.items()
              if any("FIND" not in e["formula1"] for e in entries)}
    # The harness sees one conditional format per cell (LibreOffice's cell property lists
    # the first of overlapping formats), so it can check the yellow rule only on columns
    # without a red one; a rendered PDF shows the whole row yellow with red on top.
    letters = fx.letters(PROJECTS)
    red_columns = set(fx.flagged_columns(PLAN, PROJECTS))
    plain = {f"{letters[c.key]}3" for c in PROJECTS.input_columns if c.key not in red_columns}
    assert plain and yellow == plain
    assert not any(cell.endswith(("2", "4")) for cell in yellow)


# ---------------------------------------------------------------- sorting the rows


@pytest.mark.parametrize("sheet", ENTRY_SHEETS, ids=lambda s: s.key)
def test_a_moved_live_check_is_the_one_written_for_its_new_row(sheet: EntrySheet) -> None:
    """Sorting moves each row's 实时检查 formula like a copy (relative rows shift). The
    check is independent of row order only if every row's formula, moved to any other
    row, is exactly the formula written there; then the column is also one shared run."""
    from xlz.ooxml.sharedformula import row_shifter

    rules = fx.live_rules(PLAN, sheet)
    rows = (FIRST_DATA_ROW, FIRST_DATA_ROW + 1, 7, fx.last_row(sheet))
    written = {r: fx.live_check_formula(PLAN, sheet, r, rules) for r in rows}
    for source in rows:
        move = row_shifter(written[source])
        assert move is not None
        for target in rows:
            assert move(target - source) == written[target], (source, target)


def _project(seq: int, name: str) -> dict[str, CellValue]:
    return {"seq": seq, "name": name, "category": "科创类", "field": "氢能", "origin": "上海",
            "status": "洽谈中"}


def _carrier(seq: int, name: str) -> dict[str, CellValue]:
    return {"seq": seq, "name": name, "method": "新建载体", "level": "省级",
            "type": "专业孵化器", "specialty": "合成生物", "area": 5000, "progress": "在建"}


# Sorted by 序号 descending the unique name lands in row 2 and the first 甲 in row 6.
BEFORE_SORT: dict[str, list[dict[str, CellValue]]] = {
    "project": [_project(1, "甲项目"), _project(2, "乙项目"), _project(3, "甲项目"),
                _project(4, "乙项目"), _project(5, "独有项目")],
    "carrier": [_carrier(1, "甲园"), _carrier(2, "乙园"), _carrier(3, "甲园"),
                _carrier(4, "乙园"), _carrier(5, "独有园")],
}


@pytest.mark.libreoffice
def test_live_checks_after_sorting_equal_python_validator(tmp_path: Path) -> None:
    """A clerk types rows (a duplicate pair twice over and a unique name), lifts the
    sheet protection (no password; Excel sorts a range with locked cells only then) and
    sorts 项目信息 and 孵化载体 by 序号, largest first, over the whole filter range A:U
    — through LibreOffice's own sort (UNO ``XSortable.sort``), which moves the 实时检查
    formulas with their rows. After recalculation every row's 实时检查 says what the
    Python validator says about the sorted rows. (Before: row 2 called the unique name a
    duplicate — its moved formula counted the header and itself — and row 6 lost its
    duplicate check: it had received row 2's formula, which had none.)"""
    from tests.lo import harness

    template = build_town_workbook(PLAN, TOWN, tmp_path / "template.xlsx")
    out = tmp_path / "sorted.xlsx"
    steps: list[dict[str, Any]] = [{"op": "open", "path": str(template)},
                                   {"op": "set", "cells": _edits(BEFORE_SORT)}]
    for sheet in (PROJECTS, CARRIERS):
        cols = fx.letters(sheet)
        steps.append({"op": "sort", "range": f"{sheet.name}!A1:{cols['live_check']}"
                      f"{fx.last_row(sheet)}", "by": cols["seq"], "ascending": False,
                      "unprotect": True})
    steps += [{"op": "recalc"}, {"op": "save", "path": str(out)}]
    harness.run_job(steps, check=True)
    grids = _read_sheets(out)
    sheets = {s.name: _input_grid(grids[s.name], s) for s in ENTRY_SHEETS}
    expected = _python_expected(PLAN, sheets)
    for sheet, name in ((PROJECTS, "项目名称"), (CARRIERS, "科创载体名称")):
        assert [row[0] for row in grids[sheet.name][1:6]] == [5, 4, 3, 2, 1], "sorted"
        got = _live_texts(grids[sheet.name], sheet)
        assert got == expected[sheet.name], sheet.name
        # the later 乙 (row 5) and the later 甲 (row 6) are the duplicates, nothing else
        assert got == {5: {f"B5 {name}重复"}, 6: {f"B6 {name}重复"}}, sheet.name

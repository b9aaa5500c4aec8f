"""Refuse, don't guess (issue 11, "fill writes by fixed address").

A clerk inserts a row or a column, renames a sheet or a header, in a real spreadsheet
application (LibreOffice through the harness: unprotect — the sheets have no password —
insert, type, save as .xlsx). ``xlz fill`` must then find every cell it writes by its
labels and build every formula from the columns it found, with cached values equal to
what a recalculation gives; or refuse with the structure finding ``validate`` gives,
exit 2, the file's bytes unchanged. ``xlz validate`` finds its own places by label too.

Two LibreOffice sessions for the whole module: one builds every variant, one reads the
accepted ones back (cached values, then recalculated).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from tests.xlz_books import build, diff, fill_reserved, validation_reserved
from xlz.cli import main
from xlz.core.cells import parse_ref
from xlz.core.layout import TASK_HEADERS, TASKS
from xlz.core.summary import METRIC_LABELS

pytestmark = pytest.mark.libreoffice

ENTRIES: dict[str, list[dict[str, Any]]] = {
    "project": [
        {"name": "光学镜头", "category": "科创类", "field": "精密光学制造", "origin": "上海",
         "status": "已签约", "signed": "2023-03-05", "prereview": "预审通过",
         "invention_patents": 3, "utility_patents": 4},
        {"name": "氢能人才", "category": "人才类", "field": "氢能", "origin": "北京",
         "leader": "张三", "company": "如皋氢能科技有限公司", "status": "已注册",
         "signed": "2023-04-01", "prereview": "预审通过", "invention_patents": 1,
         "utility_patents": 2},
        {"name": "检测服务", "category": "服务类", "field": "大健康", "origin": "杭州",
         "status": "洽谈中", "invention_patents": 5},
        {"name": "新材料研究院", "category": "平台类", "field": "前沿新材料", "origin": "苏南",
         "host": "南京大学", "status": "已投产", "signed": "2023-01-20"},
    ],
    "carrier": [
        {"name": "如皋合成生物孵化器", "method": "新建载体", "level": "省级",
         "type": "专业孵化器", "specialty": "合成生物", "area": 5000},
    ],
}

UNPROTECT = [{"op": "unprotect", "sheet": s} for s in (TASKS, "项目信息", "填报说明", "校验结果")]


def _set(*cells: tuple[str, Any]) -> dict[str, Any]:
    return {"op": "set", "cells": [{"cell": c, "value": v} for c, v in cells]}


# name → the clerk's steps in LibreOffice
VARIANTS: dict[str, list[dict[str, Any]]] = {
    # fill accepts: every cell found by its label
    "tasks_column": [{"op": "insert", "sheet": TASKS, "columns": ["B", 1]},
                     _set((f"{TASKS}!B1", "负责人"), (f"{TASKS}!B2", "张三"))],
    "tasks_row": [{"op": "insert", "sheet": TASKS, "rows": [4, 1]},
                  _set((f"{TASKS}!A4", "说明：专利另计"), (f"{TASKS}!C4", 99))],
    "tasks_below": [{"op": "insert", "sheet": TASKS, "rows": [7, 2]},
                    _set((f"{TASKS}!A7", "备注"), (f"{TASKS}!B7", "镇长审核"))],
    "projects_column": [{"op": "insert", "sheet": "项目信息", "columns": ["C", 1]},
                        _set(("项目信息!C1", "备用"), ("项目信息!C2", "甲"))],
    # fill refuses: what it needs is not where, or not what, it expects
    "projects_deleted_column": [{"op": "delete", "sheet": "项目信息", "columns": ["C", 1]}],
    "projects_renamed": [{"op": "rename_sheet", "sheet": "项目信息", "name": "项目信息表"}],
    "header_renamed": [_set(("项目信息!J1", "进展"))],
    "tasks_renamed": [{"op": "rename_sheet", "sheet": TASKS, "name": "任务"}],
    "tasks_label_renamed": [_set((f"{TASKS}!A3", "发明专利"))],
    "tasks_header_renamed": [_set((f"{TASKS}!C1", "已完成"))],
    "tasks_label_twice": [_set((f"{TASKS}!A7", METRIC_LABELS["platform"]))],
    # validate: status block and 校验结果 moved by the clerk
    "validate_moved": [{"op": "insert", "sheet": "填报说明", "columns": ["A", 1]},
                       _set(("填报说明!A6", "镇区自填")),
                       {"op": "insert", "sheet": "校验结果", "rows": [1, 1]},
                       _set(("校验结果!A1", "丁堰镇校验记录"))],
}
ACCEPTED = ("tasks_column", "tasks_row", "tasks_below", "projects_column")
REFUSED = {
    "projects_deleted_column": ("workbook.column.missing", "项目信息"),
    "projects_renamed": ("workbook.sheet.missing", "项目信息"),
    "header_renamed": ("workbook.column.missing", "项目信息"),
    "tasks_renamed": ("workbook.sheet.missing", TASKS),
    "tasks_label_renamed": ("workbook.row.missing", TASKS),
    "tasks_header_renamed": ("workbook.column.missing", TASKS),
    "tasks_label_twice": ("workbook.label.duplicate", TASKS),
}
# The 任务分解 cells fill may change in each accepted variant (beside the 载体汇总 rows).
TASK_CELLS: dict[str, Callable[[int, int], bool]] = {
    "tasks_column": lambda row, col: 2 <= row <= 6 and 2 <= col <= 5,
    "tasks_row": lambda row, col: row in (2, 3, 5, 6, 7) and 1 <= col <= 4,
    "tasks_below": lambda row, col: 2 <= row <= 6 and 1 <= col <= 4,
    "projects_column": lambda row, col: 2 <= row <= 6 and 1 <= col <= 4,
}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every variant as LibreOffice saved it (one session)."""
    from tests.lo import harness

    folder = tmp_path_factory.mktemp("refuse")
    base = build(folder / "base.xlsx", ENTRIES)
    steps: list[dict[str, Any]] = []
    out = {"base": base}
    for name, ops in VARIANTS.items():
        out[name] = folder / f"{name}.xlsx"
        steps += [{"op": "open", "path": str(base)}, *UNPROTECT, *ops,
                  {"op": "save", "path": str(out[name])}]
    harness.run_job(steps, check=True)
    return out


def run(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(main, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def task_table(path: Path) -> dict[tuple[str, str], Any]:
    """(metric label, header) → value of 任务分解 as a reader without recalculation sees
    it, located by the labels (so it can be compared across layouts)."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(TASKS).to_python()
    header = rows[0]
    cols = {h: header.index(h) for h in TASK_HEADERS}
    out = {}
    for row in rows[1:]:
        label = row[cols["指标"]]
        if label in METRIC_LABELS.values():
            for h in TASK_HEADERS[1:]:
                out[(label, h)] = row[cols[h]]
    return out


@pytest.fixture(scope="module")
def filled(made: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
           ) -> dict[str, tuple[Path, Path, int, Any]]:
    """name → (copy before fill, file after fill, exit code, JSON)."""
    folder = tmp_path_factory.mktemp("filled")
    out = {}
    for name in ("base", *ACCEPTED, *REFUSED):
        before, after = folder / f"{name}.before.xlsx", folder / f"{name}.xlsx"
        shutil.copy(made[name], before)
        shutil.copy(made[name], after)
        code, data = run("fill", str(after))
        out[name] = (before, after, code, data)
    return out


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_fill_refuses_with_validates_finding(name: str, filled: dict[str, Any]) -> None:
    before, after, code, data = filled[name]
    want, sheet = REFUSED[name]
    assert code == 2, data
    assert data["files"] == [] and [u["code"] for u in data["unreadable"]] == [want]
    message = data["unreadable"][0]["message"]
    assert f"“{sheet}”" in message and "原文件未改动" in message
    assert after.read_bytes() == before.read_bytes()  # nothing written
    if sheet == "项目信息":  # the very finding validate gives
        code, report = run("validate", "--check", str(after))
        assert code == 1
        assert want in {f["code"] for f in report["files"][0]["findings"]}
        assert after.read_bytes() == before.read_bytes()


def test_row_label_missing_names_sheet_column_and_label(filled: dict[str, Any]) -> None:
    message = filled["tasks_label_renamed"][3]["unreadable"][0]["message"]
    assert "“任务分解”工作表的“指标”列（A列）中没有“其中：发明专利实审数（件）”这一行" in message
    message = filled["tasks_label_twice"][3]["unreadable"][0]["message"]
    assert "A5、A7" in message


@pytest.mark.parametrize("name", ACCEPTED)
def test_fill_finds_its_cells_by_label(name: str, filled: dict[str, Any]) -> None:
    before, after, code, data = filled[name]
    assert code == 0, data
    # every figure under its own header, on its own row: as in the untouched workbook
    assert task_table(after) == task_table(filled["base"][1])

    def reserved(sheet: str, ref: str) -> bool:
        row, col = parse_ref(ref)
        if sheet == TASKS:
            return TASK_CELLS[name](row, col)
        return sheet != TASKS and fill_reserved(sheet, ref)

    assert diff(before, after, reserved) == []  # the clerk's own cells are untouched


def test_the_figures_are_not_zero(filled: dict[str, Any]) -> None:
    table = task_table(filled["base"][1])
    assert [table[(METRIC_LABELS[m], "完成")] for m in METRIC_LABELS] == [2, 4, 6, 1, 0]
    assert table[(METRIC_LABELS["projects"], "洽谈中（在谈）")] == 1


def test_cached_values_equal_libreoffice_recalculation(filled: dict[str, Any]) -> None:
    from tests.lo import harness

    ref = f"{TASKS}!A1:G10"
    steps: list[dict[str, Any]] = []
    for name in ACCEPTED:
        steps += [{"op": "open", "path": str(filled[name][1])}, {"op": "read", "ranges": [ref]},
                  {"op": "recalc"}, {"op": "read", "ranges": [ref]},
                  {"op": "formula_errors"}]
    res = harness.run_job(steps, check=True)["steps"]
    for i, name in enumerate(ACCEPTED):
        cached = res[5 * i + 1]["ranges"][ref]["cells"]
        recalculated = res[5 * i + 3]["ranges"][ref]["cells"]
        assert res[5 * i + 4]["errors"] == [], name
        formulas = 0
        for cell, got in recalculated.items():
            was = cached[cell]
            assert "error" not in got, (name, cell, got)
            if got["type"] == "FORMULA":
                formulas += 1
            assert was["value"] == got["value"] or was["value"] == pytest.approx(got["value"]), \
                (name, cell, was["value"], got["value"])
        assert formulas == 15, name


def test_validate_writes_where_the_labels_are(made: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "town.xlsx"
    shutil.copy(made["validate_moved"], path)
    before = tmp_path / "before.xlsx"
    shutil.copy(path, before)
    code, data = run("validate", str(path))
    assert code == 1 and data["files"][0]["mode"] == "inplace"
    wb = CalamineWorkbook.from_path(str(path))
    guide = wb.get_sheet_by_name("填报说明").to_python()
    assert guide[5][:3] == ["镇区自填", "校验状态", "有错误"]  # C6, beside its label
    assert isinstance(guide[7][2], float) and guide[7][2] > 0  # 错误数 in C8
    results = wb.get_sheet_by_name("校验结果").to_python()
    assert results[0][0] == "丁堰镇校验记录" and results[1][0] == "序号"
    assert results[2][0] == 1 and results[2][6]  # first finding below the moved header

    def reserved(sheet: str, ref: str) -> bool:
        row, col = parse_ref(ref)
        if sheet == "填报说明":
            return col == 2 and 6 <= row <= 9
        if sheet == "校验结果":
            return row >= 3 and col < 7
        return sheet in ("项目信息", "孵化载体", "招商活动") and validation_reserved(sheet, ref)

    assert diff(before, path, reserved) == []

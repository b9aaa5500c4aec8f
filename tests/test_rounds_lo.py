"""Two rounds from workbooks typed in a real spreadsheet application (issue 12): the
town templates are filled through LibreOffice as a clerk fills them (填报信息 on
填报说明, rows on 项目信息), saved as .xlsx, consolidated in June and in September
into one ledger — and the ledger, the city workbook's 进度对比/项目变化 and 报送情况
tell what changed and who is missing."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

import xlz
from tests.lo.harness import run_job
from tests.xlz_books import sheet
from xlz.books.common import town_file_name
from xlz.core.cells import column_letter
from xlz.core.entries import PROJECTS
from xlz.core.layout import CONTACT_ROWS

pytestmark = pytest.mark.libreoffice

PLAN = xlz.load_plan()
TEMPLATES = Path(__file__).resolve().parents[1] / "workbook_templates"
COL = {c.key: column_letter(i) for i, c in enumerate(PROJECTS.columns)}


def _serial(day: dt.date) -> int:
    """What a spreadsheet stores for a date typed into a date-formatted cell."""
    return (day - dt.date(1899, 12, 30)).days


def _typed(as_of: dt.date, projects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = [
        {"cell": f"填报说明!B{CONTACT_ROWS['reporter']}", "value": "王芳"},
        {"cell": f"填报说明!B{CONTACT_ROWS['phone']}", "value": "0513-87654321"},
        {"cell": f"填报说明!B{CONTACT_ROWS['as_of']}", "value": _serial(as_of)},
    ]
    for row, project in enumerate(projects, start=2):
        cells.append({"cell": f"项目信息!{COL['seq']}{row}", "value": row - 1})
        for key, value in project.items():
            if isinstance(value, dt.date):
                value = _serial(value)
            cells.append({"cell": f"项目信息!{COL[key]}{row}", "value": value})
    return cells


def _project(name: str, status: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "category": "科创类", "field": PLAN.field_names[0],
            "origin": "上海", "status": status, **more}


@pytest.fixture(scope="module")
def inboxes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("rounds")
    june, september = root / "6月", root / "9月"
    june.mkdir()
    september.mkdir()
    dingyan, baipu = PLAN.town("dingyan"), PLAN.town("baipu")
    typed = {
        (june, dingyan.code): _typed(dt.date(2023, 6, 30), [
            _project("合成生物中试平台", "洽谈中")]),
        (june, baipu.code): _typed(dt.date(2023, 6, 30), [
            _project("白蒲精密光学项目", "洽谈中")]),
        # September: 丁堰镇 signed its project and found a new one; 白蒲镇 sent nothing.
        (september, dingyan.code): _typed(dt.date(2023, 9, 30), [
            _project("合成生物中试平台", "已签约", signed=dt.date(2023, 8, 18),
                     company="如皋合成生物科技有限公司"),
            _project("氢能装备项目", "洽谈中")]),
    }
    steps: list[dict[str, Any]] = []
    for (folder, code), cells in typed.items():
        name = town_file_name(PLAN, PLAN.town(code))
        blank = root / f"blank-{code}-{folder.name}.xlsx"
        shutil.copyfile(TEMPLATES / name, blank)
        steps += [{"op": "open", "path": str(blank)}, {"op": "set", "cells": cells},
                  {"op": "save", "path": str(folder / name)}]
    result = run_job(steps, check=True)
    refused = [s for s in result["steps"] if s.get("errors")]
    assert refused == [], refused  # every typed cell is an input cell
    return june, september


def test_two_rounds_typed_in_libreoffice(inboxes: tuple[Path, Path], tmp_path: Path) -> None:
    june, september = inboxes
    ledger = tmp_path / "科技招商台账.sqlite"
    first = xlz.consolidate([june], tmp_path / "6月.xlsx", ledger=ledger)
    second = xlz.consolidate([september], tmp_path / "9月.xlsx", ledger=ledger)

    assert {f.status for f in first.consolidation.files} == {"accepted"}, \
        [(f.name, [i.message for i in f.report.errors]) for f in first.consolidation.files]
    book = xlz.Ledger(ledger)
    # The periods come from 数据截至日期 as typed.
    assert book.periods() == [dt.date(2023, 6, 30), dt.date(2023, 9, 30)]
    states = {t.town.code: t.state for t in second.consolidation.towns}
    assert states["dingyan"] == "已报送" and states["baipu"] == "未报送"

    changes = [row[:5] for row in sheet(second.out, "项目变化")[1:]]
    assert ["丁堰镇", "合成生物中试平台", "项目进展变化", "洽谈中", "已签约"] in changes
    assert ["丁堰镇", "氢能装备项目", "上轮以来新增", "—", "洽谈中"] in changes
    compared = "\n".join(" ".join(str(v) for v in row)
                         for row in sheet(second.out, "进度对比"))
    assert "丁堰镇" in compared and "白蒲镇" in compared


def test_rerunning_a_period_keeps_one_round(inboxes: tuple[Path, Path],
                                            tmp_path: Path) -> None:
    june, _ = inboxes
    ledger = tmp_path / "科技招商台账.sqlite"
    xlz.consolidate([june], tmp_path / "6月.xlsx", ledger=ledger)
    xlz.consolidate([june], tmp_path / "6月.xlsx", ledger=ledger)
    assert xlz.Ledger(ledger).periods() == [dt.date(2023, 6, 30)]

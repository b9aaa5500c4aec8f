"""``xlz demo``: a sample inbox from the seed's own figures, consolidated."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from xlz.books.townbook import town_state
from xlz.cli import main
from xlz.core import layout as L
from xlz.core.plan import load_plan
from xlz.io.ledger.read import Ledger
from xlz.ops.demo import (
    ERROR_TOWN,
    LATE_TOWN,
    RESUBMIT_TOWN,
    older_version,
    sample_entries,
    with_errors,
)

PLAN = load_plan()


@pytest.mark.parametrize("code", [t.code for t in PLAN.towns])
def test_sample_entries_meet_attachment2_exactly(code: str) -> None:
    entries = sample_entries(PLAN, code)
    validation, done = town_state(PLAN, code, entries)
    assert validation.report.ok, [f.message for f in validation.report.errors]
    target = PLAN.target(code)
    for p in done:
        assert p.done == (target.get(p.metric) or 0), (code, p.metric)
    names = [c["name"] for c in entries["carrier"]]
    assert names == [c.name for c in PLAN.carriers_of(code)]


def test_sample_entries_are_deterministic() -> None:
    assert sample_entries(PLAN, "gaoxin") == sample_entries(PLAN, "gaoxin")
    assert sample_entries(PLAN, "gaoxin", seed=1) != sample_entries(PLAN, "gaoxin")


def test_mistakes_are_what_the_story_says() -> None:
    entries = sample_entries(PLAN, ERROR_TOWN)
    validation, _ = town_state(PLAN, ERROR_TOWN, with_errors(entries))
    codes = {f.code for f in validation.report.errors}
    assert codes == {"project.category.required", "project.company.required_if"}
    old = older_version(sample_entries(PLAN, RESUBMIT_TOWN))
    assert len(old["project"]) == len(sample_entries(PLAN, RESUBMIT_TOWN)["project"]) - 8


@pytest.mark.slow
def test_demo_command(tmp_path: Path) -> None:
    out = tmp_path / "演示"
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    city = Path(result.stdout.strip().splitlines()[-1])
    assert city.exists() and city.parent == out
    assert (out / "模板").is_dir() and any((out / "收件箱").iterdir())
    book = CalamineWorkbook.from_path(str(city))
    status = {r[0]: r for r in book.get_sheet_by_name(L.CITY_SUBMISSIONS).to_python()}
    assert status["九华镇"][1] == "未通过校验"
    assert status["石庄镇"][1] == "已报送"
    assert status["磨头镇"][2].endswith("新建 Microsoft Excel 工作表 (2).xlsx")
    assert "高新区科技招商填报表（6月）.xlsx" in status["高新区"][10]
    assert status["江安镇"][1] == "未报送"  # reported in June, not yet in September
    assert all(status[t.short][1] in ("已报送", "未通过校验") for t in PLAN.towns
               if t.code != LATE_TOWN)
    tasks = {r[0]: r for r in book.get_sheet_by_name(L.CITY_TASKS).to_python()}
    # 九华镇's and 江安镇's 24 each not counted
    assert tasks[L.CITY_TOTAL_LABEL][1:3] == [398, 398 - 24 - 24]
    # Two rounds in one ledger, the second compared with the first; the bulletin on it;
    # feedback for the one town with 错误.
    ledger = Ledger(out / "科技招商台账.sqlite")
    assert [p.isoformat() for p in ledger.periods()] == ["2023-06-30", "2023-09-30"]
    changes = book.get_sheet_by_name(L.CITY_PROJECT_CHANGES).to_python()
    assert any(r[2] == "项目进展变化" for r in changes)
    assert any(r[2] == "上轮以来新增" for r in changes)
    assert (out / "通报（截至2023-09-30）.docx").stat().st_size > 10_000
    assert sorted(p.name for p in (out / "反馈").iterdir()) == ["九华镇-反馈.txt",
                                                               "九华镇-校验标注.xlsx"]
    issues = book.get_sheet_by_name(L.CITY_ISSUES).to_python()
    assert any(r[8] == "file.email_no_attachment" for r in issues)

"""ConsolidationResult as tables: projects, carriers, activities, towns, files, issues."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import xlz
from xlz.books.townbook import build_town_workbook
from xlz.ops.demo import sample_entries, with_errors


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> xlz.ConsolidationResult:
    plan = xlz.load_plan()
    inbox = tmp_path_factory.mktemp("inbox")
    build_town_workbook(plan, "dingyan", inbox / "丁堰镇.xlsx", sample_entries(plan, "dingyan"))
    build_town_workbook(plan, "gaoxin", inbox / "高新区.xlsx",
                        with_errors(sample_entries(plan, "gaoxin")))
    return xlz.consolidate([inbox], tmp_path_factory.mktemp("city") / "汇总.xlsx", plan)


def test_tables_hold_every_row(result: xlz.ConsolidationResult) -> None:
    c = result.consolidation
    tables = result.tables()
    assert set(tables) == {"projects", "carriers", "activities", "towns", "files", "issues"}
    assert len(tables["projects"]) == len(c.projects) > 0
    assert len(tables["carriers"]) == len(c.carriers)
    assert len(tables["activities"]) == len(c.activities)
    assert len(tables["towns"]) == 13
    assert len(tables["files"]) == 2
    assert len(tables["issues"]) == len(c.issues) > 0
    project = tables["projects"][0]
    assert project["town"] == "dingyan" and project["file"].endswith("丁堰镇.xlsx")
    assert project["name"] and project["row"] >= 2
    dingyan = next(t for t in tables["towns"] if t["town"] == "dingyan")
    assert dingyan["state"] == "已报送"
    assert dingyan["projects_done"] >= dingyan["projects_target"]
    statuses = {f["town"]: f["status"] for f in tables["files"]}
    assert statuses == {"dingyan": "accepted", "gaoxin": "rejected"}


def test_to_pandas_gives_one_frame_per_table(result: xlz.ConsolidationResult) -> None:
    pd = pytest.importorskip("pandas")
    frames = result.to_pandas()
    tables = result.tables()
    assert set(frames) == set(tables)
    for name, frame in frames.items():
        assert isinstance(frame, pd.DataFrame)
        assert len(frame) == len(tables[name])
    assert {"town", "name", "category", "file", "sha256", "row"} <= set(frames["projects"])
    assert {"code", "severity", "message", "file", "town_name"} <= set(frames["issues"])


def test_to_pandas_without_pandas_says_how_to_install(
        result: xlz.ConsolidationResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas → ImportError
    with pytest.raises(ImportError, match=r"需要 pandas.*pip install \"xlz\[pandas\]\""):
        result.to_pandas()


def test_result_is_the_public_type(result: xlz.ConsolidationResult, tmp_path: Path) -> None:
    assert type(result) is xlz.ConsolidationResult
    assert all(type(f) is xlz.SubmittedFile for f in result.consolidation.files)

"""Issue 12, "The city workbook grows up": towns without figures are 未报送 (never 0 %),
the 排名, 进度对比 against the previous round, 问题清单 by severity with one line per
file that does not count, and a city workbook that prints (rendered by LibreOffice)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.xlz_books import sheet
from xlz.books.citysheet import column_breaks
from xlz.books.townbook import build_town_workbook
from xlz.cli import main
from xlz.core import layout as L
from xlz.core.plan import load_plan
from xlz.core.rounds import snapshot
from xlz.ops.consolidate import ConsolidationResult, consolidate
from xlz.ops.demo import older_version, sample_entries, with_errors

PLAN = load_plan()
Entries = Callable[[str], dict[str, Any]]


def inbox(folder: Path, files: dict[str, tuple[str, Any]]) -> Path:
    """Town workbooks ``name → (town code, entries)``, one second apart in that order."""
    folder.mkdir(parents=True)
    for i, (name, (code, entries)) in enumerate(files.items()):
        path = folder / name
        build_town_workbook(PLAN, code, path, entries)
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))
    return folder


def full(code: str) -> Any:
    return sample_entries(PLAN, code)


@pytest.fixture(scope="module")
def two_of_13(tmp_path_factory: pytest.TempPathFactory) -> ConsolidationResult:
    """高新区 sent twice (the first is superseded), 丁堰镇's file has errors; 11 towns
    sent nothing."""
    base = tmp_path_factory.mktemp("two")
    folder = inbox(base / "in", {
        "高新区6月.xlsx": ("gaoxin", older_version(full("gaoxin"))),
        "高新区9月.xlsx": ("gaoxin", full("gaoxin")),
        "丁堰镇.xlsx": ("dingyan", with_errors(full("dingyan"))),
    })
    return consolidate([folder], base / "市级.xlsx", ledger=False, period="2023-09-30")


def test_missing_towns_are_not_zero(two_of_13: ConsolidationResult) -> None:
    out = two_of_13.out
    status = {r[0]: r for r in sheet(out, L.CITY_SUBMISSIONS)[1:14]}
    assert sum(1 for r in status.values() if r[1] == "未报送") == 11
    assert status["东陈镇"][5:10] == ["", "", "", "", ""]  # no counts, not 0
    tasks = {r[0]: r for r in sheet(out, L.CITY_TASKS)[1:14]}
    dongchen = tasks["东陈镇"]
    assert dongchen[1:4] == [19, "未报送", "—"]
    assert 0 not in dongchen[2::3] and 0.0 not in dongchen[3::3]
    assert tasks["丁堰镇"][2:4] == ["未通过", "—"]
    assert tasks["高新区（如城街道、城南街道）"][1:4] == [70, 70, 1.0]
    # Who to call, at the foot of 报送情况: every town without figures, with a contact.
    rows = sheet(out, L.CITY_SUBMISSIONS)
    start = next(i for i, r in enumerate(rows) if str(r[0]).startswith("未报送或未通过校验"))
    listed = {r[0]: r for r in rows[start + 2:] if r[0]}
    assert len(listed) == 12
    assert listed["东陈镇"][1:3] == ["未报送", "—"]  # the plan names nobody
    assert listed["丁堰镇"][1] == "未通过校验"
    assert listed["丁堰镇"][2] not in ("", "—")  # the failed file says who filled it


def test_missing_towns_in_json_and_terminal(two_of_13: ConsolidationResult, tmp_path: Path
                                            ) -> None:
    assert two_of_13.exit_code == 1  # the round is not complete
    data = two_of_13.to_dict()
    assert data["period"] == "2023-09-30"
    states = [m["state"] for m in data["missing"]]
    assert states.count("未报送") == 11 and states.count("未通过校验") == 1
    assert all(m["contact"] for m in data["missing"])
    # The command line: the same list on stderr, JSON on stdout, exit 1.
    folder = two_of_13.out.parent / "in"
    result = CliRunner().invoke(main, ["consolidate", str(folder), "--out",
                                       str(tmp_path / "市级.xlsx"), "--no-ledger", "--json"])
    assert result.exit_code == 1, result.output
    assert "未报送：11 个镇区" in result.stderr
    assert "东陈镇　联系人：—" in result.stderr
    payload = json.loads(result.stdout)
    assert [m["name"] for m in payload["missing"] if m["state"] == "未报送"] == \
        [t.short for t in PLAN.towns if t.code not in ("gaoxin", "dingyan")]


def test_issue_list_by_severity_one_line_per_file(two_of_13: ConsolidationResult) -> None:
    out = two_of_13.out
    issues = sheet(out, L.CITY_ISSUES)[1:]
    severities = [r[3] for r in issues]
    assert severities == sorted(severities, key=lambda s: s != "错误")
    assert severities[0] == "错误"
    codes = [r[8] for r in issues]
    assert not {"file.row_superseded", "file.row_excluded"} & set(codes)
    assert codes.count("file.superseded") == 1 and codes.count("file.rows_excluded") == 1
    superseded = next(r for r in issues if r[8] == "file.superseded")
    assert "高新区6月.xlsx" in superseded[7] and "未计入汇总的行" in superseded[7]
    # Every row that does not count is on its own sheet, one line each.
    detail = sheet(out, L.CITY_EXCLUDED_ROWS)[1:]
    c = two_of_13.consolidation
    old = next(f for f in c.files if f.status == "superseded")
    assert sum(1 for r in detail if r[6] == "file.row_superseded") == \
        sum(len(old.records(k)) for k in ("project", "carrier", "activity"))
    assert len(detail) == sum(1 for i in c.issues
                              if i.finding.code in ("file.row_superseded", "file.row_excluded"))


def test_ranking_order_ties_and_missing_last(tmp_path: Path) -> None:
    folder = inbox(tmp_path / "in", {
        "高新区.xlsx": ("gaoxin", full("gaoxin")),
        "长江镇.xlsx": ("changjiang", older_version(full("changjiang"))),
        "东陈镇.xlsx": ("dongchen", full("dongchen")),
        "丁堰镇.xlsx": ("dingyan", with_errors(full("dingyan"))),
    })
    result = consolidate([folder], tmp_path / "市级.xlsx", ledger=False)
    rows = sheet(result.out, L.CITY_RANKING)[1:14]
    assert [r[1] for r in rows[:3]] == ["东陈镇", "高新区", "长江镇"] or \
        [r[1] for r in rows[:3]] == ["高新区", "东陈镇", "长江镇"]
    assert [r[0] for r in rows[:3]] == [1, 1, 3]  # both at 100 %: one rank, then 3rd
    assert rows[0][3] == rows[1][3] == 1.0 and rows[2][3] < 1.0
    assert rows[3][1:4] == ["丁堰镇", "未通过校验", "未通过"] and rows[3][0] == "—"
    assert all(r[0] == "—" and r[3] == "未报送" for r in rows[4:])
    ranking = result.to_dict()["ranking"]
    assert [x["rank"] for x in ranking[:4]] == [1, 1, 3, None]


def test_progress_against_the_previous_round(tmp_path: Path) -> None:
    """June: 高新区 with fewer projects (one still 洽谈中); September: all of them. The
    previous round is plain data (a snapshot), as the ledger hands it over."""
    june = consolidate([inbox(tmp_path / "6", {"g.xlsx": ("gaoxin",
                                                          older_version(full("gaoxin")))})],
                       tmp_path / "6月.xlsx", ledger=False, period="2023-06-30")
    before = snapshot(june.consolidation, dt.date(2023, 6, 30))
    sept = consolidate([inbox(tmp_path / "9", {"g.xlsx": ("gaoxin", full("gaoxin"))})],
                       tmp_path / "9月.xlsx", ledger=False, period="2023-09-30",
                       history=[before])
    rows = sheet(sept.out, L.CITY_COMPARISON)
    assert "上轮（06-30）" in rows[0][2] and "本轮（09-30）" in rows[0][3]
    gaoxin = next(r for r in rows if r[0] == "高新区")
    then = next(p.done for t in june.consolidation.towns if t.town.code == "gaoxin"
                for p in t.progress if p.metric == "projects")
    assert gaoxin[1] == "已报送→已报送"
    assert gaoxin[2:5] == [then, 70, 70 - then]
    dongchen = next(r for r in rows if r[0] == "东陈镇")
    assert dongchen[2:5] == ["未报送", "未报送", "—"]  # no figures, no change computed
    changes = sheet(sept.out, L.CITY_PROJECT_CHANGES)[1:]
    new = [r for r in changes if r[2] == "上轮以来新增"]
    assert len(new) == 8
    moved = [r for r in changes if r[2] == "项目进展变化"]
    first = full("gaoxin")["project"][0]
    assert [r[1:5] for r in moved] == [[first["name"], "项目进展变化", "洽谈中", first["status"]]]
    # The trend chart exists once there is an earlier round.
    assert not any("趋势图：台账中还没有" in str(c) for r in sheet(sept.out, L.CITY_CHARTS)
                   for c in r)


def test_column_breaks_keep_the_repeated_columns() -> None:
    assert column_breaks([10, 10, 10], 1) == []
    breaks = column_breaks([10, *([20] * 20)], 1)
    assert breaks and all(b > 1 for b in breaks)
    assert column_breaks([10, 200, 5], 1) == [2]  # a too-wide column gets its own page


# ------------------------------------------------------------------------- on paper


def _tools_missing() -> str | None:
    for tool in ("soffice", "pdfinfo", "pdftotext"):
        if shutil.which(tool) is None:
            return tool
    return None


@pytest.mark.libreoffice
def test_city_workbook_prints(two_of_13: ConsolidationResult, tmp_path: Path) -> None:
    """One LibreOffice run: every page A4 landscape, the title and period on every page of
    every sheet, no SHA-256 on paper, 附件3's columns all there."""
    missing_tool = _tools_missing()
    if missing_tool:
        pytest.skip(f"{missing_tool} not installed")
    src = tmp_path / "city.xlsx"
    shutil.copy(two_of_13.out, src)
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(src)],
                   check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "city.pdf"
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(pdf)], check=True,
                          capture_output=True, text=True).stdout
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)
    assert sizes
    for width, height in sizes:  # A4 landscape: 842 x 595 pt
        assert abs(float(width) - 841.9) < 2 and abs(float(height) - 595.3) < 2
    title = L.CITY_TITLE.format(year=PLAN.year, city=PLAN.city)
    seen: set[str] = set()
    sha = {f.input.sha256 for f in two_of_13.consolidation.files if f.input.sha256}
    for page in range(1, len(sizes) + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout",
                               str(pdf), "-"], check=True, capture_output=True,
                              text=True).stdout
        head = text.strip().splitlines()[0]
        assert title in head and "截至 2023-09-30" in head, (page, head)
        sheet_name = head.split(title, 1)[1].split("截至", 1)[0].strip()
        seen.add(sheet_name)
        assert "SHA-256" not in text and not any(h[:12] in text for h in sha), page
        plain = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                               check=True, capture_output=True, text=True).stdout
        # (On a page of charts pdftotext may put "第 N" elsewhere in its reading order.)
        assert re.search(rf"页，共\s*{len(sizes)}\s*页", plain), page
        if sheet_name == L.CITY_SCHEDULE:
            for header in ("序号", "活动名称", "时间（附件3）", "主办单位", "举办情况",
                           "报送镇区", "说明"):
                assert header in text, header
            assert PLAN.activities[-2].name[:10] in text
    assert seen == set(L.CITY_BOOK_SHEETS)


def _parts(path: Path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n != "docProps/core.xml"}


def test_rows_written_whole_are_the_cells_written_one_by_one(
        two_of_13: ConsolidationResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The city workbook's sheets are written a row at a time (CitySheet.lines,
    xlsxwriter_internals.RowWriter): byte for byte what xlsxwriter's per-cell calls write,
    with a previous round (进度对比, 项目变化, the trend chart) and without."""
    from xlz.books import xlsxwriter_internals
    from xlz.books.citybook import write_city_workbook

    june = consolidate([inbox(tmp_path / "6", {"g.xlsx": ("gaoxin",
                                                          older_version(full("gaoxin")))})],
                       tmp_path / "6月.xlsx", ledger=False, period="2023-06-30")
    before = snapshot(june.consolidation, dt.date(2023, 6, 30))
    sept = consolidate([inbox(tmp_path / "9", {"g.xlsx": ("gaoxin", full("gaoxin")),
                                               "d.xlsx": ("dingyan", with_errors(full("dingyan")))})],
                       tmp_path / "9月.xlsx", ledger=False, period="2023-09-30",
                       history=[before])
    taken = 0
    real = xlsxwriter_internals.RowWriter.write

    def counted(self: Any, row: int, cells: Any) -> bool:
        nonlocal taken
        done = real(self, row, cells)
        taken += done
        return done

    for name, run in (("two", two_of_13), ("sept", sept)):
        monkeypatch.setattr(xlsxwriter_internals.RowWriter, "write", counted)
        fast = write_city_workbook(run.consolidation, tmp_path / f"{name}-fast.xlsx",
                                   round_info=run.round_info)
        monkeypatch.setattr(xlsxwriter_internals.RowWriter, "write",
                            lambda self, row, cells: False)
        slow = write_city_workbook(run.consolidation, tmp_path / f"{name}-slow.xlsx",
                                   round_info=run.round_info)
        assert _parts(fast) == _parts(slow)
        for name_ in L.CITY_BOOK_SHEETS:
            assert sheet(fast, name_) == sheet(slow, name_)
    assert taken > 50  # the rows did go the fast way

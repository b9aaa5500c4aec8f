"""xlz's own report workbooks (issue 11, "bombs, crashes and quiet changes"): they say
what they are in their metadata, ``validate`` and ``consolidate`` skip them with a note
instead of reporting on their own report (``….校验报告.校验报告.xlsx`` on every run),
reports of ``.xls`` and ``.ods`` files of one name do not overwrite each other, and a
report gets the ordinary permissions of a new file."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import xlz
from tests.xlz_books import build
from xlz.cli import main
from xlz.io.read import read_workbook


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _plain_workbook(path: Path) -> Path:
    """A workbook that is not an xlz template: xlz reports on it beside it."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("项目信息").write_row(0, 0, ["序号", "项目名称"])
    wb.close()
    return path


@pytest.fixture
def report(tmp_path: Path) -> Path:
    source = _plain_workbook(tmp_path / "自制表.xlsx")
    code, output = run("validate", str(source))
    assert code == 1, output
    path = tmp_path / "自制表.xlsx.校验报告.xlsx"
    assert path.exists() and path.name in output
    return path


def test_a_report_says_what_it_is_in_its_metadata(report: Path) -> None:
    data = read_workbook(report)
    assert data.properties is not None and data.properties["xlz.template"] == "report"
    assert ["xlz.template", "report"] in data.sheets["_xlz"].rows
    assert "_xlz" in data.hidden


def test_validating_a_report_skips_it(report: Path) -> None:
    before = _digest(report)
    code, output = run("validate", str(report))
    assert code == 0, output
    assert "这是 xlz 生成的校验报告，已跳过" in output
    assert _digest(report) == before
    assert sorted(p.name for p in report.parent.iterdir()) == [
        "自制表.xlsx", "自制表.xlsx.校验报告.xlsx"]  # no report of the report
    result = xlz.validate(report)
    assert result.mode == "skipped" and not result.written and result.report_path is None
    assert [f.code for f in result.report] == ["file.own_report"]


def test_a_renamed_report_is_still_skipped(report: Path) -> None:
    # The metadata decides, not the name: a clerk's copy named like a submission.
    renamed = report.with_name("丁堰镇.xlsx")
    shutil.copyfile(report, renamed)
    before = _digest(renamed)
    code, output = run("validate", str(renamed))
    assert code == 0 and "已跳过" in output
    assert _digest(renamed) == before
    assert not renamed.with_name("丁堰镇.xlsx.校验报告.xlsx").exists()
    code, output = run("fill", str(renamed))
    assert code == 2 and "校验报告" in output and "Traceback" not in output
    assert _digest(renamed) == before


def test_consolidate_notes_a_report_instead_of_rejecting_it(tmp_path: Path,
                                                            report: Path) -> None:
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    build(inbox / "丁堰镇.xlsx", entries={})
    shutil.copyfile(report, inbox / report.name)
    result = xlz.consolidate([inbox], tmp_path / "市级汇总表.xlsx")
    status = {Path(f.name).name: f.status for f in result.consolidation.files}
    assert status[report.name] == "skipped"  # was "rejected": a submission that failed
    assert report.name not in {Path(f.name).name for f in result.consolidation.rejected}
    notes = [i.finding.code for i in result.consolidation.issues
             if Path(i.file).name == report.name]
    assert notes == ["file.own_report"]
    rows = read_workbook(result.out).sheets["报送情况"].rows
    assert any("已跳过（xlz 校验报告）" in row and str(row[2]).endswith(report.name)
               for row in rows)


def test_a_new_report_gets_ordinary_permissions(tmp_path: Path) -> None:
    source = _plain_workbook(tmp_path / "自制表.xlsx")
    old = os.umask(0o027)
    try:
        xlz.validate(source)
    finally:
        os.umask(old)
    report = tmp_path / "自制表.xlsx.校验报告.xlsx"
    assert report.stat().st_mode & 0o777 == 0o640  # 0666 & ~umask, not mkstemp's 0600


@pytest.mark.libreoffice
def test_xls_and_ods_of_one_name_keep_their_own_reports(tmp_path: Path) -> None:
    from tests.lo.harness import convert

    template = build(tmp_path / "town.xlsx")
    xls = convert(template, tmp_path / "丁堰镇.xls")
    ods = convert(template, tmp_path / "丁堰镇.ods")
    before = {p: _digest(p) for p in (xls, ods)}
    first, second = xlz.validate(xls), xlz.validate(ods)
    assert (first.mode, second.mode) == ("report", "report")
    assert Path(first.report_path or "").name == "丁堰镇.xls.校验报告.xlsx"
    assert Path(second.report_path or "").name == "丁堰镇.ods.校验报告.xlsx"
    assert read_workbook(first.report_path or "").sheets["说明"].rows[0][1] == "丁堰镇.xls"
    assert {p: _digest(p) for p in (xls, ods)} == before

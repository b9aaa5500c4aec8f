"""`xlz validate` / `xlz fill` from the command line: exit status, messages, and that
bad input and crashes never change the clerk's file."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import xlz
from tests.test_intake import bad_inputs
from tests.xlz_books import build
from xlz.cli import main


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("tpl") / "town.xlsx")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("clean") / "clean.xlsx", entries={})


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_exit_status_errors_and_clean(template: Path, clean: Path, tmp_path: Path) -> None:
    bad, good = tmp_path / "bad.xlsx", tmp_path / "good.xlsx"
    shutil.copy(template, bad)
    shutil.copy(clean, good)
    code, _, err = run("validate", str(bad))
    assert code == 1 and "bad.xlsx" in err and "错误" in err
    code, _, _ = run("validate", str(good))
    assert code == 0


def test_check_writes_nothing_and_json(template: Path, tmp_path: Path) -> None:
    path = tmp_path / "town.xlsx"
    shutil.copy(template, path)
    before = path.read_bytes()
    code, out, _ = run("validate", "--check", "--json", str(path))
    assert code == 1
    data = json.loads(out)
    assert data["files"][0]["mode"] == "check"
    assert any(f["address"] == "项目信息!C3" for f in data["files"][0]["findings"])
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("code", [
    "file.encrypted", "file.corrupt", "file.html_as_xls", "file.csv_as_xls", "file.wps_et",
    "file.empty", "file.not_workbook",
])
def test_bad_input_exit_2_untouched(template: Path, tmp_path: Path, code: str) -> None:
    path = bad_inputs(template, tmp_path)[code]
    before = path.read_bytes()
    listing = sorted(tmp_path.iterdir())
    exit_code, _, err = run("validate", str(path))
    assert exit_code == 2
    assert path.name in err
    assert path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == listing  # no report, no temp file left
    exit_code, _, _ = run("fill", str(path))
    assert exit_code == 2 and path.read_bytes() == before


def test_locked_and_read_only_exit_2_untouched(template: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked.xlsx"
    shutil.copy(template, locked)
    (tmp_path / "~$locked.xlsx").write_bytes(b"x")
    before = locked.read_bytes()
    code, _, err = run("validate", str(locked))
    assert code == 2 and "locked.xlsx" in err and "打开" in err
    assert locked.read_bytes() == before
    readonly = tmp_path / "readonly.xlsx"
    shutil.copy(template, readonly)
    os.chmod(readonly, stat.S_IRUSR)
    before = readonly.read_bytes()
    code, _, err = run("fill", str(readonly))
    assert code == 2 and "readonly.xlsx" in err and "只读" in err
    assert readonly.read_bytes() == before
    # --check reads only: an open or read-only file may be checked.
    assert run("validate", "--check", str(readonly))[0] == 1


def test_crash_mid_write_leaves_original(template: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import xlz.ooxml.zipcopy as zc

    path = tmp_path / "town.xlsx"
    shutil.copy(template, path)
    before = path.read_bytes()
    real = zc.rewrite

    def crash(data: bytes, replacements: dict[str, bytes], out: object, level: int = 1) -> None:
        real(data, {}, out)  # type: ignore[arg-type]  # half the work done…
        raise OSError("disk full")

    monkeypatch.setattr(zc, "rewrite", crash)
    from xlz.core.errors import OutputError

    with pytest.raises(OutputError):  # the OSError, as an XlzError with a Chinese message
        xlz.validate(path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_not_a_template_gets_report_beside(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "自制表.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("项目信息")
    ws.write_row(0, 0, ["序号", "项目名称", "项目类别"])
    ws.write_row(1, 0, [1, "项目甲", "错类"])
    wb.close()
    before = path.read_bytes()
    code, _, err = run("validate", str(path))
    assert code == 1
    assert path.read_bytes() == before
    report = tmp_path / "自制表.xlsx.校验报告.xlsx"
    assert report.exists() and "校验报告" in err
    from xlz.io.read import read_workbook

    rows = read_workbook(report).sheets["校验结果"].rows
    assert rows[0][0] == "序号" and any(r[6] == "file.not_template" for r in rows[1:])


def test_formula_text_stays_text_in_report(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "x.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    ws = wb.add_worksheet("项目信息")
    ws.write_row(0, 0, ["序号", "项目名称", "项目类别"])
    ws.write_string(1, 1, "项目甲")
    ws.write_string(1, 2, '=HYPERLINK("http://evil")')
    wb.close()
    xlz.validate(path)
    import zipfile

    with zipfile.ZipFile(tmp_path / "x.xlsx.校验报告.xlsx") as zf:
        sheets = [zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/")]
    assert not any(b"<f>" in s for s in sheets)


def test_xls_is_never_modified(template: Path, tmp_path: Path) -> None:
    from tests.lo.harness import lo_available

    if not lo_available():
        pytest.skip("needs LibreOffice to write an .xls")
    from tests.lo.harness import convert

    xls = convert(template, tmp_path / "town.xls", "MS Excel 97")
    before = xls.read_bytes()
    result = xlz.validate(xls)
    assert result.mode == "report" and xls.read_bytes() == before
    assert Path(result.report_path or "").exists()
    assert run("fill", str(xls))[0] == 2


def test_many_files_progress_and_json(template: Path, tmp_path: Path) -> None:
    paths = []
    for i in range(5):
        p = tmp_path / f"t{i}.xlsx"
        shutil.copy(template, p)
        paths.append(str(p))
    (tmp_path / "bad.xls").write_text("<html></html>")
    code, out, _ = run("validate", "--json", *paths, str(tmp_path / "bad.xls"))
    assert code == 2
    data = json.loads(out)
    assert len(data["files"]) == 5 and data["unreadable"][0]["code"] == "file.html_as_xls"


def test_fill_cli(template: Path, tmp_path: Path) -> None:
    path = tmp_path / "town.xlsx"
    shutil.copy(template, path)
    code, _, err = run("fill", str(path))
    assert code == 0 and "任务分解" in err

"""Files as real applications save them (issue 11, "bombs, crashes and quiet changes"):
an .xls renamed .xlsx is read as the .xls it is and named so, not called corrupt; and a
workbook LibreOffice saved keeps its size when xlz writes into it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import xlz
from tests.xlz_books import build
from xlz.cli import main
from xlz.io.read import read_workbook

pytestmark = pytest.mark.libreoffice

REAL_FORMAT = "实际是 .xls 格式（Excel 97-2003），扩展名却是 .xlsx；请改回 .xls 或另存为 .xlsx"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def renamed_xls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.lo.harness import convert

    folder = tmp_path_factory.mktemp("xls")
    xls = convert(build(folder / "town.xlsx"), folder / "town.xls")
    return xls


def test_an_xls_renamed_xlsx_is_read_as_what_it_is(renamed_xls: Path, tmp_path: Path) -> None:
    path = tmp_path / "丁堰镇.xlsx"
    shutil.copyfile(renamed_xls, path)
    before = _digest(path)
    code, out, err = run("validate", "--check", "--json", str(path))
    assert code == 1, err  # was 2, file.corrupt ("invalid Zip archive")
    found = {f["code"]: f["message"] for f in json.loads(out)["files"][0]["findings"]}
    assert REAL_FORMAT in found["file.suffix_mismatch"]
    assert any(code.startswith("project.") for code in found)  # its rows were read
    assert _digest(path) == before


def test_an_xls_renamed_xlsx_gets_a_report_beside_it(renamed_xls: Path, tmp_path: Path) -> None:
    path = tmp_path / "丁堰镇.xlsx"
    shutil.copyfile(renamed_xls, path)
    before = _digest(path)
    code, _, err = run("validate", str(path))
    assert code == 1 and "file.corrupt" not in err and REAL_FORMAT in err
    assert _digest(path) == before
    report = tmp_path / "丁堰镇.xlsx.校验报告.xlsx"
    codes = [row[6] for row in read_workbook(report).sheets["校验结果"].rows[1:]]
    assert "file.suffix_mismatch" in codes and "file.format_not_writable" in codes
    code, _, err = run("fill", str(path))
    assert code == 2 and REAL_FORMAT in err and "Traceback" not in err
    with pytest.raises(xlz.InputError) as raised:
        xlz.fill(path)
    assert raised.value.code == "file.suffix_mismatch"
    assert _digest(path) == before


def test_a_libreoffice_saved_workbook_keeps_its_size(tmp_path: Path) -> None:
    from tests.lo.harness import convert

    saved = convert(build(tmp_path / "town.xlsx"), tmp_path / "丁堰镇.xlsx")
    size = saved.stat().st_size
    assert xlz.validate(saved).written
    assert xlz.fill(saved).written
    # Was +60 %: the rewritten sheets were deflated at level 1, LibreOffice's at 6.
    assert abs(saved.stat().st_size - size) <= 0.05 * size

"""``consolidate --out`` never destroys what it should not (issue 11): a submission named
as the output, a mistyped source replacing a good city workbook with an empty one, a
file that is not a city workbook, the output open in Excel/WPS, a replace that fails as
it does on Windows. Each is refused with exit 2 and a Chinese message, the files'
bytes unchanged and no temporary file left behind."""

from __future__ import annotations

import email.message
import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import xlz
from tests.xlz_books import build
from xlz.cli import main
from xlz.core.errors import OutputError


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((".~xlz-", ".xlz-")))


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture()
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "收件箱"
    folder.mkdir()
    build(folder / "丁堰镇.xlsx", town="dingyan")
    build(folder / "白蒲镇.xlsx", town="baipu")
    return folder


@pytest.fixture()
def city(tmp_path: Path, inbox: Path) -> Path:
    out = tmp_path / "市级汇总表.xlsx"
    xlz.consolidate([inbox], out)
    return out


def _refused(code: str, out: Path, *sources: Path, cli_args: tuple[str, ...] = ()) -> None:
    """The API raises ``code``; the CLI exits 2 with the catalogue's message; every file
    involved keeps its bytes and no temporary file is left."""
    watched = [p for p in (out, *sources) if p.is_file()]
    before = {p: _digest(p) for p in watched}
    with pytest.raises(OutputError) as raised:
        xlz.consolidate(list(sources), out)
    assert raised.value.code == code
    code_, output = _run("consolidate", *map(str, sources), "--out", str(out), *cli_args)
    assert code_ == 2, output
    assert raised.value.message in output
    assert "Traceback" not in output
    assert {p: _digest(p) for p in watched} == before
    assert _leftovers(out.parent) == []


def test_out_naming_an_explicit_source_is_refused(inbox: Path) -> None:
    town = inbox / "丁堰镇.xlsx"
    _refused("output.is_input", town, town, inbox / "白蒲镇.xlsx")


def test_out_naming_the_email_is_refused(tmp_path: Path, inbox: Path) -> None:
    msg = email.message.EmailMessage()
    msg["Subject"] = "丁堰镇报送"
    msg.set_content("见附件")
    msg.add_attachment((inbox / "丁堰镇.xlsx").read_bytes(), maintype="application",
                       subtype="octet-stream", filename="丁堰镇.xlsx")
    eml = tmp_path / "报送.eml"
    eml.write_bytes(msg.as_bytes())
    _refused("output.is_input", eml, eml)


def test_out_inside_a_submitted_archive_is_refused(tmp_path: Path, inbox: Path) -> None:
    archive = tmp_path / "报送.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(inbox / "丁堰镇.xlsx", "丁堰镇.xlsx")
    out = archive / "市级汇总表.xlsx"
    before = _digest(archive)
    with pytest.raises(OutputError) as raised:
        xlz.consolidate([archive], out)
    assert raised.value.code == "output.is_input"
    code, output = _run("consolidate", str(archive), "--out", str(out))
    assert code == 2 and "Traceback" not in output
    assert _digest(archive) == before


@pytest.mark.parametrize("source", ["mistyped", "empty"])
def test_a_run_that_read_nothing_keeps_the_city_workbook(tmp_path: Path, city: Path,
                                                         source: str) -> None:
    path = tmp_path / ("收件相" if source == "mistyped" else "空文件夹")
    if source == "empty":
        path.mkdir()
    _refused("output.nothing_read", city, path)


def test_an_existing_file_that_is_not_a_city_workbook_needs_force(tmp_path: Path,
                                                                   inbox: Path) -> None:
    other = tmp_path / "别人的表.xlsx"
    build(other, town="jiuhua")  # a town workbook that is not among the sources
    _refused("output.not_city", other, inbox)
    code, output = _run("consolidate", str(inbox), "--out", str(other), "--force")
    assert code in (0, 1), output
    assert xlz.consolidate([inbox], other).out == other  # now it is a city workbook


def test_an_existing_city_workbook_is_replaced(city: Path, inbox: Path) -> None:
    shutil.copy(inbox / "丁堰镇.xlsx", inbox / "丁堰镇-重报.xlsx")
    code, output = _run("consolidate", str(inbox), "--out", str(city))
    assert code in (0, 1), output
    assert _leftovers(city.parent) == []


@pytest.mark.parametrize("lock", ["~$市级汇总表.xlsx", "~$汇总表.xlsx", ".~lock.市级汇总表.xlsx#"])
def test_output_open_in_an_office_application_is_refused(city: Path, inbox: Path,
                                                         lock: str) -> None:
    (city.parent / lock).write_bytes(b"owner")
    _refused("output.in_use", city, inbox)


def test_a_replace_refused_as_on_windows_leaves_no_temporary(
        city: Path, inbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows refuses to rename over a file another program holds open (there is no
    such lock on Linux, so the refusal is injected at ``os.replace``)."""
    before = _digest(city)

    real_replace = os.replace

    def refuse(src: str, dst: str) -> None:
        if Path(dst) == city:  # only the final rename over the open workbook
            raise PermissionError(13, "另一个程序正在使用此文件，进程无法访问。")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OutputError) as raised:
        xlz.consolidate([inbox], city)
    assert raised.value.code == "output.in_use"
    assert _digest(city) == before
    assert _leftovers(city.parent) == []


def test_a_new_city_workbook_gets_ordinary_permissions(tmp_path: Path, inbox: Path) -> None:
    out = tmp_path / "新汇总.xlsx"
    xlz.consolidate([inbox], out)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask

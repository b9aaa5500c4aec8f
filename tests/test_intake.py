"""Intake: every bad input is refused with its rule code and a Chinese message naming
the file; format detection goes by content."""

from __future__ import annotations

import io
import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.xlz_books import build
from xlz.io.intake import InputError, classify, is_read_only, sniff

ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("tpl") / "town.xlsx")


def encrypted(template: Path, out: Path) -> Path:
    msoffcrypto = pytest.importorskip("msoffcrypto")
    from msoffcrypto.format.ooxml import OOXMLFile

    with template.open("rb") as fh:
        file = OOXMLFile(fh)
        buf = io.BytesIO()
        file.encrypt("secret", buf)
    assert msoffcrypto
    out.write_bytes(buf.getvalue())
    return out


def bad_inputs(template: Path, folder: Path) -> dict[str, Path]:
    """Each bad input and the rule code it must be refused with."""
    files: dict[str, Path] = {}
    files["file.encrypted"] = encrypted(template, folder / "加密.xlsx")
    data = template.read_bytes()
    (folder / "截断.xlsx").write_bytes(data[: len(data) // 2])
    files["file.corrupt"] = folder / "截断.xlsx"
    (folder / "网页.xls").write_text("<html><body><table><tr><td>1</td></tr></table></body>"
                                     "</html>", encoding="utf-8")
    files["file.html_as_xls"] = folder / "网页.xls"
    (folder / "文本.xls").write_text("序号,项目名称\n1,项目甲\n", encoding="gb18030")
    files["file.csv_as_xls"] = folder / "文本.xls"
    shutil.copy(template, folder / "丁堰.et")
    files["file.wps_et"] = folder / "丁堰.et"
    (folder / "空.xlsx").write_bytes(b"")
    files["file.empty"] = folder / "空.xlsx"
    (folder / "图片.xlsx").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    files["file.not_workbook"] = folder / "图片.xlsx"
    return files


def test_sniff_by_content(template: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "town.xls"
    shutil.copy(template, renamed)
    assert sniff(template) == "xlsx"
    assert sniff(renamed) == "xlsx"  # content, not extension
    files = bad_inputs(template, tmp_path)
    assert sniff(files["file.encrypted"]) == "encrypted"
    assert sniff(files["file.corrupt"]) == "corrupt"
    assert sniff(files["file.html_as_xls"]) == "html"
    assert sniff(files["file.csv_as_xls"]) == "csv"
    assert sniff(files["file.empty"]) == "empty"


def test_hand_built_ole_with_encryption_streams(tmp_path: Path) -> None:
    # An OLE header followed by directory entries named EncryptionInfo/EncryptedPackage.
    path = tmp_path / "手工.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + ENCRYPTION_INFO
                     + b"\x00" * 50 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 50)
    with pytest.raises(InputError) as err:
        classify(path)
    assert err.value.code == "file.encrypted"


@pytest.mark.parametrize("code", [
    "file.encrypted", "file.corrupt", "file.html_as_xls", "file.csv_as_xls", "file.wps_et",
    "file.empty", "file.not_workbook",
])
def test_bad_input_refused(template: Path, tmp_path: Path, code: str) -> None:
    path = bad_inputs(template, tmp_path)[code]
    with pytest.raises(InputError) as err:
        classify(path)
    assert err.value.code == code
    assert path.name in err.value.message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.message)


def test_lock_file_refuses_writes_only(template: Path, tmp_path: Path) -> None:
    path = tmp_path / "town.xlsx"
    shutil.copy(template, path)
    (tmp_path / "~$town.xlsx").write_bytes(b"owner")
    assert classify(path) == "xlsx"
    with pytest.raises(InputError) as err:
        classify(path, write=True)
    assert err.value.code == "file.locked" and "~$town.xlsx" in err.value.message


def test_libreoffice_lock_file(template: Path, tmp_path: Path) -> None:
    path = tmp_path / "town.xlsx"
    shutil.copy(template, path)
    (tmp_path / ".~lock.town.xlsx#").write_text("x")
    with pytest.raises(InputError) as err:
        classify(path, write=True)
    assert err.value.code == "file.locked"


def test_read_only_by_mode_bits_even_for_root(template: Path, tmp_path: Path) -> None:
    path = tmp_path / "town.xlsx"
    shutil.copy(template, path)
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP)
    # Tests run as root: os.access says writable, the explicit mode check does not.
    assert is_read_only(path)
    assert classify(path) == "xlsx"
    with pytest.raises(InputError) as err:
        classify(path, write=True)
    assert err.value.code == "file.readonly"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        classify(tmp_path / "没有.xlsx")
    assert err.value.code == "file.not_found" and "没有.xlsx" in err.value.message


def test_zip_bomb_refused(tmp_path: Path) -> None:
    import zipfile

    from xlz.io.read import read_workbook

    path = tmp_path / "炸弹.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<Types><Override ContentType="application/vnd.'
                    'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (300 * 1024 * 1024))
    with pytest.raises(InputError) as err:
        read_workbook(path)
    assert err.value.code == "file.too_large"


def test_custom_properties_parsed_safely() -> None:
    from xlz.io.read import parse_custom_properties

    xml = (b'<?xml version="1.0"?><Properties xmlns="http://schemas.openxmlformats.org/'
           b'officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.'
           b'org/officeDocument/2006/docPropsVTypes"><property name="xlz.town" pid="2" '
           b'fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"><vt:lpwstr>dingyan</vt:lpwstr>'
           b'</property><property name="other" pid="3" fmtid="x"><vt:lpwstr>x</vt:lpwstr>'
           b"</property></Properties>")
    assert parse_custom_properties(xml) == {"xlz.town": "dingyan"}
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
            b"<Properties>&b;</Properties>")
    with pytest.raises(Exception):  # noqa: B017 - defusedxml refuses entity declarations
        parse_custom_properties(bomb)

"""Which part holds a sheet: the package's rule (Excel, the in-place writer) and
python-calamine's (xlz.ooxml.sheetmap). A package that holds both spellings of a part —
one for calamine, another for Excel — is refused by the reader: validate, fill and
consolidate alike, exit 2, the file untouched."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from tests.xlz_books import build
from xlz.cli import main
from xlz.io.inplace import sheet_parts
from xlz.ooxml.sheetmap import plain_targets, workbook_sheets

PROJECTS = "项目信息"


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_a_template_resolves_alike_by_both_rules(tmp_path: Path) -> None:
    parts = _parts(build(tmp_path / "丁堰镇.xlsx"))
    rels = parts["xl/_rels/workbook.xml.rels"]
    sheets = workbook_sheets(parts["xl/workbook.xml"], rels)
    assert PROJECTS in [s.name for s in sheets] and plain_targets(rels)
    for s in sheets:
        assert s.part == s.calamine_part and s.part in parts


def test_the_rules_part_where_a_target_is_unusual() -> None:
    workbook = (b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
                b' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                b'<sheets><sheet name="a" sheetId="1" r:id="rId1"/>'
                b'<sheet name="b" sheetId="2" r:id="rId2"/>'
                b'<sheet name="c" sheetId="3" r:id="rId3"/></sheets></workbook>')
    rels = (b'<Relationships><Relationship Id="rId1" Target="../xl/worksheets/s1.xml"/>'
            b'<Relationship Id="rId2" Target="/xl/worksheets/s2.xml"/>'
            b'<Relationship Id="rId3" Target="worksheets/./s3.xml"/></Relationships>')
    assert not plain_targets(rels)
    got = {s.name: (s.part, s.calamine_part) for s in workbook_sheets(workbook, rels)}
    assert got == {"a": ("xl/worksheets/s1.xml", "xl/../xl/worksheets/s1.xml"),
                   "b": ("xl/worksheets/s2.xml", "xl/worksheets/s2.xml"),
                   "c": ("xl/worksheets/s3.xml", "xl/worksheets/./s3.xml")}
    for target in (b"xl/w.xml", b"a//b.xml", b"a&#46;b", b"a\\b.xml"):
        assert not plain_targets(b'<Relationship Id="x" Target="' + target + b'"/>')
    assert plain_targets(b"<Relationship Id='x' Target = 'worksheets/..x.xml'/>")


def _two_faced(tmp_path: Path) -> tuple[Path, str]:
    """A town workbook whose 项目信息 relationship says ``../xl/worksheets/sheetN.xml``,
    with a second copy of that sheet under that literal name in which one project name
    differs: calamine reads the copy, Excel and the writer the original."""
    path = build(tmp_path / "丁堰镇.xlsx")
    parts = _parts(path)
    original = sheet_parts(parts.__getitem__)[PROJECTS][0]
    with zipfile.ZipFile(path) as zf:
        first = zf.read("xl/sharedStrings.xml")
    assert first  # the names are shared strings: the copy points one cell elsewhere
    rels = parts["xl/_rels/workbook.xml.rels"]
    target = original.removeprefix("xl/").encode()
    parts["xl/_rels/workbook.xml.rels"] = rels.replace(b'Target="' + target + b'"',
                                                       b'Target="../xl/' + target + b'"')
    xml = parts[original]
    cell = xml.index(b'<c r="B2"')
    value = xml.index(b"<v>", cell) + 3
    end = xml.index(b"</v>", value)
    other = str(int(xml[value:end]) + 1).encode()  # another shared string
    copy = xml[:value] + other + xml[end:]
    hostile = tmp_path / "两面.xlsx"
    with zipfile.ZipFile(hostile, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
        zf.writestr("xl/../" + original, copy)
    return hostile, original


def test_a_package_with_a_sheet_in_two_parts_is_refused(tmp_path: Path) -> None:
    hostile, original = _two_faced(tmp_path)
    # The attack is real: calamine reads the copy, the writer's rule names the original.
    book = CalamineWorkbook.from_path(str(hostile))
    read = book.get_sheet_by_name(PROJECTS).to_python()
    plain = CalamineWorkbook.from_path(str(build(tmp_path / "plain.xlsx")))
    assert read[1][1] != plain.get_sheet_by_name(PROJECTS).to_python()[1][1]
    assert sheet_parts(_parts(hostile).__getitem__)[PROJECTS][0] == original
    before = hashlib.sha256(hostile.read_bytes()).hexdigest()
    for command in (["validate", str(hostile)], ["fill", str(hostile)]):
        result = CliRunner().invoke(main, [*command, "--json"])
        assert result.exit_code == 2, result.output
        assert "corrupt" in result.output and "两个不同的部件" in result.output
    out = tmp_path / "city.xlsx"
    result = CliRunner().invoke(main, ["consolidate", str(hostile), "--out", str(out),
                                       "--no-ledger", "--json"])
    assert result.exit_code == 2, result.output
    data = json.loads(result.stdout)
    assert [f["status"] for f in data["files"]] == ["unreadable"]
    assert "两个不同的部件" in result.output
    assert hashlib.sha256(hostile.read_bytes()).hexdigest() == before

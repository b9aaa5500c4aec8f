"""The reader's repacked package (xlz.io.read.trimmed_package): a worksheet part without
its trailing rows that provably hold no value (xlz.ooxml.emptytail) reads exactly as
the file itself, and no row holding a value is ever cut."""

from __future__ import annotations

import io
import random
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.xlz_books import build, make_rows, parts, sheet_parts
from xlz.io.intake import InputError
from xlz.io.read import _guarded, calamine_sheets, read_workbook, trimmed_package
from xlz.ooxml.emptytail import stored_package, trim_empty_tail

HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://'
        b'schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:C9"/>'
        b"<sheetData>")
VALUES = (b'<row r="1" spans="1:3"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>7</v></c></row>'
          b'<row r="2" spans="1:3"><c r="A2"><v>1</v></c><c r="C2" s="1"><f t="shared" '
          b'ref="C2:C9" si="0">A2*2</f><v></v></c></row>')
TAIL = b'</sheetData><pageMargins left="0.7" right="0.7"/></worksheet>'
EMPTY_ROW = b'<row r="%d" spans="3:3"><c r="C%d" s="1"><f t="shared" si="0"/><v></v></c></row>'

# A value the grammar must never let through: the test of "no row holding a value cut".
_VALUE = re.compile(rb"<v[^>]*>[^<]|<is[\s>/]|t=[\"'](?:str|b|e|d|inlineStr)[\"']|CDATA")


def sheet(*rows: bytes) -> bytes:
    return HEAD + VALUES + b"".join(rows) + TAIL


def empty_rows(first: int, last: int) -> bytes:
    return b"".join(EMPTY_ROW % (r, r) for r in range(first, last + 1))


def removed(original: bytes, trimmed: bytes) -> bytes:
    """What :func:`trim_empty_tail` cut out of ``original``: one region before the end
    of the rows (asserted)."""
    end = original.rindex(b"</sheetData>")
    head = end - (len(original) - len(trimmed))
    assert 0 < head < end
    assert trimmed == original[:head] + original[end:]
    cut = original[head:end]
    return cut


def assert_safe(original: bytes, trimmed: bytes | None) -> bytes:
    if trimmed is None:
        return b""
    cut = removed(original, trimmed)
    assert _VALUE.search(cut) is None, cut[:200]
    assert cut.lstrip().startswith(b"<row"), cut[:80]
    return cut


# ------------------------------------------------------------------ the grammar


def test_the_template_tail_is_cut_exactly() -> None:
    xml = sheet(empty_rows(3, 1001))
    assert trim_empty_tail(xml) == HEAD + VALUES + TAIL


def test_a_short_tail_and_one_long_enough_for_several_windows() -> None:
    for last in (3, 40, 5000):
        xml = sheet(empty_rows(3, last))
        assert trim_empty_tail(xml) == HEAD + VALUES + TAIL, last


def test_no_tail_nothing_to_cut() -> None:
    assert trim_empty_tail(sheet()) is None
    assert trim_empty_tail(HEAD + TAIL) is None
    assert trim_empty_tail(b"<worksheet><sheetData/></worksheet>") is None


@pytest.mark.parametrize("row", [
    b'<row r="500"/>',
    b'<row r="500" spans="1:3" ht="15" customHeight="1" x14ac:dyDescent="0.25"/>',
    b"<row r='500' spans='3:3'><c r='C500' s='1'/></row>",
    b'<row spans="3:3" r="500" >\n  <c s="1" r="C500" ><f t="shared" si="0"></f><v/></c>\n</row>',
    b'<row r="500"><c r="C500" t="n"><v></v></c><c r="D500" t="s"/></row>',
    b'<row r="500" customFormat="false" ht="12.8" hidden="false" customHeight="false" '
    b'outlineLevel="0" collapsed="false"><c r="C500" s="1"><f aca="false">IF(A500&gt;0,1,'
    b'&quot;&quot;)</f><v></v></c></row>',
    b'<row r="500"><c r="C500"/><c/></row>',
    b'<row r="500"></row>',
])
def test_writers_variants_of_an_empty_row_are_cut(row: bytes) -> None:
    xml = sheet(empty_rows(3, 400), row, empty_rows(501, 520))
    assert trim_empty_tail(xml) == HEAD + VALUES + TAIL


# Each: a row that is not provably empty, placed in the middle of the tail. What is after
# it may be cut, it and what is before it never.
HOSTILE = [
    b'<x:row r="500"><x:c r="C500"><x:v></x:v></x:c></x:row>',
    b'<row r="500"><c r="C500"><v>0</v></c></row>',
    b'<row r="500"><c r="C500"><v> </v></c></row>',
    b'<row r="500"><c r="C500" t="inlineStr"><is><t>x</t></is></c></row>',
    b'<row r="500"><c r="C500" t="inlineStr"/></row>',
    b'<row r="500"><c r="C500"><v><![CDATA[x]]></v></c></row>',
    b'<row r="500"><c r="C500"><v><![CDATA[]]></v></c></row>',
    b'<row r="500"><!-- x --><c r="C500"/></row>',
    b'<row r="500"><c r="C500" t="str"><f>A1</f><v></v></c></row>',
    b'<row r="500"><c r="C500" t="b"><v></v></c></row>',
    b'<row r="500"><c r="C500" t="e"/></row>',
    b'<row r="500"><c r="C500" t="zz"><v></v></c></row>',
    b'<row r="500"><c r="C500"><v></v><extLst/></c></row>',
    b'<row r="500"><c r="C500"/><extLst><ext/></extLst></row>',
    b'<row r="500"><c r="C0"/></row>',
    b'<row r="0500"><c r="C500"/></row>',
    b'<row r="x"/>',
    b'<row r="500" xmlns="urn:other"><c r="C500"/></row>',
    b'<row r="500"><c r="C500"><f>A1>0</f><v></v></c></row>',
    b'<row r="500"><c r="C500" foo="&amp;"/></row>',
    b'<row r="500"><c r="C500"><v xml:space="preserve"></v></c></row>',
    b'<row r="500"><c r="c500"/></row>',
]


@pytest.mark.parametrize("row", HOSTILE)
def test_a_row_not_provably_empty_is_never_cut(row: bytes) -> None:
    before = empty_rows(3, 400) + row
    xml = sheet(before, empty_rows(501, 520))
    got = trim_empty_tail(xml)
    assert got is not None
    # Kept with everything before it; what is cut is some of the empty rows after it (a
    # row with no end tag of its own takes the next row with it).
    assert got.startswith(HEAD + VALUES + before)
    assert empty_rows(501, 520).endswith(assert_safe(xml, got))


@pytest.mark.parametrize("row", HOSTILE)
def test_as_the_last_row_nothing_is_cut(row: bytes) -> None:
    xml = sheet(empty_rows(3, 400), row)
    assert trim_empty_tail(xml) is None


def test_a_value_in_the_last_row() -> None:
    xml = sheet(empty_rows(3, 400), b'<row r="401"><c r="A401"><v>3</v></c></row>')
    assert trim_empty_tail(xml) is None


def test_a_comment_or_a_second_end_of_the_rows() -> None:
    tail = empty_rows(3, 100)
    assert trim_empty_tail(HEAD + VALUES + tail + b"<!-- x -->" + TAIL) is None
    # The last </sheetData> is taken: one in a comment after it leaves nothing to cut.
    xml = HEAD + VALUES + tail + TAIL.replace(b"</worksheet>",
                                              b"<!-- </sheetData> --></worksheet>")
    assert trim_empty_tail(xml) is None


def test_random_tails_never_lose_a_value() -> None:
    """Rows of values and empty rows in random order: whatever is cut holds no value,
    and the first row after the last value is where the cut starts."""
    rng = random.Random(7)
    kinds = [b'<row r="%d"><c r="C%d" s="1"/></row>', EMPTY_ROW,
             b'<row r="%d"><c r="C%d"><v>5</v></c></row>',
             b'<row r="%d"><c r="C%d" t="str"><v></v></c></row>',
             b'<row r="%d"/><row r="%d"/>', b'<row r="%d" ht="9"><c r="C%d" t="s"><v/></c></row>']
    for _ in range(300):
        rows = [rng.choice(kinds) for _ in range(rng.randint(1, 60))]
        body = b"".join(k % ((i + 3, i + 3) if k.count(b"%d") == 2 else (i + 3,))
                        for i, k in enumerate(rows))
        xml = sheet(body)
        got = trim_empty_tail(xml)
        cut = assert_safe(xml, got)
        holding = [i for i, k in enumerate(rows) if _VALUE.search(k)]
        expected = b"".join(k % ((i + 3, i + 3) if k.count(b"%d") == 2 else (i + 3,))
                            for i, k in enumerate(rows) if i > (holding[-1] if holding else -1))
        assert cut == expected


# ------------------------------------------------------------------ real writers


def _entry_parts(path: Path) -> dict[str, bytes]:
    names = sheet_parts(path)
    data = parts(path)
    return {s: data[names[s]] for s in ("项目信息", "孵化载体", "招商活动")}


def test_the_xlsxwriter_template_tails_are_cut(tmp_path: Path) -> None:
    path = build(tmp_path / "town.xlsx", make_rows(30))
    for name, xml in _entry_parts(path).items():
        got = trim_empty_tail(xml)
        assert got is not None, name
        cut = assert_safe(xml, got)
        assert cut.count(b"<row") > 100, name


@pytest.mark.libreoffice
def test_a_libreoffice_saved_workbook(tmp_path: Path) -> None:
    """LibreOffice writes the checks' empty results as t="str" (an empty string, which
    takes a place in calamine's grid): not cut, and read the same either way."""
    from tests.lo.harness import convert

    saved = convert(build(tmp_path / "gen.xlsx"), tmp_path / "lo.xlsx", "Calc MS Excel 2007 XML")
    for xml in parts(saved).values():
        if b"<sheetData" in xml:
            assert_safe(xml, trim_empty_tail(xml))
    assert_reads_the_same(saved)


# ------------------------------------------------------------------ the reader


def assert_reads_the_same(path: Path, *, trims: bool | None = None) -> None:
    package = _guarded(path)[2]
    trimmed = trimmed_package(package)
    if trims is not None:
        assert (trimmed is not None) == trims
    plain = calamine_sheets(str(path), None)
    if trimmed is not None:
        assert calamine_sheets(str(path), None, package=trimmed) == plain
    data = read_workbook(path)
    assert (data.sheets, set(data.hidden)) == plain


def test_town_workbooks_read_the_same(tmp_path: Path) -> None:
    for n, rows in enumerate((None, make_rows(0), make_rows(30), make_rows(200))):
        assert_reads_the_same(build(tmp_path / f"t{n}.xlsx", rows), trims=True)


def test_the_consolidation_reads_the_same(tmp_path: Path) -> None:
    import datetime as dt

    from xlz.io.inbox import Submission
    from xlz.ops.consolidate import read_input

    path = build(tmp_path / "town.xlsx", make_rows(30))
    now = dt.datetime.now(dt.timezone.utc)
    got = read_input(Submission(path.name, path, "0" * 64, now, "", path.stat().st_size))
    assert got.data is not None
    wanted = frozenset(got.data.sheets)
    assert (got.data.sheets, set(got.data.hidden)) == calamine_sheets(str(path), wanted)


def _repacked(path: Path, out: Path, edit: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, edit.get(info.filename, zin.read(info)))
    return out


@pytest.mark.parametrize("extra", [
    # Empty cells outside the grid of the values, and one on a cell holding a value:
    # calamine gives an empty cell no place in its grid, so cutting them changes nothing.
    b'<row r="1200"><c r="AZ1200" s="1"/><c r="A1201"><v></v></c></row>',
    b'<row r="2"><c r="A2" s="1"><v></v></c><c r="B2" t="n"/></row>',
    b'<row r="1300" spans="1:1"><c r="A1" t="s"><v></v></c></row>',
])
def test_cut_cells_never_mattered_to_calamine(tmp_path: Path, extra: bytes) -> None:
    """Pins the reader's behaviour the cut relies on (python-calamine 0.9.1): the file
    with the extra empty rows reads the same trimmed and untrimmed."""
    path = build(tmp_path / "town.xlsx", make_rows(3))
    name = sheet_parts(path)["项目信息"]
    xml = parts(path)[name]
    end = xml.rindex(b"</sheetData>")
    odd = _repacked(path, tmp_path / "odd.xlsx", {name: xml[:end] + extra + xml[end:]})
    assert_reads_the_same(odd, trims=True)


def test_a_reader_error_is_the_files_own(tmp_path: Path) -> None:
    """calamine refusing the repacked package: the file itself is read, for its message."""
    path = build(tmp_path / "town.xlsx", make_rows(3))
    name = sheet_parts(path)["项目信息"]
    xml = parts(path)[name].replace(b'<c r="B2" s="9" t="s"', b'<c r="B2" s="9" t="zz"', 1)
    assert b't="zz"' in xml
    bad = _repacked(path, tmp_path / "bad.xlsx", {name: xml})
    assert trimmed_package(_guarded(bad)[2]) is not None
    with pytest.raises(InputError) as plain:
        calamine_sheets(str(bad), None)
    with pytest.raises(InputError) as read:
        read_workbook(bad)
    assert (read.value.code, read.value.message) == (plain.value.code, plain.value.message)


def test_a_damaged_part_is_refused_as_before(tmp_path: Path) -> None:
    path = build(tmp_path / "town.xlsx", make_rows(3))
    name = sheet_parts(path)["项目信息"]
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    at = info.header_offset + 30 + len(info.orig_filename.encode()) + 40
    data[at] ^= 0x55
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as caught:
        read_workbook(path)
    assert caught.value.code == "file.corrupt"


def test_the_package_is_a_zip_of_the_same_parts(tmp_path: Path) -> None:
    path = build(tmp_path / "town.xlsx", make_rows(3))
    package = _guarded(path)[2]
    name = sheet_parts(path)["项目信息"]
    new = trim_empty_tail(package.parts[name])
    assert new is not None
    buf = stored_package(package.buf, package.infos, {}, {name: new})
    assert buf is not None
    with zipfile.ZipFile(io.BytesIO(buf)) as zf, zipfile.ZipFile(path) as orig:
        assert zf.testzip() is None
        assert zf.namelist() == orig.namelist()
        for n in orig.namelist():
            assert zf.read(n) == (new if n == name else orig.read(n))


def test_a_part_twice_in_the_archive_is_read_as_it_is(tmp_path: Path) -> None:
    path = build(tmp_path / "town.xlsx", make_rows(3))
    twice = tmp_path / "twice.xlsx"
    shutil.copy(path, twice)
    with pytest.warns(UserWarning), zipfile.ZipFile(twice, "a") as zf:
        zf.writestr("docProps/app.xml", b"<Properties/>")
    assert trimmed_package(_guarded(twice)[2]) is None

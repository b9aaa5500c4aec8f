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
from xlz.io.read import (
    GridChanged,
    _guarded,
    calamine_sheets,
    read_workbook,
    trimmed_package,
)
from xlz.ooxml.emptytail import (
    formula_share,
    sheet_names,
    stored_package,
    trim_empty_tail,
    without_formulas,
)

HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://'
        b'schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:C9"/>'
        b"<sheetData>")
VALUES = (b'<row r="1" spans="1:3"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>7</v></c></row>'
          b'<row r="2" spans="1:3"><c r="A2"><v>1</v></c><c r="C2" s="1"><f t="shared" '
          b'ref="C2:C9" si="0">A2*2</f><v></v></c></row>')
TAIL = b'</sheetData><pageMargins left="0.7" right="0.7"/></worksheet>'
EMPTY_ROW = b'<row r="%d" spans="3:3"><c r="C%d" s="1"><f t="shared" si="0"/><v></v></c></row>'

# A value the grammar must never let through: the test of "no row holding a value cut".
# (An empty t="str" is cut: the reader checks where it was, see the reader's tests.)
_VALUE = re.compile(rb"<v[^>]*>[^<]|<is[\s>/]|t=[\"'](?:b|e|d|inlineStr)[\"']|t='str'|CDATA")


def trimmed_xml(xml: bytes) -> bytes | None:
    """:func:`trim_empty_tail`'s part, or None."""
    trim = trim_empty_tail(xml)
    return None if trim is None else trim.xml


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
    assert trimmed_xml(xml) == HEAD + VALUES + TAIL


def test_a_short_tail_and_one_long_enough_for_several_windows() -> None:
    for last in (3, 40, 5000):
        xml = sheet(empty_rows(3, last))
        assert trimmed_xml(xml) == HEAD + VALUES + TAIL, last


def test_no_tail_nothing_to_cut() -> None:
    assert trimmed_xml(sheet()) is None
    assert trimmed_xml(HEAD + TAIL) is None
    assert trimmed_xml(b"<worksheet><sheetData/></worksheet>") is None


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
    assert trimmed_xml(xml) == HEAD + VALUES + TAIL


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
    b'<row r="500"><c r="C500" t="str"><f>A1</f><v>x</v></c></row>',
    b'<row r="500"><c r="C500" t="str"><f>A1</f><v> </v></c></row>',
    b"<row r='500'><c r='C500' t='str'><v></v></c></row>",
    b'<row r="500"><c r="C500" t = "str"><v></v></c></row>',
    b'<row r="500"><c t="str"><v></v></c></row>',
    b'<row r="500"><c r="C500" r="D500" t="str"><v></v></c></row>',
    b'<row r="500"><c r="C500" t="str"><is><t>x</t></is></c></row>',
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
    got = trimmed_xml(xml)
    assert got is not None
    # Kept with everything before it; what is cut is some of the empty rows after it (a
    # row with no end tag of its own takes the next row with it).
    assert got.startswith(HEAD + VALUES + before)
    assert empty_rows(501, 520).endswith(assert_safe(xml, got))


@pytest.mark.parametrize("row", HOSTILE)
def test_as_the_last_row_nothing_is_cut(row: bytes) -> None:
    xml = sheet(empty_rows(3, 400), row)
    assert trimmed_xml(xml) is None


def test_a_value_in_the_last_row() -> None:
    xml = sheet(empty_rows(3, 400), b'<row r="401"><c r="A401"><v>3</v></c></row>')
    assert trimmed_xml(xml) is None


def test_a_comment_or_a_second_end_of_the_rows() -> None:
    tail = empty_rows(3, 100)
    assert trimmed_xml(HEAD + VALUES + tail + b"<!-- x -->" + TAIL) is None
    # The last </sheetData> is taken: one in a comment after it leaves nothing to cut.
    xml = HEAD + VALUES + tail + TAIL.replace(b"</worksheet>",
                                              b"<!-- </sheetData> --></worksheet>")
    assert trimmed_xml(xml) is None


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
        got = trimmed_xml(xml)
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
        got = trimmed_xml(xml)
        assert got is not None, name
        cut = assert_safe(xml, got)
        assert cut.count(b"<row") > 100, name


# ------------------------------------------------------------------ the reader


def assert_reads_the_same(path: Path, *, trims: bool | None = None,
                          falls_back: bool = False) -> None:
    """The file read from its trimmed copy (or, when the copy's grid is not the file's:
    ``falls_back``, the file itself) reads as the file: every sheet's rows, first row
    and column, and the hidden sheets."""
    package = _guarded(path)[2]
    trimmed = trimmed_package(package)
    if trims is not None:
        assert (trimmed is not None) == trims
    plain = calamine_sheets(str(path), None)
    if trimmed is not None:
        if falls_back:
            with pytest.raises(GridChanged):
                calamine_sheets(str(path), None, package=trimmed)
        else:
            assert calamine_sheets(str(path), None, package=trimmed) == plain
    data = read_workbook(path)
    assert (data.sheets, set(data.hidden)) == plain
    for name, values in data.sheets.items():
        assert (values.rows, values.first_row, values.first_col) == (
            plain[0][name].rows, plain[0][name].first_row, plain[0][name].first_col), name


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
    trim = trim_empty_tail(package.parts[name])
    assert trim is not None
    new = trim.xml
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


# ------------------------------------------------------------------ empty strings


STR_ROW = b'<row r="%d"><c r="%s%d" s="1" t="str"><f>IF(A1,"x","")</f><v></v></c></row>'


def test_empty_string_cells_are_cut_and_where_they_were_is_said() -> None:
    """A formula's empty text result (``t="str"``, empty or no value) is cut; the cut
    says where such cells were (0-based rows and columns), row numbers read from the
    part itself (the rows' shapes have lost them)."""
    tail = (empty_rows(3, 300) + STR_ROW % (301, b"C", 301)
            + b'<row r="302"><c r="B302" t="str"><v/></c><c r="E302" t="str"/></row>'
            + empty_rows(303, 400) + STR_ROW % (958, b"D", 958))
    trim = trim_empty_tail(sheet(tail))
    assert trim is not None and trim.xml == HEAD + VALUES + TAIL
    assert trim.strings == (300, 1, 4)
    # Only cells that read as nothing: no empty strings, nothing to check.
    trim = trim_empty_tail(sheet(empty_rows(3, 300)))
    assert trim is not None and trim.strings is None


def test_the_first_row_of_empty_strings_is_the_lowest_number_not_the_first_written() -> None:
    tail = STR_ROW % (700, b"C", 700) + STR_ROW % (4, b"C", 4) + empty_rows(701, 800)
    trim = trim_empty_tail(sheet(tail))
    assert trim is not None and trim.strings == (3, 2, 2)


def test_empty_strings_in_the_kept_rows_are_not_counted() -> None:
    kept = STR_ROW % (3, b"Z", 3) + b'<row r="4"><c r="A4"><v>1</v></c></row>'
    trim = trim_empty_tail(sheet(kept + empty_rows(5, 600)))
    assert trim is not None and trim.strings is None
    assert trim.xml == HEAD + VALUES + kept + TAIL


WORKBOOK = (b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            b'<sheets><sheet name="A" sheetId="1" r:id="rId1"/><sheet name="B" sheetId="2" '
            b'state="hidden" r:id="rId2"/><sheet name="C" sheetId="3" r:id="rId3"/></sheets>'
            b"</workbook>")
RELS = (b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="t" Target="worksheets/sheet1.xml"/>'
        b'<Relationship Id="rId2" Type="t" Target="/xl/worksheets/sheet2.xml"/>'
        b"<Relationship Target='xl/worksheets/sheet3.xml' Id='rId3' Type='t'/>"
        b'<Relationship Id="rId4" Type="t" Target="styles.xml"/></Relationships>')
NAMES = ["xl/workbook.xml", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml",
         "xl/worksheets/sheet3.xml", "xl/styles.xml"]


def test_which_sheet_a_part_is() -> None:
    assert sheet_names(WORKBOOK, RELS, NAMES) == {
        "xl/worksheets/sheet1.xml": "A", "xl/worksheets/sheet2.xml": "B",
        "xl/worksheets/sheet3.xml": "C"}
    # A part no sheet names is no sheet's; a prefixed tag is read by its local name.
    assert sheet_names(WORKBOOK.replace(b"<sheet ", b"<x:sheet "), RELS, NAMES[:2]) == {
        "xl/worksheets/sheet1.xml": "A"}


@pytest.mark.parametrize(("workbook", "rels", "names"), [
    (WORKBOOK.replace(b"<sheets>", b"<sheets><!-- x -->"), RELS, NAMES),
    (WORKBOOK, RELS.replace(b"</Relationships>", b"<![CDATA[x]]></Relationships>"), NAMES),
    (WORKBOOK.replace(b'name="A"', b'name="A&amp;B"'), RELS, NAMES),
    (WORKBOOK.replace(b'r:id="rId2"', b'r:id="rId1"'), RELS, NAMES),
    (WORKBOOK.replace(b'r:id="rId2"', b'r:id="rId2" relationships:id="rId2"'), RELS, NAMES),
    (WORKBOOK.replace(b'r:id="rId2"', b'r:id="rId9"'), RELS, NAMES),
    (WORKBOOK.replace(b'name="A" ', b'name="A" name="Z" '), RELS, NAMES),
    (WORKBOOK, RELS.replace(b'Id="rId4"', b'Id="rId1"'), NAMES),
    (WORKBOOK, RELS, [*NAMES, "xl/worksheets/Sheet1.xml"]),
])
def test_any_doubt_about_which_sheet_a_part_is(workbook: bytes, rels: bytes,
                                               names: list[str]) -> None:
    assert sheet_names(workbook, rels, names) is None


def _with_rows(path: Path, out: Path, rows: bytes, sheet: str = "项目信息") -> Path:
    name = sheet_parts(path)[sheet]
    xml = parts(path)[name]
    end = xml.rindex(b"</sheetData>")
    return _repacked(path, out, {name: xml[:end] + rows + xml[end:]})


@pytest.mark.parametrize(("rows", "falls_back"), [
    # Below the values and within their columns (A:U): the grid is the file's.
    (STR_ROW % (1200, b"C", 1200) + STR_ROW % (1300, b"U", 1300), False),
    (STR_ROW % (1200, b"A", 1200) + b'<row r="1201"><c r="B1201" t="str"><v/></c></row>', False),
    # A column right or left of every kept value: the file's grid is wider.
    (STR_ROW % (1200, b"V", 1200), True),
    (STR_ROW % (1200, b"C", 1200) + STR_ROW % (1201, b"AZ", 1201), True),
    # A row among the values' (written last): it would take a value's place, or widen
    # the grid upward.
    (STR_ROW % (2, b"B", 2), True),
    (STR_ROW % (4, b"Q", 4), True),
])
def test_cut_empty_strings_are_checked_against_the_kept_grid(tmp_path: Path, rows: bytes,
                                                             falls_back: bool) -> None:
    """The repacked copy is read only when the cut empty strings lie below the rows and
    within the columns calamine found in it; otherwise the file itself is read. Either
    way the values are the file's."""
    path = _with_rows(build(tmp_path / "town.xlsx", make_rows(3)), tmp_path / "odd.xlsx",
                      rows)
    trimmed = trimmed_package(_guarded(path)[2])
    assert trimmed is not None and "项目信息" in trimmed.strings
    assert_reads_the_same(path, falls_back=falls_back)


def test_a_sheet_of_only_empty_strings_is_read_from_the_file(tmp_path: Path) -> None:
    """Every row cut, the copy's sheet is empty: the file's grid of empty strings has a
    first row and column of its own."""
    path = build(tmp_path / "town.xlsx", make_rows(3))
    name = sheet_parts(path)["招商活动"]
    xml = parts(path)[name]
    begin = xml.index(b">", xml.index(b"<sheetData")) + 1
    end = xml.rindex(b"</sheetData>")
    rows = b"".join(STR_ROW % (r, b"D", r) for r in range(3, 400))
    odd = _repacked(path, tmp_path / "odd.xlsx", {name: xml[:begin] + rows + xml[end:]})
    assert_reads_the_same(odd, trims=True, falls_back=True)


def test_a_non_empty_string_is_never_cut(tmp_path: Path) -> None:
    rows = (STR_ROW % (1200, b"C", 1200)
            + b'<row r="1201"><c r="D1201" t="str"><f>A1</f><v>x</v></c></row>'
            + STR_ROW % (1202, b"C", 1202))
    path = _with_rows(build(tmp_path / "town.xlsx", make_rows(3)), tmp_path / "odd.xlsx",
                      rows)
    xml = parts(path)[sheet_parts(path)["项目信息"]]
    trim = trim_empty_tail(xml)
    assert trim is not None and b'<v>x</v>' in trim.xml and trim.strings == (1201, 2, 2)
    assert_reads_the_same(path)
    values = read_workbook(path).sheets["项目信息"]
    assert values.rows[-1][3] == "x"


def test_a_part_of_no_known_sheet_keeps_its_empty_strings(tmp_path: Path) -> None:
    """In doubt which sheet a part is (here a comment in the workbook part), a part
    whose cut would hold empty strings is not cut (only its formulas are dropped); the
    others still are."""
    path = _with_rows(build(tmp_path / "town.xlsx", make_rows(3)), tmp_path / "odd.xlsx",
                      STR_ROW % (1200, b"C", 1200))
    workbook = parts(path)["xl/workbook.xml"].replace(b"<sheets>", b"<!-- x --><sheets>")
    odd = _repacked(path, tmp_path / "odder.xlsx", {"xl/workbook.xml": workbook})
    package = _guarded(odd)[2]
    trimmed = trimmed_package(package)
    assert trimmed is not None and trimmed.strings == {}
    with zipfile.ZipFile(io.BytesIO(trimmed.buf)) as zf:
        name = sheet_parts(path)["项目信息"]
        whole = package.parts[name]
        assert zf.read(name) == without_formulas(whole)
        assert zf.read(name).count(b"<row") == whole.count(b"<row")
        assert len(zf.read(sheet_parts(path)["孵化载体"])) < len(
            package.parts[sheet_parts(path)["孵化载体"]])
    assert_reads_the_same(odd)


# ------------------------------------------------------------------ big parts


def test_a_sheet_over_a_megabyte_is_trimmed(tmp_path: Path) -> None:
    """The reader's guard pass keeps sheets larger than the properties' 1 MB."""
    path = build(tmp_path / "town.xlsx", make_rows(3))
    name = sheet_parts(path)["项目信息"]
    xml = parts(path)[name]
    end = xml.rindex(b"</sheetData>")
    filler = b"".join(b'<row r="%d"><c r="C%d" s="1"><f>IF(B%d&lt;&gt;"","'
                      % (r, r, r) + b"x" * 900 + b'","")</f><v></v></c></row>'
                      for r in range(1100, 3100))
    big = _repacked(path, tmp_path / "big.xlsx", {name: xml[:end] + filler + xml[end:]})
    package = _guarded(big)[2]
    assert len(package.parts[name]) > 1024 * 1024
    trimmed = trimmed_package(package)
    assert trimmed is not None
    with zipfile.ZipFile(io.BytesIO(trimmed.buf)) as zf:
        assert zf.getinfo(name).file_size < 1024 * 1024
    assert_reads_the_same(big)


def test_a_large_part_left_whole_is_copied_compressed(tmp_path: Path) -> None:
    path = build(tmp_path / "town.xlsx", make_rows(3))
    name = sheet_parts(path)["项目信息"]
    xml = parts(path)[name]
    end = xml.rindex(b"</sheetData>")
    rows = b"".join(b'<row r="%d"><c r="C%d" t="inlineStr"><is><t>' % (r, r) + b"x" * 900
                    + b"</t></is></c></row>" for r in range(1100, 2400))
    big = _repacked(path, tmp_path / "big.xlsx", {name: xml[:end] + rows + xml[end:]})
    package = _guarded(big)[2]
    assert len(package.parts[name]) > 1024 * 1024
    trimmed = trimmed_package(package)  # the other entry sheets' tails are cut
    assert trimmed is not None
    with zipfile.ZipFile(io.BytesIO(trimmed.buf)) as zf:
        assert zf.getinfo(name).compress_type == zipfile.ZIP_DEFLATED
        assert zf.read(name) == package.parts[name]
        assert zf.getinfo("xl/styles.xml").compress_type == zipfile.ZIP_STORED
    assert_reads_the_same(big)


def test_properties_over_a_megabyte_are_still_not_read(tmp_path: Path) -> None:
    """Keeping the reader's parts larger does not make a properties (or content types)
    part over 1 MB count: its properties are not read, as before."""
    import datetime as dt

    from xlz.io.inbox import Submission
    from xlz.ops.consolidate import read_input

    path = build(tmp_path / "town.xlsx", make_rows(3))
    custom = parts(path)["docProps/custom.xml"]
    assert read_workbook(path).properties
    padded = custom.replace(b"</Properties>",
                            b"<!--" + b"x" * (1024 * 1024) + b"--></Properties>")
    big = _repacked(path, tmp_path / "big.xlsx", {"docProps/custom.xml": padded})
    assert read_workbook(big).properties == {}
    now = dt.datetime.now(dt.timezone.utc)
    got = read_input(Submission(big.name, big, "0" * 64, now, "", big.stat().st_size))
    assert got.data is not None and got.data.properties == {}


# ------------------------------------------------------------------ LibreOffice


@pytest.fixture(scope="module")
def lo_saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A town workbook with 30 rows a sheet, saved by LibreOffice as .xlsx (which
    writes the checks' empty results as ``t="str"`` with an empty value)."""
    from tests.lo.harness import convert

    folder = tmp_path_factory.mktemp("lo")
    return convert(build(folder / "gen.xlsx", make_rows(30)), folder / "lo.xlsx",
                   "Calc MS Excel 2007 XML")


@pytest.mark.libreoffice
def test_a_libreoffice_saved_workbook_is_trimmed_and_reads_the_same(lo_saved: Path) -> None:
    for xml in parts(lo_saved).values():
        if b"<sheetData" in xml:
            assert_safe(xml, trimmed_xml(xml))
    trimmed = trimmed_package(_guarded(lo_saved)[2])
    assert trimmed is not None
    assert {"项目信息", "孵化载体", "招商活动"} <= set(trimmed.strings)
    # Its 项目信息 part writes every row's check formula out: over 1 MB, kept and cut.
    assert len(parts(lo_saved)[sheet_parts(lo_saved)["项目信息"]]) > 1024 * 1024
    assert_reads_the_same(lo_saved, trims=True)


@pytest.mark.libreoffice
def test_the_consolidation_reads_a_libreoffice_saved_workbook_the_same(lo_saved: Path) -> None:
    import datetime as dt

    from xlz.io.inbox import Submission
    from xlz.ops.consolidate import read_input

    now = dt.datetime.now(dt.timezone.utc)
    got = read_input(Submission(lo_saved.name, lo_saved, "0" * 64, now, "",
                                lo_saved.stat().st_size))
    assert got.data is not None
    wanted = frozenset(got.data.sheets)
    assert (got.data.sheets, set(got.data.hidden)) == calamine_sheets(str(lo_saved), wanted)


@pytest.mark.libreoffice
@pytest.mark.parametrize(("row", "falls_back"), [
    # The check formula's result in its own column, after the template's rows.
    (b'<row r="1500"><c r="U1500" s="14" t="str"><f aca="false">""</f><v></v></c></row>',
     False),
    # A non-empty result: never cut; what is after it may be.
    (b'<row r="1500"><c r="U1500" s="14" t="str"><f aca="false">"x"</f><v>x</v></c></row>'
     b'<row r="1501"><c r="U1501" s="14" t="str"><f aca="false">""</f><v></v></c></row>',
     False),
    # An empty result in a column right of every kept cell: the file's grid is wider.
    (b'<row r="1500"><c r="Z1500" s="14" t="str"><f aca="false">""</f><v></v></c></row>',
     True),
])
def test_libreoffice_saved_variants(lo_saved: Path, tmp_path: Path, row: bytes,
                                    falls_back: bool) -> None:
    odd = _with_rows(lo_saved, tmp_path / "odd.xlsx", row)
    assert_reads_the_same(odd, trims=True, falls_back=falls_back)


# ------------------------------------------------------------------ formulas dropped


def raw_grids(path: Path) -> dict[str, tuple[object, object, list[list[object]]]]:
    """Every worksheet as calamine 0.9.1 gives it: its grid's start and end and every
    cell of the grid, empty ones too (stricter than :class:`SheetValues`)."""
    import python_calamine as pc

    workbook = pc.CalamineWorkbook.from_path(str(path))
    try:
        return {name: (s.start, s.end, s.to_python(skip_empty_area=False))
                for name in workbook.sheet_names
                for s in (workbook.get_sheet_by_name(name),)}
    finally:
        workbook.close()


def stripped_copy(path: Path, out: Path) -> Path:
    """``path`` with every worksheet part :func:`without_formulas` could strip stripped,
    whatever its size."""
    edit = {}
    for name, xml in parts(path).items():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            bare = without_formulas(xml)
            if bare is not None:
                edit[name] = bare
    return _repacked(path, out, edit)


def assert_strips_the_same(path: Path, tmp_path: Path) -> Path:
    """The file with its formulas dropped reads as the file: every sheet's whole grid,
    its values (:func:`calamine_sheets`: rows, first row and column), the hidden
    sheets."""
    bare = stripped_copy(path, tmp_path / f"bare-{path.name}")
    assert raw_grids(bare) == raw_grids(path)
    assert calamine_sheets(str(bare), None) == calamine_sheets(str(path), None)
    return bare


# Cells of every kind holding a formula, each with what the stripped part keeps of it.
FORMULA_CELLS = [
    # Formula text with entities, and a value holding them.
    (b'<c r="A1500" t="str"><f>A1&amp;"&lt;x&gt;"</f><v>&lt;x&gt;</v></c>',
     b'<c r="A1500" t="str"><v>&lt;x&gt;</v></c>'),
    # Empty cached text results, in both spellings.
    (b'<c r="B1500" t="str"><f aca="false">""</f><v></v></c>',
     b'<c r="B1500" t="str"><v></v></c>'),
    (b'<c r="C1500" t="str"><f>""</f><v/></c>', b'<c r="C1500" t="str"><v/></c>'),
    # No cached value at all, typed and not, right of every other cell.
    (b'<c r="AZ1500"><f>1+1</f></c>', b'<c r="AZ1500"></c>'),
    (b'<c r="BA1500" t="str"><f>X1</f></c>', b'<c r="BA1500" t="str"></c>'),
    (b'<c r="BB1500" t="n"><f>X1</f><v></v></c>', b'<c r="BB1500" t="n"><v></v></c>'),
    # Errors, booleans, numbers, shared strings, dates.
    (b'<c r="D1500" t="e"><f>1/0</f><v>#DIV/0!</v></c>', b'<c r="D1500" t="e"><v>#DIV/0!</v></c>'),
    (b'<c r="E1500" t="e"><f>NA()</f><v>#N/A</v></c>', b'<c r="E1500" t="e"><v>#N/A</v></c>'),
    (b'<c r="F1500" t="b"><f>TRUE()</f><v>1</v></c>', b'<c r="F1500" t="b"><v>1</v></c>'),
    (b'<c r="G1500" t="b"><f>FALSE()</f><v>0</v></c>', b'<c r="G1500" t="b"><v>0</v></c>'),
    (b'<c r="H1500" t="n"><f>7/2</f><v>3.5</v></c>', b'<c r="H1500" t="n"><v>3.5</v></c>'),
    (b'<c r="I1500" t="s"><f>B1</f><v>0</v></c>', b'<c r="I1500" t="s"><v>0</v></c>'),
    (b'<c r="J1500" t="d"><f>NOW()</f><v>2024-01-02T00:00:00</v></c>',
     b'<c r="J1500" t="d"><v>2024-01-02T00:00:00</v></c>'),
    # An array formula and a shared master with its children, one without a value.
    (b'<c r="K1500"><f t="array" ref="K1500:K1501">A1:A2</f><v>7</v></c>',
     b'<c r="K1500"><v>7</v></c>'),
    (b'<c r="L1500" s="1"><f t="shared" ref="L1500:L1502" si="9">A1500*2</f><v>1</v></c>'
     b'<c r="L1501"><f t="shared" si="9"/><v>2</v></c><c r="L1502"><f t="shared" si="9"/></c>',
     b'<c r="L1500" s="1"><v>1</v></c><c r="L1501"><v>2</v></c><c r="L1502"></c>'),
    # Whitespace around, ">" and an empty formula.
    (b'<c r="M1500" t="str">\n  <f aca="false" >A1 > 0</f >\n  <v>q</v>\n</c>',
     b'<c r="M1500" t="str">\n  \n  <v>q</v>\n</c>'),
    (b"<c r='N1500' t='str'><f ca='1'></f><v>z</v></c>", b"<c r='N1500' t='str'><v>z</v></c>"),
    # An inline string after a formula.
    (b'<c r="O1500" t="inlineStr"><f>B1</f><is><t>hi</t></is></c>',
     b'<c r="O1500" t="inlineStr"><is><t>hi</t></is></c>'),
    # Left alone: a formula after the value, prefixed, holding an element, and one of a
    # cell whose start tag is not plain.
    (b'<c r="P1500"><v>5</v><f>X1</f></c>', None),
    (b'<c r="Q1500"><x:f xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/'
     b'main">A1</x:f><v>6</v></c>', None),
    (b'<c r="R1500" t="str"><f>A1<x/></f><v>r</v></c>', None),
    (b'<c r="S1500" foo="a&amp;b"><f>A1</f><v>8</v></c>', None),
    (b'<x:c r="T1500"><f>A1</f><v>9</v></x:c>', None),
]


def _rows_of(cells: bytes) -> bytes:
    """``cells`` (of rows 1500 to 1502) in their rows."""
    by_row: dict[bytes, list[bytes]] = {}
    for piece in re.split(rb"(?=<(?:x:)?c [^>]*r=[\"'][A-Z]+\d+)", cells):
        if piece:
            row = re.search(rb"r=[\"'][A-Z]+(\d+)", piece)
            assert row is not None
            by_row.setdefault(row[1], []).append(piece)
    return b"".join(b'<row r="%s">%s</row>' % (r, b"".join(c)) for r, c in sorted(by_row.items()))


def test_formulas_are_dropped_exactly() -> None:
    for cell, kept in FORMULA_CELLS:
        xml = HEAD + VALUES + _rows_of(cell) + TAIL
        got = without_formulas(xml)
        # VALUES' own shared master is always dropped.
        base = VALUES.replace(b'<f t="shared" ref="C2:C9" si="0">A2*2</f>', b"")
        if kept is None:
            assert got == HEAD + base + _rows_of(cell) + TAIL, cell
        else:
            assert got == HEAD + base + _rows_of(kept) + TAIL, cell


def test_the_share_of_formulas_is_estimated_from_the_first_rows() -> None:
    row = (b'<row r="%d"><c r="A%d" t="s"><v>1</v></c><c r="U%d" t="str"><f aca="false">'
           + b"LEN(A1)&amp;" * 300 + b'""</f><v></v></c></row>')
    heavy = HEAD + b"".join(row % (r, r, r) for r in range(1, 200)) + TAIL
    assert 0.6 < formula_share(heavy) < 1  # a formula cut by the sample's edge is missed
    assert formula_share(heavy, sample=1 << 30) > 0.9
    light = HEAD + VALUES * 2000 + TAIL
    assert 0.1 < formula_share(light) < 0.25
    assert formula_share(HEAD + TAIL) == 0.0
    assert formula_share(b"<worksheet/>") == 0.0
    # Too little to drop: nothing.
    bare = without_formulas(heavy)
    assert bare is not None and b"<f" not in bare
    assert without_formulas(heavy, len(heavy)) is None


@pytest.mark.parametrize("xml", [
    HEAD + b'<!-- <c r="A3"><f>A1</f><v>1</v></c> -->' + VALUES + TAIL,
    HEAD + VALUES + b'<row r="3"><c r="A3"><v><![CDATA[x]]></v></c></row>' + TAIL,
    HEAD + VALUES + b'<?pi <c r="A3"><f>A1</f></c>?>' + TAIL,
    HEAD + VALUES + b"</sheetData><sheetData>" + VALUES + TAIL,
    HEAD + VALUES + TAIL + b"<sheetData/>",
    HEAD.replace(b"<sheetData>", b"") + VALUES + TAIL,
    HEAD + b'<row r="1"><c r="A1"><v>1</v><f>A2</f></c></row>' + TAIL,
])
def test_any_doubt_and_nothing_is_dropped(xml: bytes) -> None:
    assert without_formulas(xml) is None


@pytest.mark.parametrize(("cell", "kept"), FORMULA_CELLS)
def test_a_dropped_formula_never_mattered_to_calamine(tmp_path: Path, cell: bytes,
                                                      kept: bytes | None) -> None:
    """Pins the reader's behaviour the stripping relies on (python-calamine 0.9.1): a
    town workbook with the cell in its kept rows reads the same with its formulas
    dropped, every cell of every sheet."""
    path = build(tmp_path / "town.xlsx", make_rows(3))
    odd = _with_rows(path, tmp_path / "odd.xlsx", _rows_of(cell))
    bare = assert_strips_the_same(odd, tmp_path)
    name = sheet_parts(path)["项目信息"]
    if kept is not None:
        assert _rows_of(kept) in parts(bare)[name]


def test_all_formula_cells_at_once_read_the_same(tmp_path: Path) -> None:
    path = build(tmp_path / "town.xlsx", make_rows(30))
    cells = b"".join(cell for cell, _ in FORMULA_CELLS)
    odd = _with_rows(path, tmp_path / "odd.xlsx", _rows_of(cells))
    assert_strips_the_same(odd, tmp_path)


def test_the_xlsxwriter_templates_read_the_same_stripped(tmp_path: Path) -> None:
    for n, rows in enumerate((None, make_rows(0), make_rows(200))):
        assert_strips_the_same(build(tmp_path / f"t{n}.xlsx", rows), tmp_path)


@pytest.mark.libreoffice
def test_a_libreoffice_saved_workbook_reads_the_same_stripped(lo_saved: Path,
                                                              tmp_path: Path) -> None:
    """Every sheet of a LibreOffice-saved town workbook (every kept row's check formula
    written out) reads the same without its formulas; the reader's copy of its entry
    sheet has none left in its cells."""
    assert_strips_the_same(lo_saved, tmp_path)
    trimmed = trimmed_package(_guarded(lo_saved)[2])
    assert trimmed is not None
    name = sheet_parts(lo_saved)["项目信息"]
    with zipfile.ZipFile(io.BytesIO(trimmed.buf)) as zf:
        xml = zf.read(name)
    data = xml[xml.index(b"<sheetData"):xml.rindex(b"</sheetData>")]
    assert b"<f" not in data
    assert parts(lo_saved)[name].count(b"<f ") > 30
    assert_reads_the_same(lo_saved, trims=True)


@pytest.mark.libreoffice
def test_a_libreoffice_saved_workbook_with_odd_formulas(lo_saved: Path, tmp_path: Path) -> None:
    cells = b"".join(cell for cell, _ in FORMULA_CELLS if b"AZ1500" not in cell
                     and b"BA1500" not in cell and b"BB1500" not in cell)
    odd = _with_rows(lo_saved, tmp_path / "odd.xlsx", _rows_of(cells))
    assert_strips_the_same(odd, tmp_path)
    assert_reads_the_same(odd, trims=True)

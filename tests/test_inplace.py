"""The XML-level pieces of the in-place writer: cell edits in a worksheet part, the raw
zip copier, calcChain pruning."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from xlz.io.inplace import prune_calc_chain
from xlz.ooxml.sheetxml import Clear, Formula, Number, SheetPatcher, Text
from xlz.ooxml.zipcopy import rewrite

SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<dimension ref="A1:C2"/><cols><col min="4" max="4" width="40" style="9"/></cols>'
    b'<sheetData><row r="1" spans="1:3"><c r="A1" s="1" t="s"><v>0</v></c>'
    b'<c r="C1" s="2"><f>A1&amp;"x"</f><v>1</v></c></row>'
    b'<row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2" s="5" t="s"><v>2</v></c></row>'
    b"</sheetData><conditionalFormatting/></worksheet>"
)


def patched(edits: dict[str, object], keep: bool = False, xml: bytes = SHEET) -> SheetPatcher:
    p = SheetPatcher(xml)
    p.keep_formulas = keep
    for ref, edit in edits.items():
        p.set(ref, edit)  # type: ignore[arg-type]
    return p


def test_no_edit_is_identity() -> None:
    assert SheetPatcher(SHEET).apply() == SHEET


def test_text_inline_style_kept_and_escaped() -> None:
    out = patched({"B2": Text("a<b & \x01c")}).apply()
    # The control character is kept as OOXML's _xHHHH_ (one escaper, xlz.ooxml.xmltext),
    # not dropped: the cell reads back as it was written.
    assert b'<c r="B2" s="5" t="inlineStr"><is><t xml:space="preserve">a&lt;b &amp; _x0001_c'\
        b"</t></is></c>" in out
    assert out.replace(out[out.index(b'<c r="B2"'):out.index(b"</row></sheetData>")], b"") \
        == SHEET.replace(b'<c r="B2" s="5" t="s"><v>2</v></c>', b"")


def test_new_cell_takes_column_style_and_widens() -> None:
    out = patched({"D2": Text("x"), "D5": Number(3)}).apply()
    assert b'<c r="D2" s="9" t="inlineStr">' in out
    assert b'<row r="5"><c r="D5" s="9"><v>3</v></c></row></sheetData>' in out
    assert b'<dimension ref="A1:D5"/>' in out


def test_formula_cell_protected_when_asked() -> None:
    p = patched({"C1": Text("x")}, keep=True)
    assert p.apply() == SHEET and p.skipped == ["C1"]
    p = patched({"C1": Text("x")})
    assert b'<c r="C1" s="2" t="inlineStr">' in p.apply() and p.formulas_removed == ["C1"]


def test_formula_keep_updates_cached_value_only() -> None:
    out = patched({"C1": Formula('A1&"x"', "新值", keep=True)}).apply()
    assert b'<c r="C1" s="2" t="str"><f>A1&amp;"x"</f><v>\xe6\x96\xb0\xe5\x80\xbc</v></c>' in out
    out = patched({"C1": Formula("SUM(A1:A2)", 4, keep=True)}).apply()
    assert b"<f>SUM(A1:A2)</f><v>4</v>" in out


def test_clear_keeps_style_drops_unstyled() -> None:
    out = patched({"B2": Clear(), "A2": Clear()}).apply()
    assert b'<row r="2"><c r="B2" s="5"/></row>' in out


def test_prefixed_namespace_and_rows_without_r() -> None:
    xml = (b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           b"<x:sheetData><x:row><x:c><x:v>1</x:v></x:c></x:row><x:row><x:c/></x:row>"
           b"</x:sheetData></x:worksheet>")
    out = patched({"B2": Text("y")}, xml=xml).apply()
    assert b'<x:row><x:c/><x:c r="B2" t="inlineStr"><x:is><x:t xml:space="preserve">y' in out


def test_empty_sheet_data() -> None:
    xml = SHEET.split(b"<sheetData>")[0] + b"<sheetData/></worksheet>"
    out = patched({"A3": Number(1)}, xml=xml).apply()
    assert b'<sheetData><row r="3"><c r="A3"><v>1</v></c></row></sheetData>' in out


def test_zip_copy_identity_and_replacement(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("one.xml", b"1" * 1000, zipfile.ZIP_DEFLATED)
        zf.writestr("two.bin", b"\x00\x01", zipfile.ZIP_STORED)
        zf.writestr("three.xml", b"3", zipfile.ZIP_DEFLATED)
    data = path.read_bytes()
    out = io.BytesIO()
    rewrite(data, {}, out)
    assert out.getvalue() == data
    out = io.BytesIO()
    rewrite(data, {"two.bin": b"new"}, out)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == ["one.xml", "two.bin", "three.xml"]
        assert zf.read("two.bin") == b"new"
    with zipfile.ZipFile(path) as a, zipfile.ZipFile(out) as b:
        assert a.getinfo("one.xml").compress_size == b.getinfo("one.xml").compress_size


def test_calc_chain_pruning_moves_sheet_index() -> None:
    xml = b'<calcChain><c r="A1" i="1"/><c r="A2"/><c r="C2" i="2"/><c r="C3"/></calcChain>'
    assert prune_calc_chain(xml, "1", ["A1"]) == \
        b'<calcChain><c i="1" r="A2"/><c r="C2" i="2"/><c r="C3"/></calcChain>'
    assert prune_calc_chain(xml, "2", ["C3"]) == \
        b'<calcChain><c r="A1" i="1"/><c r="A2"/><c r="C2" i="2"/></calcChain>'

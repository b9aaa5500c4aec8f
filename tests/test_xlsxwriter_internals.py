"""xlsxwriter's private members that xlz uses (xlz/books/xlsxwriter_internals.py) still
behave as that module expects: the first test to fail when a release changes them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import xlsxwriter

from xlz.books.xlsxwriter_internals import skip_future_function_scan, style_index


def _sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_formulas_are_written_as_given(tmp_path: Path) -> None:
    plain, skipped = tmp_path / "plain.xlsx", tmp_path / "skipped.xlsx"
    for path, skip in ((plain, False), (skipped, True)):
        # With future functions on, xlsxwriter's formula scan prefixes post-2010 names:
        # visible proof that the member being replaced runs, and that it no longer does.
        wb = xlsxwriter.Workbook(str(path), {"use_future_functions": True})
        ws = wb.add_worksheet()
        if skip:
            skip_future_function_scan(ws)
        # CONCAT is post-2010: xlsxwriter's scan prefixes it with _xlfn.
        ws.write_formula(0, 0, '=CONCAT("a","b")', None, "ab")
        ws.write_formula(1, 0, "=SUM(1,2)", None, 3)
        wb.close()
    assert "_xlfn.CONCAT" in _sheet_xml(plain)  # the member being replaced does this
    xml = _sheet_xml(skipped)
    assert "<f>CONCAT(&quot;a&quot;,&quot;b&quot;)</f>" in xml or '<f>CONCAT("a","b")</f>' in xml
    assert "<f>SUM(1,2)</f>" in xml


def test_style_index_is_the_s_attribute_of_cells(tmp_path: Path) -> None:
    path = tmp_path / "styled.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    bold = wb.add_format({"bold": True})
    index = style_index(date)
    assert style_index(bold) != index
    ws.write_number(0, 0, 45000, date)
    wb.close()
    assert f'<c r="A1" s="{index}"' in _sheet_xml(path)

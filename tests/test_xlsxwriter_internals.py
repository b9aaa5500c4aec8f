"""xlsxwriter's private members that xlz uses (xlz/books/xlsxwriter_internals.py) still
behave as that module expects: the first test to fail when a release changes them."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
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


def _rows_both_ways(tmp_path: Path, rows: list[tuple[int, list[tuple[int, object, str | None]]]]
                    ) -> tuple[dict[str, bytes], dict[str, bytes], list[bool]]:
    """The same rows written cell by cell and through RowWriter: every part of both."""
    from xlz.books.xlsxwriter_internals import RowWriter

    parts: list[dict[str, bytes]] = []
    taken: list[bool] = []
    for fast in (False, True):
        path = tmp_path / f"{fast}.xlsx"
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        formats = {"bold": wb.add_format({"bold": True}), "pct": wb.add_format({"num_format": "0%"}),
                   "col": wb.add_format({"italic": True})}
        ws = wb.add_worksheet()
        ws.set_column(3, 3, 12, formats["col"])  # a column format styles plain cells
        ws.write_string(0, 0, "header", formats["bold"])
        writer = RowWriter(ws)
        for row, cells in rows:
            styled = [(col, value, formats[f] if f else None) for col, value, f in cells]
            if fast and writer.write(row, styled):
                taken.append(True)
                continue
            writer.flush()
            if fast:
                taken.append(False)
            for col, value, fmt in styled:
                if value is None:
                    ws.write_blank(row, col, None, fmt)
                elif isinstance(value, str):
                    ws.write_string(row, col, value, fmt)
                else:
                    ws.write(row, col, value, fmt)
        writer.flush()
        ws.write_string(rows[-1][0] + 1, 0, "after", formats["bold"])
        wb.set_properties({"created": dt.datetime(2024, 1, 1)})
        wb.close()
        with zipfile.ZipFile(path) as zf:
            parts.append({n: zf.read(n) for n in zf.namelist()})
    return parts[0], parts[1], taken


def test_row_writer_writes_what_the_per_cell_calls_write(tmp_path: Path) -> None:
    texts = ["plain", " lead", "trail ", "a\nb", "tab\t", "&<>\"'", "_x0041_ stays",
             "ctrl\x01\x1f", "bad\ufffe\uffff", "emoji 😀", "", "中文 测试", "=1+1",
             "<r>not rich</r>x", "x" * 100, " long & not cached " * 30]
    numbers = [0, 1, -1, 2**53 + 1, 10**20, 0.1 + 0.2, 1 / 3, -0.0, 1e-300, 123456.789]
    rows: list[tuple[int, list[tuple[int, object, str | None]]]] = []
    for i, text in enumerate(texts):
        rows.append((i + 1, [(0, text, None), (1, text, "bold"), (3, text, None)]))
    base = len(rows) + 1
    for i, number in enumerate(numbers):
        rows.append((base + i, [(0, number, None), (2, number, "pct"), (3, number, None),
                                (4, None, "bold"), (5, None, None)]))
    # Rows RowWriter refuses (a rich-string look-alike, a date, a bool, NaN, columns out
    # of order): written cell by cell instead, with nothing changed before.
    base += len(numbers) + 2  # a gap of empty rows too
    rows += [(base, [(0, "<r>rich?</r>", "bold")]),
             (base + 1, [(0, dt.date(2024, 5, 1), None), (1, "new style", "pct")]),
             (base + 2, [(0, True, None)]),
             (base + 3, [(0, float("inf") - float("inf"), None)]),
             (base + 4, [(2, "b", None), (1, "a", None)]),
             (base + 5, [(0, None, None)]),
             (base + 6, [(0, "last", None)])]
    slow, fast, taken = _rows_both_ways(tmp_path, rows[:-4] + rows[-3:])  # not the NaN
    assert slow == fast
    assert taken.count(False) == 4 and taken.count(True) == len(taken) - 4


def test_row_writer_refuses_a_row_xlsxwriter_has_state_for(tmp_path: Path) -> None:
    from xlz.books.xlsxwriter_internals import RowWriter

    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"), {"constant_memory": True})
    ws = wb.add_worksheet()
    ws.set_row(2, 30)
    ws.write_string(1, 0, "begun")
    writer = RowWriter(ws)
    assert not writer.write(1, [(1, "x", None)])  # the row xlsxwriter is still filling
    assert not writer.write(0, [(0, "x", None)])  # behind it (constant_memory drops it)
    assert not writer.write(2, [(0, "x", None)])  # a row height
    assert not writer.write(3, [(0, "x" * 20_000, None)])  # text xlsxwriter may cut
    assert not writer.write(3, [(0, float("nan"), None)])  # xlsxwriter raises
    assert writer.write(3, [(0, "x", None)])
    writer.flush()
    wb.close()
    with pytest.raises(ValueError):
        RowWriter(xlsxwriter.Workbook(str(tmp_path / "y.xlsx")).add_worksheet())

"""Shared formulas: the row translator against Excel's rules (and openpyxl's own
translator), the runs the generator proves, and the written town workbook as calamine,
openpyxl, the in-place writer and LibreOffice see it."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.formula.translate import Translator
from python_calamine import CalamineWorkbook

from xlz.books.townbook import build_town_workbook
from xlz.core import formulas as fx
from xlz.core.entries import ENTRY_SHEETS, PROJECTS, EntrySheet
from xlz.core.plan import load_plan
from xlz.ooxml.sharedformula import Run, row_shifter, shared_runs
from xlz.ooxml.sharedxml import CHILD_PLACEHOLDER, share_column
from xlz.ooxml.sheetxml import Formula, SheetPatcher, Text

PLAN = load_plan()


def shift(formula: str, n: int) -> str | None:
    shifter = row_shifter(formula)
    assert shifter is not None, formula
    return shifter(n)


@pytest.mark.parametrize(("formula", "moved"), [
    ("=A1+B$2+$C3+$D$4", "=A6+B$2+$C8+$D$4"),
    ("=SUM(B5:S5)", "=SUM(B10:S10)"),
    ("=SUMPRODUCT(--(TRIM(B$2:B4)=TRIM(B5)))", "=SUMPRODUCT(--(TRIM(B$2:B9)=TRIM(B10)))"),
    ('=IF(A1="B5",ROW()&"C7","")', '=IF(A6="B5",ROW()&"C7","")'),  # text is never moved
    ('="say ""A1"""&A1', '="say ""A1"""&A6'),
    ("='A1 sheet'!B5+'it''s B2'!C$3", "='A1 sheet'!B10+'it''s B2'!C$3"),
    ("=Sheet1!A1", "=Sheet1!A6"),
    ("=TRIM(项目类别)=TRIM(C2)", "=TRIM(项目类别)=TRIM(C7)"),  # defined name untouched
    ("=LOG10(A1)+XYZ1+TAX2023X+_xlfn.X1", "=LOG10(A6)+XYZ1+TAX2023X+_xlfn.X1"),
    ("=MID(A1,2,2000)", "=MID(A6,2,2000)"),
    ("=A:A", "=A:A"),
    ("=a1", "=a6"),
])
def test_row_shifter_moves_what_excel_moves(formula: str, moved: str) -> None:
    assert shift(formula, 5) == moved
    assert shift(moved, -5) == formula


def test_row_shifter_declines_what_it_does_not_model() -> None:
    assert row_shifter("=SUM(2:5)") is None  # whole rows
    assert row_shifter("=SUM($2:$5)") is None
    assert row_shifter("=SUM(Table1[金额])") is None
    assert row_shifter("=A0") is None
    assert row_shifter("=A1048577") is None
    assert shift("=A1", -1) is None  # would be #REF!
    assert shift("=A1048576", 1) is None
    assert shift("=A$1", -1) == "=A$1"  # absolute rows stay


@pytest.mark.parametrize("sheet", ENTRY_SHEETS, ids=lambda s: s.key)
def test_live_checks_shift_as_openpyxl_translates(sheet: EntrySheet) -> None:
    """A second, independent translator agrees on every live check we share."""
    rules = fx.live_rules(PLAN, sheet)
    col = fx.letters(sheet)["live_check"]
    master = fx.live_check_formula(PLAN, sheet, 3, rules)
    for row in (4, 5, 77, fx.last_row(sheet)):
        want = Translator(master, origin=f"{col}3").translate_formula(f"{col}{row}")
        assert shift(master, row - 3) == want == fx.live_check_formula(PLAN, sheet, row, rules)


def test_shared_runs_split_where_the_formula_changes() -> None:
    rows = [(2, "=A2"), (3, "=A3+B$2"), (4, "=A4+B$2"), (5, "=A5+B$2"), (7, "=A7+B$2"),
            (8, "=A8+B$3"), (9, "=SUM(2:3)"), (10, "=SUM(2:3)")]
    assert shared_runs(rows) == [Run(2, 2), Run(3, 5), Run(7, 7), Run(8, 8), Run(9, 9),
                                 Run(10, 10)]
    assert [r.shared for r in shared_runs(rows)] == [False, True, False, False, False, False]
    assert shared_runs([]) == []


@pytest.mark.parametrize("sheet", ENTRY_SHEETS, ids=lambda s: s.key)
def test_every_prepared_row_is_covered_once(sheet: EntrySheet) -> None:
    rules = fx.live_rules(PLAN, sheet)
    formulas = [(r, fx.live_check_formula(PLAN, sheet, r, rules))
                for r in range(2, fx.last_row(sheet) + 1)]
    runs = shared_runs(formulas)
    covered = [r for run in runs for r in range(run.first, run.last + 1)]
    assert covered == [r for r, _ in formulas]
    # row 2 has no duplicate check (nothing above it), so it stands alone when the sheet
    # has a uniqueness rule; everything below is one shared run
    assert runs[-1] == Run(runs[-1].first, fx.last_row(sheet)) and runs[-1].first <= 3


def test_share_column_rewrites_only_the_formula_elements() -> None:
    xml = ('<sheetData><row r="2"><c r="B2" s="3"><f>A2</f><v>1</v></c></row>'
           '<row r="3"><c r="A3" t="s"><v>0</v></c><c r="B3" s="3"><f>""</f><v>2</v></c>'
           '</row><row r="4"><c r="B4" s="3" t="str"><f>""</f><v>x</v></c></row></sheetData>')
    assert CHILD_PLACEHOLDER == '""'
    out, si = share_column(xml, "B", [Run(2, 4)], 0)
    assert si == 1
    assert out == ('<sheetData><row r="2"><c r="B2" s="3"><f t="shared" ref="B2:B4" si="0">'
                   'A2</f><v>1</v></c></row><row r="3"><c r="A3" t="s"><v>0</v></c>'
                   '<c r="B3" s="3"><f t="shared" si="0"/><v>2</v></c></row><row r="4">'
                   '<c r="B4" s="3" t="str"><f t="shared" si="0"/><v>x</v></c></row>'
                   "</sheetData>")
    assert share_column(xml, "B", [Run(2, 2), Run(3, 3)], 0) == (xml, 0)
    with pytest.raises(ValueError):
        share_column(xml, "C", [Run(2, 3)], 0)
    with pytest.raises(ValueError, match="B4 holds a formula"):  # never drop a real one
        share_column(xml.replace('<f>""</f><v>x', "<f>A4</f><v>x"), "B", [Run(2, 4)], 0)


# ------------------------------------------------------------ the written workbook


BAD = {"project": [{"name": "甲", "category": "科技类"}, {"name": "甲"}, {},
                   *({"name": f"项目{i}", "category": "科创类"} for i in range(20))]}


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_town_workbook(PLAN, "dingyan", tmp_path_factory.mktemp("shared") / "t.xlsx",
                               BAD)


def _sheet_xml(path: Path, index: int) -> str:
    return zipfile.ZipFile(path).read(f"xl/worksheets/sheet{index}.xml").decode()


def test_town_sheets_hold_one_shared_formula_each(town: Path) -> None:
    for index, sheet in enumerate(ENTRY_SHEETS, start=2):
        xml = _sheet_xml(town, index)
        col, last = fx.letters(sheet)["live_check"], fx.last_row(sheet)
        masters = re.findall(r'<f t="shared" ref="([A-Z]+\d+:[A-Z]+\d+)" si="0">', xml)
        first = int(masters[0].split(":")[0][len(col):])
        # every prepared row holds the same check, moved (order-independent: see
        # test_live_checks), so the run starts on the first row
        assert masters == [f"{col}2:{col}{last}"]
        assert xml.count('<f t="shared" si="0"/>') == last - first
        assert xml.count("<f>") == first - 2 == 0
    assert len(_sheet_xml(town, 2)) < 200_000  # was 3.8 MB with a formula per row


def test_readers_see_cached_values_and_formulas(town: Path) -> None:
    """calamine reads every cached verdict (shared children included); openpyxl expands
    the shared formulas back into exactly the generator's formulas."""
    from xlz.books.townbook import town_state

    validation, _ = town_state(PLAN, "dingyan", BAD)
    expected = fx.live_check_values(PLAN, PROJECTS, validation.report)
    grid = CalamineWorkbook.from_path(str(town)).get_sheet_by_name(PROJECTS.name).to_python()
    live = list(PROJECTS.columns).index(PROJECTS.column("live_check"))
    got = {r: row[live] for r, row in enumerate(grid, start=1) if r > 1 and row[live]}
    assert got == expected and {3, 5, 6} <= set(got)  # rows 5 and 6 are shared children
    assert len(grid) == 1 + len(BAD["project"])  # empty prepared rows stay empty
    ws = openpyxl.load_workbook(town)[PROJECTS.name]
    col = fx.letters(PROJECTS)["live_check"]
    rules = fx.live_rules(PLAN, PROJECTS)
    for row in (2, 3, 4, 5, 999, 1001):
        assert ws[f"{col}{row}"].value == fx.live_check_formula(PLAN, PROJECTS, row, rules)


def test_in_place_writer_keeps_shared_formulas(town: Path) -> None:
    xml = _sheet_xml(town, 2).encode()
    col = fx.letters(PROJECTS)["live_check"]
    findings = fx.letters(PROJECTS)["findings"]
    p = SheetPatcher(xml)
    p.keep_formulas = True
    p.set(f"{col}5", Text("x"))  # refused: a live formula
    p.set(f"{findings}5", Text("【错误】…"))
    p.set(f"{col}6", Formula("whatever", "新", keep=True))  # a child keeps its <f/>
    out = p.apply().decode()
    assert p.skipped == [f"{col}5"] and p.formulas_kept == [f"{col}6"]
    assert re.search(f'<c r="{col}6" s="\\d+" t="str"><f t="shared" si="0"/><v>新</v></c>', out)
    assert out.count('<f t="shared" si="0"/>') == xml.decode().count('<f t="shared" si="0"/>')


@pytest.mark.libreoffice
def test_libreoffice_expands_shared_formulas(town: Path) -> None:
    from tests.lo import harness

    refs = [f"{s.name}!{fx.letters(s)['live_check']}{r}"
            for s in ENTRY_SHEETS for r in (2, 3, 4, 50, fx.last_row(s))]
    got = harness.recalc_and_read(town, refs)
    for sheet in ENTRY_SHEETS:
        col = fx.letters(sheet)["live_check"]
        for row in (2, 3, 4, 50, fx.last_row(sheet)):
            cell = got[f"{sheet.name}!{col}{row}"][f"{col}{row}"]
            assert _lo_spelling(fx.live_check_formula(PLAN, sheet, row)) == cell["formula"], \
                (sheet.name, row)


def _lo_spelling(formula: str) -> str:
    """LibreOffice writes FALSE() and leaves plain sheet names unquoted."""
    formula = re.sub(r"\b(TRUE|FALSE)\b(?!\()", r"\1()", formula)
    return re.sub(r"'([^'!]+)'!", r"\1!", formula)

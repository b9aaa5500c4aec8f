"""One escaper for text in sheet XML (xlz.ooxml.xmltext): a clerk's literal ``_x0041_``,
a control character and a carriage return read back unchanged from what xlz writes —
the city workbook's fast rows and the cells ``validate`` writes in place (issue 10)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.escape import unescape

from tests.xlz_books import sheet
from xlz.books.townbook import build_town_workbook
from xlz.core import layout as L
from xlz.core.plan import load_plan
from xlz.ooxml.sheetxml import SheetPatcher, Text
from xlz.ooxml.xmltext import xml_text
from xlz.ops.consolidate import consolidate
from xlz.ops.demo import sample_entries
from xlz.ops.workbook import validate

PLAN = load_plan()
# What a clerk may type (or paste) that XML cannot carry as it is.
TRICKY = ["_x0041_", "项目_x005F_乙", "甲\x01乙", "回车\r换行", "_xD800_ 与 _x00e9_"]
# The validator normalises whitespace in names (a carriage return becomes a space) before
# the city workbook: that is the domain's choice, not the escaper's, so not checked there.
CITY_TRICKY = [v for v in TRICKY if "\r" not in v]


def openpyxl_texts(path: Path, sheet: str) -> set[str]:
    """Every text cell of ``sheet`` as openpyxl reads it, decoded with openpyxl's own
    ST_Xstring decoder: openpyxl 3.1 returns ``<t>`` text without decoding
    ``_xHHHH_`` (it shows ``a_x0001_b`` for a control character that Excel shows as
    one), so its raw value is not what a clerk sees in Excel."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {unescape(v) for row in book[sheet].iter_rows(values_only=True)
                for v in row if isinstance(v, str)}
    finally:
        book.close()


@pytest.mark.parametrize(("value", "xml"), [
    ("plain 文本", "plain 文本"),
    ("_x0041_", "_x005F_x0041_"),
    ("_x00e9_", "_x005F_x00e9_"),
    ("_x41_", "_x41_"),  # not four hex digits: not an escape, left alone
    ("a\x01b", "a_x0001_b"),
    ("a\rb", "a_x000D_b"),
    ("tab\tnew\nline", "tab\tnew\nline"),
    ("<&>", "&lt;&amp;&gt;"),
    ("\ud800", "_xD800_"),  # a lone surrogate (not from a read workbook: calamine gives UTF-8)
    ("\uffff", "_xFFFF_"),
])
def test_xml_text(value: str, xml: str) -> None:
    assert xml_text(value) == xml
    xml_text(value).encode("utf-8")  # always encodable, surrogates included


def test_in_place_patcher_and_fast_rows_escape_alike() -> None:
    from xlz.ooxml.fastrows import cells

    sheet = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             b"<sheetData/></worksheet>")
    for value in TRICKY:
        patcher = SheetPatcher(sheet)
        patcher.set("A1", Text(value))
        assert f">{xml_text(value)}</t>".encode() in patcher.apply()
        assert f">{xml_text(value)}</t>" in cells([value], 1)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inbox = tmp_path_factory.mktemp("inbox")
    entries = sample_entries(PLAN, "dingyan")
    for row, name in zip(entries["project"], CITY_TRICKY, strict=False):
        row["name"] = name
    build_town_workbook(PLAN, "dingyan", inbox / "丁堰镇.xlsx", entries)
    out = tmp_path_factory.mktemp("city") / "汇总.xlsx"
    result = consolidate([inbox], out, PLAN)
    assert [f.status for f in result.consolidation.files] == ["accepted"]
    return out


def test_city_workbook_keeps_clerk_text_calamine(city: Path) -> None:
    rows = sheet(city, L.CITY_PROJECTS)
    column = rows[0].index("项目名称")
    names = {r[column] for r in rows[1:]}
    for value in CITY_TRICKY:
        assert value in names, value


def test_city_workbook_keeps_clerk_text_openpyxl(city: Path) -> None:
    texts = openpyxl_texts(city, L.CITY_PROJECTS)
    for value in CITY_TRICKY:
        assert value in texts, value


def test_city_workbook_writes_the_escape_excel_writes(city: Path) -> None:
    with zipfile.ZipFile(city) as zf:
        xml = b"".join(zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/"))
    assert b"_x005F_x0041_" in xml and b"\x01" not in xml


def test_validate_in_place_writes_clerk_text_back_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "丁堰镇.xlsx"
    entries = sample_entries(PLAN, "dingyan")
    for row, value in zip(entries["project"], TRICKY, strict=False):
        row["phone"] = value  # not a phone number: 校验结果 quotes it in 填写内容
    build_town_workbook(PLAN, "dingyan", path, entries)
    validate(path, plan=PLAN)
    rows = sheet(path, L.RESULTS)
    column = rows[0].index("填写内容")
    quoted = {r[column] for r in rows[1:]}
    texts = openpyxl_texts(path, L.RESULTS)
    for value in TRICKY:
        assert value in quoted, value
        assert value in texts, value

"""Test helpers for the in-place engine: town workbooks with entries, and a cell-level
comparison of two packages (every zip part, and inside worksheet parts every cell)."""

from __future__ import annotations

import atexit
import datetime as dt
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from xlz import load_plan
from xlz.core.cells import cell_ref, parse_ref

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

ENTRIES: dict[str, list[dict[str, Any]]] = {
    "project": [
        {"name": "合成生物中试平台", "category": "科创类", "field": "生物医药", "origin": "上海",
         "status": "已签约", "signed": "2023-03-05", "invention_patents": 2,
         "prereview": "预审通过"},
        {"name": "项目乙", "category": "错类", "field": "生物医药", "origin": "上海",
         "status": "洽谈中"},
        {"name": "合成生物中试平台", "category": "人才类", "origin": "北京", "status": "已注册"},
        {"name": "=HYPERLINK(\"http://x\")", "category": "服务类", "field": "其他",
         "origin": "深圳", "status": "洽谈中"},
    ],
    "carrier": [
        {"name": "如皋合成生物孵化器", "method": "新建载体", "level": "省级",
         "type": "专业孵化器", "specialty": "合成生物", "area": 5000},
        {"name": "载体乙", "method": "升级", "area": "很大"},
    ],
    "activity": [
        {"name": "上海恳谈会", "month": 3, "host": "丁堰镇"},
    ],
}


# 填报信息 on 填报说明 (standard 2), as a clerk types it.
GUIDE: dict[str, Any] = {"reporter": "王芳", "phone": "0513-87654321",
                         "as_of": dt.date(2023, 6, 30)}

_BUILT: dict[str, Path] = {}  # (town, entries) → a workbook built once per test session


def _session_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="xlz-books-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


_CACHE: list[Path] = []


def build(path: Path, entries: dict[str, list[dict[str, Any]]] | None = None,
          town: str = "dingyan") -> Path:
    """A town workbook with ``entries`` (default :data:`ENTRIES`) at ``path``.

    Generating one takes most of a second; each distinct (town, entries) is generated
    once per test session and copied, so every caller still gets its own file to change.
    (Generation is deterministic but for the ``xlz.generated`` time stamp.)"""
    from xlz.books.townbook import build_town_workbook

    entries = ENTRIES if entries is None else entries
    if "guide" not in entries:  # 数据截至日期 is required (standard 2): a clerk fills it
        entries = {**entries, "guide": [GUIDE]}
    key = json.dumps([town, entries], sort_keys=True, ensure_ascii=False, default=str)
    built = _BUILT.get(key)
    if built is None:
        if not _CACHE:
            _CACHE.append(_session_dir())
        built = _CACHE[0] / f"{len(_BUILT)}.xlsx"
        build_town_workbook(load_plan(), town, built, entries=entries)
        _BUILT[key] = built
    shutil.copyfile(built, path)
    return path


def make_rows(n: int) -> dict[str, list[dict[str, Any]]]:
    """``n`` project rows, about one in ten with a problem (a malformed phone number)."""
    field = load_plan().field_names[0]
    rows = []
    for i in range(n):
        rows.append({
            "name": f"项目{i:05d}", "category": ("科创类", "人才类", "服务类", "平台类")[i % 4],
            "field": field, "origin": "上海", "status": ("已签约", "洽谈中")[i % 2],
            "signed": "2023-05-01" if i % 2 == 0 else None, "leader": "张三",
            "host": "某研究院", "invention_patents": i % 3, "prereview": "预审通过",
            "phone": "13800000000" if i % 10 else "12345",
        })
    return {"project": rows}


def build_big(path: Path, n: int) -> Path:
    """A town workbook with ``n`` project rows: the template's prepared rows filled by the
    generator, the rest pasted below them (as a clerk pasting a long list does)."""
    from xlz.core.entries import PROJECTS
    from xlz.core.layout import ENTRY_CAPACITY
    from xlz.io.inplace import patch_package
    from xlz.ooxml.sheetxml import Edit, Number, Text

    rows = make_rows(n)["project"]
    capacity = ENTRY_CAPACITY["project"]
    build(path, {"project": rows[:capacity]})
    keys = [c.key for c in PROJECTS.columns]
    edits: dict[str, Edit] = {}
    for i, row in enumerate(rows[capacity:], start=capacity + 2):
        for key, value in row.items():
            if value is None:
                continue
            ref = cell_ref(i, keys.index(key))
            edits[ref] = Number(value) if isinstance(value, int) else Text(str(value))
    if edits:
        patch_package(path, {PROJECTS.name: edits})
    return path


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet name → worksheet part name."""
    with zipfile.ZipFile(path) as zf:
        from xlz.io.inplace import sheet_parts as parse

        return {name: part for name, (part, _) in parse(zf.read).items()}


def cells(xml: bytes) -> dict[str, str]:
    """Cell ref → the cell's canonical XML (attributes and content), for comparisons."""
    root = ET.fromstring(xml)
    out = {}
    for c in root.iter(f"{NS}c"):
        out[c.get("r") or ""] = ET.tostring(c, encoding="unicode")
    return out


def outside_sheet_data(xml: bytes) -> str:
    """The part's text without sheetData and dimension (both may change legitimately)."""
    text = xml.decode("utf-8")
    text = re.sub(r"<(\w+:)?sheetData\b.*?</(\w+:)?sheetData>|<(\w+:)?sheetData/>", "",
                  text, flags=re.S)
    return re.sub(r'<(\w+:)?dimension ref="[^"]*"/>', "", text)


Reserved = Callable[[str, str], bool]  # (sheet name, cell ref) → may change


def diff(before: Path, after: Path, reserved: Reserved) -> list[str]:
    """Everything that differs between two packages except reserved cells: part list and
    order, every non-sheet part byte for byte, sheet parts outside sheetData, and every
    cell not reserved."""
    a, b = parts(before), parts(after)
    problems = []
    if list(a) != list(b):
        problems.append(f"part list differs: {list(a)} vs {list(b)}")
    by_part = {part: name for name, part in sheet_parts(before).items()}
    for part, data in a.items():
        new = b.get(part)
        if new is None or new == data:
            continue
        sheet = by_part.get(part)
        if sheet is None:
            problems.append(f"{part} changed")
            continue
        if outside_sheet_data(data) != outside_sheet_data(new):
            problems.append(f"{part} ({sheet}) changed outside sheetData")
        old_cells, new_cells = cells(data), cells(new)
        for ref in sorted(set(old_cells) | set(new_cells)):
            if old_cells.get(ref) != new_cells.get(ref) and not reserved(sheet, ref):
                problems.append(f"{sheet}!{ref}: {old_cells.get(ref)} → {new_cells.get(ref)}")
    return problems


def validation_reserved(sheet: str, ref: str) -> bool:
    row, col = parse_ref(ref)
    if sheet == "填报说明":
        return col == 1 and 6 <= row <= 9
    if sheet in ("项目信息", "孵化载体", "招商活动"):
        from xlz.core.entries import entry_sheet

        columns = entry_sheet(sheet).columns
        return row >= 2 and columns[col].key == "findings" if col < len(columns) else False
    if sheet == "校验结果":
        return row >= 2 and col < 7
    return False


def fill_reserved(sheet: str, ref: str) -> bool:
    row, col = parse_ref(ref)
    if sheet == "任务分解":
        return 2 <= row <= 6 and 1 <= col <= 4
    if sheet == "载体汇总":
        return row >= 2 and col < 7
    return False


def values(path: Path, sheet: str) -> list[list[Any]]:
    from xlz.io.read import read_workbook

    data = read_workbook(path)
    v = data.sheets[sheet]
    pad: list[list[Any]] = [[None] * 30 for _ in range(v.first_row - 1)]
    return pad + [[None] * v.first_col + list(r) for r in v.rows]


def column(rows: Iterable[list[Any]], index: int) -> list[Any]:
    return [r[index] if index < len(r) else None for r in rows]


# --- what a button writes, against what the file writer wrote ------------------------------

STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def block_cells(blocks: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    """Cell → value of the blocks an add-in endpoint returns (``xlz.ops.live_edits.Block``
    as JSON: sheet, 1-based row, 0-based col, values)."""
    cells: dict[tuple[str, str], Any] = {}
    for block in blocks:
        for i, row in enumerate(block["values"]):
            for j, value in enumerate(row):
                cells[(block["sheet"], cell_ref(block["row"] + i, block["col"] + j))] = value
    return cells


def compare_cells(cells: dict[tuple[str, str], Any], written_file: Path, *,
                  any_stamp: bool = False) -> int:
    """Assert every written cell holds what ``written_file`` (the file ``xlz validate`` /
    ``xlz fill`` wrote) holds there; the number of cells compared. ``any_stamp``: a
    check time (``YYYY-MM-DD HH:MM:SS``) matches any check time (the server takes its
    own clock)."""
    import pytest
    from openpyxl import load_workbook

    wb = load_workbook(written_file)
    for (sheet, ref), value in cells.items():
        expected = wb[sheet][ref].value
        if isinstance(value, str) and value.startswith("'"):
            value = value[1:]  # Excel's own text marker, not part of the value
        if isinstance(expected, str) and expected.startswith("="):
            assert value == expected, (sheet, ref)
        elif expected is None:
            assert value in (None, ""), (sheet, ref, value)
        elif isinstance(expected, (int, float)) and not isinstance(expected, bool):
            assert value == pytest.approx(expected), (sheet, ref)
        elif any_stamp and isinstance(expected, str) and STAMP.match(expected):
            assert isinstance(value, str) and STAMP.match(value), (sheet, ref, value)
        else:
            assert value == expected, (sheet, ref)
    return len(cells)


def wps_payload(path: Path) -> dict[str, Any]:
    """What the WPS add-in (``xlz/web/wps/xlz-wps.js``) sends for ``path`` open in WPS: every
    sheet's ``UsedRange.Value2`` from A1 (dates as Excel serial numbers, empty cells
    null), the book's name and its ``xlz.*`` custom document properties."""
    import python_calamine as pc

    from xlz.io.read import file_properties

    epoch = dt.datetime(1899, 12, 30)

    def value2(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return (value - epoch).total_seconds() / 86400
        if isinstance(value, dt.date):
            return float((value - epoch.date()).days)
        if isinstance(value, dt.time):
            return (value.hour * 3600 + value.minute * 60 + value.second) / 86400
        return None if value == "" else value

    wb = pc.CalamineWorkbook.from_path(str(path))
    sheets = []
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        width = max((len(r) for r in rows), default=1)
        values = [[value2(v) for v in r] + [None] * (width - len(r)) for r in rows] or [[None]]
        sheets.append({"name": name, "row": 1, "col": 1, "values": values})
    return {"name": path.name, "path": f"C:\\Users\\文员\\Documents\\{path.name}",
            "properties": file_properties(path), "sheets": sheets}


def sheet(path: Path, name: str) -> list[list[Any]]:
    """The values of one sheet of a workbook, as python-calamine reads them."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    try:
        rows: list[list[Any]] = book.get_sheet_by_name(name).to_python()
        return rows
    finally:
        book.close()

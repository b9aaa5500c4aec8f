"""The add-in's xlwings entry points, run against real xlwings Book objects.

xlwings' remote engine builds a Book from a JSON description of a workbook and
records the actions (cell writes) it would send to Excel. It is part of xlwings PRO
and needs a license key; the literal key ``noncommercial`` is permitted here because
PolyForm Noncommercial 1.0 names government institutions among the permitted users
(see docs/install-guide.md). The add-in's RunPython path itself (COM engine) needs no
key.

Each test reads a real generated template into that JSON, runs the entry point, and
checks the recorded actions against what ``xlz validate`` / ``xlz fill`` write into a
copy of the same file.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

xw = pytest.importorskip("xlwings")

import python_calamine as pc  # noqa: E402

import xlz  # noqa: E402
from tests.xlz_books import GUIDE, compare_cells  # noqa: E402
from xlz import live  # noqa: E402
from xlz.books.townbook import build_town_workbook  # noqa: E402
from xlz.core.cells import cell_ref  # noqa: E402
from xlz.ops import live_edits  # noqa: E402

NOW = dt.datetime(2023, 6, 30, 17, 0, 0)
PLAN = xlz.load_plan()
ISO_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def _project(i: int, **over: Any) -> dict[str, Any]:
    base = {"seq": i, "name": f"测试项目{i}", "category": "科创类", "field": "氢能",
            "origin": "上海", "status": "已签约", "signed": dt.date(2023, 3, 1 + i % 27),
            "invention_patents": 1, "utility_patents": 5, "prereview": "预审通过"}
    return {**base, **over}


def _entries(bad: int) -> dict[str, list[dict[str, Any]]]:
    projects = [_project(i) for i in range(1, 11)]
    for i in range(bad):  # empty 项目类别 and a dangling 落户载体: one error, one warning
        projects.append(_project(100 + i, category=None, carrier="不存在的载体"))
    carriers = [{"seq": 1, "name": "凤凰科创园", "method": "新建载体", "level": "省级",
                 "type": "众创空间", "area": 5000, "progress": "在建"}]
    return {"project": projects, "carrier": carriers, "guide": [GUIDE]}


def _jsonable(value: Any) -> Any:
    # The remote protocol carries dates as ISO strings ending in "Z". It also reads any
    # text of that shape as a date (the 'xlz.generated' text on _xlz is one), so such
    # text is sent the way the protocol would deliver it.
    if isinstance(value, dt.datetime):
        return value.isoformat() + "Z"
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time()).isoformat() + "Z"
    if isinstance(value, str) and ISO_TEXT.match(value):
        return value + "Z"
    return None if value == "" else value


def book_json(path: Path) -> dict[str, Any]:
    """A remote-engine description of a workbook file: every sheet's values from A1."""
    wb = pc.CalamineWorkbook.from_path(str(path))
    sheets = []
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        width = max((len(r) for r in rows), default=0)
        values = [[_jsonable(v) for v in r] + [None] * (width - len(r)) for r in rows] or [[]]
        sheets.append({"name": name, "values": values, "pictures": [], "tables": [],
                       "shapes": [], "charts": [], "notes": [], "print_area": None})
    return {"client": "Microsoft Office Scripts", "version": xw.__version__,
            "book": {"name": path.name, "active_sheet_index": 0, "selection": "A1"},
            "names": [], "sheets": sheets}


def _book(path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    # The key itself is set in tests/conftest.py, before xlwings is first imported.
    return xw.Book(json=book_json(path))


def _written(book: Any) -> dict[tuple[str, str], Any]:
    """Cell → value the recorded actions write (one action per block)."""
    names = [s.name for s in book.sheets]
    cells: dict[tuple[str, str], Any] = {}
    for action in book.json()["actions"]:
        assert action["func"] in ("setValues", "setFormula")
        sheet = names[action["sheet_position"]]
        for i, row in enumerate(action["values"]):
            for j, value in enumerate(row):
                ref = cell_ref(action["start_row"] + 1 + i, action["start_column"] + j)
                cells[(sheet, ref)] = value
    return cells


def _compare(book: Any, written_file: Path) -> int:
    return compare_cells(_written(book), written_file)


@pytest.fixture
def town_file(tmp_path: Path) -> Path:
    return build_town_workbook(PLAN, "dingyan", tmp_path / "丁堰镇.xlsx", _entries(bad=3))


def test_validate_book_writes_what_xlz_validate_writes(town_file: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    book = _book(town_file, monkeypatch)
    report = live.validate_book(book, now=NOW)
    copy = tmp_path / "file" / town_file.name
    copy.parent.mkdir()
    shutil.copy(town_file, copy)
    result = xlz.validate(copy, now=NOW)
    assert [f.to_dict() for f in report.sorted()] == [f.to_dict() for f in result.report.sorted()]
    assert report.counts() == {"错误": 3, "提醒": 3}
    assert _compare(book, copy) > 0
    written = _written(book)
    assert written[("填报说明", "B6")] == "有错误"
    assert any(isinstance(v, str) and "项目类别" in v for (s, _), v in written.items()
               if s == "项目信息")


def test_calls_grow_with_sheets_not_cells(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    for bad in (2, 60):
        path = build_town_workbook(PLAN, "motou", tmp_path / f"磨头镇{bad}.xlsx",
                                   _entries(bad=bad))
        book = _book(path, monkeypatch)
        report = live.validate_book(book, now=NOW)
        assert report.counts()["错误"] == bad
        calls.append(len(book.json()["actions"]))
    assert calls[0] == calls[1] <= 5  # 项目信息, 校验结果, 填报说明 (+ others when stale)


def test_fill_book_writes_what_xlz_fill_writes(town_file: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    book = _book(town_file, monkeypatch)
    live.fill_book(book)
    copy = tmp_path / "copy.xlsx"
    shutil.copy(town_file, copy)
    xlz.fill(copy)
    assert _compare(book, copy) > 0
    written = _written(book)
    sheets = {s for s, _ in written}
    assert sheets <= {"任务分解", "载体汇总"}
    assert ("载体汇总", "E2") in written and written[("载体汇总", "E2")] == "省级众创空间"
    assert len(book.json()["actions"]) == 2


def test_not_a_template_is_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    data = {"client": "Microsoft Office Scripts", "version": xw.__version__,
            "book": {"name": "别的表.xlsx", "active_sheet_index": 0, "selection": "A1"},
            "names": [], "sheets": [{"name": "Sheet1", "values": [["项目名称"], ["x"]],
                                     "pictures": [], "tables": [], "shapes": [], "charts": [],
                                     "notes": [], "print_area": None}]}
    book = xw.Book(json=data)
    report = live.validate_book(book, now=NOW)
    assert any(f.code == "file.not_template" for f in report)
    assert book.json()["actions"] == []
    assert "不是市里下发的标准模板" in live_edits.summary(report, "校验")


def test_risky_text_stays_text() -> None:
    from xlz.ooxml.sheetxml import Text

    assert live_edits.as_written(Text("=1+1")) == "'=1+1"
    assert live_edits.as_written(Text("00123")) == "'00123"
    assert live_edits.as_written(Text("【错误】项目信息!C3")) == "【错误】项目信息!C3"


def test_both_transports_write_the_same_cells(town_file: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """xlwings (values read through a Book) and the WPS add-in's endpoint (values sent as
    WPS's Value2 JSON) call the same function and write the same cells."""
    from tests.xlz_books import block_cells, wps_payload
    from xlz.web.wpsaddin import book_from_json

    book = _book(town_file, monkeypatch)
    live.validate_book(book, now=NOW)
    done = live_edits.validate_edits(book_from_json(wps_payload(town_file)), now=NOW)
    def blank(cells: dict[tuple[str, str], Any]) -> dict[tuple[str, str], Any]:
        return {k: "" if v is None else v for k, v in cells.items()}  # a cleared cell

    by_wps = blank(block_cells(b.to_dict() for b in done.blocks))
    assert by_wps and by_wps == blank(_written(book))


# --- protected sheets ---------------------------------------------------------------
# Templates protect their sheets without a password, and Excel refuses a write into a
# locked cell of a protected sheet from outside VBA. xlwings' remote engine has no
# object model for protection, so these tests wrap its Book in the few members of
# Excel's Worksheet that write_blocks uses (ProtectContents & co., Protection.Allow*,
# Unprotect, Protect with Excel's positional order), and refuse writes while protected,
# as Excel does. Only a person with Excel can confirm the real COM calls:
# docs/release-checklist.md items 17-19.

ALLOW = ("AllowFormattingCells", "AllowFormattingColumns", "AllowFormattingRows",
         "AllowInsertingColumns", "AllowInsertingRows", "AllowInsertingHyperlinks",
         "AllowDeletingColumns", "AllowDeletingRows", "AllowSorting", "AllowFiltering",
         "AllowUsingPivotTables")


class FakeProtection:
    def __init__(self, allowed: set[str]) -> None:
        for name in ALLOW:
            setattr(self, name, name in allowed)


class FakeWorksheet:
    def __init__(self, password: str | None) -> None:
        self.password = password
        self.ProtectContents = True
        self.ProtectDrawingObjects = False
        self.ProtectScenarios = True
        self.Protection = FakeProtection({"AllowFormattingColumns", "AllowSorting",
                                          "AllowFiltering"})
        self.calls: list[str] = []

    def state(self) -> tuple[Any, ...]:
        return (self.ProtectContents, self.ProtectDrawingObjects, self.ProtectScenarios,
                tuple(getattr(self.Protection, n) for n in ALLOW))

    def Unprotect(self, password: str) -> None:
        self.calls.append("Unprotect")
        if self.password is not None and password != self.password:
            raise RuntimeError("(-2147352567, '密码不正确')")  # what pywin32 would raise
        self.ProtectContents = False

    def Protect(self, password: str, drawing: bool, contents: bool, scenarios: bool,
                ui_only: bool, *allow: bool) -> None:
        self.calls.append("Protect")
        assert password == "" and ui_only is False and len(allow) == len(ALLOW)
        self.ProtectDrawingObjects, self.ProtectContents = drawing, contents
        self.ProtectScenarios = scenarios
        self.Protection = FakeProtection({n for n, on in zip(ALLOW, allow, strict=True) if on})


class FakeRange:
    def __init__(self, sheet: FakeSheet, real: Any) -> None:
        self._sheet, self._real = sheet, real

    def _check(self) -> None:
        if self._sheet.api.ProtectContents:
            raise RuntimeError(f"单元格在受保护的工作表“{self._sheet.name}”中")

    @property
    def value(self) -> Any:
        return self._real.value

    @value.setter
    def value(self, values: Any) -> None:
        self._check()
        self._real.value = values

    @property
    def formula(self) -> Any:
        return self._real.formula

    @formula.setter
    def formula(self, values: Any) -> None:
        self._check()
        self._real.formula = values


class FakeSheet:
    def __init__(self, real: Any, password: str | None) -> None:
        self._real = real
        self.api = FakeWorksheet(password)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def range(self, address: str) -> FakeRange:
        return FakeRange(self, self._real.range(address))


class FakeSheets:
    def __init__(self, sheets: list[FakeSheet]) -> None:
        self._by_name = {s.name: s for s in sheets}

    def __iter__(self) -> Any:
        return iter(self._by_name.values())

    def __getitem__(self, name: str) -> FakeSheet:
        return self._by_name[name]


class ProtectedBook:
    """A remote-engine Book whose every sheet is protected (``password`` on the sheet
    named ``locked``, none on the others), and an ``app`` that records alerts."""

    def __init__(self, real: Any, locked: str | None = None) -> None:
        self._real = real
        self.sheets = FakeSheets([FakeSheet(s, "secret" if s.name == locked else None)
                                  for s in real.sheets])
        self.alerts: list[str] = []
        self.app = self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def alert(self, message: str, title: str = "") -> None:
        self.alerts.append(message)


def test_buttons_write_into_protected_sheets_and_protect_them_again(
        town_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = _book(town_file, monkeypatch)
    live.validate_book(plain, now=NOW)
    book = ProtectedBook(_book(town_file, monkeypatch))
    before = {s.name: s.api.state() for s in book.sheets}
    report = live.validate_book(book, now=NOW)  # type: ignore[arg-type]
    assert report.counts() == {"错误": 3, "提醒": 3}
    # Every cell the unprotected book got, the protected one got too.
    assert _written(book._real) == _written(plain)
    touched = {s.name for s in book.sheets if s.api.calls}
    assert {"项目信息", "填报说明", "校验结果"} <= touched
    for sheet in book.sheets:
        assert sheet.api.calls in ([], ["Unprotect", "Protect"])
        assert sheet.api.state() == before[sheet.name]  # protected again, same switches
    copy = tmp_path / "file" / town_file.name
    copy.parent.mkdir()
    shutil.copy(town_file, copy)
    xlz.validate(copy, now=NOW)
    assert _compare(book._real, copy) > 0


def test_a_sheet_with_a_password_is_refused_and_nothing_is_written(
        town_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = ProtectedBook(_book(town_file, monkeypatch), locked="校验结果")
    before = {s.name: s.api.state() for s in book.sheets}
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
    live.validate_active()  # the button: a message, not a traceback
    assert len(book.alerts) == 1 and "校验结果" in book.alerts[0]
    assert "保护密码" in book.alerts[0] and "未作任何修改" in book.alerts[0]
    assert book._real.json()["actions"] == []
    assert {s.name: s.api.state() for s in book.sheets} == before
    tasks = ProtectedBook(_book(town_file, monkeypatch), locked="任务分解")
    with pytest.raises(xlz.XlzError) as err:
        live.fill_book(tasks)  # type: ignore[arg-type]
    assert err.value.code == "output.sheet_password" and "任务分解" in err.value.message
    assert tasks._real.json()["actions"] == []
    assert all(s.api.ProtectContents for s in tasks.sheets)

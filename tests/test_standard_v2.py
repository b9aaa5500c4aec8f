"""Standard version 2 (docs/standard.md section 7): 填报信息 on 填报说明, 认定 on 孵化载体,
carrier targets counted by plan data, printing, and version-1 files still read."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from xlz import RULES, SheetValues, consolidate, load_plan, validate, validate_values
from xlz.books.townbook import build_town_workbook
from xlz.core import layout as L
from xlz.core.entries import CARRIERS
from xlz.core.guideinfo import GuideInfo
from xlz.core.plan import CarrierCount
from xlz.core.summary import carrier_progress

PLAN = load_plan()
D = dt.date
V1_FILE = Path(__file__).parent / "data" / "v1" / "如皋市科技招商填报表-丁堰镇-标准1.xlsx"
GOOD_GUIDE = {"reporter": "王芳", "phone": "0513-87654321", "as_of": D(2023, 6, 30)}


def _guide(**cells: Any) -> SheetValues:
    """填报说明 as a reader sees it: labels in A, values in B, from row 10."""
    rows: list[list[Any]] = [["镇区", "丁堰镇"]]
    rows += [[label, cells.get(key)] for key, label in L.CONTACT_LABELS.items()]
    return SheetValues(L.GUIDE, rows, first_row=L.CONTACT_FIRST_ROW - 1)


def _check(standard: str | None = None, **cells: Any) -> tuple[GuideInfo | None, list[Any]]:
    validation = validate_values({L.GUIDE: _guide(**cells)}, PLAN, only=None,
                                 standard=standard)
    guide = [f for f in validation.report if f.sheet == L.GUIDE]
    return validation.guide, guide


# ---------------------------------------------------------------- 填报信息


def test_good_guide_info_is_read_and_silent() -> None:
    info, found = _check(**GOOD_GUIDE)
    assert found == []
    assert info == GuideInfo("王芳", "0513-87654321", D(2023, 6, 30))
    assert info.contact == "王芳 0513-87654321"


@pytest.mark.parametrize(("cells", "code"), [
    ({"as_of": None}, "guide.as_of.required"),
    ({"as_of": "  "}, "guide.as_of.required"),
    ({"as_of": "六月底"}, "guide.as_of.invalid"),
    ({"as_of": D(2022, 12, 31)}, "guide.as_of.out_of_range"),
    ({"as_of": "2024年3月1日"}, "guide.as_of.out_of_range"),
    ({"phone": "87654321"}, "guide.phone.invalid"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_each_guide_rule_fires_at_its_cell(cells: dict[str, Any], code: str) -> None:
    info, found = _check(**{**GOOD_GUIDE, **cells})
    key = code.split(".")[1]
    cell = f"B{L.CONTACT_ROWS[key]}"
    assert [(f.code, f.cell, f.severity) for f in found] == [(code, cell, RULES[code].severity)]
    assert f"{L.GUIDE}!{cell}" in found[0].message
    assert info is not None
    if key == "as_of":
        assert info.as_of is None  # never a guessed or out-of-range period
    else:
        assert info.phone == "87654321"  # a 提醒: kept as typed, a person can still call


def test_every_guide_rule_is_exercised() -> None:
    guide_rules = {c for c, r in RULES.items() if r.sheet == L.GUIDE}
    assert guide_rules == {"guide.as_of.required", "guide.as_of.invalid",
                           "guide.as_of.out_of_range", "guide.phone.invalid"}


def test_year_end_figures_may_come_in_january() -> None:
    assert _check(**{**GOOD_GUIDE, "as_of": D(2024, 1, 31)})[1] == []
    assert _check(**{**GOOD_GUIDE, "as_of": D(2024, 2, 1)})[1] != []


def test_a_version_1_guide_asks_for_nothing() -> None:
    info, found = _check(standard="1")
    assert found == [] and info == GuideInfo()


def test_template_guide_cells_are_unlocked_and_validated(tmp_path: Path) -> None:
    import openpyxl

    path = build_town_workbook(PLAN, "dingyan", tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path)[L.GUIDE]
    validations = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    for key, label in L.CONTACT_LABELS.items():
        row = L.CONTACT_ROWS[key]
        assert ws[f"A{row}"].value == label
        assert ws[f"B{row}"].protection.locked is False
        assert f"B{row}" in validations
    as_of = validations[f"B{L.CONTACT_ROWS['as_of']}"]
    first, last = (_serial(d) for d in (D(2023, 1, 1), D(2024, 1, 31)))
    assert as_of.type == "date" and as_of.operator in (None, "between")  # the default
    assert (float(as_of.formula1), float(as_of.formula2)) == (first, last)


def test_clerk_facing_text_names_buttons_not_commands(tmp_path: Path) -> None:
    path = build_town_workbook(PLAN, "dingyan", tmp_path / "t.xlsx")
    book = CalamineWorkbook.from_path(str(path))
    import openpyxl

    hints = [dv.prompt or "" for ws in openpyxl.load_workbook(path).worksheets
             for dv in ws.data_validations.dataValidation]
    texts = [str(c) for name in L.TOWN_SHEETS
             for row in book.get_sheet_by_name(name).to_python() for c in row if c]
    for text in texts + hints:
        assert "xlz " not in text and "--" not in text, text
    assert any("校验本表" in t for t in texts) and any("保存后发给市里" in t for t in texts)


# ---------------------------------------------------------------- counting by plan data


def _carriers(*entries: dict[str, Any]) -> Any:
    rows: list[list[Any]] = [list(CARRIERS.headers)]
    rows += [[e.get(c.key) for c in CARRIERS.columns] for e in entries]
    return validate_values({CARRIERS.name: SheetValues(CARRIERS.name, rows)}, PLAN,
                           only=["carrier"]).records["carrier"]


BUILDING = {"name": "在建孵化器", "method": "新建载体", "level": "省级", "type": "孵化器",
            "area": 10000, "progress": "在建"}
ACCREDITED = {"name": "认定孵化器", "method": "盘活厂房", "level": "省级", "type": "孵化器",
              "area": 6000, "progress": "建成运营", "accreditation": "省级",
              "accredited_on": D(2023, 8, 18)}
OLD = {**ACCREDITED, "name": "老孵化器", "accredited_on": D(2021, 5, 1)}
NATIONAL = {**ACCREDITED, "name": "国家级孵化器", "accreditation": "国家级", "method": "升级"}


def _done(plan: Any, *entries: dict[str, Any]) -> dict[str, float]:
    return {p.target_key: p.done for p in carrier_progress(_carriers(*entries), plan)}


def test_a_carrier_under_construction_counts_for_nothing() -> None:
    # Planned as a 省级 孵化器 (载体级别), still 在建: before standard 2 it counted as a new
    # provincial incubator and its area as built.
    assert _done(PLAN, BUILDING) == {"incubation_area_m2": 0, "new_national_incubators": 0,
                                     "new_provincial_incubators": 0}


def test_an_accredited_operating_incubator_counts() -> None:
    assert _done(PLAN, BUILDING, ACCREDITED, OLD, NATIONAL) == {
        "incubation_area_m2": 12000,  # ACCREDITED + OLD; NATIONAL is 升级 (not new area)
        "new_national_incubators": 1,
        "new_provincial_incubators": 1,  # OLD was accredited in 2021: not 新增 in 2023
    }


def test_which_statuses_count_is_plan_data() -> None:
    rules = tuple(
        r.model_copy(update={"counts": {**r.counts, "progress": ("在建", "建成运营")}})
        if r.target == "incubation_area_m2" else r for r in PLAN.carrier_counts)
    generous = PLAN.model_copy(update={"carrier_counts": rules})
    assert _done(generous, BUILDING)["incubation_area_m2"] == 10000
    assert _done(PLAN, BUILDING)["incubation_area_m2"] == 0


def test_a_counting_rule_naming_nothing_is_reported() -> None:
    from xlz import check_plan

    bad = PLAN.model_copy(update={"carrier_counts": (
        CarrierCount(target="new_national_incubators", counts={"acreditation": ("国家级",)},
                     note=""),
        CarrierCount(target="new_provincial_incubators", counts={"progress": ("已建成",)},
                     note=""),
    )})
    values = {f.value for f in check_plan(bad) if f.code == "plan.reference.unknown"}
    assert {"acreditation", "已建成"} <= values
    assert not [f for f in check_plan(PLAN) if f.code == "plan.reference.unknown"]


# ---------------------------------------------------------------- version 1


def test_version_1_file_validates_and_consolidates(tmp_path: Path) -> None:
    """A real standard-1 file (the 丁堰镇 template of version 1, typed into through
    LibreOffice): no finding for the places version 2 added, counted for its town."""
    copy = tmp_path / V1_FILE.name
    shutil.copyfile(V1_FILE, copy)
    checked = validate(copy, check=True)
    assert checked.report.findings == []
    assert checked.guide == GuideInfo()
    validated = validate(copy)  # in place: its reserved places are found by their labels
    assert validated.mode == "inplace"
    result = consolidate([copy], tmp_path / "city.xlsx", PLAN)
    town = next(t for t in result.consolidation.towns if t.town.code == "dingyan")
    assert town.state == "已报送" and town.winner is not None
    assert town.winner.template_version == "标准1 / rugao-2023"
    assert town.winner.guide == GuideInfo()
    done = {p.metric: p.done for p in town.progress}
    assert done["projects"] == 2 and done["invention_patents"] == 3
    assert len(result.consolidation.carriers) == 1
    carrier = result.consolidation.carriers[0].record.values
    assert carrier["accreditation"] is None  # unknown in version 1, never guessed
    progress = {p.target_key: p.done for p in carrier_progress(
        (r.record for r in result.consolidation.carriers), PLAN)}
    assert progress == {"incubation_area_m2": 8000, "new_national_incubators": 0,
                        "new_provincial_incubators": 0}


def test_identity_accepts_both_versions_and_refuses_others() -> None:
    from xlz.core.identity import Evidence, identify

    def ident(version: str) -> Any:
        meta = {L.META_TEMPLATE: "town", L.META_STANDARD: version, L.META_PLAN: PLAN.id,
                L.META_TOWN: "dingyan", L.META_GENERATED: "2023-02-01T00:00:00"}
        return identify(Evidence("丁堰镇.xlsx", meta, meta), PLAN)

    assert ident("1").accepted and ident("2").accepted
    assert [f.code for f in ident("3").findings] == ["file.standard_mismatch"]
    assert L.STANDARD_VERSION == "2" and L.SUPPORTED_STANDARDS == ("1", "2")


# ---------------------------------------------------------------- through LibreOffice


def _serial(value: Any) -> Any:
    if isinstance(value, dt.date):
        return float((value - dt.date(1899, 12, 30)).days)
    return value


@pytest.mark.libreoffice
def test_guide_and_carrier_cells_typed_in_libreoffice_are_validated(tmp_path: Path) -> None:
    from tests.lo import harness
    from xlz.core import formulas as fx

    template = build_town_workbook(PLAN, "dingyan", tmp_path / "template.xlsx")
    letters = fx.letters(CARRIERS)
    edits = [{"cell": f"{L.GUIDE}!B{L.CONTACT_ROWS[k]}", "value": _serial(v)}
             for k, v in {"reporter": "王芳", "phone": "13912345678",
                          "as_of": D(2023, 9, 30)}.items()]
    for row, entry in enumerate((BUILDING, ACCREDITED,
                                 {**BUILDING, "name": "缺时间", "accreditation": "国家级"}),
                                start=2):
        edits += [{"cell": f"{CARRIERS.name}!{letters[k]}{row}", "value": _serial(v)}
                  for k, v in entry.items()]
    typed = tmp_path / "typed.xlsx"
    harness.fill_and_save(template, edits, typed)
    result = validate(typed, check=True)
    assert result.guide == GuideInfo("王芳", "13912345678", D(2023, 9, 30))
    codes = {(f.code, f.cell) for f in result.report}
    missing = f"{letters['accredited_on']}4"
    assert ("carrier.accredited_on.required_if", missing) in codes
    assert ("carrier.progress.expected_if", f"{letters['progress']}4") in codes
    # The live check LibreOffice computed names the same cell.
    grid = CalamineWorkbook.from_path(str(typed)).get_sheet_by_name(CARRIERS.name).to_python()
    live = [c.key for c in CARRIERS.columns].index("live_check")
    assert missing in str(grid[3][live]) and grid[2][live] == "" and grid[1][live] == ""
    city = consolidate([typed], tmp_path / "city.xlsx", PLAN)
    assert city.consolidation.towns[0].winner is not None
    assert city.consolidation.towns[0].winner.guide == result.guide


@pytest.mark.libreoffice
def test_an_empty_template_prints_one_page_per_sheet(tmp_path: Path) -> None:
    """No pages of blank rows: the 实时检查 formulas on 1,400 prepared rows printed as
    12 more pages before the print areas."""
    from tests.lo import harness

    template = build_town_workbook(PLAN, "dingyan", tmp_path / "t.xlsx")
    pdf = tmp_path / "t.pdf"
    harness.convert(template, pdf, "calc_pdf_Export")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(next(line.split()[-1] for line in info.stdout.splitlines()
                     if line.startswith("Pages:")))
    assert pages == len(L.TOWN_SHEETS)

"""Every rule fires on a bad value at the exact cell, and stays silent on a good one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from click.testing import CliRunner

from xlz import RULES, Check, SheetValues, load_plan, validate_values
from xlz.cli import main
from xlz.core.cells import cell_ref
from xlz.core.entries import ACTIVITIES, CARRIERS, PROJECTS, EntrySheet, Kind

PLAN = load_plan()

GOOD: dict[str, dict[str, Any]] = {
    "project": {
        "seq": 1, "name": "高性能膜电极中试项目", "category": "人才类", "field": "氢能",
        "direction": "膜电极", "origin": "上海", "host": "上海交通大学", "leader": "李明",
        "company": "如皋氢途科技有限公司", "status": "已注册", "signed": dt.date(2023, 3, 5),
        "carrier": "氢能孵化器", "investment": 2000, "invention_patents": 2,
        "utility_patents": 5, "prereview": "预审通过", "contact": "王芳",
        "phone": "0513-87654321", "note": "",
    },
    "carrier": {
        "seq": 1, "name": "氢能孵化器", "method": "新建载体", "level": "省级",
        "type": "专业孵化器", "specialty": "先进制造", "area": 12000, "progress": "在建",
        "note": "",
    },
    "activity": {
        "seq": 1, "name": "氢能与燃料电池专题招商活动", "month": 9, "host": "市科技局、开发区",
        "type": "专题招商", "state": "已举办", "matched": 12, "signed": 3, "note": "",
    },
}
SHEETS = {"project": PROJECTS, "carrier": CARRIERS, "activity": ACTIVITIES}

BAD_BY_KIND: dict[Kind, Any] = {
    Kind.INTEGER: "若干",
    Kind.MONEY: "两千万",
    Kind.AREA: "一万平",
    Kind.DATE: "三月初",
    Kind.MONTH: "13",
    Kind.PHONE: "12345",
    Kind.CHOICE: "不存在的选项",
}

# Cross-field rules: the mutation that must make each fire.
CROSS: dict[str, tuple[str, dict[str, Any]]] = {
    "project.host.required_if": ("project", {"category": "平台类", "host": None}),
    "project.leader.required_if": ("project", {"leader": " "}),
    "project.company.required_if": ("project", {"status": "已投产", "company": None}),
    "project.signed.required_if": ("project", {"status": "已签约", "signed": None}),
    "project.signed.in_year": ("project", {"signed": "2022年12月30日"}),
    "project.carrier.refers_to": ("project", {"carrier": "不存在的孵化器"}),
    "project.prereview.expected_if": ("project", {"category": "科创类", "prereview": "未预审"}),
    "carrier.specialty.required_if": ("carrier", {"specialty": None}),
    "carrier.accredited_on.required_if": ("carrier", {"accreditation": "省级",
                                                      "progress": "建成运营"}),
    "carrier.progress.expected_if": ("carrier", {"accreditation": "国家级",
                                                 "accredited_on": dt.date(2023, 6, 1)}),
}


def _rows(sheet: EntrySheet, entries: list[dict[str, Any]]) -> list[list[Any]]:
    rows: list[list[Any]] = [list(sheet.headers)]
    for entry in entries:
        rows.append([entry.get(c.key) for c in sheet.columns])
    return rows


def _validate(overrides: dict[str, list[dict[str, Any]]]) -> Any:
    data = {key: overrides.get(key, [dict(GOOD[key])]) for key in SHEETS}
    sheets = {SHEETS[k].name: SheetValues(SHEETS[k].name, _rows(SHEETS[k], v))
              for k, v in data.items()}
    return validate_values(sheets, PLAN, source="测试.xlsx")


def _column_cases() -> list[tuple[str, str, dict[str, Any], int]]:
    """(rule code, sheet key, mutation, row of the finding) for every column rule."""
    cases = []
    for code, rule in RULES.items():
        if rule.sheet is None or rule.check in (Check.REQUIRED_IF, Check.EXPECTED_IF,
                                                Check.IN_YEAR, Check.REFERS_TO):
            continue
        sheet_key, col_key = code.split(".")[:2]
        if sheet_key not in SHEETS:  # 填报说明's cells: tests/test_standard_v2.py
            continue
        col = SHEETS[sheet_key].column(col_key)
        value: Any
        if rule.check is Check.REQUIRED:
            value = None
        elif rule.check is Check.INVALID:
            value = BAD_BY_KIND[col.kind]
        elif rule.check is Check.NEGATIVE:
            value = -1
        elif rule.check is Check.TOO_LONG:
            value = "长" * (int(rule.params["max_length"]) + 1)
        elif rule.check is Check.DUPLICATE:
            cases.append((code, sheet_key, {}, 3))
            continue
        else:  # pragma: no cover - a new check kind needs a case here
            raise AssertionError(code)
        cases.append((code, sheet_key, {col_key: value}, 2))
    return cases


def test_good_entries_are_silent() -> None:
    validation = _validate({})
    assert validation.report.findings == []
    assert all(r.ok for rs in validation.records.values() for r in rs)
    assert validation.report.rows_checked == {"项目信息": 1, "孵化载体": 1, "招商活动": 1}


@pytest.mark.parametrize(("code", "sheet_key", "mutation", "row"), _column_cases(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_column_rule_fires_at_exact_cell(code: str, sheet_key: str, mutation: dict[str, Any],
                                         row: int) -> None:
    entry = {**GOOD[sheet_key], **mutation}
    entries = [entry, dict(entry, seq=2)] if row == 3 else [entry]
    if sheet_key == "carrier" and code.startswith("carrier.type"):
        entry["specialty"] = None  # an unknown type is not 专业孵化器
    if code == "project.prereview.invalid":
        entry["category"] = "服务类"  # keep the 预审 expectation of 科创/人才 out of it
    validation = _validate({sheet_key: entries})
    rule = RULES[code]
    col_key = code.split(".")[1]
    sheet = SHEETS[sheet_key]
    cell = cell_ref(row, [c.key for c in sheet.columns].index(col_key))
    hits = [f for f in validation.report if f.code == code]
    assert [(f.sheet, f.cell, f.severity) for f in hits] == [(sheet.name, cell, rule.severity)]
    finding = hits[0]
    assert f"{sheet.name}!{cell}" in finding.message
    assert finding.value == entries[-1].get(col_key)  # the original value, never normalised
    if finding.value not in (None, ""):
        assert str(finding.value)[:20] in finding.message
    others = [f.code for f in validation.report if f.code != code]
    # a carrier without a readable name also leaves the project's 落户载体 dangling
    also = ["project.carrier.refers_to"] if code.startswith("carrier.name.") and \
        code != "carrier.name.duplicate" else []
    assert others == also, "one bad value, one finding"


@pytest.mark.parametrize("code", sorted(CROSS))
def test_cross_field_rule_fires_at_exact_cell(code: str) -> None:
    sheet_key, mutation = CROSS[code]
    validation = _validate({sheet_key: [{**GOOD[sheet_key], **mutation}]})
    rule = RULES[code]
    sheet = SHEETS[sheet_key]
    assert rule.field is not None
    cell = cell_ref(2, [c.key for c in sheet.columns].index(rule.field))
    hits = [(f.code, f.cell, f.severity) for f in validation.report]
    assert hits == [(code, cell, rule.severity)]


def test_every_sheet_rule_is_exercised() -> None:
    covered = {c[0] for c in _column_cases()} | set(CROSS)
    entry = {s.name for s in SHEETS.values()}  # 填报说明's: tests/test_standard_v2.py
    sheet_rules = {code for code, r in RULES.items() if r.sheet in entry}
    assert sheet_rules == covered


NOISE = [
    ("project", "invention_patents", "２个", 2),
    ("project", "utility_patents", "1,234", 1234),
    ("project", "investment", "2000万", 2000.0),
    ("project", "investment", " 1.5亿元 ", 15000.0),
    ("project", "signed", "2023.3.5", dt.date(2023, 3, 5)),
    ("project", "signed", "2023年3月5日", dt.date(2023, 3, 5)),
    ("project", "signed", 44990, dt.date(2023, 3, 5)),
    ("project", "signed", dt.datetime(2023, 3, 5), dt.date(2023, 3, 5)),
    ("project", "category", " 人才类　", "人才类"),
    ("project", "field", "氢能 ", "氢能"),
    ("carrier", "area", "12,000平方米", 12000.0),
    ("activity", "month", "9月", 9),
    ("activity", "month", "全年", "全年"),
    ("activity", "matched", "１２", 12),
]


@pytest.mark.parametrize(("sheet_key", "col_key", "raw", "meant"), NOISE)
def test_harmless_noise_is_normalised_silently(sheet_key: str, col_key: str, raw: Any,
                                               meant: Any) -> None:
    validation = _validate({sheet_key: [{**GOOD[sheet_key], col_key: raw}]})
    assert validation.report.findings == []
    record = validation.records[sheet_key][0]
    assert record.values[col_key] == meant
    assert record.raw[col_key] == raw  # the original stays available


def test_unreadable_number_is_never_zero() -> None:
    validation = _validate({"project": [{**GOOD["project"], "invention_patents": "待定"}]})
    record = validation.records["project"][0]
    assert record.values["invention_patents"] is None
    assert [f.code for f in validation.report] == ["project.invention_patents.invalid"]
    assert validation.report.findings[0].value == "待定"


def test_missing_sheet_and_missing_column() -> None:
    rows = _rows(PROJECTS, [GOOD["project"]])
    rows[0][2] = "类别"  # the 项目类别 header was renamed by a clerk
    validation = validate_values({"项目信息": SheetValues("项目信息", rows)}, PLAN)
    codes = sorted((f.code, f.sheet or "") for f in validation.report)
    assert ("workbook.column.missing", "项目信息") in codes
    assert ("workbook.sheet.missing", "孵化载体") in codes
    assert ("workbook.sheet.missing", "招商活动") in codes
    missing = next(f for f in validation.report if f.code == "workbook.column.missing")
    assert "项目类别" in missing.message


def test_header_found_below_title_rows_and_offset_ranges() -> None:
    """Engines may hand over a used range that starts elsewhere than A1."""
    rows = [["如皋市科技招商项目信息"], [], *_rows(PROJECTS, [{**GOOD["project"], "origin": "火星"}])]
    validation = validate_values(
        {"项目信息": SheetValues("项目信息", rows, first_row=5, first_col=2)}, PLAN,
        only=["project"])
    finding = next(f for f in validation.report if f.code == "project.origin.invalid")
    assert finding.cell == "H8"  # origin is the 6th column (F) shifted by 2; header at row 7


def test_rules_cli_lists_catalogue() -> None:
    result = CliRunner().invoke(main, ["rules"])
    assert result.exit_code == 0
    for code in RULES:
        assert code in result.output


# ---------------------------------------------------------------- the phone rule


PHONE_ACCEPTED = ["13812345678", "138 1234 5678", "+86 138-1234-5678", "0513-87654321",
                  "（0513）87654321", "0513 8765432", "0513-87654321转123",
                  "13812345678、0513-87654321"]
# Local numbers without area code: the message asks for the area code, so the rule
# refuses them (before, 1381234 and 87654321 passed as "local numbers").
PHONE_REFUSED = ["1381234", "87654321", "8765-4321", "12345", "0513-123",
                 "13812345678、87654321"]


@pytest.mark.parametrize("phone", PHONE_ACCEPTED)
def test_phone_rule_accepts_mobiles_and_landlines_with_area_code(phone: str) -> None:
    validation = _validate({"project": [{**GOOD["project"], "phone": phone}]})
    assert validation.report.findings == []


@pytest.mark.parametrize("phone", PHONE_REFUSED)
def test_phone_rule_refuses_numbers_without_area_code_and_says_so(phone: str) -> None:
    validation = _validate({"project": [{**GOOD["project"], "phone": phone}]})
    [finding] = validation.report.findings
    assert finding.code == "project.phone.invalid" and finding.value == phone
    # the message names what the rule wants: a mobile, or a landline with its area code
    assert f"“{phone}”" in finding.message
    assert "11位手机号" in finding.message and "带区号的固定电话" in finding.message
    assert "本地号码请加上区号" in finding.message

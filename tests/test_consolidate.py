"""Consolidation end to end: 13 town workbooks that meet 附件2 exactly, read back from
the city workbook; resubmissions, rejected files, bad inputs, row conservation."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.xlz_books import sheet
from xlz.books.townbook import build_town_workbook
from xlz.core import layout as L
from xlz.core.consolidation import Input, build
from xlz.core.plan import METRICS, load_plan
from xlz.core.plancheck import computed_total
from xlz.core.validator import SheetValues
from xlz.core.workbook import WorkbookData
from xlz.ops.consolidate import consolidate
from xlz.ops.demo import eml_bytes, gbk_zip_bytes, older_version, sample_entries, with_errors

PLAN = load_plan()
TZ = dt.timezone(dt.timedelta(hours=8))


def digest(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def towns(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """13 town workbooks whose entries meet exactly their 附件2 row and hold 附件4."""
    folder = tmp_path_factory.mktemp("towns")
    for town in PLAN.towns:
        path = folder / f"{town.short}.xlsx"
        build_town_workbook(PLAN, town.code, path, sample_entries(PLAN, town.code))
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return folder


@pytest.fixture(scope="module")
def city(towns: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    before = digest(towns)
    out = tmp_path_factory.mktemp("city") / "汇总.xlsx"
    result = consolidate([towns], out, PLAN)
    assert digest(towns) == before  # inputs never modified
    yield out, result


def test_all_towns_accepted(city: tuple[Path, Any]) -> None:
    out, result = city
    assert result.exit_code == 0
    status = sheet(out, L.CITY_SUBMISSIONS)
    assert tuple(status[0][:len(L.CITY_HEADERS[L.CITY_SUBMISSIONS])]) == \
        L.CITY_HEADERS[L.CITY_SUBMISSIONS]
    assert [r[0] for r in status[1:14]] == [t.short for t in PLAN.towns]
    assert {r[1] for r in status[1:14]} == {"已报送"}


def test_task_table_has_attachment2_rows_and_both_totals(city: tuple[Path, Any]) -> None:
    out, _ = city
    rows = sheet(out, L.CITY_TASKS)
    assert tuple(rows[0][:len(L.CITY_TASK_HEADERS)]) == L.CITY_TASK_HEADERS
    for i, target in enumerate(PLAN.attachment2.rows, start=1):
        row = rows[i]
        assert row[0] == target.label
        for m, metric in enumerate(METRICS):
            expected = target.get(metric)
            got_target, got_done, got_rate = row[1 + 3 * m: 4 + 3 * m]
            assert (got_target or None) == expected, (target.label, metric)
            assert got_done == (expected or 0)
            assert got_rate == (1.0 if expected else "—")
    computed = rows[len(PLAN.attachment2.rows) + 1]
    printed = rows[len(PLAN.attachment2.rows) + 2]
    assert computed[0] == L.CITY_TOTAL_LABEL
    assert [computed[1 + 3 * m] for m in range(5)] == [398, 398, 1990, 3, 4]
    assert [computed[2 + 3 * m] for m in range(5)] == [398, 398, 1990, 3, 4]  # all met
    assert printed[0] == L.CITY_PRINTED_TOTAL_LABEL
    assert [printed[1 + 3 * m] for m in range(5)] == [400, 400, 2000, 3, 4]
    assert computed_total(PLAN)["projects"] == 398
    # The city-target block: 370 / 3 / 4 / 400,000 m² / 1 + 1, with what was achieved.
    start = next(i for i, r in enumerate(rows) if r[0] == L.CITY_TARGET_TITLE)
    block = {r[0]: r[1:4] for r in rows[start + 1:start + 7]}
    labels = L.CITY_TARGET_LABELS
    assert block[labels["projects"]][:2] == [370, 398]
    assert block[labels["platform"]][:2] == [3, 3]
    assert block[labels["fund"]][:2] == [4, 4]
    assert block[labels["incubation_area_m2"]][0] == 400_000
    assert block[labels["new_national_incubators"]][0] == 1
    assert block[labels["new_provincial_incubators"]][0] == 1
    # What counts is the plan's rule (plan.carrier_counts), not every carrier: area of
    # operating new/revitalised carriers, incubators accredited this year.
    carriers = [e for t in PLAN.towns for e in sample_entries(PLAN, t.code)["carrier"]]
    area = sum(e["area"] for e in carriers if e["progress"] == "建成运营"  # type: ignore[misc]
               and e["method"] in ("新建载体", "盘活厂房"))
    assert 0 < area < sum(e["area"] for e in carriers)  # type: ignore[misc]
    assert block[labels["incubation_area_m2"]][1] == area
    for key, level in (("new_national_incubators", "国家级"), ("new_provincial_incubators", "省级")):
        accredited = [e for e in carriers if e.get("accreditation") == level
                      and e["type"] in ("孵化器", "专业孵化器")]
        assert block[labels[key]][1] == len(accredited)


def test_carriers_reproduce_attachment4_row_by_row(city: tuple[Path, Any]) -> None:
    out, _ = city
    rows = sheet(out, L.CITY_CARRIERS)
    assert tuple(rows[0][:len(L.CARRIER_SUMMARY_HEADERS)]) == L.CARRIER_SUMMARY_HEADERS
    body = rows[1:1 + len(PLAN.carriers)]
    for row, carrier in zip(body, PLAN.carriers, strict=True):
        assert row[0] == carrier.seq
        assert row[1:5] == [carrier.town_label, carrier.name, carrier.method, carrier.direction]
        assert row[5] > 0


def test_projects_have_provenance(city: tuple[Path, Any], towns: Path) -> None:
    out, result = city
    rows = sheet(out, L.CITY_PROJECTS)
    header = rows[0]
    assert tuple(header) == L.CITY_HEADERS[L.CITY_PROJECTS]
    expected = sum(len(sample_entries(PLAN, t.code)["project"]) for t in PLAN.towns)
    assert len(rows) - 1 == expected == len(result.consolidation.projects)
    col = {h: i for i, h in enumerate(header)}
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in towns.iterdir()}
    for row in rows[1:]:
        name = row[col["来源文件"]].rsplit("/", 1)[-1]
        assert row[col["SHA-256"]] == hashes[name]
        assert row[col["来源工作表"]] == "项目信息"
        assert row[col["来源行"]] >= 2
        assert name.startswith(row[col["镇区"]])


def test_activities_and_schedule(city: tuple[Path, Any]) -> None:
    out, _ = city
    rows = sheet(out, L.CITY_ACTIVITIES)
    assert tuple(rows[0]) == L.CITY_HEADERS[L.CITY_ACTIVITIES]
    # 附件3 with how it went: a sheet of its own (issue 12).
    states = {r[1]: r[4] for r in sheet(out, L.CITY_SCHEDULE)[1:]}
    assert states["合成生物学专题招商活动"] == "已举办"
    assert states["如皋市科技·人才洽谈会"] == "计划"  # hosted by the city, no town reports it
    assert states["各镇区科技招商活动"] == "已举办"


def _copy(towns: Path, dest: Path, skip: str | None = None) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for p in towns.iterdir():
        if skip is None or not p.name.startswith(skip):
            shutil.copy2(p, dest / p.name)


def test_resubmission_latest_wins_and_diff_is_listed(towns: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "收件箱"
    _copy(towns, inbox, skip="高新区")
    entries = sample_entries(PLAN, "gaoxin")
    old = tmp_path / "old.xlsx"
    build_town_workbook(PLAN, "gaoxin", old, older_version(entries))
    (inbox / "高新区6月.eml").write_bytes(eml_bytes(
        "高新区报送", dt.datetime(2023, 6, 30, 17, tzinfo=TZ),
        [("高新区科技招商填报表（6月）.xlsx", old.read_bytes())]))
    new = tmp_path / "new.xlsx"
    build_town_workbook(PLAN, "gaoxin", new, entries)
    (inbox / "高新区终稿.zip").write_bytes(gbk_zip_bytes(
        [("高新区/高新区科技招商填报表（终稿）.xlsx", new.read_bytes())],
        dt.datetime(2023, 12, 20, 9)))
    out = tmp_path / "city.xlsx"
    result = consolidate([inbox], out, PLAN)
    assert result.exit_code == 0
    gaoxin = next(t for t in result.consolidation.towns if t.town.code == "gaoxin")
    assert gaoxin.winner is not None and gaoxin.winner.name.endswith("（终稿）.xlsx")
    assert "高新区/" in gaoxin.winner.name  # the GBK member name, decoded
    assert [f.name for f in gaoxin.superseded] == ["收件箱/高新区6月.eml › 高新区科技招商填报表（6月）.xlsx"]
    text = gaoxin.superseded[0].change_text()
    assert "项目信息：新增8" in text and "修改1" in text
    status = {r[0]: r for r in sheet(out, L.CITY_SUBMISSIONS)}
    assert "高新区科技招商填报表（6月）.xlsx" in status["高新区"][10]
    assert "新增8" in status["高新区"][10]
    tasks = {r[0]: r for r in sheet(out, L.CITY_TASKS)}
    assert tasks[PLAN.target("gaoxin").label][2] == 70  # the final file's figures
    # The superseded file is one line on 问题清单; its rows, not in 项目信息库, are
    # each on 未计入汇总的行.
    issues = sheet(out, L.CITY_ISSUES)
    assert [r[8] for r in issues].count("file.superseded") == 1
    assert not any(r[8] == "file.row_superseded" for r in issues)
    detail = sheet(out, L.CITY_EXCLUDED_ROWS)
    assert sum(1 for r in detail if r[6] == "file.row_superseded") == sum(
        len(older_version(entries)[k]) for k in ("project", "carrier", "activity"))


def test_file_with_errors_is_listed_not_counted(towns: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _copy(towns, inbox, skip="九华镇")
    bad = inbox / "九华镇.xlsx"
    entries = with_errors(sample_entries(PLAN, "jiuhua"))
    entries["project"][5]["name"] = "=HYPERLINK(\"http://x\",\"点我\")"
    build_town_workbook(PLAN, "jiuhua", bad, entries)
    out = tmp_path / "city.xlsx"
    result = consolidate([inbox], out, PLAN)
    assert result.exit_code == 1
    status = {r[0]: r for r in sheet(out, L.CITY_SUBMISSIONS)}
    assert status["九华镇"][1] == "未通过校验"
    projects = sheet(out, L.CITY_PROJECTS)
    assert all(r[0] != "九华镇" for r in projects[1:])
    # Its errors on 问题清单; every row that does not count on 未计入汇总的行.
    located = [(r[2], r[4]) for r in sheet(out, L.CITY_ISSUES)[1:]] + \
        [(r[2], r[3]) for r in sheet(out, L.CITY_EXCLUDED_ROWS)[1:]]
    located = [(f, a) for f, a in located if f.endswith("九华镇.xlsx") and "!" in a]
    listed = {(a.split("!")[0], int(a.split("!")[1][1:])) for _, a in located}
    rows = {a.split("!")[1] for _, a in located}
    assert len(listed) >= len(entries["project"])
    assert any(x.startswith("C") for x in rows)  # the empty 项目类别 at its cell
    # The formula-looking name stays a string in the city workbook.
    import openpyxl

    book = openpyxl.load_workbook(out, read_only=False)
    cells = [c for name in (L.CITY_ISSUES, L.CITY_EXCLUDED_ROWS)
             for row in book[name].iter_rows() for c in row
             if c.value == entries["project"][5]["name"]]
    assert cells and all(c.data_type == "s" for c in cells)


def test_formula_text_from_a_town_stays_text(towns: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _copy(towns, inbox, skip="丁堰镇")
    entries = sample_entries(PLAN, "dingyan")
    entries["project"][0]["name"] = "=1+1"
    entries["project"][1]["note"] = "=SUM(A1:A9)"
    build_town_workbook(PLAN, "dingyan", inbox / "丁堰镇.xlsx", entries)
    out = tmp_path / "city.xlsx"
    assert consolidate([inbox], out, PLAN).exit_code == 0
    with zipfile.ZipFile(out) as zf:
        names = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        xml = b"".join(zf.read(n) for n in names)
    assert b"<f>1+1</f>" not in xml and b"SUM(A1:A9)</f>" not in xml
    projects = sheet(out, L.CITY_PROJECTS)
    assert any(r[2] == "=1+1" for r in projects)


def test_two_towns_claiming_one_file_is_a_finding() -> None:
    guide = SheetValues(L.GUIDE, [["填报说明"], [], ["镇区", "东陈镇"]], 1, 0)
    data = WorkbookData("x.xlsx", "xlsx", {L.GUIDE: guide},
                        {L.META_TEMPLATE: "town", L.META_STANDARD: "1", L.META_PLAN: PLAN.id,
                         L.META_TOWN: "dingyan"}, "0" * 64)
    result = build([Input("x.xlsx", "0" * 64, None, "文件时间", data)], PLAN)
    codes = [i.finding.code for i in result.issues]
    assert "file.town_conflict" in codes
    assert result.files[0].town is None and result.files[0].status == "rejected"
    assert all(t.state == "未报送" for t in result.towns)


def test_town_from_cell_and_version_findings() -> None:
    guide = SheetValues(L.GUIDE, [["镇区", "如皋港"]], L.STATUS_ROWS["town"], 0)
    data = WorkbookData("y.xlsx", "xlsx", {L.GUIDE: guide},
                        {L.META_TEMPLATE: "town", L.META_STANDARD: "0",
                         L.META_PLAN: "rugao-2022"}, "1" * 64)
    result = build([Input("y.xlsx", "1" * 64, None, "文件时间", data)], PLAN)
    codes = {i.finding.code for i in result.issues}
    assert {"file.town_from_cell", "file.standard_mismatch", "file.plan_mismatch"} <= codes
    assert result.files[0].town is not None and result.files[0].town.code == "changjiang"


# ------------------------------------------------------------------------ bad inputs


def _xml_bomb_xlsx(template: Path) -> bytes:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lollollollol">'
              + b"".join(b'<!ENTITY lol%d "&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;">'
                         % (i, i - 1, i - 1, i - 1, i - 1, i - 1) for i in range(1, 12))
              + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
              b'main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol11;</t></is>'
              b"</c></row></sheetData></worksheet>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(buffer, "w",
                                                          zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = laughs if info.filename == "xl/worksheets/sheet2.xml" else src.read(info)
            dst.writestr(info.filename, data)
    return buffer.getvalue()


def _zip_bomb_xlsx(template: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(buffer, "w",
                                                          zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        with dst.open("xl/media/padding.bin", "w") as member:
            for _ in range(300):
                member.write(b"\0" * (1 << 20))  # 300 MB inflated, ~300 KB on disk
    return buffer.getvalue()


def _not_template(path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Sheet1").write_string(0, 0, "随手做的表")
    book.close()


@pytest.fixture(scope="module")
def bad_inbox(towns: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    inbox = tmp_path_factory.mktemp("bad") / "收件箱"
    _copy(towns, inbox)
    good = (towns / "丁堰镇.xlsx").read_bytes()
    (inbox / "损坏.xlsx").write_bytes(b"PK\x03\x04" + os.urandom(2000))
    (inbox / "截断.xlsx").write_bytes(good[: len(good) // 2])
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512
    (inbox / "加密.xlsx").write_bytes(ole + "EncryptionInfo".encode("utf-16-le")
                                    + "EncryptedPackage".encode("utf-16-le"))
    (inbox / "系统导出.xls").write_text("<html><body><table><tr><td>1</td></tr></table>"
                                       "</body></html>", encoding="utf-8")
    (inbox / "WPS表格.et").write_bytes(ole + b"\0" * 100)
    (inbox / "空文件.xlsx").write_bytes(b"")
    _not_template(inbox / "随手表.xlsx")
    (inbox / "XML炸弹.xlsx").write_bytes(_xml_bomb_xlsx(towns / "东陈镇.xlsx"))
    (inbox / "压缩炸弹.xlsx").write_bytes(_zip_bomb_xlsx(towns / "东陈镇.xlsx"))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("x.xlsx", "w") as m:
        for _ in range(300):
            m.write(b"\0" * (1 << 20))
    (inbox / "压缩炸弹.zip").write_bytes(bomb.getvalue())
    (inbox / "忘带附件.eml").write_bytes(eml_bytes("报送", dt.datetime(2023, 6, 1, tzinfo=TZ),
                                                   []))
    return inbox


EXPECTED_BAD = {
    "损坏.xlsx": "file.corrupt",
    "截断.xlsx": "file.corrupt",
    "加密.xlsx": "file.encrypted",
    "系统导出.xls": "file.html_as_xls",
    "WPS表格.et": "file.wps_et",
    "空文件.xlsx": "file.empty",
    "随手表.xlsx": "file.not_template",
    "XML炸弹.xlsx": "file.unsafe_xml",  # a DTD: named as such, not "too large"
    "压缩炸弹.xlsx": "file.too_large",
    "压缩炸弹.zip": "file.archive_limit",
    "忘带附件.eml": "file.email_no_attachment",
}


def test_bad_inputs_each_give_a_finding_and_the_run_goes_on(bad_inbox: Path,
                                                            tmp_path: Path) -> None:
    before = digest(bad_inbox)
    out = tmp_path / "city.xlsx"
    started = time.perf_counter()
    result = consolidate([bad_inbox], out, PLAN)
    assert time.perf_counter() - started < 60
    assert digest(bad_inbox) == before
    assert result.exit_code == 1
    c = result.consolidation
    assert {t.state for t in c.towns} == {"已报送"}  # the good files still count
    by_file: dict[str, set[str]] = {}
    for issue in c.issues:
        by_file.setdefault(issue.file.split(" › ")[0].rsplit("/", 1)[-1], set()).add(
            issue.finding.code)
    for name, code in EXPECTED_BAD.items():
        assert code in by_file.get(name, set()), (name, by_file.get(name))
    status = sheet(out, L.CITY_SUBMISSIONS)
    listed = " ".join(str(r[2]) for r in status)
    for name in EXPECTED_BAD:
        assert name in listed


def test_bombs_stay_within_memory(bad_inbox: Path, tmp_path: Path) -> None:
    """The CLI on the bad inbox, in a child process: bounded peak memory and exit 1."""
    out = tmp_path / "city.xlsx"
    proc = subprocess.Popen([sys.executable, "-m", "xlz", "consolidate", str(bad_inbox),
                             "--out", str(out), "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not all children's
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 1
    assert usage.ru_maxrss / 1024 < 500


def test_exit_2_when_nothing_is_readable(tmp_path: Path) -> None:
    empty = tmp_path / "空.xlsx"
    empty.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "xlz", "consolidate", str(empty),
                           "--out", str(tmp_path / "c.xlsx")], capture_output=True, timeout=60)
    assert proc.returncode == 2
    assert (tmp_path / "c.xlsx").exists()  # the report still says what was wrong


def test_row_conservation(bad_inbox: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "mix"
    _copy(bad_inbox, inbox)
    build_town_workbook(PLAN, "jiuhua", inbox / "九华镇（改）.xlsx",
                        with_errors(sample_entries(PLAN, "jiuhua")))
    result = consolidate([inbox], tmp_path / "c.xlsx", PLAN)
    c = result.consolidation
    accepted = {(id(r.file), r.record.sheet, r.record.row)
                for rows in (c.projects, c.carriers, c.activities) for r in rows}
    listed = {(i.file, i.finding.sheet, i.finding.row) for i in c.issues}
    total = 0
    for f in c.readable:
        for key in ("project", "carrier", "activity"):
            for record in f.records(key):
                total += 1
                assert (id(f), record.sheet, record.row) in accepted or \
                    (f.name, record.sheet, record.row) in listed
    assert total > 400


def test_the_conservation_check_names_a_lost_row(towns: Path, tmp_path: Path) -> None:
    """check_conservation itself (it runs inside every build_from): a row taken out of
    the accepted rows, not on 问题清单 either, makes it raise and name the row; a row
    accepted under another file's name does not count for its own file."""
    from xlz.core.consolidation import Row, check_conservation

    c = consolidate([towns], tmp_path / "c.xlsx", PLAN).consolidation
    check_conservation(c)  # as built: nothing lost
    lost = c.projects.pop(7)
    with pytest.raises(RuntimeError, match="汇总丢失了1行") as caught:
        check_conservation(c)
    assert f"{lost.file.name} {lost.record.sheet}!{lost.record.row}" in str(caught.value)
    other = next(r.file for r in c.projects if r.file is not lost.file)
    c.projects.append(Row(lost.town, other, lost.record))
    with pytest.raises(RuntimeError, match="汇总丢失了1行"):
        check_conservation(c)
    c.projects[-1] = lost
    check_conservation(c)


# ------------------------------------------------------------------------ LibreOffice


@pytest.mark.libreoffice
def test_city_workbook_opens_in_libreoffice_without_errors(city: tuple[Path, Any]) -> None:
    from tests.lo.harness import formula_errors, read_cached

    out, _ = city
    assert formula_errors(out) == []
    cells = read_cached(out, [f"{L.CITY_TASKS}!A1:D16"])[f"{L.CITY_TASKS}!A1:D16"]
    assert cells["A15"]["value"] == L.CITY_TOTAL_LABEL
    assert cells["B15"]["value"] == 398


@pytest.mark.libreoffice
def test_xls_and_ods_saved_by_libreoffice_are_consolidated(tmp_path: Path) -> None:
    from tests.lo.harness import convert

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for code, suffix in (("dingyan", ".xls"), ("dongchen", ".ods")):
        source = tmp_path / f"{code}.xlsx"
        build_town_workbook(PLAN, code, source, sample_entries(PLAN, code))
        convert(source, inbox / f"{code}{suffix}")
    result = consolidate([inbox], tmp_path / "city.xlsx", PLAN)
    states = {t.town.code: t for t in result.consolidation.towns}
    for code in ("dingyan", "dongchen"):
        town = states[code]
        assert town.state == "已报送", [i.finding.message for i in result.consolidation.issues]
        projects = next(p for p in town.progress if p.metric == "projects")
        assert projects.done == PLAN.target(code).projects


def test_spliced_rows_read_back_exactly(tmp_path: Path) -> None:
    """The fast row writer: text stays text (also ``=…``), control characters and
    spaces survive, dates carry a date style, numbers are numbers."""
    import openpyxl
    import xlsxwriter

    from xlz.ooxml.fastrows import splice_rows

    path = tmp_path / "rows.xlsx"
    book = xlsxwriter.Workbook(str(path))
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    book.add_worksheet("数据").write_row(0, 0, ["a", "b", "c", "d"])
    style = date._get_xf_index()
    book.close()
    rows = [["=1+1", 3.5, dt.date(2023, 3, 5), " 前后空格 "],
            ["a<b>&c", 7, None, "控制\x01字符"], [True, -1, dt.datetime(2023, 1, 2, 12), "x"]]
    splice_rows(path, "xl/worksheets/sheet1.xml", iter(rows), len(rows), 4, 2, style)
    ws = openpyxl.load_workbook(path)["数据"]
    assert ws.max_row == 4
    assert ws["A2"].value == "=1+1" and ws["A2"].data_type == "s"
    assert ws["B2"].value == 3.5 and ws["C2"].value == dt.datetime(2023, 3, 5)
    assert ws["D2"].value == " 前后空格 "
    assert ws["A3"].value == "a<b>&c" and ws["C3"].value is None
    assert ws["D3"].value in ("控制\x01字符", "控制_x0001_字符")
    assert ws["A4"].value is True and ws["C4"].value == dt.datetime(2023, 1, 2, 12)


def test_rows_prebuilt_in_workers_match_the_parents(towns: Path, tmp_path: Path) -> None:
    """The process pool builds each accepted file's 项目信息库 rows in the worker: the
    sheet must be byte for byte what the parent writes from the records."""
    import pickle

    from xlz.books.citybook import prebuilt_project_rows, write_city_workbook
    from xlz.core.consolidation import build_from, examine_with_columns
    from xlz.core.validator import PlanCache
    from xlz.io.inbox import Expander
    from xlz.ops.consolidate import gather, read_input

    files = gather([towns], PLAN, workers=1).files
    result = build_from(files, PLAN)
    plain = write_city_workbook(result, tmp_path / "plain.xlsx")
    cache = PlanCache(PLAN)
    with Expander() as expander:
        items = list(expander.expand([towns]))
    prebuilt: list[bytes | None] = []
    for f, item in zip(files, items, strict=True):
        if f.status != "accepted":
            prebuilt.append(None)
            continue
        again, columns = examine_with_columns(read_input(item), PLAN, cache=cache)
        rows = prebuilt_project_rows(f)
        # From the validator's own columns, from the records, or after a trip.
        assert prebuilt_project_rows(again, columns["project"]) == rows
        assert prebuilt_project_rows(pickle.loads(pickle.dumps(f))) == rows
        prebuilt.append(rows)
    assert any(prebuilt)
    fast = write_city_workbook(result, tmp_path / "fast.xlsx", project_rows=prebuilt)
    part = f"xl/worksheets/sheet{L.CITY_SHEETS.index(L.CITY_PROJECTS) + 1}.xml"
    with zipfile.ZipFile(plain) as a, zipfile.ZipFile(fast) as b:
        assert a.read(part) == b.read(part)


def test_a_spawned_pool_gives_what_one_process_gives(towns: Path) -> None:
    """Workers started as on Windows (``spawn``) send records packed as columns, their
    rows prebuilt and their projects counted: what the parent then holds must equal
    what one process makes."""
    import multiprocessing

    from xlz.core.consolidation import build_from
    from xlz.core.validator import Record
    from xlz.ops.consolidate import gather

    single = gather([towns], PLAN, workers=1)
    pooled = gather([towns], PLAN, workers=2, context=multiprocessing.get_context("spawn"))
    assert [f.name for f in single.files] == [f.name for f in pooled.files]
    lazy = [r for f in pooled.files for r in f.records("project")]
    assert lazy and all(type(r) is not Record for r in lazy)  # really sent packed
    slot = Record.__dict__["raw"]
    with pytest.raises(AttributeError):
        slot.__get__(lazy[0], Record)  # not rebuilt until something reads it
    assert single.tallies == [None] * len(single.files)  # counted later, from records
    accepted = [f.status == "accepted" for f in pooled.files]
    assert [t is not None for t in pooled.tallies] == accepted
    assert [r is not None for r in pooled.project_rows] == accepted
    for a, b in zip(single.files, pooled.files, strict=True):
        assert a.status == b.status and a.report.findings == b.report.findings
        for key in ("project", "carrier", "activity"):
            assert a.records(key) == b.records(key)
            assert [r.raw for r in a.records(key)] == [r.raw for r in b.records(key)]
    one = build_from(single.files, PLAN)
    two = build_from(pooled.files, PLAN, tallies=pooled.tallies)
    assert [t.progress for t in one.towns] == [t.progress for t in two.towns]
    assert one.done_total == two.done_total


def test_a_spawned_pool_writes_the_same_city_workbook(towns: Path, tmp_path: Path) -> None:
    """End to end through ``consolidate``: every sheet of the city workbook reads back
    the same whether the towns were examined by worker processes (started the
    platform's way) or in this process."""
    one = consolidate([towns], tmp_path / "one.xlsx", workers=1)
    two = consolidate([towns], tmp_path / "two.xlsx", workers=2)
    # Both runs record the same period in one ledger: the second is its revision 2.
    assert {**one.to_dict(), "out": "", "ledger": None} == \
        {**two.to_dict(), "out": "", "ledger": None}
    for name in L.CITY_SHEETS:
        assert sheet(one.out, name) == sheet(two.out, name), name


def test_packed_records_survive_odd_shapes() -> None:
    import pickle

    from xlz.core.validator import Record
    from xlz.ops.packed import pack, unpack

    same = [Record("项目信息", 2, {"name": "甲", "seq": 1.0}, {"name": "甲", "seq": 1}),
            Record("项目信息", 3, {"name": "乙", "seq": None}, {"name": "乙", "seq": None}, 1)]
    odd = [Record("孵化载体", 2, {"name": "丙"}, {"name": "丙"}),
           Record("孵化载体", 4, {"name": "丁", "area": 5}, {"name": "丁"})]
    for records in (same, odd, []):
        back = unpack(pickle.loads(pickle.dumps(pack(records))))
        assert back == records
    lazy = unpack(pack(same))
    assert lazy[1].errors == 1 and not lazy[1].ok
    assert unpack(pack(odd))[1].raw == {"name": "丁", "area": 5}
    again = pickle.loads(pickle.dumps(lazy[0]))  # a lazy one, re-sent
    assert again == same[0]


def test_a_worker_envelope_opens_to_the_file_it_sealed(towns: Path) -> None:
    """What a worker sends (xlz.ops.pool.seal) carries the same records, rows and
    tally as the file examined here, through pickling."""
    import pickle

    from xlz.books.citybook import prebuilt_project_rows
    from xlz.core.summary import tally
    from xlz.core.validator import PlanCache
    from xlz.io.inbox import Expander
    from xlz.ops.consolidate import examine_source
    from xlz.ops.pool import opened, seal

    cache = PlanCache(PLAN)
    with Expander() as expander:
        item = next(iter(expander.expand([towns])))
        result, columns = examine_source(item, PLAN, cache)
    assert result.status == "accepted"
    back = opened(pickle.loads(pickle.dumps(seal(result, columns, PLAN))))
    assert back.file.report.findings == result.report.findings
    for key in ("project", "carrier", "activity"):
        assert back.file.records(key) == result.records(key)
    assert back.project_rows == prebuilt_project_rows(result)
    assert back.tally == tally(result.records("project"), PLAN)


def test_a_failing_sheet_writer_leaves_no_city_workbook(
        towns: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xlz.books.citybook as citybook
    from xlz.core.consolidation import build_from
    from xlz.core.errors import OutputError
    from xlz.ops.consolidate import gather

    result = build_from(gather([towns], PLAN, workers=1).files, PLAN)

    def broken(*_: object) -> None:
        raise OSError("磁盘已满")

    monkeypatch.setattr(citybook, "_write_sheets", broken)
    out = tmp_path / "city.xlsx"
    with pytest.raises(OutputError) as raised:
        citybook.write_city_workbook(result, out)
    assert raised.value.code == "output.write_failed"
    assert not out.exists() and not list(tmp_path.glob(".~xlz-*"))


def test_the_ledger_rows_from_packed_columns_are_entry_rows(towns: Path, tmp_path: Path
                                                             ) -> None:
    """The ledger thread reads pooled records' values straight from their columns
    (xlz.ops.packed.entry_rows_from_columns): the same rows as entry_rows, for records
    that came packed, records rebuilt already, in-process records and rows with 提醒."""
    import shutil

    from xlz.core.consolidation import build_from
    from xlz.core.entries import ENTRY_SHEETS
    from xlz.core.roundrecord import entry_rows
    from xlz.ops.consolidate import gather
    from xlz.ops.packed import entry_rows_from_columns

    inbox = tmp_path / "inbox"
    shutil.copytree(towns, inbox)
    town = PLAN.towns[0]  # one town with 提醒 on accepted rows (their text is kept)
    entries = sample_entries(PLAN, town.code)
    entries["project"][0]["prereview"] = "待定"
    entries["project"][1]["seq"] = "第二"
    build_town_workbook(PLAN, town.code, inbox / f"{town.short}.xlsx", entries)
    for workers in (2, 1):
        gathered = gather([inbox], PLAN, workers=workers)
        c = build_from(gathered.files, PLAN, tallies=gathered.tallies)
        seq = {id(f): i for i, f in enumerate(c.files, start=1)}
        if workers == 2:
            assert type(c.projects[0].record).__name__ == "ColumnRecord"  # came packed
            for r in c.carriers[:3]:
                assert r.record.values  # some rebuilt before the ledger reads them
        rows = {"project": c.projects, "carrier": c.carriers, "activity": c.activities}
        for spec in ENTRY_SHEETS:
            assert rows[spec.key]
            assert entry_rows_from_columns(spec, rows[spec.key], seq) == \
                entry_rows(spec, rows[spec.key], seq), (workers, spec.key)
        assert any(r.record.warnings for r in c.projects)
        assert any(isinstance(r.record.values.get("signed"), dt.date) for r in c.projects)

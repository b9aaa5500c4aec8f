"""The 通报 (xlz bulletin) and consolidate --feedback (issue 12): the bulletin states the
city workbook's own numbers, refuses bad inputs before writing anything, and feedback
marks copies of the failed towns' files only, never the inputs."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from xlz.books.common import town_file_name
from xlz.books.townbook import build_town_workbook
from xlz.cli import main
from xlz.core import layout as L
from xlz.core.bulletin import bulletin_facts, elapsed_share
from xlz.core.plan import load_plan
from xlz.io.ledger.read import Ledger
from xlz.ops.bulletin import make_bulletin
from xlz.ops.consolidate import consolidate
from xlz.ops.demo import june_entries, sample_entries, with_errors

PLAN = load_plan()
TOWNS = ("dingyan", "dongchen", "jiuhua", "jiangan")


def _inbox(folder: Path, entries_of: dict[str, Any]) -> Path:
    folder.mkdir(parents=True)
    for code, entries in entries_of.items():
        build_town_workbook(PLAN, code, folder / town_file_name(PLAN, PLAN.town(code)), entries)
    return folder


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


@pytest.fixture(scope="module")
def rounds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two rounds in one ledger: June (four towns), September (jiuhua with 错误, jiangan
    missing), the second with --feedback."""
    root = tmp_path_factory.mktemp("rounds")
    june = _inbox(root / "6月", {c: june_entries(PLAN, c) for c in TOWNS})
    sept = _inbox(root / "9月", {c: with_errors(sample_entries(PLAN, c)) if c == "jiuhua"
                                 else sample_entries(PLAN, c) for c in TOWNS[:3]})
    before = _digests(sept)
    city = root / "city"
    city.mkdir()
    first = consolidate([june], city / "6月.xlsx", PLAN, period="2023-06-30")
    second = consolidate([sept], city / "9月.xlsx", PLAN, period="2023-09-30",
                         feedback=root / "反馈")
    return {"root": root, "june": june, "sept": sept, "before": before, "first": first,
            "second": second, "ledger": city / "科技招商台账.sqlite"}


# ------------------------------------------------------------------------ the facts


def test_facts_rank_as_the_city_workbook_and_never_say_0(rounds: dict[str, Any]) -> None:
    book = Ledger(rounds["ledger"])
    now, before = book.round("2023-09-30"), book.round("2023-06-30")
    facts = bulletin_facts(PLAN, now, before, book.contacts(before=now.period))
    city = CalamineWorkbook.from_path(str(rounds["second"].out))
    ranked = {r[1]: r for r in city.get_sheet_by_name(L.CITY_RANKING).to_python()[1:]
              if r[1] in {t.short for t in PLAN.towns}}
    assert [t.short for t in facts.towns] == list(ranked)  # the same order
    for t in facts.towns:
        row = ranked[t.short]
        assert (t.rank or "—") == (int(row[0]) if row[0] != "—" else "—")
        assert t.state == row[2]
        if t.score is not None:
            assert t.score == pytest.approx(row[3])
    missing = {t.short: t for t in facts.towns if t.state != "已报送"}
    assert set(missing) == {"九华镇", "江安镇"} | {t.short for t in PLAN.towns
                                                  if t.code not in TOWNS}
    assert all(all(v is None for v in t.done.values()) for t in missing.values())
    behind = {b.short: b for b in facts.behind}
    # 江安镇 sent nothing in September: whom to call comes from its June file.
    assert behind["江安镇"].state == "未报送" and behind["江安镇"].contact != "—"
    # June's files lacked 8 projects each and had one 洽谈中 that is now signed.
    assert {p.town for p in facts.new_projects} == {"丁堰镇", "东陈镇"}
    assert len(facts.new_projects) == 16
    assert {m.now for m in facts.status_moves} <= {"已签约", "已注册", "已投产"}
    assert any("九华镇" in p for p in facts.problems)


def test_elapsed_share() -> None:
    assert elapsed_share(dt.date(2023, 12, 31), 2023) == 1.0
    assert elapsed_share(dt.date(2023, 6, 30), 2023) == pytest.approx(181 / 365)
    assert elapsed_share(dt.date(2022, 12, 1), 2023) == 0.0


# ------------------------------------------------------------------------ feedback


def test_feedback_marks_copies_of_the_failed_towns_only(rounds: dict[str, Any]) -> None:
    assert _digests(rounds["sept"]) == rounds["before"]  # inputs untouched, byte for byte
    folder = rounds["root"] / "反馈"
    assert sorted(p.name for p in folder.iterdir()) == ["九华镇-反馈.txt", "九华镇-校验标注.xlsx"]
    text = (folder / "九华镇-反馈.txt").read_text("utf-8-sig")
    assert "2 处错误" in text and "项目信息!" in text
    (fb,) = rounds["second"].feedback
    assert fb.town == "九华镇" and fb.errors == 2
    marked = CalamineWorkbook.from_path(str(folder / "九华镇-校验标注.xlsx"))
    assert L.RESULTS in marked.sheet_names
    results = marked.get_sheet_by_name(L.RESULTS).to_python()
    assert sum(1 for r in results if "错误" in r) >= 2


def test_feedback_inside_a_source_is_refused(rounds: dict[str, Any], tmp_path: Path) -> None:
    before = _digests(rounds["sept"])
    result = CliRunner().invoke(main, ["consolidate", str(rounds["sept"]), "--out",
                                       str(tmp_path / "c.xlsx"), "--feedback",
                                       str(rounds["sept"] / "反馈")])
    assert result.exit_code == 2 and "反馈文件夹" in result.output
    assert _digests(rounds["sept"]) == before and not list(tmp_path.iterdir())


# ------------------------------------------------------------------------ refusals


@pytest.mark.parametrize("case", ["no_ledger", "not_ledger", "no_period", "bad_period",
                                  "no_folder", "exists", "not_docx"])
def test_bad_inputs_exit_2_in_chinese_and_write_nothing(rounds: dict[str, Any], tmp_path: Path,
                                                        case: str) -> None:
    ledger, out = str(rounds["ledger"]), tmp_path / "通报.docx"
    extra: list[str] = []
    if case == "no_ledger":
        ledger = str(tmp_path / "没有.sqlite")
    elif case == "not_ledger":
        ledger = str(rounds["second"].out)
    elif case == "no_period":
        extra = ["--period", "2023-03-31"]
    elif case == "bad_period":
        extra = ["--period", "三月"]
    elif case == "no_folder":
        out = tmp_path / "没有的文件夹" / "通报.docx"
    elif case == "exists":
        out.write_bytes(b"edited by the office")
    elif case == "not_docx":
        out = tmp_path / "通报.pdf"
    before = sorted(tmp_path.rglob("*"))
    result = CliRunner().invoke(main, ["bulletin", "--ledger", ledger, "--out", str(out),
                                       *extra])
    assert result.exit_code == 2, result.output
    assert re.search(r"[\u4e00-\u9fff]", result.output) and "Traceback" not in result.output
    assert sorted(tmp_path.rglob("*")) == before
    if case == "exists":
        assert out.read_bytes() == b"edited by the office"


# ------------------------------------------------------------------------ the document


def _pdf_text(docx: Path, workdir: Path) -> str:
    profile = workdir / "lo-profile"
    subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(workdir), str(docx)],
                   check=True, capture_output=True, timeout=180)
    pdf = workdir / docx.with_suffix(".pdf").name
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout


@pytest.mark.libreoffice
def test_the_bulletin_carries_every_town_and_the_city_workbooks_numbers(
        rounds: dict[str, Any], tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is missing")
    outs = {}
    for period, result in (("2023-06-30", rounds["first"]), ("2023-09-30", rounds["second"])):
        outs[period] = (make_bulletin(rounds["ledger"], tmp_path / f"{period}.docx",
                                      period=period), result)
    texts = {p: _pdf_text(b.out, tmp_path) for p, (b, _) in outs.items()}  # one soffice each
    for period, (bulletin, result) in outs.items():
        text = texts[period]
        flat = re.sub(r"\s+", "", text)
        assert bulletin.facts.title in flat
        city = CalamineWorkbook.from_path(str(result.out))
        ranking = city.get_sheet_by_name(L.CITY_RANKING).to_python()[1:]
        lines = text.splitlines()
        for t in PLAN.towns:
            row = next(r for r in ranking if r[1] == t.short)
            line = next(x for x in lines if re.match(rf"\s*(\d+|—)\s+{t.short}\s", x))
            if row[2] == "已报送":
                assert f"{row[3]:.1%}" in line, (period, t.short, line)
                assert line.split()[0] == str(int(row[0]))
            else:
                assert row[2][:3] in line
        tasks = city.get_sheet_by_name(L.CITY_TASKS).to_python()
        title = next(i for i, r in enumerate(tasks) if r[0] == L.CITY_TARGET_TITLE)
        for label, target, done, rate, *_ in tasks[title + 1:title + 7]:
            label_re = r"\s*".join(re.escape(ch) for ch in label)
            said = re.search(label_re + r"\s+([\d,]+)\s+([\d,]+)\s+([\d.]+%)", text)
            assert said is not None, label
            assert said.groups() == (f"{int(target):,}", f"{int(done):,}", f"{rate:.1%}"), label

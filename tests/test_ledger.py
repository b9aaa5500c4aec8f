"""The ledger (issue 12, docs/ledger.md): every consolidation recorded as a round, read
back through ``xlz.Ledger``, re-runs replacing their period, the archive of input bytes,
the refusals, and a kill in the middle of a write."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

import xlz
from xlz.books.townbook import build_town_workbook
from xlz.cli import main
from xlz.core import layout as L
from xlz.core.plan import load_plan
from xlz.io.ledger import schema
from xlz.ops.demo import sample_entries

PLAN = load_plan()
TOWNS = PLAN.towns[:4]
AS_OF = dt.date(PLAN.year, 9, 30)  # what sample_entries types as 数据截至日期
ROOT = Path(__file__).resolve().parents[1]
STANDARD1 = Path(__file__).parent / "standard1" / "丁堰镇-标准1.xlsx"


@pytest.fixture(scope="module")
def towns(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("towns")
    for town in TOWNS:
        path = folder / f"{town.short}.xlsx"
        build_town_workbook(PLAN, town.code, path, sample_entries(PLAN, town.code))
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return folder


@pytest.fixture(scope="module")
def recorded(towns: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Path, xlz.ConsolidationResult]:
    out = tmp_path_factory.mktemp("city") / "市级汇总表.xlsx"
    return out, xlz.consolidate(towns, out, workers=1)


def _city_provenance(path: Path, sheet: str) -> set[tuple[str, str, str, int]]:
    book = CalamineWorkbook.from_path(str(path))
    try:
        rows = book.get_sheet_by_name(sheet).to_python()
    finally:
        book.close()
    head = next(i for i, r in enumerate(rows) if "SHA-256" in r)
    col = {h: i for i, h in enumerate(rows[head])}
    return {(r[col["来源文件"]], r[col["SHA-256"]], r[col["来源工作表"]], int(r[col["来源行"]]))
            for r in rows[head + 1:] if r[col["SHA-256"]]}


def test_a_round_is_recorded_and_read_back(recorded: tuple[Path, Any]) -> None:
    out, result = recorded
    c = result.consolidation
    assert result.round is not None
    assert result.round.path == out.parent / "科技招商台账.sqlite"
    assert (result.round.number, result.round.period, result.round.period_source,
            result.round.revision) == (1, AS_OF, "as_of", 1)
    ledger = xlz.Ledger(result.round.path)
    r = ledger.round()
    assert r.period == AS_OF and r.number == 1 and r.plan_id == PLAN.id
    # Every accepted row, with the provenance the city workbook gives it.
    assert len(r.projects) == len(c.projects) > 0
    assert len(r.carriers) == len(c.carriers) and len(r.activities) == len(c.activities)
    mine = {(p["file"], p["sha256"], p["sheet"], p["row"]) for p in r.projects}
    assert mine == _city_provenance(out, L.CITY_PROJECTS)
    assert {(p["file"], p["sheet"], p["row"]) for p in r.activities} == \
        {(x.file.name, x.record.sheet, x.record.row) for x in c.activities}
    by_cell = {(p["file"], p["row"]): p for p in r.projects}
    for row in c.projects:
        stored = by_cell[(row.file.name, row.record.row)]
        assert stored["cell"] == f"A{row.record.row}" and stored["town"] == row.town.code
        for key, value in row.record.values.items():
            if key in stored:
                expected = value.isoformat() if isinstance(value, dt.date) else value
                assert stored[key] == expected, key
    # Per-town figures: state, contact, and target/done/rate per metric.
    assert [t["state"] for t in r.towns] == [t.state for t in c.towns]
    for t in c.towns:
        for p in t.progress:
            if t.state == "已报送":
                assert r.done(t.town.code, p.metric) == p.done
            else:
                assert r.done(t.town.code, p.metric) is None  # no figure, never 0
    counted = [t for t in r.towns if t["state"] == "已报送"]
    assert counted and all(t["contact"] and t["reporter"] for t in counted)
    assert len(r.files) == len(c.files) and len(r.findings) == len(c.issues)
    assert {f["sha256"] for f in r.files} == {f.input.sha256 for f in c.files}
    assert all(f["as_of"] == AS_OF.isoformat() for f in r.files if f["status"] == "accepted")


def test_the_archive_holds_every_accepted_files_bytes(recorded: tuple[Path, Any]) -> None:
    _, result = recorded
    ledger = xlz.Ledger(result.round.path)
    accepted = [f for f in result.consolidation.files if f.status == "accepted"]
    assert accepted
    for f in accepted:
        kept = ledger.archived(f.input.sha256)
        assert kept is not None
        assert kept.parent.parent == Path(str(result.round.path) + ".files")
        assert kept.name.startswith(f.input.sha256[2:]) and kept.parent.name == f.input.sha256[:2]
        assert hashlib.sha256(kept.read_bytes()).hexdigest() == f.input.sha256


def test_tables_as_dataframes(recorded: tuple[Path, Any]) -> None:
    pytest.importorskip("pandas")
    _, result = recorded
    ledger = xlz.Ledger(result.round.path)
    rounds = ledger.rounds()
    assert list(rounds["period"]) == [AS_OF.isoformat()] and list(rounds["number"]) == [1]
    projects = ledger.table("projects")
    assert len(projects) == len(result.consolidation.projects)
    assert {"period", "town", "file", "sha256", "sheet", "row", "cell", "name"} <= \
        set(projects.columns)


def test_rerun_replaces_the_period_and_history_is_kept(towns: Path, tmp_path: Path) -> None:
    ledger_path = tmp_path / "台账.sqlite"
    first = xlz.consolidate(towns, tmp_path / "a.xlsx", ledger=ledger_path,
                            period="2023-06-30", workers=1)
    # The same period again, with one town fewer: the round is replaced, not added.
    fewer = tmp_path / "fewer"
    shutil.copytree(towns, fewer)
    (fewer / f"{TOWNS[0].short}.xlsx").unlink()
    again = xlz.consolidate(fewer, tmp_path / "a.xlsx", ledger=ledger_path,
                            period="2023-06-30", workers=1)
    assert first.round is not None and again.round is not None
    assert (again.round.number, again.round.revision) == (1, 2)
    ledger = xlz.Ledger(ledger_path)
    assert ledger.periods() == [dt.date(2023, 6, 30)]
    r = ledger.round("2023-06-30")
    assert r.revision == 2 and r.state(TOWNS[0].code) == "未报送"
    assert len(r.projects) == len(again.consolidation.projects) < \
        len(first.consolidation.projects)
    # A second period: two rounds, the first one readable as it was.
    later = xlz.consolidate(towns, tmp_path / "a.xlsx", ledger=ledger_path,
                            period=dt.date(2023, 9, 30), workers=1)
    assert later.round is not None and later.round.number == 2
    assert ledger.periods() == [dt.date(2023, 6, 30), dt.date(2023, 9, 30)]
    previous = ledger.previous("2023-09-30")
    assert previous is not None and previous.period == dt.date(2023, 6, 30)
    assert len(previous.projects) == len(again.consolidation.projects)
    assert ledger.previous("2023-06-30") is None
    assert {row["period"] for row in ledger.rows("projects")} == {"2023-06-30", "2023-09-30"}
    assert ledger.contacts()[TOWNS[0].code]  # known from the round it was in
    with pytest.raises(xlz.InputError) as err:
        ledger.round("2023-07-31")
    assert err.value.code == "ledger.no_round" and "2023-06-30" in err.value.message


def test_an_empty_ledger_file_left_by_a_killed_first_round_becomes_round_1(
        towns: Path, tmp_path: Path) -> None:
    # A first round killed before its commit leaves a 0-byte file: the writer takes it
    # for a new ledger, and so must the reading of earlier rounds (it said "空文件"
    # after every file had been read).
    ledger_path = tmp_path / "台账.sqlite"
    ledger_path.touch()
    result = xlz.consolidate(towns, tmp_path / "city.xlsx", ledger=ledger_path, workers=1)
    assert result.round is not None and result.round.number == 1
    assert xlz.Ledger(ledger_path).periods() == [result.round.period]


def test_the_command_line_says_where_the_round_went(towns: Path, tmp_path: Path) -> None:
    out = tmp_path / "city.xlsx"
    result = CliRunner().invoke(main, ["consolidate", str(towns), "--out", str(out),
                                       "--period", "2023-06-30"])
    assert result.exit_code in (0, 1), result.output  # 1: 9 of 13 towns sent nothing
    assert f"已记入台账：{tmp_path / '科技招商台账.sqlite'}，第 1 轮（截至 2023-06-30" \
        in result.output
    assert "由 --period 指定" in result.output
    none = CliRunner().invoke(main, ["consolidate", str(towns), "--out",
                                     str(tmp_path / "b" / "city.xlsx"), "--no-ledger"])
    assert "未记入台账" in none.output and not (tmp_path / "b" / "科技招商台账.sqlite").exists()
    bad = CliRunner().invoke(main, ["consolidate", str(towns), "--out", str(out),
                                    "--period", "九月底"])
    assert bad.exit_code == 2 and "ledger.bad_period" not in bad.output
    assert "不是日期" in bad.output and "Traceback" not in bad.output


def test_a_standard_1_workbook_consolidates_into_the_ledger(tmp_path: Path) -> None:
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    shutil.copy2(STANDARD1, inbox / STANDARD1.name)
    result = xlz.consolidate(inbox, tmp_path / "city.xlsx", workers=1)
    f = result.consolidation.files[0]
    assert f.status == "accepted", [x.message for x in f.report.errors]
    assert result.round is not None
    # No 数据截至日期 in a standard-1 file: the period is today's, and it says so.
    assert result.round.period_source == "today" and result.round.period == dt.date.today()
    r = xlz.Ledger(result.round.path).round()
    assert len(r.projects) == len(result.consolidation.projects) > 0
    town = next(t for t in r.towns if t["file"])
    assert town["reporter"] is None and town["phone"] is None
    assert xlz.Ledger(result.round.path).archived(f.input.sha256) is not None


# ------------------------------------------------------------------------- refusals


def _refused(towns: Path, out: Path, ledger: Path, code: str) -> None:
    with pytest.raises(xlz.OutputError) as err:
        xlz.consolidate(towns, out, ledger=ledger, workers=1)
    assert err.value.code == code
    assert not out.exists() and not Path(str(ledger) + ".files").exists()


def test_not_a_ledger_newer_or_locked_is_refused_before_anything_is_written(
        towns: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "notes.sqlite"
    other.write_text("这不是数据库", encoding="utf-8")
    _refused(towns, tmp_path / "a.xlsx", other, "ledger.not_ledger")
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    _refused(towns, tmp_path / "a.xlsx", foreign, "ledger.not_ledger")
    newer = tmp_path / "newer.sqlite"
    xlz.consolidate(towns, tmp_path / "n.xlsx", ledger=newer, workers=1)
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    (tmp_path / "n.xlsx").unlink()
    shutil.rmtree(str(newer) + ".files")
    _refused(towns, tmp_path / "n.xlsx", newer, "ledger.newer")
    with pytest.raises(xlz.InputError) as err:
        xlz.Ledger(newer)
    assert err.value.code == "ledger.newer"
    # Held by another writer.
    busy = tmp_path / "busy.sqlite"
    xlz.consolidate(towns, tmp_path / "b.xlsx", ledger=busy, workers=1)
    (tmp_path / "b.xlsx").unlink()
    shutil.rmtree(str(busy) + ".files")
    monkeypatch.setattr(schema, "BUSY_SECONDS", 0.1)
    holder = sqlite3.connect(busy, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        _refused(towns, tmp_path / "b.xlsx", busy, "ledger.locked")
    finally:
        holder.close()
    with pytest.raises(xlz.InputError) as err:
        xlz.Ledger(tmp_path / "nowhere.sqlite")
    assert err.value.code == "ledger.not_found"


def test_refusal_on_the_command_line_is_chinese_and_exit_2(towns: Path, tmp_path: Path
                                                          ) -> None:
    other = tmp_path / "notes.sqlite"
    other.write_text("x", encoding="utf-8")  # SQLite alone would take it for an empty database
    result = CliRunner().invoke(main, ["consolidate", str(towns), "--out",
                                       str(tmp_path / "a.xlsx"), "--ledger", str(other)])
    assert result.exit_code == 2 and "不是 xlz 的科技招商台账" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "a.xlsx").exists()
    assert other.read_text(encoding="utf-8") == "x"


def test_the_archive_beside_a_city_workbook_in_the_inbox_is_not_read_again(
        towns: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "收件箱"
    shutil.copytree(towns, inbox)
    out = inbox / "市级汇总表.xlsx"
    xlz.consolidate(inbox, out, workers=1)
    again = xlz.consolidate(inbox, out, workers=1)
    assert len(again.consolidation.files) == len(TOWNS)  # not the archived copies


# ------------------------------------------------------------------------- a kill


_PAUSED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import xlz.ops.recording as recording
    from xlz.ops.consolidate import consolidate

    real = recording.record_round
    def paused(*args, **kwargs):
        def checkpoint(step):
            if step == sys.argv[4]:
                Path(sys.argv[5]).touch()
                time.sleep(120)
        kwargs["checkpoint"] = checkpoint
        return real(*args, **kwargs)
    recording.record_round = paused
    consolidate([sys.argv[1]], sys.argv[2], ledger=sys.argv[3], period="2023-06-30",
                workers=1)
""")


def _check_whole(ledger_path: Path, expected_projects: int) -> int:
    conn = sqlite3.connect(ledger_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    ledger = xlz.Ledger(ledger_path)
    rounds = ledger.rows("rounds")
    assert len(rounds) == 1
    r = ledger.round("2023-06-30")
    assert len(r.projects) == expected_projects  # the old round whole, not half of the new
    return int(r.revision)


@pytest.mark.parametrize("step", ["deleted", "projects", "findings"])
def test_a_kill_mid_write_leaves_the_old_round_whole(towns: Path, tmp_path: Path,
                                                     step: str) -> None:
    ledger_path = tmp_path / "台账.sqlite"
    before = xlz.consolidate(towns, tmp_path / "a.xlsx", ledger=ledger_path,
                             period="2023-06-30", workers=1)
    fewer = tmp_path / "fewer"
    shutil.copytree(towns, fewer)
    (fewer / f"{TOWNS[0].short}.xlsx").unlink()
    flag = tmp_path / "paused"
    child = subprocess.Popen([sys.executable, "-c", _PAUSED, str(fewer), str(tmp_path / "a.xlsx"),
                              str(ledger_path), step, str(flag)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert _check_whole(ledger_path, len(before.consolidation.projects)) == 1
    # The next run finds the ledger usable and replaces the round.
    after = xlz.consolidate(fewer, tmp_path / "a.xlsx", ledger=ledger_path,
                            period="2023-06-30", workers=1)
    assert after.round is not None and after.round.revision == 2
    assert len(xlz.Ledger(ledger_path).round().projects) == len(after.consolidation.projects)


def test_kills_at_random_points_never_leave_half_a_round(towns: Path, tmp_path: Path
                                                         ) -> None:
    ledger_path = tmp_path / "台账.sqlite"
    first = xlz.consolidate(towns, tmp_path / "a.xlsx", ledger=ledger_path,
                            period="2023-06-30", workers=1)
    expected = len(first.consolidation.projects)
    rng = random.Random(12)
    argv = [sys.executable, "-m", "xlz", "consolidate", str(towns), "--out",
            str(tmp_path / "a.xlsx"), "--ledger", str(ledger_path), "--period", "2023-06-30"]
    revisions = set()
    for _ in range(4):
        child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))
        child.send_signal(signal.SIGKILL)
        child.wait()
        revisions.add(_check_whole(ledger_path, expected))
    assert revisions  # each kill left one whole round (some runs may have finished)


def test_docs_name_every_ledger_column() -> None:
    from xlz.core import roundrecord as rr
    from xlz.core.entries import ENTRY_SHEETS

    text = (ROOT / "docs" / "ledger.md").read_text(encoding="utf-8")
    columns = {*rr.FILE_COLUMNS, *rr.TOWN_COLUMNS, *rr.PROGRESS_COLUMNS, *rr.FINDING_COLUMNS,
               *rr.ENTRY_FIXED, "unparsed"}
    for sheet in ENTRY_SHEETS:
        columns |= {c.key for c in sheet.input_columns}
    missing = sorted(c for c in columns if not re.search(rf"[`\s]{c}[`\s]", text))
    assert not missing, f"docs/ledger.md does not name: {missing}"


def test_an_unreadable_value_on_an_accepted_row_keeps_its_text(tmp_path: Path) -> None:
    town = TOWNS[1]
    entries = sample_entries(PLAN, town.code)
    entries["project"][0]["prereview"] = "待定"  # not a choice: a 提醒, the row still counts
    entries["project"][1]["seq"] = "第二"
    build_town_workbook(PLAN, town.code, tmp_path / "in" / f"{town.short}.xlsx", entries)
    result = xlz.consolidate(tmp_path / "in", tmp_path / "city.xlsx", workers=1)
    assert result.consolidation.files[0].status == "accepted"
    rows = xlz.Ledger(result.round.path).round().projects
    kept = {r["row"]: r["unparsed"] for r in rows if r["unparsed"]}
    assert kept == {2: '{"prereview": "待定"}', 3: '{"seq": "第二"}'}
    assert rows[0]["prereview"] is None


def test_a_version_1_ledger_is_migrated_and_reads_the_same(towns: Path, tmp_path: Path
                                                           ) -> None:
    """Schema 1 kept each entry row's file name and SHA-256 on the row; schema 2 refers to
    ``files.seq``. A version-1 ledger (rebuilt here from a version-2 one, as version 1
    stored it) is migrated by the next round, and its old round reads as before."""
    ledger_path = tmp_path / "台账.sqlite"
    xlz.consolidate(towns, tmp_path / "a.xlsx", ledger=ledger_path, period="2023-06-30",
                    workers=1)
    before = xlz.Ledger(ledger_path).round("2023-06-30")
    conn = sqlite3.connect(ledger_path, isolation_level=None)
    try:
        for view, stored in schema.ENTRY_STORED.items():
            # The view's columns are version 1's, in its order; rows in stored order.
            conn.execute(f"CREATE TABLE v1 AS {schema.entry_select(conn, view)} "
                         "ORDER BY x.rowid")
            conn.execute(f"DROP VIEW {view}")
            conn.execute(f"DROP TABLE {stored}")
            conn.execute(f"ALTER TABLE v1 RENAME TO {view}")
        conn.execute("PRAGMA user_version = 1")
    finally:
        conn.close()
    assert {"file", "sha256"} <= {r[1] for r in sqlite3.connect(ledger_path).execute(
        "PRAGMA table_info(projects)")}
    xlz.consolidate(towns, tmp_path / "b.xlsx", ledger=ledger_path, period="2023-09-30",
                    workers=1)
    conn = sqlite3.connect(ledger_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        kinds = dict(conn.execute("SELECT name, type FROM sqlite_master WHERE name IN "
                                  "('projects', 'project_rows')").fetchall())
    finally:
        conn.close()
    assert kinds == {"projects": "view", "project_rows": "table"}
    after = xlz.Ledger(ledger_path).round("2023-06-30")
    for table in ("projects", "carriers", "activities"):
        assert getattr(after, table) == getattr(before, table), table
    assert after.projects[0]["file"] and after.projects[0]["sha256"]


def test_a_failed_city_workbook_records_no_round(towns: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The round is written beside the city workbook but committed only after it: when
    the workbook fails, the ledger keeps what it had (xlz/ops/recording.py)."""
    import errno

    import xlz.books.citybook as citybook
    from xlz.core.errors import output_error

    ledger_path = tmp_path / "台账.sqlite"
    xlz.consolidate(towns, tmp_path / "a.xlsx", ledger=ledger_path, period="2023-06-30",
                    workers=1)

    def broken(*args: Any, **kwargs: Any) -> Path:
        time.sleep(0.5)  # the round's rows are being written meanwhile
        raise output_error(tmp_path / "a.xlsx", OSError(errno.ENOSPC, "No space left"))

    monkeypatch.setattr(citybook, "write_city_workbook", broken)
    for period in ("2023-06-30", "2023-09-30"):
        with pytest.raises(xlz.OutputError) as refused:
            xlz.consolidate(towns, tmp_path / "a.xlsx", ledger=ledger_path, period=period,
                            workers=1)
        assert refused.value.code == "output.disk_full"
    rounds = xlz.Ledger(ledger_path).rows("rounds")
    assert [(r["period"], r["revision"]) for r in rounds] == [("2023-06-30", 1)]
    # Nothing is left holding the ledger: the next run writes it.
    monkeypatch.undo()
    again = xlz.consolidate(towns, tmp_path / "a.xlsx", ledger=ledger_path,
                            period="2023-09-30", workers=1)
    assert again.round is not None and again.round.number == 2


def _ledger_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of every table in stored order, with each value's type."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                    "AND name NOT LIKE 'sqlite_%'"):
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')
                    if r[1] not in ("recorded_at", "first_recorded_at", "city_workbook")]
            out[name] = [tuple((type(v), v) for v in row) for row in conn.execute(
                f"SELECT {', '.join(cols)} FROM \"{name}\" ORDER BY rowid")]
        return out
    finally:
        conn.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_staged_rows_are_the_rows_written_the_plain_way(
        towns: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """The entry rows are staged as each file is examined and the round copied from the
    stage (xlz.io.ledger.write.Stage): the same rows, values, types and order as rows
    made after the pool and inserted one by one — with a superseded file, a rejected
    one and rows with 提醒."""
    from xlz.ops import demo, recording

    inbox = tmp_path / "inbox"
    shutil.copytree(towns, inbox)
    first, second, third = TOWNS[0], TOWNS[1], TOWNS[2]
    entries = sample_entries(PLAN, first.code)
    build_town_workbook(PLAN, first.code, inbox / "旧版.xlsx", demo.older_version(entries))
    os.utime(inbox / "旧版.xlsx", (1_600_000_000, 1_600_000_000))
    warned = sample_entries(PLAN, second.code)
    warned["project"][0]["prereview"] = "待定"
    warned["project"][1]["seq"] = "第二"
    build_town_workbook(PLAN, second.code, inbox / f"{second.short}.xlsx", warned)
    build_town_workbook(PLAN, third.code, inbox / "有错.xlsx",
                        demo.with_errors(sample_entries(PLAN, third.code)))
    made: list[Path] = []
    real = recording.Stage

    def spied() -> Any:
        stage = real()
        made.append(stage.path)
        return stage

    monkeypatch.setattr(recording, "Stage", spied)
    staged = xlz.consolidate(inbox, tmp_path / "a.xlsx", ledger=tmp_path / "a.sqlite",
                             period="2023-06-30", workers=workers)
    assert made and not any(p.exists() for p in made)  # used, and removed after

    # Rows not staged while examined (or not the rows the round counts) are staged when
    # the round is: the same rows again.
    monkeypatch.setattr(recording.Recorder, "stager", lambda self: lambda f: None)
    xlz.consolidate(inbox, tmp_path / "c.xlsx", ledger=tmp_path / "c.sqlite",
                    period="2023-06-30", workers=workers)

    def refused() -> Any:
        raise OSError("no stage")

    monkeypatch.setattr(recording, "Stage", refused)
    plain = xlz.consolidate(inbox, tmp_path / "b.xlsx", ledger=tmp_path / "b.sqlite",
                            period="2023-06-30", workers=workers)
    c = staged.consolidation
    assert {f.status for f in c.files} == {"accepted", "superseded", "rejected"}
    assert any(r.record.warnings for r in c.projects)
    assert len(plain.consolidation.projects) == len(c.projects)
    a, b = _ledger_rows(tmp_path / "a.sqlite"), _ledger_rows(tmp_path / "b.sqlite")
    late = _ledger_rows(tmp_path / "c.sqlite")
    assert a.keys() == b.keys() == late.keys()
    for table in a:
        assert a[table] == b[table] == late[table], table
    assert any(row[-1][1] for row in a["project_rows"])  # an unparsed text kept

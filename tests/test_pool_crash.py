"""One damaged file never ends a consolidation (issue 15), with the process pool.

The bad files are real (tests/corpus/): ``calamine-panic-cfb-slice.xls`` makes
python-calamine panic (a ``PanicException``: a ``BaseException`` that cannot be pickled
back from a worker), ``native/calamine-abort-alloc.xls`` makes it ask for 858 GB and
abort the worker process itself (no exception at all: the pool breaks). Both were found
by the fuzzer (tests/fuzzing.py) from an .xls saved by LibreOffice. No test hook in the
product: the worker really dies.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.xlz_books import build
from xlz.core.plan import Plan, load_plan
from xlz.core.validator import PlanCache
from xlz.ops.consolidate import consolidate, crashed_source
from xlz.ops.pool import DIED, examine_in_pool

CORPUS = Path(__file__).parent / "corpus"
PANIC = CORPUS / "calamine-panic-cfb-slice.xls"
ABORT = CORPUS / "native" / "calamine-abort-alloc.xls"


@pytest.fixture()
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "收件箱"
    folder.mkdir()
    for town in load_plan().towns:  # every town, no entries, 填报信息 filled (standard 2)
        build(folder / f"如皋市科技招商填报表-{town.short}.xlsx", {}, town=town.code)
    shutil.copyfile(PANIC, folder / "某镇报表（损坏）.xls")
    shutil.copyfile(ABORT, folder / "某镇报表（崩溃）.xls")
    return folder


def test_the_abort_file_really_kills_a_process() -> None:
    """The premise: reading it ends the process (SIGABRT), so only a process boundary
    can keep it to itself."""
    code = ("import python_calamine as pc, sys\n"
            "wb = pc.CalamineWorkbook.from_path(sys.argv[1])\n"
            "[wb.get_sheet_by_name(n).to_python() for n in wb.sheet_names]\n")
    done = subprocess.run([sys.executable, "-c", code, str(ABORT)], capture_output=True,
                          timeout=60)
    assert done.returncode != 0 and b"memory allocation" in done.stderr


@pytest.mark.slow
def test_a_panicking_and_a_dying_reader_cost_only_their_files(inbox: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "市级.xlsx"
    result = consolidate([inbox], out, workers=2)
    assert out.exists()
    assert result.exit_code == 1
    files = {Path(f.name).name: f for f in result.consolidation.files}
    assert len(files) == 15
    accepted = [n for n, f in files.items() if f.status == "accepted"]
    assert len(accepted) == 13
    issues = {(Path(i.file).name, i.finding.code): i.finding.message
              for i in result.consolidation.issues}
    assert ("某镇报表（损坏）.xls", "file.reader_crashed") in issues
    assert "PanicException" in issues[("某镇报表（损坏）.xls", "file.reader_crashed")]
    assert ("某镇报表（崩溃）.xls", "file.reader_crashed") in issues
    assert DIED in issues[("某镇报表（崩溃）.xls", "file.reader_crashed")]
    assert "另存为" in issues[("某镇报表（崩溃）.xls", "file.reader_crashed")]


def _raises_base_exception(item: Any, plan: Plan, cache: PlanCache) -> Any:
    """A job that raises what a Rust panic looks like to Python: a BaseException that is
    not an Exception (and not picklable by value)."""

    class Panic(BaseException):
        pass

    raise Panic("boom")


def test_whatever_a_job_raises_in_a_worker_comes_back_as_a_finding(inbox: Path) -> None:
    from xlz.io.inbox import Expander

    plan = load_plan()
    with Expander() as expander:
        items = list(expander.expand([inbox]))[:3]
    done = list(examine_in_pool(items, plan, _raises_base_exception, 2,
                                crashed=crashed_source))
    assert len(done) == 3
    for examined in done:
        codes = [f.code for f in examined.file.report.findings]
        assert "file.reader_crashed" in codes
        assert any("Panic" in f.message for f in examined.file.report.findings)


@pytest.mark.slow
def test_the_command_line_survives_an_aborting_xls_in_a_small_inbox(inbox: Path,
                                                                    tmp_path: Path) -> None:
    """13 near-empty templates are too little work for a pool, but an .xls in the inbox
    is read in a worker process anyway: the abort costs that file only (exit 1), and
    the city workbook is written. Run as the office runs it: a child ``xlz`` process."""
    out = tmp_path / "市级.xlsx"
    done = subprocess.run([sys.executable, "-m", "xlz", "consolidate", str(inbox),
                           "--out", str(out), "--json"],
                          capture_output=True, timeout=300)
    assert done.returncode == 1, done.stderr.decode(errors="replace")[-2000:]
    assert out.exists()
    import json

    summary = json.loads(done.stdout.decode())
    statuses = {Path(f["name"]).name: f["status"] for f in summary["files"]}
    assert sum(s == "accepted" for s in statuses.values()) == 13
    assert statuses["某镇报表（崩溃）.xls"] != "accepted"
    assert "Traceback" not in done.stderr.decode(errors="replace")

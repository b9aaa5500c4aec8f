"""Writing a clerk's file in place (issue 11, "bombs, crashes and quiet changes"): the
file keeps its owner and mode, a symbolic link stays a link to the updated file, a killed
run's temporary files do not stay for long, and ``validate`` and ``fill`` at the same
moment on one file both keep their work (the write lock, :mod:`xlz.io.writelock`)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import xlz
from tests.xlz_books import build, parts
from xlz.cli import main
from xlz.io import writelock

# What each command writes (tests/xlz_books: the parts of a built town workbook).
VALIDATE_PART = "xl/worksheets/sheet1.xml"  # 填报说明: status and time of the check
FILL_PARTS = ("xl/worksheets/sheet5.xml", "xl/worksheets/sheet6.xml")  # 任务分解, 载体汇总


@pytest.fixture
def town(tmp_path: Path) -> Path:
    return build(tmp_path / "丁堰镇.xlsx")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".~xlz-"))


def test_in_place_write_keeps_the_mode(town: Path) -> None:
    os.chmod(town, 0o640)
    before = _digest(town)
    assert xlz.validate(town).mode == "inplace"
    assert _digest(town) != before
    assert town.stat().st_mode & 0o7777 == 0o640


def test_a_symbolic_link_stays_a_link_to_the_updated_file(tmp_path: Path) -> None:
    (tmp_path / "共享").mkdir()
    real = build(tmp_path / "共享" / "丁堰镇.xlsx")
    link = tmp_path / "桌面快捷方式.xlsx"
    link.symlink_to(real)
    before = _digest(real)
    assert xlz.fill(link).written
    assert link.is_symlink() and Path(os.readlink(link)) == real
    assert _digest(real) != before
    assert _leftovers(tmp_path) == [] and _leftovers(real.parent) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="only root can give a file to another user")
def test_in_place_write_keeps_the_owner(town: Path) -> None:
    os.chown(town, 12345, 23456)
    assert xlz.validate(town).written
    st = town.stat()
    assert (st.st_uid, st.st_gid) == (12345, 23456)


def test_a_killed_runs_temporaries_are_removed_by_the_next_run(town: Path) -> None:
    old = town.with_name(".~xlz-k1ll3d.xlsx")  # what a killed run leaves beside the file
    old.write_bytes(b"half a workbook")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    fresh = town.with_name(".~xlz-running.xlsx")  # another run's, still being written
    fresh.write_bytes(b"in progress")
    assert xlz.validate(town).written
    assert not old.exists()
    assert fresh.exists()


# ------------------------------------------------------------------------- the lock


def _hold(town: Path, pid: int, since: float) -> Path:
    lock = writelock.lock_path(town)
    lock.write_text(f"{pid} {socket.gethostname()} {since:.3f} test\n", "utf-8")
    return lock


def test_a_file_being_written_by_another_run_is_refused_after_waiting(
        town: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writelock, "WAIT_SECONDS", 0.3)
    lock = _hold(town, os.getpid(), time.time())  # a live process holds it
    before = _digest(town)
    started = time.monotonic()
    with pytest.raises(xlz.OutputError) as raised:
        xlz.fill(town)
    assert raised.value.code == "output.busy"
    assert time.monotonic() - started >= 0.3
    assert "正由另一个 xlz 程序写入" in raised.value.message and lock.name in raised.value.message
    result = CliRunner().invoke(main, ["validate", str(town)])
    assert result.exit_code == 2 and "正由另一个 xlz 程序写入" in result.output
    assert "Traceback" not in result.output
    assert _digest(town) == before
    assert lock.exists()  # another's lock is never removed while it is alive


def test_a_lock_left_by_a_dead_process_is_taken_over(town: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    lock = _hold(town, gone.pid, time.time())
    assert xlz.validate(town).written
    assert not lock.exists()


def test_a_lock_older_than_any_run_is_taken_over(town: Path) -> None:
    lock = _hold(town, os.getpid(), time.time() - writelock.STALE_AFTER_SECONDS - 60)
    assert xlz.fill(town).written
    assert not lock.exists()


def _race(path: str, which: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait()  # both read at the same moment: without the lock one write is lost
    if which == "validate":
        xlz.validate(path)
    else:
        xlz.fill(path)


@pytest.mark.skipif(sys.platform == "win32", reason="fork: the test's own processes")
def test_validate_and_fill_at_the_same_moment_both_keep_their_work(tmp_path: Path) -> None:
    original = build(tmp_path / "原始.xlsx")
    before = parts(original)
    ctx = multiprocessing.get_context("fork")  # xlz already imported: no start-up cost
    lost = []
    for round_ in range(12):  # without the lock about one round in three lost a write
        path = tmp_path / f"丁堰镇{round_}.xlsx"
        path.write_bytes(original.read_bytes())
        barrier = ctx.Barrier(2)
        procs = [ctx.Process(target=_race, args=(str(path), which, barrier))
                 for which in ("validate", "fill")]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        assert [p.exitcode for p in procs] == [0, 0]
        after = parts(path)
        validated = after[VALIDATE_PART] != before[VALIDATE_PART]
        filled = all(after[name] != before[name] for name in FILL_PARTS)
        if not (validated and filled):
            lost.append((round_, "validate" if not validated else "fill"))
        assert _leftovers(tmp_path) == []
    assert lost == []

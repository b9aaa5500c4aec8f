"""The program's quick exit (xlz.cli.run → _leave): the process ends with os._exit once
a command is done, instead of freeing every object — but only when nothing is lost:
exit handlers run, the streams are flushed, and a thread still running keeps the
normal way out. Each runs as the real program does, in a child process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from xlz.books.townbook import build_town_workbook
from xlz.core.plan import load_plan
from xlz.ops.demo import sample_entries

PLAN = load_plan()


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, text=True, encoding="utf-8", timeout=300)


def test_a_large_json_answer_is_written_whole_and_the_exit_code_kept(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for town in PLAN.towns[:3]:
        build_town_workbook(PLAN, town.code, inbox / f"{town.short}.xlsx",
                            sample_entries(PLAN, town.code))
    out = tmp_path / "city.xlsx"
    done = subprocess.run([sys.executable, "-m", "xlz", "consolidate", str(inbox), "--out",
                           str(out), "--json"], capture_output=True, timeout=300)
    assert done.returncode == 1, done.stderr.decode()  # 10 towns have not reported
    data = json.loads(done.stdout)  # the whole answer, flushed before the exit
    assert len(data["files"]) == 3 and out.is_file()
    refused = subprocess.run([sys.executable, "-m", "xlz", "consolidate", str(inbox),
                              "--out", str(inbox / f"{PLAN.towns[0].short}.xlsx")],
                             capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert refused.returncode == 2 and "✗" in refused.stderr  # output.is_input


def test_exit_handlers_run_before_the_quick_exit() -> None:
    done = _python("""
        import atexit, sys
        from xlz.cli import run
        atexit.register(lambda: print("handler ran", flush=False))
        sys.argv = ["xlz", "--version"]
        run()
    """)
    assert done.returncode == 0, done.stderr
    assert "xlz" in done.stdout and done.stdout.rstrip().endswith("handler ran")


def test_a_running_thread_keeps_the_normal_exit() -> None:
    # A non-daemon thread still working when the command returns: Python waits for it,
    # so must we (os._exit would cut it off and lose its output).
    done = _python("""
        import sys, threading, time
        from xlz.cli import run
        def late():
            time.sleep(0.5)
            print("thread finished", flush=True)
        threading.Thread(target=late).start()
        sys.argv = ["xlz", "--version"]
        run()
    """)
    assert done.returncode == 0, done.stderr
    assert "thread finished" in done.stdout

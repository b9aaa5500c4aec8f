"""Time ``import xlz`` and an in-place validation of a 500-row and a 5,000-row town
workbook, each in a fresh process (a button press through xlwings starts a new Python
each time, so cold-start cost is what a clerk waits for).

    .venv/bin/python bench/bench_validate.py [--repeat 5]

Targets (issue 4): import + validate 500 rows ≤ 0.5 s; 5,000 rows ≤ 1.5 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {500: 0.5, 5000: 1.5}


def fresh(code: str, *args: str) -> float:
    """Wall time of ``python -c code args`` (interpreter start included)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True, cwd=tempfile.gettempdir())
    return time.perf_counter() - start


def median(code: str, repeat: int, *args: str, setup: object = None) -> float:
    times = []
    for _ in range(repeat):
        if callable(setup):
            setup()
        times.append(fresh(code, *args))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from tests.xlz_books import build_big

    bare = median("pass", args.repeat)
    imp = median("import xlz", args.repeat)
    print(f"python start          {bare:6.3f} s")
    print(f"import xlz            {imp:6.3f} s  (+{imp - bare:.3f} s over a bare start)")
    with tempfile.TemporaryDirectory() as tmp:
        for rows, target in TARGETS.items():
            master = build_big(Path(tmp) / f"master{rows}.xlsx", rows)
            work = Path(tmp) / f"town{rows}.xlsx"

            def reset(master: Path = master, work: Path = work) -> None:
                shutil.copy(master, work)

            took = median("import sys, xlz; xlz.validate(sys.argv[1])", args.repeat,
                          str(work), setup=reset)
            check = median("import sys, xlz; xlz.validate(sys.argv[1], check=True)",
                           args.repeat, str(work), setup=reset)
            verdict = "ok" if took <= target else "SLOW"
            print(f"import + validate {rows:>5} rows in place {took:6.3f} s "
                  f"(--check {check:.3f} s)  target ≤ {target} s  {verdict}")


if __name__ == "__main__":
    main()

"""What isolating each untrusted file in its own process costs (issue 15).

On the city office's real inbox (13 towns × 4,000 projects, ``bench_consolidate.py``'s
files), one file is read and examined (``xlz.ops.consolidate.examine_source``: guard,
extent check, calamine, validation, inside the reader boundary) in four ways:

- ``in-process``: in this process, behind the boundary only (what ``workers=1`` does);
- ``pool``: a spawned pool of 2 workers for the run (what ``consolidate`` starts for
  this much work), the file's result sealed and sent back;
- ``spawn-per-file``: a fresh spawned process per file, with a memory cap (RLIMIT_AS,
  Linux; Windows would need a job object) and a time cap — the isolation that survives
  even a segfault in native code at the cost of one interpreter start per file;
  sequential, and two at a time.

Also timed: the boundary alone (a ``with untrusted(...)`` around nothing), the extent
check (:func:`xlz.io.read.check_extents`) per file, and one small .xls read here or in a
process of its own (``validate``'s case for .xls/.xlsb).

    .venv/bin/python bench/bench_isolation.py [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

MEMORY_CAP = 2 << 30
TIME_CAP = 60.0


def _limit_memory() -> None:
    try:
        import resource
    except ImportError:  # Windows: a job object would do it
        return
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _examine(item: Any, plan_path: str) -> Any:
    from xlz.core.plan import load_plan
    from xlz.core.validator import PlanCache
    from xlz.ops.consolidate import examine_source
    from xlz.ops.pool import seal

    plan = load_plan(plan_path)
    result, columns = examine_source(item, plan, PlanCache(plan))
    return seal(result, columns, plan)


def spawn_per_file(items: list[Any], plan_path: str, parallel: int) -> float:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    pending = list(items)
    running: list[Any] = []
    while pending or running:
        while pending and len(running) < parallel:
            pool = ProcessPoolExecutor(1, mp_context=ctx, initializer=_limit_memory)
            running.append((pool, pool.submit(_examine, pending.pop(0), plan_path)))
        pool, future = running.pop(0)
        future.result(timeout=TIME_CAP)
        pool.shutdown()
    return time.perf_counter() - t0


def main() -> None:
    import bench_consolidate as bc

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="xlz-iso-"))
    folder.mkdir(parents=True, exist_ok=True)
    plan_path = folder / "bench-plan.json"
    if not plan_path.exists():
        plan_path = bc.make_plan(folder, 13, 4000)
    inbox = folder / "inbox"
    if not inbox.exists():
        bc.make_files(plan_path, inbox, 13)

    from xlz.core.plan import load_plan
    from xlz.core.validator import PlanCache
    from xlz.io.boundary import untrusted
    from xlz.io.inbox import Expander
    from xlz.io.read import check_extents
    from xlz.ops.consolidate import examine_source
    from xlz.ops.pool import examine_in_pool

    plan = load_plan(plan_path)
    with Expander() as expander:
        items = list(expander.expand([inbox]))
    n = len(items)
    size = sum(p.stat().st_size for p in inbox.glob("*.xlsx")) / n
    print(f"{n} files, {size / 1e6:.2f} MB each on average")

    t0 = time.perf_counter()
    for _ in range(100_000):
        with untrusted("x.xlsx", "读取"):
            pass
    print(f"boundary alone: {(time.perf_counter() - t0) * 10:.2f} µs per use")
    t0 = time.perf_counter()
    for item in items:
        check_extents(item.path)
    print(f"extent check: {(time.perf_counter() - t0) / n * 1000:.1f} ms per file")

    # validate's case: one .xls read here, or in a process of its own (what
    # xlz.io.read does for formats without a pre-check).
    from xlz.io.boundary import in_own_process
    from xlz.io.read import calamine_sheets

    xls = str(ROOT / "tests" / "corpus" / "seeds" / "小表-libreoffice.xls")
    for name, read in (("here", lambda: calamine_sheets(xls, None)),
                       ("own process", lambda: in_own_process(xls, calamine_sheets, xls,
                                                              None))):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            read()
            times.append(time.perf_counter() - t0)
        print(f"one .xls read {name}: {statistics.median(times) * 1000:.0f} ms (median of 5)")

    runs: dict[str, list[float]] = {k: [] for k in
                                    ("in-process", "pool(2)", "spawn-per-file",
                                     "spawn-per-file ×2")}
    for _ in range(args.repeat):
        cache = PlanCache(plan)
        t0 = time.perf_counter()
        for item in items:
            examine_source(item, plan, cache)
        runs["in-process"].append(time.perf_counter() - t0)
        from xlz.ops.consolidate import examine_source as job

        t0 = time.perf_counter()
        for _examined in examine_in_pool(items, plan, job, 2):
            pass
        runs["pool(2)"].append(time.perf_counter() - t0)
        runs["spawn-per-file"].append(spawn_per_file(items, str(plan_path), 1))
        runs["spawn-per-file ×2"].append(spawn_per_file(items, str(plan_path), 2))
    base = statistics.median(runs["in-process"])
    print(f"{'':20s} {'wall s (median)':>16s} {'per file ms':>12s} {'vs in-process':>14s}")
    for name, values in runs.items():
        wall = statistics.median(values)
        print(f"{name:20s} {wall:16.2f} {wall / n * 1000:12.0f} {wall / base:13.2f}×   "
              f"runs: {', '.join(f'{v:.2f}' for v in values)}")


if __name__ == "__main__":
    main()

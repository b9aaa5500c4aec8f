"""The worker processes of ``xlz consolidate``: when to start them, and what they send back.

Reading and validating a town workbook is CPU-bound (python-calamine holds the GIL while
parsing), so on the city office's 2-core PCs two processes nearly halve the wait — once
there is enough work to pay for starting them. How much work there is is judged from
the files' sizes before anything is read (:func:`pool_size`), not from their number:
13 towns with 4,000 projects each are far more work than 100 near-empty files.

Workers start the platform's way: ``spawn`` on Windows, where the city office runs xlz,
``fork`` on Linux. Spawning costs ~1 s more CPU per run (two fresh interpreters import
xlz and unpickle the plan; bench/README.md), too much to impose where ``fork`` exists;
nothing here depends on inheriting the parent's memory, and a test runs the pool under
``spawn`` on every platform.

A worker does everything that is per file and sends back an :class:`Envelope`: the file's
result with its records packed as columns (:mod:`xlz.ops.packed`), its 项目信息库 rows
already rendered (:func:`xlz.books.citybook.prebuilt_project_rows`) and what its projects
add up to (:func:`xlz.core.summary.tally`). The parent then neither rebuilds 100,000
records nor renders their rows after the pool is done. The domain types know nothing
of this: the envelope is made from their public fields and the validator's columns.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.context import BaseContext
from typing import Any, Final, NamedTuple, TypeGuard

from xlz.core.consolidation import FileResult
from xlz.core.plan import Plan
from xlz.core.summary import Tally, tally, tally_columns
from xlz.core.validator import PlanCache, Record, SheetColumns
from xlz.io.boundary import DIED, PASS_THROUGH, describe, mark_isolated
from xlz.ops.packed import Packed, pack, pack_columns, unpack

CORES: Final = 2  # the city office's PCs
# Starting two spawned workers (fresh interpreters importing xlz, unpickling the plan),
# as on Windows, costs 0.3-1 s of wall time; one core examines 1.8-3 MB of town workbooks per second
# (bench/README.md). So a second process that would take over less than ~1 MB of work
# costs more than it saves.
POOL_MIN_SHARED_BYTES: Final = 1_000_000
_CHUNK: Final = 4  # files per task at most: each task costs the parent a pickling round
# Per worker: a file's objects are acyclic and freed by reference counting, so a
# collection per 700 allocations (Python's default) is mostly waste.
_GC_THRESHOLDS: Final = (50_000, 20, 100)

# What one file costs a worker: (item, plan, cache) → its result and the validator's
# columns. A module-level function (or a partial of one), since spawned workers
# receive it pickled by name.
FileJob = Callable[[Any, Plan, PlanCache], tuple[FileResult, dict[str, SheetColumns]]]
# What a file costs when its job could not give a result: (item, plan, cache, reason in
# Chinese) → the result that says so (consolidate: a file.reader_crashed finding).
CrashJob = Callable[[Any, Plan, PlanCache, str], tuple[FileResult, dict[str, SheetColumns]]]


def pool_size(sizes: Sequence[int], cores: int = CORES) -> int:
    """How many processes should examine files of ``sizes`` (bytes on disk): 1 means
    this process alone.

    The work is taken to be proportional to the bytes. A second process can take over
    at most what is not on the critical path — the largest file stays one process's
    work — so the pool is worth starting when that share exceeds
    :data:`POOL_MIN_SHARED_BYTES`. Never more processes than files or cores."""
    if cores < 2 or len(sizes) < 2:
        return 1
    total = sum(sizes)
    shared = total - max(max(sizes), total / cores)
    if shared < POOL_MIN_SHARED_BYTES:
        return 1
    return min(cores, len(sizes))


class Examined(NamedTuple):
    """A file's result, and what a worker made beside it (``None`` when examined in
    this process: the city workbook then renders and counts from the records)."""

    file: FileResult
    project_rows: bytes | None = None  # see xlz.books.citybook.prebuilt_project_rows
    tally: Tally | None = None  # what its project records add up to


class Envelope(NamedTuple):
    """What a worker sends back for one file: the result without its records, the
    records packed as columns by sheet key, and its prebuilt rows and tally."""

    file: FileResult
    records: dict[str, Packed | list[Record]]
    project_rows: bytes | None
    tally: Tally | None


def seal(result: FileResult, columns: dict[str, SheetColumns], plan: Plan) -> Envelope:
    """The envelope of a freshly examined file (``columns`` as the validator made them
    for its records, see :func:`~xlz.core.consolidation.examine_with_columns`)."""
    from xlz.books.citybook import prebuilt_project_rows

    rows = counted = None
    if result.status == "accepted" and result.town is not None:
        # Built here, in parallel, instead of 100,000 rows in the parent afterwards.
        made = columns.get("project")
        rows = prebuilt_project_rows(result, made)
        records = result.records("project")
        counted = tally_columns(dict(zip(made.value_keys, made.value_columns, strict=True)),
                                len(records), plan) if _fits(made, records) else \
            tally(records, plan)
    validation = result.validation
    if validation is None:
        return Envelope(result, {}, rows, counted)
    packed = {key: _packed(records, columns.get(key))
              for key, records in validation.records.items()}
    bare = dataclasses.replace(result, validation=dataclasses.replace(validation, records={}))
    return Envelope(bare, packed, rows, counted)


def _fits(made: SheetColumns | None, records: list[Record]) -> TypeGuard[SheetColumns]:
    """Whether ``made`` are columns of ``records`` (as validate_with_columns made them)."""
    return made is not None and all(len(c) == len(records)
                                    for c in (*made.raw_columns, *made.value_columns))


def _packed(records: list[Record], made: SheetColumns | None) -> Packed | list[Record]:
    if _fits(made, records):
        return pack_columns(records, *made)  # the columns as made, not read back
    return pack(records)


def opened(envelope: Envelope) -> Examined:
    """The result as examined, its records rebuilt lazily (on first read)."""
    result = envelope.file
    if result.validation is not None:
        result.validation.records = {key: unpack(packed)
                                     for key, packed in envelope.records.items()}
    return Examined(result, envelope.project_rows, envelope.tally)


def examine_in_pool(items: Sequence[Any], plan: Plan, job: FileJob, workers: int, *,
                    context: BaseContext | None = None,
                    crashed: CrashJob | None = None) -> Iterator[Examined]:
    """``job`` over ``items`` in ``workers`` processes; results in the order of
    ``items``, each as soon as it and those before it are done.

    With ``crashed``, one file never ends the run: whatever ``job`` raises in a worker
    becomes ``crashed``'s result for that file (nothing unpicklable is sent back), and
    when a worker process dies (a native crash in a reader) the files not yet done are
    each retried alone in a fresh process, so the one that kills its process takes only
    itself (its result: ``crashed`` with :data:`DIED`)."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    ctx = context if context is not None else multiprocessing.get_context()  # the platform's
    done = 0
    try:
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(plan, job, crashed)) as pool:
            chunk = max(1, min(_CHUNK, len(items) // (workers * 8)))
            for envelope in pool.map(_examine_in_worker, items, chunksize=chunk):
                done += 1
                yield opened(envelope)
    except BrokenProcessPool:
        if crashed is None:
            raise
        yield from _alone(items[done:], plan, job, workers, ctx, crashed)


def _alone(items: Sequence[Any], plan: Plan, job: FileJob, workers: int, ctx: BaseContext,
           crashed: CrashJob) -> Iterator[Examined]:
    """Each of ``items`` in a fresh process of its own (at most ``workers`` at a time),
    results in order; a file whose process dies gets ``crashed``'s result."""
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    def start(item: Any) -> tuple[Any, ProcessPoolExecutor, Future[Envelope]]:
        pool = ProcessPoolExecutor(1, mp_context=ctx, initializer=_init_worker,
                                   initargs=(plan, job, crashed))
        return item, pool, pool.submit(_examine_in_worker, item)

    waiting = deque(items)
    running = deque(start(waiting.popleft()) for _ in range(min(workers, len(waiting))))
    cache: PlanCache | None = None
    while running:
        item, pool, future = running.popleft()
        try:
            examined = opened(future.result())
        except BrokenProcessPool:
            cache = cache or PlanCache(plan)
            examined = Examined(crashed(item, plan, cache, DIED)[0])
        finally:
            pool.shutdown()
        if waiting:
            running.append(start(waiting.popleft()))
        yield examined


class _Worker:
    """What a worker process keeps between files (set up once by :func:`_init_worker`)."""

    plan: Plan
    cache: PlanCache
    job: FileJob
    crashed: CrashJob | None


_WORKER = _Worker()


def _init_worker(plan: Plan, job: FileJob, crashed: CrashJob | None = None) -> None:
    _WORKER.plan, _WORKER.cache, _WORKER.job = plan, PlanCache(plan), job
    _WORKER.crashed = crashed
    if crashed is not None:  # this worker is the crash boundary of the files it reads
        mark_isolated()
    # The plan and the imported modules live as long as the worker: keep the cyclic
    # collector off them (freeze), and let it run less often.
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)


def _examine_in_worker(item: Any) -> Envelope:
    w = _WORKER
    if w.crashed is None:
        result, columns = w.job(item, w.plan, w.cache)
        return seal(result, columns, w.plan)
    # The boundary around the whole per-file call: what comes back is always an
    # envelope (a PanicException, for one, could not be pickled back).
    try:
        result, columns = w.job(item, w.plan, w.cache)
        return seal(result, columns, w.plan)
    except PASS_THROUGH:
        raise
    except BaseException as exc:
        result, columns = w.crashed(item, w.plan, w.cache, f"处理时出错：{describe(exc)}")
        return seal(result, columns, w.plan)

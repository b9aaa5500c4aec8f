"""The one boundary around every parse of untrusted bytes.

A clerk's attachment reaches four parsers xlz does not control line by line: the
format sniff (:mod:`xlz.io.intake`), the e-mail parser and the archive expansion
(:mod:`xlz.io.inbox`), python-calamine (:mod:`xlz.io.read`) and the in-place writer's
parsing of the clerk's parts (:mod:`xlz.io.inplace`). Whatever one file does to them
must cost that file only:

- an ordinary exception the caller knows (a damaged zip, an OS error…) keeps its own
  rule (``known``);
- anything else — an unexpected exception, a Rust panic from calamine
  (``pyo3_runtime.PanicException`` derives from ``BaseException``, so ``except
  Exception`` misses it, and it cannot be pickled back from a worker process),
  ``RecursionError`` — becomes ``file.reader_crashed`` naming the file;
- ``MemoryError`` becomes ``file.too_large``.

Only ``KeyboardInterrupt``, ``SystemExit`` and ``GeneratorExit`` pass through: the user
stopping the run is not the file's doing. The error raised is an :class:`InputError`
(picklable, with a catalogue code and a Chinese message), chained to the original
with ``from`` in this process only.

What a boundary inside the process cannot catch is a native crash that ends the
process itself (a Rust allocation failure aborts, a segfault): the process pool of
``consolidate`` handles those by retrying the unfinished files alone
(:mod:`xlz.ops.pool`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, NamedTuple, TypeVar

from xlz.core.errors import InputError, XlzError, make_error

# What the user (or the interpreter) does, never a file: these always pass through.
PASS_THROUGH: Final = (KeyboardInterrupt, SystemExit, GeneratorExit)

Known = Callable[[Exception], "InputError | None"]
R = TypeVar("R")


def describe(exc: BaseException) -> str:
    """A short, single-line account of ``exc`` for a message (type and first words)."""
    text = " ".join(str(exc).split())[:120]
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def verdict(exc: BaseException, stage: str) -> tuple[str, dict[str, Any]]:
    """The catalogue code and message fields for ``exc``, raised by a reader while it
    was ``stage`` (Chinese, e.g. ``"读取工作簿"``) an untrusted file."""
    if isinstance(exc, MemoryError):
        return "file.too_large", {"reason": f"{stage}时内存不足"}
    if isinstance(exc, RecursionError):
        return "file.reader_crashed", {"reason": f"{stage}时结构嵌套过深"}
    return "file.reader_crashed", {"reason": f"{stage}时出错：{describe(exc)}"}


class ReaderFailed(InputError):
    """The :class:`InputError` the boundary raises for what a reader did not report
    itself; ``reason`` is the message's reason alone (for a finding that is built from
    the code and the reason, such as the inbox's :class:`~xlz.io.inbox.SourceProblem`)."""

    reason: str = ""

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.code, self.message, self.path), {"reason": self.reason}


def crash_error(exc: BaseException, path: str | os.PathLike[str], stage: str) -> ReaderFailed:
    """The error for anything unexpected a reader raised on ``path``."""
    code, fields = verdict(exc, stage)
    error = make_error(ReaderFailed, code, path, **fields)
    error.reason = fields["reason"]
    return error


@contextmanager
def untrusted(path: str | os.PathLike[str], stage: str, *, known: Known | None = None,
              handled: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """The boundary: run the body (parsing ``path``'s bytes, ``stage`` says how) and
    turn whatever it raises into an :class:`InputError` for that file.

    ``known(exc)`` may name the rule for an ordinary exception the caller expects
    (returning None leaves it to the boundary); exceptions of the types in ``handled``
    pass unchanged to the caller, which handles them. XlzErrors pass unchanged."""
    try:
        yield
    except XlzError:
        raise
    except PASS_THROUGH:
        raise
    except handled:
        raise
    except BaseException as exc:  # a Rust panic is a BaseException: that is the point
        error = known(exc) if known is not None and isinstance(exc, Exception) else None
        raise (error or crash_error(exc, path, stage)) from exc


# Why a file has no result when the process reading it died (a native crash: a Rust
# allocation failure aborts, a segfault, the OS killing it for memory).
DIED: Final = "读取它的进程意外退出（读取程序崩溃或内存耗尽）"
# The address space a reading process may use (POSIX only: Windows would need a job
# object). A full .xls sheet (65,536 × 256 cells) needs ~1 GB in calamine and Python.
CHILD_MEMORY: Final = 4 << 30


class _Process:
    isolated = False  # this process reads for another (a pool worker, a reading child)


def mark_isolated() -> None:
    """Say that this process exists to read untrusted files (a worker of the pool, a
    child of :func:`in_own_process`): a crash here costs its parent nothing, so no
    further process is started for one file."""
    _Process.isolated = True
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft > CHILD_MEMORY:
        limit = CHILD_MEMORY if hard == resource.RLIM_INFINITY else min(CHILD_MEMORY, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def in_own_process(path: str | os.PathLike[str], call: Callable[..., R], *args: Any) -> R:
    """``call(*args)`` (a module-level function) in a spawned process of its own, so that
    a native crash of a reader — which no ``except`` can catch — costs this file only: a
    process that dies is :data:`DIED`'s ``file.reader_crashed``. Errors ``call`` raises
    come back as they are (XlzErrors are picklable). In a process that already reads for
    another (:func:`mark_isolated`), ``call`` runs right here. Costs an interpreter start,
    ~0.5 s (bench/README.md), so it is kept for readers with no pre-check."""
    if _Process.isolated:
        return call(*args)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=mark_isolated)
    try:
        outcome = pool.submit(_reported, call, *args).result()
    except BrokenProcessPool as exc:
        error = make_error(ReaderFailed, "file.reader_crashed", path, reason=DIED)
        error.reason = DIED
        raise error from exc
    finally:
        pool.shutdown()
    if isinstance(outcome, _Refusal):
        raise outcome.error()
    return outcome


class _Refusal(NamedTuple):
    """An XlzError as plain fields, to cross back from a reading process."""

    cls: type[XlzError]
    code: str
    message: str
    path: str | None
    reason: str

    def error(self) -> XlzError:
        error = self.cls(self.code, self.message, self.path)
        if isinstance(error, ReaderFailed):
            error.reason = self.reason
        return error


def _reported(call: Callable[..., R], *args: Any) -> R | _Refusal:
    try:
        return call(*args)
    except XlzError as exc:
        return _Refusal(type(exc), exc.code, exc.message, exc.path, getattr(exc, "reason", ""))

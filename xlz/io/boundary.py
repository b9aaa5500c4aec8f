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
from typing import Any, Final, TypeVar

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


def contained(path: str | os.PathLike[str], stage: str, call: Callable[..., R], *args: Any,
              known: Known | None = None, **kwargs: Any) -> R:
    """``call(*args, **kwargs)`` inside :func:`untrusted`."""
    with untrusted(path, stage, known=known):
        return call(*args, **kwargs)

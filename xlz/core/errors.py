"""The errors xlz raises: one tree, each with a rule-catalogue ``code`` and a Chinese
``message`` that names the file and says what to do.

Findings (:mod:`xlz.core.findings`) are what a clerk can fix inside a workbook and are
returned as data; an :class:`XlzError` means the operation could not be done at all:

- :class:`InputError` — an input file xlz cannot use as given (encrypted, damaged, not
  a workbook, open in Excel, Strict Open XML…): the clerk fixes or re-saves the file.
- :class:`PlanError` — a plan file that is missing or fails the plan schema.
- :class:`OutputError` — a place xlz cannot write (disk full, no permission); the
  original file is untouched.
- :class:`PackageError` — a broken installation or a defect in xlz itself
  (``package.internal``): not the user's fault, to be reported.

Public functions (``xlz.validate``, ``xlz.fill``, ``xlz.consolidate``,
``xlz.load_plan``…) raise only these; the command line turns them into a message and
exit status 2.
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from pathlib import PurePath
from typing import Any, ParamSpec, TypeVar

from xlz.core.catalogue import RULES

# Where users report a defect (package.internal). Kept here so the message and the
# docs name the same place.
REPORT_TO = "市科技局信息化联系人（或 xlz 项目的问题列表）"


class XlzError(Exception):
    """Base of every error xlz raises on purpose. ``code`` is a rule of the catalogue
    (``xlz.RULES``), ``message`` is Chinese and says what to do, ``path`` is the file
    concerned (or None)."""

    def __init__(self, code: str, message: str,
                 path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = None if path is None else os.fspath(path)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as ``cls(*args)``; ours take three arguments (a worker
        # process of consolidate sends them back to the parent).
        return (type(self), (self.code, self.message, self.path))

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "code": self.code, "message": self.message}


class InputError(XlzError):
    """A file xlz cannot use as given. Not a finding about the clerk's entries: the file
    itself must be fixed (or closed, or made writable) first."""


class PlanError(XlzError):
    """A plan file that cannot be found or does not satisfy the plan schema."""


class OutputError(XlzError):
    """A file xlz cannot write (disk full, folder not writable). Whatever was being
    replaced is left as it was."""


class PackageError(XlzError):
    """The installation is incomplete, or xlz hit a defect of its own."""


E = TypeVar("E", bound=XlzError)


def make_error(cls: type[E], code: str, path: str | os.PathLike[str] | None = None,
               **extra: Any) -> E:
    """An error of class ``cls`` with the catalogue's message for ``code``; the message's
    ``{file}`` is the file name of ``path``."""
    name = PurePath(os.fspath(path)).name if path is not None else ""
    return cls(code, RULES[code].format(file=name, **extra), path)


def internal_error(exc: BaseException, path: str | os.PathLike[str] | None = None
                   ) -> PackageError:
    """The :class:`PackageError` for an unexpected exception while handling ``path``
    (chain it: ``raise internal_error(exc, p) from exc``)."""
    reason = f"{type(exc).__name__}: {exc}"[:200]
    name = PurePath(os.fspath(path)).name if path is not None else ""
    where = f"处理文件“{name}”时" if name else "运行时"
    return make_error(PackageError, "package.internal", path,
                      where=where, reason=reason, report_to=REPORT_TO)


_DISK_FULL = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG})
_DENIED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def output_error(path: str | os.PathLike[str], exc: OSError) -> OutputError:
    """The :class:`OutputError` for an OS error while writing ``path`` (on Windows the
    disk-full and access-denied codes arrive as ENOSPC and EACCES too)."""
    folder = os.fspath(PurePath(os.fspath(path)).parent)
    if exc.errno in _DISK_FULL:
        return make_error(OutputError, "output.disk_full", path, folder=folder)
    if exc.errno in _DENIED:
        return make_error(OutputError, "output.denied", path, folder=folder)
    reason = exc.strerror or str(exc) or type(exc).__name__
    return make_error(OutputError, "output.write_failed", path, reason=reason)


P = ParamSpec("P")
R = TypeVar("R")


def boundary(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a public function so that it raises only :class:`XlzError`: anything
    else (but the user's Ctrl-C and ``SystemExit``) becomes ``package.internal`` naming
    the file (the first argument), with the original chained as ``__cause__``."""

    @functools.wraps(fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except XlzError:
            raise
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # a Rust panic (pyo3) is a BaseException too
            first = args[0] if args else kwargs.get("path")
            path = first if isinstance(first, (str, os.PathLike)) else None
            raise internal_error(exc, path) from exc

    return guarded

"""The package guard's refusals as the rule catalogue's ``InputError``.

:func:`xlz.ooxml.guard.guard_package` is the one guard every reading path calls (the
reader, the in-place writer, the inbox); it raises byte-level errors that know nothing
of the catalogue. This module names the rule for each, so that ``validate``, ``fill``
and ``consolidate`` refuse the same file with the same code and message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from xlz.io.intake import InputError, input_error
from xlz.ooxml.guard import KEEP_LIMIT, Package, guard_package
from xlz.ooxml.limits import (
    DEFAULT_LIMITS,
    Encrypted,
    GuardError,
    LimitExceeded,
    Limits,
    UnsafeXml,
    UnsupportedMethod,
)
from xlz.ooxml.ziprecords import method_name


def rule_of(exc: GuardError) -> tuple[str, dict[str, Any]]:
    """The catalogue code for a refusal and the fields its message takes."""
    if isinstance(exc, LimitExceeded):
        return "file.too_large", {"reason": exc.reason}
    if isinstance(exc, UnsafeXml):
        return "file.unsafe_xml", {"part": exc.part or ""}
    if isinstance(exc, Encrypted):
        return "file.encrypted", {}
    if isinstance(exc, UnsupportedMethod):
        return "file.unsupported_compression", {
            "part": exc.part or "", "method": method_name(exc.method)}
    return "file.corrupt", {"reason": exc.reason[:200]}


def guard_error(exc: GuardError, path: str | os.PathLike[str]) -> InputError:
    code, extra = rule_of(exc)
    return input_error(code, path, **extra)


def guard_workbook(source: bytes | str | os.PathLike[str], path: str | os.PathLike[str],
                   limits: Limits = DEFAULT_LIMITS,
                   keep: Iterable[str] | Callable[[str], bool] = (),
                   keep_limit: int = KEEP_LIMIT, max_cells: int | None = None,
                   only: Callable[[str], bool] | None = None) -> Package:
    """:func:`~xlz.ooxml.guard.guard_package` for the workbook at ``path`` (``source``
    is its bytes when the caller has read them, else the path again); a refusal is an
    :class:`InputError` naming ``path``."""
    try:
        return guard_package(source, limits, keep, keep_limit, max_cells, only)
    except GuardError as exc:
        raise guard_error(exc, path) from exc

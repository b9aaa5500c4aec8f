"""The package guard: every path that opens a zip-based workbook goes through here.

:func:`guard_package` inflates every part of a package under the caps of
:class:`~xlz.ooxml.limits.Limits` before any reader (calamine, the in-place writer)
touches it, because a zip bomb's declared sizes lie and the bytes produced do not. It
also refuses a DTD at the start of any XML part. What it hands back
(:class:`Package`) reads parts again only under the same caps, and
:func:`read_head` gives the format sniff the start of a part without inflating the
rest of it.

Errors are :class:`~xlz.ooxml.limits.GuardError` subclasses; :mod:`xlz.io` turns them
into the rule catalogue's ``InputError``.
"""

from __future__ import annotations

import contextlib
import io
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from xlz.ooxml.extent import Refusal, measured, refusal
from xlz.ooxml.inflate import member_chunks
from xlz.ooxml.limits import (
    DEFAULT_LIMITS,
    Budget,
    Damaged,
    Encrypted,
    GuardError,
    Limits,
    UnsafeXml,
    UnsupportedMethod,
    check_count,
    check_size,
)
from xlz.ooxml.ziprecords import ENCRYPTED_FLAG

KEEP_LIMIT: Final = 1 << 20  # a part kept whole for the caller (content types, properties)
_HEAD: Final = 4096  # where a DTD would have to be: before the root element
_XML_DTD: Final = (b"<!DOCTYPE", b"<!ENTITY")
_XML_SUFFIXES: Final = (".xml", ".rels", ".vml")
_DAMAGE: Final = (zipfile.BadZipFile, EOFError, ValueError, OSError)


@contextlib.contextmanager
def _inflating(info: zipfile.ZipInfo) -> Iterator[None]:
    """What a failure while inflating one part means: the guard's own verdicts pass, an
    unknown compression method is :class:`UnsupportedMethod`, anything else the stream
    raises is :class:`Damaged` (one translation for the guard and :meth:`Package.read`)."""
    name = info.filename
    try:
        yield
    except GuardError:
        raise
    except NotImplementedError as exc:
        raise UnsupportedMethod(str(exc), name, info.compress_type) from exc
    except _DAMAGE as exc:
        raise Damaged(f"压缩结构损坏：{exc}", name) from exc
    except Exception as exc:  # anything else a damaged stream raises (zlib.error …)
        raise Damaged(f"压缩结构损坏：{type(exc).__name__}: {exc}", name) from exc


class Package:
    """A package :func:`guard_package` has inflated completely under the caps: its part
    names, the parts the caller asked to keep, and :meth:`read` for any other part."""

    def __init__(self, buf: bytes, infos: dict[str, zipfile.ZipInfo], parts: dict[str, bytes],
                 limits: Limits, refusal: Refusal | None = None, duplicated: bool = False
                 ) -> None:
        self.buf = buf
        self.infos = infos
        self.parts = parts
        self.limits = limits
        # With guard_package's max_cells: the first part (in the archive's order) a
        # reader must not see (xlz.ooxml.extent), else None. Found, not raised: the
        # caller refuses it at the point of its own reading where it always has.
        self.refusal = refusal
        # A part name occurs twice in the archive (``infos`` holds the last copy).
        self.duplicated = duplicated

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.infos)

    def read(self, name: str) -> bytes:
        """One part, whole, counted against ``limits.member_bytes`` again (the guard
        has proved the package safe; this keeps a caller from reading past the caps
        if it was handed another buffer). ``KeyError`` for a missing part."""
        if name in self.parts:
            return self.parts[name]
        info = self.infos[name]
        with _inflating(info):
            return b"".join(Budget(self.limits).count(member_chunks(self.buf, info),
                                                      name, info.compress_size))


def guard_package(source: bytes | str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS,
                  keep: Iterable[str] | Callable[[str], bool] = (),
                  keep_limit: int = KEEP_LIMIT, max_cells: int | None = None,
                  only: Callable[[str], bool] | None = None) -> Package:
    """Inflate every part of the zip package ``source`` (its bytes or its path) under
    ``limits``, refusing a DTD at the start of any XML part, and keep whole the parts
    named in ``keep`` (names, or a test on the name) up to ``keep_limit`` bytes each.
    ``max_cells``: also measure the worksheet and shared-strings parts on the way
    (:func:`xlz.ooxml.extent.refusal`), the answer in :attr:`Package.refusal` — one
    inflation of the sheets instead of a second one for the extent check.

    ``only``: inflate just the parts it accepts (a caller that reads nothing else, and
    hands the package to no reader: the properties of an existing city workbook, whose
    100 MB sheet would otherwise be inflated to learn one small part). The archive's
    structure, part count and encryption flags are checked as always; another part
    read later through :meth:`Package.read` is inflated then, under the same caps.

    Raises :class:`~xlz.ooxml.limits.LimitExceeded`, :class:`~xlz.ooxml.limits.UnsafeXml`,
    :class:`~xlz.ooxml.limits.Encrypted`, :class:`~xlz.ooxml.limits.UnsupportedMethod`
    or :class:`~xlz.ooxml.limits.Damaged`.
    """
    if callable(keep):
        wanted = keep
    else:
        names = frozenset(keep)
        wanted = names.__contains__
    buf = _package_bytes(source, limits)
    try:
        with zipfile.ZipFile(io.BytesIO(buf)) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
    except _DAMAGE as exc:
        raise Damaged(f"压缩结构损坏：{exc}") from exc
    check_count(len(infos), limits)
    budget = Budget(limits)
    parts: dict[str, bytes] = {}
    # zipfile reads the last of two members of one name: that copy is measured.
    last = {i.filename: i for i in infos}
    refused: dict[str, Refusal] = {}
    for info in infos:
        name = info.filename
        if info.flag_bits & ENCRYPTED_FLAG:
            raise Encrypted("文件已加密", name)
        if only is not None and not only(name):
            continue
        kept: list[bytes] | None = [] if wanted(name) else None
        # The whole part, only while it is measured.
        whole: list[bytes] | None = (
            [] if max_cells is not None and last[name] is info and measured(name) else None)
        head = b""
        produced = 0
        with _inflating(info):
            for chunk in budget.count(member_chunks(buf, info), name, info.compress_size):
                if not head:
                    head = chunk[:_HEAD]
                produced += len(chunk)
                if whole is not None:
                    whole.append(chunk)
                if kept is not None:
                    kept.append(chunk)
                    if produced > keep_limit:
                        kept = None
        if name.endswith(_XML_SUFFIXES) and any(tag in head for tag in _XML_DTD):
            raise UnsafeXml(f"部件 {name} 含有文档类型声明（DTD）或实体定义", name)
        if kept is not None:
            parts[name] = b"".join(kept)
        if whole is not None and max_cells is not None:
            why = refusal(name, parts[name] if kept is not None else b"".join(whole), max_cells)
            if why is not None:
                refused[name] = why
    # The first refused part in the archive's order (as a reader opening part by part
    # by name would meet it).
    found = next((refused[n] for n in last if n in refused), None)
    return Package(buf, last, parts, limits, found, len(last) != len(infos))


def _package_bytes(source: bytes | str | os.PathLike[str], limits: Limits) -> bytes:
    if isinstance(source, bytes):
        check_size(len(source), limits)
        return source
    # One read of the whole file: parts are sliced out of it, no seek per part. A file
    # larger than everything it may unpack to is refused before it is read.
    with open(source, "rb") as fh:
        check_size(os.fstat(fh.fileno()).st_size, limits)
        return fh.read()


def read_head(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """The first ``limit`` bytes of a part, inflating no more than that (the format
    sniff reads ``[Content_Types].xml`` this way: a part that inflates to gigabytes
    costs it ``limit`` bytes)."""
    with zf.open(name) as fh:
        return fh.read(limit)

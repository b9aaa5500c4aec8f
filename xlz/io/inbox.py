"""Expand what the city office points ``xlz consolidate`` at — files, folders, ``.zip``
archives, saved emails — into submissions: one workbook each, with a display name, the
SHA-256 of its bytes and a submission time.

Everything here is bounded, because the inbox is untrusted: archives are read member by
member with caps on size, ratio, count and nesting, and a workbook container (xlsx/xlsm/
ods are zips too) is checked the same way before any reader sees it. Problems are
returned as :class:`SourceProblem` values (a finding per source), never raised, so one
bad attachment does not stop the run. Inputs are only ever read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

from xlz.io.boundary import ReaderFailed, untrusted
from xlz.io.guard import rule_of
from xlz.ooxml.extent import Refusal
from xlz.ooxml.guard import KEEP_LIMIT, Package, guard_package
from xlz.ooxml.limits import (
    DEFAULT_LIMITS,
    Budget,
    GuardError,
    LimitExceeded,
    Limits,
    check_count,
)

WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods", ".et", ".ett", ".xltx", ".xlsb"})
ZIP_SUFFIXES = frozenset({".zip"})
EMAIL_SUFFIXES = frozenset({".eml"})
SEPARATOR = " › "  # between a container and what is inside it, in display names
# Where a submission's time came from (Submission.received_from), strongest first; the
# application's own save time, stronger still, is read with the workbook
# (xlz.core.consolidation.order_evidence).
MAIL_DATE = "邮件日期"
ARCHIVE_TIME = "压缩包时间"
FILE_TIME = "文件时间"

# The caps live with the guard (xlz.ooxml.limits); named here for the inbox's callers.
__all__ = ["DEFAULT_LIMITS", "KEEP_LIMIT", "Limits"]


class SourceKind:
    FILE = "文件"
    ZIP = "压缩包"
    EMAIL = "邮件"


@dataclass(frozen=True, slots=True)
class Submission:
    """One workbook to consolidate. ``path`` is the file to read: the original for a
    plain file, a private temporary copy for an archive member or attachment."""

    name: str  # display name, e.g. ``收件箱/邮件.eml › 附件.xlsx``
    path: Path
    sha256: str
    received: dt.datetime  # aware; email date, else zip entry time / file mtime
    received_from: str  # 邮件日期 / 压缩包时间 / 文件时间
    size: int


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A source that yields no workbook: ``code`` is a rule code of the catalogue."""

    name: str
    code: str
    reason: str


Item = Submission | SourceProblem


# --------------------------------------------------------------------------- names


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The member name as its author typed it. Flag 0x800 means UTF-8; otherwise Python
    decoded the bytes as CP437, which Chinese Windows archivers never meant: they wrote
    GBK. Undo CP437 and try UTF-8 (some tools omit the flag), then GB18030."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for codec in ("utf-8", "gb18030"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return info.filename


def _fix_header_text(text: str) -> str:
    """Raw 8-bit GBK in a header (no encoded-word) arrives as surrogate escapes."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return _decode_name(text.encode("utf-8", "surrogateescape"), ())


# What a file name from a mail or an archive may not keep: control characters (NUL
# above all: a path with NUL cannot even be opened), path separators, a leading dot.
_CONTROL = dict.fromkeys([*range(0x20), 0x7F, *range(0x80, 0xA0)])
_RESERVED = str.maketrans(dict.fromkeys('<>:"|?*', "_"))  # Windows refuses these in names


def _decode_name(raw: bytes, declared: Iterable[str]) -> str:
    """A file name's bytes as text: the charset the mail declared, then UTF-8, then
    GB18030 (what Chinese Windows mailers write when they declare nothing), the first
    that decodes strictly; GB18030 with replacement as the last resort."""
    for codec in (*declared, "utf-8", "gb18030"):
        try:
            return raw.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("gb18030", "replace")


def safe_name(name: str) -> str:
    """A name from an untrusted source fit to show and to be a file's last path part:
    its last part after any ``/`` or ``\\``, without control characters (NUL), spaces
    at either end or leading dots (so never ``.`` or ``..``); "" when nothing is left."""
    name = name.translate(_CONTROL).replace("\\", "/").rsplit("/", 1)[-1]
    return name.strip().lstrip(".").strip()


def _raw_header(part: Message, header: str) -> str | None:
    """The header's value as it came (raw 8-bit bytes as surrogate escapes): the
    default policy would already have replaced undecodable bytes with U+FFFD."""
    for key, value in part.raw_items():
        if key.lower() == header:
            return value if isinstance(value, str) else str(value)
    return None


def _raw_param(part: Message, header: str, param: str, declared: tuple[str, ...]
               ) -> str | None:
    """``param`` of ``header`` decoded from its own bytes (see :func:`_attachment_name`)."""
    from email.header import decode_header, make_header

    raw = _raw_header(part, header)
    if raw is None:
        return None
    # The header's bytes, one character each (latin-1): parameters parsed, nothing
    # decoded or replaced behind our back (compat32 turns surrogate escapes into U+FFFD).
    try:
        data = raw.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # a message built from text, not bytes
        data = raw.encode("utf-8", "surrogateescape")
    probe = Message()
    probe[header] = data.decode("latin-1")
    value = probe.get_param(param, header=header)
    if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded as latin-1)
        charset, _, text = value
        return _decode_name(text.encode("latin-1", "replace"),
                            (charset,) if charset else declared)
    if not isinstance(value, str) or not value:
        return None
    value = email.utils.unquote(value)
    if "=?" in value:  # RFC 2047 inside quotes: not allowed, but most Chinese mailers do it
        with contextlib.suppress(Exception):
            return str(make_header(decode_header(value)))
    # Raw 8-bit bytes (Foxmail, old Outlook) in the declared charset, UTF-8 or GB18030.
    return _decode_name(value.encode("latin-1", "replace"), declared)


def _attachment_name(part: Message, declared: tuple[str, ...] = ()) -> str | None:
    """The attachment's file name as the clerk saw it, made safe (:func:`safe_name`).

    Read from the header's own bytes: RFC 2231 (``filename*=GBK''%B6...``) in the charset
    it names, RFC 2047 (``filename="=?GBK?B?...?="``), or raw 8-bit text as Foxmail and
    old Outlook send it, tried in the part's declared charset, UTF-8, the charsets the
    message declares (``declared``), then GB18030; ``filename`` on Content-Disposition first,
    ``name`` on Content-Type as the fallback."""
    own = part.get_param("charset", header="content-type")
    # The part's own charset is a declaration; the message's (its text parts) is only a
    # hint, weaker than a name that is valid UTF-8.
    charsets = (*([own] if isinstance(own, str) else []), "utf-8", *declared)
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        try:
            name = _raw_param(part, header, param, charsets)
        except Exception:  # a header malformed past the parser's tolerance
            name = None
        if name:
            return safe_name(name) or None
    return None


def kind_of(name: str) -> str | None:
    suffix = Path(name).suffix.lower()
    if suffix in ZIP_SUFFIXES:
        return SourceKind.ZIP
    if suffix in EMAIL_SUFFIXES:
        return SourceKind.EMAIL
    if suffix in WORKBOOK_SUFFIXES:
        return SourceKind.FILE
    return None


# --------------------------------------------------------------------------- bounds


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> bytes:
    """Decompress one member in chunks, stopping at the first limit crossed."""
    if info.flag_bits & 0x1:
        raise zipfile.BadZipFile("加密的压缩包成员")
    with zf.open(info) as stream:  # zipfile: also bzip2 and LZMA members of user archives
        return b"".join(budget.count(iter(lambda: stream.read(1 << 20), b""), info.filename,
                                     info.compress_size))


def _members(zf: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    infos = [i for i in zf.infolist() if not i.is_dir()]
    check_count(len(infos), limits)
    return infos


@dataclass(frozen=True, slots=True)
class Inspection:
    """What the guard learnt about a zip-based workbook while inflating all of it."""

    problem: tuple[str, str] | None  # (rule code, reason) when no reader may see it
    names: frozenset[str] = frozenset()  # every member
    parts: dict[str, bytes] = field(default_factory=dict)  # the members asked for, whole
    # The fields of the rule's message (``reason``, ``part``, ``method``) for a problem.
    fields: dict[str, Any] = field(default_factory=dict)
    # With inspect_container's max_cells: what the extent check found (None: nothing).
    refusal: Refusal | None = None
    # The guarded package itself (for the reader's repacked copy, read.trimmed_package).
    package: Package | None = None


def check_container(data_or_path: bytes | Path, limits: Limits = DEFAULT_LIMITS
                    ) -> tuple[str, str] | None:
    """``(rule code, reason)`` when a zip-based workbook (xlsx/xlsm/ods) must not be
    handed to a reader, else None. See :func:`inspect_container`."""
    return inspect_container(data_or_path, limits).problem


def inspect_container(data_or_path: bytes | Path, limits: Limits = DEFAULT_LIMITS,
                      keep: Iterable[str] | Callable[[str], bool] = (),
                      max_cells: int | None = None, keep_limit: int = KEEP_LIMIT
                      ) -> Inspection:
    """Guard a zip-based workbook before any reader sees it
    (:func:`xlz.ooxml.guard.guard_package`, the same guard ``validate`` and ``fill``
    use), and hand back the small parts named in ``keep`` (up to ``keep_limit`` bytes
    each), so that the caller need not open the package again to learn its format or
    its properties. A refusal is returned, not raised: one bad file must not stop a
    consolidation. ``max_cells``: measure the sheets on the way, as the extent check
    would (:func:`xlz.io.read.check_extents`), into :attr:`Inspection.refusal`."""
    try:
        where = data_or_path if isinstance(data_or_path, Path) else ""
        with untrusted(where, "检查工作簿的压缩结构", handled=(GuardError, OSError)):
            package = guard_package(data_or_path, limits, keep, keep_limit, max_cells)
    except GuardError as exc:
        code, fields = rule_of(exc)
        return Inspection((code, exc.reason), fields=fields)
    except ReaderFailed as exc:
        return Inspection((exc.code, exc.reason), fields={"reason": exc.reason})
    except OSError as exc:  # the file vanished or cannot be read
        reason = f"无法读取：{exc.strerror or exc}"
        return Inspection(("file.corrupt", reason), fields={"reason": reason})
    return Inspection(None, package.names, package.parts, refusal=package.refusal,
                      package=package)


# --------------------------------------------------------------------------- expansion


def _local(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp).astimezone()


class Expander:
    """Turns sources into submissions. Members and attachments are written to a private
    temporary folder, removed by :meth:`close` (use it as a context manager)."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS,
                 exclude: Iterable[str | os.PathLike[str]] = ()) -> None:
        self.limits = limits
        # The city workbook itself, when the office writes it into the inbox folder:
        # next week's run must not read last week's output as a submission.
        self.exclude = {Path(p).resolve() for p in exclude}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._count = 0

    def __enter__(self) -> Expander:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def expand(self, sources: Iterable[str | os.PathLike[str]]) -> Iterator[Item]:
        for source in sources:
            path = Path(source)
            if path.is_dir():
                yield from self._folder(path)
            elif path.exists():
                yield from self._contained(path, str(path), explicit=True)
            else:
                yield SourceProblem(str(path), "file.unreadable", "文件或文件夹不存在")

    # -- on disk
    def _folder(self, folder: Path) -> Iterator[Item]:
        folder = folder.resolve()
        # Sorted walk: the same inbox gives the same order (and the same workbook).
        for root, dirs, files in os.walk(folder):
            # Hidden folders, and an excluded one (the ledger's archive of inputs beside a
            # city workbook kept in the inbox: its copies are not new submissions).
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                             and Path(root, d).resolve() not in self.exclude)
            for name in sorted(files):
                if name.startswith((".", "~$")):  # hidden files, Office lock files
                    continue
                if kind_of(name) is None:
                    continue  # a folder of mail may hold anything; only ours are read
                path = Path(root, name)
                if path.resolve() in self.exclude:
                    continue
                # Shown relative to the folder's parent: 收件箱/石庄镇报送.eml
                shown = path.relative_to(folder.resolve().parent) if path.is_absolute() \
                    else path
                yield from self._contained(path, str(shown), explicit=False)

    def _contained(self, path: Path, name: str, *, explicit: bool) -> Iterator[Item]:
        """:meth:`_file` inside the reader boundary: whatever the e-mail parser or the
        archive reader does on one source becomes a problem of that source, and the
        sources after it are still expanded."""
        try:
            with untrusted(path, "展开邮件或压缩包"):
                yield from self._file(path, name, explicit=explicit)
        except ReaderFailed as exc:
            yield SourceProblem(name, exc.code, exc.reason)

    def _file(self, path: Path, name: str, *, explicit: bool) -> Iterator[Item]:
        try:
            stat = path.stat()
            kind = kind_of(path.name)
            # One budget per source: whatever an archive or e-mail holds, nested as deep
            # as the caps allow, inflates to at most limits.total_bytes in all.
            budget = Budget(self.limits)
            if kind == SourceKind.ZIP:
                # Read from the file, member by member: the archive is never held whole.
                yield from self._zip(path, name, _local(stat.st_mtime), FILE_TIME, 1, budget)
            elif kind == SourceKind.EMAIL:
                if stat.st_size > self.limits.total_bytes:
                    yield SourceProblem(name, "file.archive_limit",
                                        f"邮件超过{self.limits.total_bytes >> 20} MB")
                    return
                yield from self._email(path.read_bytes(), name, _local(stat.st_mtime),
                                       FILE_TIME, 1, budget)
            else:
                # A plain workbook is read where it lies: hash it streaming, never copy.
                digest = hashlib.sha256()
                with path.open("rb") as fh:
                    while chunk := fh.read(1 << 20):
                        digest.update(chunk)
                yield Submission(name, path, digest.hexdigest(), _local(stat.st_mtime),
                                 FILE_TIME, stat.st_size)
        except OSError as exc:
            yield SourceProblem(name, "file.unreadable", f"无法打开（{exc.strerror or exc}）")

    # -- in memory
    def _spill(self, data: bytes, name: str) -> Path:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="xlz-inbox-")
        self._count += 1
        # One folder per submission, keeping the attachment's own name: readers name the
        # file in their messages, and the clerk knows it by that name, not by a temp name.
        folder = Path(self._tmp.name, f"{self._count:05d}")
        folder.mkdir()
        # Never a path from the sender: the last part only, no NUL, no separator, no
        # "..", nothing Windows refuses in a name (safe_name, _RESERVED).
        base = safe_name(name.rsplit(SEPARATOR, 1)[-1]).translate(_RESERVED) or "附件"
        if len(base.encode()) > 200:  # file systems cap a name at 255 bytes
            base = base[:60] + Path(base).suffix
        path = folder / base
        assert path.parent == folder, path  # safe_name leaves no way out of the folder
        path.write_bytes(data)
        return path

    def _inner(self, data: bytes, name: str, received: dt.datetime, received_from: str,
               depth: int, budget: Budget) -> Iterator[Item]:
        kind = kind_of(name)
        if kind == SourceKind.ZIP:
            yield from self._zip(data, name, received, received_from, depth + 1, budget)
        elif kind == SourceKind.EMAIL:
            yield from self._email(data, name, received, received_from, depth + 1, budget)
        else:
            yield Submission(name, self._spill(data, name), hashlib.sha256(data).hexdigest(),
                             received, received_from, len(data))

    def _zip(self, data: bytes | Path, name: str, received: dt.datetime, received_from: str,
             depth: int, budget: Budget) -> Iterator[Item]:
        if depth > self.limits.depth:
            yield SourceProblem(name, "file.archive_limit",
                                f"压缩包嵌套超过{self.limits.depth}层，未展开")
            return
        try:
            zf = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            yield SourceProblem(name, "file.unreadable", f"压缩包已损坏（{exc}）")
            return
        found = False
        with zf:
            try:
                infos = _members(zf, self.limits)
            except LimitExceeded as exc:
                yield SourceProblem(name, "file.archive_limit", str(exc))
                return
            for info in infos:
                member = _zip_name(info)
                base = member.rsplit("/", 1)[-1]
                if base.startswith((".", "~$")) or member.startswith("__MACOSX/") or \
                        kind_of(base) is None:
                    continue
                found = True
                shown = f"{name}{SEPARATOR}{member}"
                try:
                    content = _read_member(zf, info, budget)
                except LimitExceeded as exc:
                    yield SourceProblem(shown, "file.archive_limit", str(exc))
                    if budget.spent:
                        return  # the source's whole budget is spent: stop reading it
                    continue
                except Exception as exc:  # BadZipFile, zlib.error, EOFError … of one member
                    yield SourceProblem(shown, "file.unreadable", f"无法解压（{exc}）")
                    continue
                # The e-mail's Date, when the archive came by mail, is the stronger
                # evidence; else the member's own time, else what the archive had.
                when, source = received, received_from
                if received_from != MAIL_DATE:
                    with contextlib.suppress(ValueError):
                        when, source = dt.datetime(*info.date_time).astimezone(), ARCHIVE_TIME
                try:  # a member that breaks a parser costs itself only, not its archive
                    with untrusted(shown, "展开压缩包成员"):
                        yield from self._inner(content, shown, when, source, depth, budget)
                except ReaderFailed as exc:
                    yield SourceProblem(shown, exc.code, exc.reason)
                if budget.spent:
                    return
        if not found:
            yield SourceProblem(name, "file.no_workbook", "未找到 .xlsx、.xls、.ods 等文件")

    def _one_attachment(self, part: Message, shown: str, when: dt.datetime, source: str,
                        depth: int, budget: Budget) -> Iterator[Item]:
        """One attachment inside a boundary of its own: whatever it does to the parser
        (a payload that does not decode, a nested archive that breaks a reader) is a
        problem of this attachment, and the e-mail's other attachments are still read."""
        try:
            with untrusted(shown, "展开邮件附件"):
                payload = part.get_payload(decode=True)
                if not isinstance(payload, bytes):
                    yield SourceProblem(shown, "file.unreadable", "附件内容无法解码")
                    return
                if len(payload) > self.limits.member_bytes:
                    yield SourceProblem(shown, "file.archive_limit", "附件过大")
                    return
                yield from self._inner(payload, shown, when, source, depth, budget)
        except ReaderFailed as exc:
            yield SourceProblem(shown, exc.code, exc.reason)

    def _email(self, data: bytes, name: str, received: dt.datetime, received_from: str,
               depth: int, budget: Budget) -> Iterator[Item]:
        if depth > self.limits.depth:
            yield SourceProblem(name, "file.archive_limit",
                                f"邮件嵌套超过{self.limits.depth}层，未展开")
            return
        try:
            message = email.message_from_bytes(data, policy=email.policy.default)
        except Exception as exc:  # the parser is lenient; this is a last resort
            yield SourceProblem(name, "file.unreadable", f"邮件无法解析（{exc}）")
            return
        when, source = received, received_from
        date = message.get("Date")
        if date:
            with contextlib.suppress(TypeError, ValueError, IndexError):
                parsed = email.utils.parsedate_to_datetime(str(date))
                when = parsed if parsed.tzinfo else parsed.astimezone()
                source = MAIL_DATE
        attachments = list(_attachments(message))
        declared = tuple(c for c in message.get_charsets() if isinstance(c, str))
        if not attachments:
            yield SourceProblem(name, "file.email_no_attachment", "没有附件")
            return
        found = False
        for index, part in enumerate(attachments, start=1):
            if part.get_content_type() == "message/rfc822":  # a forwarded email
                inner = part.get_payload()
                inner_msg = inner[0] if isinstance(inner, list) and inner else None
                if isinstance(inner_msg, Message):
                    found = True
                    yield from self._email(inner_msg.as_bytes(), f"{name}{SEPARATOR}转发邮件{index}",
                                           when, source, depth + 1, budget)
                continue
            filename = _attachment_name(part, declared) or f"附件{index}"
            if kind_of(filename) is None:
                continue  # signatures, pictures, documents
            found = True
            shown = f"{name}{SEPARATOR}{filename}"
            yield from self._one_attachment(part, shown, when, source, depth, budget)
        if not found:
            yield SourceProblem(name, "file.email_no_attachment", "的附件中没有表格文件")


def _attachments(message: Message) -> Iterator[Message]:
    if isinstance(message, EmailMessage):
        yield from message.iter_attachments()
        return
    for part in message.walk():  # pragma: no cover - compat32 messages
        if part.get_filename():
            yield part


def expand_sources(sources: Iterable[str | os.PathLike[str]], limits: Limits = DEFAULT_LIMITS
                   ) -> tuple[list[Item], Expander]:
    """All submissions and problems at once; close the expander when done reading."""
    expander = Expander(limits)
    return list(expander.expand(sources)), expander

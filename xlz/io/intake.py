"""Intake: decide what a path really is before anything reads or writes it.

Clerks send what their software saved: encrypted workbooks, web pages and CSV files
renamed to ``.xls``, WPS ``.et`` files, half-copied attachments, files still open in
Excel. Each gets an :class:`InputError` whose ``code`` is a catalogue rule (``file.*``)
and whose ``message`` is Chinese, names the file and says what to do. The format is
decided by content (:func:`sniff`), never by the extension.

Only the standard library is imported here: this module is on every command's hot path.
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, Final

from xlz.core.errors import InputError as InputError  # re-exported: its old home
from xlz.core.errors import make_error
from xlz.io.boundary import untrusted
from xlz.ooxml.ziprecords import method_name

OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS: Final = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# Formats the reader understands (python-calamine); the in-place writer only edits the
# OOXML ones (see WRITABLE_FORMATS).
READABLE_FORMATS: Final = frozenset({"xlsx", "xlsm", "xltx", "xltm", "xlsb", "xls", "ods"})
WRITABLE_FORMATS: Final = frozenset({"xlsx", "xlsm", "xltx", "xltm"})
WPS_SUFFIXES: Final = frozenset({".et", ".ett"})

# A CFB directory stores stream names in UTF-16LE; an encrypted OOXML package is an OLE
# file with these two streams (MS-OFFCRYPTO 2.3.4).
_ENCRYPTION_NAMES: Final = tuple(
    n.encode("utf-16-le") for n in ("EncryptionInfo", "EncryptedPackage")
)
_BIFF_NAMES: Final = tuple(n.encode("utf-16-le") for n in ("Workbook", "Book"))
_SNIFF_BYTES: Final = 8192
_OLE_SCAN_LIMIT: Final = 64 * 1024 * 1024  # directory sectors sit well inside this

_OOXML_MAIN: Final = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "xlsm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xltx",
    "application/vnd.ms-excel.template.macroEnabled.main+xml": "xltm",
    "application/vnd.ms-excel.sheet.binary.macroEnabled.main": "xlsb",
}


def input_error(code: str, path: str | os.PathLike[str], **extra: Any) -> InputError:
    """An InputError with the catalogue's message for ``code``, naming the file."""
    return make_error(InputError, code, path, **extra)


# What reading a zip package may raise besides our own errors: a damaged directory or
# member (BadZipFile, EOFError, zlib.error, ValueError), a compression method the
# standard library lacks (NotImplementedError, e.g. Deflate64), and OS errors.
ZIP_ERRORS: Final = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
                     zlib.error, ValueError, OSError)
# Excel, WPS and LibreOffice store parts uncompressed or deflated; the reader (calamine)
# and the standard library agree only on these two.
SUPPORTED_METHODS: Final = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


def unsupported_member(zf: zipfile.ZipFile) -> tuple[str, str] | None:
    """(part name, method name) of the first member stored with a compression method
    other than stored/deflate, or None."""
    for info in zf.infolist():
        if info.compress_type not in SUPPORTED_METHODS:
            return info.filename, method_name(info.compress_type)
    return None


def sniff(path: str | os.PathLike[str]) -> str:
    """The format of ``path`` by content: ``xlsx``, ``xlsm``, ``xltx``, ``xltm``,
    ``xlsb``, ``xls``, ``ods``, ``encrypted``, ``ole`` (another OLE file), ``zip``
    (another zip), ``corrupt`` (a zip whose directory cannot be read, or a zip without a
    workbook part), ``html``, ``xml`` (e.g. the Excel 2003 XML format), ``csv``,
    ``text``, ``empty`` or ``unknown``."""
    p = Path(path)
    with p.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head:
        return "empty"
    if head.startswith(ZIP_MAGICS):
        return _sniff_zip(p)
    if head.startswith(OLE_MAGIC):
        return _sniff_ole(p)
    return _sniff_text(head)


def _sniff_zip(path: Path) -> str:
    # Only the start of a part is inflated: a [Content_Types].xml that inflates to
    # gigabytes costs the sniff ``limit`` bytes (the guard refuses it before a reader).
    from xlz.ooxml.guard import read_head

    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            return zip_format(names, lambda name, limit: read_head(zf, name, limit))
    except ZIP_ERRORS:
        return "corrupt"


def zip_format(names: Collection[str], read: Callable[[str, int], bytes]) -> str:
    """The format of a zip package from its member names; ``read(name, limit)`` gives
    the start of a member (only ``mimetype`` and ``[Content_Types].xml`` are read)."""
    if "mimetype" in names:
        mime = read("mimetype", 100).strip()
        if mime == b"application/vnd.oasis.opendocument.spreadsheet":
            return "ods"
        return "zip"
    if "[Content_Types].xml" not in names:
        return "zip"
    types = read("[Content_Types].xml", 200_000).decode("utf-8", "replace")
    for content_type, fmt in _OOXML_MAIN.items():
        if content_type in types:
            part = "xl/workbook.bin" if fmt == "xlsb" else "xl/workbook.xml"
            return fmt if part in names else "corrupt"
    if "wordprocessingml" in types or "presentationml" in types:
        return "zip"
    return "corrupt" if "xl/workbook.xml" in names or any(
        n.startswith("xl/") for n in names) else "zip"


def _sniff_ole(path: Path) -> str:
    with path.open("rb") as fh:
        data = fh.read(_OLE_SCAN_LIMIT)
    if all(name in data for name in _ENCRYPTION_NAMES):
        return "encrypted"
    if any(name in data for name in _BIFF_NAMES):
        return "xls"
    return "ole"


def _sniff_text(head: bytes) -> str:
    if b"\x00" in head:
        return "unknown"
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = head.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return "unknown"
    lowered = text.lstrip().lower()
    if lowered.startswith(("<!doctype html", "<html")) or "<table" in lowered[:4096] \
            or "<html" in lowered[:4096]:
        return "html"
    if lowered.startswith("<?xml") or lowered.startswith("<"):
        return "xml"
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if lines and all(("," in line or "\t" in line or ";" in line) for line in lines[:5]):
        return "csv"
    return "text"


def lock_file(path: str | os.PathLike[str]) -> Path | None:
    """The owner file Excel, WPS or LibreOffice keeps beside an open workbook, if any.

    Excel and WPS write ``~$name``; for long names Excel replaces the first two
    characters instead (``~$me.xlsx`` for ``name.xlsx``); LibreOffice writes
    ``.~lock.name#``.
    """
    p = Path(path)
    candidates = [f"~${p.name}", f".~lock.{p.name}#"]
    if len(p.name) > 2:
        candidates.append(f"~${p.name[2:]}")
    for name in candidates:
        lock = p.with_name(name)
        if lock.exists():
            return lock
    return None


def is_read_only(path: str | os.PathLike[str]) -> bool:
    """True when the file is marked read-only. The mode bits are checked explicitly:
    root (and Windows administrators) may write such files anyway, but the clerk marked
    it read-only for a reason and we respect that."""
    mode = os.stat(path).st_mode
    if not mode & stat.S_IWUSR:
        return True
    return not os.access(path, os.W_OK)


def classify(path: str | os.PathLike[str], *, write: bool = False) -> str:
    """The readable format of ``path``, or an :class:`InputError` explaining why it
    cannot be used. With ``write=True`` also refuse files that are open in Excel/WPS/
    LibreOffice or read-only (reading them is harmless)."""
    p = Path(path)
    if not p.exists():
        raise input_error("file.not_found", p)
    if not p.is_file():
        raise input_error("file.not_workbook", p, kind="文件夹")
    if p.suffix.lower() in WPS_SUFFIXES:
        raise input_error("file.wps_et", p)
    if p.stat().st_size == 0:
        raise input_error("file.empty", p)
    with untrusted(p, "识别文件格式", known=lambda exc: _unreadable(p, exc)):
        fmt = sniff(p)
    if fmt == "encrypted":
        raise input_error("file.encrypted", p)
    if fmt in _ZIP_READABLE or fmt == "corrupt":
        check_methods(p)
    if fmt == "corrupt":
        raise input_error("file.corrupt", p, reason="压缩包目录无法读取或缺少工作簿部件")
    if fmt == "html":
        raise input_error("file.html_as_xls", p, suffix=p.suffix or "（无扩展名）")
    if fmt == "csv":
        raise input_error("file.csv_as_xls", p, suffix=p.suffix or "（无扩展名）")
    if fmt == "empty":
        raise input_error("file.empty", p)
    if fmt not in READABLE_FORMATS:
        raise input_error("file.not_workbook", p, kind=_KIND_NAMES.get(fmt, fmt))
    if write:
        check_writable(p)
    return fmt


_ZIP_READABLE: Final = READABLE_FORMATS - {"xls"}
_FORMAT_NAMES: Final = {
    "xlsx": "Excel 工作簿", "xlsm": "启用宏的 Excel 工作簿", "xltx": "Excel 模板",
    "xltm": "启用宏的 Excel 模板", "xlsb": "Excel 二进制工作簿", "xls": "Excel 97-2003",
    "ods": "OpenDocument 电子表格",
}


def misnamed(path: str | os.PathLike[str], fmt: str) -> dict[str, str] | None:
    """When the extension of ``path`` names another workbook format than its content
    ``fmt`` (an .xls renamed .xlsx): the fields of the ``file.suffix_mismatch`` finding
    (``real``, ``real_name``, ``suffix``); else None. Readers that pick the format by
    the extension (calamine) call such a file corrupt; xlz reads it as what it is."""
    suffix = Path(path).suffix
    if suffix.lower()[1:] not in READABLE_FORMATS or suffix.lower()[1:] == fmt or \
            fmt not in _FORMAT_NAMES:
        return None
    return {"real": "." + fmt, "real_name": _FORMAT_NAMES[fmt], "suffix": suffix}


def _unreadable(path: Path, exc: Exception) -> InputError | None:
    if isinstance(exc, OSError):
        return input_error("file.unreadable", path, reason=exc.strerror or str(exc))
    return None


def check_methods(path: str | os.PathLike[str]) -> None:
    """Refuse a package with a part compressed in a way the reader cannot inflate
    (Deflate64 from some archivers, …) before anything reads it."""
    try:
        with zipfile.ZipFile(path) as zf:
            found = unsupported_member(zf)
    except ZIP_ERRORS:
        return  # a damaged directory: the caller's own error says so
    if found is not None:
        raise input_error("file.unsupported_compression", path, part=found[0],
                          method=found[1])


def check_writable(path: str | os.PathLike[str]) -> None:
    """Refuse to write a file that is open elsewhere or marked read-only."""
    p = Path(path)
    lock = lock_file(p)
    if lock is not None:
        raise input_error("file.locked", p, lock=lock.name)
    if is_read_only(p) or not os.access(p.parent, os.W_OK):
        raise input_error("file.readonly", p)


_KIND_NAMES: Final = {
    "ole": "其他 Office 文件（如 Word 文档）",
    "zip": "压缩包或其他 Office 文件",
    "xml": "XML 文件（如“XML 电子表格 2003”）",
    "text": "文本文件",
    "unknown": "无法识别的文件",
}

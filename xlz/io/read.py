"""The fast reader: a workbook file → plain values for :func:`xlz.validate_values`.

python-calamine (Rust) reads .xlsx/.xlsm/.xlsb/.xls/.ods with one API and never runs
macros; openpyxl and pandas stay off this path (import cost and speed, see
field-notes.md). Intake (:mod:`xlz.io.intake`) has already refused what is not a
workbook; this module adds the guards against hostile zip packages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final, NamedTuple

from xlz.core.cells import CellValue
from xlz.core.layout import META_SHEET
from xlz.core.validator import SheetValues
from xlz.core.workbook import WorkbookData
from xlz.io.boundary import in_own_process, untrusted
from xlz.io.guard import guard_workbook
from xlz.io.intake import (
    ZIP_ERRORS,
    InputError,
    classify,
    input_error,
    misnamed,
    unsupported_member,
)
from xlz.ooxml.emptytail import (
    formula_share,
    sheet_names,
    stored_package,
    trim_empty_tail,
    without_formulas,
)
from xlz.ooxml.extent import Refusal, measured, refusal
from xlz.ooxml.guard import Package
from xlz.ooxml.limits import DEFAULT_LIMITS, Limits
from xlz.ooxml.sheetmap import plain_targets, workbook_sheets

# The zip-bomb caps are xlz.ooxml.limits.Limits, the same for validate, fill and
# consolidate. A larger properties part is not read (the _xlz sheet is the fallback).
MAX_PROPERTIES_SIZE: Final = 1024 * 1024  # docProps/custom.xml
# The most cells one sheet may span from its first to its last reference: calamine
# builds that grid densely (32 bytes a cell, 320 MB here); a town sheet spans ~100,000.
MAX_SHEET_CELLS: Final = 10_000_000

_ZIP_FORMATS: Final = frozenset({"xlsx", "xlsm", "xltx", "xltm", "xlsb", "ods"})
# The formats read from a repacked package with the sheets' empty tails cut
# (:func:`trimmed_package`): the XML workbooks.
_TRIMMED_FORMATS: Final = frozenset({"xlsx", "xlsm", "xltx", "xltm"})
# A sheet part smaller than this is not worth a look for an empty tail.
_TRIM_MIN: Final = 16 * 1024
# A sheet part at least this large is read without its cells' formulas
# (:func:`xlz.ooxml.emptytail.without_formulas`): a saved template's kept rows each
# write their check formula out (~5 KB a row), which the reader would parse for
# nothing. A generated template's smaller parts are not worth the pass.
_STRIP_MIN: Final = 64 * 1024
# ... when its formulas are at least this share (1/n) of its bytes.
_STRIP_SHARE: Final = 4
# The parts a reader's guard pass keeps for :func:`trimmed_package`, each up to this
# (a LibreOffice-saved town sheet writes each row's check formula out: ~5 MB for a
# 1,000-row template, ~22 MB for 4,000 rows). They live only while their file is read.
READER_KEEP_LIMIT: Final = 64 * 1024 * 1024
# The largest part left whole that the repacked copy stores inflated.
_STORED_MAX: Final = 1024 * 1024
_WORKBOOK: Final = "xl/workbook.xml"
_WORKBOOK_RELS: Final = "xl/_rels/workbook.xml.rels"
_CUSTOM_PROPS: Final = "docProps/custom.xml"
_PROPS_PREFIX: Final = "xlz."


def parse_custom_properties(xml: bytes) -> dict[str, str]:
    """``xlz.*`` custom document properties from docProps/custom.xml (defusedxml: no
    entity expansion, no external entities)."""
    from defusedxml import ElementTree as DET

    root = DET.fromstring(xml)
    props: dict[str, str] = {}
    for prop in root:
        name = prop.get("name") or ""
        if not name.startswith(_PROPS_PREFIX):
            continue
        value = next(iter(prop), None)  # one vt:* child holds the value
        props[name] = (value.text or "") if value is not None else ""
    return props


# Where an application records when it saved the file (issue 11, "the latest submission
# is not the newest"): Excel, WPS and LibreOffice set ``dcterms:modified`` in
# docProps/core.xml on every save (W3CDTF, UTC with ``Z``); LibreOffice's .ods keeps it
# as ``dc:date`` in meta.xml (local time, no zone). xlz's in-place writes never touch
# these parts, so validating an old file does not make it look new.
CORE_PROPS: Final = "docProps/core.xml"
ODS_META: Final = "meta.xml"
SAVE_TIME_PARTS: Final = (CORE_PROPS, ODS_META)
_SAVED_TAGS: Final = {CORE_PROPS: "{http://purl.org/dc/terms/}modified",
                      ODS_META: "{http://purl.org/dc/elements/1.1/}date"}
_W3CDTF = re.compile(r"\s*(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?"
                     r"\s*(Z|[+-]\d\d:?\d\d)?\s*$")
# Before this, a save time is a placeholder (1601/1899 epochs, a zeroed field), not a save.
_EARLIEST_SAVE: Final = dt.datetime(1990, 1, 1, tzinfo=dt.timezone.utc)


def parse_w3cdtf(text: str) -> dt.datetime | None:
    """An aware datetime from a W3CDTF / ISO 8601 stamp (``2023-03-05T10:00:00Z``,
    ``2023-03-05T10:00:00.268499426``); a stamp without a zone is local time. None when
    it is not one, or is a placeholder rather than a save."""
    m = _W3CDTF.match(text or "")
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        when = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                           int(second or 0), int((fraction or "0")[:6].ljust(6, "0")))
    except ValueError:
        return None
    if zone is None:
        aware = when.astimezone()
    elif zone == "Z":
        aware = when.replace(tzinfo=dt.timezone.utc)
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        aware = when.replace(tzinfo=dt.timezone(sign * offset))
    return aware if aware >= _EARLIEST_SAVE else None


def saved_time(parts: Mapping[str, bytes]) -> dt.datetime | None:
    """When the application last saved the package, from the parts the guard kept
    (:data:`SAVE_TIME_PARTS`); None when the package does not say (or says nonsense)."""
    from defusedxml import ElementTree as DET

    for name, tag in _SAVED_TAGS.items():
        xml = parts.get(name)
        if not xml:
            continue
        try:
            root = DET.fromstring(xml)
        except Exception:  # defusedxml raises several types; a damaged part says nothing
            continue
        for element in root.iter(tag):
            when = parse_w3cdtf(element.text or "")
            if when is not None:
                return when
    return None


def _zip_properties(path: Path, limits: Limits = DEFAULT_LIMITS) -> dict[str, str]:
    """Guard the package and take the properties part from the guard's pass. Only that
    part is inflated (under the caps): nothing else of the file is read here, and no
    reader is handed it (an existing city workbook's 100 MB sheet took 0.15 s)."""
    try:
        package = guard_workbook(path, path, limits, keep=(_CUSTOM_PROPS,),
                                 keep_limit=MAX_PROPERTIES_SIZE,
                                 only=_CUSTOM_PROPS.__eq__)
    except OSError as exc:
        raise zip_error(path, exc) from exc
    return properties_of(package.parts.get(_CUSTOM_PROPS))


def reader_part(name: str) -> bool:
    """Whether the guard keeps the part ``name`` for :func:`trimmed_package`: the XML
    parts (a reader's; media and binaries are copied as they are), each up to
    :data:`READER_KEEP_LIMIT`."""
    return name.endswith((".xml", ".rels"))


def _kept(name: str) -> bool:
    return name == _CUSTOM_PROPS or reader_part(name)


def _guarded(path: Path, limits: Limits = DEFAULT_LIMITS, max_cells: int | None = MAX_SHEET_CELLS
             ) -> tuple[dict[str, str], Refusal | None, Package]:
    """:func:`_zip_properties`, and with ``max_cells`` what the extent check finds,
    measured in the same pass (:func:`check_extents` without inflating the sheets
    again), and the guarded package with the parts :func:`trimmed_package` takes. Only
    for a reader: measuring the city workbook's 100,000-row sheet just to learn its
    properties (:func:`file_properties`) cost 2 s."""
    try:
        package = guard_workbook(path, path, limits, keep=_kept,
                                 keep_limit=READER_KEEP_LIMIT, max_cells=max_cells)
    except OSError as exc:
        raise zip_error(path, exc) from exc
    return properties_of(small_part(package.parts, _CUSTOM_PROPS)), package.refusal, package


def small_part(parts: Mapping[str, bytes], name: str) -> bytes | None:
    """The part ``name`` if the guard kept it and it is within :data:`MAX_PROPERTIES_SIZE`
    (a pass that keeps the reader's parts keeps larger ones: a larger properties or
    content-types part still counts as not kept)."""
    xml = parts.get(name)
    return xml if xml is not None and len(xml) <= MAX_PROPERTIES_SIZE else None


class Trimmed(NamedTuple):
    """A repacked package (:func:`trimmed_package`) and what its reading must show."""

    buf: bytes
    # Sheet name → (first row, first column, last column), 0-based, of the cut cells
    # that read as an empty string: the sheet read from ``buf`` must have them below
    # its last row and within its columns (they would widen the file's own grid).
    strings: dict[str, tuple[int, int, int]]


class GridChanged(Exception):
    """A sheet read from a :class:`Trimmed` package is not the file's (see
    :attr:`Trimmed.strings`): the file itself is read."""


def trimmed_package(package: Package) -> Trimmed | None:
    """The guarded ``package`` as a stored zip in memory with its worksheet parts'
    trailing empty rows cut (:func:`xlz.ooxml.emptytail.trim_empty_tail`): calamine
    reads the same values from it without parsing a template's unused rows. None when
    there is nothing to cut or any doubt (a part name twice in the archive, a local
    header that disagrees): the file is read as it is. A part whose cut rows hold empty
    strings is cut only when the sheet it belongs to is known, to be checked
    (:attr:`Trimmed.strings`). A large part is also stripped of its cells' formulas
    (:func:`xlz.ooxml.emptytail.without_formulas`): the reader takes cached values
    only."""
    if package.duplicated:
        return None
    replaced: dict[str, bytes] = {}
    strings: dict[str, tuple[int, int, int]] = {}
    owners: dict[str, str] | None = None
    for name, xml in package.parts.items():
        sheet_part = name.startswith("xl/worksheets/") and name.endswith(".xml")
        if len(xml) < _TRIM_MIN or not sheet_part:
            continue
        # Stored inflated, a part costs the reader more per byte than compressed: only
        # a part its formulas are a good share of is replaced for them. They go first:
        # the tail is then found in a part a fraction of the size.
        bare = (without_formulas(xml, len(xml) // _STRIP_SHARE) if len(xml) >= _STRIP_MIN
                and formula_share(xml) >= 1 / _STRIP_SHARE else None)
        if bare is not None:
            xml = replaced[name] = bare
        trim = trim_empty_tail(xml)
        cut = None if trim is None else trim.strings
        if trim is not None and cut is not None:
            if owners is None:
                workbook = package.parts.get(_WORKBOOK)
                rels = package.parts.get(_WORKBOOK_RELS)
                owners = (sheet_names(workbook, rels, package.infos.keys()) or {}
                          if workbook is not None and rels is not None else {})
            sheet = owners.get(name)
            if sheet is None:
                trim = None  # left whole, but for its formulas
            else:
                strings[sheet] = cut
        if trim is not None:
            replaced[name] = trim.xml
    if not replaced:
        return None
    # A large part left whole is copied compressed: calamine takes the copy through
    # Python's file interface, which costs more per byte than inflating it (a 23 MB
    # sheet: ~25 ms more per file).
    stored = {name: xml for name, xml in package.parts.items() if len(xml) <= _STORED_MAX}
    buf = stored_package(package.buf, package.infos, stored, replaced)
    return None if buf is None else Trimmed(buf, strings)


def file_properties(path: str | os.PathLike[str]) -> dict[str, str] | None:
    """The ``xlz.*`` custom document properties of a saved OOXML workbook ({} when it has
    none), or None when ``path`` is not a readable zip package (e.g. an .xls file). For
    a caller that has the workbook open elsewhere, such as the add-in's entry points."""
    p = Path(path)
    try:
        if not zipfile.is_zipfile(p):
            return None
        return _zip_properties(p)
    except (InputError, OSError):
        return None


def properties_of(xml: bytes | None) -> dict[str, str]:
    """The ``xlz.*`` properties of a docProps/custom.xml part; {} when it is missing or
    unreadable (the _xlz sheet is the fallback)."""
    if xml is None:
        return {}
    try:
        return parse_custom_properties(xml)
    except Exception:  # defusedxml raises several types; fall back
        return {}


def _clean_row(row: list[Any]) -> list[CellValue]:
    # calamine gives '' for empty cells (also cached errors); the core wants None.
    return [None if v == "" else v for v in row]


def sheet_values(name: str, sheet: Any) -> SheetValues:
    """One calamine sheet as SheetValues, its used area only, empty cells as None."""
    start = sheet.start
    if start is None:
        return SheetValues(name, [], 1, 0)
    rows = sheet.to_python(skip_empty_area=True)
    end = len(rows)
    while end and rows[end - 1].count("") == len(rows[end - 1]):  # trailing empty rows
        end -= 1
    return SheetValues(name, [_clean_row(r) for r in rows[:end]], start[0] + 1, start[1])


def sha256_of(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def zip_error(path: str | os.PathLike[str], exc: BaseException) -> InputError:
    """The InputError for an exception from reading a zip package (one of ZIP_ERRORS)."""
    if isinstance(exc, NotImplementedError):  # zipfile: "compression method not supported"
        try:
            with zipfile.ZipFile(path) as zf:
                found = unsupported_member(zf)
        except ZIP_ERRORS:
            found = None
        if found is not None:
            return input_error("file.unsupported_compression", path, part=found[0],
                               method=found[1])
    if isinstance(exc, OSError):
        return input_error("file.unreadable", path, reason=exc.strerror or str(exc))
    return input_error("file.corrupt", path, reason=str(exc)[:200] or type(exc).__name__)


def check_extents(path: Path, max_cells: int = MAX_SHEET_CELLS) -> None:
    """Refuse a workbook with a sheet whose cells span more than ``max_cells``, or a
    shared-strings part that declares more strings than it can hold (see
    :mod:`xlz.ooxml.extent`: calamine would abort the process allocating for them). The
    package has been guarded already, so every part inflates within the caps. (A guard
    pass given ``max_cells`` has measured the same: see :func:`read_workbook`.)"""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not measured(name):
                continue
            why = refusal(name, zf.read(name), max_cells)
            if why is not None:
                raise refused(path, why)


def refused(path: Path, why: Refusal) -> InputError:
    """The refusal of a part the extent check found (:func:`check_extents`)."""
    if why.extent is None:
        return input_error("file.corrupt", path,
                           reason=f"部件 {why.part} 声明有 {why.declared} 个字符串，与内容不符")
    rows = why.extent.last_row - why.extent.first_row + 1
    cols = why.extent.last_col - why.extent.first_col + 1
    return input_error("file.too_large", path,
                       reason=f"部件 {why.part} 的单元格区域达 {rows} 行 × {cols} 列")


def _calamine_error(path: Path, exc: Exception) -> InputError:
    text = f"{type(exc).__name__}: {exc}"
    if "password" in text.lower() or "encrypt" in text.lower():
        return input_error("file.encrypted", path)
    return input_error("file.corrupt", path, reason=str(exc)[:200] or type(exc).__name__)


# Formats calamine parses with no pre-check of ours (the package guard and the extent
# check see only zip packages): some damaged ones make it abort the process
# (tests/corpus/native), so they are read in a process of their own.
NO_PRECHECK: Final = frozenset({"xls", "xlsb"})


def calamine_sheets(path: str, wanted: frozenset[str] | None, by_content: bool = False,
                    package: Trimmed | None = None
                    ) -> tuple[dict[str, SheetValues], set[str]]:
    """The worksheets of ``path`` (all, or those in ``wanted`` and the _xlz sheet) as
    values, and the names of the hidden ones. ``by_content``: the extension names
    another format than the content (calamine's ``from_path`` goes by the extension,
    its file-like reader by the content). ``package``: the package to read instead of
    the file (:func:`trimmed_package`); :class:`GridChanged` when a sheet read from it
    is not the file's. A module-level function: it may run in a process of its own
    (:func:`xlz.io.boundary.in_own_process`)."""
    import python_calamine as pc

    p = Path(path)
    values: dict[str, SheetValues] = {}
    hidden: set[str] = set()
    # calamine raises its own types and OS errors (named by _calamine_error), and a Rust
    # panic as a BaseException (the boundary's file.reader_crashed). GridChanged is ours.
    with untrusted(p, "读取工作簿", known=lambda exc: _calamine_error(p, exc),
                   handled=(GridChanged,)):
        if package is not None:
            workbook = pc.CalamineWorkbook.from_filelike(io.BytesIO(package.buf))
        elif by_content:
            with open(path, "rb") as fh:
                workbook = pc.CalamineWorkbook.from_filelike(fh)
        else:
            workbook = pc.CalamineWorkbook.from_path(path)
        try:
            for meta in workbook.sheets_metadata:
                if meta.typ != pc.SheetTypeEnum.WorkSheet:
                    continue
                if meta.visible != pc.SheetVisibleEnum.Visible:
                    hidden.add(meta.name)
                if wanted is not None and meta.name not in wanted and meta.name != META_SHEET:
                    continue
                sheet = workbook.get_sheet_by_name(meta.name)
                if package is not None and meta.name in package.strings:
                    _check_grid(sheet, package.strings[meta.name])
                values[meta.name] = sheet_values(meta.name, sheet)
        finally:
            workbook.close()
    return values, hidden


def _check_grid(sheet: Any, strings: tuple[int, int, int]) -> None:
    """Raise :class:`GridChanged` unless the cut empty strings ``strings`` (first row,
    first and last column) lie below the rows of calamine's grid of the trimmed sheet
    and within its columns: then the file's grid has the same start and width, and
    its extra rows hold only empty strings, which :func:`sheet_values` drops."""
    first_row, first_col, last_col = strings
    start, end = sheet.start, sheet.end
    if (start is None or end is None or end[0] >= first_row or first_col < start[1]
            or last_col > end[1]):
        raise GridChanged(sheet.name)


def check_sheet_parts(path: Path, package: Package) -> None:
    """Refuse a package in which a sheet would be read by calamine from another part than
    the one Excel shows and the in-place writer writes, both present
    (:mod:`xlz.ooxml.sheetmap`): the figures counted would not be the ones the clerk
    sees. (Where only one of the two parts exists, the reader or the writer that misses
    it refuses the file, as before.)"""
    workbook, rels = package.parts.get(_WORKBOOK), package.parts.get(_WORKBOOK_RELS)
    if workbook is None or rels is None:
        return  # calamine cannot open such a package either: its own message
    if plain_targets(rels):
        return  # the usual package: both rules give xl/ + the target
    try:
        sheets = workbook_sheets(workbook, rels)
    except Exception:  # defusedxml raises several types: calamine names the damage
        return
    names = package.names
    for sheet in sheets:
        if sheet.calamine_part != sheet.part and sheet.calamine_part in names and \
                sheet.part in names:
            raise input_error("file.corrupt", path,
                              reason=f"工作表“{sheet.name}”指向两个不同的部件"
                                     f"（{sheet.part}、{sheet.calamine_part}）")


def read_workbook(path: str | os.PathLike[str], *, sheets: Iterator[str] | None = None,
                  fmt: str | None = None, sha256: str | None = None,
                  properties: dict[str, str] | None = None,
                  extents: Refusal | bool | None = False,
                  package: Package | None = None) -> WorkbookData:
    """Read every sheet (or only ``sheets``) of a workbook. Raises InputError for files
    that are not usable workbooks; never modifies the file. ``sha256``: the file's hash
    when the caller already has it (the inbox hashes every submission while expanding).
    ``fmt`` and ``properties``: what a caller that has already guarded and inspected the
    package knows (see :func:`xlz.io.inbox.inspect_container`); ``extents``: what that
    guard pass found measuring the sheets (its ``max_cells`` was
    :data:`MAX_SHEET_CELLS`): a refusal or None; False: not measured. ``package``: that
    guard pass's package, its XML parts kept (:func:`reader_part`), for
    :func:`trimmed_package`."""
    p = Path(path)
    fmt = fmt or classify(p)
    if properties is None and fmt in _ZIP_FORMATS and fmt != "ods":
        # .ods/.xls keep theirs elsewhere: None, not seen
        properties, extents, package = _guarded(p)
    if fmt == "ods":
        try:
            guard_workbook(p, p)
        except OSError as exc:
            raise zip_error(p, exc) from exc
    if fmt in _ZIP_FORMATS and fmt not in ("ods", "xlsb"):
        if isinstance(extents, Refusal):
            raise refused(p, extents)
        if extents is False:  # not measured by a guard pass: inflate the sheets again
            with untrusted(p, "检查工作表范围", known=lambda exc: zip_error(p, exc)):
                check_extents(p)
        if package is not None:
            check_sheet_parts(p, package)
    wanted = None if sheets is None else frozenset(sheets)
    by_content = misnamed(p, fmt) is not None  # an .xls renamed .xlsx is still an .xls
    read: tuple[dict[str, SheetValues], set[str]] | None = None
    trimmed = (trimmed_package(package) if package is not None and fmt in _TRIMMED_FORMATS
               and not by_content else None)
    if trimmed is not None:
        try:
            read = calamine_sheets(str(p), wanted, package=trimmed)
        except (InputError, GridChanged):
            read = None  # the file itself is read below (for its own message, its grid)
    if read is not None:
        values, hidden = read
    elif fmt in NO_PRECHECK:  # a native crash of the reader must cost this file only
        values, hidden = in_own_process(p, calamine_sheets, str(p), wanted, by_content)
    else:
        values, hidden = calamine_sheets(str(p), wanted, by_content)
    # The _xlz sheet stays in ``values``: identity (xlz.core.identity) compares the two.
    try:
        digest = sha256 or sha256_of(p)
    except OSError as exc:
        raise input_error("file.unreadable", p, reason=exc.strerror or str(exc)) from exc
    return WorkbookData(str(p), fmt, values, properties, digest, frozenset(hidden))

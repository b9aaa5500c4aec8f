"""The record of a round, the pure part: a :class:`Consolidation` as plain rows for the
ledger (issue 12, docs/ledger.md).

The ledger (:mod:`xlz.io.ledger`) is SQLite; this module knows nothing of it. It says
which tables a round has, which columns each has, and turns one consolidation into
tuples in that column order, so that the writer only runs ``executemany``. Values are
what SQLite stores natively (text, integers, floats, NULL): dates become ISO text here,
so that the database never depends on ``sqlite3``'s deprecated date adapters.

Nothing is dropped on the way: an accepted row keeps every column of the workbook
standard, and a value the validator could not read (a 提醒 on an accepted row) keeps
the clerk's original text in ``unparsed`` (JSON) instead of becoming NULL unnoticed.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from xlz.core.cells import CellValue, display
from xlz.core.consolidation import STATUS_TEXT, Consolidation, FileResult, Row
from xlz.core.entries import ENTRY_SHEETS, EntrySheet, Kind
from xlz.core.normalize import is_blank
from xlz.core.validator import Record

PeriodSource = Literal["option", "as_of", "today"]

PERIOD_SOURCE_TEXT: dict[PeriodSource, str] = {
    "option": "由 --period 指定",
    "as_of": "取自报送文件的“数据截至日期”（最晚的一个）",
    "today": "报送文件均未填写“数据截至日期”，按今天的日期记",
}

# The entry sheets' tables, named as ConsolidationResult.tables() names them.
ENTRY_TABLES: dict[str, str] = {"project": "projects", "carrier": "carriers",
                                "activity": "activities"}

# Provenance columns of an entry table as stored, before the standard's columns: the file
# by its ``files.seq`` (schema 2), not its name and SHA-256 again on each of 100,000 rows.
ENTRY_FIXED: tuple[str, ...] = ("round_id", "town", "town_name", "file_seq", "sheet", "row",
                                "cell")
# The same as the entry views (``projects``…) show them: the file's name and hash joined in.
ENTRY_SHOWN: tuple[str, ...] = ("round_id", "town", "town_name", "file", "sha256", "sheet",
                                "row", "cell")

# SQLite column affinity of each column kind. A 活动月份 is 1–12 or 全年: no affinity,
# so that 6 stays an integer and 全年 text.
AFFINITY: dict[Kind, str] = {
    Kind.INTEGER: "INTEGER", Kind.NUMBER: "REAL", Kind.MONEY: "REAL", Kind.AREA: "REAL",
    Kind.DATE: "TEXT", Kind.MONTH: "", Kind.TEXT: "TEXT", Kind.CHOICE: "TEXT",
    Kind.PHONE: "TEXT",
}


def entry_columns(sheet: EntrySheet) -> list[tuple[str, str]]:
    """``(column, affinity)`` of an entry sheet's table after :data:`ENTRY_FIXED`: every
    input column of the workbook standard, then ``unparsed``."""
    cols = [(c.key, AFFINITY.get(c.kind, "")) for c in sheet.input_columns]
    clash = {k for k, _ in cols} & {*ENTRY_FIXED, *ENTRY_SHOWN, "unparsed"}
    if clash:  # pragma: no cover - a standard change must rename; caught by the tests
        raise RuntimeError(f"台账列名冲突：{sorted(clash)}")
    return [*cols, ("unparsed", "TEXT")]


FILE_COLUMNS: tuple[str, ...] = (
    "round_id", "seq", "name", "sha256", "status", "status_text", "town", "town_name",
    "received", "received_from", "saved", "as_of", "template_version", "errors", "warnings",
    "superseded_by", "changes", "archived")
TOWN_COLUMNS: tuple[str, ...] = (
    "round_id", "town", "town_name", "state", "file", "sha256", "superseded", "decided_by",
    "reporter", "phone", "contact")
PROGRESS_COLUMNS: tuple[str, ...] = (
    "round_id", "town", "metric", "label", "target", "done", "rate", "pipeline")
FINDING_COLUMNS: tuple[str, ...] = (
    "round_id", "seq", "file", "town_name", "code", "severity", "sheet", "cell", "row",
    "value", "message")


@dataclass(slots=True)
class RoundRecord:
    """One round as rows, each a tuple in its table's column order without the leading
    ``round_id`` (the writer adds it). ``entries`` is keyed by entry table name."""

    period: dt.date
    period_source: PeriodSource
    plan_id: str
    files: list[tuple[Any, ...]]
    towns: list[tuple[Any, ...]]
    progress: list[tuple[Any, ...]]
    entries: dict[str, list[tuple[Any, ...]]]
    findings: list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class RecordedRound:
    """Where a consolidation was recorded: the ledger, the round's number (its place
    among the ledger's periods, oldest first), the period and where it came from
    (``option``: ``--period``; ``as_of``: the files' 数据截至日期; ``today``: neither
    was there), and ``revision`` (1, then 2, 3… each time the period is re-run)."""

    path: Path
    number: int
    period: dt.date
    period_source: PeriodSource
    revision: int

    @property
    def period_text(self) -> str:
        """Where the period came from, in Chinese (for the terminal)."""
        return PERIOD_SOURCE_TEXT[self.period_source]


def sql_value(value: Any) -> Any:
    """A parsed value as SQLite stores it: dates as ISO text, the rest as it is."""
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float)):
        return value
    return display(value)  # pragma: no cover - the validator parses to the types above


# ------------------------------------------------------------------------- facts of a file


def _fact(f: FileResult, name: str) -> Any:
    """A 填报说明 fact of standard 2 (``as_of``, ``reporter``, ``phone``: the file's
    ``guide``), else ``None``: a standard-1 file has none, and none is guessed."""
    guide = getattr(f, "guide", None)
    value = getattr(guide, name, None) if guide is not None else None
    return None if is_blank(value) else value


def as_of(f: FileResult) -> dt.date | None:
    """The file's 数据截至日期, when it has one that reads as a date."""
    value = _fact(f, "as_of")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def latest_as_of(c: Consolidation) -> dt.date | None:
    """The default period of a round: the latest 数据截至日期 among accepted files."""
    dates = [d for f in c.files if f.status == "accepted" and (d := as_of(f)) is not None]
    return max(dates) if dates else None


def choose_period(c: Consolidation, given: dt.date | None, today: dt.date
                  ) -> tuple[dt.date, PeriodSource]:
    """The round's period and where it came from (:data:`PERIOD_SOURCE_TEXT`)."""
    if given is not None:
        return given, "option"
    found = latest_as_of(c)
    if found is not None:
        return found, "as_of"
    return today, "today"


# ------------------------------------------------------------------------- rows


def _unparsed(sheet: EntrySheet, record_raw: dict[str, CellValue],
              values: dict[str, Any]) -> str | None:
    kept = {c.key: display(record_raw.get(c.key)) for c in sheet.input_columns
            if values.get(c.key) is None and not is_blank(record_raw.get(c.key))}
    return json.dumps(kept, ensure_ascii=False) if kept else None


def unparsed_text(sheet: EntrySheet, record: Record) -> str | None:
    """A row's ``unparsed`` (JSON of the cells whose text could not be read), or None."""
    return _unparsed(sheet, record.raw, record.values) if record.warnings else None


def entry_block(sheet: EntrySheet, records: Sequence[Record],
                columns: Sequence[Sequence[Any]] | None = None) -> list[Sequence[Any] | None]:
    """One file's accepted rows of an entry sheet as columns, in :func:`entry_rows`'s
    order after its provenance prefix and ``cell``: ``row``, each input column of the
    standard (dates as ISO text), ``unparsed``; a column that is NULL on every row is
    ``None``, so that the writer need not bind it row by row. ``columns``: the input
    columns' values already at hand (one per key, in order), else read from each
    record's ``values``. ``entry_rows`` of the same records gives the same values."""
    keys = [c.key for c in sheet.input_columns]
    if columns is None:
        columns = [[r.values.get(k) for r in records] for k in keys]
    n = len(records)
    out: list[Sequence[Any] | None] = [[r.row for r in records]]
    for spec, col in zip(sheet.input_columns, columns, strict=True):
        if spec.kind is Kind.DATE:
            col = [v.isoformat() if isinstance(v, dt.date) else v for v in col]
        out.append(None if col.count(None) == n else col)
    # A value the validator could not read always left a finding on its row: only a
    # row with 提醒 can have text to keep (as in entry_rows).
    unparsed = [unparsed_text(sheet, r) for r in records] \
        if any(r.warnings for r in records) else None
    out.append(None if unparsed is None or unparsed.count(None) == n else unparsed)
    return out


def entry_rows(sheet: EntrySheet, rows: Iterable[Row], seq: dict[int, int]
               ) -> list[tuple[Any, ...]]:
    """The accepted rows of one entry sheet, provenance first (see :data:`ENTRY_FIXED`);
    ``seq``: ``id(file)`` → the file's ``files.seq``."""
    keys = [c.key for c in sheet.input_columns]
    pick = operator.itemgetter(*keys)
    dates = [i for i, c in enumerate(sheet.input_columns) if c.kind is Kind.DATE]
    out: list[tuple[Any, ...]] = []
    append = out.append
    prefix: tuple[Any, ...] = ()
    last: object = None
    for r in rows:  # 100,000 rows in a city run: kept lean
        record = r.record
        if r.file is not last:  # rows come file by file: the provenance prefix is shared
            last = r.file
            prefix = (r.town.code, r.town.short, seq[id(r.file)], record.sheet)
        values = record.values
        try:
            cells = pick(values)
        except KeyError:
            cells = tuple(values.get(k) for k in keys)
        if dates:
            cells = dates_as_text(cells, dates)
        # A value the validator could not read always left a finding on its row: only
        # a row with 提醒 can have text to keep (an accepted row has no 错误).
        unparsed = _unparsed(sheet, record.raw, values) if record.warnings else None
        append((*prefix, record.row, f"A{record.row}", *cells, unparsed))
    return out


def dates_as_text(cells: tuple[Any, ...], dates: Sequence[int]) -> tuple[Any, ...]:
    """An entry row's cells with the dates at positions ``dates`` as ISO text (how the
    ledger stores them); the same tuple when none of them is a date."""
    if not any(isinstance(cells[i], dt.date) for i in dates):
        return cells
    listed = list(cells)
    for i in dates:
        if isinstance(listed[i], dt.date):
            listed[i] = listed[i].isoformat()
    return tuple(listed)


def _file_rows(c: Consolidation, archived: dict[str, str]) -> list[tuple[Any, ...]]:
    out = []
    for i, f in enumerate(c.files, start=1):
        received = f.input.received.isoformat() if f.input.received else None
        saved = getattr(f.input, "saved", None)  # the application's save time, if it says
        day = as_of(f)
        out.append((
            i, f.name, f.input.sha256 or None, f.status, STATUS_TEXT[f.status],
            f.town.code if f.town else None, f.town.short if f.town else None,
            received, f.input.received_from or None,
            saved.isoformat() if isinstance(saved, dt.datetime) else None,
            day.isoformat() if day else None,
            f.template_version or None, len(f.report.errors), len(f.report.warnings),
            f.superseded_by.name if f.superseded_by else None,
            f.change_text() if f.superseded_by else None,
            archived.get(f.input.sha256)))
    return out


def _town_rows(c: Consolidation) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    towns, progress = [], []
    for t in c.towns:
        reporter = _fact(t.winner, "reporter") if t.winner else None
        phone = _fact(t.winner, "phone") if t.winner else None
        # Whom to call: the town's own 填报人/联系电话 when its file names them, else the plan's.
        own = " ".join(display(x) for x in (reporter, phone) if x is not None)
        towns.append((t.town.code, t.town.short, t.state,
                      t.winner.name if t.winner else None,
                      t.winner.input.sha256 if t.winner else None, len(t.superseded),
                      getattr(t, "basis", "") or None,  # what made the winner the latest
                      display(reporter) if reporter is not None else None,
                      display(phone) if phone is not None else None,
                      own or getattr(t.town, "contact", "") or None))  # the plan's, if any
        # A town that did not count has no figures (never 0): no progress rows at all.
        if t.state == "已报送":
            progress += [(t.town.code, p.metric, p.label, p.target, p.done, p.rate,
                          p.pipeline) for p in t.progress]
    return towns, progress


def _finding_rows(c: Consolidation) -> list[tuple[Any, ...]]:
    return [(i, x.file, x.town or None, x.finding.code, x.finding.severity.value,
             x.finding.sheet, x.finding.cell, x.finding.row,
             None if x.finding.value is None else sql_value(x.finding.value),
             x.finding.message)
            for i, x in enumerate(c.issues, start=1)]


# How an entry sheet's accepted rows become table rows: entry_rows, or a caller's
# equivalent that knows a faster way to read the same records (xlz.ops.packed).
EntryRows = Callable[[EntrySheet, Sequence[Row], dict[int, int]], list[tuple[Any, ...]]]


def round_record(c: Consolidation, period: dt.date, period_source: PeriodSource, *,
                 archived: dict[str, str] | None = None,
                 entries: EntryRows | None = None) -> RoundRecord:
    """The rows of one round. ``archived``: sha256 → where the input's bytes are kept
    (relative to the ledger), for the ``files`` table; ``entries``: what makes the entry
    tables' rows (default :func:`entry_rows`; another must give exactly its rows)."""
    make = entries or entry_rows
    rows_of: dict[str, Sequence[Row]] = {"project": c.projects, "carrier": c.carriers,
                                         "activity": c.activities}
    towns, progress = _town_rows(c)
    seq = {id(f): i for i, f in enumerate(c.files, start=1)}  # as _file_rows numbers them
    return RoundRecord(
        period, period_source, c.plan.id, _file_rows(c, archived or {}), towns, progress,
        {ENTRY_TABLES[s.key]: make(s, rows_of[s.key], seq) for s in ENTRY_SHEETS},
        _finding_rows(c))

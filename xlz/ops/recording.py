"""A consolidation recorded as a round in the ledger (issue 12, docs/ledger.md): where
the ledger is, the refusals before anything is read, the input bytes archived while the
submissions are still on disk, and the round written after the city workbook.

The order matters. The ledger is checked first, with the city workbook's own checks:
a ledger that is not one, is newer or is held by another writer stops the run before
anything is read or written. The bytes are archived as each submission is examined
(archive members and attachments exist only until the inbox is closed), beside the
workers; so are the entry rows of each file that may count, made and staged
(:class:`~xlz.io.ledger.write.Stage`) while the workers read the next files. After the
pool only the choice remains: which staged files the round counts, and in what order.
The round is written in one transaction by a thread (:class:`PendingRound`) while the
city workbook is written — a few ``INSERT … SELECT`` from the stage, SQLite's own work
without the GIL, beside xlsxwriter and the deflate threads — but it is committed only
after the city workbook (and the replies) are in place: a run whose city workbook fails
rolls the round back and records nothing, as before. Committing first would leave, after
a failed workbook, a round no city workbook shows, which the next run's 进度对比 would
compare against; the other way round, a crash between the two leaves a city workbook
without its round, which re-running the period records.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from xlz.core.consolidation import Consolidation, FileResult, Row
from xlz.core.entries import ENTRY_SHEETS, EntrySheet
from xlz.core.roundrecord import (
    ENTRY_TABLES,
    FILE_COLUMNS,
    FINDING_COLUMNS,
    PROGRESS_COLUMNS,
    TOWN_COLUMNS,
    EntryRows,
    PeriodSource,
    RecordedRound,
    RoundRecord,
    choose_period,
    round_record,
)
from xlz.core.validator import Record
from xlz.io.inbox import Submission
from xlz.io.ledger.archive import archive_folder, keep
from xlz.io.ledger.read import parse_period
from xlz.io.ledger.schema import DEFAULT_NAME, check_writable
from xlz.io.ledger.write import Checkpoint, Chosen, Stage, record_round
from xlz.ops.packed import entry_block_from_columns, entry_rows_from_columns

_RECORD = operator.attrgetter("record")
_FILE = operator.attrgetter("file")


def ledger_path(out: str | os.PathLike[str], ledger: str | os.PathLike[str] | None
                ) -> Path:
    """``ledger``, or ``科技招商台账.sqlite`` beside the city workbook ``out``."""
    return Path(ledger) if ledger is not None else Path(out).parent / DEFAULT_NAME


class _Staged(NamedTuple):
    """One file's rows of an entry table, staged as the file was examined."""

    file: FileResult
    records: tuple[Record, ...]  # which records, to check that the round counts these
    first: int  # rowids in the stage
    last: int


@dataclass(slots=True)
class Recorder:
    """One run's ledger: checked when made, archiving as submissions are examined and
    staging the entry rows of the files that may count."""

    path: Path
    period: dt.date | None
    archived: dict[str, str] = field(default_factory=dict)  # sha256 → relative path
    stage: Stage | None = None
    staged: dict[tuple[int, str], _Staged] = field(default_factory=dict)  # (id(file), key)
    failed: bool = False  # staging failed once: the round is written the plain way

    @classmethod
    def checked(cls, path: Path, period: str | dt.date | None) -> Recorder:
        """Refuse a bad period or ledger before anything is read (``ledger.*``)."""
        given = parse_period(period) if period is not None else None
        check_writable(path)
        return cls(path, given)

    @property
    def folder(self) -> Path:
        return archive_folder(self.path)

    def excluded(self) -> list[Path]:
        """What the inbox must not read: the ledger and its archive of inputs."""
        return [self.path, self.folder]

    def keeper(self) -> Callable[[Submission], None]:
        def kept(sub: Submission) -> None:
            if sub.sha256 not in self.archived:
                rel = keep(self.folder, sub.path, sub.sha256, sub.name)
                if rel is not None:
                    self.archived[sub.sha256] = rel
        return kept

    def stager(self) -> Callable[[FileResult], None]:
        """Stage an examined file's entry rows (:class:`~xlz.io.ledger.write.Stage`):
        built and bound now, while the workers read the next files, instead of after
        the pool beside the city workbook. Files that cannot count are skipped; the
        rows of files that end up superseded stay in the stage, unused."""
        def stage(f: FileResult) -> None:
            if self.failed or f.status != "accepted" or f.town is None:
                return
            try:
                for sheet in ENTRY_SHEETS:
                    records = f.records(sheet.key)
                    if records:
                        first, last = self._stage().block(
                            ENTRY_TABLES[sheet.key], entry_block_from_columns(sheet, records))
                        self.staged[(id(f), sheet.key)] = _Staged(f, tuple(records), first,
                                                                  last)
            except (sqlite3.Error, OSError):
                # No stage (the temporary folder, say): the round is written the way
                # that needs none (see _staged_round).
                self.failed = True
                self.close()
        return stage

    def _stage(self) -> Stage:
        if self.stage is None:
            self.stage = Stage()
        return self.stage

    def close(self) -> None:
        """Remove the stage (a run that records no round)."""
        if self.stage is not None:
            self.stage.discard()
            self.stage = None
        self.staged.clear()

    def _chosen(self, stage: Stage) -> EntryRows:
        """round_record's ``entries``: each accepted file's rows of the sheet, staged
        (while it was examined, or now), chosen in the round's order; no rows are
        returned, the writer copies the staged ones."""
        def entries(sheet: EntrySheet, rows: Sequence[Row], seq: dict[int, int]
                    ) -> list[tuple[Any, ...]]:
            chosen: list[Chosen] = []
            start, n = 0, len(rows)
            while start < n:  # file by file, as entry_rows groups them
                first = rows[start]
                f = first.file
                hit = self.staged.get((id(f), sheet.key))
                end = start + len(hit.records) if hit is not None else n + 1
                # The staged rows stand for exactly the rows of this run of the file
                # (checked in C: 100,000 rows after the pool).
                if hit is not None and hit.file is f and end <= n and \
                        (end == n or rows[end].file is not f) and \
                        all(map(operator.is_, map(_FILE, rows[start:end]),
                                itertools.repeat(f))) and \
                        all(map(operator.is_, hit.records, map(_RECORD, rows[start:end]))):
                    span = hit.first, hit.last
                else:  # not staged (or not these records): staged now
                    end = start + 1
                    while end < n and rows[end].file is f:
                        end += 1
                    span = stage.block(ENTRY_TABLES[sheet.key], entry_block_from_columns(
                        sheet, [r.record for r in rows[start:end]]))
                chosen.append((*span, first.town.code, first.town.short, seq[id(f)],
                               first.record.sheet))
                start = end
            stage.choose(ENTRY_TABLES[sheet.key], chosen)
            return []
        return entries

    def choose(self, c: Consolidation, today: dt.date | None = None
               ) -> tuple[dt.date, PeriodSource]:
        """The round's period and where it came from: ``--period``, else the latest
        数据截至日期 among accepted files, else today (known before the city workbook is
        written, which shows it and compares with the round before)."""
        return choose_period(c, self.period, today or dt.date.today())

    def record(self, c: Consolidation, period: tuple[dt.date, PeriodSource], *,
               city_workbook: Path, exit_code: int, xlz_version: str,
               checkpoint: Checkpoint | None = None) -> RecordedRound:
        """Record the round now, in this thread."""
        return self.start(c, period, city_workbook=city_workbook, exit_code=exit_code,
                          xlz_version=xlz_version, checkpoint=checkpoint).commit()

    def start(self, c: Consolidation, period: tuple[dt.date, PeriodSource], *,
              city_workbook: Path, exit_code: int, xlz_version: str,
              checkpoint: Checkpoint | None = None) -> PendingRound:
        """Begin writing the round in a thread; :meth:`PendingRound.commit` once the
        city workbook is in place, :meth:`PendingRound.abandon` when it failed."""
        stage, rows = self._staged_round(c, period)

        def write(ready: Callable[[], None]) -> RecordedRound:
            made = rows if rows is not None else round_record(
                c, *period, archived=self.archived, entries=entry_rows_from_columns)
            return record_round(self.path, made, xlz_version=xlz_version,
                                city_workbook=os.fspath(city_workbook), exit_code=exit_code,
                                checkpoint=checkpoint, before_commit=ready, stage=stage)
        return PendingRound(write)

    def _staged_round(self, c: Consolidation, period: tuple[dt.date, PeriodSource]
                      ) -> tuple[Stage | None, RoundRecord | None]:
        """The round's rows staged, in this thread: the writing thread then only copies
        them (see :class:`~xlz.io.ledger.write.Stage`). ``(None, None)`` when staging
        failed (the temporary folder, say): the thread then makes and inserts the rows
        itself, the way that needs no stage."""
        if self.failed:
            return None, None
        try:
            stage = self._stage()
            rows = round_record(c, *period, archived=self.archived,
                                entries=self._chosen(stage))
            for table, columns, made in (("files", FILE_COLUMNS, rows.files),
                                         ("towns", TOWN_COLUMNS, rows.towns),
                                         ("progress", PROGRESS_COLUMNS, rows.progress),
                                         ("findings", FINDING_COLUMNS, rows.findings)):
                stage.rows(table, made, len(columns) - 1)
            stage.seal()
        except (sqlite3.Error, OSError):
            self.failed = True
            self.close()
            return None, None
        self.stage = None  # the writer's now: it removes it
        self.staged.clear()
        return stage, rows


class _Abandoned(Exception):
    """Raised in the writing thread to roll the round back."""


class PendingRound:
    """A round being written by a thread of its own, its transaction held open until the
    caller says whether the city workbook was written (see the module docstring)."""

    def __init__(self, write: Callable[[Callable[[], None]], RecordedRound]) -> None:
        self._write = write
        self._decided = threading.Event()
        self._commit = False
        self._result: RecordedRound | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="xlz-ledger", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._write(self._ready)
        except _Abandoned:
            pass
        except BaseException as exc:  # handed to the caller's thread by commit()
            self._error = exc

    def _ready(self) -> None:
        self._decided.wait()
        if not self._commit:
            raise _Abandoned

    def commit(self) -> RecordedRound:
        """Commit the round (after the city workbook is in place) and say which it
        became; raises what writing it raised (``ledger.*``, ``output.*``)."""
        self._commit = True
        self._decided.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def abandon(self) -> None:
        """Roll the round back (the run failed): nothing of it is recorded."""
        self._decided.set()
        self._thread.join()

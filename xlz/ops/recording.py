"""A consolidation recorded as a round in the ledger (issue 12, docs/ledger.md): where
the ledger is, the refusals before anything is read, the input bytes archived while the
submissions are still on disk, and the round written after the city workbook.

The order matters. The ledger is checked first, with the city workbook's own checks:
a ledger that is not one, is newer or is held by another writer stops the run before
anything is read or written. The bytes are archived as each submission is examined
(archive members and attachments exist only until the inbox is closed), beside the
workers. The round is written in one transaction by a thread (:class:`PendingRound`)
while the city workbook is written — building 100,000 rows and SQLite's stepping, which
releases the GIL, overlap xlsxwriter and the deflate threads — but it is committed only
after the city workbook (and the replies) are in place: a run whose city workbook fails
rolls the round back and records nothing, as before. Committing first would leave, after
a failed workbook, a round no city workbook shows, which the next run's 进度对比 would
compare against; the other way round, a crash between the two leaves a city workbook
without its round, which re-running the period records.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xlz.core.consolidation import Consolidation
from xlz.core.roundrecord import PeriodSource, RecordedRound, choose_period, round_record
from xlz.io.inbox import Submission
from xlz.io.ledger.archive import archive_folder, keep
from xlz.io.ledger.read import parse_period
from xlz.io.ledger.schema import DEFAULT_NAME, check_writable
from xlz.io.ledger.write import Checkpoint, record_round
from xlz.ops.packed import entry_rows_from_columns


def ledger_path(out: str | os.PathLike[str], ledger: str | os.PathLike[str] | None
                ) -> Path:
    """``ledger``, or ``科技招商台账.sqlite`` beside the city workbook ``out``."""
    return Path(ledger) if ledger is not None else Path(out).parent / DEFAULT_NAME


@dataclass(slots=True)
class Recorder:
    """One run's ledger: checked when made, archiving as submissions are examined."""

    path: Path
    period: dt.date | None
    archived: dict[str, str] = field(default_factory=dict)  # sha256 → relative path

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
        def write(ready: Callable[[], None]) -> RecordedRound:
            rows = round_record(c, *period, archived=self.archived,
                                entries=entry_rows_from_columns)
            return record_round(self.path, rows, xlz_version=xlz_version,
                                city_workbook=os.fspath(city_workbook), exit_code=exit_code,
                                checkpoint=checkpoint, before_commit=ready)
        return PendingRound(write)


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

"""A consolidation recorded as a round in the ledger (issue 12, docs/ledger.md): where
the ledger is, the refusals before anything is read, the input bytes archived while the
submissions are still on disk, and the round written after the city workbook.

The order matters. The ledger is checked first, with the city workbook's own checks:
a ledger that is not one, is newer or is held by another writer stops the run before
anything is read or written. The bytes are archived as each submission is examined
(archive members and attachments exist only until the inbox is closed). The round is
written last, in one transaction, so a run that fails earlier records nothing.
"""

from __future__ import annotations

import datetime as dt
import os
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
        rows = round_record(c, *period, archived=self.archived)
        return record_round(self.path, rows, xlz_version=xlz_version,
                            city_workbook=os.fspath(city_workbook), exit_code=exit_code,
                            checkpoint=checkpoint)

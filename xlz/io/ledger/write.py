"""Recording a round: one transaction that replaces the round of the same period (if
any) and inserts every row of the new one. A kill, a crash or a power cut at any point
leaves the ledger with the old round or the new one, never half (SQLite's rollback
journal); nothing outside the replaced round is ever deleted.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from xlz.core.entries import ENTRY_SHEETS
from xlz.core.errors import OutputError
from xlz.core.roundrecord import (
    ENTRY_FIXED,
    ENTRY_TABLES,
    FILE_COLUMNS,
    FINDING_COLUMNS,
    PROGRESS_COLUMNS,
    TOWN_COLUMNS,
    RecordedRound,
    RoundRecord,
    entry_columns,
)
from xlz.io.ledger.schema import (
    CHILD_TABLES,
    ENTRY_STORED,
    ensure_schema,
    open_for_writing,
    quoted,
    refusal,
)
from xlz.io.output import TEMP_PREFIX, remove_stale_temporaries

Checkpoint = Callable[[str], None]  # called between the steps of the transaction (tests)

# A file's share of an entry table as staged: its rows' rowids in the stage (first, last)
# and the provenance they share (town, town_name, file_seq, sheet).
Chosen = tuple[int, int, str, str, int, str]


class Stage:
    """A round's rows put aside before its transaction, in a database of their own, so
    that the transaction itself is a few ``INSERT … SELECT`` statements.

    Python's ``sqlite3`` binds a row's values holding the GIL and gives the GIL up for
    each row's step: a thread inserting 100,000 rows beside a busy Python thread (the
    city workbook's) gets about one row per thread switch. Staged by the thread that
    made the rows, while the consolidation still runs, the rows cost that thread their
    binding alone; the writer then copies them in SQLite's own loop, without the GIL.
    The stage is a temporary file (no journal, never synced; the ledger is neither read
    nor created before the round is written, so a run that fails leaves it as it
    was), attached read-only by the writer and removed after it (:meth:`discard`); a
    killed run's is removed by a later run (:func:`~xlz.io.output.remove_stale_temporaries`).
    Staging is done by one thread; :meth:`seal` before another one writes."""

    def __init__(self) -> None:
        folder = tempfile.gettempdir()
        remove_stale_temporaries(Path(folder))  # stages of killed runs
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}stage-", suffix=".sqlite",
                                    dir=folder)
        os.close(fd)
        self.path = Path(name)
        self._tables: dict[str, int] = {}  # staged table → its width
        # Entry table → its files' shares in the round's order (see :meth:`choose`).
        self.chosen: dict[str, list[Chosen]] = {}
        self.conn: sqlite3.Connection | None = None
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None)
            # Scratch: a crash loses nothing the ledger needs.
            self.conn.execute("PRAGMA journal_mode = OFF")
            self.conn.execute("PRAGMA synchronous = OFF")
            # SQLite's small default cache: pages go to the file as the rows come,
            # not all at once when the stage is sealed after the pool.
            # One transaction until sealed: a private file, nothing waits on it.
            self.conn.execute("BEGIN")
        except BaseException:
            self.discard()
            raise

    def _open(self) -> sqlite3.Connection:
        if self.conn is None:
            raise sqlite3.ProgrammingError("the stage is sealed")
        return self.conn

    def _table(self, name: str, width: int) -> str:
        table = quoted(f"staged_{name}")  # never a name the ledger's statements use
        if name not in self._tables:
            columns = ", ".join(f"c{i}" for i in range(width))  # no affinity: kept as bound
            self._open().execute(f"CREATE TABLE {table} ({columns})")
            self._tables[name] = width
        return table

    def block(self, table: str, columns: list[Sequence[Any] | None]) -> tuple[int, int]:
        """Stage one file's rows of entry table ``table``, given as
        :func:`~xlz.core.roundrecord.entry_block` columns (``None``: NULL on every row);
        their rowids in the stage, first and last."""
        name = self._table(table, len(columns))
        marks = ", ".join("NULL" if c is None else "?" for c in columns)
        before = self._last(name)
        self._open().executemany(f"INSERT INTO {name} VALUES ({marks})",
                                 zip(*(c for c in columns if c is not None), strict=True))
        return before + 1, self._last(name)

    def _last(self, name: str) -> int:
        return int(self._open().execute(f"SELECT coalesce(max(rowid), 0) FROM {name}"
                                        ).fetchone()[0])

    def rows(self, table: str, rows: list[tuple[Any, ...]], width: int) -> None:
        """Stage ``table``'s rows as they are (without ``round_id``)."""
        name = self._table(table, width)
        self._open().executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * width)})",
                                 rows)

    def choose(self, table: str, chosen: list[Chosen]) -> None:
        """Which staged blocks make entry table ``table`` of the round, in its order."""
        if chosen:  # none: the table has no rows this round, nothing to copy
            self.rows(f"chosen_{table}", chosen, 6)
            self.chosen[table] = chosen

    def staged(self, table: str) -> bool:
        return table in self._tables

    def seal(self) -> None:
        """Staging is done: the rows are in the file for the writer to attach."""
        if self.conn is not None:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")
            self.conn.close()
            self.conn = None

    def discard(self) -> None:
        """Remove the stage (after the round was written, or instead of writing it)."""
        if self.conn is not None:
            self.conn.close()  # uncommitted: nothing to keep
            self.conn = None
        self.path.unlink(missing_ok=True)


def _copy(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], round_id: int
          ) -> None:
    """Insert ``table``'s staged rows (:meth:`Stage.rows`) in the order staged."""
    names = ", ".join(quoted(c) for c in columns)
    staged = ", ".join(f"c{i}" for i in range(len(columns) - 1))
    conn.execute(f"INSERT INTO {quoted(table)} ({names}) SELECT {int(round_id)}, {staged} "
                 f"FROM stage.{quoted('staged_' + table)} ORDER BY rowid")


def _copy_entries(conn: sqlite3.Connection, table: str, columns: tuple[str, ...],
                  round_id: int) -> None:
    """Insert an entry table's staged rows: each chosen file's block, in the chosen
    order, with the provenance the round gives it (``cell`` is ``A`` and the row)."""
    stored = ENTRY_STORED[table]
    names = ", ".join(quoted(c) for c in columns)
    values = len(columns) - len(ENTRY_FIXED)  # the standard's columns and unparsed
    picked = ", ".join(f"s.c{i}" for i in range(1, values + 1))
    conn.execute(
        f"INSERT INTO {quoted(stored)} ({names}) "
        f"SELECT {int(round_id)}, c.c2, c.c3, c.c4, c.c5, s.c0, 'A' || s.c0, {picked} "
        f"FROM stage.{quoted('staged_chosen_' + table)} c "
        f"JOIN stage.{quoted('staged_' + table)} s ON s.rowid BETWEEN c.c0 AND c.c1 "
        "ORDER BY c.rowid, s.rowid")


def _insert(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], round_id: int,
            rows: list[tuple[object, ...]]) -> None:
    if not rows:
        return
    # The round's id is our own integer: written into the statement, so the rows need
    # not be copied to prepend it (100,000 rows per city run).
    names = ", ".join(quoted(c) for c in columns)
    marks = ", ".join("?" * (len(columns) - 1))
    conn.executemany(f"INSERT INTO {quoted(table)} ({names}) VALUES ({int(round_id)}, {marks})",
                     rows)


def record_round(path: str | os.PathLike[str], record: RoundRecord, *, xlz_version: str,
                 city_workbook: str | None, exit_code: int,
                 now: dt.datetime | None = None,
                 checkpoint: Checkpoint | None = None,
                 before_commit: Callable[[], None] | None = None,
                 stage: Stage | None = None) -> RecordedRound:
    """Write ``record`` into the ledger at ``path`` (created when absent) and say which
    round it became. Raises :class:`~xlz.core.errors.OutputError` (``ledger.*``).
    ``before_commit`` is called with every row written and the transaction still open:
    whatever it raises rolls the round back (the caller's city workbook failed).
    ``stage``: where the rows of tables staged already are (those of ``record`` are
    then not read); it is removed here."""
    where = Path(path)
    stamp = (now or dt.datetime.now(dt.timezone.utc).astimezone()).isoformat(timespec="seconds")
    step = checkpoint or (lambda _: None)

    def insert(table: str, columns: tuple[str, ...], round_id: int,
               rows: list[tuple[object, ...]]) -> None:
        if stage is not None and stage.staged(table):
            _copy(conn, table, columns, round_id)
        else:
            _insert(conn, table, columns, round_id, rows)

    try:
        conn = open_for_writing(where)
    except BaseException:
        if stage is not None:
            stage.discard()
        raise
    try:
        try:
            if stage is not None:
                stage.seal()
                # Read-only: the writer takes the staged rows and changes nothing there.
                conn.execute("ATTACH DATABASE ? AS stage",
                             (stage.path.as_uri() + "?mode=ro",))
            conn.execute("BEGIN IMMEDIATE")
            ensure_schema(conn)
            period = record.period.isoformat()
            old = conn.execute("SELECT id, revision, first_recorded_at FROM rounds "
                               "WHERE period = ?", (period,)).fetchone()
            revision, first = (old[1] + 1, old[2]) if old else (1, stamp)
            if old:
                for table in CHILD_TABLES:
                    conn.execute(f"DELETE FROM {quoted(table)} WHERE round_id = ?", (old[0],))
                conn.execute("DELETE FROM rounds WHERE id = ?", (old[0],))
                step("deleted")
            round_id = conn.execute(
                "INSERT INTO rounds (period, period_source, recorded_at, first_recorded_at, "
                "revision, plan_id, xlz_version, city_workbook, exit_code) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (period, record.period_source, stamp, first, revision, record.plan_id,
                 xlz_version, city_workbook, exit_code)).lastrowid
            assert round_id is not None
            insert("files", FILE_COLUMNS, round_id, record.files)
            insert("towns", TOWN_COLUMNS, round_id, record.towns)
            insert("progress", PROGRESS_COLUMNS, round_id, record.progress)
            step("towns")
            for sheet in ENTRY_SHEETS:
                table = ENTRY_TABLES[sheet.key]
                columns = (*ENTRY_FIXED, *(k for k, _ in entry_columns(sheet)))
                if stage is not None and table in stage.chosen:
                    _copy_entries(conn, table, columns, round_id)
                else:
                    _insert(conn, ENTRY_STORED[table], columns, round_id,
                            record.entries[table])
                step(table)
            insert("findings", FINDING_COLUMNS, round_id, record.findings)
            step("findings")
            number = conn.execute("SELECT count(*) FROM rounds WHERE period <= ?",
                                  (period,)).fetchone()[0]
            if before_commit is not None:
                before_commit()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise refusal(OutputError, where, exc) from exc
    finally:
        conn.close()
        if stage is not None:
            stage.discard()
    return RecordedRound(where, int(number), record.period, record.period_source, revision)

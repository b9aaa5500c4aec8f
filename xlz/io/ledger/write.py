"""Recording a round: one transaction that replaces the round of the same period (if
any) and inserts every row of the new one. A kill, a crash or a power cut at any point
leaves the ledger with the old round or the new one, never half (SQLite's rollback
journal); nothing outside the replaced round is ever deleted.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

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

Checkpoint = Callable[[str], None]  # called between the steps of the transaction (tests)


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
                 before_commit: Callable[[], None] | None = None) -> RecordedRound:
    """Write ``record`` into the ledger at ``path`` (created when absent) and say which
    round it became. Raises :class:`~xlz.core.errors.OutputError` (``ledger.*``).
    ``before_commit`` is called with every row written and the transaction still open:
    whatever it raises rolls the round back (the caller's city workbook failed)."""
    where = Path(path)
    stamp = (now or dt.datetime.now(dt.timezone.utc).astimezone()).isoformat(timespec="seconds")
    step = checkpoint or (lambda _: None)
    conn = open_for_writing(where)
    try:
        try:
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
            _insert(conn, "files", FILE_COLUMNS, round_id, record.files)
            _insert(conn, "towns", TOWN_COLUMNS, round_id, record.towns)
            _insert(conn, "progress", PROGRESS_COLUMNS, round_id, record.progress)
            step("towns")
            for sheet in ENTRY_SHEETS:
                table = ENTRY_TABLES[sheet.key]
                columns = (*ENTRY_FIXED, *(k for k, _ in entry_columns(sheet)))
                _insert(conn, ENTRY_STORED[table], columns, round_id, record.entries[table])
                step(table)
            _insert(conn, "findings", FINDING_COLUMNS, round_id, record.findings)
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
    return RecordedRound(where, int(number), record.period, record.period_source, revision)

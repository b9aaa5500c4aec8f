"""The ledger's schema: what makes a SQLite file an xlz ledger, its version, creating and
migrating it, and opening it for reading or writing with the refusals of docs/ledger.md.

An xlz ledger is a SQLite database whose ``PRAGMA application_id`` is
:data:`APPLICATION_ID` and whose ``PRAGMA user_version`` is the schema version. A file
that is not one (another database, a damaged file, anything else) is refused before
anything is read or written (``ledger.not_ledger``); one made by a newer xlz is refused
too (``ledger.newer``), because this version cannot know what its tables mean.

Journal mode: the rollback journal (``DELETE``), not WAL. A round is written once per
consolidation, so WAL's readers-beside-a-writer buys nothing; and WAL keeps committed
rounds in a ``-wal`` file beside the database until a checkpoint, which an office copying
``科技招商台账.sqlite`` to a USB stick or a network share (where WAL does not work at
all) would silently leave behind. With the rollback journal the database file alone is
the whole ledger whenever no xlz is writing it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Final

from xlz.core.entries import ENTRY_SHEETS, EntrySheet
from xlz.core.errors import InputError, OutputError, XlzError, make_error, output_error
from xlz.core.roundrecord import (
    ENTRY_FIXED,
    ENTRY_SHOWN,
    ENTRY_TABLES,
    FILE_COLUMNS,
    FINDING_COLUMNS,
    PROGRESS_COLUMNS,
    TOWN_COLUMNS,
    entry_columns,
)

APPLICATION_ID: Final = 0x584C5A4C  # "XLZL"
SCHEMA_VERSION: Final = 2
# How long a write waits for another xlz (or a database browser) to let go.
BUSY_SECONDS: Final = 5.0

DEFAULT_NAME: Final = "科技招商台账.sqlite"

# Where an entry view's rows are stored (schema 2): ``projects`` is a view over
# ``project_rows``, whose ``file_seq`` refers to ``files.seq`` of the same round.
ENTRY_STORED: Final = {view: f"{key}_rows" for key, view in ENTRY_TABLES.items()}

# Tables that hang off a round (deleted with it when its period is re-run).
CHILD_TABLES: Final = ("files", "towns", "progress", *ENTRY_STORED.values(), "findings")
# What a reader sees: the same, with the entry views in place of their stored tables.
SHOWN_TABLES: Final = ("files", "towns", "progress", *ENTRY_TABLES.values(), "findings")


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create_statements() -> list[str]:
    """Schema version 2 (docs/ledger.md documents every column); the entry views are
    made by :func:`_make_views`."""
    out = [
        "CREATE TABLE ledger_info (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        # AUTOINCREMENT: a round's id is never reused, also after its period was re-run.
        """CREATE TABLE rounds (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            period TEXT NOT NULL UNIQUE,
            period_source TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            first_recorded_at TEXT NOT NULL,
            revision INTEGER NOT NULL,
            plan_id TEXT NOT NULL,
            xlz_version TEXT NOT NULL,
            city_workbook TEXT,
            exit_code INTEGER NOT NULL)""",
        _table("files", FILE_COLUMNS, {"seq": "INTEGER", "errors": "INTEGER",
                                       "warnings": "INTEGER"}, "round_id, seq"),
        _table("towns", TOWN_COLUMNS, {"superseded": "INTEGER"}, "round_id, town"),
        _table("progress", PROGRESS_COLUMNS,
               {"target": "INTEGER", "done": "INTEGER", "rate": "REAL",
                "pipeline": "INTEGER"}, "round_id, town, metric"),
        _table("findings", FINDING_COLUMNS, {"seq": "INTEGER", "row": "INTEGER", "value": ""},
               "round_id, seq"),
    ]
    for sheet in ENTRY_SHEETS:
        out += _entry_table(ENTRY_STORED[ENTRY_TABLES[sheet.key]], sheet)
    return out


def _entry_table(name: str, sheet: EntrySheet) -> list[str]:
    typed = {"row": "INTEGER", "file_seq": "INTEGER", **dict(entry_columns(sheet))}
    columns = (*ENTRY_FIXED, *(k for k, _ in entry_columns(sheet)))
    return [_table(name, columns, typed, None),
            f"CREATE INDEX {name}_round ON {quoted(name)} (round_id, town)"]


def entry_select(conn: sqlite3.Connection, view: str, *, lead: str = "") -> str:
    """``SELECT … FROM`` an entry table with the file's name and hash joined in, the
    columns in the order docs/ledger.md gives (:data:`ENTRY_SHOWN`, then the standard's
    columns this ledger has). Aliases: ``x`` the stored rows, ``f`` their file. The
    view is this; :class:`xlz.Ledger` uses it directly to keep the stored row order.
    ``lead``: columns selected before these (``r.period AS period``)."""
    stored = ENTRY_STORED[view]
    picked = [lead] if lead else []
    if conn.execute("PRAGMA user_version").fetchone()[0] < 2:
        # A version-1 ledger not yet migrated (a reader never migrates): the rows hold
        # file and sha256 themselves, in these columns' order.
        return f"SELECT {', '.join([*picked, 'x.*'])} FROM {quoted(view)} x"
    have = [row[1] for row in conn.execute(f"PRAGMA table_info({quoted(stored)})")]
    for col in ENTRY_SHOWN:
        if col == "file":
            picked.append("f.name AS file")
        elif col == "sha256":
            picked.append("f.sha256 AS sha256")
        else:
            picked.append(f"x.{quoted(col)}")
    picked += [f"x.{quoted(c)}" for c in have if c not in ENTRY_FIXED]
    # LEFT JOIN: a row whose file could not be matched is still shown (file NULL).
    return (f"SELECT {', '.join(picked)} FROM {quoted(stored)} x "
            "LEFT JOIN files f ON f.round_id = x.round_id AND f.seq = x.file_seq")


def _make_views(conn: sqlite3.Connection) -> None:
    """(Re)make the entry views, after their stored tables gained columns."""
    for view in ENTRY_STORED:
        conn.execute(f"DROP VIEW IF EXISTS {quoted(view)}")
        conn.execute(f"CREATE VIEW {quoted(view)} AS {entry_select(conn, view)}")


def _table(name: str, columns: tuple[str, ...], typed: dict[str, str],
           key: str | None) -> str:
    cols = []
    for col in columns:
        kind = "INTEGER NOT NULL REFERENCES rounds(id)" if col == "round_id" else \
            typed.get(col, "TEXT")
        cols.append(f"{quoted(col)} {kind}".rstrip())
    if key:
        cols.append(f"PRIMARY KEY ({key})")
    return f"CREATE TABLE {quoted(name)} (\n  " + ",\n  ".join(cols) + ")"


def _entry_rows_by_file_seq(conn: sqlite3.Connection) -> None:
    """1 → 2: the entry tables ``projects``, ``carriers``, ``activities`` held the file's
    name and SHA-256 on every row; now ``<key>_rows`` hold ``file_seq`` (→ ``files.seq``)
    and views of the old names show the same columns as before."""
    for sheet in ENTRY_SHEETS:
        view = ENTRY_TABLES[sheet.key]
        stored = ENTRY_STORED[view]
        for statement in _entry_table(stored, sheet):
            conn.execute(statement)
        old = [row[1] for row in conn.execute(f"PRAGMA table_info({quoted(view)})")]
        kept = [c for c in old if c not in ("file", "sha256")]
        names = ", ".join(quoted(c) for c in kept)
        for col in kept:  # columns a later standard added to the old table
            if col not in ENTRY_FIXED and col not in dict(entry_columns(sheet)):
                conn.execute(f"ALTER TABLE {quoted(stored)} ADD COLUMN {quoted(col)}")
        # Each row's file: the one of its round with its name and hash (in version 1
        # both were copied from that files row). rowid order kept: the rows' order.
        conn.execute(
            f"INSERT INTO {quoted(stored)} ({names}, file_seq) "
            f"SELECT {', '.join('o.' + quoted(c) for c in kept)}, "
            "(SELECT f.seq FROM files f WHERE f.round_id = o.round_id AND f.name IS o.file "
            "AND f.sha256 IS o.sha256 ORDER BY f.seq LIMIT 1) "
            f"FROM {quoted(view)} o ORDER BY o.rowid")
        conn.execute(f"DROP TABLE {quoted(view)}")


# Version n → n+1, each run inside the writer's transaction; a change of the schema adds
# a step here and bumps SCHEMA_VERSION.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _entry_rows_by_file_seq}


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the tables in a new ledger, migrate an older one, and add the columns a
    newer workbook standard brought to the entry tables (columns are only ever added,
    so older rounds read NULL there). Runs inside the caller's transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    made = version < SCHEMA_VERSION
    if version == 0:
        for statement in _create_statements():
            conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.executemany("INSERT INTO ledger_info VALUES (?, ?)",
                         [("format", "xlz 科技招商台账"), ("doc", "docs/ledger.md")])
        version = SCHEMA_VERSION
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](conn)
        version += 1
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    changed = made
    for sheet in ENTRY_SHEETS:
        table = ENTRY_STORED[ENTRY_TABLES[sheet.key]]
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({quoted(table)})")}
        for col, kind in entry_columns(sheet):
            if col not in have:
                conn.execute(f"ALTER TABLE {quoted(table)} ADD COLUMN {quoted(col)} {kind}")
                changed = True
    if changed:  # a view lists its columns when made: made again to show the new ones
        _make_views(conn)


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    # A URI, so that "ro"/"rw" never creates a file by accident; isolation_level None:
    # transactions are begun and committed explicitly.
    uri = Path(os.path.abspath(path)).as_uri() + f"?mode={mode}"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS, isolation_level=None)
    return conn


def refusal(cls: type[XlzError], path: Path, exc: sqlite3.Error) -> XlzError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return make_error(cls, "ledger.locked", path)
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        reason = "文件已损坏" if "malformed" in text else "不是 SQLite 数据库"
        return make_error(cls, "ledger.not_ledger", path, reason=reason)
    if isinstance(exc, sqlite3.OperationalError) and cls is OutputError:
        return output_error(path, OSError(0, str(exc)))
    return make_error(cls, "ledger.not_ledger", path, reason=str(exc)[:80])


_SQLITE_HEADER: Final = b"SQLite format 3\x00"


def _sniff(path: Path, cls: type[XlzError]) -> bool:
    """Whether ``path`` is a new ledger (absent or 0 bytes: a first round killed before
    its commit leaves that); refuses a file that is not SQLite at all — SQLite itself
    would take a short text file for an empty database and write over it."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise make_error(cls, "ledger.not_ledger", path, reason=exc.strerror or str(exc)) \
            from exc
    if not head:
        return True
    if head != _SQLITE_HEADER:
        raise make_error(cls, "ledger.not_ledger", path, reason="不是 SQLite 数据库")
    return False


def holds_rounds(path: str | os.PathLike[str]) -> bool:
    """Whether there is a ledger at ``path`` to read earlier rounds from: False when it
    is absent or 0 bytes (what a first round killed before its commit leaves, which the
    writer takes as a new ledger too); refuses a file that is not SQLite (InputError)."""
    return not _sniff(Path(path), InputError)


def _check(conn: sqlite3.Connection, path: Path, cls: type[XlzError], *, new: bool) -> int:
    """The schema version of an existing ledger (0: a new one), or the refusal."""
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if new and app == 0 and version == 0:
        return 0  # becomes a ledger on its first round
    if app != APPLICATION_ID:
        raise make_error(cls, "ledger.not_ledger", path, reason="另一个程序的数据库")
    if version > SCHEMA_VERSION:
        raise make_error(cls, "ledger.newer", path, found=version, known=SCHEMA_VERSION)
    return int(version)


def open_for_reading(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A read-only connection to an existing ledger, or an :class:`InputError`."""
    where = Path(path)
    if not where.is_file():
        raise make_error(InputError, "ledger.not_found", where)
    if _sniff(where, InputError):
        raise make_error(InputError, "ledger.not_ledger", where, reason="空文件")
    try:
        conn = _connect(where, "ro")
        try:
            if _check(conn, where, InputError, new=False) == 0:
                raise make_error(InputError, "ledger.not_ledger", where, reason="空数据库")
        except BaseException:
            conn.close()
            raise
    except sqlite3.Error as exc:
        raise refusal(InputError, where, exc) from exc
    return conn


def open_for_writing(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A connection to the ledger at ``path`` (created when absent), checked: an xlz
    ledger of this or an older version, not held by another writer. No transaction is
    left open. Raises :class:`OutputError` (``ledger.*`` or ``output.*``)."""
    where = Path(path)
    if where.is_dir():
        raise make_error(OutputError, "ledger.not_ledger", where, reason="这是一个文件夹")
    new = _sniff(where, OutputError)
    try:
        conn = _connect(where, "rwc")
    except sqlite3.Error as exc:
        raise refusal(OutputError, where, exc) from exc
    try:
        conn.execute("PRAGMA journal_mode = DELETE")  # see the module docstring
        conn.execute("PRAGMA synchronous = FULL")
        # A round of 100,000 rows fits in memory: no page spills to the file mid-transaction.
        conn.execute("PRAGMA cache_size = -65536")
        _check(conn, where, OutputError, new=new)
        # Is another writer in? A write lock taken and given back at once.
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        conn.close()
        raise refusal(OutputError, where, exc) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def check_writable(path: str | os.PathLike[str]) -> None:
    """Refuse a ledger path before a consolidation reads anything: an existing file must
    be an xlz ledger this version can write and nobody may be writing it; a new one
    needs an existing folder. Creates nothing."""
    where = Path(path)
    if not where.exists():
        if not where.parent.is_dir():
            raise output_error(where, FileNotFoundError(2, "文件夹不存在"))
        return
    open_for_writing(where).close()

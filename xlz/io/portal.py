"""The portal's own state (``xlz serve``, docs/portal.md): 门户.sqlite in the data folder.

Tokens (each town's secret link, stored as its SHA-256 only), the admin password (scrypt
with a salt), the rounds the office opened, every upload (superseded and refused ones
too: nothing is ever deleted), the city workbooks built, login sessions and the audit
log of every state change.

Why a database of its own beside 科技招商台账.sqlite: the ledger is written once per
consolidation in one transaction by ``consolidate`` and owns its schema and migrations;
the portal writes a row per upload while clerks are uploading. Keeping them apart means
an upload never waits for a round being recorded, and neither schema knows the other.
The uploaded bytes themselves go to the ledger's content-addressed archive
(:mod:`xlz.io.ledger.archive`), so a round's files and the portal's uploads are one store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from xlz.core.errors import InputError, make_error, output_error

DB_NAME: Final = "门户.sqlite"
SCHEMA_VERSION: Final = 1
APPLICATION_ID: Final = 0x584C5A50  # "XLZP"
SESSION_HOURS: Final = 12
# scrypt's cost: ~50 ms per login on an office PC, far too slow to guess a password at.
_SCRYPT: Final = {"n": 2**14, "r": 8, "p": 1}

_SCHEMA: Final = """
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT, town TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE, issued_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE rounds (id INTEGER PRIMARY KEY AUTOINCREMENT, opened_at TEXT NOT NULL);
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT, round_id INTEGER NOT NULL, town TEXT NOT NULL,
    via TEXT NOT NULL, received_at TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,
    size INTEGER NOT NULL, archived TEXT, format TEXT, state TEXT NOT NULL,
    accepted INTEGER NOT NULL DEFAULT 0, passed INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0, warnings INTEGER NOT NULL DEFAULT 0,
    code TEXT, message TEXT, marked TEXT, findings TEXT NOT NULL DEFAULT '[]',
    reporter TEXT, phone TEXT);
CREATE INDEX uploads_round_town ON uploads (round_id, town, id);
CREATE TABLE builds (
    id INTEGER PRIMARY KEY AUTOINCREMENT, round_id INTEGER NOT NULL, built_at TEXT NOT NULL,
    city TEXT, bulletin TEXT, summary TEXT NOT NULL);
CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, expires_at TEXT NOT NULL);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, town TEXT, detail TEXT NOT NULL);
"""


def now() -> str:
    """The local time with its offset, to the second (what the pages and the log show)."""
    return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()


def token_hash(token: str) -> str:
    """Tokens are 192 random bits: a plain SHA-256 is enough to make a stolen database
    useless for submitting (no salt or stretching needed at that entropy)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n),
                             r=int(r), p=int(p))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got.hex(), digest)


@dataclass(frozen=True, slots=True)
class Upload:
    """One row of ``uploads``."""

    id: int
    round_id: int
    town: str
    via: str  # 网页 | 接口
    received_at: str
    name: str  # the clerk's file name: shown, never used as a path
    sha256: str
    size: int
    archived: str | None  # path inside the archive folder
    format: str | None
    state: str  # pending | refused | checked
    accepted: bool  # counts for its town (the latest accepted one is the one that counts)
    passed: bool  # accepted and no 错误
    errors: int
    warnings: int
    code: str | None  # the refusal's rule code
    message: str | None  # the refusal's message
    marked: str | None  # the validated, marked copy (inside the data folder)
    findings: list[dict[str, Any]]
    reporter: str | None
    phone: str | None

    @classmethod
    def of(cls, row: sqlite3.Row) -> Upload:
        data = dict(row)
        data["findings"] = json.loads(data["findings"])
        data["accepted"], data["passed"] = bool(data["accepted"]), bool(data["passed"])
        return cls(**data)


class Store:
    """The portal database of one data folder. Each call opens its own connection: the
    server answers in a thread pool, and SQLite connections stay in their thread."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DB_NAME

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def create(cls, folder: str | os.PathLike[str]) -> Store:
        store = cls(folder)
        if store.path.exists():
            raise make_error(InputError, "portal.already_initialised", store.folder)
        try:
            store.folder.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(store.path)) as conn, conn:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("INSERT INTO rounds (opened_at) VALUES (?)", (now(),))
        except OSError as exc:
            raise output_error(store.path, exc) from exc
        return store

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> Store:
        store = cls(folder)
        if not store.path.is_file():
            raise make_error(InputError, "portal.not_initialised", store.folder)
        return store

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed on success, rolled back on any error."""
        conn = sqlite3.connect(self.path, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    # ------------------------------------------------------------------ settings
    def setting(self, key: str) -> str | None:
        with self.connect() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        with self.connect() as conn:
            conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ tokens
    def issue(self, town: str) -> str:
        """A new link token for ``town``; every earlier one of the town is revoked."""
        token = secrets.token_urlsafe(24)
        at = now()
        with self.connect() as conn:
            conn.execute("UPDATE tokens SET revoked_at = ? WHERE town = ? AND revoked_at IS NULL",
                         (at, town))
            conn.execute("INSERT INTO tokens (town, token_hash, issued_at) VALUES (?, ?, ?)",
                         (town, token_hash(token), at))
        return token

    def revoke(self, town: str) -> int:
        with self.connect() as conn:
            cur = conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE town = ? AND revoked_at IS NULL",
                (now(), town))
        return cur.rowcount

    def town_of(self, token: str) -> str | None:
        """The town a live token submits for (None: unknown or revoked)."""
        if not token or len(token) > 200:
            return None
        with self.connect() as conn:
            row = conn.execute(
                "SELECT town FROM tokens WHERE token_hash = ? AND revoked_at IS NULL",
                (token_hash(token),)).fetchone()
        return None if row is None else str(row[0])

    def token_states(self) -> dict[str, tuple[str, str | None]]:
        """town → (issued_at, revoked_at) of its latest token."""
        with self.connect() as conn:
            rows = conn.execute("SELECT town, issued_at, revoked_at FROM tokens ORDER BY id")
            return {r["town"]: (r["issued_at"], r["revoked_at"]) for r in rows}

    # ------------------------------------------------------------------ sessions
    def open_session(self) -> str:
        token = secrets.token_urlsafe(32)
        expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=SESSION_HOURS)
        with self.connect() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?",
                         (dt.datetime.now(dt.timezone.utc).isoformat(),))
            conn.execute("INSERT INTO sessions VALUES (?, ?)",
                         (token_hash(token), expires.isoformat()))
        return token

    def session_valid(self, token: str | None) -> bool:
        if not token or len(token) > 200:
            return False
        with self.connect() as conn:
            row = conn.execute("SELECT expires_at FROM sessions WHERE token_hash = ?",
                               (token_hash(token),)).fetchone()
        return row is not None and row[0] > dt.datetime.now(dt.timezone.utc).isoformat()

    def close_session(self, token: str) -> None:
        with self.connect() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash(token),))

    # ------------------------------------------------------------------ rounds
    def current_round(self) -> tuple[int, str]:
        with self.connect() as conn:
            row = conn.execute("SELECT id, opened_at FROM rounds ORDER BY id DESC LIMIT 1"
                               ).fetchone()
        return int(row[0]), str(row[1])

    def open_round(self) -> int:
        with self.connect() as conn:
            cur = conn.execute("INSERT INTO rounds (opened_at) VALUES (?)", (now(),))
        return int(cur.lastrowid or 0)

    # ------------------------------------------------------------------ uploads
    def add_upload(self, *, round_id: int, town: str, via: str, name: str, sha256: str,
                   size: int, archived: str | None) -> int:
        """Recorded before the file is checked: a crash while checking leaves a row
        ``pending``, never an upload without a trace."""
        with self.connect() as conn:
            cur = conn.execute(
                "INSERT INTO uploads (round_id, town, via, received_at, name, sha256, size,"
                " archived, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                (round_id, town, via, now(), name, sha256, size, archived))
        return int(cur.lastrowid or 0)

    def finish_upload(self, upload_id: int, **fields: Any) -> None:
        allowed = {"format", "state", "accepted", "passed", "errors", "warnings", "code",
                   "message", "marked", "findings", "reporter", "phone"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"unknown upload fields: {sorted(set(fields) - allowed)}")
        if "findings" in fields:
            fields["findings"] = json.dumps(fields["findings"], ensure_ascii=False)
        assignments = ", ".join(f"{key} = ?" for key in fields)
        with self.connect() as conn:
            conn.execute(f"UPDATE uploads SET {assignments} WHERE id = ?",
                         (*fields.values(), upload_id))

    def uploads(self, round_id: int | None = None, town: str | None = None) -> list[Upload]:
        """Oldest first."""
        sql, args = "SELECT * FROM uploads WHERE 1", list[Any]()
        if round_id is not None:
            sql, args = sql + " AND round_id = ?", [*args, round_id]
        if town is not None:
            sql, args = sql + " AND town = ?", [*args, town]
        with self.connect() as conn:
            return [Upload.of(r) for r in conn.execute(sql + " ORDER BY id", args)]

    def upload(self, upload_id: int) -> Upload | None:
        with self.connect() as conn:
            row = conn.execute("SELECT * FROM uploads WHERE id = ?", (upload_id,)).fetchone()
        return None if row is None else Upload.of(row)

    # ------------------------------------------------------------------ builds
    def add_build(self, round_id: int, city: str | None, bulletin: str | None,
                  summary: dict[str, Any]) -> int:
        with self.connect() as conn:
            cur = conn.execute(
                "INSERT INTO builds (round_id, built_at, city, bulletin, summary)"
                " VALUES (?, ?, ?, ?, ?)",
                (round_id, now(), city, bulletin, json.dumps(summary, ensure_ascii=False)))
        return int(cur.lastrowid or 0)

    def builds(self, round_id: int) -> list[dict[str, Any]]:
        with self.connect() as conn:
            rows = conn.execute("SELECT * FROM builds WHERE round_id = ? ORDER BY id DESC",
                                (round_id,))
            return [{**dict(r), "summary": json.loads(r["summary"])} for r in rows]

    def build(self, build_id: int) -> dict[str, Any] | None:
        with self.connect() as conn:
            row = conn.execute("SELECT * FROM builds WHERE id = ?", (build_id,)).fetchone()
        return None if row is None else dict(row)

    # ------------------------------------------------------------------ audit
    def audit(self, actor: str, action: str, town: str | None = None,
              **detail: Any) -> None:
        """Every state change: who (``office``, ``town:<code>``, ``cli``), what, for whom."""
        with self.connect() as conn:
            conn.execute("INSERT INTO audit (at, actor, action, town, detail)"
                         " VALUES (?, ?, ?, ?, ?)",
                         (now(), actor, action, town,
                          json.dumps(detail, ensure_ascii=False, default=str)))

    def audit_log(self, limit: int = 1000) -> list[dict[str, Any]]:
        with self.connect() as conn:
            rows = conn.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,))
            return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

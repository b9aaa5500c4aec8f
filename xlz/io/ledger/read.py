"""Reading the ledger: its rounds and tables as plain rows or DataFrames, one round as
the city workbook and the bulletin need it (:class:`Round`), and the archived bytes.

Every call opens the database read-only and closes it again: a ``Ledger`` holds no
file open between calls (Windows would otherwise refuse the next consolidation's
rename of a copied ledger), and a round recorded meanwhile is seen by the next call.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xlz.core.errors import InputError, make_error
from xlz.core.roundrecord import ENTRY_TABLES, PeriodSource
from xlz.io.ledger.archive import archive_folder
from xlz.io.ledger.schema import (
    ENTRY_STORED,
    SHOWN_TABLES,
    entry_select,
    open_for_reading,
    quoted,
    refusal,
)

if TYPE_CHECKING:
    import pandas as pd

TABLES = ("rounds", *SHOWN_TABLES)


def parse_period(value: str | dt.date) -> dt.date:
    """A period as a date: a :class:`datetime.date` or ``YYYY-MM-DD`` text
    (``ledger.bad_period`` otherwise)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise make_error(InputError, "ledger.bad_period", None, value=value) from None


@dataclass(slots=True)
class Round:
    """One recorded round, as plain rows (one dict per row, columns as docs/ledger.md
    names them): ``towns`` (state, contact), ``progress`` (target, done, rate per town
    and metric: only towns whose file counted have any), ``files``, ``projects``,
    ``carriers``, ``activities`` (the accepted rows with their provenance) and
    ``findings``. ``number`` is the round's place among the ledger's periods."""

    number: int
    period: dt.date
    period_source: PeriodSource
    recorded_at: str
    revision: int
    plan_id: str
    towns: list[dict[str, Any]] = field(default_factory=list)
    progress: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    carriers: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def done(self, town: str, metric: str) -> int | None:
        """What ``town`` (code) had done of ``metric`` in this round; ``None`` when its
        file did not count (未报送 / 未通过校验) — never 0 for a missing figure."""
        for p in self.progress:
            if p["town"] == town and p["metric"] == metric:
                return int(p["done"])
        return None

    def state(self, town: str) -> str | None:
        """The town's state (已报送 / 未报送 / 未通过校验), ``None`` when not in this round."""
        return next((t["state"] for t in self.towns if t["town"] == town), None)


class Ledger:
    """A ledger of consolidation rounds (``科技招商台账.sqlite``, docs/ledger.md), read
    only. ``Ledger(path)`` raises :class:`xlz.InputError` when there is no ledger there
    (``ledger.not_found``), it is not one (``ledger.not_ledger``) or a newer xlz made it
    (``ledger.newer``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        with self._connection():
            pass

    def __repr__(self) -> str:
        return f"Ledger({os.fspath(self.path)!r})"

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn = open_for_reading(self.path)
        try:
            yield conn
        except sqlite3.Error as exc:
            raise refusal(InputError, self.path, exc) from exc
        finally:
            conn.close()

    def _select(self, sql: str | Callable[[sqlite3.Connection], str],
                args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._connection() as conn:
            cursor = conn.execute(sql if isinstance(sql, str) else sql(conn), args)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]

    # --------------------------------------------------------------------- rounds

    def periods(self) -> list[dt.date]:
        """Every recorded period, oldest first."""
        return [dt.date.fromisoformat(r["period"])
                for r in self._select("SELECT period FROM rounds ORDER BY period")]

    def rows(self, table: str, period: str | dt.date | None = None) -> list[dict[str, Any]]:
        """A table's rows as dicts (no pandas needed), each with its round's ``period``;
        only ``period``'s when given. ``table``: ``rounds``, ``files``, ``towns``,
        ``progress``, ``projects``, ``carriers``, ``activities`` or ``findings``."""
        if table not in TABLES:
            raise ValueError(f"台账中没有表“{table}”，可用的表：{'、'.join(TABLES)}")
        if table == "rounds":
            sql = ("SELECT (SELECT count(*) FROM rounds o WHERE o.period <= r.period) AS number, "
                   "r.* FROM rounds r")
            where, order = " WHERE r.period = ?", " ORDER BY r.period"
        elif table in ENTRY_STORED:
            # The view's columns, from its stored table directly: a view has no rowid, and
            # rowid is the rows' order (file by file, as the city workbook lists them).
            def entry(conn: sqlite3.Connection) -> str:
                return (entry_select(conn, table, lead="r.period AS period")
                        + " JOIN rounds r ON r.id = x.round_id" + tail)
            tail = (" WHERE r.period = ?" if period is not None else "") + \
                " ORDER BY r.period, x.rowid"
            args = () if period is None else (parse_period(period).isoformat(),)
            return self._select(entry, args)
        else:
            key = {"files": "t.seq", "findings": "t.seq", "towns": "t.rowid",
                   "progress": "t.rowid"}.get(table, "t.rowid")
            sql = (f"SELECT r.period AS period, t.* FROM {quoted(table)} t "
                   "JOIN rounds r ON r.id = t.round_id")
            where, order = " WHERE r.period = ?", f" ORDER BY r.period, {key}"
        if period is None:
            return self._select(sql + order)
        return self._select(sql + where + order, (parse_period(period).isoformat(),))

    def table(self, table: str, period: str | dt.date | None = None) -> pd.DataFrame:
        """:meth:`rows` as a DataFrame (needs the ``pandas`` extra)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "Ledger 的表格（DataFrame）需要 pandas，请先安装：pip install \"xlz[pandas]\""
                "（或 pip install pandas）；不装 pandas 也可用 Ledger.rows() 取得同样的数据。"
            ) from exc
        rows = self.rows(table, period)
        return pd.DataFrame.from_records(rows) if rows else pd.DataFrame()

    def rounds(self) -> pd.DataFrame:
        """Every round, oldest first: number, period, where the period came from, when it
        was recorded (and first recorded), revision, plan, city workbook, exit status."""
        return self.table("rounds")

    def round(self, period: str | dt.date | None = None) -> Round:
        """The round of ``period`` (default: the latest), whole; ``ledger.no_round``
        (:class:`xlz.InputError`) when there is none."""
        periods = self.periods()
        if period is None:
            if not periods:
                raise make_error(InputError, "ledger.no_round", self.path, period="任何日期",
                                 known="无")
            wanted = periods[-1]
        else:
            wanted = parse_period(period)
        head = self.rows("rounds", wanted)
        if not head:
            known = "、".join(p.isoformat() for p in periods) or "无"
            raise make_error(InputError, "ledger.no_round", self.path,
                             period=wanted.isoformat(), known=known)
        r = head[0]
        out = Round(int(r["number"]), wanted, r["period_source"], r["recorded_at"],
                    int(r["revision"]), r["plan_id"])
        for table in ("towns", "progress", "files", *ENTRY_TABLES.values(), "findings"):
            setattr(out, table, self.rows(table, wanted))
        return out

    def previous(self, period: str | dt.date) -> Round | None:
        """The round before ``period`` (for 进度对比), ``None`` when it is the first."""
        wanted = parse_period(period)
        earlier = [p for p in self.periods() if p < wanted]
        return self.round(earlier[-1]) if earlier else None

    def contacts(self, before: str | dt.date | None = None) -> dict[str, str]:
        """Town code → whom to call: from each town's latest round (before ``before``,
        when given) in which its contact was known."""
        sql = ("SELECT t.town, t.contact FROM towns t JOIN rounds r ON r.id = t.round_id "
               "WHERE t.contact IS NOT NULL")
        args: tuple[Any, ...] = ()
        if before is not None:
            sql += " AND r.period < ?"
            args = (parse_period(before).isoformat(),)
        out: dict[str, str] = {}
        for row in self._select(sql + " ORDER BY r.period", args):
            out[row["town"]] = row["contact"]
        return out

    def archived(self, sha256: str) -> Path | None:
        """Where the exact bytes of the input with this SHA-256 are kept, or ``None``."""
        found = self._select("SELECT archived FROM files WHERE sha256 = ? AND archived IS NOT "
                             "NULL LIMIT 1", (sha256,))
        if not found:
            return None
        path = archive_folder(self.path) / found[0]["archived"]
        return path if path.is_file() else None

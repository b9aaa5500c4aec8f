"""The round a consolidation stands in (issue 12): its period, the earlier rounds of the
ledger as plain data (:class:`xlz.core.rounds.RoundSnapshot`) and the contacts the
ledger knows, for the city workbook's 进度对比, trend chart and list of who is behind.

The ledger is only read here; recording the round is :mod:`xlz.ops.recording`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from xlz.core.rounds import RoundContext, RoundSnapshot, snapshot_from_rows
from xlz.io.ledger.schema import holds_rounds


def round_of(period: dt.date, source: str, ledger: Path | None,
             extra: Sequence[RoundSnapshot] = ()) -> RoundContext:
    """The round at ``period``: the earlier rounds are the ledger's (when there is one
    yet) and ``extra`` (plain data handed in by a caller without a ledger)."""
    history = list(extra)
    contacts: dict[str, str] = {}
    if ledger is not None and holds_rounds(ledger):
        from xlz.io.ledger.read import Ledger

        book = Ledger(ledger)
        earlier = [p for p in book.periods() if p < period]
        for i, p in enumerate(earlier):
            # The projects only of the round 进度对比 compares with: the trend needs the
            # figures of every round, not every row of every round.
            projects = book.rows("projects", p) if i == len(earlier) - 1 else []
            history.append(snapshot_from_rows(p, book.rows("towns", p),
                                              book.rows("progress", p), projects))
        contacts = book.contacts(before=period)
    return RoundContext(period, source, tuple(history), contacts)

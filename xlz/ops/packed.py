"""Records across a process boundary, packed as columns and unpacked on first use.

A consolidation worker sends ~200 records per file to the parent; as pickled dicts that
is two dicts of ~20 entries per record, built on one side and rebuilt on the other
(≈ 3 ms per file, a sixth of the work). Most of them are never opened in the parent:
the worker has already counted them and written their 项目信息库 rows
(:mod:`xlz.ops.pool`). So a sheet's records travel as one column per key, and come
back as :class:`~xlz.core.validator.ColumnRecord`, as the validator made them: each
record's ``raw`` and ``values`` dicts are rebuilt only when something reads them —
a superseded file's diff, a rejected file's 问题清单 lines, an API user. Everything
else about a :class:`~xlz.core.validator.Record` is unchanged.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Sequence
from typing import Any

from xlz.core.cells import CellValue
from xlz.core.consolidation import Row
from xlz.core.entries import EntrySheet, Kind
from xlz.core.roundrecord import dates_as_text, entry_block, entry_rows
from xlz.core.validator import ColumnRecord, Record, RecordColumns

Packed = tuple[str, list[int], list[int], list[int], tuple[str, ...], list[list[Any]],
               tuple[str, ...], list[list[Any]]]


def pack(records: Sequence[Record]) -> Packed | list[Record]:
    """One sheet's records as columns; the records themselves when they do not share
    one set of keys (never the case for what the validator makes, but then nothing is
    lost)."""
    if not records:
        return list(records)
    first = records[0]
    raw_keys, value_keys = tuple(first.raw), tuple(first.values)
    raw_set, value_set = first.raw.keys(), first.values.keys()
    for r in records:
        if r.sheet != first.sheet or r.raw.keys() != raw_set or r.values.keys() != value_set:
            return list(records)
    raws = [r.raw for r in records]
    values = [r.values for r in records]
    return pack_columns(records, raw_keys,
                        [list(map(operator.itemgetter(k), raws)) for k in raw_keys],
                        value_keys, [list(map(operator.itemgetter(k), values)) for k in value_keys])


def pack_columns(records: Sequence[Record], raw_keys: tuple[str, ...],
                 raw_columns: list[list[CellValue]], value_keys: tuple[str, ...],
                 value_columns: list[list[Any]]) -> Packed:
    """:func:`pack` from columns already made (by the validator, for these records)."""
    return (records[0].sheet, [r.row for r in records], [r.errors for r in records],
            [r.warnings for r in records], raw_keys, list(map(_days, raw_columns)),
            value_keys, list(map(_days, value_columns)))


class _Days(list):  # type: ignore[type-arg]
    """A column of dates (and empty cells) as their day numbers (date.toordinal): a
    date pickles ~50 times slower than an int (a reduce call and a bytes object each),
    and a sheet of 200 records has two such columns, as typed and as parsed."""

    __slots__ = ()


_DATES_ONLY = frozenset({dt.date})
_DATE_KINDS = frozenset({dt.date, type(None)})


def _days(column: list[Any]) -> list[Any]:
    if not column or (type(column[0]) is not dt.date and type(column[-1]) is not dt.date):
        return column  # no date at either end: left as it is (only ever slower)
    kinds = set(map(type, column))  # exactly dates: a datetime stays as it is
    if kinds == _DATES_ONLY:
        return _Days(map(dt.date.toordinal, column))
    if kinds == _DATE_KINDS:
        return _Days([None if d is None else d.toordinal() for d in column])
    return column


def _dates(column: list[Any], made: dict[int, dt.date]) -> list[Any]:
    """A column as :func:`_days` had it; ``made``: the dates made so far (a date repeats
    down a column and across the typed and parsed columns)."""
    if type(column) is not _Days:
        return column
    for n in set(column).difference(made):
        if n is not None:
            made[n] = dt.date.fromordinal(n)
    return list(map(made.get, column))


def unpack(packed: Packed | list[Record]) -> list[Record]:
    if isinstance(packed, list):
        return packed
    sheet, rows, errors, warnings, raw_keys, raw_columns, value_keys, value_columns = packed
    made: dict[int, dt.date] = {}
    store = RecordColumns(raw_keys, [_dates(c, made) for c in raw_columns], value_keys,
                          [_dates(c, made) for c in value_columns])
    return [ColumnRecord(sheet, row, store, i, e, w)
            for i, (row, e, w) in enumerate(zip(rows, errors, warnings, strict=True))]


def entry_rows_from_columns(sheet: EntrySheet, rows: Sequence[Row], seq: dict[int, int]
                            ) -> list[tuple[Any, ...]]:
    """:func:`xlz.core.roundrecord.entry_rows`, the same rows in the same order, taking
    the values of records that came packed straight from their columns instead of
    rebuilding each record's ``values`` dict first (100,000 dicts of ~20 entries in a
    city run: 0.65 → 0.40 s of the ledger thread's CPU, which shares the GIL with the
    city workbook; bench/README.md). Rows of other records, and rows with 提醒 (whose
    unreadable text is kept), go through ``entry_rows`` itself."""
    keys = [c.key for c in sheet.input_columns]
    dates = [i for i, c in enumerate(sheet.input_columns) if c.kind is Kind.DATE]
    out: list[tuple[Any, ...]] = []
    for _, run in itertools.groupby(rows, key=lambda r: id(r.file)):  # file by file
        group = list(run)
        records = [r.record for r in group]
        store = _store_of(records)
        if store is None:
            out += entry_rows(sheet, group, seq)
            continue
        first = group[0]
        prefix = (first.town.code, first.town.short, seq[id(first.file)], first.record.sheet)
        where = {k: j for j, k in enumerate(store.value_keys)}
        picks = [r.index for r in records]  # type: ignore[attr-defined]
        nothing = [None] * len(records)
        columns = [nothing if k not in where else
                   [store.value_columns[where[k]][i] for i in picks] for k in keys]
        for row, record, cells in zip(group, records, zip(*columns, strict=True), strict=True):
            if record.warnings:
                out += entry_rows(sheet, [row], seq)
                continue
            if dates:
                cells = dates_as_text(cells, dates)
            out.append((*prefix, record.row, f"A{record.row}", *cells, None))
    return out


def entry_block_from_columns(sheet: EntrySheet, records: Sequence[Record]
                             ) -> list[Sequence[Any] | None]:
    """:func:`xlz.core.roundrecord.entry_block` of one file's records, taking the values
    of records that came packed straight from their columns (no ``values`` dict is
    rebuilt): the same columns."""
    store = _store_of(records)
    if store is None:
        return entry_block(sheet, records)
    picks = [r.index for r in records]  # type: ignore[attr-defined]
    whole = picks == list(range(len(store.value_columns[0]))) if store.value_columns \
        else False
    where = {k: j for j, k in enumerate(store.value_keys)}
    nothing = [None] * len(records)
    columns = [nothing if c.key not in where else
               store.value_columns[where[c.key]] if whole else
               [store.value_columns[where[c.key]][i] for i in picks]
               for c in sheet.input_columns]
    return entry_block(sheet, records, columns)


def _store_of(records: Sequence[Record]) -> RecordColumns | None:
    """The one column store, its values parsed, all of ``records`` read from, or None."""
    first = records[0] if records else None
    if type(first) is not ColumnRecord:
        return None
    store = first.columns
    if store is None or not store.parsed or any(type(r) is not ColumnRecord or r.columns is not store
                                       for r in records):
        return None
    return store

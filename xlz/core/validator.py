"""The validator over plain values: rows of cell values in, a report out.

Every engine (fast batch reader, in-place writer, xlwings) turns a workbook into
:class:`SheetValues` and calls :func:`validate_values`. Nothing here knows about
openpyxl or xlwings.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from xlz.core import normalize as nz
from xlz.core.catalogue import RULES, Check, Rule
from xlz.core.cells import CELL_TEXT_LIMIT, CellValue, cell_ref, display
from xlz.core.entries import ENTRY_SHEETS, Column, EntrySheet, Kind
from xlz.core.findings import Finding, Report
from xlz.core.guideinfo import GuideInfo, read_guide
from xlz.core.layout import GUIDE, lacks
from xlz.core.plan import Plan
from xlz.core.text import all_clean, all_keys, clean_text, key_head, match_key

_HEADER_SEARCH_ROWS = 10  # the header is row 1 in our templates; tolerate a few title rows
_THING = {"project": "项目", "carrier": "载体", "activity": "活动"}


@dataclass(frozen=True, slots=True)
class SheetValues:
    """The used range of one sheet as plain values.

    ``rows[0]`` is worksheet row ``first_row`` (1-based); ``rows[i][0]`` is column
    ``first_col`` (0-based). Rows may be ragged.
    """

    name: str
    rows: Sequence[Sequence[CellValue]]
    first_row: int = 1
    first_col: int = 0

    def cell(self, row: int, col: int) -> CellValue:
        """The value at worksheet ``row`` (1-based) and column ``col`` (0-based); None
        outside the used range (or past a ragged row's end)."""
        i, j = row - self.first_row, col - self.first_col
        if 0 <= i < len(self.rows) and 0 <= j < len(self.rows[i]):
            return self.rows[i][j]
        return None


@dataclass(slots=True)
class Record:
    """One entry row: what the clerk typed and what it means."""

    sheet: str
    row: int  # worksheet row, 1-based
    raw: dict[str, CellValue]
    values: dict[str, Any]  # parsed; None when empty or unreadable
    errors: int = 0
    warnings: int = 0

    @property
    def ok(self) -> bool:
        return self.errors == 0


class RecordColumns:
    """The cells of a sheet's records, column by column: record ``i``'s ``raw`` is
    ``raw_keys[j]: raw_columns[j][i]`` and its ``values`` ``value_keys[j]:
    value_columns[j][i]``; ``parsed``: whether the values are there yet (the validator
    reads the cells before it parses them). What :class:`ColumnRecord` makes its dicts
    of."""

    __slots__ = ("early", "parsed", "raw_columns", "raw_keys", "value_columns", "value_keys")

    def __init__(self, raw_keys: tuple[str, ...], raw_columns: list[list[CellValue]],
                 value_keys: tuple[str, ...] | None = None,
                 value_columns: list[list[Any]] | None = None) -> None:
        self.raw_keys = raw_keys
        self.raw_columns = raw_columns
        self.parsed = value_keys is not None
        self.value_keys: tuple[str, ...] = value_keys or ()
        self.value_columns: list[list[Any]] = value_columns or []
        self.early = False  # a record's values were read before they were parsed

    def parse(self, value_keys: tuple[str, ...], value_columns: list[list[Any]]) -> None:
        """The values, once parsed."""
        self.value_keys, self.value_columns, self.parsed = value_keys, value_columns, True


class ColumnRecord(Record):
    """A :class:`Record` whose ``raw`` and ``values`` dicts are made from its sheet's
    columns (``columns``, at ``index``) when first read, then kept (and changed, if
    changed) like any record's: a consolidation moves and counts most records through
    their columns and never opens the dicts of most of them. It equals, and pickles
    as, the plain Record it stands for. (``raw`` and ``values`` given, as
    :func:`dataclasses.replace` gives them, it is a record of those dicts.)"""

    __slots__ = ("columns", "index")

    def __init__(self, sheet: str, row: int, columns: RecordColumns | None = None,
                 index: int = 0, errors: int = 0, warnings: int = 0,
                 raw: dict[str, CellValue] | None = None,
                 values: dict[str, Any] | None = None) -> None:
        # Record.__init__ is skipped on purpose: raw and values stay unset until read.
        self.sheet = sheet
        self.row = row
        self.errors = errors
        self.warnings = warnings
        self.columns = columns
        self.index = index
        if columns is None:
            self.raw = {} if raw is None else raw
            self.values = {} if values is None else values

    def __getattr__(self, name: str) -> Any:
        # Called only when normal look-up fails, i.e. for a slot not yet filled.
        if name != "raw" and name != "values":
            raise AttributeError(name)
        columns, i = self.columns, self.index
        if columns is None:  # a record of given dicts, one of them deleted
            raise AttributeError(name)
        if name == "raw":
            self.raw = {k: c[i] for k, c in
                        zip(columns.raw_keys, columns.raw_columns, strict=True)}
            return self.raw
        if not columns.parsed:  # not yet: an empty dict, as a fresh Record's
            columns.early = True
            self.values = {}
        else:
            self.values = {k: c[i] for k, c in
                           zip(columns.value_keys, columns.value_columns, strict=True)}
        return self.values

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.sheet, self.row, self.raw, self.values, self.errors, self.warnings) == \
            (other.sheet, other.row, other.raw, other.values, other.errors, other.warnings)

    __hash__ = None  # type: ignore[assignment]  # as Record's: mutable, compared by value

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent on (to a process, by an API user): as the plain Record it stands for.
        return (Record, (self.sheet, self.row, self.raw, self.values, self.errors,
                         self.warnings))


@dataclass(slots=True)
class Validation:
    """What :func:`validate_values` found: the report and the records of each entry sheet."""

    report: Report
    records: dict[str, list[Record]] = field(default_factory=dict)  # by sheet key
    # 填报说明's 填报信息 (standard 2); None when the sheets given had no 填报说明.
    guide: GuideInfo | None = None
    header_rows: dict[str, int] = field(default_factory=dict)  # by sheet key
    columns: dict[str, dict[str, int]] = field(default_factory=dict)  # sheet key → col key → idx

    def accepted(self, sheet_key: str) -> list[Record]:
        return [r for r in self.records.get(sheet_key, []) if r.ok]


class SheetColumns(NamedTuple):
    """One sheet's records as the validator made them, column by column: record ``i``
    has ``raw[raw_keys[j]] == raw_columns[j][i]`` and ``values[value_keys[j]] ==
    value_columns[j][i]``. For callers that move or render many records at once (a
    consolidation worker) and would otherwise read every dict back."""

    raw_keys: tuple[str, ...]
    raw_columns: list[list[CellValue]]
    value_keys: tuple[str, ...]
    value_columns: list[list[Any]]


Parser = Callable[[CellValue], Any]
_BLANK: tuple[str, Any] = ("blank", None)
_INVALID: tuple[str, Any] = ("invalid", None)
_NEGATIVE: tuple[str, Any] = ("negative", None)
_OK_NONE: tuple[str, Any] = ("ok", None)  # an empty cell in an optional column
# Text longer than an Excel cell holds (CELL_TEXT_LIMIT): Excel cuts it on opening, and
# the city workbook could only cut it too; refused with workbook.cell.too_long instead.
_OVER_CELL: tuple[str, Any] = ("over_cell", None)
_NONE_TYPE = type(None)
_STATE = operator.itemgetter(0)
_PARSED = operator.itemgetter(1)
# A cell that needs a finding: its column, key, raw value, state and parsed value.
_Problem = tuple[Column, str, CellValue, str, Any]
# (type, value) → (state, parsed): what a value means in one column.
_Cache = dict[tuple[type, CellValue], tuple[str, Any]]

# Values of these kinds repeat across files (row numbers, list choices, counts, dates):
# with one PlanCache for a batch, a 500-file inbox judges "已签约" or 2023-03-05 once.
# Free text (names, telephone numbers) does not repeat across towns and is cached per
# sheet only.
_SHARED_KINDS = frozenset({Kind.CHOICE, Kind.INTEGER, Kind.NUMBER, Kind.MONEY, Kind.AREA,
                           Kind.DATE, Kind.MONTH})
_SHARED_LIMIT = 20_000  # per column; a column past it starts again (memory stays bounded)


class PlanCache:
    """What checking against one plan can keep from one workbook to the next: each
    sheet's parsers and rules, and what each repeating value means in each column.

    An outcome depends on the column and, for choices, on the plan's lists, hence one
    cache per plan. Pass the same cache to every :func:`validate_values` call of a batch;
    without one, each call starts afresh (the same findings, more work).

    ``columnwise=False`` checks record by record, every cell on its own, instead of a
    column at a time (each distinct value once): the same findings and values, slower;
    the reference that tests hold the column-wise way to."""

    __slots__ = ("columnwise", "outcomes", "plan", "setups")

    def __init__(self, plan: Plan, *, columnwise: bool = True) -> None:
        self.plan = plan
        self.columnwise = columnwise
        self.outcomes: dict[tuple[str, str], _Cache] = {}  # by (sheet key, column key)
        self.setups: dict[str, _Setup] = {}  # by sheet key


@dataclass(frozen=True, slots=True)
class _Setup:
    """A sheet's parsers and rules under one plan: the same for every file."""

    parsers: dict[str, Parser]
    columns: dict[str, Column]
    rules: dict[str, Rule]
    cross_when: list[tuple[Rule, tuple[tuple[str, frozenset[str]], ...]]]
    in_year: Rule | None


def _setup(sheet: EntrySheet, cache: PlanCache) -> _Setup:
    plan = cache.plan
    found = cache.setups.get(sheet.key)
    if found is None:
        rules = {r.code: r for r in RULES.values() if r.sheet == sheet.name}
        cross = [r for r in rules.values() if r.check in (Check.REQUIRED_IF, Check.EXPECTED_IF)]
        found = cache.setups[sheet.key] = _Setup(
            {c.key: _parser(c, plan) for c in sheet.input_columns},
            {c.key: c for c in sheet.columns}, rules,
            [(r, tuple((c.field, frozenset(c.values)) for c in r.when)) for r in cross],
            rules.get(f"{sheet.key}.signed.in_year"))
    return found


def _parser(col: Column, plan: Plan) -> Parser:
    kind = col.kind
    if kind is Kind.CHOICE:
        assert col.choices is not None
        index = nz.choice_index(plan.choices(col.choices))
        return lambda v: nz.parse_choice(v, index)
    if kind is Kind.INTEGER:
        return nz.parse_count
    if kind is Kind.NUMBER:
        return nz.parse_number
    if kind is Kind.MONEY:
        return lambda v: nz.parse_number(v, wan_yuan=True)
    if kind is Kind.AREA:
        return nz.parse_area
    if kind is Kind.DATE:
        return nz.parse_date
    if kind is Kind.MONTH:
        return nz.parse_month
    if kind is Kind.PHONE:
        def phone(v: CellValue) -> Any:
            text = nz.parse_text(v)
            return text if text is None or nz.phone_ok(text) else nz.INVALID
        return phone
    return nz.parse_text


def _find_header_row(sheet: EntrySheet, values: SheetValues) -> tuple[int, dict[str, int]] | None:
    """Locate the header row and map column keys to 0-based indexes into a row."""
    wanted = {match_key(c.header): c.key for c in sheet.columns}
    # Entries (names, …) below the header: most are told apart by their first character.
    heads = {k[:1] for k in wanted}
    best: tuple[int, dict[str, int]] | None = None
    for offset, row in enumerate(values.rows[:_HEADER_SEARCH_ROWS]):
        found: dict[str, int] = {}
        for idx, cell in enumerate(row):
            if isinstance(cell, str) and key_head(cell) in heads:
                key = wanted.get(match_key(cell))
                if key is not None and key not in found:
                    found[key] = idx
        if len(found) > (len(best[1]) if best else 1):
            best = (offset, found)
    return best


class _SheetChecker:
    def __init__(self, sheet: EntrySheet, cache: PlanCache, values: SheetValues,
                 report: Report, source: str | None, standard: str | None = None) -> None:
        self.sheet = sheet
        self.standard = standard
        self.plan = cache.plan
        self.cache = cache
        self.values = values
        self.report = report
        self.source = source
        setup = _setup(sheet, cache)
        self.parsers = setup.parsers
        self.columns = setup.columns
        self.rules = setup.rules
        self.input_columns = sheet.input_columns
        self.cross_when = setup.cross_when
        self.in_year = setup.in_year
        self.col_index: dict[str, int] = {}
        # The columns check_cells reads and makes (see SheetColumns).
        self.raw_columns: dict[str, list[CellValue]] = {}
        self.value_columns: tuple[tuple[str, ...], list[list[Any]]] = ((), [])
        self._cell_plan: list[tuple[Column, str, _Cache | None]] | None = None
        # The records read_records made last, and their cells by column key.
        self._read: tuple[list[Record], dict[str, list[CellValue]]] = ([], {})
        self._store: RecordColumns | None = None  # the columns of those records
        self._checked: list[Record] | None = None  # the records value_columns are of

    def finding(self, rule: Rule, record: Record | None, col_key: str | None, value: CellValue,
                **extra: Any) -> None:
        header = self.columns[col_key].header if col_key else None
        row = record.row if record else None
        cell = None
        if row is not None and col_key is not None and col_key in self.col_index:
            cell = cell_ref(row, self.values.first_col + self.col_index[col_key])
        address = f"{self.sheet.name}!{cell}" if cell else self.sheet.name
        shown = display(value) or "（空白）"
        if len(shown) > 40:  # a message quotes the start of a long value, not all of it
            shown = shown[:40] + "…"
        message = rule.format(address=address, header=header, value=shown, **extra)
        self.report.add(Finding(rule.code, rule.severity, self.sheet.name, cell, value, message,
                                row, header, self.source))
        if record is not None:
            if rule.severity.value == "错误":
                record.errors += 1
            else:
                record.warnings += 1

    def locate_columns(self) -> int | None:
        located = _find_header_row(self.sheet, self.values)
        if located is None:
            self.report.add(_structure("workbook.column.missing", self.sheet.name, None,
                                       self.source, header=self.sheet.input_columns[1].header,
                                       header_row=self.values.first_row))
            return None
        offset, found = located
        self.col_index = found
        header_row = self.values.first_row + offset
        for col in self.sheet.input_columns:
            # A column newer than the file's standard is simply not there (not a finding).
            if col.key not in found and not lacks(self.standard, f"{self.sheet.key}.{col.key}"):
                self.report.add(_structure("workbook.column.missing", self.sheet.name, None,
                                           self.source, header=col.header, header_row=header_row))
        return offset

    def read_records(self, offset: int) -> list[Record]:
        located = list(self.col_index.items())
        keys = [key for key, _ in located]
        at = {key: j for j, key in enumerate(keys)}
        # Where in a record's located cells the columns that make a row an entry are
        # (a column not located is empty on every row).
        significant = [at[c.key] for c in self.sheet.input_columns
                       if c.key != "seq" and c.key in at]
        name, first_row = self.sheet.name, self.values.first_row
        # One C-level call per row picks the located cells (most rows are that wide).
        pick = operator.itemgetter(*(idx for _, idx in located)) if len(located) > 1 else None
        reach = max((idx for _, idx in located), default=-1)
        rows = self.values.rows[offset + 1:]
        if pick is not None and rows and min(map(len, rows)) > reach:
            every: list[tuple[CellValue, ...]] = list(map(pick, rows))  # the usual sheet
        else:
            every = [pick(row) if pick is not None and len(row) > reach else
                     tuple([row[idx] if idx < len(row) else None for _, idx in located])
                     for row in rows]
        kept = _entry_rows(every, significant)
        picked = every if len(kept) == len(every) else [every[i] for i in kept]
        start = first_row + offset + 1
        # The same cells column by column, for check_cells.
        columns = zip(*picked, strict=True) if picked else ([] for _ in keys)
        read = {key: list(column) for key, column in zip(keys, columns, strict=True)}
        records: list[Record]
        if self.cache.columnwise:
            # Records of the columns: their dicts are made only if something reads them.
            store = self._store = RecordColumns(tuple(keys), list(read.values()))
            records = [ColumnRecord(name, start + i, store, j) for j, i in enumerate(kept)]
        else:
            # Every cells tuple has one value per key (strict zips cost a quarter more).
            records = [Record(name, start + i, dict(zip(keys, cells, strict=False)), {})
                       for i, cells in zip(kept, picked, strict=True)]
        self._read = (records, read)
        return records

    def _judge(self, col: Column, raw: CellValue) -> tuple[str, Any]:
        """What one non-empty cell means: ("ok" | "blank" | "invalid" | "negative" |
        "too_long" | "over_cell", parsed). Depends on the column and the value only."""
        if raw.__class__ is str and len(raw) > CELL_TEXT_LIMIT:
            return _OVER_CELL
        if raw.__class__ is str and col.kind is Kind.TEXT:
            # Free text is mostly unique (names): the short way through what is_blank,
            # parse_text and the checks below do with a string.
            if not raw.strip().strip("\u200b\ufeff").strip():
                return _BLANK
            text = clean_text(raw) or None
            if text is not None and col.max_length is not None and len(text) > col.max_length:
                return "too_long", text
            return "ok", text
        if nz.is_blank(raw):
            return _BLANK
        parsed = self.parsers[col.key](raw)
        if parsed is nz.INVALID:
            return _INVALID
        if isinstance(parsed, float | int) and not isinstance(parsed, bool) and parsed < 0:
            return _NEGATIVE
        if col.max_length is not None and isinstance(parsed, str) and \
                len(parsed) > col.max_length:
            return "too_long", parsed
        return "ok", parsed

    def check_cells(self, records: list[Record]) -> dict[int, list[_Problem]]:
        """Parse every cell into ``record.values``; return the cells that need a
        finding, by record index (reported row by row in :meth:`run`).

        Column by column, because clerks repeat values (categories, statuses, counts)
        down a column: each distinct value is judged once (see :meth:`_judge_column`)."""
        problems: dict[int, list[_Problem]] = {}
        keys: list[str] = []
        parsed_columns: list[list[Any]] = []
        nothing = [None] * len(records)
        columnwise = self.cache.columnwise
        read = self._read[1] if self._read[0] is records else None
        for col, key, cache in self.cell_plan():
            keys.append(key)
            if cache is None:  # the column is not in the sheet
                parsed_columns.append(nothing)
                continue
            raws = self.raw_columns[key] = read[key] if read is not None else \
                [r.raw[key] for r in records]
            judged = self._judge_column(col, cache, raws) if columnwise else None
            if judged is None:
                parsed, bad = self._judge_cells(col, cache, raws)
            else:
                parsed, bad, same = judged
                if same is not raws and read is not None:  # the same cells, shared
                    raws = self.raw_columns[key] = read[key] = same
            parsed_columns.append(parsed)
            for i, state, value in bad:
                problems.setdefault(i, []).append((col, key, raws[i], state, value))
        store = self._store
        if read is not None and columnwise and store is not None:
            store.raw_columns = list(read.values())
            store.parse(tuple(keys), parsed_columns)
            if store.early:  # an empty values dict read before: made anew, as below
                for record in records:
                    try:
                        del record.values
                    except AttributeError:
                        pass
                store.early = False
        else:
            for record, row in zip(records, zip(*parsed_columns, strict=True), strict=True):
                record.values = dict(zip(keys, row, strict=False))  # one value per key
        self.value_columns = (tuple(keys), parsed_columns)
        self._checked = records
        return problems

    def _judge_cells(self, col: Column, cache: _Cache, raws: list[CellValue]
                     ) -> tuple[list[Any], list[tuple[int, str, Any]]]:
        """Every cell of a column judged on its own (through ``cache``): the parsed
        column and the cells that need a finding as (index, state, parsed)."""
        blank = _BLANK if col.required is not None else _OK_NONE
        miss = functools.partial(self._judge_and_keep, col, cache)
        get = cache.get
        # Every CellValue is hashable; a key that is never stored (a zero, an aware
        # datetime) simply misses. Outcomes are non-empty tuples, so never falsy.
        outcomes = [blank if v is None else (get((v.__class__, v)) or miss(v)) for v in raws]
        parsed = list(map(_PARSED, outcomes))
        states = list(map(_STATE, outcomes))
        if states.count("ok") == len(states):  # the usual column: nothing to report
            return parsed, []
        return parsed, [(i, state, outcomes[i][1]) for i, state in enumerate(states)
                        if not (state == "ok" or (state == "blank" and blank is _OK_NONE))]

    def _judge_column(self, col: Column, cache: _Cache, raws: list[CellValue]
                      ) -> tuple[list[Any], list[tuple[int, str, Any]], list[CellValue]] | None:
        """:meth:`_judge_cells` for a column of one type (and empty cells): each
        distinct value judged once, then mapped back onto the cells in C. None for a
        column this cannot take (mixed types; values that are equal but mean different
        things: ±0.0, aware datetimes). Third: the cells, equal text as one object
        where that is cheap (choices), which a pickle then sends once.

        Text in a free-text or telephone column is mostly distinct (names, numbers),
        so judging each value once saves little there; instead the column's values are
        checked at once: with nothing :func:`clean_text` would change, none too long
        and, for telephones, all plain mobile numbers, every value means itself."""
        classes = set(map(type, raws))
        classes.discard(_NONE_TYPE)
        if len(classes) > 1:
            return None
        required = col.required is not None
        distinct = set(raws)
        has_none = None in distinct
        distinct.discard(None)
        cls = classes.pop() if classes else None
        if cls is str:
            if col.kind is Kind.TEXT or col.kind is Kind.PHONE:
                texts: set[str] = distinct  # type: ignore[assignment]
                limit = CELL_TEXT_LIMIT if col.max_length is None else \
                    min(col.max_length, CELL_TEXT_LIMIT)
                if "" not in texts and (not texts or max(map(len, texts)) <= limit) and \
                        all_clean(texts) and \
                        (col.kind is Kind.TEXT or nz.plain_mobiles(texts)):
                    bad = [(i, "blank", None) for i, v in enumerate(raws) if v is None] \
                        if has_none and required else []
                    # The typed column itself: one list for both (a pickle sends it once).
                    return raws, bad, raws
        elif cls is float and 0.0 in distinct:
            # One entry stands for 0.0 and -0.0 alike (equal, and never cached): fine
            # where both mean the same (a count of 0), not where the sign is kept.
            zero, negative = self._judge(col, 0.0), self._judge(col, -0.0)
            if zero[0] != negative[0] or repr(zero[1]) != repr(negative[1]):
                return None
        elif cls is not None and cls is not float and cls is not int and cls is not dt.date:
            return None
        get, miss = cache.get, functools.partial(self._judge_and_keep, col, cache)
        outcome_of = {v: get((v.__class__, v)) or miss(v) for v in distinct}
        if has_none:
            outcome_of[None] = _BLANK if required else _OK_NONE
        parsed_of = {v: o[1] for v, o in outcome_of.items()}
        same = raws
        if cls is str:
            # Each cell is a str object of its own (as read); a choice repeats down a
            # column, and as typed it is mostly the choice itself: then one list of the
            # parsed objects stands for both, else the cells share one object per text.
            if all(p.__class__ is v.__class__ and p == v for v, p in parsed_of.items()):
                parsed = same = list(map(parsed_of.__getitem__, raws))
            else:
                same = list(map({v: v for v in outcome_of}.__getitem__, raws))
                parsed = list(map(parsed_of.__getitem__, raws))
        else:
            parsed = list(map(parsed_of.__getitem__, raws))
        failing = {v: o for v, o in outcome_of.items()
                   if not (o[0] == "ok" or (o[0] == "blank" and not required))}
        if not failing:
            return parsed, [], same
        return parsed, [(i, o[0], o[1]) for i, v in enumerate(raws)
                        if (o := failing.get(v)) is not None], same

    def _judge_and_keep(self, col: Column, cache: _Cache, raw: CellValue) -> tuple[str, Any]:
        outcome = self._judge(col, raw)
        cls = raw.__class__
        if cls is str or cls is int or (cls is float and raw) or cls is bool or \
                cls is dt.date or (cls is dt.datetime and raw.tzinfo is None):  # type: ignore[union-attr]
            # Keyed by type too: 1, 1.0 and True are equal but parse differently. Zeros
            # (±0.0) and aware datetimes (equal across zones) are not kept.
            cache[(cls, raw)] = outcome
        return outcome

    def report_cells(self, record: Record, problems: list[_Problem]) -> None:
        for col, key, raw, state, parsed in problems:
            if state == "blank":
                self.finding(self.rules[f"{self.sheet.key}.{key}.required"], record, key, raw)
            elif state == "invalid":
                rule = self.rules[f"{self.sheet.key}.{key}.invalid"]
                choices = "、".join(self.plan.choices(col.choices)) if col.choices else ""
                self.finding(rule, record, key, raw, choices=choices,
                             expected=rule.params.get("expected", ""))
            elif state == "negative":
                self.finding(self.rules[f"{self.sheet.key}.{key}.negative"], record, key, raw)
            elif state == "over_cell":
                assert isinstance(raw, str)
                # The finding keeps the start of the text: its whole would be cut again
                # wherever the finding is written (校验结果, 问题清单).
                file = (self.source or "").replace("\\", "/").rsplit("/", 1)[-1]
                self.finding(RULES["workbook.cell.too_long"], record, key, raw[:100] + "…",
                             file=f"“{file}”" if file else "", length=len(raw),
                             limit=CELL_TEXT_LIMIT)
            else:
                assert col.max_length is not None
                self.finding(self.rules[f"{self.sheet.key}.{key}.too_long"], record, key, raw,
                             length=len(parsed), max_length=col.max_length)

    def cell_plan(self) -> list[tuple[Column, str, _Cache | None]]:
        if self._cell_plan is None:
            shared = self.cache.outcomes
            plan: list[tuple[Column, str, _Cache | None]] = []
            for col in self.input_columns:
                cache: _Cache | None = None
                if col.key in self.col_index:
                    if col.kind in _SHARED_KINDS:
                        cache = shared.setdefault((self.sheet.key, col.key), {})
                        if len(cache) > _SHARED_LIMIT:
                            cache.clear()
                    else:
                        cache = {}
                plan.append((col, col.key, cache))
            self._cell_plan = plan
        return self._cell_plan

    def check_cross(self, records: list[Record]) -> dict[int, list[Rule]]:
        """The rules between fields (平台类 needs 依托单位 …) each record breaks, by
        record index, in catalogue order. Rule by rule over all records: a handful of
        rules, and most records match none of their conditions."""
        hits: dict[int, list[Rule]] = {}
        parsed, raws = self._columns_of(records)
        n = len(records)
        for rule, when in self.cross_when:
            assert rule.field is not None
            if rule.field not in self.col_index:
                continue
            matching: Iterable[int] = range(n)
            for field_key, allowed in when:
                column = parsed(field_key)
                # One C pass over the column: which cells hold an allowed value.
                matching = list(itertools.compress(matching, map(
                    allowed.__contains__, (column[i] for i in matching)
                    if isinstance(matching, list) else column)))
            if rule.check is Check.REQUIRED_IF:
                # An unreadable value was already reported; only a truly empty cell is
                # missing.
                typed = raws(rule.field)
                # Each distinct value looked at once; usually none is blank.
                blank = {v for v in set(map(typed.__getitem__, matching)) if nz.is_blank(v)}
                broken = [i for i in matching if typed[i] in blank] if blank else []
            else:
                column = parsed(rule.field)
                broken = [i for i in matching if column[i] not in rule.expected]
            for i in broken:
                hits.setdefault(i, []).append(rule)
        in_year = self.in_year
        if in_year is not None:
            year = self.plan.year
            signed = parsed("signed")
            # Dates repeat: each distinct one is looked at once.
            wrong = {v for v in set(signed) if isinstance(v, dt.date) and v.year != year}
            if wrong:
                for i, v in enumerate(signed):
                    if v in wrong:
                        hits.setdefault(i, []).append(in_year)
        return hits

    def _columns_of(self, records: list[Record]
                    ) -> tuple[Callable[[str], Sequence[Any]], Callable[[str], Sequence[Any]]]:
        """Parsed and typed cells of ``records`` by column key: the columns
        :meth:`check_cells` made when it made them for these records, else read from
        each record."""
        if self._checked is records and self.cache.columnwise:
            value_keys, value_columns = self.value_columns
            by_key = dict(zip(value_keys, value_columns, strict=True))
            nothing = [None] * len(records)
            read = self.raw_columns

            def parsed(key: str) -> Sequence[Any]:
                return by_key.get(key, nothing)

            def raw(key: str) -> Sequence[Any]:
                found = read.get(key)
                return found if found is not None else [r.raw.get(key) for r in records]
            return parsed, raw
        return (lambda key: [r.values.get(key) for r in records],
                lambda key: [r.raw.get(key) for r in records])

    def report_cross(self, record: Record, rules: list[Rule]) -> None:
        values = record.values
        for rule in rules:
            if rule is self.in_year:
                signed = values["signed"]
                self.finding(rule, record, "signed", signed.isoformat(), year=self.plan.year)
                continue
            assert rule.field is not None
            self.finding(rule, record, rule.field, record.raw.get(rule.field),
                         category=values.get("category"), status=values.get("status"))

    def check_duplicates(self, records: list[Record]) -> None:
        for col in self.sheet.input_columns:
            if not col.unique:
                continue
            rule = self.rules[f"{self.sheet.key}.{col.key}.duplicate"]
            if self._checked is records and self.cache.columnwise:
                # The usual column: texts that are their own match keys, all different.
                column = self.value_columns[1][self.value_columns[0].index(col.key)]
                texts = [v for v in column if v is not None]
                if set(map(type, texts)) <= {str} and len(set(texts)) == len(texts) and \
                        all_keys(texts):
                    continue
            first: dict[str, int] = {}
            for record in records:
                value = record.values.get(col.key)
                if not isinstance(value, str):
                    continue
                key = match_key(value)
                if key in first:
                    self.finding(rule, record, col.key, record.raw[col.key],
                                 other_row=first[key], thing=_THING[self.sheet.key])
                else:
                    first[key] = record.row

    def run(self) -> tuple[list[Record], int | None]:
        offset = self.locate_columns()
        if offset is None:
            return [], None
        records = self.read_records(offset)
        problems = self.check_cells(records)
        crossed = self.check_cross(records)
        for i, record in enumerate(records):  # findings row by row, as a clerk reads them
            found = problems.get(i)
            if found is not None:
                self.report_cells(record, found)
            broken = crossed.get(i)
            if broken is not None:
                self.report_cross(record, broken)
        self.check_duplicates(records)
        self.report.rows_checked[self.sheet.name] = len(records)
        return records, self.values.first_row + offset


def _entry_rows(rows: list[tuple[CellValue, ...]], significant: list[int]
                ) -> Sequence[int]:
    """Which of ``rows`` are entries: those with a value in a ``significant`` place
    (see :func:`~xlz.core.normalize.is_blank`)."""
    if not significant or not rows:
        return []
    first = list(map(operator.itemgetter(significant[0]), rows))
    if set(map(type, first)) == {str}:
        # The usual sheet: every row has its name. White space aside, only a zero-width
        # character makes text blank; without one anywhere, strip() alone decides.
        joined = "".join(first)
        if "\u200b" not in joined and "\ufeff" not in joined and all(map(str.strip, first)):
            return range(len(rows))
    kept = []
    for i, cells in enumerate(rows):
        for j in significant:  # is_blank, inlined: the first one usually decides
            v = cells[j]
            if v is not None and not (isinstance(v, str) and
                                      not v.strip().strip("\u200b\ufeff").strip()):
                kept.append(i)
                break
    return kept


def _structure(code: str, sheet: str, cell: str | None, source: str | None, **extra: Any
               ) -> Finding:
    rule = RULES[code]
    return Finding(code, rule.severity, sheet, cell, None, rule.format(sheet=sheet, **extra),
                   file=source)


def _check_carrier_references(validation: Validation, checkers: dict[str, _SheetChecker]) -> None:
    projects = checkers.get("project")
    if projects is None or "carrier" not in checkers:
        return
    rule = RULES["project.carrier.refers_to"]
    # Through the columns the checks made, where they made them: no record is opened.
    carriers = validation.records.get("carrier", [])
    names = checkers["carrier"]._columns_of(carriers)[0]("name")
    known = {match_key(name) for name in names if isinstance(name, str)}
    records = validation.records.get("project", [])
    for record, carrier in zip(records, projects._columns_of(records)[0]("carrier"),
                               strict=True):
        if isinstance(carrier, str) and match_key(carrier) not in known:
            projects.finding(rule, record, "carrier", record.raw["carrier"])


def validate_values(
    sheets: Mapping[str, SheetValues],
    plan: Plan,
    *,
    source: str | None = None,
    only: Sequence[str] | None = None,
    cache: PlanCache | None = None,
    standard: str | None = None,
) -> Validation:
    """Check the entry sheets of one workbook, and the 填报信息 on its 填报说明 when
    ``sheets`` hold that sheet. ``sheets`` maps sheet names to values; ``only``
    restricts the check to some entry sheets (by key or name); ``cache`` (for ``plan``)
    carries what one workbook's checks learnt to the next (see :class:`PlanCache`);
    ``standard``: the file's standard version (None: the current one), whose missing
    places are no findings."""
    return validate_with_columns(sheets, plan, source=source, only=only, cache=cache,
                                 standard=standard)[0]


def validate_with_columns(
    sheets: Mapping[str, SheetValues],
    plan: Plan,
    *,
    source: str | None = None,
    only: Sequence[str] | None = None,
    cache: PlanCache | None = None,
    standard: str | None = None,
) -> tuple[Validation, dict[str, SheetColumns]]:
    """:func:`validate_values`, and each checked sheet's records as the columns the
    checks made (by sheet key, for sheets with records): a caller that sends or renders
    all records can take those instead of reading 20 dict entries back per record."""
    if cache is None:
        cache = PlanCache(plan)
    elif cache.plan is not plan:
        raise ValueError("the PlanCache was made for another plan")
    report = Report(source=source)
    validation = Validation(report)
    made: dict[str, SheetColumns] = {}
    checkers: dict[str, _SheetChecker] = {}
    guide = sheets.get(GUIDE)
    if guide is not None and only is None:
        validation.guide = read_guide(guide, plan, report, standard=standard, source=source)
    for sheet in ENTRY_SHEETS:
        if only is not None and sheet.key not in only and sheet.name not in only:
            continue
        values = sheets.get(sheet.name)
        if values is None:
            report.add(_structure("workbook.sheet.missing", sheet.name, None, source))
            continue
        checker = _SheetChecker(sheet, cache, values, report, source, standard)
        records, header_row = checker.run()
        validation.records[sheet.key] = records
        if records:
            value_keys, value_columns = checker.value_columns
            if checker._read[0] is records:  # the columns as read: no record is opened
                read = checker._read[1]
                made[sheet.key] = SheetColumns(
                    tuple(read), [checker.raw_columns.get(k) or column
                                  for k, column in read.items()], value_keys, value_columns)
            else:  # pragma: no cover - run() checks the records it read
                raw_keys = tuple(records[0].raw)
                made[sheet.key] = SheetColumns(
                    raw_keys, [checker.raw_columns.get(k) or [r.raw[k] for r in records]
                               for k in raw_keys], value_keys, value_columns)
        if header_row is not None:
            validation.header_rows[sheet.key] = header_row
            validation.columns[sheet.key] = dict(checker.col_index)
        checkers[sheet.key] = checker
    _check_carrier_references(validation, checkers)
    return validation, made

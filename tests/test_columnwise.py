"""The column-wise fast paths give exactly what the plain, record-by-record paths give:
the validator's judging of each distinct value of a column once and its rules between
fields over columns (``PlanCache(columnwise=False)`` is the reference), the
whole-column text checks, the city rows built a column at a time
(:func:`xlz.ooxml.fastrows.cells` is the reference), a worker's tally from columns and
the town names found in a file name through an index."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlz import SheetValues, load_plan
from xlz.core.entries import ENTRY_SHEETS
from xlz.core.identity import towns_named_in
from xlz.core.normalize import phone_ok, plain_mobiles
from xlz.core.plan import Town
from xlz.core.summary import tally, tally_columns
from xlz.core.text import all_clean, all_keys, clean_text, key_head, match_key
from xlz.core.validator import PlanCache, Record, validate_with_columns
from xlz.ooxml.fastrows import cells, column_cells

PLAN = load_plan()

_texts = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="项目名称科创（）()　 \t\u200b\ufeffＡＢ１２,、/-_x0041&<>", max_size=12),
    st.sampled_from(["科创类", "人才类", "平台类", "服务类", "基金类", "已签约", "洽谈中", "已注册",
                     "已投产", "预审通过", "国家级", "省级", "专业孵化器", "建成运营", "全年", "3月", "  ",
                     "", "13912345678", "0513-87654321", "1391234567", "12个", "1,234",
                     "2000万", "2023-03-05", "20230305", "_x0041_", " a", "b ", "x" * 120, "y" * 32_800]),
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
)
_floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0.0, -0.0, 1.0, 2.5, 12100.0, -3.0, 45000.0]))
_ints = st.integers(min_value=-5, max_value=50_000)
_dates = st.one_of(st.dates(min_value=dt.date(1900, 1, 1)),
                   st.sampled_from([dt.date(2023, 3, 5), dt.date(2022, 12, 31)]))
_other = st.one_of(st.booleans(), st.datetimes(), st.times(), _texts, _floats, _ints)
# One type per column, as clerks fill them, sometimes mixed, with empty cells.
_column_kind = st.sampled_from([_texts, _floats, _ints, _dates, _other])


@st.composite
def _sheet_rows(draw: st.DrawFn, width: int) -> list[list[Any]]:
    n = draw(st.integers(min_value=0, max_value=12))
    columns = []
    for _ in range(width):
        kind = draw(_column_kind)
        pool = draw(st.lists(kind, min_size=1, max_size=4))  # values repeat down a column
        columns.append(draw(st.lists(st.one_of(st.none(), st.sampled_from(pool), kind),
                                     min_size=n, max_size=n)))
    return [list(row) for row in zip(*columns, strict=True)] if n else []


def _facts(sheets: dict[str, SheetValues], cache: PlanCache) -> Any:
    validation, made = validate_with_columns(sheets, PLAN, cache=cache)
    # repr: ±0.0 and NaN must be told apart and matched alike.
    findings = [(f.code, f.cell, f.message, f.row, repr(f.value))
                for f in validation.report.findings]
    records = {k: [(r.row, repr(r.raw), repr(r.values), r.errors, r.warnings) for r in rs]
               for k, rs in validation.records.items()}
    return findings, records, repr(made)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_columnwise_judging_equals_cell_by_cell(data: st.DataObject) -> None:
    sheets = {}
    for sheet in ENTRY_SHEETS:
        body = data.draw(_sheet_rows(len(sheet.headers)))
        sheets[sheet.name] = SheetValues(sheet.name, [list(sheet.headers), *body])
    plain = _facts(sheets, PlanCache(PLAN, columnwise=False))
    shared = PlanCache(PLAN)
    assert _facts(sheets, shared) == plain
    assert _facts(sheets, shared) == plain  # again, with what the cache learnt


@given(st.lists(_texts, max_size=6))
def test_all_clean_is_clean_text_of_each(texts: list[str]) -> None:
    clean = all(clean_text(t) == t for t in texts)
    assert all_clean(texts) == clean or (clean and any(" " in t for t in texts))


@given(st.lists(_texts, max_size=6))
def test_all_keys_are_match_keys(texts: list[str]) -> None:
    assert not all_keys(texts) or all(match_key(t) == t for t in texts)


@given(_texts)
def test_key_head_is_the_first_of_match_key(text: str) -> None:
    assert key_head(text) == match_key(text)[:1]


@given(st.lists(_texts, max_size=6))
def test_plain_mobiles(texts: list[str]) -> None:
    expected = bool(texts) and all(re.fullmatch(r"1[3-9][0-9]{9}", t) for t in texts)
    assert plain_mobiles(texts) == expected
    if expected:
        assert all(phone_ok(t) for t in texts)


_cell_values = st.one_of(st.none(), _texts, _floats, _ints, _dates, st.booleans(),
                         st.datetimes(),
                         st.builds(str.__mul__, st.sampled_from(["a", " ", "&"]),
                                   st.integers(min_value=32_760, max_value=32_770)))


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(kind=st.sampled_from([_texts, _floats, _ints, _dates, _cell_values]),
       data=st.data(), col=st.integers(min_value=0, max_value=23))
def test_column_cells_equal_cells(kind: Any, data: st.DataObject, col: int) -> None:
    pool = data.draw(st.lists(kind, min_size=1, max_size=4))
    values = data.draw(st.lists(st.one_of(st.none(), st.sampled_from(pool), kind),
                                max_size=12))
    assert column_cells(values, 24, col) == [cells([v], 24, col) for v in values]


def test_signed_zeros_in_one_column() -> None:
    """0.0 and -0.0 are equal: one distinct value must not stand for both where the
    sign is kept (万元), while a count reads both as 0."""
    projects = ENTRY_SHEETS[0]
    width = len(projects.headers)
    at = {c.key: i for i, c in enumerate(projects.columns)}
    rows = []
    for n, value in enumerate([0.0, -0.0, 5.0, -0.0, 0.0], 1):
        row: list[Any] = [None] * width
        row[at["name"]], row[at["investment"]], row[at["invention_patents"]] = \
            f"项目{n}", value, value
        rows.append(row)
    sheets = {projects.name: SheetValues(projects.name, [list(projects.headers), *rows])}
    plain = _facts(sheets, PlanCache(PLAN, columnwise=False))
    assert _facts(sheets, PlanCache(PLAN)) == plain
    assert "-0.0" in plain[1]["project"][1][2]


_project_values = st.fixed_dictionaries({
    "category": st.one_of(st.none(), st.sampled_from(["科创类", "人才类", "平台类", "服务类",
                                                      "基金类", "其他"])),
    "status": st.one_of(st.none(), st.sampled_from(["洽谈中", "已签约", "已注册", "已投产", "x"])),
    "invention_patents": st.one_of(st.none(), st.integers(min_value=0, max_value=9)),
    "utility_patents": st.one_of(st.none(), st.integers(min_value=0, max_value=9)),
})


@given(st.lists(_project_values, max_size=30), st.sets(st.sampled_from(
    ["category", "status", "invention_patents", "utility_patents"])))
def test_tally_columns_equals_tally(values: list[dict[str, Any]], absent: set[str]) -> None:
    for v in values:
        for key in absent:
            del v[key]
    records = [Record("项目信息", i, {}, v) for i, v in enumerate(values, 2)]
    keys = [k for k in ("category", "status", "invention_patents", "utility_patents")
            if k not in absent]
    columns = {k: [v[k] for v in values] for k in keys}
    assert tally_columns(columns, len(values), PLAN) == tally(records, PLAN)


def _towns_named_in_one_by_one(file_name: str) -> list[Town]:
    """towns_named_in as it tested every town's every name."""
    stem = match_key(file_name)
    found: dict[str, tuple[Town, str]] = {}
    for town, names in PLAN.town_name_keys:
        hits = [n for n in names if n in stem]
        if hits:
            found[town.code] = (town, max(hits, key=len))
    return [t for code, (t, hit) in found.items()
            if not any(hit != other and hit in other
                       for c, (_, other) in found.items() if c != code)]


_NAMES = sorted({n for town in PLAN.towns for n in town.all_names})


@given(st.lists(st.one_of(st.sampled_from(_NAMES), st.text(max_size=4),
                          st.sampled_from(["（", "）", "(", ")", " ", "镇", "区", "开发"])),
                max_size=5))
def test_towns_named_in_equals_one_by_one(parts: list[str]) -> None:
    name = "".join(parts) + ".xlsx"
    assert towns_named_in(name, PLAN) == _towns_named_in_one_by_one(name)


_PROJECT_CELLS: dict[str, Any] = {
    "name": st.sampled_from(["项目甲", "项目乙", " 项目丙 ", "项目甲", "  "]),
    "category": st.sampled_from(["科创类", "人才类", "平台类", "服务类", "基金类", "其他", 3.0]),
    "status": st.sampled_from(["洽谈中", "已签约", "已注册", "已投产", "不明"]),
    "signed": st.one_of(_dates, st.sampled_from(["2023-03-05", "2022/1/1", "昨天", 45000.0])),
    "prereview": st.sampled_from(["预审通过", "未预审", "预审未通过", "x"]),
    "host": _texts, "leader": _texts, "company": _texts,
}


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_columnwise_rules_between_fields_equal_cell_by_cell(data: st.DataObject) -> None:
    """The rules between fields (人才类 needs 项目负责人 …) and 签约日期 in the plan year,
    on sheets made to break them."""
    projects = ENTRY_SHEETS[0]
    at = {c.key: i for i, c in enumerate(projects.columns)}
    rows = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=10))):
        row: list[Any] = [None] * len(projects.headers)
        for key, cells_of in _PROJECT_CELLS.items():
            row[at[key]] = data.draw(st.one_of(st.none(), cells_of))
        rows.append(row)
    sheets = {projects.name: SheetValues(projects.name, [list(projects.headers), *rows])}
    assert _facts(sheets, PlanCache(PLAN)) == _facts(sheets, PlanCache(PLAN, columnwise=False))


_packed_cells = st.one_of(st.none(), _dates, st.datetimes(), _texts, _floats)


@given(st.lists(st.lists(_packed_cells, min_size=2, max_size=2), min_size=1, max_size=8),
       st.data())
def test_packed_dates_come_back_as_they_went(rows: list[list[Any]], data: st.DataObject
                                             ) -> None:
    """Columns of dates travel as day numbers (xlz.ops.packed): what comes out of the
    pickle is what went in, dates, datetimes and all."""
    import pickle

    from xlz.ops.packed import pack, unpack

    kind = data.draw(st.sampled_from([_dates, st.one_of(st.none(), _dates), _packed_cells]))
    dates = data.draw(st.lists(kind, min_size=len(rows), max_size=len(rows)))
    records = [Record("项目信息", i, {"a": a, "b": b}, {"c": c, "d": b})
               for i, ((a, c), b) in enumerate(zip(rows, dates, strict=True), 2)]
    back = unpack(pickle.loads(pickle.dumps(pack(records))))
    assert [(r.row, repr(r.raw), repr(r.values)) for r in back] == \
        [(r.row, repr(r.raw), repr(r.values)) for r in records]


_row_cells = st.one_of(st.none(), st.sampled_from(["", " ", "\u200b", " \u200b ", "\ufeff",
                                                   "\u200b \u200b \u200b", "甲", 0, 0.0]),
                       _texts)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.lists(_row_cells, max_size=24), max_size=10), st.data())
def test_records_are_the_rows_with_an_entry(body: list[list[Any]], data: st.DataObject) -> None:
    """read_records, whatever way it takes: a record for each row with a value in an
    entry column other than 序号, its cells as typed (None past a short row's end)."""
    from xlz.core.normalize import is_blank

    projects = ENTRY_SHEETS[0]
    if data.draw(st.booleans()):  # rows as wide as the header, as most sheets have them
        body = [(row + [None] * 24)[:len(projects.headers)] for row in body]
    sheets = {projects.name: SheetValues(projects.name, [list(projects.headers), *body])}
    validation = validate_with_columns(sheets, PLAN)[0]
    at = validation.columns["project"]
    significant = [c.key for c in projects.input_columns if c.key != "seq"]
    expected = [(n, {k: row[i] if i < len(row) else None for k, i in at.items()})
                for n, row in enumerate(body, 2)
                if not all(is_blank(row[at[k]] if at[k] < len(row) else None)
                           for k in significant)]
    assert [(r.row, r.raw) for r in validation.records["project"]] == expected


def test_a_name_of_zero_width_spaces_is_no_entry() -> None:
    projects = ENTRY_SHEETS[0]
    width = len(projects.headers)
    body = [[1, name, *[None] * (width - 2)] for name in ("甲", "\u200b", " \ufeff ", "乙")]
    sheets = {projects.name: SheetValues(projects.name, [list(projects.headers), *body])}
    validation = validate_with_columns(sheets, PLAN)[0]
    assert [r.row for r in validation.records["project"]] == [2, 5]


def _fields(record: Record) -> tuple[Any, ...]:
    # repr: ±0.0 and NaN told apart and matched alike; items: the keys' order too.
    return (record.sheet, record.row, repr(list(record.raw.items())),
            repr(list(record.values.items())), record.errors, record.warnings)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_column_records_are_the_plain_records(data: st.DataObject) -> None:
    """The validator's records made of its columns (ColumnRecord) equal, field by field,
    the plain Records the reference path makes, compare equal to them both ways and
    pickle as them."""
    import pickle

    from xlz.core.validator import ColumnRecord

    sheets = {}
    for sheet in ENTRY_SHEETS:
        body = data.draw(_sheet_rows(len(sheet.headers)))
        sheets[sheet.name] = SheetValues(sheet.name, [list(sheet.headers), *body])
    plain = validate_with_columns(sheets, PLAN, cache=PlanCache(PLAN, columnwise=False))[0]
    made = validate_with_columns(sheets, PLAN)[0]
    for key, records in plain.records.items():
        assert {type(r) for r in records} <= {Record}
        lazy = made.records[key]
        assert {type(r) for r in lazy} <= {ColumnRecord}
        assert [_fields(r) for r in lazy] == [_fields(r) for r in records]
        for one, other in zip(lazy, records, strict=True):
            if "nan" not in repr(one.raw):  # NaN is not equal to itself
                assert one == other and other == one
            sent = pickle.loads(pickle.dumps(one))
            assert type(sent) is Record and _fields(sent) == _fields(other)


def test_a_column_record_keeps_what_is_changed() -> None:
    """A ColumnRecord's dicts, once read, are its own: a change stays, is seen by the
    next reader, in comparisons and pickles; the other records are untouched."""
    import copy
    import dataclasses
    import pickle

    from xlz.core.validator import ColumnRecord, RecordColumns

    store = RecordColumns(("name", "seq"), [["甲", "乙"], [1.0, None]], ("name", "seq"),
                          [["甲", "乙"], [1, None]])
    one, two = ColumnRecord("项目信息", 2, store, 0), ColumnRecord("项目信息", 3, store, 1, 1)
    assert (one.raw, one.values, two.values, two.errors, two.ok) == \
        ({"name": "甲", "seq": 1.0}, {"name": "甲", "seq": 1}, {"name": "乙", "seq": None}, 1,
         False)
    one.values["name"] = "丙"
    one.raw["note"] = "x"
    two.values = {"name": "丁"}
    one.errors += 1
    assert one.values == {"name": "丙", "seq": 1} and one.raw == {"name": "甲", "seq": 1.0,
                                                               "note": "x"}
    assert two.values == {"name": "丁"}
    assert ColumnRecord("项目信息", 2, store, 0).values == {"name": "甲", "seq": 1}
    plain = Record("项目信息", 2, {"name": "甲", "seq": 1.0, "note": "x"},
                   {"name": "丙", "seq": 1}, 1)
    assert one == plain and plain == one and one != ColumnRecord("项目信息", 2, store, 0)
    for sent in (pickle.loads(pickle.dumps(one)), copy.copy(one), copy.deepcopy(one)):
        assert type(sent) is Record and sent == plain
    assert dataclasses.asdict(one) == dataclasses.asdict(plain)
    again = dataclasses.replace(one, errors=0)
    assert again == dataclasses.replace(plain, errors=0) and again.raw is one.raw
    assert dataclasses.replace(two) == Record("项目信息", 3, {"name": "乙", "seq": None},
                                              {"name": "丁"}, 1)
    try:
        hash(one)
        raise AssertionError("a record is not hashable")
    except TypeError:
        pass


def test_values_read_before_they_are_parsed() -> None:
    """Read between read_records and check_cells, a record's values are empty, as a
    plain Record's are there; check_cells then gives it its parsed values."""
    from xlz.core import validator
    from xlz.core.findings import Report

    projects = ENTRY_SHEETS[0]
    at = {c.key: i for i, c in enumerate(projects.columns)}
    rows = []
    for n in range(3):
        row: list[Any] = [None] * len(projects.headers)
        row[at["name"]], row[at["category"]], row[at["seq"]] = f"项目{n}", "科创类", float(n)
        rows.append(row)
    values = SheetValues(projects.name, [list(projects.headers), *rows])
    for columnwise in (True, False):
        checker = validator._SheetChecker(projects, PlanCache(PLAN, columnwise=columnwise),
                                          values, Report(), None)
        offset = checker.locate_columns()
        assert offset is not None
        records = checker.read_records(offset)
        assert records[1].values == {} and records[1].raw["name"] == "项目1"
        checker.check_cells(records)
        assert [(r.values["name"], r.values["seq"], r.values["category"]) for r in records] \
            == [("项目0", 0, "科创类"), ("项目1", 1, "科创类"), ("项目2", 2, "科创类")]

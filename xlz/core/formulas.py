"""The rule catalogue compiled into Excel formula text: the town template's live checks,
its conditional formatting and the 任务分解 formulas.

Pure text, no workbook library: the template generator writes these formulas and the
in-place ``xlz fill`` restores them from here. Every live check is derived from a
:class:`~xlz.core.catalogue.Rule` of :data:`~xlz.core.catalogue.RULES`; nothing is written twice.

Function set: only what Excel 2010, WPS and LibreOffice all evaluate the same way — IF,
AND, OR, NOT, TRIM, LEN, MID, FIND, ROW, INT, YEAR, ISNUMBER, SUMPRODUCT. No TEXTJOIN,
LET or dynamic arrays. Text comparisons use ``=`` inside SUMPRODUCT instead of COUNTIF or
MATCH, because those two read ``*``, ``?`` and a leading ``<``/``>``/``=`` in a typed
value as wildcards or operators.

What a formula sees differs from the Python validator in a few documented places (the
Python side normalises noise a formula cannot):

- A number typed as text (``22个``, ``２２``, ``1,234``, ``2000万``) and a date typed as
  text (``2023.3.5``, ``2023年3月5日``) are *not* numbers or dates to a formula: the
  live check says 格式不对 where Python reads the value. Typing in Excel/WPS stores real
  numbers and dates (the data validation blocks the rest), so this only shows on
  pasted text.
- Text matching: formulas compare after TRIM (outer spaces off, inner runs of spaces
  collapsed) and ignore letter case; Python folds full-width letters and digits, removes
  all white space and treats ``()`` as ``（）`` (:func:`xlz.core.text.match_key`). A choice
  typed with full-width spaces or half-width brackets is accepted by Python only.
- White space other than the ASCII space (U+3000, no-break space) is blank to Python,
  not to TRIM.
- 任务分解 sums patent counts that are whole numbers ≥ 0; Python also reads ``22个``.
  A fraction is recognised by the ``.`` in its text, so a tiny fraction shown in
  scientific notation (1E-05) would count; the data validation refuses fractions anyway.

Rules with no formula (:data:`NOT_EXPRESSIBLE`, also listed in ``docs/rules.md``):
phone format (needs a regular expression), and every file, structure and plan rule
(they are about the workbook, not a row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from xlz.core.catalogue import RULES, Check, Rule
from xlz.core.cells import column_letter
from xlz.core.entries import ACTIVITIES, CARRIERS, ENTRY_SHEETS, PROJECTS, EntrySheet, Kind
from xlz.core.findings import Finding, Severity
from xlz.core.layout import ENTRY_CAPACITY, FIRST_DATA_ROW, TASK_FIRST_ROW, TASK_HEADERS
from xlz.core.plan import METRICS, Metric, Plan
from xlz.core.summary import MetricProgress

LISTS_SHEET = "_lists"  # hidden sheet that feeds the dropdowns through defined names
MONTH_LIST = "活动月份"
SEPARATOR = "；"  # between messages in the 实时检查 cell
MAX_FORMULA_CHARS = 8192  # Excel's limit on the text of one formula
_EXCEL_MAX_SERIAL = 2958465  # 9999-12-31
WARNING_MARK = "（提醒）"  # after the title of a 提醒-severity rule

# Why a rule has no live formula; checked against the catalogue by the tests.
NOT_EXPRESSIBLE: dict[str, str] = {
    "project.phone.invalid": "电话号码格式需要正则表达式，公式无法可靠判断（由 Python 校验）",
    # 填报说明 is no entry sheet: its three cells are guarded by data validation while
    # typing (a date within the allowed range, a phone-length text), the rest by Python.
    "guide.as_of.required": "填报说明的单元格，由“校验本表”或市里汇总时检查（无实时检查列）",
    "guide.as_of.invalid": "填报说明的单元格：数据有效性只允许输入日期",
    "guide.as_of.out_of_range": "填报说明的单元格：数据有效性只允许输入允许范围内的日期",
    "guide.phone.invalid": "电话号码格式需要正则表达式，公式无法可靠判断（由 Python 校验）",
}
_NOT_ROW_CHECKS = (Check.STRUCTURE, Check.FILE, Check.PLAN)


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _text(value: str) -> str:
    """A string literal in formula syntax."""
    return '"' + value.replace('"', '""') + '"'


# Per-sheet lookups keyed on the sheet's identity, not its value: hashing a frozen
# EntrySheet hashes every Column (tens of µs), and writing one template asks ~30 times
# per row on 1,400 rows. The sheet is kept in the value, so its id is never reused.
_LETTERS: dict[int, tuple[EntrySheet, dict[str, str]]] = {}


def letters(sheet: EntrySheet) -> dict[str, str]:
    """Column key → column letter, in template order. (Cached: do not mutate.)"""
    hit = _LETTERS.get(id(sheet))
    if hit is None or hit[0] is not sheet:
        hit = (sheet, {col.key: column_letter(i) for i, col in enumerate(sheet.columns)})
        _LETTERS[id(sheet)] = hit
    return hit[1]


def last_row(sheet: EntrySheet) -> int:
    return FIRST_DATA_ROW + ENTRY_CAPACITY[sheet.key] - 1


def data_range(sheet: EntrySheet, key: str, *, absolute_sheet: bool = True) -> str:
    """``'项目信息'!$C$2:$C$1001``: the prepared rows of one column."""
    col = letters(sheet)[key]
    ref = f"${col}${FIRST_DATA_ROW}:${col}${last_row(sheet)}"
    return f"{quote_sheet(sheet.name)}!{ref}" if absolute_sheet else ref


def list_names(plan: Plan) -> tuple[str, ...]:
    """Every dropdown list the template defines, in a fixed order (defined names are the
    list names themselves, e.g. ``项目类别``)."""
    names: list[str] = []
    for sheet in ENTRY_SHEETS:
        for col in sheet.input_columns:
            if col.choices and col.choices not in names:
                names.append(col.choices)
    names.append(MONTH_LIST)
    return tuple(names)


def list_values(plan: Plan, name: str) -> tuple[str | int, ...]:
    """The entries of a list as written on the list sheet; months are numbers so that a
    typed 3 and a picked 3 are the same value."""
    if name == MONTH_LIST:
        return (*range(1, 13), "全年")
    return plan.choices(name)


# --------------------------------------------------------------------- live checks


Cond = Callable[[int], "str | None"]  # row → failing condition (None: not on this row)


@dataclass(frozen=True, slots=True)
class LiveRule:
    """One catalogue rule as a formula: the condition under which it fails on a row."""

    rule: Rule
    column: str  # letter of the cell the finding is anchored on
    condition: Cond

    @property
    def label(self) -> str:
        """The short text after the cell address, e.g. ``项目类别不在可选项中``."""
        mark = WARNING_MARK if self.rule.severity is Severity.WARNING else ""
        return f"{self.rule.title}{mark}"


def _blank(x: str) -> str:
    return f'TRIM({x})=""'


def _filled(x: str) -> str:
    return f'TRIM({x})<>""'


def _in_list(range_ref: str, x: str) -> str:
    # TRIM on both sides: list cells may be numbers (months), typed values may be padded.
    return f"SUMPRODUCT(--(TRIM({range_ref})=TRIM({x})))>0"


def _equals_any(x: str, values: Sequence[str]) -> str:
    tests = [f"TRIM({x})={_text(v)}" for v in values]
    return tests[0] if len(tests) == 1 else f"OR({','.join(tests)})"


def _invalid(kind: Kind, x: str, list_name: str | None) -> str | None:
    """Filled but not a value of the column's kind (mirrors the Python parsers'
    INVALID, minus the noise they tolerate — see the module docstring)."""
    if kind is Kind.INTEGER:
        return f"IF(ISNUMBER({x}),{x}<>INT({x}),{_filled(x)})"
    if kind in (Kind.NUMBER, Kind.MONEY, Kind.AREA):
        return f"AND({_filled(x)},NOT(ISNUMBER({x})))"
    if kind is Kind.DATE:
        return f"IF(ISNUMBER({x}),OR({x}<1,{x}>{_EXCEL_MAX_SERIAL}),{_filled(x)})"
    if kind in (Kind.CHOICE, Kind.MONTH):
        assert list_name is not None
        return f"AND({_filled(x)},NOT({_in_list(list_name, x)}))"
    return None  # TEXT never invalid; PHONE not expressible


def _negative(kind: Kind, x: str) -> str:
    # Python reports a negative number only when it parsed (an integer column: whole).
    if kind is Kind.INTEGER:
        return f"IF(ISNUMBER({x}),IF({x}<0,{x}=INT({x}),FALSE),FALSE)"
    return f"AND(ISNUMBER({x}),{x}<0)"


def _when(rule: Rule, sheet: EntrySheet, row: int) -> str:
    cols = letters(sheet)
    tests = [_equals_any(f"{cols[c.field]}{row}", c.values) for c in rule.when]
    return tests[0] if len(tests) == 1 else f"AND({','.join(tests)})"


def _compile(rule: Rule, sheet: EntrySheet, plan: Plan) -> Cond | None:
    """The failing condition of ``rule`` for a row, or None when no formula can say it."""
    if rule.code in NOT_EXPRESSIBLE or rule.check in _NOT_ROW_CHECKS or rule.field is None:
        return None
    cols = letters(sheet)
    col = sheet.column(rule.field)
    letter = cols[rule.field]
    list_name = MONTH_LIST if col.kind is Kind.MONTH else col.choices

    def x(row: int) -> str:
        return f"{letter}{row}"

    check = rule.check
    if check is Check.REQUIRED:
        return lambda r: _blank(x(r))
    if check is Check.INVALID:
        if _invalid(col.kind, "A1", list_name) is None:
            return None
        return lambda r: _invalid(col.kind, x(r), list_name)
    if check is Check.NEGATIVE:
        return lambda r: _negative(col.kind, x(r))
    if check is Check.TOO_LONG:
        limit = int(rule.params["max_length"])
        return lambda r: f"LEN(TRIM({x(r)}))>{limit}"
    if check is Check.DUPLICATE:
        # Like Python: the first occurrence is fine, every later one is flagged. "Earlier"
        # is asked of ROW() over the whole fixed column, never of a range ending one row
        # up: sorting moves formulas like a copy, and a relative range would then reach
        # the header or the row itself (a unique name flagged, a duplicate missed). So
        # every row holds the same formula, moved: order-independent and one shared run.
        column = data_range(sheet, rule.field, absolute_sheet=False)
        return lambda r: (f"AND({_filled(x(r))},SUMPRODUCT((TRIM({column})=TRIM({x(r)}))"
                          f"*(ROW({column})<ROW()))>0)")
    if check is Check.REQUIRED_IF:
        return lambda r: f"AND({_when(rule, sheet, r)},{_blank(x(r))})"
    if check is Check.EXPECTED_IF:
        return lambda r: (f"AND({_when(rule, sheet, r)},"
                          f"NOT({_equals_any(x(r), rule.expected)}))")
    if check is Check.IN_YEAR:
        year = plan.year
        return lambda r: (f"IF(ISNUMBER({x(r)}),IF(AND({x(r)}>=1,{x(r)}<={_EXCEL_MAX_SERIAL}),"
                          f"YEAR({x(r)})<>{year},FALSE),FALSE)")
    if check is Check.REFERS_TO:
        target = entry_sheet_by_name(str(rule.params["sheet"]))
        names = data_range(target, str(rule.params["column"]))
        return lambda r: f"AND({_filled(x(r))},NOT({_in_list(names, x(r))}))"
    return None


def entry_sheet_by_name(name: str) -> EntrySheet:
    for sheet in ENTRY_SHEETS:
        if sheet.name == name:
            return sheet
    raise KeyError(name)


def live_rules(plan: Plan, sheet: EntrySheet) -> list[LiveRule]:
    """The sheet's formula-expressible rules, in catalogue order (= message order)."""
    out: list[LiveRule] = []
    for rule in RULES.values():
        if rule.sheet != sheet.name:
            continue
        cond = _compile(rule, sheet, plan)
        if cond is not None:
            assert rule.field is not None
            out.append(LiveRule(rule, letters(sheet)[rule.field], cond))
    return out


def expressible_codes(plan: Plan) -> frozenset[str]:
    return frozenset(lr.rule.code for s in ENTRY_SHEETS for lr in live_rules(plan, s))


def not_expressible(plan: Plan) -> dict[str, str]:
    """Every row-level rule without a live formula, with the reason."""
    live = expressible_codes(plan)
    out: dict[str, str] = {}
    for rule in RULES.values():
        if rule.sheet is None or rule.check in _NOT_ROW_CHECKS or rule.code in live:
            continue
        out[rule.code] = NOT_EXPRESSIBLE.get(rule.code, "无公式")
    return out


_SPANS: dict[int, tuple[EntrySheet, str, str]] = {}


def _significant_span(sheet: EntrySheet, row: int) -> str:
    """The cells that make a row an entry (as the validator sees it: input columns but 序号)."""
    hit = _SPANS.get(id(sheet))
    if hit is None or hit[0] is not sheet:  # computed once per sheet (see _LETTERS)
        keys = [c.key for c in sheet.input_columns if c.key != "seq"]
        cols = letters(sheet)
        position = {c.key: i for i, c in enumerate(sheet.columns)}
        idx = [position[k] for k in keys]
        # The validator's notion of "an empty row" is a contiguous block in our templates.
        assert idx == list(range(idx[0], idx[0] + len(idx))), \
            "significant columns must be contiguous"
        hit = (sheet, cols[keys[0]], cols[keys[-1]])
        _SPANS[id(sheet)] = hit
    return f"{hit[1]}{row}:{hit[2]}{row}"


def live_check_formula(plan: Plan, sheet: EntrySheet, row: int,
                       rules: Sequence[LiveRule] | None = None) -> str:
    """The 实时检查 formula of one entry row: every failing rule's ``C5 title``, joined
    by ``；``; empty when the row is empty or fine. Cell addresses are built with ROW()
    so that they stay right when a clerk sorts or the sheet is re-filled. Pass ``rules``
    (from :func:`live_rules`) when writing many rows: compiling is the slow part."""
    parts = []
    for lr in rules if rules is not None else live_rules(plan, sheet):
        cond = lr.condition(row)
        if cond is None:
            continue
        message = _text(f"{SEPARATOR}{lr.column}") + "&ROW()&" + _text(f" {lr.label}")
        parts.append(f"IF({cond},{message},\"\")")
    body = "&".join(parts)
    span = _significant_span(sheet, row)
    formula = f'=IF(SUMPRODUCT(LEN(TRIM({span})))=0,"",MID({body},2,2000))'
    if len(formula) > MAX_FORMULA_CHARS:  # pragma: no cover - guarded by a test
        raise ValueError(f"live check of {sheet.name} row {row} is {len(formula)} chars")
    return formula


def flag_format_formula(sheet: EntrySheet, key: str, row: int = FIRST_DATA_ROW) -> str:
    """Conditional format (light red) of an input cell: its address appears in the row's
    实时检查 text. Relative to ``row``, the top of the formatted range. One source of
    truth: the cell lights exactly when the live check names it."""
    cols = letters(sheet)
    cell = f"{cols[key]}{row}"
    live = f"${cols['live_check']}{row}"
    return f'=ISNUMBER(FIND({_text(SEPARATOR + cols[key])}&ROW({cell})&" ",' \
           f'{_text(SEPARATOR)}&{live}))'


def findings_format_formula(sheet: EntrySheet, row: int = FIRST_DATA_ROW) -> str:
    """Conditional format (light yellow) of a whole row: 校验提示 holds text written by
    ``xlz validate``. Keyed on the text so that validation never rewrites a style."""
    return f'=${letters(sheet)["findings"]}{row}<>""'


def flagged_columns(plan: Plan, sheet: EntrySheet) -> list[str]:
    """Column keys that have at least one live rule (they get the red format)."""
    keys = {lr.rule.field for lr in live_rules(plan, sheet)}
    return [c.key for c in sheet.input_columns if c.key in keys]


def live_check_values(plan: Plan, sheet: EntrySheet, findings: Iterable[Finding]
                      ) -> dict[int, str]:
    """What :func:`live_check_formula` shows per row, from the Python validator's findings
    (the cached values written with the formulas). Rows without a message are absent."""
    order = {lr.rule.code: i for i, lr in enumerate(live_rules(plan, sheet))}
    by_code = {lr.rule.code: lr for lr in live_rules(plan, sheet)}
    per_row: dict[int, list[tuple[int, str]]] = {}
    for f in findings:
        if f.sheet != sheet.name or f.row is None or f.code not in order:
            continue
        lr = by_code[f.code]
        per_row.setdefault(f.row, []).append((order[f.code], f"{lr.column}{f.row} {lr.label}"))
    return {row: SEPARATOR.join(text for _, text in sorted(set(items)))
            for row, items in per_row.items()}


# --------------------------------------------------------------------- 任务分解


_TASK_COLUMNS = {header: column_letter(i) for i, header in enumerate(TASK_HEADERS)}
TARGET_COL, DONE_COL, RATE_COL, PIPELINE_COL = (
    _TASK_COLUMNS[h] for h in TASK_HEADERS[1:5]
)


def task_row(metric: Metric) -> int:
    return TASK_FIRST_ROW + METRICS.index(metric)


@dataclass(frozen=True, slots=True, eq=False)
class TaskGrid:
    """Where the 任务分解 cells are and where the 项目信息 cells their formulas count.

    :meth:`template` is the generated layout; ``xlz fill`` builds one from the labels
    and headers it found in the clerk's file, so that a row or a column inserted by a
    clerk (and the references the spreadsheet application adjusted for it) never puts a
    figure in the wrong cell or a formula on the wrong column."""

    rows: Mapping[Metric, int]  # metric → 任务分解 row (1-based)
    columns: Mapping[str, str]  # 任务分解 header (TASK_HEADERS) → column letter
    project_columns: Mapping[str, str]  # 项目信息 column key → column letter
    project_rows: tuple[int, int]  # first and last 项目信息 row counted (1-based)

    @classmethod
    def template(cls) -> TaskGrid:
        return cls({m: task_row(m) for m in METRICS}, _TASK_COLUMNS, letters(PROJECTS),
                   (FIRST_DATA_ROW, last_row(PROJECTS)))

    def cell(self, header: str, metric: Metric) -> str:
        return f"{self.columns[header]}{self.rows[metric]}"

    def project_range(self, key: str) -> str:
        col = self.project_columns[key]
        first, last = self.project_rows
        return f"{quote_sheet(PROJECTS.name)}!${col}${first}:${col}${last}"


_TARGET, _DONE, _RATE, _PIPELINE = TASK_HEADERS[1:5]


def _categories_of(plan: Plan, metric: Metric) -> tuple[str, ...]:
    group: Metric = "projects" if metric in ("invention_patents", "utility_patents") else metric
    return tuple(c.name for c in plan.categories if c.metric == group)


def _any_of(range_ref: str, values: Sequence[str]) -> str:
    return "(" + "+".join(f"(TRIM({range_ref})={_text(v)})" for v in values) + ")"


def _count_formula(plan: Plan, metric: Metric, statuses: Sequence[str], grid: TaskGrid) -> str:
    cats = _any_of(grid.project_range("category"), _categories_of(plan, metric))
    states = _any_of(grid.project_range("status"), statuses)
    if metric in ("invention_patents", "utility_patents"):
        # Whole numbers ≥ 0 only, as Python counts them. INT() of a text cell would be
        # #VALUE! for the whole array, so a fraction is spotted by the "." in its text
        # (the decimal point of the Chinese and English locales). As a separate
        # SUMPRODUCT argument, text counts as 0 instead of raising #VALUE!.
        counts = grid.project_range(metric)
        return (f"=SUMPRODUCT({cats}*{states}*ISNUMBER({counts})*({counts}>=0)"
                f'*ISERROR(FIND(".",{counts})),{counts})')
    return f"=SUMPRODUCT({cats}*{states})"


# The 项目信息 columns the 任务分解 formulas read.
TASK_PROJECT_KEYS: tuple[str, ...] = ("category", "status", "invention_patents",
                                      "utility_patents")


def task_formulas(plan: Plan, grid: TaskGrid | None = None) -> dict[str, str]:
    """Cell → formula for the live columns of 任务分解 (完成, 完成率, 洽谈中). 目标 is a
    plain value (blank where 附件2 prints none)."""
    grid = grid or TaskGrid.template()
    out: dict[str, str] = {}
    for metric in METRICS:
        target, done = grid.cell(_TARGET, metric), grid.cell(_DONE, metric)
        out[done] = _count_formula(plan, metric, plan.completed_statuses, grid)
        out[grid.cell(_RATE, metric)] = f'=IF(N({target})=0,"",{done}/{target})'
        out[grid.cell(_PIPELINE, metric)] = _count_formula(plan, metric,
                                                           plan.pipeline_statuses, grid)
    return out


def task_values(rows: Sequence[MetricProgress], grid: TaskGrid | None = None
                ) -> dict[str, int | float | str | None]:
    """Cell → value of 任务分解 as Python computes it (目标 None = leave blank; 完成率 "" =
    the formula's empty text)."""
    grid = grid or TaskGrid.template()
    out: dict[str, int | float | str | None] = {}
    for p in rows:
        out[grid.cell(_TARGET, p.metric)] = p.target
        out[grid.cell(_DONE, p.metric)] = p.done
        out[grid.cell(_RATE, p.metric)] = "" if p.rate is None else p.rate
        out[grid.cell(_PIPELINE, p.metric)] = p.pipeline
    return out


ENTRY_KEYS: Mapping[str, EntrySheet] = {s.key: s for s in (PROJECTS, CARRIERS, ACTIVITIES)}

"""The city workbook (市级汇总表, docs/standard.md section 5), written with xlsxwriter.

Every figure is computed in Python and written as a value: the city office forwards the
file, prints it and opens it in WPS, and a value cannot recalculate into something else.
Text that came from a town is always written as text (``write_string``, or the same
inline-string XML from :meth:`CitySheet.lines <xlz.books.citysheet.CitySheet.lines>`),
so ``=HYPERLINK(…)`` typed by a clerk stays text. ``constant_memory`` keeps a
100,000-row 项目信息库 small, which means every sheet is written strictly row by row, top
to bottom. The file appears atomically: written beside the target, then renamed over it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, get_args

from xlz.books import cityround
from xlz.books.citysheet import CitySheet, PageTitle
from xlz.books.xlsxwriter_internals import style_index
from xlz.core import layout as L
from xlz.core.catalogue import RULES
from xlz.core.consolidation import (
    STATUS_TEXT,
    Consolidation,
    FileResult,
    Issue,
    Row,
    evidence_text,
)
from xlz.core.entries import ACTIVITIES, PROJECTS
from xlz.core.errors import output_error
from xlz.core.issuelist import issue_list
from xlz.core.plan import METRICS, CarrierTarget, Metric
from xlz.core.rounds import RoundContext, missing
from xlz.core.summary import carrier_progress, render_direction
from xlz.core.text import match_key
from xlz.core.validator import Record, SheetColumns
from xlz.io.output import replacing
from xlz.ooxml.fastrows import ROW, BackgroundRows, Block, cells, column_cells, rows_block_of

# Sheet names, headers and row positions are the shared contract in xlz.core.layout (the
# city template has the same headers): header in row 1, data from row 2.
SHEET_TASKS = L.CITY_TASKS
CITY_SHEETS = L.CITY_SHEETS
COMPUTED_TOTAL_LABEL = L.CITY_TOTAL_LABEL
PRINTED_TOTAL_LABEL = L.CITY_PRINTED_TOTAL_LABEL
NO_TARGET = "—"  # 附件2 printed no target: never shown as 0 %
PROVENANCE = L.CITY_PROVENANCE_HEADERS

# A sheet written row by row and set up for A4 (xlz.books.citysheet, issue 12).
_Sheet = CitySheet


def _formats(book: Any) -> dict[str, Any]:
    base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
    return {
        "section": book.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1}),
        "header": book.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1,
                                   "text_wrap": True, "align": "center"}),
        "total": book.add_format({**base, "bold": True, "bg_color": "#FFF2CC", "border": 1}),
        "total_pct": book.add_format({**base, "bold": True, "bg_color": "#FFF2CC", "border": 1,
                                      "num_format": "0.0%"}),
        "printed": book.add_format({**base, "italic": True, "bg_color": "#FCE4D6", "border": 1}),
        "pct": book.add_format({**base, "num_format": "0.0%", "border": 1}),
        "cell": book.add_format({**base, "border": 1}),
        "area": book.add_format({**base, "num_format": "#,##0", "border": 1}),
        "date": book.add_format({**base, "num_format": "yyyy-mm-dd"}),
        "datetime": book.add_format({**base, "num_format": "yyyy-mm-dd hh:mm"}),
        "error": book.add_format({**base, "font_color": "#C00000"}),
        "note": book.add_format({**base, "italic": True, "font_color": "#595959"}),
        "wrap": book.add_format({**base, "border": 1, "text_wrap": True}),
        # A town without figures (未报送 / 未通过校验): its cells say so, never 0.
        "missing": book.add_format({**base, "border": 1, "italic": True,
                                    "font_color": "#C00000", "bg_color": "#F2F2F2",
                                    "align": "center"}),
        "wrap_plain": book.add_format({**base, "text_wrap": True}),
        "change": book.add_format({**base, "border": 1, "num_format": "+0;-0;0"}),
        "pct_plain": book.add_format({**base, "num_format": "0.0%"}),
    }


def _rate(done: float, target: int | None) -> float | str:
    return done / target if target else NO_TARGET


# ------------------------------------------------------------------------ 任务分解表


def _tasks(s: _Sheet, c: Consolidation) -> None:
    plan = c.plan
    headers = (*L.CITY_TASK_HEADERS, "洽谈中项目（个）", "报送状态")
    # Narrow figure columns under wrapped headers: the 18 columns print on one A4 width
    # at a readable size (issue 12: at 30/10/12 they were shrunk to an unreadable one).
    s.header(headers, (14, *([6] * 3 * len(METRICS)), 7, 9))
    s.ws.set_row(0, 80)
    s.ws.freeze_panes(1, 1)
    s.lines(_task_rows(s, c))
    computed = c.computed_total
    printed = plan.attachment2.printed_total
    total: list[Any] = [COMPUTED_TOTAL_LABEL]
    for metric in METRICS:
        total += [computed[metric], c.done_total[metric],
                  _rate(c.done_total[metric], computed[metric])]
    total += [sum(p.pipeline for t in c.towns for p in t.progress if p.metric == "projects"), ""]
    s.line(total, s.f["total"], [None, *([None, None, s.f["total_pct"]] * len(METRICS))])
    # The printed 合计 is never corrected: shown right under the computed one when they
    # differ (400/400/2000 printed against 398/398/1990 summed).
    differs = [m for m in METRICS if printed.get(m) != computed[m]]
    if differs:
        row_values: list[Any] = [PRINTED_TOTAL_LABEL]
        for metric in METRICS:
            row_values += [printed.get(metric), None, None]
        s.line(row_values, s.f["printed"])
        # Below, over the whole width (in the last column it ran off the printed page).
        s.line(["印刷合计与各镇区之和不符：" + "；".join(
            f"{_short(m)}{printed.get(m)}≠{computed[m]}" for m in differs)], s.f["note"])
    uncounted = [t.town.short for t in c.towns if t.state != "已报送"]
    if uncounted:
        s.line([f"合计只含已报送且通过校验的 {len(c.towns) - len(uncounted)} 个镇区；"
                f"未计入：{'、'.join(uncounted)}（见“报送情况”）"], s.f["note"])
    s.row += 1
    _city_targets(s, c)


def _task_rows(s: _Sheet, c: Consolidation) -> Iterator[tuple[list[Any], Any, list[Any]]]:
    labels = _plan_labels(c)
    for t in c.towns:
        by = {p.metric: p for p in t.progress}
        code = t.town.code
        values: list[Any] = [labels[code] if code in labels else c.plan.town(code).name]
        formats: list[Any] = [s.f["wrap"]]
        counted = t.state == "已报送"
        for metric in METRICS:
            p = by.get(metric)
            target = p.target if p else None
            if counted:
                done = p.done if p else 0
                values += [target, done, _rate(done, target)]
                formats += [s.f["cell"], s.f["cell"], s.f["pct"]]
            else:  # no figures: said so, not 0 (issue 12)
                values += [target, _missing_word(t.state), NO_TARGET]
                formats += [s.f["cell"], s.f["missing"], s.f["missing"]]
        pipeline = (by["projects"].pipeline if "projects" in by else 0) if counted else None
        values += [pipeline, t.state]
        formats += [None, None if counted else s.f["missing"]]
        yield values, s.f["cell"], formats


def _plan_labels(c: Consolidation) -> dict[str, str]:
    """:func:`plan_label` of every town 附件2 prints, looked up once."""
    labels: dict[str, str] = {}
    for row in c.plan.attachment2.rows:
        labels.setdefault(row.town, row.label)
    return labels


def plan_label(c: Consolidation, code: str) -> str:
    """The town as printed in 附件2 (the official name), else its official name."""
    for row in c.plan.attachment2.rows:
        if row.town == code:
            return row.label
    return c.plan.town(code).name


def _short(metric: Metric) -> str:
    return {"projects": "项目", "invention_patents": "发明专利", "utility_patents": "实用新型",
            "platform": "平台", "fund": "基金"}[metric]


def _city_targets(s: _Sheet, c: Consolidation) -> None:
    targets = c.plan.city_targets
    # What counts toward the carrier targets is the plan's rule (plan.carrier_counts).
    carried = {p.target_key: p for p in carrier_progress((r.record for r in c.carriers),
                                                         c.plan)}

    def counted(key: CarrierTarget) -> tuple[float, str]:
        found = carried.get(key)
        return (found.done, found.note) if found is not None else (0, "计划未规定计数规则")

    s.line([L.CITY_TARGET_TITLE, "目标", "完成", "完成率", "说明"], s.f["header"])
    labels = L.CITY_TARGET_LABELS
    rows: list[tuple[str, int, float, str]] = [
        (labels["projects"], targets.projects, c.done_total["projects"],
         "已签约、已注册、已投产的项目"),
        (labels["platform"], targets.platform, c.done_total["platform"], ""),
        (labels["fund"], targets.fund, c.done_total["fund"], ""),
        *((labels[key], getattr(targets, key), *counted(key))
          for key in get_args(CarrierTarget)),
    ]
    for label, target, done, note in rows:
        fmt = s.f["area"] if "面积" in label else s.f["cell"]
        s.line([label, target, done, _rate(done, target), note], s.f["cell"],
               [s.f["wrap"], fmt, fmt, s.f["pct"], s.f["note"]])


def _missing_word(state: str) -> str:
    return "未报送" if state == "未报送" else "未通过"


# ------------------------------------------------------------------------ 孵化载体汇总表


def _carrier_order(c: Consolidation) -> list[Row]:
    """附件4's town order (高新区 first), then the other towns in plan order; within a
    town, the order of the town's own sheet."""
    order: dict[str, int] = {}
    for carrier in c.plan.carriers:
        order.setdefault(carrier.town, len(order))
    for town in c.plan.towns:
        order.setdefault(town.code, len(order))
    return sorted(c.carriers, key=lambda r: (order[r.town.code], r.file.name, r.record.row))


def _carriers(s: _Sheet, c: Consolidation) -> None:
    s.header((*L.CARRIER_SUMMARY_HEADERS, *PROVENANCE), (6, 12, 24, 10, 26, 14, 10, 40, 18, 10, 6),
             printed=len(L.CARRIER_SUMMARY_HEADERS))
    s.ws.freeze_panes(1, 0)
    total = 0.0
    carriers = _carrier_order(c)
    s.lines(_carrier_rows(s, carriers))
    for r in carriers:
        total += r.record.values.get("area") or 0
    s.line(["合计", "", f"{len(c.carriers)}个载体", "", "", total], s.f["total"],
           [None] * 5 + [s.f["area"]])


def _carrier_rows(s: _Sheet, carriers: Sequence[Row]
                  ) -> Iterator[tuple[list[Any], Any, list[Any]]]:
    formats = [None] * 5 + [s.f["area"]]
    for seq, r in enumerate(carriers, start=1):
        v = r.record.values
        yield ([seq, r.town.short, v.get("name") or "", v.get("method"),
                render_direction(v.get("level"), v.get("type"), v.get("specialty")),
                v.get("area"), v.get("progress"), *_provenance(r)], s.f["cell"], formats)


def _provenance(r: Row) -> list[Any]:
    return [r.file.name, r.file.input.sha256, r.record.sheet, r.record.row]


# ------------------------------------------------------------------------ 项目信息库


def _projects(s: _Sheet, c: Consolidation) -> None:
    """Header, widths, panes and filter only: the rows are spliced in after the book is
    closed (:func:`_project_rows`, :mod:`xlz.ooxml.fastrows`) — 100,000 rows through
    xlsxwriter's per-cell calls would take most of a 500-town run."""
    columns = PROJECTS.input_columns
    headers = L.CITY_HEADERS[L.CITY_PROJECTS]
    # Too wide for one readable page: split across pages with 镇区/序号/项目名称 repeated.
    s.header(headers, [10, *(col.width for col in columns), 40, 18, 10, 6],
             printed=len(headers) - len(PROVENANCE), repeat=3)
    s.ws.freeze_panes(1, 3)
    s.ws.autofilter(0, 0, max(len(c.projects), 1), len(headers) - 1)


def _project_values(r: Row, keys: Sequence[str]) -> list[Any]:
    values, raw = r.record.values, r.record.raw
    row: list[Any] = [r.town.short]
    for key in keys:
        value = values.get(key)
        if value is None and raw.get(key) is not None:
            value = str(raw[key])  # a warning-level value, kept as typed
        row.append(value)
    row += _provenance(r)
    return row


def _entry_columns(records: Sequence[Record], keys: Sequence[str],
                   made: SheetColumns | None) -> list[list[Any]]:
    """The columns of :func:`_project_values` for ``keys``: a parsed value, else the
    value as typed when there is one (a warning-level value is kept). Read from the
    columns the validator made (``made``) when given, else from the records."""
    if made is not None and all(len(c) == len(records)
                                for c in (*made.raw_columns, *made.value_columns)):
        raw_of = dict(zip(made.raw_keys, made.raw_columns, strict=True))
        value_of = dict(zip(made.value_keys, made.value_columns, strict=True))
        nothing = [None] * len(records)
        out = []
        for k in keys:
            parsed, raw = value_of.get(k, nothing), raw_of.get(k, nothing)
            # A cell is empty when parsed only if it was empty as typed (None parses
            # to None): then the parsed column is the answer as it is.
            out.append(parsed if parsed.count(None) == raw.count(None) else
                       [v if v is not None or r is None else str(r)
                        for v, r in zip(parsed, raw, strict=True)])
        return out
    values = [r.values for r in records]
    raws = [r.raw for r in records]
    return [[v if v is not None or r is None else str(r)
             for v, r in zip(map(operator.methodcaller("get", k), values),
                             map(operator.methodcaller("get", k), raws), strict=True)]
            for k in keys]


def prebuilt_project_rows(f: FileResult, made: SheetColumns | None = None) -> bytes:
    """The 项目信息库 rows of an accepted file, built where its records are (a worker
    process): exactly what :func:`_project_rows` would make of them, numbers left open.
    ``made``: the validator's columns of its project records, when at hand
    (:func:`~xlz.core.validator.validate_with_columns`)."""
    assert f.town is not None
    keys = [col.key for col in PROJECTS.input_columns]
    width = len(L.CITY_HEADERS[L.CITY_PROJECTS])
    # Built column by column: the town and the provenance (file, hash, sheet) are the
    # same on every row of a file, and most entries repeat down a column.
    records = f.records("project")
    source = len(keys) + 1
    built = [column_cells(column, width, j)
             for j, column in enumerate(_entry_columns(records, keys, made), 1)]
    built.append(column_cells([r.sheet for r in records], width, source + 2))
    built.append(column_cells([r.row for r in records], width, source + 3))
    town = f'<row r="{ROW}">' + cells([f.town.short], width)
    file = cells([f.name, f.input.sha256], width, source)
    # Each row joined in one C call from its cells and the parts every row shares.
    rows = list(map("".join, zip(itertools.repeat(town), *built[:-2], itertools.repeat(file),
                                 built[-2], built[-1], itertools.repeat("</row>"))))
    return rows_block_of(rows)


def _project_rows(c: Consolidation, prebuilt: dict[int, bytes]
                  ) -> Iterator[list[Any] | Block]:
    """The rows of 项目信息库: a file's prebuilt rows (by ``id`` of its result) where
    they are exactly its run of accepted records, else row by row from the records."""
    keys = [col.key for col in PROJECTS.input_columns]
    projects = c.projects
    i = 0
    while i < len(projects):
        r = projects[i]
        f = r.file
        records = f.records("project")
        n = len(records)
        run = projects[i:i + n]
        block = prebuilt.get(id(f))
        if block is not None and n and len(run) == n and _same_run(run, f, records):
            yield Block(block, n)
            i += n
            continue
        yield _project_values(r, keys)
        i += 1


def _same_run(run: Sequence[Row], f: FileResult, records: Sequence[Record]) -> bool:
    """Whether ``run`` is exactly ``f``'s ``records``, in order (the same objects)."""
    # Three passes in C (map/all) instead of one in Python: 100,000 rows in a run.
    return (all(map(operator.is_, map(_RECORD, run), records))
            and all(map(operator.is_, map(_FILE, run), itertools.repeat(f)))
            and all(map(operator.is_, map(_TOWN, run), itertools.repeat(f.town))))


_RECORD = operator.attrgetter("record")
_FILE = operator.attrgetter("file")
_TOWN = operator.attrgetter("town")


# ------------------------------------------------------------------------ 招商活动


def _activities(s: _Sheet, c: Consolidation) -> None:
    """What the towns reported, with the 附件3 row each matches. 附件3's schedule and how
    it went is a sheet of its own (附件3执行情况, :mod:`xlz.books.cityround`)."""
    plan = c.plan
    seq_of = {match_key(a.name): a.seq for a in plan.activities}
    keys = [col.key for col in ACTIVITIES.input_columns]
    headers = L.CITY_HEADERS[L.CITY_ACTIVITIES]
    s.header(headers, (10, 6, 28, 6, 16, 10, 10, 7, 7, 14, 10, 40, 18, 10, 6),
             printed=len(headers) - len(PROVENANCE))
    s.ws.freeze_panes(1, 0)
    s.lines(([r.town.short, *(v.get(k) for k in keys),
              seq_of.get(match_key(v.get("name") or "")), *_provenance(r)], s.f["cell"], ())
            for r, v in ((r, r.record.values) for r in c.activities))


# ------------------------------------------------------------------------ 报送情况


def _status(s: _Sheet, c: Consolidation, r: RoundContext) -> None:
    headers = (*L.CITY_HEADERS[L.CITY_SUBMISSIONS], "时间依据", "SHA-256")
    s.header(headers, (8, 10, 20, 11, 8, 5, 5, 5, 5, 5, 24, 18, 18),
             printed=len(headers) - 1)  # the SHA-256 is for the screen, not for paper
    s.ws.freeze_panes(1, 1)
    s.lines(_status_rows(s, c))
    if c.unassigned:
        s.row += 1
        s.section("未能归属镇区的文件（原因见问题清单）", 5)
        for f in c.unassigned:
            # An unreadable file says why in its status (文件已加密, 邮件没有表格附件 …).
            state = STATUS_TEXT[f.status]
            if f.status == "unreadable" and f.report.findings:
                state = RULES[f.report.findings[0].code].title
            s.line(["—", state, *_file_columns(f, "")], s.f["wrap"], [None, s.f["error"]])
    behind = missing(c, r.contacts)
    if behind:
        s.row += 1
        s.section(f"未报送或未通过校验的镇区（{len(behind)} 个）：请联系", 5)
        s.line(("镇区", "报送状态", "联系人", "文件"), s.f["header"])
        for m in behind:
            s.line([m.town.short, m.state, m.contact, m.file or "（未收到）"], s.f["wrap"],
                   [None, s.f["missing"]])


def _status_rows(s: _Sheet, c: Consolidation) -> Iterator[tuple[list[Any], Any, list[Any]]]:
    for t in c.towns:
        old = "\n".join(f"{f.name}（{evidence_text(f.input)}；{f.change_text()}）"
                        for f in t.superseded)
        state_fmt = s.f["error"] if t.state != "已报送" else None
        if t.winner is None:
            # Nothing received: blank counts, not 0 (issue 12).
            yield ([t.town.short, t.state, "", "", "", None, None, None, None, None, old],
                   s.f["wrap"], [None, state_fmt])
            continue
        basis = evidence_text(t.winner.input)
        if t.uncertain:  # the decision rests on the file time or a tie: marked, not hidden
            basis = f"⚠ 先后无法确定，请核实（见问题清单）；{basis}"
        yield ([t.town.short, t.state, *_file_columns(t.winner, old, basis)], s.f["wrap"],
               [None, state_fmt, *([None] * 9), s.f["error"] if t.uncertain else None])


def _when(f: FileResult) -> str:
    received = f.input.received
    return received.strftime("%Y-%m-%d %H:%M") if received else ""


def _file_columns(f: FileResult, superseded: str, basis: str | None = None) -> list[Any]:
    counts = f.counts()
    report = f.report.counts()
    return [f.name, _when(f), f.template_version, counts["project"], counts["carrier"],
            counts["activity"], report["错误"], report["提醒"], superseded,
            basis if basis is not None else f.input.received_from, f.input.sha256]


# ------------------------------------------------------------------------ 问题清单


def _issues(s: _Sheet, listed: Sequence[Issue]) -> None:
    """错误 first, then 提醒; a file whose rows do not count is one line here, its rows
    are on 未计入汇总的行 (:mod:`xlz.core.issuelist`)."""
    headers = L.CITY_HEADERS[L.CITY_ISSUES]
    s.header(headers, (6, 8, 18, 8, 12, 10, 14, 50, 26), printed=len(headers) - 1)
    s.ws.freeze_panes(1, 0)
    s.lines(_issue_rows(s, listed))
    if s.row > 1:
        s.ws.autofilter(0, 0, s.row - 1, 8)


def _issue_rows(s: _Sheet, listed: Sequence[Issue]
                ) -> Iterator[tuple[list[Any], Any, list[Any]]]:
    wrap = s.f["wrap_plain"]
    for seq, issue in enumerate(listed, start=1):
        f = issue.finding
        value = f.value if isinstance(f.value, (str, int, float)) and \
            not isinstance(f.value, bool) else (None if f.value is None else str(f.value))
        yield ([seq, issue.town, issue.file, f.severity.value, f.address, f.column or "",
                value, f.message, f.code], None,
               [None, None, wrap, s.f["error"] if f.severity.value == "错误" else None,
                None, None, wrap, wrap])


# ------------------------------------------------------------------------ the book


def write_city_workbook(c: Consolidation, out: str | os.PathLike[str], *,
                        project_rows: Sequence[bytes | None] = (),
                        round_info: RoundContext | None = None) -> Path:
    """Write the city workbook to ``out`` atomically; returns the path.
    ``project_rows[i]``, when given, are the 项目信息库 rows of ``c.files[i]`` prebuilt
    by :func:`prebuilt_project_rows` (in a worker process). ``round_info``: the period,
    the earlier rounds and known contacts (default: today, no history)."""
    info = round_info if round_info is not None else RoundContext(dt.date.today())
    prebuilt = {id(f): rows for f, rows in zip(c.files, project_rows, strict=False)
                if rows is not None}
    target = Path(out)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(target, exc) from exc
    with replacing(target) as tmp:
        book, formats, date_style = _open_book(c, str(tmp))
        # 项目信息库's rows are rendered and compressed in background threads (the
        # deflate releases the GIL) while xlsxwriter writes the other sheets here; they
        # are spliced into the closed book.
        rows = BackgroundRows(_project_rows(c, prebuilt), len(c.projects),
                              len(L.CITY_HEADERS[L.CITY_PROJECTS]), 2, date_style)
        try:
            _write_sheets(book, formats, c, info)
            book.close()
        except BaseException:
            rows.cancel()
            raise
        part = f"xl/worksheets/sheet{L.CITY_BOOK_SHEETS.index(L.CITY_PROJECTS) + 1}.xml"
        rows.splice(tmp, part)
    return target


def _open_book(c: Consolidation, path: str) -> tuple[Any, dict[str, Any], int]:
    """The xlsxwriter book, its formats and the date style index rows refer to."""
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"constant_memory": True,
                                      "strings_to_formulas": False,
                                      "strings_to_numbers": False,
                                      "strings_to_urls": False})
    book.set_properties({"title": f"{c.plan.year}年{c.plan.city}科技招商汇总表",
                         "author": "xlz", "comments": "由 xlz consolidate 生成"})
    book.set_custom_property("xlz.template", "city")
    book.set_custom_property("xlz.standard", "1")
    book.set_custom_property("xlz.plan", c.plan.id)
    formats = _formats(book)
    return book, formats, style_index(formats["date"])  # registered before close()


def _write_sheets(book: Any, formats: dict[str, Any], c: Consolidation, r: RoundContext) -> None:
    page = PageTitle(L.CITY_TITLE.format(year=c.plan.year, city=c.plan.city), r.period,
                     r.period_source)
    issues = issue_list(c, L.CITY_EXCLUDED_ROWS)
    writers: dict[str, Callable[[CitySheet], None]] = {
        L.CITY_TASKS: lambda s: _tasks(s, c),
        L.CITY_RANKING: lambda s: cityround.ranking(s, c, r),
        L.CITY_COMPARISON: lambda s: cityround.comparison(s, c, r),
        L.CITY_PROJECT_CHANGES: lambda s: cityround.project_changes(s, c, r),
        L.CITY_CHARTS: lambda s: cityround.charts(s, c, r),
        L.CITY_CARRIERS: lambda s: _carriers(s, c),
        L.CITY_PROJECTS: lambda s: _projects(s, c),
        L.CITY_ACTIVITIES: lambda s: _activities(s, c),
        L.CITY_SCHEDULE: lambda s: cityround.schedule(s, c, r),
        L.CITY_SUBMISSIONS: lambda s: _status(s, c, r),
        L.CITY_ISSUES: lambda s: _issues(s, issues.listed),
        L.CITY_EXCLUDED_ROWS: lambda s: cityround.excluded_rows(s, issues.detail),
    }
    assert set(writers) == set(L.CITY_BOOK_SHEETS)
    for name in L.CITY_BOOK_SHEETS:
        writers[name](CitySheet(book, name, formats, page))

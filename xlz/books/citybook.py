"""The city workbook (市级汇总表, docs/standard.md section 5), written with xlsxwriter.

Every figure is computed in Python and written as a value: the city office forwards the
file, prints it and opens it in WPS, and a value cannot recalculate into something else.
Text that came from a town is always written with ``write_string``, so ``=HYPERLINK(…)``
typed by a clerk stays text. ``constant_memory`` keeps a 100,000-row 项目信息库 small,
which means every sheet is written strictly row by row, top to bottom. The file appears
atomically: written beside the target, then renamed over it.
"""

from __future__ import annotations

import datetime as dt
import operator
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, get_args

from xlz.books.xlsxwriter_internals import style_index
from xlz.core import layout as L
from xlz.core.catalogue import RULES
from xlz.core.consolidation import STATUS_TEXT, Consolidation, FileResult, Row
from xlz.core.entries import ACTIVITIES, PROJECTS
from xlz.core.errors import output_error
from xlz.core.plan import METRICS, CarrierTarget, Metric
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

class _Sheet:
    """A worksheet written row by row (constant_memory), text always as text."""

    def __init__(self, book: Any, name: str, formats: dict[str, Any]) -> None:
        self.book = book
        self.ws = book.add_worksheet(name)
        self.f = formats
        self.row = 0
        # The city office prints these for meetings: A4 landscape, every column on the
        # page width, the header row repeated on each page.
        self.ws.set_landscape()
        self.ws.set_paper(9)
        self.ws.fit_to_pages(1, 0)
        self.ws.repeat_rows(0)

    def put(self, row: int, col: int, value: Any, fmt: Any = None) -> None:
        ws = self.ws
        if value is None:
            if fmt is not None:
                ws.write_blank(row, col, None, fmt)
        elif isinstance(value, str):
            ws.write_string(row, col, value, fmt)
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value, fmt)
        elif isinstance(value, (int, float)):
            ws.write_number(row, col, value, fmt)
        elif isinstance(value, dt.datetime):
            ws.write_datetime(row, col, value, fmt or self.f["datetime"])
        elif isinstance(value, dt.date):
            ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()),
                              fmt or self.f["date"])
        else:
            ws.write_string(row, col, str(value), fmt)

    def line(self, values: Sequence[Any], fmt: Any = None, formats: Sequence[Any] = ()) -> int:
        row = self.row
        for col, value in enumerate(values):
            self.put(row, col, value, formats[col] if col < len(formats) and formats[col]
                     else fmt)
        self.row += 1
        return row

    def section(self, text: str, width: int) -> None:
        """A heading over ``width`` columns (merged along the row: constant_memory-safe)."""
        self.ws.merge_range(self.row, 0, self.row, width - 1, text, self.f["section"])
        self.row += 1

    def header(self, headers: Sequence[str], widths: Sequence[float] = ()) -> None:
        for col, width in enumerate(widths):
            self.ws.set_column(col, col, width)
        self.line(headers, self.f["header"])


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
    }


def _rate(done: float, target: int | None) -> float | str:
    return done / target if target else NO_TARGET


# ------------------------------------------------------------------------ 任务分解表


def _tasks(s: _Sheet, c: Consolidation) -> None:
    plan = c.plan
    headers = (*L.CITY_TASK_HEADERS, "洽谈中项目（个）", "报送状态")
    s.header(headers, (30, *([10] * 3 * len(METRICS)), 12, 12))
    s.ws.set_row(0, 42)
    s.ws.freeze_panes(1, 1)
    first = s.row
    for t in c.towns:
        by = {p.metric: p for p in t.progress}
        values: list[Any] = [plan_label(c, t.town.code)]
        formats: list[Any] = [s.f["cell"]]
        for metric in METRICS:
            p = by.get(metric)
            target = p.target if p else None
            done = p.done if p else 0
            values += [target, done, _rate(done, target)]
            formats += [s.f["cell"], s.f["cell"], s.f["pct"]]
        pipeline = by["projects"].pipeline if "projects" in by else 0
        values += [pipeline, t.state]
        s.line(values, s.f["cell"], formats)
    last = s.row - 1
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
        row_values += [None, "印刷合计与各镇区之和不符：" + "；".join(
            f"{_short(m)}{printed.get(m)}≠{computed[m]}" for m in differs)]
        s.line(row_values, s.f["printed"])
    s.row += 1
    _city_targets(s, c)
    _chart(s, first, last)


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
               [None, fmt, fmt, s.f["pct"], s.f["note"]])


def _chart(s: _Sheet, first: int, last: int) -> None:
    chart = s.book.add_chart({"type": "column"})
    chart.add_series({
        "name": "科创类、人才类、服务类项目完成率",
        "categories": [SHEET_TASKS, first, 0, last, 0],
        "values": [SHEET_TASKS, first, 3, last, 3],
        "data_labels": {"value": True, "num_format": "0%"},
    })
    chart.set_title({"name": "各镇区科技招商项目完成率"})
    chart.set_y_axis({"num_format": "0%", "min": 0})
    chart.set_legend({"none": True})
    chart.set_size({"width": 900, "height": 360})
    # Below the tables, so the sheet still prints one page wide.
    s.ws.insert_chart(s.row + 1, 0, chart)


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
    s.header((*L.CARRIER_SUMMARY_HEADERS, *PROVENANCE), (6, 12, 24, 10, 26, 14, 10, 40, 18, 10, 6))
    s.ws.freeze_panes(1, 0)
    total = 0.0
    for seq, r in enumerate(_carrier_order(c), start=1):
        v = r.record.values
        area = v.get("area")
        total += area or 0
        s.line([seq, r.town.short, v.get("name") or "", v.get("method"),
                render_direction(v.get("level"), v.get("type"), v.get("specialty")),
                area, v.get("progress"), *_provenance(r)],
               s.f["cell"], [None] * 5 + [s.f["area"]])
    s.line(["合计", "", f"{len(c.carriers)}个载体", "", "", total], s.f["total"],
           [None] * 5 + [s.f["area"]])


def _provenance(r: Row) -> list[Any]:
    return [r.file.name, r.file.input.sha256, r.record.sheet, r.record.row]


# ------------------------------------------------------------------------ 项目信息库


def _projects(s: _Sheet, c: Consolidation) -> None:
    """Header, widths, panes and filter only: the rows are spliced in after the book is
    closed (:func:`_project_rows`, :mod:`xlz.ooxml.fastrows`) — 100,000 rows through
    xlsxwriter's per-cell calls would take most of a 500-town run."""
    columns = PROJECTS.input_columns
    headers = L.CITY_HEADERS[L.CITY_PROJECTS]
    s.header(headers, [10, *(col.width for col in columns), 40, 18, 10, 6])
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
        return [[v if v is not None or r is None else str(r)
                 for v, r in zip(value_of.get(k, nothing), raw_of.get(k, nothing),
                                 strict=True)] for k in keys]
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
    rows = [town + "".join(c[:-2]) + file + c[-2] + c[-1] + "</row>" for c in zip(*built, strict=True)]
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
        if block is not None and n and len(run) == n and all(
                x.file is f and x.town is f.town and x.record is rec
                for x, rec in zip(run, records, strict=True)):
            yield Block(block, n)
            i += n
            continue
        yield _project_values(r, keys)
        i += 1


# ------------------------------------------------------------------------ 招商活动


def _activities(s: _Sheet, c: Consolidation) -> None:
    """What the towns reported (header in row 1), then 附件3's schedule with its state."""
    plan = c.plan
    seq_of = {match_key(a.name): a.seq for a in plan.activities}
    keys = [col.key for col in ACTIVITIES.input_columns]
    s.header(L.CITY_HEADERS[L.CITY_ACTIVITIES], (10, 6, 36, 10, 20, 12, 10, 10, 10, 20, 10,
                                                  40, 18, 10, 6))
    s.ws.freeze_panes(1, 0)
    by_name: dict[str, list[Row]] = {}
    for r in c.activities:
        v = r.record.values
        by_name.setdefault(match_key(v.get("name") or ""), []).append(r)
        s.line([r.town.short, *(v.get(k) for k in keys),
                seq_of.get(match_key(v.get("name") or "")), *_provenance(r)], s.f["cell"])
    s.row += 1
    s.section(f"附件3 {plan.year}年{plan.city}科技招商活动安排表及举办情况", 7)
    s.line(("序号", "活动名称", "时间（附件3）", "主办单位", "状态", "报送镇区", "说明"),
           s.f["header"])
    matched: set[int] = set()
    generic = None
    for activity in plan.activities:
        rows = by_name.get(match_key(activity.name), [])
        matched.update(id(r) for r in rows)
        if not activity.month and "各镇" in activity.host:
            generic = activity  # 各镇区科技招商活动: everything else the towns held
            continue
        s.line([activity.seq, activity.name, activity.time, activity.host, _state(rows),
                "、".join(sorted({r.town.short for r in rows})), ""], s.f["cell"])
    if generic is not None:
        others = [r for r in c.activities if id(r) not in matched]
        held = sum(1 for r in others if r.record.values.get("state") == "已举办")
        s.line([generic.seq, generic.name, generic.time, generic.host,
                "已举办" if held else "计划",
                "、".join(sorted({r.town.short for r in others})),
                f"各镇区报送的其他活动{len(others)}场，其中已举办{held}场"], s.f["cell"])


def _state(rows: Sequence[Row]) -> str:
    states = {r.record.values.get("state") for r in rows}
    if "已举办" in states:
        return "已举办"
    if states == {"取消"}:
        return "取消"
    return "计划"


# ------------------------------------------------------------------------ 报送情况


def _status(s: _Sheet, c: Consolidation) -> None:
    s.header((*L.CITY_HEADERS[L.CITY_SUBMISSIONS], "时间依据", "SHA-256"),
             (12, 12, 40, 17, 16, 8, 8, 8, 8, 8, 60, 10, 18))
    s.ws.freeze_panes(1, 1)
    for t in c.towns:
        old = "\n".join(f"{f.name}（{_when(f)}收到；{f.change_text()}）" for f in t.superseded)
        state_fmt = s.f["error"] if t.state != "已报送" else None
        if t.winner is None:
            s.line([t.town.short, t.state, "", "", "", 0, 0, 0, 0, 0, old], s.f["cell"],
                   [None, state_fmt])
            continue
        s.line([t.town.short, t.state, *_file_columns(t.winner, old)], s.f["cell"],
               [None, state_fmt])
    if c.unassigned:
        s.row += 1
        s.section("未能归属镇区的文件（原因见问题清单）", 5)
        for f in c.unassigned:
            # An unreadable file says why in its status (文件已加密, 邮件没有表格附件 …).
            state = STATUS_TEXT[f.status]
            if f.status == "unreadable" and f.report.findings:
                state = RULES[f.report.findings[0].code].title
            s.line(["—", state, *_file_columns(f, "")], s.f["cell"], [None, s.f["error"]])


def _when(f: FileResult) -> str:
    received = f.input.received
    return received.strftime("%Y-%m-%d %H:%M") if received else ""


def _file_columns(f: FileResult, superseded: str) -> list[Any]:
    counts = f.counts()
    report = f.report.counts()
    return [f.name, _when(f), f.template_version, counts["project"], counts["carrier"],
            counts["activity"], report["错误"], report["提醒"], superseded,
            f.input.received_from, f.input.sha256]


# ------------------------------------------------------------------------ 问题清单


def _issues(s: _Sheet, c: Consolidation) -> None:
    s.header(L.CITY_HEADERS[L.CITY_ISSUES], (6, 10, 40, 8, 16, 16, 20, 80, 26))
    s.ws.freeze_panes(1, 0)
    for seq, issue in enumerate(c.issues, start=1):
        f = issue.finding
        value = f.value if isinstance(f.value, (str, int, float)) and \
            not isinstance(f.value, bool) else (None if f.value is None else str(f.value))
        s.line([seq, issue.town, issue.file, f.severity.value, f.address, f.column or "",
                value, f.message, f.code], None,
               [None, None, None, s.f["error"] if f.severity.value == "错误" else None])
    if s.row > 1:
        s.ws.autofilter(0, 0, s.row - 1, 8)


# ------------------------------------------------------------------------ the book


def write_city_workbook(c: Consolidation, out: str | os.PathLike[str], *,
                        project_rows: Sequence[bytes | None] = ()) -> Path:
    """Write the city workbook to ``out`` atomically; returns the path.
    ``project_rows[i]``, when given, are the 项目信息库 rows of ``c.files[i]`` prebuilt
    by :func:`prebuilt_project_rows` (in a worker process)."""
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
            _write_sheets(book, formats, c)
            book.close()
        except BaseException:
            rows.cancel()
            raise
        part = f"xl/worksheets/sheet{CITY_SHEETS.index(L.CITY_PROJECTS) + 1}.xml"
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


def _write_sheets(book: Any, formats: dict[str, Any], c: Consolidation) -> None:
    writers = (_tasks, _carriers, _projects, _activities, _status, _issues)
    for name, writer in zip(CITY_SHEETS, writers, strict=True):
        writer(_Sheet(book, name, formats), c)

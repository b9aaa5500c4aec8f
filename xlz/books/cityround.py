"""The sheets of the city workbook about the round (issue 12): 排名, 进度对比, 项目变化,
图表, 附件3执行情况 and 未计入汇总的行. The figures come from :mod:`xlz.core.rounds` and
:mod:`xlz.core.issuelist`; here they are only laid out.

A town that sent nothing (未报送) or whose file failed (未通过校验) has no figures: its
cells say so (never 0), it ranks last and unnumbered, and in the charts its category
label carries the state and it has no bar — unlike a town that reported 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from xlz.books.citysheet import CitySheet
from xlz.core import layout as L
from xlz.core.consolidation import Consolidation, Issue, TownResult, base_name
from xlz.core.plan import METRICS
from xlz.core.rounds import RoundContext, activities_held, compare, missing, standings, trend
from xlz.core.summary import METRIC_LABELS

NONE = "—"
_SHORT = dict(zip(METRICS, L.CITY_METRIC_SHORT, strict=True))


def _word(state: str) -> str:
    return "未报送" if state == "未报送" else "未通过"


def chart_label(t: TownResult) -> str:
    """A town's category label in the charts: its state appended when it has no figures."""
    return t.town.short if t.state == "已报送" else f"{t.town.short}（{t.state}）"


def contact_of(c: Consolidation, r: RoundContext, code: str) -> str:
    return _contacts(c, r)(code)


def _contacts(c: Consolidation, r: RoundContext) -> Callable[[str], str]:
    """:func:`contact_of` for many towns: who is missing is worked out once."""
    known = {m.town.code: m.contact for m in missing(c, r.contacts)}

    def contact(code: str) -> str:
        return known.get(code) or r.contacts.get(code) or c.plan.town(code).contact or NONE
    return contact


# ------------------------------------------------------------------------ 排名


def ranking(s: CitySheet, c: Consolidation, r: RoundContext) -> None:
    headers = ("名次", "镇区", "报送状态", "综合完成率",
               *(f"{_SHORT[m]}完成率" for m in METRICS), "联系人")
    s.header(headers, (6, 14, 10, 10, *([9] * len(METRICS)), 22))
    s.ws.set_row(0, 44)
    s.ws.freeze_panes(1, 2)
    s.lines(_ranking_rows(s, c, r))
    weights = "、".join(f"{_SHORT[m]}{c.plan.weight(m):g}" for m in METRICS)
    s.row += 1
    s.line([f"综合完成率：各指标完成率按计划规定的权重（{weights}）加权平均，只计有目标的指标，"
            "超过100%的照计。未报送、未通过校验的镇区没有完成数，不参与排名，列在最后。"],
           s.f["note"])


def _ranking_rows(s: CitySheet, c: Consolidation, r: RoundContext
                  ) -> Iterator[tuple[list[Any], Any, list[Any]]]:
    contacts = _contacts(c, r)
    for st in standings(c):
        counted = st.rank is not None
        rates = [st.rates.get(m) if counted else None for m in METRICS]
        values: list[Any] = [
            st.rank if counted else NONE, st.town.short, st.state,
            st.score if st.score is not None else (_word(st.state) if st.state != "已报送"
                                                   else NONE),
            *(NONE if x is None else x for x in rates),
            contacts(st.town.code) if st.state != "已报送" else "",
        ]
        pct = s.f["pct"] if counted else s.f["missing"]
        yield values, s.f["cell"], [None, None, None if st.state == "已报送" else s.f["missing"],
                                    pct, *([s.f["pct"]] * len(METRICS))]


# ------------------------------------------------------------------------ 进度对比


def comparison(s: CitySheet, c: Consolidation, r: RoundContext) -> None:
    previous = r.previous
    then = f"{previous.period:%m-%d}" if previous else "上轮"
    now = f"{r.period:%m-%d}"
    headers = ("镇区", "报送状态", *(f"{_SHORT[m]}{part}" for m in METRICS
                                  for part in (f"上轮（{then}）", f"本轮（{now}）", "变化")))
    s.header(headers, (14, 14, *([6] * 3 * len(METRICS))))
    s.ws.set_row(0, 70)
    s.ws.freeze_panes(1, 1)
    if previous is None:
        s.line(["台账中没有更早的轮次：进度对比从第二轮汇总起显示。"], s.f["note"])
        return
    cmp = compare(previous, c)
    by_town: dict[str, list[Any]] = {}
    for fc in cmp.figures:
        by_town.setdefault(fc.town.code, []).append(fc)
    s.lines(_comparison_rows(s, c, by_town))
    s.row += 1
    s.line([f"上轮：截至 {previous.period:%Y-%m-%d}；本轮：截至 {r.period:%Y-%m-%d}。"
            "某一轮未报送或未通过校验的镇区没有该轮完成数，不计算变化。"], s.f["note"])


def _comparison_rows(s: CitySheet, c: Consolidation, by_town: dict[str, list[Any]]
                     ) -> Iterator[tuple[list[Any], Any, list[Any]]]:
    for t in c.towns:
        changes = by_town[t.town.code]
        first = changes[0]
        state = f"{first.state_before or '（无）'}→{first.state_now}"
        values: list[Any] = [t.town.short, state]
        formats: list[Any] = [None, None]
        for fc in changes:
            before = fc.before if fc.before is not None else (
                _word(fc.state_before) if fc.state_before else NONE)
            current = fc.now if fc.now is not None else _word(fc.state_now)
            change = fc.change if fc.change is not None else NONE
            values += [before, current, change]
            formats += [None if fc.before is not None else s.f["missing"],
                        None if fc.now is not None else s.f["missing"],
                        s.f["change"] if fc.change is not None else s.f["missing"]]
        yield values, s.f["cell"], formats


def project_changes(s: CitySheet, c: Consolidation, r: RoundContext) -> None:
    s.header(("镇区", "项目名称", "变化", "上轮项目进展", "本轮项目进展"), (12, 44, 18, 14, 14))
    s.ws.freeze_panes(1, 0)
    previous = r.previous
    if previous is None:
        s.line(["", "台账中没有更早的轮次：项目变化从第二轮汇总起显示。"], s.f["note"])
        return
    cmp = compare(previous, c)
    order = {t.code: i for i, t in enumerate(c.plan.towns)}
    short = {t.code: t.short for t in c.plan.towns}
    for sc in sorted(cmp.status_changes, key=lambda x: order.get(x.project.town, 99)):
        s.line([short[sc.project.town], sc.project.name, "项目进展变化", sc.before or NONE,
                sc.project.status or NONE], s.f["cell"])
    for p in sorted(cmp.new_projects, key=lambda x: order.get(x.town, 99)):
        s.line([short[p.town], p.name, "上轮以来新增", NONE, p.status or NONE], s.f["cell"])
    for p in sorted(cmp.dropped, key=lambda x: order.get(x.town, 99)):
        s.line([short[p.town], p.name, "本轮报送中已没有", p.status or NONE, NONE],
               s.f["cell"])
    if not (cmp.status_changes or cmp.new_projects or cmp.dropped):
        s.line(["", "与上轮相比没有项目变化。"], s.f["note"])


# ------------------------------------------------------------------------ 图表


_DATA_COL = 20  # chart data lives right of the print area (columns A–M)
_CHART_ROWS = 16  # rows per chart: two to an A4 landscape page
_CHART = {"width": 800, "height": 300}


def charts(s: CitySheet, c: Consolidation, r: RoundContext) -> None:
    """目标与完成 per metric (one chart each), then the trend of the city's 完成率 over
    the rounds. The data tables the charts draw from are beside them, off the page."""
    ws = s.ws
    s.print_columns([8.43] * 13)  # the charts' width
    cells: dict[int, list[tuple[int, Any, Any]]] = {}

    def put(row: int, col: int, value: Any, fmt: Any = None) -> None:
        cells.setdefault(row, []).append((col, value, fmt))

    anchors: list[tuple[int, Any]] = []
    col = _DATA_COL
    # Each town's progress by metric, looked up once (not per metric and per cell).
    firsts = [(t, chart_label(t), _first_progress(t)) for t in c.towns]
    for i, metric in enumerate(METRICS):
        put(0, col, "镇区")
        put(0, col + 1, "目标")
        put(0, col + 2, "完成")
        j = 0
        for t, label, first in firsts:
            p = first.get(metric)
            if p is None or p.target is None:
                continue
            j += 1
            put(j, col, label)
            put(j, col + 1, p.target)
            # None (no bar) for a town without figures
            put(j, col + 2, p.done if t.state == "已报送" else None)
        chart = s.book.add_chart({"type": "column"})
        last = max(j, 1)
        chart.add_series({"name": "目标", "categories": [s.name, 1, col, last, col],
                          "values": [s.name, 1, col + 1, last, col + 1],
                          "fill": {"color": "#BFBFBF"}, "gap": 60})
        chart.add_series({"name": "完成", "categories": [s.name, 1, col, last, col],
                          "values": [s.name, 1, col + 2, last, col + 2],
                          "fill": {"color": "#2F5597"},
                          "data_labels": {"value": True, "font": {"size": 8}}})
        chart.set_title({"name": f"{METRIC_LABELS[metric]}：目标与完成（截至{r.period:%m月%d日}）",
                         "name_font": {"size": 11}})
        chart.set_x_axis({"num_font": {"size": 8}})
        chart.set_legend({"position": "top"})
        chart.show_blanks_as("gap")
        chart.set_size(_CHART)
        anchors.append((i * _CHART_ROWS, chart))
        col += 4
    rounds = trend(r.earlier, c, r.period)
    trend_row = len(METRICS) * _CHART_ROWS
    targets = c.computed_total
    if len(rounds) > 1:
        put(0, col, "统计期")
        for k, metric in enumerate(METRICS, start=1):
            put(0, col + k, _SHORT[metric])
        for j, (period, done) in enumerate(rounds, start=1):
            put(j, col, f"{period:%Y-%m-%d}")
            for k, metric in enumerate(METRICS, start=1):
                value, target = done[metric], targets[metric]
                put(j, col + k, value / target if value is not None and target else None,
                    s.f["pct_plain"])
        chart = s.book.add_chart({"type": "line"})
        for k in range(1, len(METRICS) + 1):
            chart.add_series({"name": [s.name, 0, col + k],
                              "categories": [s.name, 1, col, len(rounds), col],
                              "values": [s.name, 1, col + k, len(rounds), col + k],
                              "marker": {"type": "circle"}})
        chart.set_title({"name": "全市各指标完成率趋势（逐轮）", "name_font": {"size": 11}})
        chart.set_y_axis({"num_format": "0%", "min": 0})
        chart.set_legend({"position": "top"})
        chart.set_size(_CHART)
        anchors.append((trend_row, chart))
    else:
        put(trend_row, 0, "趋势图：台账中还没有更早的轮次，从第二轮汇总起显示。", s.f["note"])
    # constant_memory: strictly row by row (each row's columns are put in order)
    s.cell_rows((row, cells[row]) for row in sorted(cells))
    for row, chart in anchors:
        ws.insert_chart(row, 0, chart)
    ws.set_h_pagebreaks([k * 2 * _CHART_ROWS for k in range(1, 4)])


def _first_progress(t: TownResult) -> dict[str, Any]:
    """A town's progress by metric (the first entry of each)."""
    first: dict[str, Any] = {}
    for p in t.progress:
        first.setdefault(p.metric, p)
    return first


# ------------------------------------------------------------------------ 附件3执行情况


def schedule(s: CitySheet, c: Consolidation, r: RoundContext) -> None:
    """附件3's schedule, row by row, with whether the towns held it: in columns of its own
    (issue 12: under the reported activities it was cut off on paper)."""
    plan = c.plan
    s.header(("序号", "活动名称", "时间（附件3）", "主办单位", "举办情况", "报送镇区", "说明"),
             (6, 34, 12, 18, 10, 18, 24))
    s.ws.freeze_panes(1, 0)
    scheduled, others = activities_held(plan.activities, c.activities,
                                        lambda x: x.record.values.get("name"),
                                        lambda x: x.record.values.get("state"))
    generic = None
    wrap = s.f["wrap"]
    for h in scheduled:
        activity = h.activity
        if not activity.month and "各镇" in activity.host:
            generic = activity  # 各镇区科技招商活动: everything else the towns held
            continue
        s.line([activity.seq, activity.name, activity.time, activity.host, h.state,
                "、".join(sorted({x.town.short for x in h.reported})), ""], s.f["cell"],
               [None, wrap, None, wrap, None, wrap])
    if generic is not None:
        held = sum(1 for x in others if x.record.values.get("state") == "已举办")
        s.line([generic.seq, generic.name, generic.time, generic.host,
                "已举办" if held else "计划",
                "、".join(sorted({x.town.short for x in others})),
                f"各镇区报送的其他活动{len(others)}场，其中已举办{held}场"], s.f["cell"],
               [None, wrap, None, wrap, None, wrap, wrap])


# ------------------------------------------------------------------------ 未计入汇总的行


def excluded_rows(s: CitySheet, detail: Sequence[Issue]) -> None:
    """Every row of a file that does not count, one line each (问题清单 has one line per
    such file)."""
    s.header(("序号", "镇区", "文件", "位置", "名称", "原因", "规则代码"),
             (6, 10, 24, 16, 24, 36, 20), printed=6)
    s.ws.freeze_panes(1, 0)
    formats = [None, None, s.f["wrap"]]
    s.lines(([seq, issue.town, base_name(issue.file), issue.finding.address,
              None if issue.finding.value is None else str(issue.finding.value),
              _reason(issue.finding.code), issue.finding.code], s.f["cell"], formats)
            for seq, issue in enumerate(detail, start=1))
    if not detail:
        s.line(["", "", "没有未计入汇总的行。"], s.f["note"])


def _reason(code: str) -> str:
    from xlz.core.catalogue import RULES

    return RULES[code].title

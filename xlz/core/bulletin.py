"""The 通报 (bulletin), the pure part: every fact the bulletin states, computed from one
recorded round as plain rows (issue 12). The Word document is :mod:`xlz.books.bulletin`'s.

The round comes from the ledger (``xlz.Ledger(path).round(period)``), but this module
needs only its rows (:class:`RoundRows`), so it is computed and tested without a
database. The figures are the city workbook's own: the 排名 is
:func:`xlz.core.rounds.standings` on the round's figures (never a second ranking), the
city targets are counted as the city workbook counts them
(:func:`xlz.core.summary.carrier_progress` with the plan's rules), and a town without
figures (未报送 / 未通过校验) is said to have none — never 0.

"Behind schedule" is measured against the 时序进度 (the share of the plan year elapsed at
the period), as Chinese progress bulletins do: a town whose overall completion is below
it is behind, and so is every town without figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from xlz.core.consolidation import Consolidation, TownResult, TownState
from xlz.core.entries import ENTRY_SHEETS, Kind
from xlz.core.plan import METRICS, Metric, Plan
from xlz.core.rounds import NO_CONTACT, ProjectState, activities_held, standings
from xlz.core.summary import METRIC_LABELS, MetricProgress, carrier_progress
from xlz.core.validator import Record

Rows = list[dict[str, Any]]

TITLE = "关于{year}年科技招商工作进展情况的通报"


class RoundRows(Protocol):
    """What the bulletin needs of a recorded round (``xlz.Round`` has it): its number
    and period and its tables as rows, columns as docs/ledger.md names them."""

    number: int
    period: dt.date
    towns: Rows
    progress: Rows
    files: Rows
    projects: Rows
    carriers: Rows
    activities: Rows
    findings: Rows


@dataclass(frozen=True, slots=True)
class CityLine:
    """One city target of the plan text against what is done (``rate`` None: no target)."""

    label: str
    target: float
    done: float
    rate: float | None
    unit: str


@dataclass(frozen=True, slots=True)
class TownLine:
    """A town in the table of towns: its rank (None: not ranked), state, overall
    completion and, per metric, done and target (done None: no figures this round)."""

    rank: int | None
    code: str
    short: str
    state: TownState
    score: float | None
    done: Mapping[Metric, int | None]
    target: Mapping[Metric, int | None]


@dataclass(frozen=True, slots=True)
class Behind:
    """A town behind schedule: below the 时序进度 (``score`` set), or without figures."""

    short: str
    state: TownState
    score: float | None
    contact: str


@dataclass(frozen=True, slots=True)
class NewProject:
    """A project new since the previous round (its town's short name, as typed)."""

    town: str  # short name
    name: str
    category: str
    status: str


@dataclass(frozen=True, slots=True)
class StatusMove:
    """A project whose 项目进展 changed since the previous round (洽谈中 → 已签约 …)."""

    town: str
    name: str
    before: str
    now: str


@dataclass(frozen=True, slots=True)
class ScheduledActivity:
    """One activity of 附件3 due by the period, and whether the towns report it held."""

    seq: int
    name: str
    time: str
    host: str
    state: str  # 已举办 / 计划 / 取消 / 未见报送 (no town reports it)
    towns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BulletinFacts:
    """Everything the bulletin says, in the order it says it."""

    title: str
    year: int
    city: str
    office: str
    plan_title: str
    number: int  # the round's place among the ledger's periods (第 N 期)
    period: dt.date
    previous: dt.date | None
    elapsed: float  # 时序进度: the share of the plan year elapsed at the period
    counted: int  # towns whose figures count
    town_count: int
    city_lines: tuple[CityLine, ...]
    towns: tuple[TownLine, ...]
    behind: tuple[Behind, ...]
    new_projects: tuple[NewProject, ...]
    status_moves: tuple[StatusMove, ...]
    activities: tuple[ScheduledActivity, ...]
    other_activities: int  # held by the towns besides 附件3's, up to the period
    problems: tuple[str, ...]


def elapsed_share(period: dt.date, year: int) -> float:
    """时序进度: the share of ``year`` elapsed at the end of ``period`` (0 to 1)."""
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    days = (min(max(period, start - dt.timedelta(days=1)), end) - start).days + 1
    return max(0.0, min(1.0, days / (end - start).days))


def town_results(plan: Plan, round_: RoundRows) -> list[TownResult]:
    """The round's towns as the core's :class:`TownResult` (figures only: no files)."""
    progress: dict[str, list[MetricProgress]] = {}
    for p in round_.progress:
        if p["metric"] in METRICS:
            progress.setdefault(p["town"], []).append(MetricProgress(
                p["metric"], METRIC_LABELS[p["metric"]], p["target"], int(p["done"] or 0),
                int(p["pipeline"] or 0)))
    state = {t["town"]: t["state"] for t in round_.towns}
    return [TownResult(t, state.get(t.code, "未报送"), None, [], progress.get(t.code, []))
            for t in plan.towns]


def _figures_only(plan: Plan, towns: list[TownResult]) -> Consolidation:
    """A consolidation holding only the towns' figures: what :func:`standings` reads."""
    done = {m: sum(p.done for t in towns if t.state == "已报送" for p in t.progress
                   if p.metric == m) for m in METRICS}
    return Consolidation(plan, [], towns, [], [], [], [], {m: None for m in METRICS}, done)


def _records(rows: Rows, sheet_key: str) -> list[Record]:
    """Ledger rows as validator records (dates back to dates), for the core's counting."""
    sheet = next(s for s in ENTRY_SHEETS if s.key == sheet_key)
    dates = [c.key for c in sheet.input_columns if c.kind is Kind.DATE]
    out = []
    for r in rows:
        values = dict(r)
        for key in dates:
            if isinstance(values.get(key), str):
                try:
                    values[key] = dt.date.fromisoformat(values[key][:10])
                except ValueError:
                    values[key] = None
        out.append(Record(sheet.name, int(r.get("row") or 0), {}, values))
    return out


def _city_lines(plan: Plan, done: Mapping[Metric, int], carriers: Rows) -> list[CityLine]:
    """The plan text's city targets, counted as the city workbook's 全市目标 counts them."""
    from xlz.core.layout import CITY_TARGET_LABELS

    t = plan.city_targets
    figures: tuple[tuple[Metric, int], ...] = (("projects", t.projects),
                                               ("platform", t.platform), ("fund", t.fund))
    lines = [CityLine(CITY_TARGET_LABELS[m], target, done[m],
                      done[m] / target if target else None, "个") for m, target in figures]
    for p in carrier_progress(_records(carriers, "carrier"), plan):
        unit = "平方米" if p.target_key == "incubation_area_m2" else "家"
        lines.append(CityLine(CITY_TARGET_LABELS[p.target_key], p.target, p.done, p.rate, unit))
    return lines


def _activities(plan: Plan, period: dt.date, rows: Rows) -> tuple[list[ScheduledActivity], int]:
    """附件3's activities due by the period (month ≤ the period's, in the plan year),
    matched by name with the towns' reported activities as the city workbook's
    附件3执行情况 matches them; and how many other activities the towns held."""
    due_month = period.month if period.year == plan.year else (12 if period.year > plan.year
                                                              else 0)
    scheduled, unscheduled = activities_held(plan.activities, rows, lambda r: r.get("name"),
                                             lambda r: r.get("state"))
    out = []
    for h in scheduled:
        a = h.activity
        if a.month is None or a.month > due_month:
            continue  # 全年, or not yet due
        out.append(ScheduledActivity(a.seq, a.name, a.time, a.host,
                                     h.state if h.reported else "未见报送",
                                     tuple(sorted({r["town_name"] for r in h.reported}))))
    others = sum(1 for r in unscheduled if r.get("state") == "已举办")
    return out, others


def _projects(plan: Plan, round_: RoundRows, previous: RoundRows | None,
              counted_then: set[str]) -> tuple[list[NewProject], list[StatusMove]]:
    """Projects new since the previous round and status changes, per town counted in
    both rounds (the same rule as the city workbook's 项目变化: a project is its town and
    its name, :attr:`ProjectState.key`)."""
    if previous is None:
        return [], []
    short: dict[str, str] = {t.code: t.short for t in plan.towns}
    old = {ProjectState(p["town"], p.get("name") or "", p.get("status")).key: p
           for p in previous.projects}
    new, moved = [], []
    for p in round_.projects:
        key = ProjectState(p["town"], p.get("name") or "", p.get("status")).key
        before = old.get(key)
        if before is None:
            new.append(NewProject(str(short.get(p["town"], p["town"])), p.get("name") or "",
                                  p.get("category") or "", p.get("status") or ""))
        elif p["town"] in counted_then and before.get("status") != p.get("status"):
            moved.append(StatusMove(str(short.get(p["town"], p["town"])), p.get("name") or "",
                                    before.get("status") or "—", p.get("status") or "—"))
    return new, moved


def _problems(round_: RoundRows, missing: Sequence[Behind]) -> list[str]:
    out = []
    absent = [b.short for b in missing if b.state == "未报送"]
    if absent:
        out.append(f"{'、'.join(absent)}本期未报送，没有完成数，未参与排名。")
    for f in round_.files:
        if f["status"] == "rejected" and f.get("town_name"):
            out.append(f"{f['town_name']}报送的“{_base(f['name'])}”有错误 {f['errors']} 处，"
                       "未通过校验，未计入本期汇总，已退回修改。")
    unreadable = [f for f in round_.files if f["status"] == "unreadable"]
    if unreadable:
        out.append(f"有 {len(unreadable)} 个报送文件无法读取（如“{_base(unreadable[0]['name'])}”），"
                   "请相关镇（区、街道）重新报送。")
    warnings = sum(int(f.get("warnings") or 0) for f in round_.files if f["status"] == "accepted")
    if warnings:
        out.append(f"已采用的报送文件中另有提醒 {warnings} 条（不影响汇总），"
                   "主要是填写不规范，请各镇（区、街道）对照市级汇总表“问题清单”核实。")
    return out


def _base(name: str) -> str:
    return name.replace("\\", "/").rsplit("›", 1)[-1].rsplit("/", 1)[-1].strip()


def bulletin_facts(plan: Plan, round_: RoundRows, previous: RoundRows | None = None,
                   contacts: Mapping[str, str] | None = None) -> BulletinFacts:
    """The facts of the bulletin on ``round_`` (compared with ``previous``, the round
    before it, when there is one). ``contacts``: town code → whom to call, from the
    towns' earlier submissions (``xlz.Ledger.contacts``), for a town that sent nothing."""
    towns = town_results(plan, round_)
    c = _figures_only(plan, towns)
    elapsed = elapsed_share(round_.period, plan.year)
    contact = {**(contacts or {}),
               **{t["town"]: t["contact"] for t in round_.towns if t.get("contact")}}
    lines, behind = [], []
    for st in standings(c):  # the city workbook's 排名, the one ranking
        result = next(t for t in towns if t.town.code == st.town.code)
        by = {p.metric: p for p in result.progress}
        target = {m: plan.target(st.town.code).get(m) for m in METRICS}
        counted = st.state == "已报送"
        lines.append(TownLine(st.rank, st.town.code, st.town.short, st.state, st.score,
                              {m: by[m].done if counted and m in by else None
                               for m in METRICS}, target))
        if not counted or (st.score is not None and st.score < elapsed):
            behind.append(Behind(st.town.short, st.state, st.score,
                                 contact.get(st.town.code) or st.town.contact or NO_CONTACT))
    counted_then = ({t["town"] for t in previous.towns if t["state"] == "已报送"}
                    if previous is not None else set())
    new, moved = _projects(plan, round_, previous, counted_then)
    scheduled, others = _activities(plan, round_.period, round_.activities)
    return BulletinFacts(
        TITLE.format(year=plan.year), plan.year, plan.city, plan.office, plan.title,
        round_.number, round_.period, previous.period if previous else None, elapsed,
        sum(1 for t in towns if t.state == "已报送"), len(towns),
        tuple(_city_lines(plan, c.done_total, round_.carriers)), tuple(lines), tuple(behind),
        tuple(new), tuple(moved), tuple(scheduled), others,
        tuple(_problems(round_, [b for b in behind if b.score is None])))

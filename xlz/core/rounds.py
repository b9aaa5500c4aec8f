"""A round of the office's cycle, the pure part: who is behind, the 排名, and what
changed since the previous round (issue 12).

A round is one consolidation at one period (the date the figures stand at). The ledger
(``xlz.io.ledger``) keeps past rounds; this module only needs them as plain data
(:class:`RoundSnapshot`), so the comparison is computed and tested without a database.

Two rules run through it: a town that sent nothing (未报送) or whose file failed
(未通过校验) has *no* figures — never 0 — and ranks last, marked; and a project is the
same project across rounds when its town and its name (:func:`~xlz.core.text.match_key`)
are the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from xlz.core.consolidation import Consolidation, TownResult, TownState
from xlz.core.plan import METRICS, Activity, Metric, Plan, Town
from xlz.core.text import match_key

R = TypeVar("R")  # a reported activity: a consolidation's Row or a ledger row

NO_CONTACT = "—"


@dataclass(frozen=True, slots=True)
class TownFigures:
    """One town in one round: its state and, when its file counted, what it had done.
    ``done`` is empty for a town that did not count (未报送 / 未通过校验)."""

    code: str
    state: TownState
    done: Mapping[Metric, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProjectState:
    """A project as one round saw it: the town's code, its name as typed, its 项目进展."""

    town: str
    name: str
    status: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.town, match_key(self.name))


@dataclass(frozen=True, slots=True)
class RoundSnapshot:
    """What a later round needs of an earlier one: the period, each town's figures and
    each accepted project's state. Plain data: the ledger stores and rebuilds it."""

    period: dt.date
    towns: tuple[TownFigures, ...]
    projects: tuple[ProjectState, ...] = ()

    def town(self, code: str) -> TownFigures | None:
        return next((t for t in self.towns if t.code == code), None)


def snapshot(c: Consolidation, period: dt.date) -> RoundSnapshot:
    """The round ``c`` stands for at ``period``, as a later round will compare with it."""
    projects = tuple(ProjectState(r.town.code, r.record.values.get("name") or "",
                                  r.record.values.get("status")) for r in c.projects)
    return RoundSnapshot(period, snapshot_towns(c, period).towns, projects)


# ------------------------------------------------------------------------- 排名


@dataclass(frozen=True, slots=True)
class Standing:
    """A town's place in the 排名. ``score`` is its overall completion: the weighted mean
    of its 完成率 over the metrics it has a target for (weights: the plan's
    ``ranking_weights``). ``None`` score and rank: the town did not count (see ``state``)
    and is listed after every ranked town."""

    town: Town
    state: TownState
    score: float | None
    rank: int | None
    rates: Mapping[Metric, float | None]


def overall(t: TownResult, plan: Plan) -> float | None:
    """A counted town's overall completion; ``None`` when it did not count or has no
    target at all. A rate above 100 % is kept: the office sees who went beyond."""
    if t.state != "已报送":
        return None
    weighted = [(plan.weight(p.metric), p.rate) for p in t.progress if p.rate is not None]
    total = sum(w for w, _ in weighted)
    if not total:
        return None
    return sum(w * r for w, r in weighted if r is not None) / total


def standings(c: Consolidation) -> list[Standing]:
    """The 排名: counted towns by overall completion (ties share a rank: 1, 2, 2, 4), then
    the towns that did not count, in plan order, unranked."""
    scored = [(t, overall(t, c.plan)) for t in c.towns]
    ranked = sorted(((t, s) for t, s in scored if s is not None), key=lambda x: -x[1])
    out: list[Standing] = []
    previous: float | None = None
    rank = 0
    for i, (t, score) in enumerate(ranked, start=1):
        if score != previous:
            rank, previous = i, score
        out.append(Standing(t.town, t.state, score, rank, _rates(t)))
    out += [Standing(t.town, t.state, None, None, _rates(t)) for t, s in scored if s is None]
    return out


def _rates(t: TownResult) -> dict[Metric, float | None]:
    if t.state != "已报送":
        return {}
    return {p.metric: p.rate for p in t.progress}


# ------------------------------------------------------------------------- who is behind


@dataclass(frozen=True, slots=True)
class Missing:
    """A town whose figures are not in this round: its state and whom to call."""

    town: Town
    state: TownState
    contact: str  # NO_CONTACT when nobody is known
    file: str | None  # the failed file, for 未通过校验


def missing(c: Consolidation, contacts: Mapping[str, str] | None = None) -> list[Missing]:
    """The towns that sent nothing (未报送) or whose file failed (未通过校验), in plan
    order, each with a contact: the failed file's own 填报人/联系电话, else
    ``contacts[code]`` (from the town's last submission, which the ledger knows), else
    the plan's, else :data:`NO_CONTACT`."""
    known = contacts or {}
    out = []
    for t in c.towns:
        if t.state == "已报送":
            continue
        guide = t.winner.guide if t.winner is not None else None
        own = guide.contact if guide is not None else ""  # a failed file still says who
        out.append(Missing(t.town, t.state,
                           own or known.get(t.town.code) or t.town.contact or NO_CONTACT,
                           t.winner.name if t.winner is not None else None))
    return out


# ------------------------------------------------------------------------- 进度对比


@dataclass(frozen=True, slots=True)
class FigureChange:
    """One town and metric: last round, now and the change. ``None`` where a round has no
    figure (the town did not count then), so no change is computed across a gap."""

    town: Town
    metric: Metric
    state_before: TownState | None  # None: the town was not in that round at all
    state_now: TownState
    before: int | None
    now: int | None

    @property
    def change(self) -> int | None:
        if self.before is None or self.now is None:
            return None
        return self.now - self.before


@dataclass(frozen=True, slots=True)
class StatusChange:
    project: ProjectState  # as now
    before: str | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """This round against ``previous``: figures per town and metric, the projects new
    since then, and the projects whose 项目进展 changed (洽谈中 → 已签约 → 已注册 …)."""

    previous: dt.date
    figures: tuple[FigureChange, ...]
    new_projects: tuple[ProjectState, ...]
    status_changes: tuple[StatusChange, ...]
    dropped: tuple[ProjectState, ...]  # in the previous round, not in this one


def compare(previous: RoundSnapshot, c: Consolidation) -> Comparison:
    """:class:`Comparison` of ``c`` with ``previous``. Projects are compared only for
    towns counted in both rounds: a town whose file failed this time has not dropped
    its projects, its figures are simply unknown."""
    now = snapshot(c, previous.period)  # the period is not used below
    figures = []
    for t in c.towns:
        before = previous.town(t.town.code)
        current = now.town(t.town.code)
        assert current is not None
        for metric in METRICS:
            figures.append(FigureChange(
                t.town, metric, before.state if before else None, t.state,
                before.done.get(metric) if before else None, current.done.get(metric)))
    counted_then = {t.code for t in previous.towns if t.state == "已报送"}
    counted_now = {t.code for t in now.towns if t.state == "已报送"}
    both = counted_then & counted_now
    old = {p.key: p for p in previous.projects if p.town in both}
    new = {p.key: p for p in now.projects if p.town in both}
    # New to the city's counted picture: a town counted now but not then brings all its
    # projects (the office has not seen them counted before).
    fresh = [p for p in now.projects if p.key not in old]
    changed = [StatusChange(p, old[k].status) for k, p in new.items()
               if k in old and old[k].status != p.status]
    dropped = [p for k, p in old.items() if k not in new]
    return Comparison(previous.period, tuple(figures), tuple(fresh), tuple(changed),
                      tuple(dropped))


def trend(history: Sequence[RoundSnapshot], c: Consolidation, period: dt.date
          ) -> list[tuple[dt.date, dict[Metric, int | None]]]:
    """The city's done figures per round, oldest first, ending with this one. A round in
    which some town did not count still has a figure (what was counted), so the trend
    chart labels it; ``None`` only when no town counted at all."""
    rounds = [*(r for r in history if r.period < period), snapshot_towns(c, period)]
    out = []
    for r in sorted(rounds, key=lambda r: r.period):
        counted = [t for t in r.towns if t.state == "已报送"]
        out.append((r.period, {m: sum(t.done.get(m, 0) for t in counted) if counted else None
                               for m in METRICS}))
    return out


def snapshot_from_rows(period: dt.date, towns: Sequence[Mapping[str, Any]],
                       progress: Sequence[Mapping[str, Any]],
                       projects: Sequence[Mapping[str, Any]] = ()) -> RoundSnapshot:
    """A past round from the ledger's rows (docs/ledger.md: ``towns`` with ``town`` and
    ``state``; ``progress`` with ``town``, ``metric``, ``done`` — only for towns that
    counted; ``projects`` with ``town``, ``name``, ``status``)."""
    done: dict[str, dict[Metric, int]] = {}
    for p in progress:
        if p.get("metric") in METRICS and p.get("done") is not None:
            done.setdefault(p["town"], {})[p["metric"]] = int(p["done"])
    figures = tuple(TownFigures(t["town"], t["state"], done.get(t["town"], {}))
                    for t in towns)
    return RoundSnapshot(period, figures, tuple(
        ProjectState(p["town"], p.get("name") or "", p.get("status")) for p in projects))


def snapshot_towns(c: Consolidation, period: dt.date) -> RoundSnapshot:
    """:func:`snapshot` without the projects (cheap: no per-row work)."""
    return RoundSnapshot(period, tuple(
        TownFigures(t.town.code, t.state,
                    {p.metric: p.done for p in t.progress} if t.state == "已报送" else {})
        for t in c.towns))


# ------------------------------------------------------------------------- 附件3


@dataclass(frozen=True, slots=True)
class ActivityHeld(Generic[R]):
    """One activity of 附件3 and the towns' reported activities that are it (same name,
    :func:`xlz.core.text.match_key`): ``state`` 已举办 when any was held, 取消 when all
    were cancelled, else 计划 (also when none is reported)."""

    activity: Activity
    reported: tuple[R, ...]
    state: str


def activities_held(activities: Sequence[Activity], reported: Sequence[R],
                    name: Callable[[R], Any], state: Callable[[R], Any]
                    ) -> tuple[list[ActivityHeld[R]], list[R]]:
    """附件3's activities matched with the towns' reported ones (rows of any shape:
    ``name`` and ``state`` read an activity's name and 举办状态), in 附件3's order; and the
    reported activities that are none of 附件3's (the city workbook's 各镇区 line, the
    bulletin's other activities). One rule for the city workbook and the bulletin."""
    keys = [match_key(name(r) or "") for r in reported]
    by_name: dict[str, list[R]] = {}
    for key, r in zip(keys, reported, strict=True):
        by_name.setdefault(key, []).append(r)
    out = []
    for a in activities:
        found = by_name.get(match_key(a.name), [])
        states = {state(r) for r in found}
        held = "已举办" if "已举办" in states else "取消" if states == {"取消"} else "计划"
        out.append(ActivityHeld(a, tuple(found), held))
    scheduled = {match_key(a.name) for a in activities}
    return out, [r for key, r in zip(keys, reported, strict=True) if key not in scheduled]


# ------------------------------------------------------------------------- the round


@dataclass(frozen=True, slots=True)
class RoundContext:
    """What a consolidation is, besides its files: the period its figures stand at (and
    where that date came from), the earlier rounds (oldest first; from the ledger), and
    the contacts the ledger knows from the towns' last submissions (by town code)."""

    period: dt.date
    period_source: str = "汇总日期"  # where the period came from, in Chinese
    history: tuple[RoundSnapshot, ...] = ()
    contacts: Mapping[str, str] = field(default_factory=dict)

    @property
    def previous(self) -> RoundSnapshot | None:
        """The latest earlier round (a re-run of this period is not its own previous)."""
        earlier = [r for r in self.history if r.period < self.period]
        return max(earlier, key=lambda r: r.period) if earlier else None

    @property
    def earlier(self) -> tuple[RoundSnapshot, ...]:
        return tuple(sorted((r for r in self.history if r.period < self.period),
                            key=lambda r: r.period))

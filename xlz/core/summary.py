"""The summaries a workbook shows: 任务分解 (targets against completion) and 载体汇总
(the 附件4 layout). Pure computation over validated records."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xlz.core.plan import METRICS, CarrierCount, CarrierTarget, Metric, Plan, TargetRow
from xlz.core.validator import Record

METRIC_LABELS: dict[Metric, str] = {
    "projects": "科创类、人才类、服务类项目（个）",
    "invention_patents": "其中：发明专利实审数（件）",
    "utility_patents": "其中：实用新型专利授权数（件）",
    "platform": "平台类项目（个）",
    "fund": "基金类项目（个）",
}


@dataclass(frozen=True, slots=True)
class MetricProgress:
    """One metric of 附件2 for one town (or the city): target, done, 完成率 and pipeline."""

    metric: Metric
    label: str
    target: int | None  # None: printed blank in 附件2 (no target), never 0
    done: int
    pipeline: int  # 洽谈中 projects (or their patents) — shown apart, never counted as done

    @property
    def rate(self) -> float | None:
        """完成率; None where there is no target."""
        if not self.target:
            return None
        return self.done / self.target


@dataclass(frozen=True, slots=True)
class Tally:
    """What a town's project records add up to, before any target is looked at."""

    done: dict[Metric, int]
    pipeline: dict[Metric, int]

    @classmethod
    def empty(cls) -> Tally:
        return cls(dict.fromkeys(METRICS, 0), dict.fromkeys(METRICS, 0))


def tally(records: Iterable[Record], plan: Plan) -> Tally:
    """Count project records as :func:`progress` does (see there)."""
    metric_of = {c.name: c.metric for c in plan.categories}
    counts = Tally.empty()
    done, pipeline = counts.done, counts.pipeline
    # Status → bucket, looked up once per record (a city run has 100,000 records).
    bucket_of: dict[str | None, dict[Metric, int]] = {s: pipeline for s in plan.pipeline_statuses}
    bucket_of.update({s: done for s in plan.completed_statuses})  # completed wins a tie
    for record in records:
        values = record.values
        metric = metric_of.get(values.get("category") or "")
        if metric is None:
            continue
        bucket = bucket_of.get(values.get("status"))
        if bucket is None:
            continue
        bucket[metric] += 1
        if metric == "projects":
            bucket["invention_patents"] += values.get("invention_patents") or 0
            bucket["utility_patents"] += values.get("utility_patents") or 0
    return counts


def tally_columns(values: Mapping[str, Sequence[Any]], count: int, plan: Plan) -> Tally:
    """:func:`tally` of ``count`` records given as columns of their parsed values, by
    column key (a key missing: empty on every record), as the validator makes them
    (:class:`~xlz.core.validator.SheetColumns`). The records are counted by their
    (类别, 进展) pair: a town's 200 projects have a dozen pairs."""
    nothing = [None] * count
    categories, statuses = values.get("category", nothing), values.get("status", nothing)
    metric_of = {c.name: c.metric for c in plan.categories}
    counts = Tally.empty()
    done, pipeline = counts.done, counts.pipeline
    bucket_of: dict[str | None, dict[Metric, int]] = {s: pipeline for s in plan.pipeline_statuses}
    bucket_of.update({s: done for s in plan.completed_statuses})  # completed wins a tie
    pairs = list(zip(categories, statuses, strict=True))
    patented: dict[int, set[tuple[Any, Any]]] = {}  # by id of bucket: its 科创/人才/服务 pairs
    for (category, status), n in Counter(pairs).items():
        metric = metric_of.get(category or "")
        bucket = bucket_of.get(status)
        if metric is None or bucket is None:
            continue
        bucket[metric] += n
        if metric == "projects":
            patented.setdefault(id(bucket), set()).add((category, status))
    for bucket in (done, pipeline):
        chosen = patented.get(id(bucket))
        if chosen:
            mask = list(map(chosen.__contains__, pairs))
            for key in ("invention_patents", "utility_patents"):
                # None (empty or unreadable) counts as 0, as in tally.
                bucket[key] += sum(filter(None, itertools.compress(values.get(key, nothing),
                                                                   mask)))
    return counts


def progress(records: Iterable[Record], target: TargetRow, plan: Plan) -> list[MetricProgress]:
    """任务分解 for one town (or the city, given a total row) from its project records.

    A project counts as done once its 项目进展 is one of the plan's completed statuses
    (已签约 / 已注册 / 已投产); 洽谈中 is pipeline. Patents are those of the counted
    科创/人才/服务 projects (附件2 lists them as 其中). Records whose category or status
    could not be read count nowhere; the validator has reported them.
    """
    return progress_of(tally(records, plan), target)


def progress_of(counts: Tally, target: TargetRow) -> list[MetricProgress]:
    """:func:`progress` from records already counted."""
    return [MetricProgress(m, METRIC_LABELS[m], target.get(m), counts.done[m],
                           counts.pipeline[m]) for m in METRICS]


def render_direction(level: str | None, kind: str | None, specialty: str | None) -> str:
    """附件4's 建设方向 from level + type + （specialty）: 省级 + 专业孵化器 + 合成生物 →
    ``省级专业孵化器（合成生物）``; 加速器 alone → ``加速器``; nothing → empty."""
    if not kind:
        return level or ""
    text = f"{level or ''}{kind}"
    if specialty:
        text += f"（{specialty}）"
    return text


@dataclass(frozen=True, slots=True)
class CarrierProgress:
    """One carrier-based city target (孵化面积, 新增国家级/省级孵化器): the target of
    the plan text, what the carriers add up to under the plan's counting rule, and that
    rule in words."""

    target_key: CarrierTarget
    target: int
    done: float
    counted: int  # carriers that count
    note: str

    @property
    def rate(self) -> float | None:
        return self.done / self.target if self.target else None


def carrier_counts(rule: CarrierCount, values: dict[str, Any], year: int) -> bool:
    """Whether one carrier (its parsed values) counts toward ``rule``'s target. A value
    that could not be read (None) never counts; the validator has reported it."""
    for key, allowed in rule.counts.items():
        if values.get(key) not in allowed:
            return False
    for key in rule.in_year:
        day = values.get(key)
        if not isinstance(day, dt.date) or day.year != year:
            return False
    return True


def carrier_progress(records: Iterable[Record], plan: Plan) -> list[CarrierProgress]:
    """The plan's carrier targets against the carrier records, counted as the plan's
    ``carrier_counts`` say (e.g. only 建成运营 area; only incubators accredited in the
    plan year — a 在建 carrier planned as 省级 counts for nothing)."""
    values = [r.values for r in records]
    out = []
    for rule in plan.carrier_counts:
        hits = [v for v in values if carrier_counts(rule, v, plan.year)]
        if rule.sum is None:
            done: float = len(hits)
        else:
            done = sum(v.get(rule.sum) or 0 for v in hits)
        out.append(CarrierProgress(rule.target, getattr(plan.city_targets, rule.target),
                                   done, len(hits), rule.note))
    return out


@dataclass(frozen=True, slots=True)
class CarrierRow:
    seq: int
    town: str  # 建设镇区 (short name)
    name: str
    method: str
    direction: str
    area: float | None
    progress: str | None


def carrier_rows(records: Iterable[Record], town_short: str, start: int = 1) -> list[CarrierRow]:
    rows = []
    for seq, record in enumerate(records, start=start):
        v = record.values
        rows.append(CarrierRow(
            seq, town_short, v.get("name") or "", v.get("method") or "",
            render_direction(v.get("level"), v.get("type"), v.get("specialty")),
            v.get("area"), v.get("progress"),
        ))
    return rows

"""Consistency checks of the plan document itself, reported as findings.

The printed figures are never changed: a plan check only says where the printed
document disagrees with itself (e.g. 附件2's 合计 400 is not the sum 398 of its rows,
and neither is the 370 of the plan text).
"""

from __future__ import annotations

from collections.abc import Callable

from xlz.core.catalogue import RULES
from xlz.core.entries import CARRIERS
from xlz.core.findings import Finding, Report
from xlz.core.plan import METRICS, Plan
from xlz.core.summary import render_direction


def _finding(code: str, found: object, **extra: object) -> Finding:
    rule = RULES[code]
    return Finding(code, rule.severity, None, None, found, rule.format(**extra))


def computed_total(plan: Plan) -> dict[str, int | None]:
    """Column sums of 附件2's town rows (None where every row is blank)."""
    totals: dict[str, int | None] = {}
    for metric in METRICS:
        figures = [v for row in plan.attachment2.rows if (v := row.get(metric)) is not None]
        totals[metric] = sum(figures) if figures else None
    return totals


def check_plan(plan: Plan) -> Report:
    """The plan document's own inconsistencies (e.g. a printed 合计 that is not the sum of
    its rows), as findings; nothing is corrected."""
    report = Report(source=f"plan:{plan.id}")
    a2 = plan.attachment2
    headers = a2.headers
    computed = computed_total(plan)
    for metric in METRICS:
        printed = a2.printed_total.get(metric)
        total = computed[metric]
        if printed != total:
            report.add(_finding(
                "plan.attachment2.total_mismatch", printed, header=headers[metric],
                printed=printed, computed=total,
                diff=(printed or 0) - (total or 0),
            ))
    targets = plan.city_targets
    for metric, target in (("projects", targets.projects), ("platform", targets.platform),
                           ("fund", targets.fund)):
        for which, figure in (("印刷合计", a2.printed_total.get(metric)),
                              ("各镇区之和", computed[metric])):
            if figure != target:
                report.add(_finding(
                    "plan.attachment2.city_target_mismatch", figure, header=headers[metric],
                    which=which, figure=figure, target=target, diff=(figure or 0) - target,
                ))
    _check_references(plan, report)
    return report


def _check_references(plan: Plan, report: Report) -> None:
    towns = {t.code for t in plan.towns}
    fields = set(plan.field_names)

    def unknown(where: str, what: str, value: str) -> None:
        report.add(_finding("plan.reference.unknown", value, where=where, what=what, value=value))

    for row in plan.attachment2.rows:
        if row.town not in towns:
            unknown("附件2", "镇区", row.town)
    for town in towns - {row.town for row in plan.attachment2.rows}:
        unknown("镇区列表", "附件2行", town)
    for carrier in plan.carriers:
        if carrier.town not in towns:
            unknown(f"附件4第{carrier.seq}行", "镇区", carrier.town)
        rendered = render_direction(carrier.level, carrier.type, carrier.specialty)
        if rendered != carrier.direction:
            report.add(_finding("plan.carrier.direction_mismatch", carrier.direction,
                                seq=carrier.seq, name=carrier.name, printed=carrier.direction,
                                rendered=rendered))
    for activity in plan.activities:
        for town in activity.host_towns:
            if town not in towns:
                unknown(f"附件3第{activity.seq}行", "镇区", town)
    for park in plan.parks:
        for name in park.fields:
            if name not in fields:
                unknown(f"招商图谱“{park.name}”", "产业领域", name)
    _check_carrier_counts(plan, unknown)


def _check_carrier_counts(plan: Plan, unknown: Callable[[str, str, str], None]) -> None:
    """A counting rule names 孵化载体 columns and values of their lists: a typo would
    silently count nothing."""
    columns = {c.key: c for c in CARRIERS.input_columns}
    for rule in plan.carrier_counts:
        where = f"载体计数规则“{rule.target}”"
        for key, values in rule.counts.items():
            col = columns.get(key)
            if col is None:
                unknown(where, "孵化载体列", key)
                continue
            allowed = plan.choices(col.choices) if col.choices else None
            for value in values:
                if allowed is not None and value not in allowed:
                    unknown(where, f"“{col.header}”的可选项", value)
        for key in (*rule.in_year, *((rule.sum,) if rule.sum else ())):
            if key not in columns:
                unknown(where, "孵化载体列", key)

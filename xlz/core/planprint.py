"""`xlz plan` for people: the plan as plain text tables."""

from __future__ import annotations

from xlz.core.findings import Report
from xlz.core.plan import METRICS, Plan


def _fmt(value: int | None) -> str:
    return "" if value is None else str(value)


def render_plan(plan: Plan, report: Report) -> str:
    a2 = plan.attachment2
    t = plan.city_targets
    out = [
        f"{plan.title}（{plan.issuer}，{plan.issued}）  计划编号：{plan.id}  标准版本：{plan.standard}",
        "",
        "全市目标：" + t.text,
        "",
        f"{a2.title}（附件2，照录印刷数字）",
        "  " + " | ".join([a2.headers["town"], *(a2.headers[m] for m in METRICS)]),
    ]
    for row in (*a2.rows, a2.printed_total):
        out.append("  " + " | ".join([row.label, *(_fmt(row.get(m)) for m in METRICS)]))
    out += ["", "镇区（代码：正式名称 / 简称 / 别名）"]
    for town in plan.towns:
        out.append(f"  {town.code}：{town.name} / {town.short} / {'、'.join(town.aliases)}")
    out += ["", "项目类别：" + "、".join(plan.category_names),
            "产业领域：" + "、".join(plan.field_names), "", "招商图谱（专业园区 → 方向）"]
    out += [f"  {p.name} → {p.direction}" for p in plan.parks]
    out += ["", f"科技招商活动安排（附件3，{len(plan.activities)}项）"]
    out += [f"  {a.seq:>2}. {a.name}  {a.time}  {a.host}" for a in plan.activities]
    out += ["", f"新建（盘活）孵化载体（附件4，{len(plan.carriers)}个）"]
    out += [f"  {c.seq:>2}. {c.town_label}  {c.name}  {c.method}  {c.direction}"
            for c in plan.carriers]
    lg = plan.leading_group
    out += ["", f"{lg.title}（附件1）：组长 {lg.leader[0].name}；副组长 "
            + "、".join(p.name for p in lg.deputies) + f"；成员{len(lg.members)}人；"
            f"办公室主任 {lg.office.head}"]
    out += ["", f"计划自检：{len(report)} 条"]
    out += [f"  [{f.severity.value}] {f.message}" for f in report.sorted()]
    return "\n".join(out)

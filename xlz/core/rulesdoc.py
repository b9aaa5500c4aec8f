"""docs/rules.md, generated from the rule catalogue (a test fails when it is stale)."""

from __future__ import annotations

from xlz.core.catalogue import RULES, Check, Rule
from xlz.core.entries import ENTRY_SHEETS, Kind
from xlz.core.plan import Plan

_GROUPS = (
    ("项目信息", "项目信息"),
    ("孵化载体", "孵化载体"),
    ("招商活动", "招商活动"),
    (None, "工作簿结构、文件与计划"),
)


def _reads(rule: Rule) -> str:
    if rule.sheet is None:
        return "—"
    sheet = next(s for s in ENTRY_SHEETS if s.name == rule.sheet)
    return "、".join(sheet.column(k).header for k in rule.reads)


def _condition(rule: Rule) -> str:
    parts = []
    if rule.when:
        parts.append("；".join(
            f"{c.field} ∈ {{{'、'.join(c.values)}}}" for c in rule.when))
    if rule.expected:
        parts.append(f"应为 {'、'.join(rule.expected)}")
    for key, value in rule.params.items():
        parts.append(f"{key}={value}")
    return "；".join(parts) or "—"


def render_rules_markdown(plan: Plan) -> str:
    lines = [
        "# 校验规则目录（xlz rules）",
        "",
        "本文件由 `xlz rules --markdown` 根据规则目录自动生成，请勿手工修改；"
        "测试会在它过期时失败。",
        "",
        "严重程度：**错误** 阻止接收（文件不计入汇总），**提醒** 显示但接收。",
        "消息中的 `{address}` 是单元格位置（如 `项目信息!D12`），`{value}` 是原样填写的内容。",
        "",
    ]
    for sheet_name, title in _GROUPS:
        rules = [r for r in RULES.values() if r.sheet == sheet_name]
        lines += [f"## {title}", "", "| 代码 | 严重程度 | 检查 | 标题 | 读取的列 | 条件与参数 | 消息模板 |",
                  "|---|---|---|---|---|---|---|"]
        for r in rules:
            message = r.message.replace("|", "\\|")
            lines.append(
                f"| `{r.code}` | {r.severity.value} | {r.check.value} | {r.title} | "
                f"{_reads(r)} | {_condition(r)} | {message} |"
            )
        lines.append("")
    lines += ["## 下拉列表", "", "| 列 | 可选项 |", "|---|---|"]
    for sheet in ENTRY_SHEETS:
        for col in sheet.columns:
            if col.kind is Kind.CHOICE and col.choices:
                lines.append(f"| {sheet.name}!{col.header} | {'、'.join(plan.choices(col.choices))} |")
    lines.append("")
    from xlz.core.formulas import NOT_EXPRESSIBLE

    lines += ["## 模板实时检查（公式）未覆盖的规则", "",
              "各工作表规则由同一目录编译成模板中的“实时检查”公式和条件格式；"
              "以下规则只由 Python 校验（`xlz validate`、“校验本表”按钮）执行：", ""]
    lines += [f"- `{code}`：{reason}" for code, reason in NOT_EXPRESSIBLE.items()]
    lines += ["- 工作簿结构、文件与计划类规则（`workbook.*`、`file.*`、`plan.*`）针对整个文件，"
              "不是某一行的检查。",
              "- 公式不做 Python 的容错归一化：以文本形式粘贴的数字和日期（如“22个”“2023.3.5”）"
              "在实时检查中显示为格式不对，而 Python 能识别；全角空格、全角字母不折算。", ""]
    checks = ", ".join(c.value for c in Check)
    lines += [f"检查类型：{checks}。", ""]
    return "\n".join(lines)

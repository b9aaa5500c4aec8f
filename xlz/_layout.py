"""Where things are in a town workbook: the contract between the template generator,
the in-place writer, the readers and the add-in. Sheet names and headers are those of
template-standard.md; positions of library-owned cells are fixed here.
"""

from __future__ import annotations

from typing import Final

from xlz._entries import ACTIVITIES, CARRIERS, PROJECTS

GUIDE: Final = "填报说明"
TASKS: Final = "任务分解"
CARRIER_SUMMARY: Final = "载体汇总"
RESULTS: Final = "校验结果"
META_SHEET: Final = "_xlz"  # very hidden, mirrors the custom document properties

TOWN_SHEETS: Final = (
    GUIDE, PROJECTS.name, CARRIERS.name, ACTIVITIES.name, TASKS, CARRIER_SUMMARY, RESULTS,
)

# Entry sheets: header in row 1, entries from row 2 (1-based worksheet rows).
HEADER_ROW: Final = 1
FIRST_DATA_ROW: Final = 2
# Rows prepared with dropdowns and live checks in a generated template.
ENTRY_CAPACITY: Final = {PROJECTS.key: 1000, CARRIERS.key: 200, ACTIVITIES.key: 200}

# 填报说明: a label in column A and its value in column B, at fixed rows.
STATUS_LABELS: Final = {
    "town": "镇区",
    "plan": "年度计划",
    "version": "模板版本",
    "state": "校验状态",
    "checked_at": "校验时间",
    "errors": "错误数",
    "warnings": "提醒数",
}
STATUS_FIRST_ROW: Final = 3
STATUS_ROWS: Final = {key: STATUS_FIRST_ROW + i for i, key in enumerate(STATUS_LABELS)}
STATUS_VALUE_COLUMN: Final = "B"
# The cells `xlz validate` writes (the rest of the block is written by the generator).
STATUS_WRITTEN: Final = ("state", "checked_at", "errors", "warnings")


def status_cell(key: str) -> str:
    return f"{STATUS_VALUE_COLUMN}{STATUS_ROWS[key]}"


# 校验结果: one row per finding, header in row 1.
RESULT_HEADERS: Final = ("序号", "严重程度", "位置", "列", "填写内容", "问题说明", "规则代码")

# 任务分解: the five metrics of 附件2, one row each, header in row 1.
TASK_HEADERS: Final = ("指标", "目标", "完成", "完成率", "洽谈中（在谈）")
TASK_FIRST_ROW: Final = 2

# 载体汇总: the 附件4 layout, plus area and progress.
CARRIER_SUMMARY_HEADERS: Final = (
    "序号", "建设镇区", "科创载体名称", "建设方式", "建设方向", "孵化面积（平方米）", "建设进度",
)

# Custom document properties (also rows of the _xlz sheet: key in A, value in B).
META_TEMPLATE: Final = "xlz.template"
META_STANDARD: Final = "xlz.standard"
META_PLAN: Final = "xlz.plan"
META_TOWN: Final = "xlz.town"
META_GENERATED: Final = "xlz.generated"
STANDARD_VERSION: Final = "1"

"""Where things are in a town workbook: the contract between the template generator,
the in-place writer, the readers and the add-in. Sheet names and headers are those of
docs/standard.md; positions of library-owned cells are fixed here.
"""

from __future__ import annotations

from typing import Final

from xlz.core.entries import ACTIVITIES, CARRIERS, PROJECTS

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


# 填报说明 (standard 2): who reports and the date the figures stand at, typed by the
# clerk beside their labels right below the status block. Read by label, like 镇区.
CONTACT_LABELS: Final = {
    "reporter": "填报人",
    "phone": "联系电话",
    "as_of": "数据截至日期",
}
CONTACT_FIRST_ROW: Final = STATUS_FIRST_ROW + len(STATUS_LABELS)
CONTACT_ROWS: Final = {key: CONTACT_FIRST_ROW + i for i, key in enumerate(CONTACT_LABELS)}


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
STANDARD_VERSION: Final = "2"
"""The standard version xlz writes (docs/standard.md)."""

# Every standard version xlz reads, with what a file of that version lacks compared to
# the current one: those places are not looked for (their absence is no finding), and
# what they would hold is unknown (None), never guessed. docs/standard.md section 7.
STANDARD_LACKS: Final[dict[str, frozenset[str]]] = {
    "1": frozenset({
        "guide.reporter", "guide.phone", "guide.as_of",  # 填报说明's 填报信息 rows
        "carrier.accreditation", "carrier.accredited_on",  # 孵化载体's 认定 columns
    }),
    "2": frozenset(),
}
SUPPORTED_STANDARDS: Final = tuple(STANDARD_LACKS)


def lacks(standard: str | None, place: str) -> bool:
    """Whether a file of ``standard`` (None: the current one) has no ``place``
    (``sheet key.column key`` or ``guide.<field>``)."""
    return place in STANDARD_LACKS.get(standard or STANDARD_VERSION, frozenset())


# --- The city workbook (市级汇总表, docs/standard.md section 5) ------------------
# Shared by the city template (xlz/books/citytemplate.py) and the filled city workbook
# (xlz/books/citybook.py): header in row 1 of every sheet, data from row 2.
CITY_TASKS: Final = "任务分解表"
CITY_CARRIERS: Final = "孵化载体汇总表"
CITY_PROJECTS: Final = "项目信息库"
CITY_ACTIVITIES: Final = "招商活动"
CITY_SUBMISSIONS: Final = "报送情况"
CITY_ISSUES: Final = "问题清单"
CITY_SHEETS: Final = (
    CITY_TASKS, CITY_CARRIERS, CITY_PROJECTS, CITY_ACTIVITIES, CITY_SUBMISSIONS, CITY_ISSUES,
)

# 任务分解表: the 附件2 layout, one row per town, each of the five metrics as
# 目标 / 完成 / 完成率 (metric order as in xlz.core.plan.METRICS).
CITY_METRIC_SHORT: Final = (
    "科创人才服务类项目", "发明专利实审数", "实用新型专利授权数", "平台类项目", "基金类项目",
)
CITY_TASK_HEADERS: Final = ("镇区", *(
    f"{label}{part}" for label in CITY_METRIC_SHORT for part in ("目标", "完成", "完成率")
))
CITY_TASK_FIRST_ROW: Final = 2  # first town row; the 13 towns follow in plan order
# Rows right after the towns: the 合计 computed from the town rows, then 附件2's printed 合计.
CITY_TOTAL_LABEL: Final = "合计（各镇区之和）"
CITY_PRINTED_TOTAL_LABEL: Final = "合计（附件2印刷数）"
# The city-target block (方案正文) below the table, one blank row apart: label in A,
# figure in B. Keys are xlz.core.plan.CityTargets fields.
CITY_TARGET_TITLE: Final = "全市目标（方案正文）"
CITY_TARGET_LABELS: Final = {
    "projects": "科创类、人才类、服务类项目（个）",
    "platform": "平台类项目（个）",
    "fund": "市场化运营基金类项目（个）",
    "incubation_area_m2": "新建盘活科创载体孵化面积（平方米）",
    "new_national_incubators": "新增国家级科技企业孵化器（家）",
    "new_provincial_incubators": "新增省级科技企业孵化器（家）",
}

CITY_PROVENANCE_HEADERS: Final = ("来源文件", "SHA-256", "来源工作表", "来源行")
CITY_HEADERS: Final = {
    CITY_TASKS: CITY_TASK_HEADERS,
    CITY_CARRIERS: CARRIER_SUMMARY_HEADERS,
    CITY_PROJECTS: ("镇区", *PROJECTS.headers[:-2], *CITY_PROVENANCE_HEADERS),
    CITY_ACTIVITIES: ("镇区", *ACTIVITIES.headers[:-2], "附件3序号", *CITY_PROVENANCE_HEADERS),
    CITY_SUBMISSIONS: (
        "镇区", "报送状态", "文件", "接收时间", "模板版本", "项目数", "载体数", "活动数",
        "错误数", "提醒数", "被替换的文件",
    ),
    CITY_ISSUES: ("序号", "镇区", "文件", "严重程度", "位置", "列", "填写内容", "问题说明", "规则代码"),
}
CITY_SUBMISSION_STATES: Final = ("已报送", "未报送", "未通过校验")

# Sheets only the filled city workbook has (issue 12), not the empty city template: the
# standing of the towns, this round against the previous one, the charts, 附件3 with how
# it went, and the rows of files that do not count (問題清单 has one line per such file).
CITY_RANKING: Final = "排名"
CITY_COMPARISON: Final = "进度对比"
CITY_PROJECT_CHANGES: Final = "项目变化"
CITY_CHARTS: Final = "图表"
CITY_SCHEDULE: Final = "附件3执行情况"
CITY_EXCLUDED_ROWS: Final = "未计入汇总的行"
# The filled city workbook's sheets, in order.
CITY_BOOK_SHEETS: Final = (
    CITY_TASKS, CITY_RANKING, CITY_COMPARISON, CITY_PROJECT_CHANGES, CITY_CHARTS,
    CITY_CARRIERS, CITY_PROJECTS, CITY_ACTIVITIES, CITY_SCHEDULE, CITY_SUBMISSIONS,
    CITY_ISSUES, CITY_EXCLUDED_ROWS,
)
# Printed on every page of the city workbook (the page header), with the sheet's name
# and the period: row 1 of each sheet stays its header row.
CITY_TITLE: Final = "{year}年{city}科技招商工作进展汇总表"
MISSING_STATES: Final = ("未报送", "未通过校验")

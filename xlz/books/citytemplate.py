"""The empty city workbook (市级汇总表) per docs/standard.md section 5: the six sheets
with their headers (from :mod:`xlz.core.layout`, shared with the filled city workbook),
任务分解表 pre-filled with 附件2 exactly as printed, the 合计 rows and the city-target
block, 报送情况 listing every town as 未报送, and 招商活动 with the 附件3 schedule.
"""

from __future__ import annotations

from pathlib import Path

from xlz.books import common as tp
from xlz.core.layout import (
    CITY_ACTIVITIES,
    CITY_CARRIERS,
    CITY_HEADERS,
    CITY_ISSUES,
    CITY_PRINTED_TOTAL_LABEL,
    CITY_PROJECTS,
    CITY_SUBMISSIONS,
    CITY_TARGET_LABELS,
    CITY_TARGET_TITLE,
    CITY_TASK_FIRST_ROW,
    CITY_TASKS,
    CITY_TOTAL_LABEL,
)
from xlz.core.plan import METRICS, Plan, TargetRow
from xlz.core.plancheck import computed_total


def _target_cells(row: TargetRow | dict[str, int | None]) -> list[int | None]:
    """Per metric: 目标, 完成 (blank until consolidated), 完成率 (blank)."""
    cells: list[int | None] = []
    for metric in METRICS:
        cells += [row.get(metric), None, None]
    return cells


def build_city_template(plan: Plan, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb = tp.new_workbook(out)
    fm = tp.formats(wb)
    meta = tp.write_metadata(wb, plan, "city", "", tp.city_file_name(plan)[:-5])

    headers = CITY_HEADERS[CITY_TASKS]
    rows: list[list[object]] = [
        [r.label, *_target_cells(r)] for r in plan.attachment2.rows
    ]
    rows.append([CITY_TOTAL_LABEL, *_target_cells(computed_total(plan))])
    rows.append([CITY_PRINTED_TOTAL_LABEL, *_target_cells(plan.attachment2.printed_total)])
    assert CITY_TASK_FIRST_ROW == 2  # table_sheet writes data from row 2
    ws = tp.table_sheet(wb, fm, CITY_TASKS, headers, (26, *([9] * (len(headers) - 1))), rows)
    ws.set_row(0, 48)
    block = len(rows) + 2  # 0-based: one blank row below the table
    ws.write_string(block, 0, CITY_TARGET_TITLE, fm.label)
    for i, (key, label) in enumerate(CITY_TARGET_LABELS.items(), start=1):
        ws.write_string(block + i, 0, label, fm.value)
        ws.write_number(block + i, 1, getattr(plan.city_targets, key), fm.number)
    ws.write_string(block + len(CITY_TARGET_LABELS) + 2, 0,
                    "附件2印刷的合计与各镇区之和不一致时两行并列显示，程序不修改印刷数字。")

    tp.table_sheet(wb, fm, CITY_CARRIERS, CITY_HEADERS[CITY_CARRIERS],
                    (6, 12, 28, 12, 28, 16, 10))
    tp.table_sheet(wb, fm, CITY_PROJECTS, CITY_HEADERS[CITY_PROJECTS],
                    [12.0] * len(CITY_HEADERS[CITY_PROJECTS]))
    activity_headers = CITY_HEADERS[CITY_ACTIVITIES]
    schedule = []
    for a in plan.activities:
        row: dict[str, object] = {
            "镇区": "、".join(plan.town(t).short for t in a.host_towns), "序号": a.seq,
            "活动名称": a.name, "活动月份": a.month if a.month is not None else a.time,
            "主办单位": a.host, "举办状态": "计划", "附件3序号": a.seq,
        }
        schedule.append([row.get(h) for h in activity_headers])
    tp.table_sheet(wb, fm, CITY_ACTIVITIES, activity_headers,
                    [12.0] * len(activity_headers), schedule)
    tp.table_sheet(wb, fm, CITY_SUBMISSIONS, CITY_HEADERS[CITY_SUBMISSIONS],
                    [14.0] * len(CITY_HEADERS[CITY_SUBMISSIONS]),
                    [[t.short, "未报送"] for t in plan.towns])
    tp.table_sheet(wb, fm, CITY_ISSUES, CITY_HEADERS[CITY_ISSUES],
                    (6, 12, 24, 8, 18, 18, 20, 80, 30))
    tp.write_meta_sheet(wb, meta)
    wb.close()
    return out

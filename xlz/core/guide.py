"""The text of the 填报说明 sheet: what a town clerk reads before filling the workbook.

Plain Chinese, no jargon; generated from the entry specs so that the list of required
columns never drifts from the rules. Returns (heading, paragraph) pairs; the template
engine decides the layout.
"""

from __future__ import annotations

from xlz.core.entries import (
    ACTIVITIES,
    CARRIERS,
    ENTRY_SHEETS,
    FINDINGS_HEADER,
    LIVE_CHECK_HEADER,
    PROJECTS,
)
from xlz.core.guideinfo import as_of_range
from xlz.core.layout import CARRIER_SUMMARY, CONTACT_LABELS, RESULTS, TASKS
from xlz.core.plan import Plan, Town

_TARGET_WORDS = {
    "incubation_area_m2": "孵化面积",
    "new_national_incubators": "新增国家级孵化器",
    "new_provincial_incubators": "新增省级孵化器",
}


def _counting(plan: Plan) -> str:
    """How the plan counts carriers toward the city targets, in the clerk's words."""
    parts = [f"{_TARGET_WORDS[rule.target]}：{rule.note}" for rule in plan.carrier_counts]
    return "计入全市目标的规则是——" + "；".join(parts) + "。" if parts else ""


def _required(sheet_key: str) -> str:
    sheet = next(s for s in ENTRY_SHEETS if s.key == sheet_key)
    return "、".join(c.header for c in sheet.input_columns if c.required is not None)


def guide_sections(plan: Plan, town: Town) -> list[tuple[str, str]]:
    office = plan.office
    first, last = as_of_range(plan)
    return [
        ("这是什么", f"本表是{plan.city}科技招商工作的镇区填报表，由{office}统一下发，"
         f"已预先填好本镇区（{town.name}）和附件2下达的任务数。请在“{PROJECTS.name}”"
         f"“{CARRIERS.name}”“{ACTIVITIES.name}”三张表中逐行填写，每个项目、载体、活动占一行，"
         "从第2行开始填，不要留空行，不要改动表头、工作表名称和顺序。"),
        ("填报信息", f"请先在上方填写“{CONTACT_LABELS['reporter']}”“{CONTACT_LABELS['phone']}”和"
         f"“{CONTACT_LABELS['as_of']}”。{CONTACT_LABELS['as_of']}是本表数字截至的日期"
         f"（如 {plan.year}-06-30），必填，应在 {first.isoformat()} 至 {last.isoformat()} 之间；"
         "市里按这个日期把各镇区的报送归入同一期，并按填报人和电话联系。"),
        (PROJECTS.name, "每个科技招商项目填一行。必填：" + _required("project") +
         "。平台类、基金类项目还须填依托单位；人才类须填项目负责人；项目进展为已签约及以后须填"
         "签约日期；已注册、已投产须填企业名称。项目只有在“已签约”“已注册”“已投产”时才计入完成数，"
         "“洽谈中”的项目单独列为在谈项目。"),
        (CARRIERS.name, "每个孵化载体填一行。必填：" + _required("carrier") +
         "。载体类型为专业孵化器时须填专业领域（如“合成生物”）。项目信息表中的“落户载体”"
         "应与这里的载体名称一致。“载体级别”是计划建设的方向；“认定级别”和“认定时间”"
         "填已经取得的科技企业孵化器等认定（没有认定填“无”或留空），"
         + _counting(plan)),
        (ACTIVITIES.name, "本镇区举办或参加的每场招商活动填一行。必填：" + _required("activity") +
         "。活动月份填1–12的数字，全年开展的填“全年”。"),
        (TASKS, "由程序生成：本镇区附件2的任务数（空白表示附件2未下达该项任务，不是0），"
         "以及按项目信息表自动计算的完成数、完成率和在谈项目数。填写项目时会自动更新，无需手工填写。"),
        (CARRIER_SUMMARY, "按附件4的格式汇总本镇区的载体，点“生成汇总”按钮写入（没有插件时由市里汇总）。"),
        (RESULTS, "最近一次校验发现的全部问题，每条写明位置（如 项目信息!C5）、填写内容、问题和改法。"),
        ("下拉选择", "带下拉箭头的单元格请从列表中选择，不要自行输入别的写法；"
         "数字列只能填数字（不要加“个”“件”等文字），日期列请按 2023-03-05 的格式填写。"
         "选中单元格时会显示填写提示。"),
        ("红色标记和“" + LIVE_CHECK_HEADER + "”列", "每张填报表最右边的“" + LIVE_CHECK_HEADER +
         "”列由公式自动检查本行：填写时即时显示问题，例如“C5 项目类别不在可选项中”，"
         "同时有问题的单元格变为浅红色。改正后提示和红色会自动消失。"
         "这项检查不需要插件，在 Excel、WPS 和 LibreOffice 中都有效。"),
        ("“" + FINDINGS_HEADER + "”列和黄色标记", "“" + FINDINGS_HEADER + "”列由“校验本表”按钮"
         "（或市里校验时）写入完整的校验结论（比实时检查更全面，例如电话号码格式、"
         "全角数字等也会识别）；有提示的行整行显示浅黄色。请不要手工填写这一列，改正后重新校验即可。"),
        ("按钮（科技招商选项卡）", "安装科技招商插件后，Excel 功能区会出现“科技招商”选项卡："
         "“校验本表”检查全部填报内容并写入校验提示和校验结果；“生成汇总”更新任务分解和载体汇总；"
         "“清除标记”清除校验提示和校验结果；“关于”显示版本信息。"
         "没有安装插件（或使用 WPS）时，上面的实时检查照常工作，报送后由市里统一校验。"),
        ("工作表保护", "各工作表已设保护，但没有密码：表头、公式和程序写入的列被锁定，"
         "防止误改；填报单元格可以自由填写、调整行高列宽、筛选和排序。"
         "确需修改结构时可在“审阅”中直接撤销保护，但请不要删除或改名表头和工作表，"
         "否则市里无法自动汇总。"),
        ("报送", "填好后点“校验本表”按钮检查，保存（保持 .xlsx 格式，文件名可以不改），"
         "保存后发给市里。"
         "程序根据文件内的模板标识识别镇区，请使用本镇区的模板填报。"),
        ("联系", f"如有疑问，请联系{office}。"),
    ]

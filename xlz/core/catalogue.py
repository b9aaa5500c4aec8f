"""The rule catalogue: every check xlz makes, with a stable code, a severity, the fields
it reads, a Chinese title and a message template.

One catalogue, several executors: the Python validator (:mod:`xlz.core.validator`), the
template's dropdowns and live formula checks, and ``docs/rules.md`` all read the rules
built here. Column rules are derived from the entry-sheet specs in
:mod:`xlz.core.entries`; cross-field rules are listed explicitly.

Message templates are ``str.format`` templates. Every template may use ``{address}``
(e.g. ``项目信息!D12``), ``{header}`` and ``{value}``; other names are given per check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any

from xlz.core.entries import ENTRY_SHEETS, Column, EntrySheet, Kind
from xlz.core.findings import Severity

E = Severity.ERROR
W = Severity.WARNING


class Check(str, Enum):
    """The kind of check a rule makes."""

    REQUIRED = "required"  # the cell is empty
    INVALID = "invalid"  # the value cannot be read as the column's kind / is not a choice
    NEGATIVE = "negative"  # a number below 0
    TOO_LONG = "too_long"  # text longer than max_length
    DUPLICATE = "duplicate"  # the same value in another row of the sheet
    REQUIRED_IF = "required_if"  # empty although another field makes it required
    EXPECTED_IF = "expected_if"  # not the expected value although another field asks for it
    IN_YEAR = "in_year"  # a date outside the plan year
    REFERS_TO = "refers_to"  # names nothing on the referenced sheet
    STRUCTURE = "structure"  # a sheet or a column is missing
    FILE = "file"  # about the file as a whole
    PLAN = "plan"  # an inconsistency inside the plan document itself


@dataclass(frozen=True, slots=True)
class Condition:
    """``field`` holds one of ``values`` (all conditions of a rule must hold)."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the catalogue: stable code, severity, the fields it reads, a Chinese
    title and its message template (``str.format``)."""

    code: str
    severity: Severity
    check: Check
    title: str
    message: str  # str.format template
    sheet: str | None = None  # sheet name, None for file/plan rules
    field: str | None = None  # the column key the finding is anchored on
    reads: tuple[str, ...] = ()  # every column key the rule reads
    when: tuple[Condition, ...] = ()  # REQUIRED_IF / EXPECTED_IF
    expected: tuple[str, ...] = ()  # EXPECTED_IF: the allowed values
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def format(self, **values: Any) -> str:
        return self.message.format(**values)


_KIND_EXPECTED = {
    Kind.INTEGER: "不小于0的整数（不要加文字）",
    Kind.NUMBER: "数字",
    Kind.MONEY: "以万元为单位的数字，如 2000",
    Kind.AREA: "以平方米为单位的数字，如 5000",
    Kind.DATE: "日期，如 2023-03-05",
    Kind.MONTH: "1–12 的月份数字，或“全年”",
    Kind.PHONE: "11位手机号，或带区号的固定电话（如 0513-87654321；只有7–8位的本地号码请加上区号）",
}


def _column_rules(sheet: EntrySheet, col: Column) -> list[Rule]:
    rules: list[Rule] = []
    base = f"{sheet.key}.{col.key}"
    reads = (col.key,)
    if col.required is not None:
        rules.append(Rule(
            f"{base}.required", col.required, Check.REQUIRED, f"{col.header}必填",
            "{address}「{header}」不能为空。请填写{header}。",
            sheet.name, col.key, reads,
        ))
    if col.kind is Kind.CHOICE:
        rules.append(Rule(
            f"{base}.invalid", col.invalid, Check.INVALID, f"{col.header}不在可选项中",
            "{address}「{header}」填写了“{value}”，不是可选项。请从下拉列表中选择：{choices}。",
            sheet.name, col.key, reads, params={"list": col.choices},
        ))
    elif col.kind in _KIND_EXPECTED:
        rules.append(Rule(
            f"{base}.invalid", col.invalid, Check.INVALID, f"{col.header}格式不对",
            "{address}「{header}」填写了“{value}”，无法识别。请填写{expected}。",
            sheet.name, col.key, reads, params={"expected": _KIND_EXPECTED[col.kind]},
        ))
    if col.kind in (Kind.INTEGER, Kind.NUMBER, Kind.MONEY, Kind.AREA):
        rules.append(Rule(
            f"{base}.negative", col.invalid, Check.NEGATIVE, f"{col.header}不能为负数",
            "{address}「{header}」为“{value}”，不能为负数。请填写不小于0的数。",
            sheet.name, col.key, reads, params={"minimum": 0},
        ))
    if col.max_length is not None:
        rules.append(Rule(
            f"{base}.too_long", E, Check.TOO_LONG, f"{col.header}过长",
            "{address}「{header}」“{value}”共{length}个字，超过{max_length}字上限。请精简。",
            sheet.name, col.key, reads, params={"max_length": col.max_length},
        ))
    if col.unique:
        rules.append(Rule(
            f"{base}.duplicate", E, Check.DUPLICATE, f"{col.header}重复",
            "{address}「{header}」“{value}”与第{other_row}行重复。每个{thing}只填一行；"
            "如确为不同的{thing}，请在名称中加以区分。",
            sheet.name, col.key, reads,
        ))
    return rules


_SIGNED = ("已签约", "已注册", "已投产")
_ACCREDITED = ("国家级", "省级", "市级")  # 认定级别 other than 无

_CROSS_RULES: tuple[Rule, ...] = (
    Rule(
        "project.host.required_if", E, Check.REQUIRED_IF, "平台类、基金类项目须填依托单位",
        "{address}「依托单位」为空：{category}项目必须填写依托单位"
        "（合作的高校院所、央企、头部企业或创投机构）。",
        "项目信息", "host", ("host", "category"),
        when=(Condition("category", ("平台类", "基金类")),),
    ),
    Rule(
        "project.leader.required_if", E, Check.REQUIRED_IF, "人才类项目须填项目负责人",
        "{address}「项目负责人」为空：人才类项目必须填写引进的人才姓名。",
        "项目信息", "leader", ("leader", "category"),
        when=(Condition("category", ("人才类",)),),
    ),
    Rule(
        "project.company.required_if", E, Check.REQUIRED_IF, "已注册、已投产项目须填企业名称",
        "{address}「企业名称」为空：项目进展为“{status}”时必须填写注册的企业名称。",
        "项目信息", "company", ("company", "status"),
        when=(Condition("status", ("已注册", "已投产")),),
    ),
    Rule(
        "project.signed.required_if", E, Check.REQUIRED_IF, "已签约项目须填签约日期",
        "{address}「签约日期」为空：项目进展为“{status}”时必须填写签约日期，如 2023-03-05。",
        "项目信息", "signed", ("signed", "status"),
        when=(Condition("status", _SIGNED),),
    ),
    Rule(
        "project.signed.in_year", W, Check.IN_YEAR, "签约日期不在计划年度内",
        "{address}「签约日期」{value}不在{year}年内。请核对日期；往年签约的项目不计入本年任务。",
        "项目信息", "signed", ("signed",),
    ),
    Rule(
        "project.carrier.refers_to", W, Check.REFERS_TO, "落户载体未在孵化载体表登记",
        "{address}「落户载体」“{value}”不在本表“孵化载体”工作表中。"
        "请核对载体名称，或先在孵化载体表登记该载体。",
        "项目信息", "carrier", ("carrier",), params={"sheet": "孵化载体", "column": "name"},
    ),
    Rule(
        "project.prereview.expected_if", W, Check.EXPECTED_IF, "已签约的科创类、人才类项目应通过预审",
        "{address}「预审情况」为“{value}”：已签约的{category}项目应经预审并通过"
        "（方案四.2：科创类由科创办、人才类由人才办会同发改委预审）。请核对。",
        "项目信息", "prereview", ("prereview", "category", "status"),
        when=(Condition("category", ("科创类", "人才类")), Condition("status", _SIGNED)),
        expected=("预审通过",),
    ),
    Rule(
        "carrier.accredited_on.required_if", E, Check.REQUIRED_IF, "已认定的载体须填认定时间",
        "{address}「认定时间」为空：认定级别为国家级、省级、市级时必须填写认定日期，如 2023-09-30"
        "（只有计划年度内的认定才计入新增孵化器）。",
        "孵化载体", "accredited_on", ("accredited_on", "accreditation"),
        when=(Condition("accreditation", _ACCREDITED),),
    ),
    Rule(
        "carrier.progress.expected_if", W, Check.EXPECTED_IF, "已认定的载体应已建成运营",
        "{address}「建设进度」为“{value}”，但该载体已填认定级别。获得认定的载体应已建成运营，"
        "请核对建设进度或认定级别。",
        "孵化载体", "progress", ("progress", "accreditation"),
        when=(Condition("accreditation", _ACCREDITED),), expected=("建成运营",),
    ),
    Rule(
        "carrier.specialty.required_if", E, Check.REQUIRED_IF, "专业孵化器须填专业领域",
        "{address}「专业领域」为空：载体类型为专业孵化器时必须填写专业领域，如“合成生物”。",
        "孵化载体", "specialty", ("specialty", "type"),
        when=(Condition("type", ("专业孵化器",)),),
    ),
)

# 填报说明's 填报信息 (standard 2), checked by xlz.core.guideinfo: the date the figures
# stand at decides the round a file belongs to, so it must be there and plausible.
_GUIDE_RULES: tuple[Rule, ...] = (
    Rule(
        "guide.as_of.required", E, Check.REQUIRED, "数据截至日期必填",
        "{address}「数据截至日期」为空。请填写本表数据截至的日期，如 2023-06-30"
        "（市里按这个日期把各镇区的报送归入同一期）。",
        "填报说明", "as_of", ("as_of",),
    ),
    Rule(
        "guide.as_of.invalid", E, Check.INVALID, "数据截至日期格式不对",
        "{address}「数据截至日期」填写了“{value}”，无法识别。请填写日期，如 2023-06-30。",
        "填报说明", "as_of", ("as_of",), params={"expected": "日期，如 2023-06-30"},
    ),
    Rule(
        "guide.as_of.out_of_range", E, Check.IN_YEAR, "数据截至日期不在计划年度内",
        "{address}「数据截至日期」{day}不在{first}至{last}之间。本表填报的是{year}年的"
        "工作进展，请核对日期（年底数据可以填到次年年初）。",
        "填报说明", "as_of", ("as_of",),
    ),
    Rule(
        "guide.phone.invalid", W, Check.INVALID, "联系电话格式不对",
        "{address}「联系电话」填写了“{value}”，无法识别。请填写{expected}。",
        "填报说明", "phone", ("phone",), params={"expected": _KIND_EXPECTED[Kind.PHONE]},
    ),
)

_STRUCTURE_RULES: tuple[Rule, ...] = (
    Rule(
        "workbook.sheet.missing", E, Check.STRUCTURE, "缺少工作表",
        "工作簿中没有“{sheet}”工作表。请使用市里下发的模板，不要删除或改名工作表。",
    ),
    Rule(
        "workbook.column.missing", E, Check.STRUCTURE, "缺少列",
        "“{sheet}”工作表第{header_row}行没有“{header}”列。请使用市里下发的模板，不要删除或改名表头。",
    ),
    # The sheets xlz writes into (任务分解, 载体汇总, 校验结果, 填报说明): every cell it
    # writes is found by its row label and column header, never by a fixed address.
    Rule(
        "workbook.row.missing", E, Check.STRUCTURE, "缺少行标题",
        "“{sheet}”工作表的“{header}”列（{column}列）中没有“{label}”这一行，程序无法确定写入位置，"
        "文件未改动。请把这一行的标题恢复为模板原样（可从市里下发的模板中复制），不要删除或改名行标题。",
    ),
    Rule(
        "workbook.cell.too_long", E, Check.TOO_LONG, "单元格内容超过 Excel 上限",
        "{file}{address}「{header}」的内容有{length}个字符，超过 Excel 单元格的上限"
        "（{limit}个字符）：Excel 打开时会截去超出的部分，市级汇总表也无法完整收录，本行不计入汇总。"
        "请精简这一格的内容（详细材料可另附文件）后重新保存。",
    ),
    Rule(
        "workbook.label.duplicate", E, Check.STRUCTURE, "标题重复",
        "“{sheet}”工作表中“{label}”出现了不止一处（{cells}），程序无法确定写入位置，文件未改动。"
        "请删除多余的一处（或把它改成别的文字）后重试。",
    ),
)

# Whole-file findings that engines (in-place validation, consolidation) report.
_FILE_RULES: tuple[Rule, ...] = (
    Rule(
        "file.unreadable", E, Check.FILE, "文件无法读取",
        "文件“{file}”无法读取：{reason}",
    ),
    Rule(
        "file.not_template", E, Check.FILE, "不是标准模板",
        "文件“{file}”不是 xlz 标准模板（缺少模板标识）。请使用市里下发的模板重新填报；"
        "本次检查结果另存为报告，原文件未改动。",
    ),
    Rule(
        "file.standard_mismatch", E, Check.FILE, "模板标准版本不符",
        "文件“{file}”的模板标准版本为“{found}”，本程序支持“{expected}”。请使用最新模板。",
    ),
    Rule(
        "file.plan_mismatch", W, Check.FILE, "模板年度计划不符",
        "文件“{file}”按计划“{found}”生成，当前计划为“{expected}”。请核对是否使用了旧模板。",
    ),
    Rule(
        "file.town_unknown", E, Check.FILE, "无法识别镇区",
        "文件“{file}”无法识别所属镇区（模板标识和镇区单元格都没有有效镇区）。请使用本镇区的模板。",
    ),
    Rule(
        "file.town_from_cell", W, Check.FILE, "镇区由单元格识别",
        "文件“{file}”的模板标识中没有镇区，已按单元格内容“{value}”识别为{town}。请核对。",
    ),
    # Identity (xlz.core.identity): the metadata's two copies and the file name.
    Rule(
        "file.meta_conflict", E, Check.FILE, "模板标识前后不一致",
        "文件“{file}”的模板标识自相矛盾：文档属性中“{key}”为“{prop}”，隐藏的“_xlz”工作表中却为"
        "“{sheet_value}”，无法确定本文件的{what}。“_xlz”工作表可能被改动过。"
        "请把填报内容复制到市里下发的本镇区模板中重新报送，不要修改“_xlz”工作表。",
    ),
    Rule(
        "file.meta_incomplete", W, Check.FILE, "模板标识不完整",
        "文件“{file}”的{where}中缺少模板标识（{keys}），已按{used}识别。"
        "这通常是文件经其他软件转存或经邮件系统处理所致，不影响校验和汇总；"
        "如果经常出现，请直接用 Excel/WPS 编辑并发送市里下发的模板。",
    ),
    Rule(
        "file.wrong_kind", E, Check.FILE, "不是镇区填报模板",
        "文件“{file}”是{kind}，不是镇区填报模板，不能校验或计入汇总。"
        "请提交本镇区填好的填报模板。",
    ),
    Rule(
        "file.own_report", W, Check.FILE, "xlz 生成的校验报告",
        "文件“{file}”：这是 xlz 生成的校验报告，已跳过（不校验，也不计入汇总）。"
        "校验报告只供查看，请修改并报送原来的填报表。",
    ),
    Rule(
        "file.name_other_town", W, Check.FILE, "文件名与所属镇区不符",
        "文件名“{file}”写的是{named}，但文件内的模板标识属于{town}。程序按模板标识将本文件算作{town}的报送。"
        "如果发错了文件，请改发正确的文件；如果文件无误，请把文件名改为{town}。",
    ),
    # Intake (xlz.io.intake): the file itself must be fixed before anything is read or written.
    Rule(
        "file.not_found", E, Check.FILE, "找不到文件",
        "找不到文件“{file}”。请检查文件名和所在文件夹。",
    ),
    Rule(
        "file.empty", E, Check.FILE, "空文件",
        "文件“{file}”是空文件（0 字节），可能在复制或下载时中断。请重新保存或重新发送完整的文件。",
    ),
    Rule(
        "file.encrypted", E, Check.FILE, "文件已加密",
        "文件“{file}”设置了打开密码，程序无法读取。请在 Excel/WPS 中打开它，"
        "取消“用密码进行加密”（文件→信息→保护工作簿），保存后重新提交。",
    ),
    Rule(
        "file.corrupt", E, Check.FILE, "文件损坏或不完整",
        "文件“{file}”已损坏或不完整（{reason}）。请在 Excel/WPS 中打开原文件，"
        "另存为 Excel 工作簿（.xlsx）后重新提交；如无法打开，请重新发送完整的文件。",
    ),
    # The reader boundary (xlz.io.boundary): a reader failed on this file in a way it
    # does not report itself (a crash inside the Rust reader, a worker process that died).
    Rule(
        "file.reader_crashed", E, Check.FILE, "文件无法解析",
        "文件“{file}”无法解析，读取程序在处理它时出错（{reason}）。文件可能已损坏，"
        "或由其他软件生成、格式不规范；原文件未改动，其他文件照常处理。请在 Excel/WPS 中打开它，"
        "“另存为”Excel 工作簿（.xlsx）后重新提交；如无法打开，请重新发送完整的文件。",
    ),
    Rule(
        "file.html_as_xls", E, Check.FILE, "网页文件冒充表格",
        "文件“{file}”实际是网页（HTML）文件，只是扩展名为“{suffix}”（常见于从网站或系统导出的表格）。"
        "请用 Excel/WPS 打开后“另存为”Excel 工作簿（.xlsx），并把内容填入标准模板。",
    ),
    Rule(
        "file.csv_as_xls", E, Check.FILE, "CSV 文本冒充表格",
        "文件“{file}”实际是 CSV 文本，只是扩展名为“{suffix}”。"
        "请使用市里下发的标准模板（.xlsx）填报，不要另存为 CSV。",
    ),
    Rule(
        "file.wps_et", E, Check.FILE, "WPS 表格格式",
        "文件“{file}”是 WPS 表格格式（.et/.ett），程序不能处理。请在 WPS 中选择“文件→另存为”，"
        "文件类型选“Excel 工作簿（*.xlsx）”，保存后提交新的 .xlsx 文件。",
    ),
    Rule(
        "file.locked", E, Check.FILE, "文件正在被打开",
        "文件“{file}”正在被 Excel/WPS 打开（同一文件夹中有锁定文件“{lock}”），无法写入校验结果。"
        "请先保存并关闭该文件再校验；如果文件并未打开，请删除“{lock}”。",
    ),
    Rule(
        "file.readonly", E, Check.FILE, "文件只读",
        "文件“{file}”是只读文件（或所在文件夹不可写），无法写入校验结果。"
        "请在文件属性中取消“只读”后重试，或使用 --check 只检查不写入。",
    ),
    Rule(
        "file.not_workbook", E, Check.FILE, "不是 Excel 工作簿",
        "文件“{file}”不是 Excel 工作簿（识别为：{kind}）。请提交市里下发的标准模板（.xlsx）。",
    ),
    Rule(
        "file.too_large", E, Check.FILE, "文件异常庞大",
        "文件“{file}”解压后异常庞大（{reason}），为安全起见拒绝读取。"
        "请在 Excel/WPS 中删除多余的空行空列后另存为 .xlsx 重新提交。",
    ),
    Rule(
        "file.unsupported_compression", E, Check.FILE, "不支持的压缩方式",
        "文件“{file}”中的部件 {part} 使用了程序不支持的压缩方式（{method}），原文件未改动。"
        "Excel/WPS 保存的文件不会这样，通常是被压缩软件或其他程序重新打包过。"
        "请在 Excel/WPS 中打开它，“另存为”Excel 工作簿（.xlsx）后重新提交。",
    ),
    Rule(
        "file.strict_ooxml", E, Check.FILE, "Strict Open XML 格式",
        "文件“{file}”保存成了“Strict Open XML 电子表格”格式，程序不能写入它，原文件未改动。"
        "请在 Excel 中选择“文件→另存为”，文件类型选“Excel 工作簿（*.xlsx）”，保存后重试。",
    ),
    Rule(
        "file.unsafe_xml", E, Check.FILE, "文件含有文档类型声明",
        "文件“{file}”的部件 {part} 含有文档类型声明（DTD）或实体定义，为安全起见程序不处理，"
        "原文件未改动。Excel/WPS 保存的文件不会这样；请在 Excel/WPS 中打开它，"
        "“另存为”Excel 工作簿（.xlsx）后重新提交。",
    ),
    Rule(
        "file.reserved_missing", W, Check.FILE, "模板预留位置缺失",
        "文件“{file}”缺少写入校验结果的预留位置（{what}），原文件未改动，"
        "校验结果已另存为“{report}”。请使用市里下发的模板，不要删除工作表或表头。",
    ),
    Rule(
        "file.suffix_mismatch", E, Check.FILE, "扩展名与实际格式不符",
        "文件“{file}”实际是 {real} 格式（{real_name}），扩展名却是 {suffix}；"
        "请改回 {real} 或另存为 .xlsx。",
    ),
    Rule(
        "file.format_not_writable", W, Check.FILE, "格式不支持原位写入",
        "文件“{file}”是 {format} 格式，程序不会改写它；校验结果已另存为“{report}”。"
        "请在 Excel/WPS 中另存为 .xlsx 后使用。",
    ),
    # Consolidation (xlz.io.inbox, xlz.core.consolidation): an inbox of emails and archives.
    Rule(
        "file.archive_limit", E, Check.FILE, "压缩包或邮件超出安全限制",
        "“{file}”：{reason}，为安全起见未展开。请直接发送填好的表格文件（.xlsx）。",
    ),
    Rule(
        "file.no_workbook", E, Check.FILE, "压缩包中没有表格",
        "压缩包“{file}”中没有表格文件（{reason}）。请确认压缩时选中了填好的模板。",
    ),
    Rule(
        "file.email_no_attachment", E, Check.FILE, "邮件没有表格附件",
        "邮件“{file}”{reason}，无法汇总。请联系发件镇区重新发送，并附上填好的模板（.xlsx）。",
    ),
    Rule(
        "file.town_conflict", E, Check.FILE, "两个镇区认领同一文件",
        "文件“{file}”的模板标识属于{meta_town}，但“填报说明”{where}的镇区填写为“{value}”（{cell_town}）。"
        "无法确定报送镇区，本文件不计入汇总。请由正确的镇区使用本镇区的模板重新报送。",
    ),
    Rule(
        "file.row_excluded", W, Check.FILE, "所在文件未通过校验，本行未计入汇总",
        "{address}：所在文件“{file}”有错误、未通过校验，本行未计入全市汇总。请修正错误后重新报送。",
    ),
    Rule(
        "file.row_superseded", W, Check.FILE, "所在文件已被新报送取代，本行未计入汇总",
        "{address}：所在文件“{file}”已被{town}较新的报送“{winner}”取代，本行未计入全市汇总。",
    ),
    Rule(
        "file.order_uncertain", W, Check.FILE, "无法确定哪份报送较新",
        "{town}有多份报送，程序采用了“{file}”而不是“{other}”，但两者的先后{why}。"
        "请向{town}核实哪一份是最终版本；如采用有误，请{town}重新报送最终版本。",
    ),
    # One line on the city workbook's 问题清单 for a whole file whose rows do not count
    # (the row-level file.row_* lines go to the sheet 未计入汇总的行, not to the list).
    Rule(
        "file.superseded", W, Check.FILE, "文件已被新报送取代，未计入汇总",
        "文件“{file}”已被{town}较新的报送“{winner}”取代，其{rows}行均未计入全市汇总"
        "（逐行见“{detail}”表）。{changes}",
    ),
    Rule(
        "file.rows_excluded", W, Check.FILE, "文件未通过校验，各行未计入汇总",
        "文件“{file}”有错误、未通过校验，其{rows}行均未计入全市汇总（逐行见“{detail}”表）。"
        "请修正上列错误后重新报送。",
    ),
    # Writing (xlz.core.errors.OutputError): the original is left as it was.
    Rule(
        "output.disk_full", E, Check.FILE, "磁盘空间不足",
        "磁盘空间不足，无法写入“{file}”，原文件未改动。请清理所在磁盘（{folder}）"
        "或把文件复制到空间充足的磁盘后重试。",
    ),
    Rule(
        "output.denied", E, Check.FILE, "没有写入权限",
        "没有权限在“{folder}”中写入“{file}”，原文件未改动。"
        "请把文件复制到“桌面”或“文档”等可写的文件夹后重试。",
    ),
    Rule(
        "output.in_use", E, Check.FILE, "文件正被打开",
        "“{file}”正在 Excel、WPS 或 LibreOffice 中打开（{lock}），原文件未改动。"
        "请先关闭它，再重新运行。",
    ),
    Rule(
        "output.sheet_password", E, Check.FILE, "工作表设有保护密码",
        "工作表“{sheet}”设置了保护密码，按钮无法写入。请先撤销工作表保护（审阅 → "
        "撤销工作表保护）再试。未作任何修改。",
    ),
    Rule(
        "output.busy", E, Check.FILE, "文件正由另一个 xlz 程序写入",
        "“{file}”正由另一个 xlz 程序写入（{holder}），等待 {seconds} 秒后仍未结束，原文件未改动。"
        "请稍后重试；如确认没有其他 xlz 程序在运行，请删除“{lock}”后重试。",
    ),
    Rule(
        "output.is_input", E, Check.FILE, "输出文件是报送文件",
        "输出文件“{file}”是本次要汇总的报送文件（或在其压缩包、邮件之内），写入会覆盖报送。"
        "未读取也未写入任何文件。请用 --out 为市级汇总表另选文件名。",
    ),
    Rule(
        "output.not_city", E, Check.FILE, "输出文件不是市级汇总表",
        "“{file}”已存在，但不是 xlz 生成的市级汇总表，为免覆盖他人文件，未读取也未写入任何文件。"
        "请另选文件名；确认要覆盖时加 --force。",
    ),
    Rule(
        "output.nothing_read", E, Check.FILE, "没有读到报送文件",
        "本次没有读到任何可用的报送文件（{reason}），已存在的市级汇总表“{file}”保持原样。"
        "请检查文件夹或文件路径是否正确。",
    ),
    Rule(
        "output.write_failed", E, Check.FILE, "写入失败",
        "无法写入“{file}”（{reason}），原文件未改动。请检查磁盘和文件夹后重试。",
    ),
    Rule(
        "output.exists", E, Check.FILE, "输出文件已存在",
        "“{file}”已存在（可能是已修改过的通报），为免覆盖，未写入任何文件。"
        "请另选文件名；确认要覆盖时加 --force。",
    ),
    Rule(
        "output.feedback_in_inbox", E, Check.FILE, "反馈文件夹在收件箱中",
        "反馈文件夹“{file}”位于要汇总的来源“{source}”之中：标注后的副本会在下次汇总时被当作报送读入。"
        "未读取也未写入任何文件。请用 --feedback 另选收件箱以外的文件夹。",
    ),
    # The ledger (xlz.io.ledger, docs/ledger.md): refused before anything is read.
    Rule(
        "ledger.not_ledger", E, Check.FILE, "台账文件不是 xlz 台账",
        "“{file}”已存在，但不是 xlz 的科技招商台账（{reason}），为免损坏他人文件，"
        "未读取也未写入任何文件。请用 --ledger 另选台账文件名。",
    ),
    Rule(
        "ledger.newer", E, Check.FILE, "台账由更新版本的 xlz 建立",
        "台账“{file}”由更新版本的 xlz 建立（台账格式第 {found} 版，本程序只认识到第 {known} 版），"
        "未读取也未写入任何文件。请升级 xlz 后重试。",
    ),
    Rule(
        "ledger.locked", E, Check.FILE, "台账正被占用",
        "台账“{file}”正被另一个程序（或另一次汇总）占用，未写入任何内容。"
        "请等它结束或关闭打开台账的程序后重试。",
    ),
    Rule(
        "ledger.not_found", E, Check.FILE, "找不到台账",
        "找不到台账“{file}”。请检查路径；台账在第一次汇总时建立在市级汇总表旁边（科技招商台账.sqlite）。",
    ),
    Rule(
        "ledger.no_round", E, Check.FILE, "台账中没有这一期",
        "台账“{file}”中没有截至 {period} 的一期。已有：{known}。",
    ),
    Rule(
        "ledger.bad_period", E, Check.FILE, "期次日期无法识别",
        "期次“{value}”不是日期。请写成 年-月-日，如 2026-06-30。",
    ),
    # The portal (xlz serve, docs/portal.md): what a clerk or the office is told on a page.
    Rule(
        "portal.wrong_town", E, Check.FILE, "文件属于其他镇区",
        "文件“{file}”的模板标识是{found}的，而这个链接是{town}的报送链接，文件未采用。"
        "请用本镇区的模板填报；替其他镇区报送时请用该镇区的链接。",
    ),
    Rule(
        "portal.too_large", E, Check.FILE, "上传的文件太大",
        "上传的文件超过 {limit} MB，未接收。填报表通常只有几百 KB：请检查是否选错了文件，"
        "或删除表中的图片后重新保存再上传。",
    ),
    Rule(
        "portal.link_invalid", E, Check.FILE, "报送链接无效",
        "这个报送链接无效或已作废。请向市科技局索取本镇区的新链接。",
    ),
    Rule(
        "portal.form_expired", E, Check.FILE, "表单已失效",
        "表单已失效（缺少或不符的安全校验码），未做任何改动。请刷新页面后重新提交。",
    ),
    Rule(
        "portal.no_file", E, Check.FILE, "没有选择文件",
        "没有收到文件。请点“选择文件”选好填报表后再点“上传”。",
    ),
    Rule(
        "portal.not_initialised", E, Check.FILE, "门户数据文件夹未初始化",
        "“{file}”不是 xlz 门户的数据文件夹（缺少门户.sqlite）。请先运行 "
        "xlz serve --data 文件夹 --init。",
    ),
    Rule(
        "portal.already_initialised", E, Check.FILE, "门户数据文件夹已初始化",
        "“{file}”已经初始化过，未做任何改动（口令和链接保持不变）。要作废某个镇区的链接请用 "
        "--revoke 镇区，重新发放用 --reissue 镇区。",
    ),
    Rule(
        "portal.unknown_town", E, Check.FILE, "镇区名称无法识别",
        "“{value}”不是方案中的镇区。可用：{known}。",
    ),
    Rule(
        "portal.not_installed", E, Check.FILE, "未安装网页报送组件",
        "xlz serve 需要网页报送组件（缺少 {what}）。请运行：pip install \"xlz[serve]\"",
    ),
    # The installation and xlz itself (xlz.core.errors.PackageError).
    Rule(
        "package.broken", E, Check.FILE, "安装不完整",
        "xlz 安装不完整（缺少 {what}）。请按安装说明重新安装 xlz 后重试。",
    ),
    Rule(
        "package.internal", E, Check.FILE, "内部错误",
        "内部错误：{where}程序出现异常（{reason}）。这是 xlz 的缺陷，不是您操作的问题。"
        "请把这条消息和相关文件发给{report_to}；设置环境变量 XLZ_DEBUG=1 后重试可显示详细信息。",
    ),
)

_PLAN_RULES: tuple[Rule, ...] = (
    Rule(
        "plan.attachment2.total_mismatch", W, Check.PLAN, "附件2合计与各镇区之和不符",
        "附件2“{header}”一栏印刷的合计为{printed}，各镇区之和为{computed}（相差{diff}）。"
        "程序照录印刷数字，汇总时二者并列显示。",
    ),
    Rule(
        "plan.attachment2.city_target_mismatch", W, Check.PLAN, "附件2与方案正文目标不符",
        "附件2“{header}”{which}为{figure}，方案正文的全市目标为{target}（相差{diff}）。",
    ),
    Rule(
        "plan.reference.unknown", E, Check.PLAN, "计划内引用无效",
        "计划文件中{where}引用了不存在的{what}“{value}”。",
    ),
    Rule(
        "plan.carrier.direction_mismatch", E, Check.PLAN, "附件4建设方向无法由级别和类型还原",
        "附件4第{seq}行“{name}”的建设方向印刷为“{printed}”，由级别、类型和专业领域生成的是“{rendered}”。",
    ),
    # The plan file itself (xlz.core.errors.PlanError).
    Rule(
        "plan.not_found", E, Check.PLAN, "找不到计划文件",
        "找不到计划文件“{file}”。请检查文件名，或使用内置的计划：{available}。",
    ),
    Rule(
        "plan.invalid", E, Check.PLAN, "计划文件格式错误",
        "计划文件“{file}”无法使用：{reason}。请核对计划文件，或使用内置的计划：{available}。",
    ),
)


def _build() -> dict[str, Rule]:
    rules: list[Rule] = []
    for sheet in ENTRY_SHEETS:
        for col in sheet.input_columns:
            rules.extend(_column_rules(sheet, col))
    rules.extend(_CROSS_RULES)
    rules.extend(_GUIDE_RULES)
    rules.extend(_STRUCTURE_RULES)
    rules.extend(_FILE_RULES)
    rules.extend(_PLAN_RULES)
    catalogue: dict[str, Rule] = {}
    for rule in rules:
        if rule.code in catalogue:  # pragma: no cover - guards the catalogue itself
            raise RuntimeError(f"duplicate rule code {rule.code}")
        catalogue[rule.code] = rule
    return catalogue


RULES: Mapping[str, Rule] = MappingProxyType(_build())
"""Every rule by code, read-only (a ``MappingProxyType``): the catalogue is shared by
the validator, the templates and the docs, so nobody may change it at run time."""


def rule(code: str) -> Rule:
    return RULES[code]


def rules_for_sheet(sheet_name: str) -> list[Rule]:
    return [r for r in RULES.values() if r.sheet == sheet_name]

"""The three entry sheets a clerk fills, column by column, exactly as the standard lists
them (docs/standard.md section 2). Column order here is the order in the template.

The specs are plain data: the validator, the template generator (dropdowns, widths,
input hints) and the docs all read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from xlz.core.findings import Severity

E = Severity.ERROR
W = Severity.WARNING


class Kind(str, Enum):
    TEXT = "text"
    INTEGER = "integer"  # whole number ≥ 0, units like 个/件 tolerated
    NUMBER = "number"  # number ≥ 0
    MONEY = "money"  # number ≥ 0 in 万元; 2000万 / 1.5亿 tolerated
    AREA = "area"  # number ≥ 0 in m²
    DATE = "date"
    CHOICE = "choice"  # one of a plan list
    MONTH = "month"  # 1–12 or 全年
    PHONE = "phone"
    LIBRARY = "library"  # written by xlz, never typed by a clerk


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # identifier used in code and JSON
    header: str  # exact header text in the workbook
    kind: Kind
    required: Severity | None = None  # severity when empty (None: optional)
    choices: str | None = None  # plan list name for CHOICE columns
    invalid: Severity = E  # severity when a value cannot be read / is not allowed
    max_length: int | None = None
    unique: bool = False
    width: float = 12
    hint: str = ""  # input message shown by the template


@dataclass(frozen=True, slots=True)
class EntrySheet:
    key: str  # "project" | "carrier" | "activity"
    name: str  # sheet name
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    @property
    def input_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.kind is not Kind.LIBRARY)


FINDINGS_HEADER = "校验提示"  # written by `xlz validate`
LIVE_CHECK_HEADER = "实时检查"  # formula column compiled from the rule catalogue

_FINDINGS = Column("findings", FINDINGS_HEADER, Kind.LIBRARY, width=40,
                   hint="由“校验本表”按钮（或市里校验时）写入，请勿手工填写")
_LIVE = Column("live_check", LIVE_CHECK_HEADER, Kind.LIBRARY, width=40,
               hint="公式自动检查，填写时即时显示问题，请勿修改")

PROJECTS = EntrySheet(
    "project",
    "项目信息",
    (
        Column("seq", "序号", Kind.INTEGER, invalid=W, width=6),
        Column("name", "项目名称", Kind.TEXT, required=E, max_length=100, unique=True, width=30,
               hint="必填，不超过100字，本表内不得重复"),
        Column("category", "项目类别", Kind.CHOICE, required=E, choices="项目类别", width=10,
               hint="必填：科创类、人才类、平台类、服务类、基金类"),
        Column("field", "产业领域", Kind.CHOICE, required=E, choices="产业领域", width=16,
               hint="必填：九大重点领域或“其他”"),
        Column("direction", "细分方向", Kind.TEXT, width=18, hint="选填，可参考该领域的细分方向"),
        Column("origin", "项目来源地", Kind.CHOICE, required=E, choices="项目来源地", width=14,
               hint="必填，从下拉列表选择"),
        Column("host", "依托单位", Kind.TEXT, width=20,
               hint="平台类、基金类必填：合作高校院所、央企、头部企业或创投机构"),
        Column("leader", "项目负责人", Kind.TEXT, width=10, hint="人才类必填"),
        Column("company", "企业名称", Kind.TEXT, width=24, hint="已注册、已投产的项目必填"),
        Column("status", "项目进展", Kind.CHOICE, required=E, choices="项目进展", width=10,
               hint="必填：洽谈中、已签约、已注册、已投产"),
        Column("signed", "签约日期", Kind.DATE, width=12,
               hint="已签约及以后必填，格式 2023-03-05"),
        Column("carrier", "落户载体", Kind.TEXT, invalid=W, width=18,
               hint="选填，应为“孵化载体”表中登记的载体"),
        Column("investment", "计划总投资（万元）", Kind.MONEY, width=12, hint="选填，单位万元，不小于0"),
        Column("invention_patents", "发明专利实审数（件）", Kind.INTEGER, width=10,
               hint="不小于0的整数，空白按0计"),
        Column("utility_patents", "实用新型专利授权数（件）", Kind.INTEGER, width=10,
               hint="不小于0的整数，空白按0计"),
        Column("prereview", "预审情况", Kind.CHOICE, choices="预审情况", invalid=W, width=10,
               hint="未预审、预审通过、预审未通过"),
        Column("contact", "联系人", Kind.TEXT, width=10),
        Column("phone", "联系电话", Kind.PHONE, invalid=W, width=14,
               hint="11位手机号或带区号的固定电话"),
        Column("note", "备注", Kind.TEXT, width=20),
        _FINDINGS,
        _LIVE,
    ),
)

CARRIERS = EntrySheet(
    "carrier",
    "孵化载体",
    (
        Column("seq", "序号", Kind.INTEGER, invalid=W, width=6),
        Column("name", "科创载体名称", Kind.TEXT, required=E, unique=True, max_length=100,
               width=24, hint="必填，本表内不得重复"),
        Column("method", "建设方式", Kind.CHOICE, required=E, choices="建设方式", width=12,
               hint="必填：新建载体、盘活厂房、升级"),
        Column("level", "载体级别", Kind.CHOICE, choices="载体级别", invalid=W, width=10,
               hint="国家级、省级、市级，或留空"),
        Column("type", "载体类型", Kind.CHOICE, choices="载体类型", invalid=W, width=12,
               hint="孵化器、专业孵化器、众创空间、加速器、科技园区、其他，或留空"),
        Column("specialty", "专业领域", Kind.TEXT, width=14, hint="专业孵化器必填，如“合成生物”"),
        Column("area", "孵化面积（平方米）", Kind.AREA, required=E, width=14,
               hint="必填，单位平方米，不小于0"),
        Column("progress", "建设进度", Kind.CHOICE, choices="建设进度", invalid=W, width=10,
               hint="谋划中、在建、建成运营"),
        # Standard 2: what the incubator targets count is an accreditation won, not the
        # level planned above (载体级别, 附件4's 建设方向). Absent from standard-1 files.
        Column("accreditation", "认定级别", Kind.CHOICE, choices="认定级别", width=10,
               hint="已获科技企业孵化器等认定的级别：国家级、省级、市级；未获认定填“无”或留空"),
        Column("accredited_on", "认定时间", Kind.DATE, width=12,
               hint="获得认定的日期，如 2023-09-30；认定级别为国家级、省级、市级时必填"),
        Column("note", "备注", Kind.TEXT, width=20),
        _FINDINGS,
        _LIVE,
    ),
)

ACTIVITIES = EntrySheet(
    "activity",
    "招商活动",
    (
        Column("seq", "序号", Kind.INTEGER, invalid=W, width=6),
        Column("name", "活动名称", Kind.TEXT, required=E, max_length=100, width=30, hint="必填"),
        Column("month", "活动月份", Kind.MONTH, required=E, width=10, hint="必填：1–12 或“全年”"),
        Column("host", "主办单位", Kind.TEXT, required=E, width=20, hint="必填"),
        Column("type", "活动类型", Kind.CHOICE, choices="活动类型", invalid=W, width=12),
        Column("state", "举办状态", Kind.CHOICE, choices="举办状态", invalid=W, width=10,
               hint="计划、已举办、取消"),
        Column("matched", "对接项目数", Kind.INTEGER, invalid=W, width=10, hint="不小于0的整数"),
        Column("signed", "签约项目数", Kind.INTEGER, invalid=W, width=10, hint="不小于0的整数"),
        Column("note", "备注", Kind.TEXT, width=20),
        _FINDINGS,
        _LIVE,
    ),
)

ENTRY_SHEETS: tuple[EntrySheet, ...] = (PROJECTS, CARRIERS, ACTIVITIES)


def entry_sheet(key_or_name: str) -> EntrySheet:
    for sheet in ENTRY_SHEETS:
        if key_or_name in (sheet.key, sheet.name):
            return sheet
    raise KeyError(key_or_name)

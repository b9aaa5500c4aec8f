"""One answer to "is this an xlz workbook — which kind, plan, town and standard version".

``validate``, ``fill``, the add-in's xlwings entry points and ``consolidate`` all decide
with :func:`identify`, from the same :class:`Evidence` in the same order, so a file is
never accepted by one of them and refused by another.

The evidence (gathered by the readers, see :func:`evidence_of`):

1. the ``xlz.*`` custom document properties (``docProps/custom.xml``) — ``None`` when
   the reader cannot see them (an .ods or .xls file, an xlwings book without the saved
   file);
2. the ``xlz.*`` key/value rows of the very hidden ``_xlz`` sheet (its mirror);
3. the town named on 填报说明 (the value beside the label 镇区);
4. the file name (a clerk's name for it; never decides, may only warn).

The two metadata sources are compared key by key (template, standard, plan, town,
generated); an empty value counts as missing.

=========================================  =============================================
evidence                                   decision
=========================================  =============================================
both sources give the same value           that value
only one source gives a value              that value, and a 提醒 ``file.meta_incomplete``
                                           (a mail gateway or a converter dropped the
                                           properties, or ``_xlz`` lost a row); LibreOffice
                                           and Excel keep both, so this is worth a note,
                                           not a refusal
the sources give different values          错误 ``file.meta_conflict``, never a silent
                                           choice; the key counts as unknown (a
                                           conflicting template or standard: not a
                                           template; a conflicting town: no town, no
                                           fallback to the 镇区 cell)
no ``xlz.*`` value anywhere                not an xlz workbook (``file.not_template``),
                                           except a name ending in ``.校验报告.xlsx``:
                                           a report written before reports carried
                                           their kind (kind ``report``)
``xlz.template`` is ``city``               not a town workbook (``file.wrong_kind``)
``xlz.template`` is ``report``             our own report workbook, whatever its name:
                                           skipped with a note (``file.own_report``,
                                           提醒), never validated or counted
``xlz.standard`` is not one xlz reads      ``file.standard_mismatch``: not a template
``xlz.plan`` is not the plan in use        ``file.plan_mismatch`` (提醒)
``xlz.town`` and the 镇区 cell disagree    ``file.town_conflict``: no town
no town in the metadata, one in the cell   that town, ``file.town_from_cell`` (提醒)
no town anywhere (a town template)         ``file.town_unknown``
the file name names other towns only       ``file.name_other_town`` (提醒): the metadata
                                           wins, the spec says so
=========================================  =============================================

A workbook is :attr:`Identity.template` (its reserved places may be written) when it is a
town workbook of the supported standard; it is :attr:`Identity.accepted` (fill may write
its summaries, consolidation may count it for its town) when in addition its town is
known and the identity has no 错误.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from xlz.core import layout as L
from xlz.core.catalogue import RULES
from xlz.core.cells import CellValue, cell_ref, display
from xlz.core.findings import Finding, Severity
from xlz.core.plan import DEFAULT_PLAN, Plan, Town, available_plans, load_plan
from xlz.core.text import match_key
from xlz.core.validator import SheetValues

if TYPE_CHECKING:
    from xlz.core.workbook import WorkbookData

Kind = Literal["town", "city", "report", "none"]

META_KEYS: Final = (L.META_TEMPLATE, L.META_STANDARD, L.META_PLAN, L.META_TOWN,
                    L.META_GENERATED)
META_PREFIX: Final = "xlz."
REPORT_SUFFIX: Final = ".校验报告.xlsx"  # the report workbook written beside a file

_KINDS: Final[Mapping[str, Kind]] = {"town": "town", "city": "city", "report": "report"}
_KIND_TEXT: Final[Mapping[str, str]] = {
    "city": "市级汇总模板", "report": "程序生成的校验报告",
}
_WHAT: Final[Mapping[str, str]] = {
    L.META_TEMPLATE: "模板类型", L.META_STANDARD: "模板标准版本", L.META_PLAN: "年度计划",
    L.META_TOWN: "所属镇区", L.META_GENERATED: "模板生成时间",
}
_PROPERTIES_TEXT: Final = "文档属性"
_SHEET_TEXT: Final = "隐藏的“_xlz”工作表"


def base_name(name: str) -> str:
    """The file's own name (what the clerk calls it) from a display name or a path
    (``收件箱/邮件.eml › 附件.xlsx`` → ``附件.xlsx``; Windows separators too)."""
    return name.rsplit(" › ", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class GuideTown:
    """The value beside the label 镇区 on 填报说明, where it was found."""

    value: CellValue
    row: int  # 1-based
    col: int  # 0-based

    @property
    def cell(self) -> str:
        return cell_ref(self.row, self.col)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything :func:`identify` looks at, each source kept apart so they can be
    compared. Built by :func:`evidence_of` from what a reader produced."""

    file_name: str  # the file's own name
    properties: Mapping[str, str] | None  # xlz.* custom properties; None: not visible
    meta_sheet: Mapping[str, str] | None  # xlz.* rows of _xlz; None: no _xlz sheet
    guide_town: GuideTown | None = None  # the 镇区 cell on 填报说明


@dataclass(frozen=True, slots=True)
class Identity:
    """What a file is, decided by :func:`identify`; ``findings`` say why (file findings,
    to be put in front of the validation's own)."""

    kind: Kind
    plan: Plan  # the plan to validate with
    plan_id: str | None  # the plan the metadata names
    standard: str | None  # the standard version the metadata names
    town: Town | None
    findings: tuple[Finding, ...] = field(default=())

    @property
    def template(self) -> bool:
        """A town workbook of a standard xlz reads (``layout.SUPPORTED_STANDARDS``): its
        reserved places may be written. An older version's places are found by their
        labels like the current one's; what it lacks is listed in ``layout.STANDARD_LACKS``."""
        return self.kind == "town" and self.standard in L.SUPPORTED_STANDARDS

    @property
    def ok(self) -> bool:
        """No 错误 among the identity findings."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def accepted(self) -> bool:
        """Whose it is is certain: a template with a known town and no identity 错误."""
        return self.template and self.town is not None and self.ok

    @property
    def version_text(self) -> str:
        """``标准1 / rugao-2023`` for 报送情况, ``（无标识）`` without metadata."""
        parts = (f"标准{self.standard}" if self.standard else "", self.plan_id or "")
        return " / ".join(x for x in parts if x) or "（无标识）"


# ------------------------------------------------------------------------- evidence


def meta_sheet_values(values: SheetValues) -> dict[str, str]:
    """The ``xlz.*`` key/value rows of the ``_xlz`` sheet (key, then value, in the first
    two non-empty cells of a row). A whole number read as a float is written without
    ``.0``, a date-time (an engine that reads ISO text as a date) as ISO text; empty
    values are left out."""
    props: dict[str, str] = {}
    for row in values.rows:
        cells = [v for v in row if v is not None and v != ""]
        if len(cells) >= 2 and isinstance(cells[0], str) and \
                cells[0].strip().startswith(META_PREFIX):
            value = cells[1]
            if isinstance(value, dt.datetime):  # xlz.generated, read back as a date
                text = value.replace(tzinfo=None).isoformat()
            else:
                text = display(value).strip()
            props[cells[0].strip()] = text
    return props


def guide_town(guide: SheetValues | None) -> GuideTown | None:
    """The cell right of the label 镇区 on 填报说明 (wherever the label is)."""
    if guide is None:
        return None
    label = match_key(L.STATUS_LABELS["town"])
    for i, row in enumerate(guide.rows):
        for j, cell in enumerate(row[:-1]):
            if isinstance(cell, str) and match_key(cell.strip()) == label:
                return GuideTown(row[j + 1], guide.first_row + i, guide.first_col + j + 1)
    return None


def evidence_of(data: WorkbookData, name: str | None = None) -> Evidence:
    """The evidence in what a reader produced; ``name``: the file's display name (its
    path's last part is the file name), else ``data.path``."""
    meta = data.sheets.get(L.META_SHEET)
    return Evidence(
        base_name(name or data.path),
        data.properties,
        None if meta is None else meta_sheet_values(meta),
        guide_town(data.sheets.get(L.GUIDE)),
    )


# ------------------------------------------------------------------------- decision


def _finding(code: str, evidence: Evidence, source: str, value: CellValue = None, *,
             sheet: str | None = None, cell: str | None = None, row: int | None = None,
             **extra: Any) -> Finding:
    rule = RULES[code]
    message = rule.format(file=evidence.file_name, value=display(value), **extra)
    return Finding(code, rule.severity, sheet, cell, value, message, row, None, source)


def _town_of(plan: Plan, code: str | None) -> Town | None:
    if not code:
        return None
    try:
        return plan.town(code)
    except KeyError:
        return plan.resolve_town(code)


# The first-character index of each plan's town names (see _name_index), by the
# identity of its Plan.town_name_keys (kept here too, so that the id is not reused).
_NAME_INDEXES: dict[int, tuple[object, dict[str, list[tuple[int, int, str]]]]] = {}


def _name_index(keys: tuple[tuple[Town, tuple[str, ...]], ...]
                ) -> dict[str, list[tuple[int, int, str]]]:
    """First character → (town position, name position, name) of the names starting
    with it."""
    known = _NAME_INDEXES.get(id(keys))
    if known is not None and known[0] is keys:
        return known[1]
    index: dict[str, list[tuple[int, int, str]]] = {}
    for t, (_, names) in enumerate(keys):
        for j, name in enumerate(names):
            index.setdefault(name[0], []).append((t, j, name))
    if len(_NAME_INDEXES) >= 8:  # a few plans per process at most
        _NAME_INDEXES.clear()
    _NAME_INDEXES[id(keys)] = (keys, index)
    return index


def towns_named_in(file_name: str, plan: Plan) -> list[Town]:
    """The towns whose name, short name or alias the file name contains; a name inside
    a longer matched name (开发区 in 高新技术产业开发区) does not count."""
    stem = match_key(file_name)
    keys = plan.town_name_keys
    index = _name_index(keys)
    # Only names that start with a character of the file name can be in it: a few of
    # the plan's 500 towns' names are tested instead of all of them.
    places = sorted(p for c in set(stem) for p in index.get(c, ()) if p[2] in stem)
    found: dict[str, tuple[Town, str]] = {}
    for t, hits in itertools.groupby(places, key=operator.itemgetter(0)):
        town = keys[t][0]
        found[town.code] = (town, max((n for _, _, n in hits), key=len))
    return [t for code, (t, hit) in found.items()
            if not any(hit != other and hit in other
                       for c, (_, other) in found.items() if c != code)]


def identify(evidence: Evidence, plan: Plan | None = None, *,
             source: str | None = None) -> Identity:
    """Decide what the file is (see the module docstring for the table). ``plan``: the
    plan in use (None: the one the metadata names if installed, else the default);
    ``source``: the name findings carry (a display name), default the file name."""
    src = source or evidence.file_name
    findings: list[Finding] = []
    props = {k: v.strip() for k, v in (evidence.properties or {}).items() if v.strip()}
    sheet = {k: v.strip() for k, v in (evidence.meta_sheet or {}).items() if v.strip()}

    meta: dict[str, str] = {}
    conflicts: set[str] = set()
    missing_props: list[str] = []
    missing_sheet: list[str] = []
    for key in META_KEYS:
        p, s = props.get(key), sheet.get(key)
        if p is not None and s is not None and p != s:
            conflicts.add(key)
            findings.append(_finding("file.meta_conflict", evidence, src, s, sheet=L.META_SHEET,
                                     key=key, what=_WHAT[key], prop=p, sheet_value=s))
        elif p is not None or s is not None:
            meta[key] = p if p is not None else (s or "")
            if p is None and evidence.properties is not None:
                missing_props.append(key)
            if s is None:
                missing_sheet.append(key)
    any_meta = bool(meta) or bool(conflicts)
    if any_meta:
        # Only an xlz workbook can have lost part of its metadata. A town-less city
        # template legitimately has no xlz.town (its value is empty in both places).
        for where, source_text, keys in (
                (_PROPERTIES_TEXT, _SHEET_TEXT, missing_props),
                (_SHEET_TEXT, _PROPERTIES_TEXT, missing_sheet)):
            if keys:
                findings.append(_finding("file.meta_incomplete", evidence, src, where=where,
                                         keys="、".join(keys), used=source_text))

    template_value = meta.get(L.META_TEMPLATE)
    kind: Kind
    if template_value is not None and template_value in _KINDS:
        kind = _KINDS[template_value]
    elif template_value is None and L.META_TEMPLATE not in conflicts and \
            not any_meta and evidence.file_name.endswith(REPORT_SUFFIX):
        kind = "report"
    else:
        kind = "none"
    standard = meta.get(L.META_STANDARD)
    plan_id = meta.get(L.META_PLAN)
    if plan is None:
        plan = load_plan(plan_id if plan_id in available_plans() else DEFAULT_PLAN)

    if kind == "report":  # our own output: skipped with a note, never a submission
        findings.append(_finding("file.own_report", evidence, src))
    elif kind == "city":
        findings.append(_finding("file.wrong_kind", evidence, src, kind=_KIND_TEXT[kind]))
    elif kind == "none" and L.META_TEMPLATE not in conflicts:
        findings.append(_finding("file.not_template", evidence, src))
    if kind == "town" and standard not in L.SUPPORTED_STANDARDS and \
            L.META_STANDARD not in conflicts:
        findings.append(_finding("file.standard_mismatch", evidence, src, standard,
                                 found=standard or "未标注",
                                 expected="、".join(L.SUPPORTED_STANDARDS)))
    if plan_id is not None and plan_id != plan.id:
        findings.append(_finding("file.plan_mismatch", evidence, src, plan_id,
                                 found=plan_id, expected=plan.id))

    town = None
    if kind == "town" and L.META_TOWN not in conflicts:
        town = _decide_town(evidence, plan, meta.get(L.META_TOWN), src, findings)
    if town is not None:
        named = towns_named_in(evidence.file_name, plan)
        if named and town not in named:
            findings.append(_finding("file.name_other_town", evidence, src,
                                     named="、".join(t.short for t in named), town=town.short))
    return Identity(kind, plan, plan_id, standard, town, tuple(findings))


def _decide_town(evidence: Evidence, plan: Plan, code: str | None, src: str,
                 findings: list[Finding]) -> Town | None:
    meta_town = _town_of(plan, code)
    cell = evidence.guide_town
    raw = cell.value if cell is not None else None
    text = display(raw).strip()
    cell_town = plan.resolve_town(text) if text else None
    where = cell.cell if cell is not None else L.status_cell("town")
    row = cell.row if cell is not None else None
    if meta_town is not None and cell_town is not None and meta_town != cell_town:
        findings.append(_finding("file.town_conflict", evidence, src, raw, sheet=L.GUIDE,
                                 cell=where, row=row, meta_town=meta_town.short, where=where,
                                 cell_town=cell_town.short))
        return None
    if meta_town is not None:
        return meta_town
    if cell_town is not None:
        findings.append(_finding("file.town_from_cell", evidence, src, raw, sheet=L.GUIDE,
                                 cell=where, row=row, town=cell_town.short))
        return cell_town
    findings.append(_finding("file.town_unknown", evidence, src, raw or None))
    return None

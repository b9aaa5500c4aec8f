"""填报信息 on 填报说明 (standard 2): who filled the workbook, how to reach them and the
date its figures stand at (数据截至日期).

Read by label, like the 镇区 cell the identity reads: the value is the cell right of the
label, wherever the label is. A standard-1 workbook has no such rows; nothing is looked
for there and nothing is reported (``layout.STANDARD_LACKS``). The 数据截至日期 decides
the round a file belongs to, so in a standard-2 workbook it must be a real date within
the plan year or shortly after it (``plan.reporting``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from xlz.core import layout as L
from xlz.core import normalize as nz
from xlz.core.catalogue import RULES
from xlz.core.cells import CellValue, cell_ref, display
from xlz.core.findings import Finding, Report
from xlz.core.plan import Plan
from xlz.core.text import match_key


class SheetValues(Protocol):
    """What is read of 填报说明 (a :class:`xlz.core.validator.SheetValues`; the validator
    imports this module, so the type is named by its shape)."""

    @property
    def rows(self) -> Sequence[Sequence[CellValue]]: ...
    @property
    def first_row(self) -> int: ...
    @property
    def first_col(self) -> int: ...


@dataclass(frozen=True, slots=True)
class GuideInfo:
    """填报人, 联系电话 and 数据截至日期 as the clerk gave them on 填报说明. ``None``:
    empty, unreadable or (a standard-1 file) not asked for. ``phone`` is kept as typed
    even when it is malformed (it is a 提醒, and a person can still read it)."""

    reporter: str | None = None
    phone: str | None = None
    as_of: dt.date | None = None

    @property
    def contact(self) -> str:
        """``张三 0513-87654321`` (what is known of it), for the city's lists."""
        return " ".join(x for x in (self.reporter, self.phone) if x)

    def to_dict(self) -> dict[str, Any]:
        return {"reporter": self.reporter, "phone": self.phone,
                "as_of": self.as_of.isoformat() if self.as_of else None}


def as_of_range(plan: Plan) -> tuple[dt.date, dt.date]:
    """The first and last 数据截至日期 a workbook of ``plan`` may give."""
    last = dt.date(plan.year, 12, 31) + dt.timedelta(days=plan.reporting.as_of_grace_days)
    return dt.date(plan.year, 1, 1), last


def _labelled(guide: SheetValues) -> dict[str, tuple[CellValue, int, int]]:
    """Each 填报信息 key → (value, 1-based row, 0-based column) of the cell right of its
    label; the first occurrence wins (the template has one)."""
    wanted = {match_key(label): key for key, label in L.CONTACT_LABELS.items()}
    found: dict[str, tuple[CellValue, int, int]] = {}
    for i, row in enumerate(guide.rows):
        for j, cell in enumerate(row):
            if not isinstance(cell, str):
                continue
            key = wanted.get(match_key(cell.strip()))
            if key is not None and key not in found:
                value = row[j + 1] if j + 1 < len(row) else None
                found[key] = (value, guide.first_row + i, guide.first_col + j + 1)
    return found


def read_guide(guide: SheetValues, plan: Plan, report: Report, *,
               standard: str | None = None, source: str | None = None) -> GuideInfo:
    """The 填报信息 of a workbook of ``standard`` (None: the current one); its findings
    go to ``report``."""
    if L.lacks(standard, "guide.as_of"):
        return GuideInfo()
    found = _labelled(guide)

    def finding(code: str, key: str, value: CellValue, **extra: Any) -> None:
        rule = RULES[code]
        where = found.get(key)
        cell = cell_ref(where[1], where[2]) if where else None
        header = L.CONTACT_LABELS[key]
        address = f"{L.GUIDE}!{cell}" if cell else L.GUIDE
        message = rule.format(address=address, header=header, value=display(value), **extra)
        report.add(Finding(code, rule.severity, L.GUIDE, cell, value, message,
                           where[1] if where else None, header, source))

    raw_reporter = found.get("reporter", (None, 0, 0))[0]
    reporter = None if nz.is_blank(raw_reporter) else nz.parse_text(raw_reporter)
    raw_phone = found.get("phone", (None, 0, 0))[0]
    phone = None if nz.is_blank(raw_phone) else nz.parse_text(raw_phone)
    if phone is not None and not nz.phone_ok(phone):
        finding("guide.phone.invalid", "phone", raw_phone,
                expected=RULES["guide.phone.invalid"].params["expected"])
    raw_as_of = found.get("as_of", (None, 0, 0))[0]
    as_of: dt.date | None = None
    if nz.is_blank(raw_as_of):
        finding("guide.as_of.required", "as_of", raw_as_of)
    else:
        parsed = nz.parse_date(raw_as_of)
        if not isinstance(parsed, dt.date):
            finding("guide.as_of.invalid", "as_of", raw_as_of)
        else:
            day = parsed.date() if isinstance(parsed, dt.datetime) else parsed
            first, last = as_of_range(plan)
            if first <= day <= last:
                as_of = day
            else:
                finding("guide.as_of.out_of_range", "as_of", raw_as_of,
                        day=day.isoformat(), first=first.isoformat(),
                        last=last.isoformat(), year=plan.year)
    return GuideInfo(reporter, phone, as_of)

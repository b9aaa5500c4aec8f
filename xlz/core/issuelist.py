"""问题清单 as the city office reads it: the problems first, and a file that does not
count as one line — not one line per row (issue 12: 81 "row superseded" notices stood
above the 3 real errors).

The consolidation keeps a finding for every row that does not count (row conservation,
:func:`xlz.core.consolidation.check_conservation`); here those row-level findings are
set apart as the detail (the city sheet 未计入汇总的行) and each file they belong to gets
one summary line (``file.superseded`` / ``file.rows_excluded``).
"""

from __future__ import annotations

from dataclasses import dataclass

from xlz.core.catalogue import RULES
from xlz.core.consolidation import Consolidation, Issue, base_name
from xlz.core.findings import Finding, Severity

ROW_CODES = frozenset({"file.row_superseded", "file.row_excluded"})
_SUMMARY_CODE = {"file.row_superseded": "file.superseded", "file.row_excluded": "file.rows_excluded"}
_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1}


@dataclass(frozen=True, slots=True)
class IssueList:
    """``listed``: the lines of 问题清单, by severity (错误 first), files in the order the
    consolidation has them; ``detail``: the row-level lines of files that do not count."""

    listed: list[Issue]
    detail: list[Issue]


def issue_list(c: Consolidation, detail_sheet: str) -> IssueList:
    """Split and order ``c.issues``; ``detail_sheet`` is named in the summary lines."""
    listed: list[Issue] = []
    detail: list[Issue] = []
    rows_of: dict[tuple[str, str], int] = {}
    first: dict[tuple[str, str], Issue] = {}
    for issue in c.issues:
        if issue.finding.code in ROW_CODES:
            detail.append(issue)
            key = (issue.file, issue.finding.code)
            rows_of[key] = rows_of.get(key, 0) + 1
            first.setdefault(key, issue)
        else:
            listed.append(issue)
    by_name = {f.name: f for f in c.files}
    for (name, code), rows in rows_of.items():
        f = by_name[name]
        summary = _SUMMARY_CODE[code]
        rule = RULES[summary]
        if summary == "file.superseded":
            assert f.superseded_by is not None and f.town is not None
            changes = f.change_text()
            message = rule.format(file=base_name(name), town=f.town.short,
                                  winner=base_name(f.superseded_by.name), rows=rows,
                                  detail=detail_sheet, changes=f"较新报送的变化：{changes}。")
        else:
            message = rule.format(file=base_name(name), rows=rows, detail=detail_sheet)
        listed.append(Issue(name, first[(name, code)].town,
                            Finding(summary, rule.severity, None, None, None, message,
                                    file=name)))
    # Stable: within a severity the consolidation's order (file, then sheet and row).
    listed.sort(key=lambda i: _SEVERITY_ORDER.get(i.finding.severity, 9))
    return IssueList(listed, detail)

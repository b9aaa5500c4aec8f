"""Findings and reports: data a clerk can fix, as data (never as exceptions)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from xlz.core.cells import parse_ref

if TYPE_CHECKING:
    import pandas as pd


class Severity(str, Enum):
    """错误 blocks acceptance of a file; 提醒 is shown but accepted."""

    ERROR = "错误"
    WARNING = "提醒"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a workbook, a plan or a set of rows: which rule, where, the
    value as read and the Chinese message a clerk reads."""

    code: str  # stable rule code, e.g. "project.name.required"
    severity: Severity
    sheet: str | None  # sheet name as the clerk sees it; None for whole-file findings
    cell: str | None  # "D12"; None when the finding is about a sheet or the file
    value: Any  # the original value, exactly as read (never normalised)
    message: str  # Chinese, names the cell, the value, the rule and the fix
    row: int | None = None  # 1-based worksheet row
    column: str | None = None  # the header text of the column
    file: str | None = None

    @property
    def address(self) -> str:
        """``项目信息!D12`` (or the sheet alone, or empty)."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["address"] = self.address
        data["value"] = _jsonable(self.value)
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


@dataclass(slots=True)
class Report:
    """All findings for one source (a file, a plan, a set of rows)."""

    source: str | None = None
    findings: list[Finding] = field(default_factory=list)
    rows_checked: dict[str, int] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        """True when nothing blocks acceptance (warnings are allowed)."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def counts(self) -> dict[str, int]:
        errors = len(self.errors)
        return {"错误": errors, "提醒": len(self.findings) - errors}

    def sorted(self) -> list[Finding]:
        """Findings in the order a clerk reads the workbook: sheet, row, column."""
        return sorted(
            self.findings,
            key=lambda f: (f.file or "", f.sheet or "", f.row or 0, _col_key(f.cell), f.code),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ok": self.ok,
            "counts": self.counts(),
            "rows_checked": dict(self.rows_checked),
            "findings": [f.to_dict() for f in self.sorted()],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_pandas(self) -> pd.DataFrame:
        """The findings as a DataFrame (needs the ``pandas`` extra)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("需要 pandas：pip install 'xlz[pandas]'") from exc
        columns = ["file", "sheet", "cell", "row", "column", "code", "severity", "value", "message"]
        records = [
            {**f.to_dict(), "severity": f.severity.value} for f in self.sorted()
        ]
        return pd.DataFrame.from_records(records, columns=columns)


def _col_key(cell: str | None) -> int:
    """The column of ``cell`` for sorting (B before AA); -1 for none."""
    if not cell:
        return -1
    try:
        return parse_ref(cell)[1]
    except ValueError:
        return -1

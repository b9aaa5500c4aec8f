"""xlz — standardised Excel/WPS workbook templates: generate, validate in place, fill and
consolidate (如皋市科技招商).

The public API is what this module exports (``__all__``); every other module of the
package is private and may change without notice. Exported classes and functions say
``__module__ == "xlz"``, so reprs, pickles and the API reference name them as users
import them. Names are imported on first use (PEP 562): a button press that only
validates one workbook must not pay for the consolidation, e-mail and template-writing
code. ``docs/api.md`` is generated from the docstrings of these names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name → private module that defines it (grouped as docs/api.md shows them)
_EXPORTS: dict[str, str] = {
    # Validate and fill one workbook
    "validate": "xlz.ops.workbook",
    "fill": "xlz.ops.workbook",
    "FileResult": "xlz.ops.workbook",
    "sniff": "xlz.io.intake",
    # Errors: everything xlz raises on purpose is an XlzError with a catalogue code
    "XlzError": "xlz.core.errors",
    "InputError": "xlz.core.errors",
    "PlanError": "xlz.core.errors",
    "OutputError": "xlz.core.errors",
    "PackageError": "xlz.core.errors",
    # Consolidate the towns' files into the city workbook
    "consolidate": "xlz.ops.consolidate",
    "ConsolidationResult": "xlz.ops.consolidate",
    "Feedback": "xlz.ops.feedback",
    # The 通报 on a recorded round (xlz bulletin)
    "make_bulletin": "xlz.ops.bulletin",
    "BulletinResult": "xlz.ops.bulletin",
    "bulletin_facts": "xlz.core.bulletin",
    "BulletinFacts": "xlz.core.bulletin",
    "RoundRows": "xlz.core.bulletin",
    "CityLine": "xlz.core.bulletin",
    "TownLine": "xlz.core.bulletin",
    "Behind": "xlz.core.bulletin",
    "NewProject": "xlz.core.bulletin",
    "StatusMove": "xlz.core.bulletin",
    "ScheduledActivity": "xlz.core.bulletin",
    "Limits": "xlz.ooxml.limits",
    "Consolidation": "xlz.core.consolidation",
    "SubmittedFile": "xlz.core.consolidation",
    "Input": "xlz.core.consolidation",
    "Change": "xlz.core.consolidation",
    "TownResult": "xlz.core.consolidation",
    "Row": "xlz.core.consolidation",
    "Issue": "xlz.core.consolidation",
    "WorkbookData": "xlz.core.workbook",
    "Tally": "xlz.core.summary",
    # The ledger: every consolidation recorded as a round (docs/ledger.md)
    "Ledger": "xlz.io.ledger.read",
    "Round": "xlz.io.ledger.read",
    "RecordedRound": "xlz.core.roundrecord",
    # A round as plain data, for the city workbook's 进度对比, 排名 and trend (issue 12)
    "RoundContext": "xlz.core.rounds",
    "RoundSnapshot": "xlz.core.rounds",
    "TownFigures": "xlz.core.rounds",
    "ProjectState": "xlz.core.rounds",
    # Findings and the rule catalogue
    "Finding": "xlz.core.findings",
    "Report": "xlz.core.findings",
    "Severity": "xlz.core.findings",
    "RULES": "xlz.core.catalogue",
    "Rule": "xlz.core.catalogue",
    "Check": "xlz.core.catalogue",
    "Condition": "xlz.core.catalogue",
    # Validation as a pure function of cell values
    "validate_values": "xlz.core.validator",
    "PlanCache": "xlz.core.validator",
    "Validation": "xlz.core.validator",
    "Record": "xlz.core.validator",
    "SheetValues": "xlz.core.validator",
    "CellValue": "xlz.core.cells",
    # Progress against the plan's targets
    "progress": "xlz.core.summary",
    "MetricProgress": "xlz.core.summary",
    "render_direction": "xlz.core.summary",
    "carrier_progress": "xlz.core.summary",
    "CarrierProgress": "xlz.core.summary",
    # 填报说明's 填报人, 联系电话, 数据截至日期 (standard 2)
    "GuideInfo": "xlz.core.guideinfo",
    "CarrierCount": "xlz.core.plan",
    "Reporting": "xlz.core.plan",
    # The plan
    "load_plan": "xlz.core.plan",
    "available_plans": "xlz.core.plan",
    "check_plan": "xlz.core.plancheck",
    "DEFAULT_PLAN": "xlz.core.plan",
    "Plan": "xlz.core.plan",
    "Town": "xlz.core.plan",
    "Category": "xlz.core.plan",
    "KeyField": "xlz.core.plan",
    "Park": "xlz.core.plan",
    "CityTargets": "xlz.core.plan",
    "Staffing": "xlz.core.plan",
    "TargetRow": "xlz.core.plan",
    "TownTargetRow": "xlz.core.plan",
    "Attachment2": "xlz.core.plan",
    "Activity": "xlz.core.plan",
    "Carrier": "xlz.core.plan",
    "LeadingGroup": "xlz.core.plan",
    "Person": "xlz.core.plan",
    "Office": "xlz.core.plan",
}

if TYPE_CHECKING:
    from xlz.core.bulletin import (
        Behind,
        BulletinFacts,
        CityLine,
        NewProject,
        RoundRows,
        ScheduledActivity,
        StatusMove,
        TownLine,
        bulletin_facts,
    )
    from xlz.core.catalogue import RULES, Check, Condition, Rule
    from xlz.core.cells import CellValue
    from xlz.core.consolidation import (
        Change,
        Consolidation,
        Input,
        Issue,
        Row,
        SubmittedFile,
        TownResult,
    )
    from xlz.core.errors import InputError, OutputError, PackageError, PlanError, XlzError
    from xlz.core.findings import Finding, Report, Severity
    from xlz.core.guideinfo import GuideInfo
    from xlz.core.plan import (
        DEFAULT_PLAN,
        Activity,
        Attachment2,
        Carrier,
        CarrierCount,
        Category,
        CityTargets,
        KeyField,
        LeadingGroup,
        Office,
        Park,
        Person,
        Plan,
        Reporting,
        Staffing,
        TargetRow,
        Town,
        TownTargetRow,
        available_plans,
        load_plan,
    )
    from xlz.core.plancheck import check_plan
    from xlz.core.roundrecord import RecordedRound
    from xlz.core.rounds import ProjectState, RoundContext, RoundSnapshot, TownFigures
    from xlz.core.summary import (
        CarrierProgress,
        MetricProgress,
        Tally,
        carrier_progress,
        progress,
        render_direction,
    )
    from xlz.core.validator import PlanCache, Record, SheetValues, Validation, validate_values
    from xlz.core.workbook import WorkbookData
    from xlz.io.intake import sniff
    from xlz.io.ledger.read import Ledger, Round
    from xlz.ooxml.limits import Limits
    from xlz.ops.bulletin import BulletinResult, make_bulletin
    from xlz.ops.consolidate import ConsolidationResult, consolidate
    from xlz.ops.feedback import Feedback
    from xlz.ops.workbook import FileResult, fill, validate


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'xlz' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    if isinstance(value, type) or callable(value):
        # Named as users import it (reprs, pickles, docs). Safe for pickling: pickle
        # looks the object up again as xlz.<qualname>, which resolves to this object.
        value.__module__ = "xlz"
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_PLAN",
    "RULES",
    "Activity",
    "Attachment2",
    "Behind",
    "BulletinFacts",
    "BulletinResult",
    "Carrier",
    "CarrierCount",
    "CarrierProgress",
    "Category",
    "CellValue",
    "Change",
    "Check",
    "CityLine",
    "CityTargets",
    "Condition",
    "Consolidation",
    "ConsolidationResult",
    "Feedback",
    "FileResult",
    "Finding",
    "GuideInfo",
    "Input",
    "InputError",
    "Issue",
    "KeyField",
    "LeadingGroup",
    "Ledger",
    "Limits",
    "MetricProgress",
    "NewProject",
    "Office",
    "OutputError",
    "PackageError",
    "Park",
    "Person",
    "Plan",
    "PlanCache",
    "PlanError",
    "ProjectState",
    "Record",
    "RecordedRound",
    "Report",
    "Reporting",
    "Round",
    "RoundContext",
    "RoundRows",
    "RoundSnapshot",
    "Row",
    "Rule",
    "ScheduledActivity",
    "Severity",
    "SheetValues",
    "Staffing",
    "StatusMove",
    "SubmittedFile",
    "Tally",
    "TargetRow",
    "Town",
    "TownFigures",
    "TownLine",
    "TownResult",
    "TownTargetRow",
    "Validation",
    "WorkbookData",
    "XlzError",
    "__version__",
    "available_plans",
    "bulletin_facts",
    "carrier_progress",
    "check_plan",
    "consolidate",
    "fill",
    "load_plan",
    "make_bulletin",
    "progress",
    "render_direction",
    "sniff",
    "validate",
    "validate_values",
]

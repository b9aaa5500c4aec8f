"""xlz — standardised Excel/WPS workbook templates: generate, validate in place, fill and
consolidate (如皋市科技招商).

The public API is what this module exports; everything in ``xlz._*`` is private.
Names are imported on first use (PEP 562): a button press that only validates one
workbook must not pay for the consolidation, e-mail and template-writing code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name → private module that defines it
_EXPORTS: dict[str, str] = {
    "FileResult": "xlz.ops.workbook",
    "fill": "xlz.ops.workbook",
    "validate": "xlz.ops.workbook",
    "RULES": "xlz.core.catalogue",
    "Check": "xlz.core.catalogue",
    "Rule": "xlz.core.catalogue",
    "CellValue": "xlz.core.cells",
    "Finding": "xlz.core.findings",
    "Report": "xlz.core.findings",
    "Severity": "xlz.core.findings",
    "ConsolidationResult": "xlz.ops.consolidate",
    "consolidate": "xlz.ops.consolidate",
    "InputError": "xlz.io.intake",
    "sniff": "xlz.io.intake",
    "DEFAULT_PLAN": "xlz.core.plan",
    "Plan": "xlz.core.plan",
    "available_plans": "xlz.core.plan",
    "load_plan": "xlz.core.plan",
    "check_plan": "xlz.core.plancheck",
    "MetricProgress": "xlz.core.summary",
    "progress": "xlz.core.summary",
    "render_direction": "xlz.core.summary",
    "Record": "xlz.core.validator",
    "SheetValues": "xlz.core.validator",
    "Validation": "xlz.core.validator",
    "validate_values": "xlz.core.validator",
}

if TYPE_CHECKING:
    from xlz.core.catalogue import RULES, Check, Rule
    from xlz.core.cells import CellValue
    from xlz.core.findings import Finding, Report, Severity
    from xlz.core.plan import DEFAULT_PLAN, Plan, available_plans, load_plan
    from xlz.core.plancheck import check_plan
    from xlz.core.summary import MetricProgress, progress, render_direction
    from xlz.core.validator import Record, SheetValues, Validation, validate_values
    from xlz.io.intake import InputError, sniff
    from xlz.ops.consolidate import ConsolidationResult, consolidate
    from xlz.ops.workbook import FileResult, fill, validate


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'xlz' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_PLAN",
    "RULES",
    "CellValue",
    "Check",
    "ConsolidationResult",
    "FileResult",
    "Finding",
    "InputError",
    "MetricProgress",
    "Plan",
    "Record",
    "Report",
    "Rule",
    "Severity",
    "SheetValues",
    "Validation",
    "__version__",
    "available_plans",
    "check_plan",
    "consolidate",
    "fill",
    "load_plan",
    "progress",
    "render_direction",
    "sniff",
    "validate",
    "validate_values",
]

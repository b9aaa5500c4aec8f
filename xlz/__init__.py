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
    "FileResult": "xlz._api",
    "fill": "xlz._api",
    "validate": "xlz._api",
    "RULES": "xlz._catalogue",
    "Check": "xlz._catalogue",
    "Rule": "xlz._catalogue",
    "CellValue": "xlz._cells",
    "Finding": "xlz._findings",
    "Report": "xlz._findings",
    "Severity": "xlz._findings",
    "ConsolidationResult": "xlz._inbox",
    "consolidate": "xlz._inbox",
    "InputError": "xlz._intake",
    "sniff": "xlz._intake",
    "DEFAULT_PLAN": "xlz._plan",
    "Plan": "xlz._plan",
    "available_plans": "xlz._plan",
    "load_plan": "xlz._plan",
    "check_plan": "xlz._plancheck",
    "MetricProgress": "xlz._summary",
    "progress": "xlz._summary",
    "render_direction": "xlz._summary",
    "Record": "xlz._validator",
    "SheetValues": "xlz._validator",
    "Validation": "xlz._validator",
    "validate_values": "xlz._validator",
}

if TYPE_CHECKING:
    from xlz._api import FileResult, fill, validate
    from xlz._catalogue import RULES, Check, Rule
    from xlz._cells import CellValue
    from xlz._findings import Finding, Report, Severity
    from xlz._inbox import ConsolidationResult, consolidate
    from xlz._intake import InputError, sniff
    from xlz._plan import DEFAULT_PLAN, Plan, available_plans, load_plan
    from xlz._plancheck import check_plan
    from xlz._summary import MetricProgress, progress, render_direction
    from xlz._validator import Record, SheetValues, Validation, validate_values


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

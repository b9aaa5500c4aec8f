"""xlz — standardised Excel/WPS workbook templates: generate, validate in place, fill and
consolidate (如皋市科技招商).

The public API is what this module exports; everything in ``xlz._*`` is private.
"""

from __future__ import annotations

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

__version__ = "0.1.0"

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

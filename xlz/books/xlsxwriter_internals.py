"""The only place that touches xlsxwriter's private API, checked against the versions
it was written for (``pyproject.toml`` pins the range; ``tests/test_xlsxwriter_internals.py``
fails first when a release changes either member).

- ``Worksheet._prepare_formula``: xlsxwriter runs ~30 regular expressions over every
  formula to add ``_xlfn.`` prefixes for post-2010 functions; on the 2,000-character
  live checks that is 4 ms a cell (6 s a workbook). Our formulas use only Excel 2010
  functions, so the scan is replaced by the identity.
- ``Format._get_xf_index``: the city workbook's fast rows (``xlz.ooxml.fastrows``) are
  written outside xlsxwriter and need the style index xlsxwriter gave a format.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet


def _plain_formula(formula: str, expand_future_functions: bool = False) -> str:
    return formula[1:] if formula.startswith("=") else formula


def skip_future_function_scan(ws: Worksheet) -> None:
    """Formulas of ``ws`` are written as given (no ``_xlfn.`` prefixing)."""
    if not callable(getattr(ws, "_prepare_formula", None)):
        raise RuntimeError("xlsxwriter 已不提供 Worksheet._prepare_formula：请检查 xlsxwriter 版本")
    ws._prepare_formula = _plain_formula


def style_index(fmt: Format | Any) -> int:
    """The ``s`` attribute xlsxwriter gives cells of ``fmt`` (registered before close)."""
    index: int = fmt._get_xf_index()
    return index

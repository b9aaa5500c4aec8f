"""Headless LibreOffice harness for tests, benchmarks and docs screenshots."""

from .harness import (
    FILTERS,
    LOError,
    conditional_format_hits,
    convert,
    fill_and_save,
    formula_errors,
    lo_available,
    lo_unavailable_reason,
    read_cached,
    recalc_and_read,
    render_png,
    run_job,
)

__all__ = [
    "FILTERS",
    "LOError",
    "conditional_format_hits",
    "convert",
    "fill_and_save",
    "formula_errors",
    "lo_available",
    "lo_unavailable_reason",
    "read_cached",
    "recalc_and_read",
    "render_png",
    "run_job",
]

"""Venv-side API for the headless LibreOffice harness.

Each ``run_job`` starts ``/usr/bin/python3 tests/lo/uno_driver.py`` (LibreOffice's own
Python has ``uno``; the venv does not), which starts a private soffice with a fresh
profile, runs the steps against one document at a time and kills soffice afterwards.
Starting soffice costs ~1.5 s; the steps themselves are cheap, so batch many steps into
one job.

Steps (JSON objects, executed in order; a failed step does not stop the job):

- ``{"op": "open", "path": str, "macro_mode"?: "never"|"always_no_warn"|..., "read_only"?}``
  Opens hidden; closes any document opened before. Macros: never, by default.
- ``{"op": "close"}``
- ``{"op": "recalc"}``: ``calculateAll()``. Without it, reads show the values cached in
  the file (the profile pins load-time recalculation to "never"), unless the job was run
  with ``recalc_on_load=True``.
- ``{"op": "set", "cells": [{"sheet"?, "cell": "D12" | "项目信息!D12", "value":
  str|number|null, "as_formula"?: bool}]}``: text stays text; ``as_formula`` takes Excel
  syntax (``=IF(A1>0,1,2)``). A locked cell on a protected sheet is refused (per-cell
  ``errors``), the others are still set.
- ``{"op": "sort", "range": "项目信息!A1:U1001", "by": "A", "ascending"?: true, "header"?:
  true, "unprotect"?: false}``: Data ▸ Sort through ``XSortable.sort``; formulas move
  with their rows as the application moves them. A protected sheet is refused unless
  ``unprotect`` (the templates have no password).
- ``{"op": "read", "ranges": ["项目信息!A1:T20", "任务分解"]}`` (a bare sheet name = its
  used area from A1) → ``ranges[ref]["cells"]["A1"] = {"value", "formula", "formula_lo",
  "type": "EMPTY"|"VALUE"|"TEXT"|"FORMULA", "error"?, "error_name"?}``; ``formula`` is in
  Excel syntax, ``formula_lo`` in LibreOffice's (``;`` separators).
- ``{"op": "formula_errors"}`` → ``errors: [{"sheet", "cell", "code", "name", "formula"}]``
  over the used area of every sheet, hidden ones included.
- ``{"op": "conditional_format_hits", "range": "Sheet!A1:C10"}`` → ``hits: {"B3": [{"index",
  "operator", "formula1", "formula2", "style"}]}``, ``errors``, ``checked``,
  ``unsupported`` (cell-value and expression rules only; see the driver's docstring).
- ``{"op": "save", "path": str, "filter"?: str, "sheet"?: str}``: the filter defaults from
  the extension (see ``FILTERS``); ``sheet`` (PDF only) prints just that sheet.
- ``{"op": "run_macro", "url": "vnd.sun.star.script:Standard.Module1.Foo?language=Basic&
  location=document", "args"?: [...]}`` → ``result``; needs ``macro_mode`` other than
  ``never`` at open. VBA imported from .xlsm lives in library ``VBAProject``.
- ``{"op": "sheets"}`` → ``sheets: [{"index", "name", "visible", "protected", "active"}]``.
- ``{"op": "unprotect", "sheet": str, "password"?: str}``: what a clerk does before
  inserting rows into a sheet protected without a password.
- ``{"op": "insert" | "delete", "sheet": str, "rows"?: [first (1-based), count],
  "columns"?: [first letter, count]}``: whole rows/columns as the menu does it
  (LibreOffice adjusts references to them elsewhere); refused on a protected sheet.
- ``{"op": "rename_sheet", "sheet": str, "name": str}``.

Every step result has ``op``, ``ok``, ``seconds`` and on failure ``error``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

LO_PYTHON = "/usr/bin/python3"
DRIVER = Path(__file__).with_name("uno_driver.py")

FILTERS = {
    ".xlsx": "Calc MS Excel 2007 XML",
    ".xlsm": "Calc MS Excel 2007 VBA XML",
    ".xls": "MS Excel 97",
    ".ods": "calc8",
    ".pdf": "calc_pdf_Export",
}

Step = Mapping[str, Any]
JobResult = dict[str, Any]
Cell = dict[str, Any]


class LOError(RuntimeError):
    """The job (or a step the convenience function relies on) failed."""

    def __init__(self, message: str, result: JobResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@lru_cache(maxsize=1)
def lo_unavailable_reason() -> str | None:
    """Why LibreOffice tests cannot run here, or None when they can."""
    if shutil.which("soffice") is None and not Path("/usr/bin/soffice").exists():
        return "LibreOffice (soffice) is not installed (apt: libreoffice-calc-nogui)"
    if not Path(LO_PYTHON).exists():
        return f"{LO_PYTHON} not found (LibreOffice's Python for UNO)"
    probe = subprocess.run(
        [LO_PYTHON, "-c", "import uno"], capture_output=True, text=True, timeout=30
    )
    if probe.returncode != 0:
        return f"{LO_PYTHON} cannot `import uno` (apt: python3-uno)"
    return None


def lo_available() -> bool:
    return lo_unavailable_reason() is None


def run_job(
    steps: Sequence[Step],
    timeout: float = 180,
    *,
    recalc_on_load: bool = False,
    check: bool = False,
) -> JobResult:
    """Run steps in one private soffice; return the driver's result.

    ``check=True`` raises LOError unless every step succeeded. The driver enforces
    ``timeout`` itself (watchdog kills soffice); this side waits 30 s more, then kills the
    driver and the soffice process group it recorded.
    """
    workdir = tempfile.mkdtemp(prefix="xlz-lo-")
    job = {
        "steps": [dict(s) for s in steps],
        "timeout": timeout,
        "workdir": workdir,
        "recalc_on_load": recalc_on_load,
    }
    payload = json.dumps(job, ensure_ascii=False).encode("utf-8")
    proc = subprocess.Popen(
        [LO_PYTHON, str(DRIVER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # Keep the venv out of LibreOffice's Python.
        env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")},
    )
    try:
        out, err = proc.communicate(payload, timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        _kill_recorded_soffice(workdir)
        proc.communicate()
        raise LOError(f"LibreOffice job did not finish within {timeout + 30:.0f} s") from None
    finally:
        _kill_recorded_soffice(workdir)  # no-op when the driver already cleaned up
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        result: JobResult = json.loads(out.decode("utf-8"))
    except ValueError:
        raise LOError(
            f"uno_driver exited {proc.returncode} without a JSON result:\n"
            + err.decode("utf-8", "replace")[-3000:]
        ) from None
    if check and not result.get("ok"):
        raise LOError(describe_failure(result), result)
    return result


def describe_failure(result: JobResult) -> str:
    lines = [result["error"]] if result.get("error") else []
    lines += [f"step {i} ({s['op']}): {s['error']}" for i, s in enumerate(result["steps"])
              if not s.get("ok")]
    return "LibreOffice job failed: " + "; ".join(lines or ["unknown error"])


def _kill_group(pgid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return


def _kill_recorded_soffice(workdir: str) -> None:
    try:
        pgid = int(Path(workdir, "soffice.pgid").read_text())
    except (OSError, ValueError):
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _filter_for(path: Path, filter: str | None) -> str:
    if filter:
        return filter
    try:
        return FILTERS[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"no LibreOffice filter known for {path.suffix!r}; pass filter=") from None


# ----------------------------------------------------------------- convenience functions


def recalc_and_read(
    path: str | os.PathLike[str], ranges: Iterable[str]
) -> dict[str, dict[str, Cell]]:
    """Open, recalculate with LibreOffice, read: ``{range: {"A1": cell, ...}}``."""
    refs = list(ranges)
    res = run_job([{"op": "open", "path": str(path)}, {"op": "recalc"},
                   {"op": "read", "ranges": refs}], check=True)
    got = res["steps"][2]["ranges"]
    return {ref: got[ref]["cells"] for ref in refs}


def read_cached(
    path: str | os.PathLike[str], ranges: Iterable[str]
) -> dict[str, dict[str, Cell]]:
    """Read the values cached in the file as LibreOffice sees them (no recalculation)."""
    refs = list(ranges)
    res = run_job([{"op": "open", "path": str(path)}, {"op": "read", "ranges": refs}],
                  check=True)
    got = res["steps"][1]["ranges"]
    return {ref: got[ref]["cells"] for ref in refs}


def convert(
    path: str | os.PathLike[str], out_path: str | os.PathLike[str], filter: str | None = None,
    *, recalc: bool = True,
) -> Path:
    """Save ``path`` in another format (a file written by a real spreadsheet application)."""
    out = Path(out_path)
    steps: list[Step] = [{"op": "open", "path": str(path)}]
    if recalc:
        steps.append({"op": "recalc"})
    steps.append({"op": "save", "path": str(out), "filter": _filter_for(out, filter)})
    run_job(steps, check=True)
    return out


def fill_and_save(
    path: str | os.PathLike[str],
    edits: Sequence[Mapping[str, Any]],
    out_path: str | os.PathLike[str],
    filter: str | None = None,
) -> JobResult:
    """Type ``edits`` (``set`` cell entries) like a clerk, recalculate, save.

    Raises LOError if any edit was refused (e.g. a locked cell); the file is still saved
    with the accepted edits, and the result is on the exception.
    """
    out = Path(out_path)
    return run_job([
        {"op": "open", "path": str(path)},
        {"op": "set", "cells": [dict(e) for e in edits]},
        {"op": "recalc"},
        {"op": "save", "path": str(out), "filter": _filter_for(out, filter)},
    ], check=True)


def formula_errors(path: str | os.PathLike[str], *, recalc: bool = True) -> list[dict[str, Any]]:
    """Every formula cell whose result is an error, on every sheet (hidden ones too)."""
    steps: list[Step] = [{"op": "open", "path": str(path)}]
    if recalc:
        steps.append({"op": "recalc"})
    steps.append({"op": "formula_errors"})
    errors: list[dict[str, Any]] = run_job(steps, check=True)["steps"][-1]["errors"]
    return errors


def conditional_format_hits(
    path: str | os.PathLike[str], cell_range: str
) -> dict[str, list[dict[str, Any]]]:
    """``{"B3": [entry, ...]}`` for the cells of ``cell_range`` with a TRUE condition."""
    res = run_job([{"op": "open", "path": str(path)}, {"op": "recalc"},
                   {"op": "conditional_format_hits", "range": cell_range}], check=True)
    hits: dict[str, list[dict[str, Any]]] = res["steps"][-1]["hits"]
    return hits


def render_png(
    path: str | os.PathLike[str],
    out_png: str | os.PathLike[str],
    sheet: str | None = None,
    *,
    dpi: int = 80,
) -> Path:
    """First page of the workbook (or of ``sheet``) as a PNG: LibreOffice PDF → pdftoppm."""
    out = Path(out_png)
    if shutil.which("pdftoppm") is None:
        raise LOError("pdftoppm not found (apt: poppler-utils)")
    with tempfile.TemporaryDirectory(prefix="xlz-png-") as tmp:
        pdf = Path(tmp, "page.pdf")
        save: dict[str, Any] = {"op": "save", "path": str(pdf), "filter": "calc_pdf_Export"}
        if sheet is not None:
            save["sheet"] = sheet
        run_job([{"op": "open", "path": str(path)}, {"op": "recalc"}, save], check=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        # -singlefile writes exactly <prefix>.png (no page-number suffix).
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile",
             str(pdf), str(out.with_suffix(""))],
            check=True, capture_output=True, timeout=120,
        )
    produced = out.with_suffix(".png")
    if produced != out:
        produced.replace(out)
    return out

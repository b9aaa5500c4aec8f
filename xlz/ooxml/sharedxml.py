"""Turn per-cell formulas that xlsxwriter wrote into Excel shared formulas, after the
workbook is closed (xlsxwriter has no way to write ``t="shared"``).

Which rows share a formula is decided and proven by :mod:`xlz.ooxml.sharedformula`; this
module only rewrites the XML. Every cell keeps its position, style and cached value
exactly as xlsxwriter wrote it; only its ``<f>`` element changes: the first cell of a
run keeps its text under ``<f t="shared" ref="U3:U1001" si="0">``, the others become
``<f t="shared" si="0"/>``. The package is rewritten by :func:`xlz.ooxml.zipcopy.rewrite`,
so every other part keeps its bytes (the output stays deterministic).

The generator writes :data:`CHILD_PLACEHOLDER` as the formula of every cell that
becomes a child: xlsxwriter needs a formula there to write the cell with its cached
value, and writing the full 3 KB text only to drop it here was half the build time.
A child holding anything else is refused, so a real formula is never dropped.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from xlz.ooxml.sharedformula import Run
from xlz.ooxml.zipcopy import rewrite

# Sheet part → [(column letter, runs of that column)]. Runs of one row stay plain.
SharedColumns = Mapping[str, Sequence[tuple[str, Sequence[Run]]]]
CHILD_PLACEHOLDER = '""'  # the formula text of a cell until it becomes a shared child


def share_column(xml: str, column: str, runs: Sequence[Run], si: int) -> tuple[str, int]:
    """``xml`` (a worksheet part as xlsxwriter wrote it, rows in order) with the formula
    cells of ``column`` in every shared run rewritten; returns it and the next free
    ``si`` (shared-formula index, unique within a sheet)."""
    out: list[str] = []
    pos = 0
    for run in runs:
        if not run.shared:
            continue
        for row in range(run.first, run.last + 1):
            ref = f"{column}{row}"
            at = xml.find(f'<c r="{ref}"', pos)
            open_end = xml.find(">", at)
            cell_end = xml.find("</c>", at)
            f_open = xml.find("<f>", at)
            f_close = xml.find("</f>", f_open)
            # The formula must sit inside this very cell (xlsxwriter writes no attributes
            # on <f> and never a self-closing formula cell).
            if at < 0 or xml[open_end - 1] == "/" or not open_end < f_open < f_close < cell_end:
                raise ValueError(f"no formula cell {ref} to share")
            out.append(xml[pos:f_open])
            if row == run.first:
                span = f"{column}{run.first}:{column}{run.last}"
                out.append(f'<f t="shared" ref="{span}" si="{si}">')
                pos = f_open + len("<f>")  # the master keeps its formula text
            else:
                if xml[f_open + len("<f>"):f_close] != CHILD_PLACEHOLDER:
                    raise ValueError(f"{ref} holds a formula, not the shared-child placeholder")
                out.append(f'<f t="shared" si="{si}"/>')
                pos = f_close + len("</f>")
        si += 1
    out.append(xml[pos:])
    return "".join(out), si


def share_formulas(book: Path, columns: SharedColumns, level: int = 6) -> None:
    """Rewrite ``book`` in place with the given columns' runs as shared formulas."""
    data = book.read_bytes()
    replacements: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for part, spec in columns.items():
            xml = zf.read(part).decode("utf-8")
            si = 0
            for column, runs in spec:
                xml, si = share_column(xml, column, runs, si)
            replacements[part] = xml.encode("utf-8")
    if not replacements:
        return
    tmp = book.with_name(book.name + ".shared")
    try:
        with tmp.open("wb") as fh:
            rewrite(data, replacements, fh, level=level)
        tmp.replace(book)
    finally:
        tmp.unlink(missing_ok=True)

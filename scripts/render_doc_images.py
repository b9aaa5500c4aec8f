"""Regenerate the pictures in docs/images/ that the clerk's guide shows.

    .venv/bin/python scripts/render_doc_images.py [--keep DIR] [--only NAME ...]

Every picture is what LibreOffice prints from a real generated town template:

1. ``xlz templates --out TMP`` writes the templates exactly as the city office does.
2. A *render copy* of one town template is made. Only print settings change: a print
   area (so a 1,000-row sheet prints as a few rows), some columns hidden (so the page is
   not shrunk to unreadable), wider 实时检查/校验提示 columns, no page footer, and the
   hidden list sheet shown for the dropdown picture. Cell contents, formats, data
   validation, formulas and conditional formatting are untouched.
3. Entries are typed into the copy through LibreOffice (``fill_and_save``), like a
   clerk typing, and LibreOffice recalculates the live checks.
4. ``xlz validate`` runs on a copy of the filled workbook (the 校验结果 pictures).
5. LibreOffice prints each sheet to PDF; ``pdftoppm`` rasterises page 1; the white
   margin is trimmed here in pure Python and the PNG is written with zlib (no Pillow).

Needs LibreOffice headless with python3-uno (see tests/lo/harness.py) and pdftoppm
(poppler-utils). Output is deterministic up to LibreOffice's font rasterisation.
"""

from __future__ import annotations

import argparse
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.lo.harness import fill_and_save, run_job  # noqa: E402
from xlz.core.entries import PROJECTS  # noqa: E402
from xlz.core.layout import RESULT_HEADERS, STATUS_ROWS, TASK_FIRST_ROW  # noqa: E402
from xlz.core.plan import METRICS  # noqa: E402

IMAGES = ROOT / "docs" / "images"
XLZ = Path(sys.executable).with_name("xlz")
TOWN = "丁堰镇"  # any town works; this one is first in 附件2
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# ------------------------------------------------------------------ what the clerk types

def _serial(year: int, month: int, day: int) -> int:
    """An Excel date serial: what Excel stores when a clerk types 2023-03-15."""
    import datetime as dt

    return (dt.date(year, month, day) - dt.date(1899, 12, 30)).days


def _col(key: str) -> str:
    idx = [c.key for c in PROJECTS.columns].index(key)
    return chr(ord("A") + idx)


def _project_rows() -> list[dict[str, Any]]:
    """Four projects: one correct, three with the mistakes clerks make most."""
    rows: list[dict[str, Any]] = [
        {"seq": 1, "name": "高精度光学镜头产业化项目", "category": "科创类",
         "field": "精密光学制造", "origin": "上海", "status": "已签约",
         "signed": _serial(2023, 3, 15), "prereview": "预审通过",
         "phone": "0513-87654321"},
        {"seq": 2, "name": "氢燃料电池膜电极研发团队", "category": "人才类",
         "field": "氢能", "origin": "苏南", "status": "已签约",
         "prereview": "预审通过", "phone": "1381234567"},  # no 负责人, no date; 10 digits
        {"seq": 3, "name": "合成生物中试平台", "category": "科技类",  # pasted: not a choice
         "field": "合成生物学", "origin": "北京", "status": "洽谈中"},
        {"seq": 4, "name": "储能电池系统集成项目", "category": "科创类",
         "origin": "深圳", "status": "洽谈中"},  # 产业领域 left empty
    ]
    return rows


def _edits(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    edits = []
    for r, entry in enumerate(rows, start=2):
        for key, value in entry.items():
            edits.append({"cell": f"{PROJECTS.name}!{_col(key)}{r}", "value": value})
    return edits


# ------------------------------------------------------------------ render copies

@dataclass
class SheetLook:
    """Print-only changes to one sheet of a render copy."""

    print_area: str | None = None  # e.g. "A1:U6"
    hide: Sequence[str] = ()  # column letters
    widths: Mapping[str, float] = field(default_factory=dict)  # column letter → width
    unhide_sheet: bool = False


def _sheet_paths(z: zipfile.ZipFile) -> tuple[list[str], dict[str, str]]:
    """Sheet names in order, and name → part path."""
    wb = z.read("xl/workbook.xml").decode("utf-8")
    rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = dict(re.findall(r'<Relationship Id="([^"]+)"[^>]*?Target="([^"]+)"', rels))
    targets |= {a: b for b, a in re.findall(r'<Relationship Target="([^"]+)"[^>]*?Id="([^"]+)"',
                                              rels)}
    names, paths = [], {}
    for name, rid in re.findall(r'<sheet name="([^"]+)"[^>]*?r:id="([^"]+)"', wb):
        names.append(name)
        target = targets[rid].lstrip("/")
        paths[name] = target if target.startswith("xl/") else "xl/" + target
    return names, paths


def _letter_index(letter: str) -> int:
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch) - 64
    return n


def _split_cols(xml: str) -> str:
    """One <col> element per column (xlsxwriter merges neighbours of equal width)."""
    def split(m: re.Match[str]) -> str:
        attrs = m.group(1)
        lo = int(re.search(r'min="(\d+)"', attrs).group(1))  # type: ignore[union-attr]
        hi = int(re.search(r'max="(\d+)"', attrs).group(1))  # type: ignore[union-attr]
        rest = re.sub(r'\s*(min|max)="\d+"', "", attrs)
        return "".join(f'<col min="{i}" max="{i}"{rest}/>' for i in range(lo, hi + 1))

    return re.sub(r"<col\b([^>]*?)/>", split, xml)


def _restyle_sheet(xml: str, look: SheetLook) -> str:
    xml = re.sub(r"<headerFooter>.*?</headerFooter>", "", xml, flags=re.S)
    xml = _split_cols(xml)
    for letter, width in look.widths.items():
        i = _letter_index(letter)
        pattern = rf'(<col min="{i}" max="{i}"[^>]*? width=")[0-9.]+(")'
        if not re.search(pattern, xml):
            raise ValueError(f"column {letter} has no <col> element to widen")
        xml = re.sub(pattern, rf"\g<1>{width}\g<2>", xml)
    for letter in look.hide:
        i = _letter_index(letter)
        pattern = rf'(<col min="{i}" max="{i}"[^>]*?)(/>)'
        if not re.search(pattern, xml):
            raise ValueError(f"column {letter} has no <col> element to hide")
        xml = re.sub(pattern, r'\g<1> hidden="1"\g<2>', xml)
    return xml


def _add_cols(xml: str, widths: Mapping[str, float]) -> str:
    """A sheet written without <cols> (the list sheet) gets its own column widths."""
    if "<cols>" in xml or not widths:
        return xml
    cols = "".join(
        f'<col min="{_letter_index(c)}" max="{_letter_index(c)}" width="{w}" customWidth="1"/>'
        for c, w in sorted(widths.items(), key=lambda kv: _letter_index(kv[0]))
    )
    return xml.replace("<sheetData", f"<cols>{cols}</cols><sheetData", 1)


def render_copy(src: Path, dst: Path, looks: Mapping[str, SheetLook]) -> Path:
    """Copy ``src`` changing only the print setup of the sheets in ``looks``."""
    with zipfile.ZipFile(src) as zin:
        names, paths = _sheet_paths(zin)
        wb = zin.read("xl/workbook.xml").decode("utf-8")
        parts: dict[str, bytes] = {}
        for sheet, look in looks.items():
            xml = zin.read(paths[sheet]).decode("utf-8")
            xml = _add_cols(xml, look.widths)
            parts[paths[sheet]] = _restyle_sheet(xml, look).encode("utf-8")
            index = names.index(sheet)
            if look.unhide_sheet:
                wb = re.sub(rf'(<sheet name="{re.escape(sheet)}"[^>]*?) state="[a-zA-Z]+"',
                            r"\1", wb)
            if look.print_area:
                ref = _quote(sheet) + "!" + ":".join(
                    re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part)
                    for part in look.print_area.split(":"))
                name = (f'<definedName name="_xlnm.Print_Area" localSheetId="{index}">'
                        f"{ref}</definedName>")
                wb = wb.replace("<definedNames>", "<definedNames>" + name, 1)
        parts["xl/workbook.xml"] = wb.encode("utf-8")
        dst.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                zout.writestr(info, parts.get(info.filename, zin.read(info.filename)))
    return dst


def _quote(sheet: str) -> str:
    return sheet if re.fullmatch(r"[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*", sheet) \
        else "'" + sheet.replace("'", "''") + "'"


# ------------------------------------------------------------------ PDF → cropped PNG

def _read_ppm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    tokens: list[bytes] = []
    pos = 0
    while len(tokens) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        tokens.append(data[pos:end])
        pos = end
    if tokens[0] != b"P6" or tokens[3] != b"255":
        raise ValueError(f"{path}: not an 8-bit binary PPM")
    width, height = int(tokens[1]), int(tokens[2])
    return width, height, data[pos + 1:]


def _trim(width: int, height: int, pixels: bytes, margin: int) -> tuple[int, int, list[bytes]]:
    stride = width * 3
    rows = [pixels[y * stride:(y + 1) * stride] for y in range(height)]
    white = b"\xff"
    top = bottom = None
    left, right = stride, 0
    for y, row in enumerate(rows):
        stripped = row.lstrip(white)
        if not stripped:
            continue
        top = y if top is None else top
        bottom = y
        left = min(left, (stride - len(stripped)) // 3)
        right = max(right, -(-len(row.rstrip(white)) // 3))
    if top is None or bottom is None:
        raise ValueError("blank page")
    top, bottom = max(0, top - margin), min(height - 1, bottom + margin)
    left, right = max(0, left - margin), min(width, right + margin)
    return right - left, bottom - top + 1, [r[left * 3:right * 3] for r in rows[top:bottom + 1]]


def _write_png(path: Path, width: int, height: int, rows: Sequence[bytes]) -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + r for r in rows)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def pdf_to_png(pdf: Path, out: Path, dpi: int, margin: int = 16) -> tuple[int, int]:
    with tempfile.TemporaryDirectory(prefix="xlz-img-") as tmp:
        stem = Path(tmp, "page")
        subprocess.run(["pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile",
                        str(pdf), str(stem)], check=True, capture_output=True, timeout=120)
        width, height, pixels = _read_ppm(stem.with_suffix(".ppm"))
    w, h, rows = _trim(width, height, pixels, margin)
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_png(out, w, h, rows)
    return w, h


@dataclass
class Shot:
    name: str  # file name in docs/images
    sheet: str
    dpi: int = 150


def print_sheets(workbook: Path, shots: Sequence[Shot], tmp: Path) -> None:
    """Print each sheet to PDF with LibreOffice (after a recalculation) and rasterise it.

    One LibreOffice job per picture: a second one-sheet PDF export in the same job was
    seen to print the first sheet again.
    """
    for shot in shots:
        pdf = tmp / f"{Path(shot.name).stem}.pdf"
        run_job([{"op": "open", "path": str(workbook)}, {"op": "recalc"},
                 {"op": "save", "path": str(pdf), "filter": "calc_pdf_Export",
                  "sheet": shot.sheet}], check=True)
        w, h = pdf_to_png(pdf, IMAGES / shot.name, shot.dpi)
        print(f"  docs/images/{shot.name}  {w}×{h}  ({shot.sheet})", file=sys.stderr)


# ------------------------------------------------------------------ the pictures

def _xlz(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(XLZ), *args], capture_output=True, text=True, timeout=600)


def _has_command(name: str) -> bool:
    return _xlz(name, "--help").returncode == 0


def town_template(tmp: Path) -> Path:
    if not _has_command("templates"):
        raise SystemExit("`xlz templates` is not available yet: nothing to render")
    out = tmp / "templates"
    done = _xlz("templates", "--out", str(out))
    if done.returncode != 0:
        raise SystemExit(f"xlz templates failed:\n{done.stderr}")
    found = sorted(out.glob(f"*填报表-{TOWN}.xlsx"))
    if not found:
        raise SystemExit(f"no template for {TOWN} in {out}: {sorted(p.name for p in out.iterdir())}")
    return found[0]


# Columns of 项目信息 in the pictures: what the four example rows use.
SHOWN = ("seq", "name", "category", "field", "origin", "leader", "status", "signed", "phone",
         "findings", "live_check")
SHOWN_WITH_FINDINGS = ("seq", "name", "category", "field", "leader", "status", "signed", "phone",
                       "findings", "live_check")
LAST_ROW = 1 + len(_project_rows()) + 1  # header, the rows, one empty row


def _projects_look(*, findings: bool) -> SheetLook:
    letters = {c.key: _col(c.key) for c in PROJECTS.columns}
    shown = SHOWN_WITH_FINDINGS if findings else [k for k in SHOWN if k != "findings"]
    hide = [letter for key, letter in letters.items() if key not in shown]
    widths = {letters["live_check"]: 44.0 if findings else 58.0}
    if findings:
        widths[letters["findings"]] = 56.0
        widths[letters["name"]] = 24.0
    last = letters["live_check"]
    return SheetLook(print_area=f"A1:{last}{LAST_ROW}", hide=hide, widths=widths)


def build(tmp: Path, only: set[str] | None, template: Path | None = None) -> list[str]:
    """Render every picture; returns the names of pictures that could not be made."""
    template = template or town_template(tmp)
    can_validate = _has_command("validate")
    rows = _project_rows()
    # The five lists of 项目信息 (产业领域 is the longest: 10 choices + its name).
    lists_look = SheetLook(unhide_sheet=True, print_area="A1:E11",
                           widths={"A": 11.0, "B": 19.0, "C": 17.0, "D": 11.0, "E": 12.0})
    results_hidden = [chr(ord("A") + RESULT_HEADERS.index(h)) for h in ("列", "规则代码")]
    # (picture, sheet, look, entries typed, validated, dpi)
    plan: list[tuple[str, str, SheetLook, bool, bool, int]] = [
        ("clerk-guide-sheet.png", "填报说明",
         SheetLook(print_area=_used_area(template, "填报说明")), False, False, 160),
        ("clerk-dropdown-lists.png", "_lists", lists_look, False, False, 150),
        ("clerk-flagged-live.png", "项目信息", _projects_look(findings=False), True, False, 150),
        ("clerk-tasks.png", "任务分解",
         SheetLook(print_area=f"A1:E{TASK_FIRST_ROW + len(METRICS) - 1}"), True, False, 150),
        ("clerk-validated-hints.png", "项目信息", _projects_look(findings=True), True, True, 150),
        ("clerk-validated-results.png", "校验结果",
         SheetLook(print_area="A1:G12", hide=results_hidden,
                   widths={chr(ord("A") + RESULT_HEADERS.index("问题说明")): 112.0}), True, True, 170),
        ("clerk-validated-status.png", "填报说明", SheetLook(print_area=f"A1:B{max(STATUS_ROWS.values())}"), True, True, 150),
    ]
    skipped = []
    for name, sheet, look, typed, validated, dpi in plan:
        if only is not None and name not in only:
            continue
        if validated and not can_validate:
            skipped.append(name)
            continue
        # One print area per copy: LibreOffice's PDF export was seen to print another
        # sheet's print area when several sheets had one.
        book = render_copy(template, tmp / f"{Path(name).stem}.xlsx", {sheet: look})
        if typed:
            book = Path(fill_and_save(book, _edits(rows), book.with_suffix(".filled.xlsx"))
                        ["steps"][-1]["path"])
        if validated:
            done = _xlz("validate", str(book))
            if done.returncode not in (0, 1):
                raise SystemExit(f"xlz validate failed:\n{done.stderr}")
        print_sheets(book, [Shot(name, sheet, dpi)], tmp)
    return skipped


def _used_area(workbook: Path, sheet: str) -> str:
    """The sheet's used area as its <dimension> element records it."""
    with zipfile.ZipFile(workbook) as z:
        _, paths = _sheet_paths(z)
        xml = z.read(paths[sheet]).decode("utf-8")
    match = re.search(r'<dimension ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"', xml)
    if match is None:
        raise ValueError(f"{sheet}: no <dimension> to take a print area from")
    return match.group(1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the intermediate workbooks here")
    parser.add_argument("--only", nargs="*", help="picture file names to render")
    parser.add_argument("--template", type=Path,
                        help="a town template to use instead of running `xlz templates`")
    args = parser.parse_args(argv)
    only = set(args.only) if args.only else None
    tmp = Path(tempfile.mkdtemp(prefix="xlz-docimg-"))
    try:
        skipped = build(tmp, only, args.template)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for p in tmp.glob("*.xlsx"):
                shutil.copy2(p, args.keep / p.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for name in skipped:
        print(f"  skipped {name}: its command has not landed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


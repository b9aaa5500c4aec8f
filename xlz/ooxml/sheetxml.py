"""Edit individual cells of a worksheet part (``xl/worksheets/sheetN.xml``) as text.

Only the ``<row>`` elements that hold an edited cell are rebuilt, and inside them only
the edited ``<c>`` elements; every other byte of the part is kept as it was. Rows and
cells are found with anchored regular expressions: worksheet parts are machine-written
(Excel, WPS, LibreOffice, xlsxwriter), ``</c>`` and ``</row>`` cannot occur inside text
(``<`` is always escaped), and cells never nest.

Strings are written as inline strings so ``sharedStrings.xml`` stays untouched; a cell
keeps its style id (``s``); a new cell takes its row's or its column's style, as Excel
does when a clerk types into an empty cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from xlz.core.cells import cell_ref, parse_range, parse_ref, range_ref
from xlz.ooxml.xmltext import xml_markup, xml_text

_ROOT: Final = re.compile(r"<(\w+:)?worksheet\b")
_ATTR: Final = re.compile(r"([\w:.-]+)\s*=\s*(\"[^\"]*\"|'[^']*')")


class SheetXmlError(ValueError):
    """The part is not a worksheet this module can edit safely."""


@dataclass(frozen=True, slots=True)
class Text:
    value: str


@dataclass(frozen=True, slots=True)
class Number:
    value: float | int


@dataclass(frozen=True, slots=True)
class Formula:
    """A formula (Excel syntax, without ``=``) with its cached value. ``keep=True``
    keeps the cell's formula when it is this one (or a shared-formula child), so only the
    cached value changes; any other content is replaced by this formula."""

    text: str
    cached: str | float | int | None
    keep: bool = True


@dataclass(frozen=True, slots=True)
class Clear:
    """Empty the cell, keeping its style."""


Edit = Text | Number | Formula | Clear


def _attrs(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2)[1:-1] for m in _ATTR.finditer(text)}


def _element(text: str, at: int, closing: str) -> tuple[int, str, str | None]:
    """The element starting at ``at``: (end, attribute text, content or None when it is
    self-closing). Attribute values of rows and cells never contain ``>``."""
    gt = text.index(">", at)
    name_end = at + 1
    while text[name_end] not in " \t\r\n/>":
        name_end += 1
    if text[gt - 1] == "/":
        return gt + 1, text[name_end:gt - 1], None
    end = text.index(closing, gt)
    return end + len(closing), text[name_end:gt], text[gt + 1:end]


def _number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class SheetPatcher:
    """Cell edits for one worksheet part, applied in one pass by :meth:`apply`."""

    def __init__(self, xml: bytes) -> None:
        try:
            self.text = xml.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SheetXmlError("worksheet part is not UTF-8") from exc
        root = _ROOT.search(self.text)
        if root is None:
            raise SheetXmlError("not a worksheet part")
        self.p = root.group(1) or ""
        p = re.escape(self.p)
        self._row_re = re.compile(rf"<{p}row\b([^>]*?)(?:/>|>(.*?)</{p}row>)", re.S)
        self._cell_re = re.compile(rf"<{p}c\b([^>]*?)(?:/>|>(.*?)</{p}c>)", re.S)
        self._formula_re = re.compile(rf"<{p}f\b[^>]*?(?:/>|>.*?</{p}f>)", re.S)
        self._value_re = re.compile(rf"<{p}v\b[^>]*?(?:/>|>.*?</{p}v>)", re.S)
        self.edits: dict[int, dict[int, Edit]] = {}
        self.formulas_removed: list[str] = []  # cells whose formula an edit replaced
        self.formulas_kept: list[str] = []  # Formula edits that found a formula in place
        self.skipped: list[str] = []  # edits refused because the cell holds a formula
        # True: an edit never replaces a formula (a clerk's or the template's live check);
        # only Formula edits with keep=True update such a cell's cached value.
        self.keep_formulas = False
        self._col_styles: list[tuple[int, int, str]] | None = None

    def set(self, ref: str, edit: Edit) -> None:
        row, col = parse_ref(ref)
        self.edits.setdefault(row, {})[col] = edit

    # --- applying ---------------------------------------------------------------------
    def apply(self) -> bytes:
        if not self.edits:
            return self.text.encode("utf-8")
        p = self.p
        open_tag = re.search(rf"<{re.escape(p)}sheetData\b[^>]*?(/?)>", self.text)
        if open_tag is None:
            raise SheetXmlError("no sheetData")
        if open_tag.group(1):  # <sheetData/>: an empty sheet
            body_start = body_end = open_tag.end()
            head = self.text[:open_tag.start()] + f"<{p}sheetData>"
            tail = f"</{p}sheetData>" + self.text[open_tag.end():]
        else:
            body_start = open_tag.end()
            body_end = self.text.index(f"</{p}sheetData>", body_start)
            head, tail = self.text[:body_start], self.text[body_end:]
        body = self.text[body_start:body_end]
        fast = self._apply_fast(body)
        if fast is not None:
            return self._update_dimension(head + fast + tail).encode("utf-8")
        pending = dict(self.edits)
        out: list[str] = []
        last = 0
        implicit = 0
        for match in self._row_re.finditer(body):
            attrs = _attrs(match.group(1))
            row = int(attrs["r"]) if "r" in attrs else implicit + 1
            implicit = row
            for missing in sorted(r for r in pending if r < row):
                out.append(body[last:match.start()])
                last = match.start()
                out.append(self._new_row(missing, pending.pop(missing)))
            if row in pending:
                out.append(body[last:match.start()])
                out.append(self._edit_row(match, row, attrs, pending.pop(row)))
                last = match.end()
        out.append(body[last:])
        for row in sorted(pending):
            out.append(self._new_row(row, pending[row]))
        text = head + "".join(out) + tail
        return self._update_dimension(text).encode("utf-8")

    def _apply_fast(self, body: str) -> str | None:
        """Rebuild only the edited rows, found by their ``<row r="N"`` start tag (every
        writer we know puts ``r`` first). None when a row is missing or the tag is not
        found that way: the full scan then decides where new rows go."""
        starts: list[tuple[int, int]] = []
        pos = 0
        for row in sorted(self.edits):
            tag = f'<{self.p}row r="{row}"'
            at = body.find(tag, pos)
            if at < 0 or body[at + len(tag)] not in " >/":
                return None
            starts.append((row, at))
            pos = at + len(tag)
        out: list[str] = []
        last = 0
        for row, at in starts:
            # str.find instead of the lazy regex: rows with long live-check formulas are
            # several KB each, and a lazy ``.*?`` walks them one character at a time.
            end, attrs, content = _element(body, at, f"</{self.p}row>")
            out.append(body[last:at])
            out.append(self._edit_row_parts(body[at:end], row, _attrs(attrs), content or "",
                                            self.edits[row]))
            last = end
        out.append(body[last:])
        return "".join(out)

    def _edit_row(self, match: re.Match[str], row: int, attrs: dict[str, str],
                  edits: dict[int, Edit]) -> str:
        return self._edit_row_parts(match.group(0), row, attrs, match.group(2) or "", edits)

    def _edit_row_parts(self, whole: str, row: int, attrs: dict[str, str], content: str,
                        edits: dict[int, Edit]) -> str:
        cells = self._replace_found(content, row, attrs, edits)
        if cells is None:
            cells = self._rebuild_cells(content, row, attrs, edits)
        row_open = whole[: whole.index(">") + 1]
        if row_open.endswith("/>"):
            row_open = row_open[:-2] + ">"
        row_open = self._widen_spans(row_open, attrs, edits)
        return f"{row_open}{cells}</{self.p}row>"

    def _replace_found(self, content: str, row: int, row_attrs: dict[str, str],
                       edits: dict[int, Edit]) -> str | None:
        """Replace edited cells found by their ``<c r="T5"`` tag (the common case: the
        template prepared every reserved cell). None when one is absent."""
        spots: list[tuple[int, int, str]] = []
        for col, edit in edits.items():
            tag = f'<{self.p}c r="{cell_ref(row, col)}"'
            at = content.find(tag)
            if at < 0:
                # Not there yet (a template leaves reserved cells to the column style):
                # insert before the first cell to its right.
                where = self._insert_at(content, col)
                if where is None:
                    return None
                spots.append((where, where, self._cell_xml(row, col, edit, None, None,
                                                           row_attrs)))
                continue
            if content[at + len(tag)] not in " >/":
                return None
            end, attrs, old_content = _element(content, at, f"</{self.p}c>")
            if self.keep_formulas and not isinstance(edit, Formula) \
                    and old_content and self._formula_re.search(old_content):
                self.skipped.append(cell_ref(row, col))
                continue
            new = self._cell_xml(row, col, edit, _attrs(attrs), old_content, row_attrs)
            spots.append((at, end, new))
        out: list[str] = []
        last = 0
        for start, end, new in sorted(spots):
            out.append(content[last:start])
            out.append(new)
            last = end
        out.append(content[last:])
        return "".join(out)

    def _insert_at(self, content: str, col: int) -> int | None:
        """Offset of the first cell right of ``col`` (or the end); None if a cell has no
        ``r`` written first, which the full rebuild handles."""
        tag = f'<{self.p}c r="'
        pos = content.find(f"<{self.p}c")
        while pos >= 0:
            if not content.startswith(tag, pos):
                if content[pos + len(self.p) + 2] in " />":
                    return None  # a cell whose r is not its first attribute
                pos = content.find(f"<{self.p}c", pos + 1)
                continue
            start = pos + len(tag)
            if parse_ref(content[start:content.index('"', start)])[1] > col:
                return pos
            pos = content.find(f"<{self.p}c", start)
        return len(content)

    def _rebuild_cells(self, content: str, row: int, attrs: dict[str, str],
                       edits: dict[int, Edit]) -> str:
        pending = dict(edits)
        out: list[str] = []
        last = 0
        implicit = -1
        for cell in self._cell_re.finditer(content):
            cattrs = _attrs(cell.group(1))
            col = parse_ref(cattrs["r"])[1] if "r" in cattrs else implicit + 1
            implicit = col
            for missing in sorted(c for c in pending if c < col):
                out.append(content[last:cell.start()])
                last = cell.start()
                out.append(self._cell_xml(row, missing, pending.pop(missing), None, None, attrs))
            if col in pending and self.keep_formulas \
                    and not isinstance(pending[col], Formula) \
                    and self._formula_re.search(cell.group(2) or ""):
                pending.pop(col)  # a live formula: leave the cell exactly as it is
                self.skipped.append(cell_ref(row, col))
            if col in pending:
                out.append(content[last:cell.start()])
                out.append(self._cell_xml(row, col, pending.pop(col), cattrs, cell.group(2),
                                          attrs))
                last = cell.end()
        out.append(content[last:])
        for col in sorted(pending):
            out.append(self._cell_xml(row, col, pending[col], None, None, attrs))
        return "".join(out)

    def _widen_spans(self, row_open: str, attrs: dict[str, str], edits: dict[int, Edit]) -> str:
        spans = attrs.get("spans")
        if not spans or ":" not in spans or " " in spans:
            return row_open
        lo, hi = (int(x) for x in spans.split(":"))
        cols = [c + 1 for c in edits]
        new_lo, new_hi = min(lo, *cols), max(hi, *cols)
        if (new_lo, new_hi) == (lo, hi):
            return row_open
        return re.sub(r'spans\s*=\s*(["\'])[^"\']*\1', f'spans="{new_lo}:{new_hi}"', row_open,
                      count=1)

    def _new_row(self, row: int, edits: dict[int, Edit]) -> str:
        cells = "".join(self._cell_xml(row, col, edits[col], None, None, {})
                        for col in sorted(edits))
        if not cells:
            return ""
        return f'<{self.p}row r="{row}">{cells}</{self.p}row>'

    def _cell_xml(self, row: int, col: int, edit: Edit, old: dict[str, str] | None,
                  old_content: str | None, row_attrs: dict[str, str]) -> str:
        p = self.p
        ref = cell_ref(row, col)
        had_formula = bool(old_content and self._formula_re.search(old_content))
        style = old.get("s") if old is not None else self._new_cell_style(col, row_attrs)
        s_attr = f' s="{style}"' if style and style != "0" else ""
        if isinstance(edit, Formula) and edit.keep and had_formula:
            assert old_content is not None
            formula = self._formula_re.search(old_content)
            assert formula is not None
            if self._same_formula(formula.group(0), edit.text):
                self.formulas_kept.append(ref)
                return self._formula_cell(ref, s_attr, formula.group(0), edit.cached)
        if had_formula and not isinstance(edit, Formula):
            self.formulas_removed.append(ref)
        if isinstance(edit, Clear):
            return f'<{p}c r="{ref}"{s_attr}/>' if s_attr else ""
        if isinstance(edit, Text):
            return (f'<{p}c r="{ref}"{s_attr} t="inlineStr"><{p}is><{p}t xml:space="preserve">'
                    f"{xml_text(edit.value)}</{p}t></{p}is></{p}c>")
        if isinstance(edit, Number):
            return f'<{p}c r="{ref}"{s_attr}><{p}v>{_number(edit.value)}</{p}v></{p}c>'
        return self._formula_cell(ref, s_attr, f"<{p}f>{xml_markup(edit.text)}</{p}f>", edit.cached)

    @staticmethod
    def _same_formula(xml: str, text: str) -> bool:
        """The cell's formula is ``text`` (or a shared-formula child, which carries no text
        of its own and follows its master)."""
        inner = xml[xml.index(">") + 1:]
        if xml.endswith("/>") or not inner.strip() or "t=\"shared\"" in xml.split(">")[0]:
            return True
        inner = inner[: inner.rfind("<")]
        unescaped = inner.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"') \
            .replace("&apos;", "'").replace("&amp;", "&")
        return unescaped.lstrip("=") == text

    def _formula_cell(self, ref: str, s_attr: str, formula_xml: str,
                      cached: str | float | int | None) -> str:
        p = self.p
        if cached is None:
            return f'<{p}c r="{ref}"{s_attr}>{formula_xml}</{p}c>'
        if isinstance(cached, str):
            return (f'<{p}c r="{ref}"{s_attr} t="str">{formula_xml}<{p}v>{xml_text(cached)}'
                    f"</{p}v></{p}c>")
        return f'<{p}c r="{ref}"{s_attr}>{formula_xml}<{p}v>{_number(cached)}</{p}v></{p}c>'

    def _new_cell_style(self, col: int, row_attrs: dict[str, str]) -> str | None:
        if row_attrs.get("customFormat") in ("1", "true") and "s" in row_attrs:
            return row_attrs["s"]
        for lo, hi, style in self._column_styles():
            if lo <= col + 1 <= hi:
                return style
        return None

    def _column_styles(self) -> list[tuple[int, int, str]]:
        if self._col_styles is None:
            p = re.escape(self.p)
            self._col_styles = []
            cols = re.search(rf"<{p}cols>(.*?)</{p}cols>", self.text, re.S)
            if cols:
                for m in re.finditer(rf"<{p}col\b([^>]*?)/?>", cols.group(1)):
                    a = _attrs(m.group(1))
                    if "style" in a and "min" in a and "max" in a:
                        self._col_styles.append((int(a["min"]), int(a["max"]), a["style"]))
        return self._col_styles

    def _update_dimension(self, text: str) -> str:
        p = re.escape(self.p)
        match = re.search(rf'<{p}dimension\b[^>]*?ref\s*=\s*"([^"]*)"', text)
        if match is None:
            return text
        ref = match.group(1)
        try:
            r1, c1, r2, c2 = parse_range(ref)
        except ValueError:
            return text
        rows = [r for r, cols in self.edits.items()
                if any(not isinstance(e, Clear) for e in cols.values())]
        cols = [c for cs in self.edits.values() for c, e in cs.items() if not isinstance(e, Clear)]
        if not rows:
            return text
        if ref == "A1" and r1 == 1 and c1 == 0:  # xlsxwriter's mark for an empty sheet
            n1, m1 = min(rows), min(cols)
        else:
            n1, m1 = min(r1, *rows), min(c1, *cols)
        n2, m2 = max(r2, *rows), max(c2, *cols)
        new = range_ref(n1, m1, n2, m2)
        if (n1, m1, n2, m2) == (r1, c1, r2, c2):
            return text
        return text[: match.start(1)] + new + text[match.end(1):]

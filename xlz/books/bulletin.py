"""The 通报 as a Word document (python-docx), laid out as a government notice: A4 with the
margins of GB/T 9704, title in 黑体, body in 仿宋 三号 on a fixed 28-point line, headings
一、二、… in 黑体, page numbers "— 1 —" at the foot. Plain styles only (Normal, headings
by direct formatting, "Table Grid"): the office edits it before sending, and whatever it
types takes the body's look. The facts are :mod:`xlz.core.bulletin`'s; nothing is
computed here.

python-docx is imported only here (and only when a bulletin is written).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xlz.core.bulletin import BulletinFacts
from xlz.core.plan import METRICS

BODY_FONT = "仿宋"  # Windows' FangSong; Word substitutes 仿宋_GB2312 where that is the font
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体"
BODY_PT = 16  # 三号
TABLE_PT = 10.5  # 五号
LINE_PT = 28
NUMERALS = "一二三四五六七八九十"


TABLE_HEADER = {"projects": "科创类、人才类、服务类项目", "invention_patents": "发明专利实审",
                "utility_patents": "实用新型专利授权", "platform": "平台类项目",
                "fund": "基金类项目"}


def _word(state: str) -> str:
    return "未报送" if state == "未报送" else "未通过"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _num(x: float) -> str:
    return f"{x:,.0f}" if x != int(x) else f"{int(x):,}"


def _date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


class _Doc:
    """A python-docx document with the notice's page, fonts and helpers."""

    def __init__(self, title: str, author: str) -> None:
        import docx
        from docx.enum.section import WD_ORIENT
        from docx.shared import Cm, Pt

        self.Pt, self.Cm = Pt, Cm
        self.doc = docx.Document()
        section = self.doc.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
        section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
        section.footer_distance = Cm(2.5)
        normal = self.doc.styles["Normal"]
        normal.font.size = Pt(BODY_PT)
        self.font(normal.element, BODY_FONT)
        fmt = normal.paragraph_format
        fmt.line_spacing = Pt(LINE_PT)
        fmt.space_before = fmt.space_after = Pt(0)
        props = self.doc.core_properties
        props.title, props.author, props.comments = title, author, "由 xlz bulletin 生成"
        self._page_numbers(section)

    @staticmethod
    def font(element: Any, name: str) -> None:
        """Set ``name`` for Latin and East Asian text of a style or run element."""
        from docx.oxml.ns import qn

        rpr = element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.insert(0, fonts)
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(attr), name)

    def _page_numbers(self, section: Any) -> None:
        """"— N —" centred at the foot of every page, a PAGE field Word keeps current."""
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml.ns import qn

        p = section.footer.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self.run(p, "— ", size=14, font="宋体")
        parts = (("fldChar", "begin"), ("instrText", " PAGE "), ("fldChar", "separate"),
                 ("t", "1"), ("fldChar", "end"))
        for tag, value in parts:
            run = self.run(p, value if tag == "t" else "", size=14, font="宋体")
            if tag == "fldChar":
                run._r.append(run._r.makeelement(qn("w:fldChar"), {qn("w:fldCharType"): value}))
            elif tag == "instrText":
                instr = run._r.makeelement(qn("w:instrText"), {qn("xml:space"): "preserve"})
                instr.text = value
                run._r.append(instr)
        self.run(p, " —", size=14, font="宋体")

    def run(self, paragraph: Any, text: str, *, size: float | None = None,
            font: str | None = None, bold: bool = False) -> Any:
        run = paragraph.add_run(text)
        if size is not None:
            run.font.size = self.Pt(size)
        if font is not None:
            self.font(run._r, font)
        run.bold = bold or None
        return run

    def paragraph(self, text: str = "", *, indent: bool = True, align: str | None = None,
                  font: str | None = None, size: float | None = None,
                  bold: bool = False) -> Any:
        from docx.enum.text import WD_ALIGN_PARAGRAPH

        p = self.doc.add_paragraph()
        if indent:
            p.paragraph_format.first_line_indent = self.Pt(BODY_PT * 2)
        if align is not None:
            p.alignment = {"center": WD_ALIGN_PARAGRAPH.CENTER,
                           "right": WD_ALIGN_PARAGRAPH.RIGHT,
                           "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}[align]
        if text:
            self.run(p, text, font=font, size=size, bold=bold)
        return p

    def heading(self, number: int, text: str) -> None:
        p = self.paragraph(f"{NUMERALS[number - 1]}、{text}", font=HEADING_FONT)
        p.paragraph_format.keep_with_next = True

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]],
              widths: Sequence[float]) -> None:
        """A grid table in 五号: header row in 黑体, repeated on every page."""
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml.ns import qn

        table = self.doc.add_table(rows=1 + len(rows), cols=len(headers))
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        for c, width in enumerate(widths):  # the grid: what LibreOffice and WPS go by
            table.columns[c].width = self.Cm(width)
        header = table.rows[0]
        trpr = header._tr.get_or_add_trPr()
        trpr.append(trpr.makeelement(qn("w:tblHeader"), {}))
        for r, values in enumerate([headers, *rows]):
            for c, value in enumerate(values):
                cell = table.rows[r].cells[c]
                cell.width = self.Cm(widths[c])
                p = cell.paragraphs[0]
                p.paragraph_format.first_line_indent = None
                p.paragraph_format.line_spacing = 1.0
                p.alignment = (WD_ALIGN_PARAGRAPH.LEFT if r and c == 1 and len(value) > 8
                               else WD_ALIGN_PARAGRAPH.CENTER)
                self.run(p, value, size=TABLE_PT, font=HEADING_FONT if r == 0 else BODY_FONT)
        self.paragraph(indent=False)  # a line between the table and what follows

    def save(self, path: Path) -> None:
        self.doc.save(str(path))


def _overall(d: _Doc, f: BulletinFacts) -> None:
    d.heading(1, "总体进展")
    projects = next(x for x in f.city_lines if x.unit == "个")
    uncounted = f.town_count - f.counted
    said = (f"全市{f.town_count}个镇（区、街道）中，{f.counted}个已报送且通过校验"
            + (f"，{uncounted}个未报送或未通过校验（未计入汇总，见第三部分）" if uncounted else "")
            + "。")
    d.paragraph(
        f"截至{_date(f.period)}，{said}全市新引进{projects.label.split('（')[0]}"
        f"{_num(projects.done)}个，完成全年目标（{_num(projects.target)}个）的"
        f"{_pct(projects.rate)}，时序进度为{_pct(f.elapsed)}。各项目标完成情况如下：")
    d.table(("指标（方案正文）", "全年目标", "完成", "完成率"),
            [(x.label, _num(x.target), _num(x.done), _pct(x.rate)) for x in f.city_lines],
            (8.0, 2.6, 2.6, 2.4))


def _towns(d: _Doc, f: BulletinFacts) -> None:
    d.heading(2, "各镇（区、街道）任务完成情况")
    d.paragraph("按综合完成率（附件2各项指标完成率的加权平均，只计有目标的指标）排名如下。"
                "未报送、未通过校验的镇（区、街道）没有完成数，不参与排名，列在最后。")
    d.paragraph("表中各项为“完成数/任务数”（任务数为附件2所列，“—”为未列任务）。")
    headers = ("名次", "镇区", *(TABLE_HEADER[m] for m in METRICS), "综合完成率")
    rows = []
    for t in f.towns:
        cells = []
        for m in METRICS:
            target = "—" if t.target[m] is None else str(t.target[m])
            done = t.done[m]
            cells.append(f"{done}/{target}" if done is not None else _word(t.state))
        rows.append((str(t.rank) if t.rank is not None else "—", t.short, *cells,
                     _pct(t.score) if t.score is not None else t.state))
    d.table(headers, rows, (1.2, 2.0, 2.2, 2.2, 2.2, 1.5, 1.5, 2.8))


def _behind(d: _Doc, f: BulletinFacts) -> None:
    d.heading(3, "进度滞后的镇（区、街道）")
    slow = [b for b in f.behind if b.score is not None]
    none = [b for b in f.behind if b.score is None]
    if not f.behind:
        d.paragraph(f"各镇（区、街道）综合完成率均达到时序进度（{_pct(f.elapsed)}）。")
        return
    if slow:
        d.paragraph(f"综合完成率低于时序进度（{_pct(f.elapsed)}）的有：" + "、".join(
            f"{b.short}（{_pct(b.score)}）" for b in slow) + "。请加快推进。")
    for state in ("未报送", "未通过校验"):
        towns = [b for b in none if b.state == state]
        if towns:
            what = "本期未报送" if state == "未报送" else "报送的文件未通过校验，未计入汇总"
            d.paragraph("、".join(b.short for b in towns) + f"{what}（联系人："
                        + "；".join(f"{b.short} {b.contact}" for b in towns) + "）。")


def _projects(d: _Doc, f: BulletinFacts) -> None:
    d.heading(4, "新增项目")
    if f.previous is None:
        d.paragraph("本期为台账中的第一期，新增项目从下一期通报起与上期比较列出。")
        return
    since = f"上期（截至{_date(f.previous)}）以来"
    if not f.new_projects and not f.status_moves:
        d.paragraph(f"{since}没有新增项目，也没有项目进展变化。")
        return
    by_town: dict[str, int] = {}
    for p in f.new_projects:
        by_town[p.town] = by_town.get(p.town, 0) + 1
    d.paragraph(f"{since}，各镇（区、街道）新增报送项目{len(f.new_projects)}个"
                + ("（" + "、".join(f"{t}{n}个" for t, n in by_town.items()) + "）"
                   if by_town else "")
                + (f"，{len(f.status_moves)}个项目进展有变化" if f.status_moves else "") + "。")
    if f.new_projects:
        d.table(("序号", "项目名称", "镇区", "项目类别", "项目进展"),
                [(str(i), p.name, p.town, p.category, p.status)
                 for i, p in enumerate(f.new_projects, start=1)], (1.2, 6.6, 2.4, 2.4, 2.4))
    if f.status_moves:
        d.table(("序号", "项目名称", "镇区", "上期进展", "本期进展"),
                [(str(i), m.name, m.town, m.before, m.now)
                 for i, m in enumerate(f.status_moves, start=1)], (1.2, 6.6, 2.4, 2.4, 2.4))


def _activities(d: _Doc, f: BulletinFacts) -> None:
    d.heading(5, "科技招商活动开展情况")
    held = [a for a in f.activities if a.state == "已举办"]
    open_ = [a for a in f.activities if a.state != "已举办"]
    text = (f"《{f.plan_title}》附件3安排截至{f.period.month}月的活动{len(f.activities)}场，"
            f"据各镇（区、街道）报送，已举办{len(held)}场")
    if open_:
        text += "；尚未见举办的有：" + "、".join(f"{a.name}（{a.time}）" for a in open_)
    text += f"。各镇（区、街道）另举办科技招商活动{f.other_activities}场。"
    d.paragraph(text)
    if f.activities:
        d.table(("序号", "活动名称", "时间", "主办单位", "举办情况"),
                [(str(a.seq), a.name, a.time, a.host,
                  a.state + (f"（{'、'.join(a.towns)}）" if a.towns else ""))
                 for a in f.activities], (1.2, 6.2, 1.6, 3.4, 3.4))


def _problems(d: _Doc, f: BulletinFacts) -> None:
    d.heading(6, "存在的问题")
    if not f.problems:
        d.paragraph("本期各镇（区、街道）均已按时报送，报送文件均通过校验。")
    for i, text in enumerate(f.problems, start=1):
        d.paragraph(f"{i}. {text}")


def write_bulletin(facts: BulletinFacts, path: Path, *, today: dt.date | None = None) -> None:
    """Write the bulletin on ``facts`` to ``path`` (a .docx; the caller replaces safely)."""
    d = _Doc(facts.title, facts.office)
    d.paragraph(facts.title, indent=False, align="center", font=HEADING_FONT, size=22)
    d.paragraph(f"（第{facts.number}期　截至{_date(facts.period)}）", indent=False,
                align="center", font=SUBHEADING_FONT)
    d.paragraph(indent=False)
    d.paragraph("各镇（区、街道）：", indent=False)
    d.paragraph(f"根据《{facts.plan_title}》“定期通报工作进展情况”的要求，现将截至"
                f"{_date(facts.period)}全市科技招商工作进展情况通报如下：")
    for part in (_overall, _towns, _behind, _projects, _activities, _problems):
        part(d, facts)
    d.paragraph(indent=False)
    d.paragraph(facts.office, indent=False, align="right")
    d.paragraph(_date(today or dt.date.today()), indent=False, align="right")
    d.save(path)

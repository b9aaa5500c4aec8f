"""报送链接.xlsx: the towns' secret portal links (``xlz serve --init`` / ``--reissue``), a
workbook the office sends out one row at a time (or prints and cuts).

The links are written as plain text, never as hyperlink formulas: a clerk copies a link
into the browser; a workbook that opens a web page on a click is not what an office
should forward by e-mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True, slots=True)
class TownLink:
    town: str  # code
    name: str  # official name
    url: str
    issued_at: str


def write_links_workbook(target: Path, links: Sequence[TownLink], admin_url: str) -> None:
    import xlsxwriter

    from xlz.io.output import atomic_write

    def write(fh: BinaryIO) -> None:
        wb = xlsxwriter.Workbook(fh, {"in_memory": True, "strings_to_formulas": False,
                                      "strings_to_numbers": False, "strings_to_urls": False})
        bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        cell = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
        ws = wb.add_worksheet("报送链接")
        ws.write(0, 0, "各镇区网页报送链接（每个链接只能报送本镇区，请分别发给各镇区填报人，勿外传）", bold)
        for col, (header, width) in enumerate(
                (("镇区", 14), ("报送链接", 70), ("发放时间", 28), ("说明", 40))):
            ws.write(2, col, header, bold)
            ws.set_column(col, col, width)
        for row, link in enumerate(links, start=3):
            ws.write_string(row, 0, link.name, cell)
            ws.write_string(row, 1, link.url, cell)
            ws.write_string(row, 2, link.issued_at, cell)
            ws.write_string(row, 3, "用浏览器打开：下载模板、上传填好的表、查看校验结果", cell)
        below = 4 + len(links)
        ws.write_string(below, 0, "市科技局登录", bold)
        ws.write_string(below, 1, admin_url, cell)
        ws.write_string(below + 1, 0, "注意", bold)
        ws.write_string(below + 1, 1, "链接丢失或外泄时，在市科技局电脑上运行 "
                        "xlz serve --data 数据文件夹 --reissue 镇区，旧链接立即作废。", cell)
        ws.freeze_panes(3, 1)
        wb.close()

    atomic_write(target, write)

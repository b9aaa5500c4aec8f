"""Consolidation refuses to guess (issue 11), three cases:

1. **The latest submission is the newest the clerk produced**, by the application's save
   time (docProps/core.xml ``dcterms:modified``, an .ods's ``dc:date``), then the
   e-mail's Date, then the archive member's time, then the file time. Validating an old
   file in place (its file time newer) does not make it win; a decision resting on the
   file time or a tie is printed and marked in 报送情况 (``file.order_uncertain``).
2. **A mailer's attachment name** — RFC 2231 with ``%00``, raw 8-bit GBK as Foxmail sends
   it — is decoded and made safe, and the attachment is read; the run goes on.
3. **Text over Excel's 32,767 characters** is a finding (``workbook.cell.too_long``),
   in ``validate`` and on 问题清单, never cut silently in the city workbook.

Each builds its input the way a mailer or an application does, and asserts the exit code,
the message code, that the inputs' bytes are unchanged and that no row is lost.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from tests.xlz_books import build, make_rows
from xlz.cli import main
from xlz.core import layout as L
from xlz.core.cells import CELL_TEXT_LIMIT, cell_ref
from xlz.core.entries import PROJECTS

# --------------------------------------------------------------------------- helpers


def _digests(*roots: Path) -> dict[str, str]:
    files = [p for r in roots for p in ([r] if r.is_file() else sorted(r.rglob("*")))
             if p.is_file()]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def _consolidate(tmp_path: Path, *sources: Path) -> tuple[int, str, Path]:
    """``xlz consolidate`` on ``sources``; the inputs' bytes must not change."""
    out = tmp_path / "市级汇总表.xlsx"
    before = _digests(*sources)
    code, output = _run("consolidate", *map(str, sources), "--out", str(out))
    assert _digests(*sources) == before  # inputs are only ever read
    return code, output, out


def _table(out: Path, name: str) -> list[dict[str, Any]]:
    """A city sheet as dicts keyed by its header row."""
    book = CalamineWorkbook.from_path(str(out))
    try:
        rows = book.get_sheet_by_name(name).to_python()
    finally:
        book.close()
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r, strict=False)) for r in rows[1:] if any(v != "" for v in r)]


def _status(out: Path, town: str) -> dict[str, Any]:
    return next(r for r in _table(out, L.CITY_SUBMISSIONS) if r["镇区"] == town)


def _issues(out: Path) -> list[dict[str, Any]]:
    return _table(out, L.CITY_ISSUES)


def _project_names(out: Path, town: str | None = None) -> list[str]:
    return [r["项目名称"] for r in _table(out, L.CITY_PROJECTS)
            if r.get("项目名称") and town in (None, r["镇区"])]


def _other_towns(inbox: Path, *but: str) -> Path:
    """Clean submissions of every town but ``but`` (codes) into ``inbox``: a whole round,
    so that the exit code speaks of the case at hand only."""
    from xlz import load_plan

    folder = inbox / "其他镇区"
    folder.mkdir()
    for town in load_plan().towns:
        if town.code not in but:
            _town_book(folder / f"{town.short}.xlsx", 1, town=town.code, prefix=town.code)
    return inbox


def _rows_kept(out: Path, file: str, rows: int) -> None:
    """No row lost: each of the ``rows`` project rows of the file whose display name ends
    with ``file`` is on 项目信息库 (by its provenance) or has a line naming its row on a
    sheet of findings (问题清单, and any sheet listing rows left out)."""
    accepted = {int(r["来源行"]) for r in _table(out, L.CITY_PROJECTS)
                if str(r["来源文件"]).endswith(file)}
    listed: set[int] = set()
    book = CalamineWorkbook.from_path(str(out))
    try:
        names = book.sheet_names
    finally:
        book.close()
    for name in names:
        table = _table(out, name)
        if not table or "位置" not in table[0] or "文件" not in table[0]:
            continue
        for line in table:
            m = re.fullmatch(rf"{PROJECTS.name}!\$?[A-Z]+\$?(\d+)", str(line["位置"]))
            if m and str(line["文件"]).endswith(file):
                listed.add(int(m.group(1)))
    lost = [r for r in range(2, rows + 2) if r not in accepted | listed]
    assert not lost, f"rows lost: {lost}"


def _saved_at(path: Path, when: dt.datetime | None) -> Path:
    """Rewrite docProps/core.xml as an application's save does: ``dcterms:modified`` set
    to ``when`` (UTC, W3CDTF), or removed (``None``: a file that does not say)."""
    with zipfile.ZipFile(path) as zf:
        members = [(i, zf.read(i.filename)) for i in zf.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zw:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                stamp = "" if when is None else (
                    '<dcterms:modified xsi:type="dcterms:W3CDTF">'
                    f'{when.astimezone(dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ}</dcterms:modified>')
                data = re.sub(rb"<dcterms:modified[^>]*>[^<]*</dcterms:modified>",
                              stamp.encode(), data)
            zw.writestr(info, data)
    path.write_bytes(out.getvalue())
    return path


def _core(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("docProps/core.xml")


def _town_book(path: Path, rows: int, town: str = "dingyan", prefix: str = "项目") -> Path:
    """A town workbook with ``rows`` project rows and no 错误 (named ``prefix``NNNNN)."""
    entries: dict[str, Any] = make_rows(rows)
    for row in entries["project"]:
        row["name"] = row["name"].replace("项目", prefix)
    if _ASKS_GUIDE:  # standard 2's 填报说明 asks for 填报人, 联系电话, 数据截至日期
        entries["guide"] = [{"reporter": "张三", "phone": "13800000000",
                             "as_of": dt.date(2023, 6, 30)}]
    return build(path, entries, town=town)


try:
    import xlz.core.guideinfo  # noqa: F401
    _ASKS_GUIDE = True
except ImportError:  # standard 1
    _ASKS_GUIDE = False


def _mtime(path: Path, when: dt.datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


T0 = dt.datetime(2023, 3, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))

# ------------------------------------------------------------- 1. which file is newest


def test_an_old_file_validated_in_place_does_not_win(tmp_path: Path) -> None:
    """The clerk saved 初稿 on 3-01 and 终稿 on 3-05 (Excel's save time); the office then
    validated 初稿 in place, so its file time is the newest. 终稿 counts."""
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    _other_towns(inbox, "dingyan")
    draft = _saved_at(_town_book(inbox / "丁堰镇_初稿.xlsx", 3), T0)
    final = _saved_at(_town_book(inbox / "丁堰镇_终稿.xlsx", 5), T0 + dt.timedelta(days=4))
    _mtime(final, T0 + dt.timedelta(days=5))
    core = _core(draft)
    code, output = _run("validate", str(draft))  # in place: the file time moves on
    assert code == 0, output
    assert _core(draft) == core  # an in-place write keeps the application's save time
    assert draft.stat().st_mtime > final.stat().st_mtime

    code, output, out = _consolidate(tmp_path, inbox)
    assert code == 0, output
    status = _status(out, "丁堰镇")
    assert status["文件"].endswith("丁堰镇_终稿.xlsx")
    assert status["时间依据"].startswith("保存时间 2023-03-05")
    assert "丁堰镇_初稿.xlsx" in status["被替换的文件"]
    assert "⚠" not in status["时间依据"]
    assert "file.order_uncertain" not in {i["规则代码"] for i in _issues(out)}
    assert sorted(_project_names(out, "丁堰镇")) == [f"项目{i:05d}" for i in range(5)]
    _rows_kept(out, "丁堰镇_终稿.xlsx", 5)
    _rows_kept(out, "丁堰镇_初稿.xlsx", 3)


def _eml(attachments: list[tuple[str, bytes]], date: dt.datetime) -> bytes:
    """An e-mail as Outlook writes it: RFC 2047 subject, base64 attachments with
    RFC 2231 names, a Date header."""
    boundary = "----=_NextPart_000_0001_01D9"
    head = (f"From: clerk@rugao.gov.cn\r\nTo: city@rugao.gov.cn\r\n"
            f"Subject: =?utf-8?B?{base64.b64encode('报送'.encode()).decode()}?=\r\n"
            f"Date: {date.strftime('%a, %d %b %Y %H:%M:%S %z')}\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n见附件\r\n")
    parts = [head.encode()]
    for name, data in attachments:
        quoted = "".join(f"%{b:02X}" for b in name.encode())
        parts.append(
            (f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
             f"Content-Transfer-Encoding: base64\r\n"
             f"Content-Disposition: attachment; filename*=utf-8''{quoted}\r\n\r\n").encode()
            + base64.encodebytes(data).replace(b"\n", b"\r\n"))
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


def _zip(name: str, data: bytes, when: dt.datetime) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zw:
        info = zipfile.ZipInfo(name, when.timetuple()[:6])
        info.flag_bits |= 0x800
        zw.writestr(info, data)
    return out.getvalue()


def test_an_email_pair_is_ordered_by_its_date_headers(tmp_path: Path) -> None:
    """Two e-mails of one town, each with a zipped workbook that carries no save time:
    the e-mail's Date (3-08 over 3-05) decides, not the zip member's own time (which the
    earlier mail's archiver set later) nor the .eml's file time."""
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    _other_towns(inbox, "dingyan")
    first = _saved_at(_town_book(tmp_path / "a.xlsx", 3), None).read_bytes()
    second = _saved_at(_town_book(tmp_path / "b.xlsx", 4), None).read_bytes()
    early = inbox / "丁堰镇报送.eml"
    late = inbox / "丁堰镇报送（更正）.eml"
    early.write_bytes(_eml([("丁堰镇.zip", _zip("丁堰镇.xlsx", first, dt.datetime(2023, 3, 10)))],
                           T0 + dt.timedelta(days=4)))
    late.write_bytes(_eml([("丁堰镇.zip", _zip("丁堰镇.xlsx", second, dt.datetime(2023, 3, 1)))],
                          T0 + dt.timedelta(days=7)))
    _mtime(early, T0 + dt.timedelta(days=20))  # copied into the inbox later
    _mtime(late, T0 + dt.timedelta(days=10))
    code, output, out = _consolidate(tmp_path, inbox)
    assert code == 0, output
    status = _status(out, "丁堰镇")
    assert "（更正）.eml" in status["文件"]
    assert status["时间依据"].startswith("邮件日期 2023-03-08")
    assert "⚠" not in status["时间依据"]
    assert sorted(_project_names(out, "丁堰镇")) == [f"项目{i:05d}" for i in range(4)]


def test_a_tie_or_the_file_time_is_printed_and_marked(tmp_path: Path) -> None:
    """Two different files saved in the same second: the choice is settled by name, but
    said in the terminal, marked in 报送情况 and listed on 问题清单. The same for two
    files that carry no save time (the file time decides)."""
    tie = tmp_path / "收件箱"
    tie.mkdir()
    _other_towns(tie, "dingyan")
    for name, rows in (("丁堰镇A.xlsx", 3), ("丁堰镇B.xlsx", 4)):
        _mtime(_saved_at(_town_book(tie / name, rows), T0), T0 + dt.timedelta(days=1))
    code, output, out = _consolidate(tmp_path, tie)
    assert code == 0, output
    assert "⚠" in output and "先后" in output and "时间完全相同" in output
    status = _status(out, "丁堰镇")
    assert status["时间依据"].startswith("⚠ 先后无法确定")
    found = [i for i in _issues(out) if i["规则代码"] == "file.order_uncertain"]
    assert len(found) == 1 and found[0]["严重程度"] == "提醒"
    _rows_kept(out, "丁堰镇A.xlsx", 3)
    _rows_kept(out, "丁堰镇B.xlsx", 4)

    by_file_time = tmp_path / "收件箱2"
    by_file_time.mkdir()
    _other_towns(by_file_time, "dingyan")
    for name, rows, day in (("丁堰镇旧.xlsx", 3, 1), ("丁堰镇新.xlsx", 4, 2)):
        _mtime(_saved_at(_town_book(by_file_time / name, rows), None),
               T0 + dt.timedelta(days=day))
    code, output, out = _consolidate(tmp_path, by_file_time)
    assert code == 0, output
    assert "只能按文件时间判断" in output
    status = _status(out, "丁堰镇")
    assert status["文件"].endswith("丁堰镇新.xlsx")
    assert status["时间依据"].startswith("⚠ 先后无法确定")
    assert "file.order_uncertain" in {i["规则代码"] for i in _issues(out)}


def test_a_name_naming_another_town_is_said_aloud(tmp_path: Path) -> None:
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    _other_towns(inbox, "dingyan")
    _town_book(inbox / "白蒲镇报送.xlsx", 3)  # 丁堰镇's workbook under 白蒲镇's name
    code, output, out = _consolidate(tmp_path, inbox)
    assert code == 0, output
    assert "⚠" in output and "白蒲镇报送.xlsx" in output and "丁堰镇" in output
    assert "file.name_other_town" in {i["规则代码"] for i in _issues(out)}
    assert _status(out, "丁堰镇")["报送状态"] == "已报送"


@pytest.mark.libreoffice
def test_libreoffice_saves_order_the_submissions(tmp_path: Path) -> None:
    """The clerk edits and saves in LibreOffice twice (an .ods first, an .xlsx later);
    the older file is then copied (its file time the newest). LibreOffice's own save
    times (meta.xml dc:date, core.xml dcterms:modified) decide."""
    from tests.lo.harness import fill_and_save

    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    _other_towns(inbox, "dingyan")
    template = _town_book(tmp_path / "模板.xlsx", 3)
    note = cell_ref(2, [c.key for c in PROJECTS.columns].index("note"))
    older = inbox / "丁堰镇（旧）.ods"
    newer = inbox / "丁堰镇.xlsx"
    fill_and_save(template, [{"cell": f"项目信息!{note}", "value": "第一版"}], older)
    fill_and_save(template, [{"cell": f"项目信息!{note}", "value": "第二版"}], newer)
    _mtime(older, dt.datetime.now().astimezone() + dt.timedelta(hours=1))
    code, output, out = _consolidate(tmp_path, inbox)
    assert code == 0, output
    status = _status(out, "丁堰镇")
    assert status["文件"].endswith("丁堰镇.xlsx"), status
    assert status["时间依据"].startswith("保存时间"), status
    assert "丁堰镇（旧）.ods" in status["被替换的文件"]
    notes = [r["备注"] for r in _table(out, L.CITY_PROJECTS)
             if r.get("备注") and r["镇区"] == "丁堰镇"]
    assert notes == ["第二版"]


# ------------------------------------------------------------- 2. attachment names


def _foxmail(name: str, data: bytes, date: dt.datetime) -> bytes:
    """An e-mail as Foxmail (and old Outlook) sends it from Chinese Windows: the
    attachment name as raw 8-bit GBK, no encoding declared on it, the body in GB2312."""
    raw = name.encode("gbk")
    return (b"From: clerk@rugao.gov.cn\r\nTo: city@rugao.gov.cn\r\nSubject: report\r\n"
            + f"Date: {date.strftime('%a, %d %b %Y %H:%M:%S %z')}\r\n".encode()
            + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="=====001_Dragon"\r\n\r\n'
            + b'--=====001_Dragon\r\nContent-Type: text/plain; charset="GB2312"\r\n\r\n'
            + "附件是报表".encode("gbk") + b"\r\n"
            + b"--=====001_Dragon\r\nContent-Type: application/octet-stream; name=\"" + raw
            + b"\"\r\nContent-Transfer-Encoding: base64\r\n"
            + b"Content-Disposition: attachment; filename=\"" + raw + b"\"\r\n\r\n"
            + base64.encodebytes(data).replace(b"\n", b"\r\n")
            + b"--=====001_Dragon--\r\n")


def test_mailer_attachment_names_are_decoded_and_made_safe(tmp_path: Path) -> None:
    """An Outlook-style RFC 2231 name carrying ``%00`` (and a path), beside a good
    attachment in the same mail, and a Foxmail raw-GBK name: all three are read, shown
    by their decoded, safe names; nothing stops the run."""
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    _other_towns(inbox, "dingyan", "baipu", "jiuhua")
    dingyan = _town_book(tmp_path / "d.xlsx", 3).read_bytes()
    baipu = _town_book(tmp_path / "b.xlsx", 2, town="baipu", prefix="白蒲").read_bytes()
    jiuhua = _town_book(tmp_path / "j.xlsx", 2, town="jiuhua", prefix="九华").read_bytes()
    (inbox / "丁堰镇.eml").write_bytes(
        _eml([("..\\..\\丁堰镇\x00报表.xlsx", dingyan), ("九华镇.xlsx", jiuhua)], T0))
    # The same bytes through the %-encoding a mailer writes for NUL: %00.
    assert b"%00" in (inbox / "丁堰镇.eml").read_bytes()
    (inbox / "白蒲镇.eml").write_bytes(_foxmail("白蒲镇科技招商填报表.xlsx", baipu, T0))

    code, output, out = _consolidate(tmp_path, inbox)
    assert code == 0, output
    shown = _status(out, "丁堰镇")["文件"]
    assert shown == "收件箱/丁堰镇.eml › 丁堰镇报表.xlsx"
    assert "\x00" not in shown and ".." not in shown and "\\" not in shown
    assert _status(out, "九华镇")["报送状态"] == "已报送"
    assert _status(out, "白蒲镇")["文件"] == "收件箱/白蒲镇.eml › 白蒲镇科技招商填报表.xlsx"
    assert "\ufffd" not in output
    assert not [i for i in _issues(out) if i["严重程度"] == "错误"]
    _rows_kept(out, "丁堰镇报表.xlsx", 3)
    _rows_kept(out, "白蒲镇科技招商填报表.xlsx", 2)
    _rows_kept(out, "九华镇.xlsx", 2)
    assert len(_project_names(out)) == 7 + 10


def test_a_broken_attachment_is_one_line_and_the_run_goes_on(tmp_path: Path) -> None:
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    _other_towns(inbox, "dingyan")
    good = _town_book(tmp_path / "d.xlsx", 3).read_bytes()
    (inbox / "丁堰镇.eml").write_bytes(
        _eml([("坏的.zip", b"PK\x03\x04 not an archive"), ("丁堰镇.xlsx", good)], T0))
    code, output, out = _consolidate(tmp_path, inbox)
    assert code == 1, output  # one source failed: said, and counted
    assert _status(out, "丁堰镇")["报送状态"] == "已报送"
    broken = [i for i in _issues(out) if "坏的.zip" in str(i["文件"])]
    assert len(broken) == 1 and broken[0]["规则代码"] == "file.unreadable"
    assert len(_project_names(out, "丁堰镇")) == 3


# ------------------------------------------------------------- 3. text over a cell


def test_text_over_an_excel_cell_is_a_finding_not_cut(tmp_path: Path) -> None:
    """A 备注 of 40,000 characters (pasted in WPS or LibreOffice, which take it):
    ``validate`` says so, and consolidation keeps the file out with the same code on
    问题清单 naming file, sheet and cell — the city workbook never cuts it silently."""
    from xlz.io.inplace import patch_package
    from xlz.ooxml.sheetxml import Text

    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    _other_towns(inbox, "dingyan")
    town = _town_book(inbox / "丁堰镇.xlsx", 3)
    note = cell_ref(3, [c.key for c in PROJECTS.columns].index("note"))
    patch_package(town, {PROJECTS.name: {note: Text("长" * 40_000)}})

    before = _digests(town)
    code, output = _run("validate", "--check", "--json", str(town))
    assert code == 1, output
    assert "workbook.cell.too_long" in output
    assert _digests(town) == before  # --check writes nothing

    code, output, out = _consolidate(tmp_path, inbox)
    assert code == 1, output  # the town's file does not count: its rows are listed
    found = [i for i in _issues(out) if i["规则代码"] == "workbook.cell.too_long"]
    assert len(found) == 1
    line = found[0]
    assert line["位置"] == f"{PROJECTS.name}!{note}"
    assert "丁堰镇.xlsx" in line["问题说明"] and "40000" in line["问题说明"]
    assert str(CELL_TEXT_LIMIT) in line["问题说明"]
    assert len(str(line["填写内容"])) < 200
    _rows_kept(out, "丁堰镇.xlsx", 3)
    # Nothing anywhere in the city workbook was cut at the limit.
    book = CalamineWorkbook.from_path(str(out))
    try:
        for name in book.sheet_names:
            for row in book.get_sheet_by_name(name).to_python():
                assert all(len(str(v)) < CELL_TEXT_LIMIT for v in row)
    finally:
        book.close()

"""Sources: folders, zip archives (GBK names) and saved emails (RFC 2047 / 2231 names)
into bounded submissions."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest

from xlz.io.inbox import (
    Expander,
    Limits,
    SourceProblem,
    Submission,
    check_container,
)
from xlz.ops.demo import eml_bytes, gbk_zip_bytes

TZ = dt.timezone(dt.timedelta(hours=8))
NAME = "丁堰镇科技招商填报表（终稿）.xlsx"


CONTENT: dict[str, bytes] = {}


def expand(*sources: Path, limits: Limits | None = None
           ) -> tuple[list[Submission], list[SourceProblem]]:
    with Expander(limits or Limits()) as ex:
        items = list(ex.expand(sources))
        subs = [i for i in items if isinstance(i, Submission)]
        for s in subs:  # the temp copy exists only while the expander is open
            CONTENT[s.name] = s.path.read_bytes()
        return subs, [i for i in items if isinstance(i, SourceProblem)]


def test_zip_with_gbk_names_no_utf8_flag(tmp_path: Path) -> None:
    when = dt.datetime(2023, 12, 20, 9, 30)
    archive = tmp_path / "报送.zip"
    archive.write_bytes(gbk_zip_bytes([(f"丁堰镇/{NAME}", b"PK\x03\x04data")], when))
    with zipfile.ZipFile(archive) as zf:
        assert not zf.infolist()[0].flag_bits & 0x800  # really GBK, as WinRAR writes it
    subs, problems = expand(archive)
    assert not problems
    assert [s.name for s in subs] == [f"{archive} › 丁堰镇/{NAME}"]
    assert subs[0].path.name == NAME
    assert subs[0].received.replace(tzinfo=None) == when
    assert subs[0].received_from == "压缩包时间"


def test_zip_with_utf8_flag(tmp_path: Path) -> None:
    archive = tmp_path / "utf8.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(NAME, b"x")
    subs, _ = expand(archive)
    assert subs[0].name.endswith(f" › {NAME}")


@pytest.mark.parametrize("charset", ["GBK", "GB18030", "UTF-8"])
@pytest.mark.parametrize("style", ["rfc2231", "rfc2047"])
def test_eml_attachment_names_and_date(tmp_path: Path, charset: str, style: str) -> None:
    date = dt.datetime(2023, 6, 30, 17, 5, tzinfo=TZ)
    mail = tmp_path / "邮件.eml"
    mail.write_bytes(eml_bytes("报送", date, [(NAME, b"PK\x03\x04abc")], name_style=style,
                               charset=charset))
    subs, problems = expand(mail)
    assert not problems
    assert [s.name for s in subs] == [f"{mail} › {NAME}"]
    assert subs[0].received == date
    assert subs[0].received_from == "邮件日期"
    assert CONTENT[subs[0].name] == b"PK\x03\x04abc"


def test_eml_without_attachment_is_a_problem(tmp_path: Path) -> None:
    mail = tmp_path / "忘带附件.eml"
    mail.write_bytes(eml_bytes("报送", dt.datetime(2023, 6, 30, tzinfo=TZ), []))
    subs, problems = expand(mail)
    assert not subs
    assert [p.code for p in problems] == ["file.email_no_attachment"]


def test_folder_is_walked_recursively_and_skips_lock_files(tmp_path: Path) -> None:
    inbox = tmp_path / "收件箱"
    (inbox / "子文件夹").mkdir(parents=True)
    (inbox / "a.xlsx").write_bytes(b"a")
    (inbox / "子文件夹" / "b.xls").write_bytes(b"b")
    (inbox / "~$a.xlsx").write_bytes(b"lock")
    (inbox / "说明.txt").write_text("not ours")
    subs, problems = expand(inbox)
    assert not problems
    assert [s.name for s in subs] == ["收件箱/a.xlsx", "收件箱/子文件夹/b.xls"]
    assert subs[0].path == inbox / "a.xlsx"  # plain files are read where they lie


def _bomb(size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf, \
            zf.open("炸弹.xlsx", "w") as member:
        chunk = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            member.write(chunk)
    return buffer.getvalue()


def test_zip_bomb_is_refused_early(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(_bomb(64 << 20))  # ~64 KB on disk, 64 MB inflated
    subs, problems = expand(archive, limits=Limits(ratio_floor=4 << 20))
    assert not subs
    assert [p.code for p in problems] == ["file.archive_limit"]
    assert "压缩比" in problems[0].reason


def test_nested_zip_depth_is_bounded(tmp_path: Path) -> None:
    data = b"PK\x03\x04inner"
    name = "a.xlsx"
    for level in range(5):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr(name, data)
        data, name = buffer.getvalue(), f"level{level}.zip"
    archive = tmp_path / "nested.zip"
    archive.write_bytes(data)
    subs, problems = expand(archive)
    assert not subs
    assert problems[0].code == "file.archive_limit"


def test_corrupt_zip_is_a_problem(tmp_path: Path) -> None:
    archive = tmp_path / "坏.zip"
    archive.write_bytes(b"PK\x03\x04 truncated")
    subs, problems = expand(archive)
    assert not subs and problems[0].code == "file.unreadable"


def test_check_container_refuses_xml_dtd_and_bombs() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + b"".join(b'<!ENTITY lol%d "&lol%d;&lol%d;">' % (i, i - 1, i - 1)
                         for i in range(1, 10)) + b"]><worksheet>&lol9;</worksheet>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("xl/worksheets/sheet1.xml", laughs)
    problem = check_container(buffer.getvalue())
    # Not "too large": the message names the real cause (issue 11).
    assert problem is not None and problem[0] == "file.unsafe_xml" and "DTD" in problem[1]
    problem = check_container(_bomb(64 << 20), Limits(ratio_floor=4 << 20))
    assert problem is not None and "压缩" in problem[1]
    assert check_container(b"not a zip") is not None


def test_temporary_copies_are_removed(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(gbk_zip_bytes([(NAME, b"x")], dt.datetime(2023, 1, 1)))
    with Expander() as ex:
        subs = [i for i in ex.expand([archive]) if isinstance(i, Submission)]
        spilled = subs[0].path
        assert spilled.exists()
    assert not spilled.exists()


def test_the_output_in_the_inbox_is_not_read_back(tmp_path: Path) -> None:
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    (inbox / "a.xlsx").write_bytes(b"a")
    (inbox / "汇总.xlsx").write_bytes(b"last week's city workbook")
    with Expander(exclude=[inbox / "汇总.xlsx"]) as ex:
        names = [i.name for i in ex.expand([inbox])]
    assert names == ["收件箱/a.xlsx"]

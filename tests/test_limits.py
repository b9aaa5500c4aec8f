"""One set of zip/XML bomb caps (xlz.ooxml.limits.Limits) and one guard
(xlz.ooxml.guard.guard_package) on every path: the format sniff, the reader behind
``validate``/``fill``, the in-place writer and the consolidation inbox (issues 10, 11)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.xlz_books import build
from xlz.core.errors import InputError
from xlz.io import inbox
from xlz.io.inbox import Expander, Submission, inspect_container
from xlz.io.inplace import patch_package
from xlz.io.intake import classify
from xlz.io.read import read_workbook
from xlz.ooxml import ziprecords as zr
from xlz.ooxml.limits import DEFAULT_LIMITS, Limits
from xlz.ooxml.sheetxml import Text
from xlz.ops.consolidate import read_input
from xlz.ops.workbook import validate


def _replace_part(src: Path, dest: Path, name: str, content: bytes | None = None,
                  padding: int = 0) -> Path:
    """``src`` with part ``name`` replaced by ``content`` followed by ``padding`` MB of
    spaces (streamed, so a test never holds the inflated bomb)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != name:
                zout.writestr(info, zin.read(info))
                continue
            with zout.open(name, "w", force_zip64=True) as fh:
                fh.write(zin.read(name) if content is None else content)
                chunk = b" " * (1 << 20)
                for _ in range(padding):
                    fh.write(chunk)
    return dest


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("town") / "丁堰镇.xlsx")


def _bounded(call: Callable[[], object]) -> tuple[float, int]:
    """Seconds and peak Python memory of ``call()`` (an InputError is what we expect)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        call()
    except InputError:
        pass
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return elapsed, peak


def test_limits_is_one_public_frozen_type() -> None:
    assert inbox.Limits is Limits and inbox.DEFAULT_LIMITS is DEFAULT_LIMITS
    assert Limits.__doc__ and "ratio" in Limits.__doc__
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.ratio = 1  # type: ignore[misc]
    assert {f.name for f in dataclasses.fields(Limits)} == {
        "member_bytes", "total_bytes", "ratio", "ratio_floor", "members", "depth"}


def test_content_types_bomb_sniffed_in_bounded_memory(town: Path, tmp_path: Path) -> None:
    """Issue 11: a [Content_Types].xml that inflates to 300 MB made the sniff read all of
    it. The sniff reads its start; the reader's guard then refuses the file."""
    with zipfile.ZipFile(town) as zf:
        types = zf.read("[Content_Types].xml")
    bomb = _replace_part(town, tmp_path / "bomb.xlsx", "[Content_Types].xml",
                         types.replace(b"</Types>", b""), padding=300)
    assert bomb.stat().st_size < 4 << 20
    seconds, peak = _bounded(lambda: classify(bomb))
    assert classify(bomb) == "xlsx"
    assert peak < 16 << 20 and seconds < 5
    with pytest.raises(InputError) as caught:
        read_workbook(bomb)
    assert caught.value.code == "file.too_large"


def test_validate_and_consolidate_refuse_alike(town: Path, tmp_path: Path) -> None:
    """Issue 11: one policy. A sheet padded to 9 MB of spaces (ratio far above 200:1) is
    refused by validate's reader, the in-place writer and consolidation with the same
    rule and reason; nothing is written."""
    bomb = _replace_part(town, tmp_path / "big.xlsx", "xl/worksheets/sheet2.xml", padding=9)
    before = hashlib.sha256(bomb.read_bytes()).hexdigest()
    seconds, peak = _bounded(lambda: validate(bomb))
    assert seconds < 10 and peak < 64 << 20
    with pytest.raises(InputError) as by_validate:
        validate(bomb)
    with pytest.raises(InputError) as by_writer:
        patch_package(bomb, {"项目信息": {"A2": Text("x")}})
    seen = read_input(Submission("big.xlsx", bomb, before, None, "文件时间", 0))  # type: ignore[arg-type]
    assert by_validate.value.code == by_writer.value.code == seen.error_code == "file.too_large"
    assert by_validate.value.message == by_writer.value.message == seen.error_message
    assert "压缩比" in by_validate.value.message
    assert hashlib.sha256(bomb.read_bytes()).hexdigest() == before


def test_lying_header_is_counted_by_what_inflates(town: Path, tmp_path: Path) -> None:
    """The declared size of a part proves nothing: the guard counts inflated bytes."""
    bomb = _replace_part(town, tmp_path / "liar.xlsx", "xl/styles.xml", padding=12)
    data = bytearray(bomb.read_bytes())
    end = zr.end_record(data, data.rfind(zr.EOCD_MAGIC))
    pos = end.directory_offset
    for _ in range(end.entries):  # the central record of xl/styles.xml says: 1 KB
        record = zr.central_record(data, pos)
        name = bytes(data[pos + zr.CENTRAL.size:pos + zr.CENTRAL.size + record.name_length])
        if name == b"xl/styles.xml":
            data[pos + 24:pos + 28] = (1024).to_bytes(4, "little")
        pos += zr.CENTRAL.size + record.name_length + record.extra_length \
            + record.comment_length
    bomb.write_bytes(bytes(data))
    problem = inspect_container(bomb).problem
    assert problem is not None and problem[0] == "file.too_large"


def test_dtd_refused_by_every_path(town: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(town) as zf:
        workbook = zf.read("xl/workbook.xml")
    dtd = workbook.replace(b"?>", b'?><!DOCTYPE workbook [<!ENTITY a "aaaa">]>', 1)
    bad = _replace_part(town, tmp_path / "dtd.xlsx", "xl/workbook.xml", dtd)
    with pytest.raises(InputError) as by_reader:
        read_workbook(bad)
    with pytest.raises(InputError) as by_writer:
        patch_package(bad, {"项目信息": {"A2": Text("x")}})
    assert by_reader.value.code == by_writer.value.code == "file.unsafe_xml"
    assert inspect_container(bad).problem[0] == "file.unsafe_xml"  # type: ignore[index]
    assert "DTD" in by_reader.value.message


def _stored_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_nested_archives_share_one_budget(tmp_path: Path) -> None:
    """Issue 11: each nested level got a fresh budget, so a fan-out of archives inside
    archives wrote far more than the cap to the temp folder. One budget per source."""
    limits = Limits(member_bytes=3 << 20, total_bytes=5 << 20)
    workbook = b"PK\x03\x04" + bytes(2 << 20)  # 2 MB each
    inner = _stored_zip({"a.xlsx": workbook})  # a bit over 2 MB
    outer = tmp_path / "fan.zip"
    outer.write_bytes(_stored_zip({f"{i}.zip": inner for i in range(3)}))
    with Expander(limits) as expander:
        items = list(expander.expand([outer]))
    subs = [i for i in items if isinstance(i, Submission)]
    assert sum(s.size for s in subs) <= limits.total_bytes
    assert len(subs) < 3 and any(getattr(i, "code", "") == "file.archive_limit" for i in items)


def test_properties_alone_inflate_only_their_part(town: Path, tmp_path: Path) -> None:
    """file_properties (the check of an existing city workbook at --out, the add-in's
    identity) reads one small part: only that part is inflated, under the same caps —
    a huge sheet elsewhere is neither inflated nor a reason to fail — while the archive's
    part count and encryption flags are checked as always, and the properties part
    itself is still refused when it is a bomb or carries a DTD."""
    from xlz.io.read import file_properties
    from xlz.ooxml.guard import guard_package
    from xlz.ooxml.limits import GuardError

    expected = file_properties(town)
    assert expected and expected["xlz.template"] == "town"
    big = _replace_part(town, tmp_path / "big.xlsx", "xl/worksheets/sheet2.xml", padding=9)
    with pytest.raises(GuardError):
        guard_package(big)  # the whole package: refused (ratio)
    _, peak = _bounded(lambda: file_properties(big))
    assert file_properties(big) == expected
    assert peak < 4 << 20  # the 9 MB sheet was never inflated
    only = guard_package(big, keep=("docProps/custom.xml",),
                         only="docProps/custom.xml".__eq__)
    assert set(only.parts) == {"docProps/custom.xml"}
    bomb = _replace_part(town, tmp_path / "props-bomb.xlsx", "docProps/custom.xml",
                         padding=9)
    assert file_properties(bomb) is None
    with zipfile.ZipFile(town) as zf:
        custom = zf.read("docProps/custom.xml")
    dtd = _replace_part(town, tmp_path / "props-dtd.xlsx", "docProps/custom.xml",
                        custom.replace(b"?>", b'?><!DOCTYPE p [<!ENTITY a "a">]>', 1))
    assert file_properties(dtd) is None
    encrypted = bytearray(big.read_bytes())
    end = zr.end_record(encrypted, encrypted.rfind(zr.EOCD_MAGIC))
    flags = end.directory_offset + 8  # the first central record's general purpose flags
    encrypted[flags] |= 1
    (tmp_path / "enc.xlsx").write_bytes(bytes(encrypted))
    assert file_properties(tmp_path / "enc.xlsx") is None

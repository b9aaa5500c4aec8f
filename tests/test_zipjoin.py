"""The zip the city workbook's big part goes through: deflate pieces joined end to end."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from xlz.ooxml.zipjoin import (
    Part,
    crc32_combine,
    crc32_combine_by_zeros,
    deflate_segment,
    join,
    parts_of,
    write_zip,
)


@settings(max_examples=200)
@given(st.binary(max_size=3000), st.binary(max_size=3000))
def test_crc32_combine_is_zlibs(a: bytes, b: bytes) -> None:
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@settings(max_examples=100)
@given(st.binary(max_size=3000), st.binary(max_size=3000))
def test_the_fallback_without_isal_combines_the_same(a: bytes, b: bytes) -> None:
    assert crc32_combine_by_zeros(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_the_fallback_handles_pieces_longer_than_its_zero_buffer() -> None:
    a, b = b"head", bytes(range(256)) * 9000  # 2.3 MB: three rounds of the 1 MB buffer
    assert crc32_combine_by_zeros(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@settings(max_examples=50)
@given(st.lists(st.binary(max_size=20000), max_size=6))
def test_joined_pieces_inflate_to_the_whole(pieces: list[bytes]) -> None:
    segments = [deflate_segment([p], final=False) for p in pieces]
    whole = join([*segments, deflate_segment([b"</end>"], final=True)])
    expected = b"".join(pieces) + b"</end>"
    assert zlib.decompress(whole.data, -zlib.MAX_WBITS) == expected
    assert (whole.crc, whole.size) == (zlib.crc32(expected), len(expected))


def test_written_zip_reads_back_and_copies_parts_unchanged(tmp_path: Path) -> None:
    source = tmp_path / "a.zip"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>" * 50)
        zf.writestr("xl/工作表.xml", "中文内容".encode() * 1000)
    parts = parts_of(source)
    big = join([deflate_segment([b"x" * 100_000], final=False),
                deflate_segment([b"y"], final=True)])
    parts["xl/big.xml"] = Part(zipfile.ZipInfo("xl/big.xml", (1980, 1, 1, 0, 0, 0)),
                               big.data, big.crc, big.size)
    out = tmp_path / "b.zip"
    write_zip(out, list(parts.values()))
    with zipfile.ZipFile(out) as zf, zipfile.ZipFile(source) as original:
        assert zf.testzip() is None
        assert zf.namelist() == ["[Content_Types].xml", "xl/工作表.xml", "xl/big.xml"]
        for name in original.namelist():
            assert zf.read(name) == original.read(name)
        assert zf.read("xl/big.xml") == b"x" * 100_000 + b"y"

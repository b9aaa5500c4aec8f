"""Inflate zip members straight from the archive's bytes, chunk by chunk.

The package guard (:func:`xlz.ooxml.guard.guard_package`) inflates every part of
every workbook before a reader may touch it, because a zip bomb's declared sizes lie.
``zipfile.ZipFile.open`` costs ~50 µs of Python per part on top of zlib; a town
workbook has ~20 parts and the consolidation benchmark 500 workbooks, so the guard
slices each member out of one buffer and drives ``zlib`` itself — about half the time,
and the same checks: CRC, truncated streams, unsupported methods.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from typing import Final

from xlz.ooxml import ziprecords as zr
from xlz.ooxml.deflate import zlib

CHUNK: Final = 1 << 20


def compressed_bytes(buf: bytes | memoryview, info: zipfile.ZipInfo) -> bytes | memoryview:
    """A member's data as stored in the archive (still compressed)."""
    start = info.header_offset
    if start + zr.LOCAL.size > len(buf):
        raise zipfile.BadZipFile(f"{info.filename}: 文件被截断")
    try:
        header = zr.local_header(buf, start)
    except ValueError as exc:
        raise zipfile.BadZipFile(f"{info.filename}: 本地文件头损坏") from exc
    begin = start + zr.LOCAL.size + header.name_length + header.extra_length
    data = buf[begin:begin + info.compress_size]
    if len(data) < info.compress_size:
        raise zipfile.BadZipFile(f"{info.filename}: 文件被截断")
    return data


def member_chunks(buf: bytes | memoryview, info: zipfile.ZipInfo,
                  chunk: int = CHUNK) -> Iterator[bytes]:
    """The uncompressed bytes of one member, at most ``chunk`` at a time. The caller
    counts them (the declared size proves nothing). Raises ``zipfile.BadZipFile`` for a
    damaged header, stream or CRC and ``NotImplementedError`` for methods other than
    stored and deflated (the caller treats both as a damaged file)."""
    data = compressed_bytes(buf, info)
    crc = 0
    if info.compress_type == zipfile.ZIP_STORED:
        for i in range(0, len(data), chunk):
            out = bytes(data[i:i + chunk])
            crc = zlib.crc32(out, crc)
            yield out
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        pending: bytes | memoryview = data
        try:
            while True:
                out = inflater.decompress(pending, chunk)
                pending = inflater.unconsumed_tail
                if out:
                    crc = zlib.crc32(out, crc)
                    yield out
                if inflater.eof or (not out and not pending):
                    break
        except zlib.error as exc:
            raise zipfile.BadZipFile(f"{info.filename}: 压缩数据损坏（{exc}）") from exc
        if not inflater.eof:
            raise zipfile.BadZipFile(f"{info.filename}: 压缩数据不完整")
    else:
        raise NotImplementedError(f"{info.filename}: 不支持的压缩方式 {info.compress_type}")
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"{info.filename}: CRC 校验失败")

"""Inflate zip members straight from the archive's bytes, chunk by chunk.

The container guard (:func:`xlz.io.inbox.inspect_container`) inflates every part of
every workbook before a reader may touch it, because a zip bomb's declared sizes lie.
``zipfile.ZipFile.open`` costs ~50 µs of Python per part on top of zlib; a town
workbook has ~20 parts and the consolidation benchmark 500 workbooks, so the guard
slices each member out of one buffer and drives ``zlib`` itself — about half the time,
and the same checks: CRC, truncated streams, unsupported methods.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from typing import Final

from xlz.ooxml.deflate import zlib

_LOCAL_HEADER: Final = struct.Struct("<4s22xHH")  # signature … name length, extra length
_LOCAL_MAGIC: Final = b"PK\x03\x04"
CHUNK: Final = 1 << 20


def compressed_bytes(buf: bytes | memoryview, info: zipfile.ZipInfo) -> bytes | memoryview:
    """A member's data as stored in the archive (still compressed)."""
    start = info.header_offset
    header = bytes(buf[start:start + _LOCAL_HEADER.size])
    if len(header) < _LOCAL_HEADER.size:
        raise zipfile.BadZipFile(f"{info.filename}: 文件被截断")
    magic, name_len, extra_len = _LOCAL_HEADER.unpack(header)
    if magic != _LOCAL_MAGIC:
        raise zipfile.BadZipFile(f"{info.filename}: 本地文件头损坏")
    begin = start + _LOCAL_HEADER.size + name_len + extra_len
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

"""Build a zip from parts compressed elsewhere: deflate segments joined end to end.

The city workbook's 项目信息库 part is ~100 MB of XML for a 500-town inbox. It is
deflated in background threads, in pieces, while xlsxwriter writes the other sheets:
each piece is a raw deflate stream ended by a sync flush (byte-aligned, not final), so
pieces can simply be concatenated and closed by a final piece — how pigz compresses in
parallel. The CRC-32 of the whole is combined from the pieces' CRCs (zlib's
``crc32_combine``, which Python does not expose). :func:`write_zip` then writes a
standard zip from such parts and from parts copied byte for byte out of another zip.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from xlz.ooxml import ziprecords as zr
from xlz.ooxml.deflate import zlib

_LEVEL: Final = 1  # ~4x faster than the default on the big part, the file ~20 % larger
_LIMIT: Final = zr.ZIP64_LIMIT  # no zip64 here: a town inbox is nowhere near 4 GB


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of one raw deflate stream: its bytes, and the CRC-32 and size of what
    it inflates to."""

    data: bytes
    crc: int
    size: int


def deflate_segment(chunks: Iterable[bytes], *, final: bool) -> Segment:
    """Deflate ``chunks`` as one piece; only the last piece of a stream is ``final``."""
    packer = zlib.compressobj(_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    out: list[bytes] = []
    crc = size = 0
    for chunk in chunks:
        out.append(packer.compress(chunk))
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
    out.append(packer.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH))
    return Segment(b"".join(out), crc, size)


def join(segments: Sequence[Segment]) -> Segment:
    """One deflate stream from pieces in order (the last one final)."""
    crc = 0
    for s in segments:
        crc = crc32_combine(crc, s.crc, s.size)
    return Segment(b"".join(s.data for s in segments), crc, sum(s.size for s in segments))


# CRC-32 of A+B from crc(A), crc(B) and len(B): zlib's crc32_combine, by squaring the
# GF(2) matrix that appends one zero bit, then applying it len(B) * 8 times.
def _times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _square(matrix: list[int]) -> list[int]:
    return [_times(matrix, matrix[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    operator = [0xEDB88320] + [1 << n for n in range(31)]  # appends one zero bit
    for _ in range(3):
        operator = _square(operator)  # … one zero byte
    while len2 > 0:  # crc1 after len2 zero bytes, by repeated squaring
        if len2 & 1:
            crc1 = _times(operator, crc1)
        len2 >>= 1
        if len2:
            operator = _square(operator)
    return crc1 ^ crc2


@dataclass(frozen=True, slots=True)
class Part:
    """A member ready to be written: already compressed (or stored) data."""

    info: zipfile.ZipInfo  # name, date, attributes; its sizes and CRC are ignored
    data: bytes
    crc: int
    size: int
    method: int = zipfile.ZIP_DEFLATED


def parts_of(path: Path, keep: Iterable[str] | None = None) -> dict[str, Part]:
    """The members of a zip we wrote ourselves, still compressed, by name."""
    from xlz.ooxml.inflate import compressed_bytes

    buf = path.read_bytes()
    wanted = None if keep is None else set(keep)
    with zipfile.ZipFile(path) as zf:
        return {i.filename: Part(i, bytes(compressed_bytes(buf, i)), i.CRC, i.file_size,
                                 i.compress_type)
                for i in zf.infolist() if wanted is None or i.filename in wanted}


def inflated(part: Part) -> bytes:
    """A part's content (stored or deflated, as xlsxwriter writes them)."""
    if part.method == zipfile.ZIP_STORED:
        return part.data
    data: bytes = zlib.decompress(part.data, -zlib.MAX_WBITS)
    if zlib.crc32(data) != part.crc:
        raise zipfile.BadZipFile(f"{part.info.filename}: CRC 校验失败")
    return data


def write_zip(path: Path, parts: Sequence[Part]) -> None:
    """A plain zip (no data descriptors, no zip64) of ``parts`` in order."""
    central: list[bytes] = []
    offset = 0
    with open(path, "wb") as out:
        for p in parts:
            if len(p.data) > _LIMIT or p.size > _LIMIT or offset > _LIMIT:
                raise ValueError("zip64 would be needed")  # pragma: no cover - far off
            name = p.info.filename.encode("utf-8")
            flags = zr.UTF8_FLAG if not name.isascii() else 0
            dos_time, dos_date = zr.dos_datetime(*p.info.date_time)
            local = zr.pack_local(flags, p.method, dos_time, dos_date, p.crc, len(p.data),
                                  p.size, name)
            out.write(local)
            out.write(p.data)
            central.append(zr.pack_central(flags, p.method, dos_time, dos_date, p.crc,
                                           len(p.data), p.size, name, p.info.external_attr,
                                           offset))
            offset += len(local) + len(p.data)
        directory = b"".join(central)
        out.write(directory)
        out.write(zr.pack_end(len(parts), len(directory), offset))

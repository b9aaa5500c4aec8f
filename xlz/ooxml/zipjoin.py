"""Build a zip from parts compressed elsewhere: deflate segments joined end to end.

The city workbook's 项目信息库 part is ~100 MB of XML for a 500-town inbox. It is
deflated in background threads, in pieces, while xlsxwriter writes the other sheets:
each piece is a raw deflate stream ended by a sync flush (byte-aligned, not final), so
pieces can simply be concatenated and closed by a final piece — how pigz compresses in
parallel. The CRC-32 of the whole is combined from the pieces' CRCs (``crc32_combine``:
ISA-L's, which the standard library's zlib module does not expose). :func:`write_zip`
then writes a standard zip from such parts and from parts copied byte for byte out of
another zip.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Sequence
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


def crc32_combine_by_zeros(crc1: int, crc2: int, len2: int) -> int:
    """zlib's ``crc32_combine`` from plain ``crc32`` calls, for a platform without ISA-L.

    ``crc32(B, start)`` is affine in ``start`` with a linear part that depends only on
    ``len(B)``, so ``crc32(B, crc1) = crc2 ^ crc32(Z, crc1) ^ crc32(Z, 0)`` for ``Z``
    ``len(B)`` zero bytes. Linear in ``len2`` (~50 ms per 50 MB), which only the slow
    path pays."""
    zeros = bytes(min(len2, 1 << 20))
    from_crc1, from_zero, left = crc1, 0, len2
    while left:
        piece = zeros[:left] if left < len(zeros) else zeros
        from_crc1 = zlib.crc32(piece, from_crc1)
        from_zero = zlib.crc32(piece, from_zero)
        left -= len(piece)
    return crc2 ^ from_crc1 ^ from_zero


# CRC-32 of A+B from crc(A), crc(B) and len(B), which joining deflate pieces needs.
# ISA-L exposes zlib's O(log n) crc32_combine; Python's own zlib does not.
crc32_combine: Callable[[int, int, int], int] = getattr(
    zlib, "crc32_combine", crc32_combine_by_zeros)


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

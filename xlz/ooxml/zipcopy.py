"""Rewrite a zip package with a few parts replaced, copying every other part's bytes
exactly: local header, compressed data and data descriptor, in the original order.

Python's zipfile can only recompress; recompression changes bytes (and sometimes the
method) of parts we never meant to touch, which a fidelity check would rightly flag.
Zip64 packages (over 4 GB or 65,535 parts — never a town workbook) are refused.
"""

from __future__ import annotations

import struct
import time
import zlib
from typing import BinaryIO, Final

_LOCAL_SIG: Final = 0x04034B50
_CENTRAL_SIG: Final = 0x02014B50
_EOCD_SIG: Final = b"PK\x05\x06"
_DESCRIPTOR_SIG: Final = 0x08074B50
_LOCAL: Final = struct.Struct("<IHHHHHIIIHH")  # 30 bytes
_CENTRAL: Final = struct.Struct("<IHHHHHHIIIHHHHHII")  # 46 bytes
_EOCD: Final = struct.Struct("<4sHHHHIIH")  # 22 bytes
_DATA_DESCRIPTOR_FLAG: Final = 0x08
_UTF8_FLAG: Final = 0x800


class ZipLayoutError(ValueError):
    """The package uses a zip feature this copier does not handle (zip64, multi-disk)."""


def _eocd(data: bytes) -> tuple[int, int, int, bytes]:
    """(entries, central directory size, central directory offset, trailing comment)."""
    pos = data.rfind(_EOCD_SIG, max(0, len(data) - 65_557))
    if pos < 0:
        raise ZipLayoutError("no end-of-central-directory record")
    _, disk, cd_disk, n_disk, n_total, cd_size, cd_offset, clen = _EOCD.unpack_from(data, pos)
    if disk or cd_disk or n_disk != n_total:
        raise ZipLayoutError("multi-disk zip")
    if n_total == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        raise ZipLayoutError("zip64")
    return n_total, cd_size, cd_offset, data[pos + 22: pos + 22 + clen]


def _local_end(data: bytes, offset: int, compress_size: int, flags: int) -> int:
    """Where the local record at ``offset`` ends (after its data descriptor, if any)."""
    header = _LOCAL.unpack_from(data, offset)
    if header[0] != _LOCAL_SIG:
        raise ZipLayoutError(f"no local header at {offset}")
    nlen, xlen = int(header[9]), int(header[10])
    end: int = offset + _LOCAL.size + nlen + xlen + compress_size
    if flags & _DATA_DESCRIPTOR_FLAG:
        (maybe_sig,) = struct.unpack_from("<I", data, end)
        end += 16 if maybe_sig == _DESCRIPTOR_SIG else 12
    return end


def rewrite(data: bytes, replacements: dict[str, bytes], out: BinaryIO,
            level: int = 1) -> None:
    """Write ``data`` (a zip package) to ``out`` with the named parts' contents replaced.

    Every other part is copied byte for byte; replaced parts are deflated and keep their
    name, timestamps, attributes and position in the package. Level 1: worksheet XML
    compresses almost as well as at level 6 (repetitive markup) in a third of the time."""
    count, cd_size, cd_offset, comment = _eocd(data)
    pending = dict(replacements)
    central: list[bytes] = []
    written = 0
    pos = cd_offset
    for _ in range(count):
        fields = list(_CENTRAL.unpack_from(data, pos))
        if fields[0] != _CENTRAL_SIG:
            raise ZipLayoutError("bad central directory record")
        flags, csize, usize = fields[3], fields[8], fields[9]
        nlen, xlen, clen, offset = fields[10], fields[11], fields[12], fields[16]
        if 0xFFFFFFFF in (csize, usize, offset):
            raise ZipLayoutError("zip64 entry")
        name_bytes = data[pos + 46: pos + 46 + nlen]
        record_end = pos + 46 + nlen + xlen + clen
        name = name_bytes.decode("utf-8" if flags & _UTF8_FLAG else "cp437")
        if name in pending:
            content = pending.pop(name)
            compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
            packed = compressor.compress(content) + compressor.flush()
            crc = zlib.crc32(content)
            new_flags = flags & ~_DATA_DESCRIPTOR_FLAG & ~0x06  # normal deflate, no descriptor
            dos_time, dos_date = fields[5], fields[6]
            local = _LOCAL.pack(_LOCAL_SIG, 20, new_flags, 8, dos_time, dos_date, crc,
                                len(packed), len(content), nlen, 0) + name_bytes
            out.write(local)
            out.write(packed)
            fields[3:5] = [new_flags, 8]
            fields[7:10] = [crc, len(packed), len(content)]
            fields[11] = 0  # drop the central extra field (it may describe the old data)
            fields[16] = written
            central.append(_CENTRAL.pack(*fields) + name_bytes
                           + data[pos + 46 + nlen + xlen: record_end])
            written += len(local) + len(packed)
        else:
            end = _local_end(data, offset, csize, flags)
            out.write(data[offset:end])
            fields[16] = written
            central.append(_CENTRAL.pack(*fields) + data[pos + 46: record_end])
            written += end - offset
        pos = record_end
    if pos != cd_offset + cd_size:
        raise ZipLayoutError("central directory size mismatch")
    for name, content in pending.items():  # parts that did not exist before
        central.append(_append_new(out, name, content, written, level))
        written = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(_EOCD.pack(_EOCD_SIG, 0, 0, len(central), len(central), len(directory),
                         written, len(comment)) + comment)


def _append_new(out: BinaryIO, name: str, content: bytes, offset: int, level: int) -> bytes:
    now = time.localtime()
    dos_time = (now.tm_hour << 11) | (now.tm_min << 5) | (now.tm_sec // 2)
    dos_date = ((now.tm_year - 1980) << 9) | (now.tm_mon << 5) | now.tm_mday
    name_bytes = name.encode("utf-8")
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    packed = compressor.compress(content) + compressor.flush()
    crc = zlib.crc32(content)
    out.write(_LOCAL.pack(_LOCAL_SIG, 20, _UTF8_FLAG, 8, dos_time, dos_date, crc, len(packed),
                          len(content), len(name_bytes), 0) + name_bytes)
    out.write(packed)
    return _CENTRAL.pack(_CENTRAL_SIG, 20, 20, _UTF8_FLAG, 8, dos_time, dos_date, crc,
                         len(packed), len(content), len(name_bytes), 0, 0, 0, 0, 0,
                         offset) + name_bytes

"""The zip record layout (APPNOTE 4.3.7, 4.3.12, 4.3.16): the one place that knows the
byte layout of local headers, central directory records and the end record.

Every module that writes or slices zip bytes itself (:mod:`xlz.ooxml.zipcopy`,
:mod:`xlz.ooxml.zipjoin`, :mod:`xlz.ooxml.inflate`) packs and unpacks through these
structs, so a field can only be misplaced once. No zip64: a town workbook or a city
workbook is nowhere near 4 GB or 65,535 parts, and the writers refuse rather than
guess.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

LOCAL_SIG: Final = 0x04034B50
CENTRAL_SIG: Final = 0x02014B50
EOCD_SIG: Final = 0x06054B50
DESCRIPTOR_SIG: Final = 0x08074B50
LOCAL_MAGIC: Final = b"PK\x03\x04"
EOCD_MAGIC: Final = b"PK\x05\x06"

DATA_DESCRIPTOR_FLAG: Final = 0x08  # sizes and CRC follow the data
UTF8_FLAG: Final = 0x800  # the name is UTF-8 (else CP437, in practice often GBK)
ENCRYPTED_FLAG: Final = 0x01
ZIP64_LIMIT: Final = 0xFFFFFFFF
VERSION: Final = 20  # 2.0: deflate, the version every reader accepts

# signature, version needed, flags, method, time, date, crc, compressed size,
# uncompressed size, name length, extra length — then the name and the extra field.
LOCAL: Final = struct.Struct("<IHHHHHIIIHH")  # 30 bytes
# signature, version made by, version needed, flags, method, time, date, crc,
# compressed size, uncompressed size, name length, extra length, comment length,
# disk number, internal attributes, external attributes, local header offset.
CENTRAL: Final = struct.Struct("<IHHHHHHIIIHHHHHII")  # 46 bytes
# signature, this disk, directory's disk, entries on this disk, entries, directory
# size, directory offset, comment length.
EOCD: Final = struct.Struct("<IHHHHIIH")  # 22 bytes


class LocalHeader(NamedTuple):
    signature: int
    version: int
    flags: int
    method: int
    time: int
    date: int
    crc: int
    compressed: int
    size: int
    name_length: int
    extra_length: int


class CentralRecord(NamedTuple):
    signature: int
    made_by: int
    version: int
    flags: int
    method: int
    time: int
    date: int
    crc: int
    compressed: int
    size: int
    name_length: int
    extra_length: int
    comment_length: int
    disk: int
    internal_attr: int
    external_attr: int
    offset: int


class EndRecord(NamedTuple):
    signature: int
    disk: int
    directory_disk: int
    disk_entries: int
    entries: int
    directory_size: int
    directory_offset: int
    comment_length: int


def local_header(buf: bytes | memoryview, offset: int) -> LocalHeader:
    """The local header at ``offset``; ``ValueError`` when it is cut off or is not one."""
    if offset < 0 or offset + LOCAL.size > len(buf):
        raise ValueError(f"local header at {offset} is cut off")
    header = LocalHeader._make(LOCAL.unpack_from(buf, offset))
    if header.signature != LOCAL_SIG:
        raise ValueError(f"no local header at {offset}")
    return header


def central_record(buf: bytes | memoryview, offset: int) -> CentralRecord:
    if offset < 0 or offset + CENTRAL.size > len(buf):
        raise ValueError(f"central directory record at {offset} is cut off")
    record = CentralRecord._make(CENTRAL.unpack_from(buf, offset))
    if record.signature != CENTRAL_SIG:
        raise ValueError("bad central directory record")
    return record


def end_record(buf: bytes | memoryview, offset: int) -> EndRecord:
    return EndRecord._make(EOCD.unpack_from(buf, offset))


def pack_local(flags: int, method: int, time: int, date: int, crc: int, compressed: int,
               size: int, name: bytes) -> bytes:
    """A local header without an extra field, followed by ``name``."""
    return LOCAL.pack(LOCAL_SIG, VERSION, flags, method, time, date, crc, compressed, size,
                      len(name), 0) + name


def pack_central(flags: int, method: int, time: int, date: int, crc: int, compressed: int,
                 size: int, name: bytes, external_attr: int, offset: int) -> bytes:
    """A central directory record without extra field or comment, followed by ``name``."""
    return CENTRAL.pack(CENTRAL_SIG, VERSION, VERSION, flags, method, time, date, crc,
                        compressed, size, len(name), 0, 0, 0, 0, external_attr,
                        offset) + name


def pack_end(entries: int, directory_size: int, directory_offset: int,
             comment: bytes = b"") -> bytes:
    return EOCD.pack(EOCD_SIG, 0, 0, entries, entries, directory_size, directory_offset,
                     len(comment)) + comment


def dos_datetime(year: int, month: int, day: int, hour: int, minute: int, second: int
                 ) -> tuple[int, int]:
    """(time, date) as MS-DOS stores them: two-second resolution, years from 1980."""
    return ((hour << 11) | (minute << 5) | (second // 2),
            ((year - 1980) << 9) | (month << 5) | day)

# Compression methods other than stored (0) and deflate (8) that archivers write; the
# readers inflate only those two. For messages that name what was found.
METHOD_NAMES: Final = {9: "Deflate64", 12: "BZIP2", 14: "LZMA", 93: "Zstandard", 95: "XZ",
                       98: "PPMd", 99: "AES 加密"}


def method_name(method: int) -> str:
    """A zip compression method as a message names it (``LZMA``, ``方法 7``)."""
    return METHOD_NAMES.get(method, f"方法 {method}")

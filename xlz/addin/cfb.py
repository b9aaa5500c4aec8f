"""A minimal Compound File Binary writer (MS-CFB version 3) for vbaProject.bin.

Only what a VBA project needs: nested storages and streams, written once, with
512-byte sectors, streams under 4096 bytes in the mini stream (64-byte sectors), up
to 109 FAT sectors (no DIFAT sectors, so files up to about 6.8 MB), zero timestamps
and zero CLSIDs so the output is byte-for-byte deterministic.

Layout after the header: FAT sectors, directory sectors, mini FAT sectors, the mini
stream, then each large stream. Each directory's children form a binary search tree
in CFB order (shorter names first, then case-insensitive), balanced and all black:
readers (Office, olefile, LibreOffice) follow the sibling links for lookup and do not
check colours, and a VBA project has only a handful of entries per storage.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096

_FREESECT = 0xFFFFFFFF
_ENDOFCHAIN = 0xFFFFFFFE
_FATSECT = 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF
_HEADER_DIFAT_SLOTS = 109

_TYPE_STORAGE = 1
_TYPE_STREAM = 2
_TYPE_ROOT = 5
_BLACK = 1

Tree = Mapping[str, "bytes | Tree"]
"""A storage: names mapped to stream contents (bytes) or nested storages."""


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: list[_Entry] = field(default_factory=list)
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    start: int = _ENDOFCHAIN
    size: int = 0


def _sort_key(name: str) -> tuple[int, str]:
    # MS-CFB 2.6.4: compare by UTF-16 length first, then by upper-cased code points.
    return (len(name.encode("utf-16-le")), name.upper())


def _flatten(name: str, kind: int, tree: Tree, entries: list[_Entry]) -> _Entry:
    entry = _Entry(name, kind)
    entries.append(entry)
    for child_name, value in tree.items():
        if len(child_name) > 31 or not child_name or any(c in child_name for c in "/\\:!"):
            raise ValueError(f"invalid compound file entry name {child_name!r}")
        if isinstance(value, bytes):
            child = _Entry(child_name, _TYPE_STREAM, data=value, size=len(value))
            entries.append(child)
        else:
            child = _flatten(child_name, _TYPE_STORAGE, value, entries)
        entry.children.append(child)
    return entry


def _link_children(entry: _Entry, index: dict[int, int]) -> None:
    """Store the children as a balanced search tree: middle element at the root."""
    ordered = sorted(entry.children, key=lambda e: _sort_key(e.name))
    keys = [_sort_key(e.name) for e in ordered]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate names (case-insensitive) under {entry.name!r}")

    def build(lo: int, hi: int) -> int:
        if lo >= hi:
            return _NOSTREAM
        mid = (lo + hi) // 2
        node = ordered[mid]
        node.left = build(lo, mid)
        node.right = build(mid + 1, hi)
        return index[id(node)]

    entry.child = build(0, len(ordered))
    for child in ordered:
        _link_children(child, index)


def _sectors(length: int, size: int) -> int:
    return (length + size - 1) // size


def _chain(fat: list[int], first: int, count: int) -> None:
    for i in range(count):
        fat[first + i] = first + i + 1 if i + 1 < count else _ENDOFCHAIN


def _pad(data: bytes, size: int) -> bytes:
    return data + b"\0" * (-len(data) % size)


def _dir_entry(entry: _Entry) -> bytes:
    name = entry.name.encode("utf-16-le") + b"\0\0"
    return struct.pack(
        "<64sHBBIII16sI8s8sIQ",
        name,
        len(name),
        entry.kind,
        _BLACK,
        entry.left,
        entry.right,
        entry.child,
        b"\0" * 16,
        0,
        b"\0" * 8,
        b"\0" * 8,
        entry.start,
        entry.size,
    )


def _unused_dir_entry() -> bytes:
    return struct.pack(
        "<64sHBBIII16sI8s8sIQ",
        b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM, b"\0" * 16, 0, b"\0" * 8, b"\0" * 8, 0, 0,
    )


def write_compound_file(tree: Tree) -> bytes:
    """Serialise a storage tree (root's children) into a version 3 compound file."""
    entries: list[_Entry] = []
    root = _flatten("Root Entry", _TYPE_ROOT, tree, entries)
    _link_children(root, {id(e): i for i, e in enumerate(entries)})

    # Small streams go into the mini stream, which itself is a regular stream owned by
    # the root entry; large ones get their own sector chains.
    streams = [e for e in entries if e.kind == _TYPE_STREAM]
    small = [e for e in streams if 0 < e.size < MINI_CUTOFF]
    large = [e for e in streams if e.size >= MINI_CUTOFF]

    mini_stream = bytearray()
    mini_fat: list[int] = []
    for e in small:
        e.start = len(mini_fat)
        count = _sectors(e.size, MINI_SECTOR)
        mini_fat.extend([0] * count)
        _chain(mini_fat, e.start, count)
        mini_stream += _pad(e.data, MINI_SECTOR)
    root.size = len(mini_stream)

    n_dir = _sectors(len(entries) * 128, SECTOR)
    n_minifat = _sectors(len(mini_fat) * 4, SECTOR)
    n_ministream = _sectors(len(mini_stream), SECTOR)
    n_large = sum(_sectors(e.size, SECTOR) for e in large)
    n_data = n_dir + n_minifat + n_ministream + n_large
    n_fat = 1
    while n_fat * (SECTOR // 4) < n_fat + n_data:
        n_fat += 1
    if n_fat > _HEADER_DIFAT_SLOTS:
        raise ValueError("compound file too large for a header-only DIFAT")

    fat = [_FREESECT] * (n_fat * (SECTOR // 4))
    for i in range(n_fat):
        fat[i] = _FATSECT
    next_sector = n_fat
    dir_start = next_sector
    _chain(fat, dir_start, n_dir)
    next_sector += n_dir
    minifat_start = next_sector if n_minifat else _ENDOFCHAIN
    _chain(fat, next_sector, n_minifat)
    next_sector += n_minifat
    root.start = next_sector if n_ministream else _ENDOFCHAIN
    _chain(fat, next_sector, n_ministream)
    next_sector += n_ministream
    for e in large:
        count = _sectors(e.size, SECTOR)
        e.start = next_sector
        _chain(fat, next_sector, count)
        next_sector += count

    difat = list(range(n_fat)) + [_FREESECT] * (_HEADER_DIFAT_SLOTS - n_fat)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        bytes.fromhex("D0CF11E0A1B11AE1"),
        b"\0" * 16,
        0x003E,  # minor version
        0x0003,  # major version 3: 512-byte sectors
        0xFFFE,  # little-endian byte order mark
        9,  # sector shift: 2**9 = 512
        6,  # mini sector shift: 2**6 = 64
        b"\0" * 6,
        0,  # number of directory sectors: must be 0 in version 3
        n_fat,
        dir_start,
        0,  # transaction signature
        MINI_CUTOFF,
        minifat_start,
        n_minifat,
        _ENDOFCHAIN,  # first DIFAT sector: none
        0,
    ) + struct.pack(f"<{_HEADER_DIFAT_SLOTS}I", *difat)

    directory = b"".join(_dir_entry(e) for e in entries)
    directory += _unused_dir_entry() * (n_dir * (SECTOR // 128) - len(entries))
    minifat_bytes = struct.pack(f"<{len(mini_fat)}I", *mini_fat)
    minifat_bytes += struct.pack("<I", _FREESECT) * (n_minifat * (SECTOR // 4) - len(mini_fat))

    body = bytearray(header)
    body += struct.pack(f"<{len(fat)}I", *fat)
    body += directory
    body += minifat_bytes
    body += _pad(bytes(mini_stream), SECTOR)
    for e in large:
        body += _pad(e.data, SECTOR)
    assert len(body) == SECTOR * (1 + next_sector)
    return bytes(body)

"""MS-OVBA 2.4.1 CompressedContainer: the LZ77 variant VBA uses for `dir` and module streams.

Written from the specification because the one pure-Python compressor on PyPI
(ms-ovba-compression) produced corrupt streams on most random inputs. Both directions
are here so the round trip can be proven on arbitrary bytes.

Layout: one signature byte 0x01, then chunks. Each chunk holds up to 4096 decompressed
bytes and starts with a 16-bit little-endian header:
  bits 0-11  chunk size minus 3 (size includes the header, so at most 4098)
  bits 12-14 signature 0b011
  bit  15    1 = compressed (token sequences), 0 = raw (4096 bytes stored as-is)
A token sequence is a flag byte followed by up to 8 tokens; flag bit i (LSB first) is 0
for a literal byte and 1 for a 2-byte copy token (offset, length) whose bit split depends
on how far into the chunk the decompressor is.
"""

from __future__ import annotations

import struct

CHUNK_SIZE = 4096
"""Decompressed bytes per chunk; every chunk but the last holds exactly this many."""

_MAX_CHUNK_PAYLOAD = 4096
"""A chunk's bytes after its header: a compressed body larger than this must go raw."""

_SIGNATURE = 0x01
_HEADER_SIGNATURE = 0b011 << 12
_COMPRESSED_FLAG = 0x8000
_RAW_HEADER = (_MAX_CHUNK_PAYLOAD + 2 - 3) | _HEADER_SIGNATURE

_MAX_CANDIDATES = 512
"""How many earlier positions with the same 3-byte prefix the matcher tries.

Bounds the worst case (long runs of one byte) while still finding the longest match in
source text; the cap only costs compression ratio, never correctness.
"""


def _copy_token_bits(position_in_chunk: int) -> int:
    """Bits of a copy token used for the offset at this position (MS-OVBA 2.4.1.3.19.3).

    The smallest bit count (at least 4) with 2**bits >= position, so an offset can
    reach back to the start of the chunk; the remaining 16 - bits hold length - 3.
    """
    bits = max((position_in_chunk - 1).bit_length(), 4)
    return min(bits, 12)


def _max_copy_length(position_in_chunk: int) -> int:
    return (0xFFFF >> _copy_token_bits(position_in_chunk)) + 3


def _compress_chunk_body(chunk: bytes) -> bytes | None:
    """Token sequences for one decompressed chunk, or None if they exceed 4096 bytes.

    Greedy longest match over a hash chain of 3-byte prefixes, restricted to the chunk
    (copy tokens never reach into the previous chunk).
    """
    out = bytearray()
    chains: dict[bytes, list[int]] = {}
    n = len(chunk)
    pos = 0
    while pos < n:
        flag_index = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= n:
                break
            best_len, best_off = 0, 0
            if pos + 3 <= n and pos > 0:
                limit = min(_max_copy_length(pos), n - pos)
                for cand in reversed(chains.get(chunk[pos : pos + 3], [])[-_MAX_CANDIDATES:]):
                    length = 3
                    # Overlapping matches are allowed: the decompressor copies byte by byte.
                    while length < limit and chunk[cand + length] == chunk[pos + length]:
                        length += 1
                    if length > best_len:
                        best_len, best_off = length, pos - cand
                        if length == limit:
                            break
            step = best_len if best_len >= 3 else 1
            if best_len >= 3:
                bits = _copy_token_bits(pos)
                token = ((best_off - 1) << (16 - bits)) | (best_len - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
            else:
                out.append(chunk[pos])
            for p in range(pos, min(pos + step, n - 2)):
                chains.setdefault(chunk[p : p + 3], []).append(p)
            pos += step
            if len(out) > _MAX_CHUNK_PAYLOAD:
                return None
        out[flag_index] = flags
    return bytes(out)


def compress(data: bytes) -> bytes:
    """Compress `data` into an MS-OVBA CompressedContainer.

    A chunk whose token sequences would not fit is stored raw. The specification pads
    a short final raw chunk with zeros to 4096 bytes, which would change the data on
    the way back; here a short final raw chunk carries only its real bytes (decoders
    read "up to 4096"). VBA source text always compresses, so Office never meets it.
    """
    out = bytearray([_SIGNATURE])
    for start in range(0, len(data), CHUNK_SIZE):
        chunk = data[start : start + CHUNK_SIZE]
        body = _compress_chunk_body(chunk)
        if body is None:
            out += struct.pack("<H", _RAW_HEADER)
            out += chunk
        else:
            header = (len(body) + 2 - 3) | _HEADER_SIGNATURE | _COMPRESSED_FLAG
            out += struct.pack("<H", header)
            out += body
    return bytes(out)


def decompress(container: bytes) -> bytes:
    """Decompress an MS-OVBA CompressedContainer; raise ValueError if it is malformed."""
    if not container or container[0] != _SIGNATURE:
        raise ValueError("CompressedContainer must start with signature byte 0x01")
    out = bytearray()
    pos = 1
    end = len(container)
    while pos < end:
        if pos + 2 > end:
            raise ValueError(f"truncated chunk header at offset {pos}")
        (header,) = struct.unpack_from("<H", container, pos)
        if header & 0x7000 != _HEADER_SIGNATURE:
            raise ValueError(f"bad chunk signature at offset {pos}")
        chunk_end = min(pos + (header & 0x0FFF) + 3, end)
        pos += 2
        if not header & _COMPRESSED_FLAG:
            if header != _RAW_HEADER:
                raise ValueError(f"raw chunk with size other than 4098 at offset {pos - 2}")
            out += container[pos:chunk_end]
            pos = chunk_end
            continue
        chunk_start = len(out)
        while pos < chunk_end:
            flags = container[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if not flags >> bit & 1:
                    out.append(container[pos])
                    pos += 1
                    continue
                if pos + 2 > chunk_end:
                    raise ValueError(f"truncated copy token at offset {pos}")
                (token,) = struct.unpack_from("<H", container, pos)
                pos += 2
                bits = _copy_token_bits(len(out) - chunk_start)
                length = (token & (0xFFFF >> bits)) + 3
                offset = (token >> (16 - bits)) + 1
                source = len(out) - offset
                if source < chunk_start:
                    raise ValueError(f"copy token reaches before its chunk at offset {pos - 2}")
                for i in range(length):
                    out.append(out[source + i])
    return bytes(out)

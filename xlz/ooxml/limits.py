"""The caps on untrusted zip packages, and the counting that enforces them.

One set of caps for everything xlz unpacks: a workbook handed to ``validate`` or
``fill`` (xlsx, xlsm and ods are zips), a workbook in the consolidation inbox, and the
``.zip`` archives and e-mails it arrives in. The declared sizes in a zip's headers can
lie, so the caps are checked against the bytes actually inflated, as they come.

Breaking a cap raises :class:`LimitExceeded`; this layer knows nothing of the rule
catalogue, so :mod:`xlz.io` turns it into the catalogue's ``InputError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps for untrusted zip packages: workbooks and the archives they arrive in.

    A real town workbook is well under 10 MB unpacked and its largest part (a sheet)
    compresses 10–50×; the caps leave room for a big year and stop a zip bomb long
    before memory runs out. ``validate``, ``fill`` and ``consolidate`` all apply the
    same caps (:data:`DEFAULT_LIMITS` unless a caller passes others).

    Attributes:
        member_bytes: the most one part (or archive member) may inflate to.
        total_bytes: the most one source may inflate to, all its parts (and nested
            archives) together; also the largest file that is read at all.
        ratio: the highest inflated/compressed ratio of one part, checked once the part
            has produced more than ``ratio_floor`` bytes (small parts of repeated
            markup legitimately compress far better).
        ratio_floor: see ``ratio``.
        members: the most parts (members) one package or archive may list.
        depth: how deep archives and e-mails may nest inside one another (an e-mail
            counts as one level).
    """

    member_bytes: int = 200 * 1024 * 1024
    total_bytes: int = 1024 * 1024 * 1024
    ratio: float = 200.0
    ratio_floor: int = 8 * 1024 * 1024
    members: int = 10_000
    depth: int = 3


DEFAULT_LIMITS: Final = Limits()


class GuardError(Exception):
    """A package the guard refuses. ``reason`` says why, in Chinese, for a message; the
    subclass says which kind of refusal it is."""

    def __init__(self, reason: str, part: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.part = part  # the package part concerned, when there is one


class LimitExceeded(GuardError):
    """A cap of :class:`Limits` was crossed (size, ratio, count, depth)."""


class UnsafeXml(GuardError):
    """An XML part declares a DTD or entities: no spreadsheet application writes one,
    and entity expansion (the "billion laughs" XML bomb) needs one."""


class Encrypted(GuardError):
    """A part is encrypted with zip's own encryption."""


class UnsupportedMethod(GuardError):
    """A part is compressed with a method other than stored or deflate (Deflate64,
    bzip2, LZMA …), which the readers cannot inflate."""

    def __init__(self, reason: str, part: str, method: int) -> None:
        super().__init__(reason, part)
        self.method = method


class Damaged(GuardError):
    """The package's structure or a part's compressed data is broken (truncated, bad
    CRC, not a zip at all)."""


class Budget:
    """What one source may still inflate: every part and nested archive of it draws on
    the same ``limits.total_bytes``, so fanning out into many members or levels gains
    nothing."""

    __slots__ = ("left", "limits")

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.left = limits.total_bytes

    def count(self, chunks: Iterable[bytes], name: str, compressed: int) -> Iterator[bytes]:
        """``chunks`` of one part (``compressed`` bytes in the archive), passed on while
        they stay under the caps; :class:`LimitExceeded` at the first one crossed."""
        limits = self.limits
        produced = 0
        for chunk in chunks:
            produced += len(chunk)
            self.left -= len(chunk)
            if produced > limits.member_bytes:
                raise LimitExceeded(f"部件“{name}”解压后超过{limits.member_bytes >> 20} MB", name)
            if self.left < 0:
                raise LimitExceeded(f"解压后总大小超过{limits.total_bytes >> 20} MB", name)
            if produced > limits.ratio_floor and produced > limits.ratio * max(compressed, 1):
                raise LimitExceeded(
                    f"部件“{name}”压缩比超过{limits.ratio:.0f}倍（疑似压缩炸弹）", name)
            yield chunk

    @property
    def spent(self) -> bool:
        return self.left < 0


def check_count(count: int, limits: Limits) -> None:
    """Refuse a package or archive that lists more than ``limits.members`` parts."""
    if count > limits.members:
        raise LimitExceeded(f"部件多达{count}个，超过{limits.members}个上限")


def check_size(size: int, limits: Limits) -> None:
    """Refuse a file larger than everything it may unpack to, before reading it."""
    if size > limits.total_bytes:
        raise LimitExceeded(f"文件大小超过{limits.total_bytes >> 20} MB")

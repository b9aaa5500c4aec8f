"""The ledger's archive: every input's exact bytes, kept by their SHA-256 beside the
ledger (``<ledger>.files/ab/cdef….xlsx``), so that every number of every round can be
traced to the very file it came from.

Content-addressed, so a file sent again in a later round is stored once, and nothing
here is ever overwritten or deleted. A file is written to a temporary name in its
folder and renamed into place: a killed run leaves no half file under a real name
(only, at worst, a ``.~xlz-`` temporary that the next run in that folder removes). Files
are not fsynced one by one (≈ 3 ms each, 500 files per run: a fifth of a consolidation
on the benchmark machine); after a power cut an archived file of the wrong size is
written again by the next run that receives it, and its hash is in the ledger to
check it against (``xlz.Ledger.archived``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path, PurePath
from typing import Final

from xlz.core.errors import output_error
from xlz.io.output import TEMP_PREFIX, remove_stale_temporaries

# Suffixes kept on archived files, so that a double-click opens them in the right program.
_SUFFIXES: Final = frozenset({".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods",
                              ".et", ".ett"})


def archive_folder(ledger: str | os.PathLike[str]) -> Path:
    """Where the ledger at ``ledger`` keeps input bytes: ``<ledger>.files``."""
    return Path(os.fspath(ledger) + ".files")


def relative_path(sha256: str, name: str) -> str:
    """``ab/cdef….xlsx``: the archived file's path inside :func:`archive_folder`
    (always with ``/``, as the ledger stores it)."""
    suffix = PurePath(name.replace("\\", "/")).suffix.lower()
    return f"{sha256[:2]}/{sha256[2:]}{suffix if suffix in _SUFFIXES else ''}"


def keep(folder: Path, source: Path, sha256: str, name: str) -> str | None:
    """Keep ``source``'s bytes (whose hash was ``sha256`` when it was read) in the
    archive; the relative path, or ``None`` when the file changed since it was read (then
    the bytes the round counted are no longer there to keep). Raises
    :class:`~xlz.core.errors.OutputError` when the archive cannot be written."""
    if len(sha256) != 64:
        return None
    rel = relative_path(sha256, name)
    target = folder / rel
    try:
        size = source.stat().st_size
        if target.is_file() and target.stat().st_size == size:
            return rel  # written once, by an earlier round (or earlier in this one)
        data = source.read_bytes()
    except OSError:
        return None  # the input went away after it was read: nothing to keep
    if hashlib.sha256(data).hexdigest() != sha256:
        return None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o444)  # evidence: not to be edited by hand
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise output_error(target, exc) from exc
    return rel

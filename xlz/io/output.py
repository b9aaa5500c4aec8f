"""One way to replace a whole file: the city workbook, a report workbook, a workbook
written in place.

Everything is written to a temporary file beside the target and renamed over it, so a
crash, a full disk or a file held open by Excel/WPS leaves the original as it was and
no temporary file behind. Office marks an open workbook with an owner file (``~$…``;
LibreOffice ``.~lock.…#``): a target with one is refused before anything is written,
because on Windows the rename would fail at the very end, and elsewhere it would
replace a file the user is editing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from xlz.core.errors import OutputError, make_error, output_error

TEMP_PREFIX: Final = ".~xlz-"
# A temporary file older than this is left over from a killed run (a write takes
# seconds): the next write in the same folder removes it.
STALE_AFTER_SECONDS: Final = 3600.0


def lock_files(path: Path) -> list[Path]:
    """The owner files saying ``path`` is open in an office application: Excel's
    ``~$`` + name (for long names the first two characters are replaced), WPS's
    ``~$`` + name, LibreOffice's ``.~lock.NAME#``."""
    names = {"~$" + path.name, "~$" + path.name[2:], f".~lock.{path.name}#"}
    return sorted(p for p in (path.with_name(n) for n in names) if p.exists())


def refuse_if_open(path: Path) -> None:
    """Raise ``output.in_use`` when ``path`` is open in Excel, WPS or LibreOffice."""
    locks = lock_files(path)
    if locks:
        raise make_error(OutputError, "output.in_use", path, lock=locks[0].name)


def remove_stale_temporaries(folder: Path, now: float | None = None) -> None:
    """Remove this module's temporary files that a killed run left in ``folder``."""
    now = time.time() if now is None else now
    with contextlib.suppress(OSError):
        for leftover in folder.glob(TEMP_PREFIX + "*"):
            with contextlib.suppress(OSError):
                if now - leftover.stat().st_mtime > STALE_AFTER_SECONDS:
                    leftover.unlink()


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; when the block ends normally it
    replaces ``path`` (keeping an existing file's permission bits), otherwise it is
    removed and ``path`` is untouched. A symbolic link keeps pointing where it did (its
    target is replaced); an existing file keeps its owner and mode. OS errors become
    :class:`OutputError`."""
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    folder = path.parent
    remove_stale_temporaries(folder)
    refuse_if_open(path)
    try:
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=path.suffix, dir=folder)
    except OSError as exc:
        raise output_error(path, exc) from exc
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if path.exists():
            st = path.stat()
            if hasattr(os, "chown"):
                with contextlib.suppress(OSError):  # only root may give a file away
                    os.chown(tmp, st.st_uid, st.st_gid)
            os.chmod(tmp, st.st_mode & 0o7777)
        else:  # mkstemp makes 0600; a new file gets the ordinary permissions
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        try:
            os.replace(tmp, path)
        except PermissionError as exc:
            # Windows refuses to replace a file another program holds open.
            if exc.errno in (errno.EACCES, errno.EPERM) and path.exists():
                raise make_error(OutputError, "output.in_use", path, lock=path.name) from exc
            raise
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise output_error(path, exc) from exc
        raise


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` through :func:`replacing`, the bytes coming from ``write``."""
    with replacing(path) as tmp, open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())

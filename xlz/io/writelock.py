"""One xlz at a time on one workbook: ``validate`` and ``fill`` started together on the
same file must not lose either's work.

Each reads the whole file, patches it and replaces it (:func:`xlz.io.output.replacing`);
without a lock the second to finish replaces the file with its patch of the *old* bytes
and the first one's edits vanish, while both print ✓. :func:`exclusive` covers
read → patch → replace: the second waits until the first has replaced the file, then
reads the first one's result.

The lock is a file beside the workbook (``.~xlz-lock.NAME``) created with ``O_EXCL``,
which works the same on Windows, on network shares and on USB sticks; it holds the
owner's pid, host and start time. A run that was killed leaves its lock behind: a lock
whose process is gone (same host) or that is older than :data:`STALE_AFTER_SECONDS` is
taken over. Office's own owner files (``~$…``) are a different matter: they mean a
person has the file open, and :mod:`xlz.io.output` refuses those outright.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final, NamedTuple

from xlz.core.errors import OutputError, make_error, output_error
from xlz.io.output import TEMP_PREFIX

LOCK_PREFIX: Final = TEMP_PREFIX + "lock."  # removed with the stale temporaries, too
# A validate or fill holds the lock for a second or two (a 250 MB sheet: under a
# minute); a lock this old belongs to a run that died.
STALE_AFTER_SECONDS: Final = 300.0
# How long the second run waits before it refuses with output.busy.
WAIT_SECONDS: float = 60.0
_POLL_SECONDS: Final = 0.05
# A lock file is empty only between its creation and the owner's first write: if it
# stays empty this long, its owner died in between.
_EMPTY_STALE_SECONDS: Final = 10.0
# Nobody can write in such a folder (or there is none), so there is nothing to protect
# there: the read's or the write's own error names the problem.
_CANNOT_CREATE: Final = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT,
                                   errno.ENOTDIR})


class Holder(NamedTuple):
    """What a lock file says about its owner."""

    pid: int
    host: str
    since: float  # time.time() when it was taken


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file of ``path``: beside the file a symbolic link points to, so that two
    runs reaching one workbook through different links share it."""
    real = Path(os.path.realpath(path))
    return real.with_name(LOCK_PREFIX + real.name)


def _read(lock: Path) -> str | None:
    """The lock file's text; None when there is no lock file."""
    try:
        return lock.read_text("utf-8", "replace")
    except FileNotFoundError:
        return None
    except OSError:
        return ""


def _holder(text: str) -> Holder | None:
    parts = text.split()
    try:
        return Holder(int(parts[0]), parts[1], float(parts[2]))
    except (IndexError, ValueError):
        return None


def _alive(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate it there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        return True
    return True


def _stale(lock: Path, text: str, now: float) -> bool:
    holder = _holder(text)
    if holder is None:
        try:
            age = now - lock.stat().st_mtime
        except OSError:
            return False
        return age > _EMPTY_STALE_SECONDS
    if now - holder.since > STALE_AFTER_SECONDS:
        return True
    return holder.host == socket.gethostname() and not _alive(holder.pid)


def _take_over(lock: Path, seen: str) -> None:
    """Remove the stale lock ``lock`` whose text was ``seen``. It is first renamed to a
    name of its own (atomic), so that of two waiters judging the same stale lock only
    one removes it; a lock that turns out to be another's fresh one is put back."""
    tomb = lock.with_name(f"{lock.name}.{uuid.uuid4().hex}")
    try:
        os.rename(lock, tomb)
    except OSError:
        return  # gone already: another waiter took it over
    try:
        if _read(tomb) != seen:  # someone took the place meanwhile: give it back
            with contextlib.suppress(OSError):
                os.link(tomb, lock)
    finally:
        with contextlib.suppress(OSError):
            tomb.unlink()


def _busy(path: Path, lock: Path, text: str, wait: float) -> OutputError:
    holder = _holder(text)
    if holder is None:
        who = "进程未知"
    else:
        since = dt.datetime.fromtimestamp(holder.since).strftime("%H:%M:%S")
        who = f"进程 {holder.pid}，{since} 开始"
    return make_error(OutputError, "output.busy", path, holder=who, seconds=round(wait),
                      lock=lock.name)


def _acquire(path: Path, lock: Path, token: str, wait: float) -> bool:
    """Take the lock (True), or find that nobody can write in the folder (False)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            text = _read(lock)
            if text is None:
                continue  # released just now
            if _stale(lock, text, time.time()):
                _take_over(lock, text)
                if not lock.exists():
                    continue
            if time.monotonic() >= deadline:
                raise _busy(path, lock, text, wait) from None
            time.sleep(_POLL_SECONDS)
            continue
        except OSError as exc:
            if exc.errno in _CANNOT_CREATE:
                return False
            raise output_error(path, exc) from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(token)
        except OSError as exc:  # a full disk: say so, leave no empty lock behind
            with contextlib.suppress(OSError):
                lock.unlink()
            raise output_error(path, exc) from exc
        return True


@contextlib.contextmanager
def exclusive(path: str | os.PathLike[str], wait: float | None = None) -> Iterator[None]:
    """Hold the write lock of ``path`` for the block: wait while another xlz holds it,
    up to ``wait`` seconds (default :data:`WAIT_SECONDS`), then raise
    :class:`OutputError` ``output.busy``. A lock left by a killed run is taken over."""
    p = Path(path)
    lock = lock_path(p)
    token = f"{os.getpid()} {socket.gethostname()} {time.time():.3f} {uuid.uuid4().hex}\n"
    held = _acquire(p, lock, token, WAIT_SECONDS if wait is None else wait)
    try:
        yield
    finally:
        # Only our own: had we been judged stale, the lock may be another's now.
        if held and _read(lock) == token:
            with contextlib.suppress(OSError):
                lock.unlink()

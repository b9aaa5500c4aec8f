"""Where ``consolidate`` may write the city workbook, decided before any source is read.

The city workbook replaces whatever ``--out`` names, so the name is checked first:
it must not be one of the submissions (or lie inside a submitted archive or e-mail),
it must not be open in Excel/WPS, and an existing file is replaced only when it is an
xlz city workbook (:func:`xlz.core.identity.identify` says so), unless ``force``. A run
that read nothing never replaces an existing city workbook (:func:`keep_existing`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from xlz.core.errors import OutputError, make_error
from xlz.core.identity import Evidence, identify
from xlz.io.output import refuse_if_open
from xlz.io.read import file_properties


def _resolved(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(os.path.realpath(path)))


def is_city_workbook(path: Path) -> bool:
    """Whether ``path`` is a workbook xlz wrote as a city workbook (its metadata)."""
    props = file_properties(path)
    if not props:
        return False
    return identify(Evidence(file_name=path.name, properties=props, meta_sheet=None)).kind \
        == "city"


def check_city_output(out: str | os.PathLike[str],
                      sources: Sequence[str | os.PathLike[str]], *, force: bool = False) -> None:
    """Raise :class:`OutputError` when writing the city workbook to ``out`` could destroy
    a submission or someone's file; nothing has been read or written yet then."""
    target = _resolved(out)
    for source in sources:
        src = _resolved(source)
        # The target is a submission, or a path "inside" a submitted archive or e-mail.
        if target == src or (src.is_file() and src in target.parents):
            raise make_error(OutputError, "output.is_input", out)
    for parent in target.parents:
        if parent.exists() and not parent.is_dir():
            raise make_error(OutputError, "output.write_failed", out,
                             reason=f"“{parent.name}”不是文件夹")
    if target.is_dir():
        raise make_error(OutputError, "output.write_failed", out, reason="这是一个文件夹")
    refuse_if_open(target)
    if target.exists() and not force and not is_city_workbook(target):
        raise make_error(OutputError, "output.not_city", out)


def keep_existing(out: str | os.PathLike[str], readable: int, reason: str) -> None:
    """Raise ``output.nothing_read`` when a run that read no usable submission would
    replace an existing city workbook."""
    if readable == 0 and Path(out).exists():
        raise make_error(OutputError, "output.nothing_read", out, reason=reason)

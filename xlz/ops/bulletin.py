"""``xlz bulletin``: the 通报 on one recorded round, as a Word document.

The ledger is read (the round and the one before it), the facts are computed in the core
(:func:`xlz.core.bulletin.bulletin_facts`) and the document is written by the book
(:mod:`xlz.books.bulletin`) through :func:`xlz.io.output.replacing`. Every refusal comes
before anything is written: no ledger or not one, a period the ledger does not have, an
``out`` that is a folder, in a missing folder, or an existing file (an edited bulletin is
the office's work: replaced only with ``force``).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from xlz.core.bulletin import BulletinFacts, bulletin_facts
from xlz.core.errors import OutputError, PlanError, boundary, make_error
from xlz.core.plan import Plan, load_plan
from xlz.io.output import replacing

PathLike = str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class BulletinResult:
    """Where the bulletin was written and what it says."""

    out: Path
    facts: BulletinFacts


def check_bulletin_output(out: PathLike, *, force: bool = False) -> Path:
    """Refuse an ``out`` the bulletin cannot or must not be written to."""
    target = Path(os.path.abspath(out))
    if target.is_dir():
        raise make_error(OutputError, "output.write_failed", out, reason="这是一个文件夹")
    if not target.parent.is_dir():
        raise make_error(OutputError, "output.write_failed", out,
                         reason=f"文件夹“{target.parent}”不存在")
    if target.suffix.lower() != ".docx":
        raise make_error(OutputError, "output.write_failed", out,
                         reason="通报是 Word 文档，文件名应以 .docx 结尾")
    if target.exists() and not force:
        raise make_error(OutputError, "output.exists", out)
    if not os.access(target.parent, os.W_OK):
        raise make_error(OutputError, "output.denied", out, folder=str(target.parent))
    return target


@boundary
def make_bulletin(ledger: PathLike, out: PathLike, *, period: str | dt.date | None = None,
                  plan: Plan | str | None = None, force: bool = False,
                  today: dt.date | None = None) -> BulletinResult:
    """Write the bulletin on the round of ``period`` (default: the latest) recorded in
    ``ledger`` to ``out`` (.docx). ``plan``: default the plan the round was made with.
    Raises :class:`xlz.InputError` (``ledger.*``) or :class:`xlz.OutputError`
    (``output.*``) before anything is written; never anything but an ``XlzError``."""
    from xlz.books.bulletin import write_bulletin
    from xlz.io.ledger.read import Ledger

    target = check_bulletin_output(out, force=force)
    book = Ledger(ledger)
    current = book.round(period)
    previous = book.previous(current.period)
    if isinstance(plan, Plan):
        active = plan
    else:
        try:
            active = load_plan(plan or current.plan_id)
        except PlanError:
            if plan is not None:
                raise
            raise make_error(PlanError, "plan.not_found", current.plan_id,
                             available="（请用 --plan 指定这一期所用的计划文件）") from None
    facts = bulletin_facts(active, current, previous, book.contacts(before=current.period))
    with replacing(target) as tmp:
        write_bulletin(facts, tmp, today=today)
    return BulletinResult(target, facts)

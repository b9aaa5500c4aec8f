"""``consolidate --feedback DIR``: for each town whose file did not count because of
错误, a copy of that file validated and marked (the clerk's own workbook with 校验提示 and
校验结果 filled in, by :func:`xlz.ops.workbook.validate` on the copy) and a short reply
text ``DIR/{town}-反馈.txt`` listing what to fix, ready to send back.

Inputs are never touched: each submission is copied into a private folder while it
exists (archive members and attachments exist only until the inbox is closed), and only
the copies of the towns with errors are marked. The folder must not lie inside a source
(``output.feedback_in_inbox``): the next consolidation would read the marked copies as
submissions.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from xlz.core.consolidation import Consolidation, FileResult, base_name
from xlz.core.errors import OutputError, XlzError, make_error, output_error
from xlz.core.findings import Finding, Severity
from xlz.io.inbox import Submission
from xlz.io.output import atomic_write

PathLike = str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class Feedback:
    """What was written for one town: the marked copy (or the report workbook beside it,
    for a format xlz cannot write into), the reply text, and the errors it lists."""

    town: str  # short name
    file: str  # the submission's display name
    marked: Path | None
    reply: Path
    errors: int


def check_feedback_dir(folder: PathLike, sources: Sequence[PathLike]) -> Path:
    """Refuse a feedback folder inside a source, or one that is a file; before anything
    is read. The folder is made when missing."""
    target = Path(os.path.abspath(os.path.realpath(folder)))
    for source in sources:
        src = Path(os.path.abspath(os.path.realpath(source)))
        if src.is_dir() and (target == src or src in target.parents):
            raise make_error(OutputError, "output.feedback_in_inbox", folder, source=str(source))
    if target.exists() and not target.is_dir():
        raise make_error(OutputError, "output.write_failed", folder, reason="这是一个文件，不是文件夹")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(folder, exc) from exc
    if not os.access(target, os.W_OK):
        raise make_error(OutputError, "output.denied", folder, folder=str(target))
    return target


@dataclass(slots=True)
class FeedbackKeeper:
    """Copies every submission (by content) into a private folder while it exists."""

    folder: Path
    # Removed by close(), or by its finalizer when a failed run drops the keeper.
    _private: tempfile.TemporaryDirectory[str] = field(
        default_factory=lambda: tempfile.TemporaryDirectory(prefix="xlz-feedback-"))
    kept: dict[str, Path] = field(default_factory=dict)  # sha256 → private copy

    @property
    def private(self) -> Path:
        return Path(self._private.name)

    def keeper(self) -> Callable[[Submission], None]:
        def kept(sub: Submission) -> None:
            if sub.sha256 and sub.sha256 not in self.kept:
                copy = self.private / f"{len(self.kept)}{sub.path.suffix.lower()}"
                try:
                    shutil.copyfile(sub.path, copy)
                except OSError:
                    return  # gone meanwhile: no marked copy, the reply text still says
                self.kept[sub.sha256] = copy
        return kept

    def close(self) -> None:
        self._private.cleanup()


def reply_text(town: str, f: FileResult, errors: Sequence[Finding], warnings: int,
               marked: Path | None, office: str, today: dt.date) -> str:
    """The short Chinese reply to a town: which file, what to fix (each message names its
    sheet and cell, 项目信息!C5, as the clerk sees them)."""
    lines = [f"{town}：", "",
             f"　　你单位报送的“{base_name(f.name)}”经校验有 {len(errors)} 处错误，"
             "未计入本期全市汇总。请按下列各处修改后重新报送："]
    lines += [f"　　{i}. {x.message}" for i, x in enumerate(errors, start=1)]
    if marked is not None:
        lines.append(f"　　附件“{marked.name}”是你单位报送的文件，已在“校验提示”列和“校验结果”"
                     "工作表中逐处标注，可在其上直接修改。")
    if warnings:
        lines.append(f"　　另有提醒 {warnings} 条（不影响汇总），请一并核对。")
    lines += ["　　修改后请点击“校验”按钮，确认没有错误后再报送。", "",
              f"{office}", f"{today.year}年{today.month}月{today.day}日", ""]
    return "\n".join(lines)


def _write(path: Path, data: bytes) -> None:
    def write(fh: BinaryIO) -> None:
        fh.write(data)

    atomic_write(path, write)


def _sort_key(x: Finding) -> tuple[str, int, str]:
    return (x.sheet or "", x.row or 0, x.cell or "")


def write_feedback(c: Consolidation, keeper: FeedbackKeeper, *,
                   today: dt.date | None = None) -> list[Feedback]:
    """For each town 未通过校验: the marked copy and the reply text in ``keeper.folder``."""
    from xlz.ops.workbook import validate

    day = today or dt.date.today()
    out: list[Feedback] = []
    for t in c.towns:
        f = t.winner
        if t.state != "未通过校验" or f is None:
            continue
        short = t.town.short
        # The file's own findings (not the consolidation's per-row "not counted" notes).
        own = [x for x in f.report.findings if not x.code.startswith("file.row_")]
        errors = sorted((x for x in own if x.severity is Severity.ERROR), key=_sort_key)
        warnings = len(own) - len(errors)
        marked: Path | None = None
        source = keeper.kept.get(f.input.sha256)
        if source is not None:
            suffix = Path(base_name(f.name)).suffix.lower() or source.suffix
            marked = keeper.folder / f"{short}-校验标注{suffix}"
            _write(marked, source.read_bytes())
            try:
                result = validate(marked, plan=c.plan)
            except XlzError:
                marked.unlink(missing_ok=True)
                marked = None
            else:
                errors = sorted(result.report.errors, key=_sort_key)
                warnings = len(result.report.warnings)
                if result.report_path is not None:  # a format xlz cannot write into
                    marked = Path(result.report_path)
        reply = keeper.folder / f"{short}-反馈.txt"
        text = reply_text(short, f, errors, warnings, marked, c.plan.office, day)
        _write(reply, text.encode("utf-8-sig"))  # with a BOM: older Notepads need it
        out.append(Feedback(short, f.name, marked, reply, len(errors)))
    return out

"""``xlz consolidate``: sources → submissions → read → consolidate → city workbook.

The impure shell around :mod:`xlz.core.consolidation`: it expands the sources
(:mod:`xlz.io.inbox`), guards and reads each workbook (:mod:`xlz.io.read`), hands the
values to the pure core and writes the result (:mod:`xlz.books.citybook`). Inputs are only
ever read; archive members and attachments live in a private temporary folder that is
removed before this returns.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xlz.core import layout as L
from xlz.core.catalogue import RULES
from xlz.core.consolidation import (
    Consolidation,
    FileResult,
    Input,
    base_name,
    build_from,
    examine_with_columns,
)
from xlz.core.entries import ENTRY_SHEETS
from xlz.core.guideinfo import GuideInfo
from xlz.core.plan import DEFAULT_PLAN, Plan, load_plan
from xlz.core.roundrecord import PERIOD_SOURCE_TEXT, RecordedRound, choose_period
from xlz.core.rounds import RoundContext, RoundSnapshot, missing, standings
from xlz.core.summary import Tally
from xlz.core.validator import PlanCache, SheetColumns
from xlz.io.boundary import ReaderFailed, untrusted
from xlz.io.inbox import DEFAULT_LIMITS, Expander, Limits, SourceProblem, Submission
from xlz.io.ledger.read import parse_period
from xlz.io.read import SAVE_TIME_PARTS
from xlz.ops.feedback import Feedback, FeedbackKeeper, check_feedback_dir, write_feedback
from xlz.ops.history import round_of
from xlz.ops.pool import Examined, examine_in_pool, pool_size
from xlz.ops.recording import Recorder, ledger_path

Progress = Callable[[str], None]  # called once per submission, with its display name

if TYPE_CHECKING:
    import pandas as pd

    from xlz.ooxml.extent import Refusal
    from xlz.ooxml.guard import Package


def _guide_columns(guide: GuideInfo | None) -> dict[str, Any]:
    """填报人, 联系电话, 数据截至日期 of a file (None where unknown: unread, standard 1)."""
    info = guide or GuideInfo()
    return {"reporter": info.reporter, "phone": info.phone, "as_of": info.as_of}


@dataclass(slots=True)
class ConsolidationResult:
    """What :func:`consolidate` wrote and found: the city workbook's path, the whole
    :class:`Consolidation`, the exit status, and its tables (:meth:`tables`,
    :meth:`to_pandas`, :meth:`to_dict`)."""

    out: Path
    consolidation: Consolidation
    # Where the run was recorded as a round (None with ``ledger=False``); docs/ledger.md.
    round: RecordedRound | None = None
    # The period, the earlier rounds and known contacts the city workbook was written with.
    round_info: RoundContext | None = None
    # What ``feedback=`` wrote: one entry per town whose file has 错误 (xlz/ops/feedback.py).
    feedback: list[Feedback] = field(default_factory=list)

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """The result as tables of plain rows, one dict per row: ``projects``,
        ``carriers`` and ``activities`` (the accepted entry rows, parsed values keyed by
        column key, with town and provenance), ``towns`` (state and progress per metric),
        ``files`` (every submitted file and its status) and ``issues`` (问题清单)."""
        c = self.consolidation
        out: dict[str, list[dict[str, Any]]] = {}
        rows_of = {"project": c.projects, "carrier": c.carriers, "activity": c.activities}
        tables = {"project": "projects", "carrier": "carriers", "activity": "activities"}
        for sheet in ENTRY_SHEETS:
            keys = [col.key for col in sheet.input_columns]
            out[tables[sheet.key]] = [
                {"town": r.town.code, "town_name": r.town.short,
                 **{k: r.record.values.get(k) for k in keys},
                 "file": r.file.name, "sha256": r.file.input.sha256, "row": r.record.row}
                for r in rows_of[sheet.key]
            ]
        out["towns"] = [
            {"town": t.town.code, "town_name": t.town.short, "state": t.state,
             "file": t.winner.name if t.winner else None, "superseded": len(t.superseded),
             **{f"{p.metric}_{part}": value for p in t.progress
                for part, value in (("target", p.target), ("done", p.done),
                                    ("rate", p.rate), ("pipeline", p.pipeline))}}
            for t in c.towns
        ]
        out["files"] = [
            {"file": f.name, "sha256": f.input.sha256, "status": f.status,
             "town": f.town.code if f.town else None, "received": f.input.received,
             "received_from": f.input.received_from, "saved": f.input.saved,
             "template_version": f.template_version,
             **_guide_columns(f.guide),
             "errors": len(f.report.errors), "warnings": len(f.report.warnings)}
            for f in c.files
        ]
        out["issues"] = [
            {"town_name": i.town, **{k: v for k, v in i.finding.to_dict().items()
                                     if k != "address"}, "file": i.file}
            for i in c.issues
        ]
        return out

    def to_pandas(self) -> dict[str, pd.DataFrame]:
        """:meth:`tables` as DataFrames (needs the ``pandas`` extra)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "ConsolidationResult.to_pandas() 需要 pandas，请先安装："
                "pip install \"xlz[pandas]\"（或 pip install pandas）"
            ) from exc
        return {name: pd.DataFrame.from_records(rows) if rows else pd.DataFrame()
                for name, rows in self.tables().items()}

    @property
    def exit_code(self) -> int:
        """0 every town counted; 1 some town is 未报送 or 未通过校验, or some file was
        rejected (the round is not complete: the office has calls to make); 2 nothing
        could be read (docs/standard.md section 6)."""
        c = self.consolidation
        if not c.readable:
            return 2
        return 1 if c.rejected or any(t.state != "已报送" for t in c.towns) else 0

    def to_dict(self) -> dict[str, Any]:
        c = self.consolidation
        return {
            "out": str(self.out),
            "plan": c.plan.id,
            "exit_code": self.exit_code,
            "towns": [
                {
                    "code": t.town.code, "name": t.town.short, "state": t.state,
                    "file": t.winner.name if t.winner else None,
                    "superseded": [f.name for f in t.superseded],
                    "decided_by": t.basis, "uncertain": t.uncertain,
                    "progress": {p.metric: {"target": p.target, "done": p.done,
                                            "rate": p.rate, "pipeline": p.pipeline}
                                 for p in t.progress},
                }
                for t in c.towns
            ],
            "files": [
                {
                    "name": f.name, "sha256": f.input.sha256, "status": f.status,
                    "town": f.town.code if f.town else None,
                    "received": f.input.received.isoformat() if f.input.received else None,
                    "received_from": f.input.received_from,
                    "saved": f.input.saved.isoformat() if f.input.saved else None,
                    "counts": f.counts(), "findings": f.report.counts(),
                    "guide": f.guide.to_dict() if f.guide is not None else None,
                }
                for f in c.files
            ],
            "totals": {
                "computed_target": c.computed_total,
                "printed_target": c.plan.attachment2.printed_total.model_dump(
                    exclude={"label"}),
                "done": c.done_total,
            },
            "rows": {"projects": len(c.projects), "carriers": len(c.carriers),
                     "activities": len(c.activities)},
            "issues": len(c.issues),
            "ledger": None if self.round is None else {
                "path": str(self.round.path), "round": self.round.number,
                "period": self.round.period.isoformat(),
                "period_source": self.round.period_source, "revision": self.round.revision},
            **self._round_dict(),
        }

    def _round_dict(self) -> dict[str, Any]:
        """Who is behind (未报送 / 未通过校验, with whom to call) and the 排名."""
        c = self.consolidation
        info = self.round_info
        return {
            "period": info.period.isoformat() if info else None,
            "missing": [{"code": m.town.code, "name": m.town.short, "state": m.state,
                         "contact": m.contact, "file": m.file}
                        for m in missing(c, info.contacts if info else None)],
            "ranking": [{"rank": st.rank, "code": st.town.code, "name": st.town.short,
                         "state": st.state, "overall": st.score} for st in standings(c)],
        }


_ZIP_MAGIC = b"PK\x03\x04"
_CUSTOM_PROPS = "docProps/custom.xml"
# The application's own save time (docProps/core.xml, an .ods's meta.xml) orders a
# town's submissions (xlz.core.consolidation): taken from the guard's pass too.
_KEPT_PARTS = ("[Content_Types].xml", "mimetype", _CUSTOM_PROPS, *SAVE_TIME_PARTS)
# What consolidation reads: the entry sheets and the town cell (the _xlz metadata sheet
# is always read). The library-owned summary sheets are recomputed, never trusted.
_NEEDED_SHEETS = (L.GUIDE, *(s.name for s in ENTRY_SHEETS))


def read_input(sub: Submission, limits: Limits = DEFAULT_LIMITS) -> Input:
    """One submission as values, or why not. Never raises for a bad file."""
    from xlz.io.inbox import inspect_container
    from xlz.io.intake import READABLE_FORMATS, WPS_SUFFIXES, InputError, zip_format
    from xlz.io.read import (
        MAX_SHEET_CELLS,
        READER_KEEP_LIMIT,
        properties_of,
        read_workbook,
        reader_part,
        saved_time,
        small_part,
    )

    with sub.path.open("rb") as fh:
        head = fh.read(4)
    fmt: str | None = None
    properties: dict[str, str] | None = None
    saved: dt.datetime | None = None  # when the application saved it, if it says
    extents: Refusal | bool | None = False  # see read_workbook
    package: Package | None = None
    if head == _ZIP_MAGIC:
        # The guard measures the sheets as it inflates them: the extent check then
        # costs no second inflation (~2 ms of a 200-row town file; bench/README.md).
        # It keeps the XML parts too: the reader repacks them (read.trimmed_package).
        seen = inspect_container(sub.path, limits, max_cells=MAX_SHEET_CELLS,
                                 keep=lambda name: name in _KEPT_PARTS or reader_part(name),
                                 keep_limit=READER_KEEP_LIMIT)
        if seen.problem is not None:
            return _problem(sub, seen.problem[0], **seen.fields)
        # Its own parts as a guard pass keeping only them would (up to 1 MB each).
        small = {name: xml for name in _KEPT_PARTS
                 if (xml := small_part(seen.parts, name)) is not None}
        saved = saved_time(small)
        extents = seen.refusal
        # The guard has inflated every part anyway: take the format and the metadata
        # from it instead of opening the package twice more. Anything unusual (a WPS
        # suffix, not a readable workbook) goes the long way for its proper message.
        known = zip_format(seen.names, lambda name, limit: small.get(name, b"")[:limit])
        if known in READABLE_FORMATS and sub.path.suffix.lower() not in WPS_SUFFIXES:
            fmt = known
            if fmt != "ods":
                properties = properties_of(small.get(_CUSTOM_PROPS))
                package = seen.package
    try:
        data = read_workbook(sub.path, sheets=iter(_NEEDED_SHEETS), sha256=sub.sha256,
                             fmt=fmt, properties=properties, extents=extents,
                             package=package)
    except InputError as exc:
        return Input(sub.name, sub.sha256, sub.received, sub.received_from,
                     error_code=exc.code, error_message=exc.message, saved=saved)
    except MemoryError:  # pragma: no cover - guarded above; kept so one file cannot end the run
        return _problem(sub, "file.too_large", reason="读取时内存不足")
    return Input(sub.name, sub.sha256, sub.received, sub.received_from, data, saved=saved)


def _problem(sub: Submission | SourceProblem, code: str, **extra: Any) -> Input:
    base = base_name(sub.name)
    rule = RULES[code]
    message = rule.format(file=base, **{"reason": "", "suffix": "", "kind": "", **extra})
    if isinstance(sub, Submission):
        return Input(sub.name, sub.sha256, sub.received, sub.received_from,
                     error_code=code, error_message=message)
    return Input(sub.name, "", None, "", error_code=code, error_message=message)


def examine_source(item: Submission | SourceProblem, plan: Plan, cache: PlanCache, *,
                   limits: Limits = DEFAULT_LIMITS
                   ) -> tuple[FileResult, dict[str, SheetColumns]]:
    """Read and examine one expanded source (see
    :func:`~xlz.core.consolidation.examine_with_columns`); the sheet values are dropped
    afterwards, so that 500 files do not sit in memory at once."""
    if isinstance(item, SourceProblem):
        return examine_with_columns(_problem(item, item.code, reason=item.reason), plan,
                                    cache=cache)
    # The reader boundary (xlz.io.boundary) around the whole read: whatever one file does
    # to a reader is that file's finding, and the result is always picklable.
    try:
        with untrusted(item.path, "读取工作簿"):
            read = read_input(item, limits)
    except ReaderFailed as exc:
        read = _problem(item, exc.code, reason=exc.reason)
    return examine_with_columns(read, plan, keep_values=False, cache=cache)


def crashed_source(item: Submission | SourceProblem, plan: Plan, cache: PlanCache,
                   reason: str) -> tuple[FileResult, dict[str, SheetColumns]]:
    """The result of a source whose reading ended its process, or escaped the reader
    boundary (see :func:`xlz.ops.pool.examine_in_pool`): a ``file.reader_crashed``
    finding for it, and the run goes on."""
    return examine_with_columns(_problem(item, "file.reader_crashed", reason=reason), plan,
                                cache=cache)


_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


def _native_risk(items: Sequence[Submission | SourceProblem]) -> bool:
    """Whether a submission is a binary workbook (.xls, whatever its name, or .xlsb):
    python-calamine parses those without the package guard's and the extent check's
    pre-checks, and some damaged ones make it abort the process (tests/corpus/native).
    Such an inbox is examined in a worker process even when one process would do
    (one interpreter start, ~0.5 s, see bench/README.md), so a crash costs that file;
    a caller that sets ``workers`` decides alone."""
    for item in items:
        if not isinstance(item, Submission):
            continue
        if item.path.suffix.lower() == ".xlsb":
            return True
        try:
            with item.path.open("rb") as fh:
                if fh.read(4) == _OLE_MAGIC:
                    return True
        except OSError:
            continue
    return False


@dataclass(slots=True)
class Gathered:
    """Every source examined, in input order; ``project_rows[i]`` and ``tallies[i]``
    are what a worker process made for ``files[i]`` (``None`` when examined here)."""

    files: list[FileResult]
    project_rows: list[bytes | None]
    tallies: list[Tally | None]


def gather(sources: Iterable[str | os.PathLike[str]], plan: Plan, *,
           limits: Limits = DEFAULT_LIMITS, on_file: Progress | None = None,
           on_start: Callable[[int], None] | None = None,
           workers: int | None = None, context: BaseContext | None = None,
           exclude: Iterable[str | os.PathLike[str]] = (),
           keep: Callable[[Submission], None] | None = None,
           on_examined: Callable[[FileResult], None] | None = None) -> Gathered:
    """Expand, read and examine every source. ``workers``: how many processes (default:
    as many as the amount of work pays for, see :func:`xlz.ops.pool.pool_size`);
    ``context``: their start method (default: the platform's); ``keep``: called with each
    submission while its file still exists (the ledger archives its bytes);
    ``on_examined``: with each result as it comes (the ledger stages its rows)."""
    with Expander(limits, exclude=exclude) as expander:
        # Expand first (cheap: walking folders, unpacking mail) so progress has a total.
        items = list(expander.expand(sources))
        if on_start is not None:
            on_start(len(items))
        isolate = False  # a process of its own for a reader that can kill it (issue 15)
        if workers is None:
            workers = pool_size([i.size if isinstance(i, Submission) else 0 for i in items])
            isolate = workers == 1 and _native_risk(items)
        job = functools.partial(examine_source, limits=limits)
        done: Iterable[Examined]
        if (workers > 1 and len(items) > 1) or isolate:
            done = examine_in_pool(items, plan, job, workers, context=context,
                                   crashed=crashed_source)
        else:
            cache = PlanCache(plan)
            done = (Examined(job(item, plan, cache)[0]) for item in items)
        gathered = Gathered([], [], [])
        for item, examined in zip(items, done, strict=True):
            gathered.files.append(examined.file)
            gathered.project_rows.append(examined.project_rows)
            gathered.tallies.append(examined.tally)
            if on_examined is not None:
                on_examined(examined.file)
            if keep is not None and isinstance(item, Submission):
                keep(item)
            if on_file is not None:
                on_file(item.name)
        return gathered


def _each(keepers: Sequence[Callable[[Submission], None]]) -> Callable[[Submission], None]:
    def keep(sub: Submission) -> None:
        for k in keepers:
            k(sub)
    return keep


def consolidate(
    sources: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    out: str | os.PathLike[str],
    plan: Plan | str | None = None,
    *,
    on_file: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    workers: int | None = None,
    force: bool = False,
    ledger: str | os.PathLike[str] | bool | None = None,
    period: str | dt.date | None = None,
    history: Sequence[RoundSnapshot] = (),
    feedback: str | os.PathLike[str] | None = None,
) -> ConsolidationResult:
    """Consolidate town workbooks (files, folders, ``.zip``, ``.eml``) into the city
    workbook ``out``. Bad inputs become findings; nothing here raises for a bad file.

    ``out`` is checked before anything is read (:mod:`xlz.ops.city_output`): it must not
    be a submission, nor open in Excel/WPS, and an existing file is replaced only when it
    is a city workbook (or ``force``); a run that read nothing keeps an existing one.
    These raise :class:`xlz.OutputError`.

    The run is recorded as a round in the ledger (docs/ledger.md): ``ledger`` is its path
    (default ``科技招商台账.sqlite`` beside ``out``; ``False``: not recorded), ``period``
    the date the figures stand at (default: the latest 数据截至日期 among accepted files,
    else today). A ledger that is not one, is newer or is busy is refused before
    anything is read (:class:`xlz.OutputError`, ``ledger.*``). ``history``: earlier
    rounds as plain data (:class:`xlz.RoundSnapshot`), besides the ledger's, for the
    city workbook's 进度对比 and trend. ``feedback``: a folder (outside the sources) that
    receives, for each town whose file has 错误, a marked copy of it and a reply text
    (``result.feedback``); the inputs are never touched."""
    from xlz.ops.city_output import check_city_output

    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    check_city_output(out, sources, force=force)
    recorder = None if ledger is False else \
        Recorder.checked(ledger_path(out, None if ledger is True else ledger), period)
    replies = None if feedback is None else FeedbackKeeper(check_feedback_dir(feedback, sources))
    active = plan if isinstance(plan, Plan) else load_plan(plan or DEFAULT_PLAN)
    keepers = [k.keeper() for k in (recorder, replies) if k is not None]
    try:
        return _consolidated(sources, out, active, recorder, replies, keepers, period=period,
                             on_file=on_file, on_start=on_start, limits=limits,
                             workers=workers, history=history)
    finally:
        if recorder is not None:
            recorder.close()  # a run that recorded nothing lets go of the ledger


def _consolidated(sources: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str],
                  active: Plan, recorder: Recorder | None, replies: FeedbackKeeper | None,
                  keepers: list[Callable[[Submission], None]], *,
                  period: str | dt.date | None, on_file: Progress | None,
                  on_start: Callable[[int], None] | None, limits: Limits,
                  workers: int | None, history: Sequence[RoundSnapshot]
                  ) -> ConsolidationResult:
    from xlz.books.citybook import write_city_workbook
    from xlz.ops.city_output import keep_existing

    gathered = gather(sources, active, limits=limits, on_file=on_file, on_start=on_start,
                      workers=workers,
                      exclude=[out, *(recorder.excluded() if recorder else ())],
                      keep=_each(keepers) if keepers else None,
                      on_examined=recorder.stager() if recorder else None)
    result = build_from(gathered.files, active, tallies=gathered.tallies)
    keep_existing(out, len(result.readable),
                  f"共 {len(result.files)} 个文件，均无法读取" if result.files else "来源中没有文件")
    when = recorder.choose(result) if recorder else None
    # The period and the earlier rounds (the ledger's, and ``history`` handed in) are
    # known before the city workbook is written: it shows them (进度对比, 排名, 图表).
    chosen = when or choose_period(result, parse_period(period) if period else None,
                                   dt.date.today())
    info = round_of(chosen[0], PERIOD_SOURCE_TEXT[chosen[1]],
                    recorder.path if recorder else None, history)
    done = ConsolidationResult(Path(out), result, round_info=info)
    pending = None
    if recorder is not None and when is not None:
        from xlz import __version__

        # Written beside the city workbook, committed only once it (and the replies)
        # are in place: see xlz/ops/recording.py for the order.
        pending = recorder.start(result, when, city_workbook=Path(out),
                                 exit_code=done.exit_code, xlz_version=__version__)
    try:
        done.out = write_city_workbook(result, out, project_rows=gathered.project_rows,
                                       round_info=info)
        if replies is not None:
            try:
                done.feedback = write_feedback(result, replies)
            finally:
                replies.close()
    except BaseException:
        if pending is not None:
            pending.abandon()
        raise
    if pending is not None:
        done.round = pending.commit()
    return done

"""Consolidation, the pure part: read workbooks in, one city picture out.

No file is opened here. The caller hands over what the readers produced
(:class:`Input`: a submission's name, hash, time and its :class:`WorkbookData`, or why it
could not be read); this module decides which town each file belongs to, which
submission counts, what the towns achieved, and where every entry row ends up.

The rules (issue 5, docs/standard.md section 5):

- A town is identified from the template metadata (``xlz.town``), never from the file
  name; the 镇区 cell on 填报说明 is the fallback (with a finding). Metadata and cell
  naming different towns is a conflict: the file counts for no one.
- Per town, the latest submission wins — even when it has errors: the town's latest word
  is what it means, and silently falling back to an older file would hide the problem.
  Superseded files are listed with what changed. "Latest" is by evidence of when the
  clerk produced the file (:func:`order_evidence`): the application's save time, then
  the e-mail's Date, the archive member's time, the file time; a decision resting on the
  file time or a tie is a ``file.order_uncertain`` 提醒, never silent.
- A file with any 错误 is kept out of the totals; its rows are listed on 问题清单.
- Row conservation: every entry row of every readable input is either accepted (and
  shown on the city sheets) or has at least one line on 问题清单. :func:`build` checks
  this before returning.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NamedTuple

from xlz.core.catalogue import RULES
from xlz.core.cells import CellValue, display
from xlz.core.entries import ENTRY_SHEETS, EntrySheet
from xlz.core.findings import Finding, Report, Severity
from xlz.core.guideinfo import GuideInfo
from xlz.core.identity import Identity, evidence_of
from xlz.core.identity import base_name as base_name  # re-exported: the name in a display name
from xlz.core.identity import identify as decide_identity
from xlz.core.plan import METRICS, Metric, Plan, Town
from xlz.core.plancheck import computed_total
from xlz.core.summary import MetricProgress, Tally, progress_of, tally
from xlz.core.text import match_key
from xlz.core.validator import (
    PlanCache,
    Record,
    SheetColumns,
    Validation,
    validate_with_columns,
)

if TYPE_CHECKING:
    from xlz.core.workbook import WorkbookData

# skipped: xlz's own report workbook (a note in 报送情况 and 问题清单, not a submission)
Status = Literal["accepted", "rejected", "superseded", "unreadable", "skipped"]
TownState = Literal["已报送", "未报送", "未通过校验"]

STATUS_TEXT: dict[Status, str] = {
    "accepted": "已采用",
    "rejected": "未通过校验",
    "superseded": "已被取代",
    "unreadable": "无法读取",
    "skipped": "已跳过（xlz 校验报告）",
}


@dataclass(frozen=True, slots=True)
class Input:
    """One submission as read, or a source that yielded nothing readable."""

    name: str  # display name (收件箱/邮件.eml › 附件.xlsx)
    sha256: str  # "" when there were no bytes to hash
    received: dt.datetime | None
    received_from: str
    data: WorkbookData | None = None
    error_code: str | None = None  # a file.* rule code when data is None
    error_message: str | None = None
    # When the application (Excel, WPS, LibreOffice) last saved it, from the file's own
    # properties (docProps/core.xml dcterms:modified, an .ods's meta.xml dc:date); None
    # when the file does not say. Stronger evidence than ``received``: copying a file,
    # or validating it in place, changes its file time but not this.
    saved: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """What a superseded file had that the winning one does not (or vice versa)."""

    sheet: str  # 项目信息 / 孵化载体 / 招商活动
    added: tuple[str, ...]  # names only in the winning file
    removed: tuple[str, ...]  # names only in the superseded file
    changed: tuple[str, ...]  # names in both, with different values

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(slots=True)
class SubmittedFile:
    """One submitted file in a consolidation: whose it is, what its validation found and
    whether it counts (``status``), and what changed when a later file superseded it."""

    input: Input
    report: Report
    town: Town | None = None
    validation: Validation | None = None
    status: Status = "unreadable"
    template_version: str = ""  # "标准1 / rugao-2023"
    standard: str | None = None  # the standard version its metadata names
    superseded_by: FileResult | None = None
    changes: tuple[Change, ...] = ()

    @property
    def name(self) -> str:
        return self.input.name

    @property
    def guide(self) -> GuideInfo | None:
        """填报人, 联系电话 and 数据截至日期 from its 填报说明 (standard 2; all None for a
        standard-1 file), or None when the file could not be read."""
        return None if self.validation is None else self.validation.guide

    def records(self, sheet_key: str) -> list[Record]:
        if self.validation is None:
            return []
        return self.validation.records.get(sheet_key, [])

    def counts(self) -> dict[str, int]:
        return {s.key: len(self.records(s.key)) for s in ENTRY_SHEETS}

    def change_text(self) -> str:
        if self.superseded_by is not None and \
                self.input.sha256 == self.superseded_by.input.sha256:
            return "内容与采用的文件完全相同"
        parts = []
        for change in self.changes:
            if change.empty:
                continue
            bits = []
            for label, names in (("新增", change.added), ("删除", change.removed),
                                 ("修改", change.changed)):
                if names:
                    shown = "、".join(names[:5]) + ("等" if len(names) > 5 else "")
                    bits.append(f"{label}{len(names)}（{shown}）")
            parts.append(f"{change.sheet}：" + "，".join(bits))
        return "；".join(parts) or "填报内容无变化"


FileResult = SubmittedFile  # the name used inside the package; public: xlz.SubmittedFile


class Row(NamedTuple):
    """An accepted entry row with its provenance. (A named tuple: a city run makes
    100,000 of them, and a frozen dataclass costs five times as much to build.)"""

    town: Town
    file: FileResult
    record: Record


@dataclass(slots=True)
class TownResult:
    """One town in a consolidation: its state, the file that counts, the files it
    superseded and its progress against 附件2."""

    town: Town
    state: TownState
    winner: FileResult | None
    superseded: list[FileResult]
    progress: list[MetricProgress]
    # What decided the winner over the next-latest file (see :func:`order_evidence`):
    # "" with a single file; ``uncertain`` when it rests on the file time or on a tie.
    basis: str = ""
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class Issue:
    """One line of 问题清单."""

    file: str
    town: str  # short name or ""
    finding: Finding


@dataclass(slots=True)
class Consolidation:
    """The city picture: every file, every town, the accepted rows of each entry sheet and
    every issue (问题清单), with the totals."""

    plan: Plan
    files: list[FileResult]
    towns: list[TownResult]
    projects: list[Row]
    carriers: list[Row]
    activities: list[Row]
    issues: list[Issue]
    computed_total: dict[Metric, int | None]
    done_total: dict[Metric, int]
    unassigned: list[FileResult] = field(default_factory=list)  # no town could be named

    @property
    def rejected(self) -> list[FileResult]:
        return [f for f in self.files if f.status in ("rejected", "unreadable")]

    @property
    def readable(self) -> list[FileResult]:
        return [f for f in self.files if f.validation is not None]


# ------------------------------------------------------------------------- findings


def file_finding(code: str, file: str, value: CellValue = None, *, sheet: str | None = None,
                 cell: str | None = None, row: int | None = None, **extra: object) -> Finding:
    rule = RULES[code]
    message = rule.format(file=base_name(file), value=display(value), **extra)
    return Finding(code, rule.severity, sheet, cell, value, message, row, None, file)


# ------------------------------------------------------------------------- identity


def identify(result: FileResult, plan: Plan) -> Identity:
    """Name the file's town and check its template versions (findings on the report):
    :func:`xlz.core.identity.identify`, the decision ``validate`` and ``fill`` make too.
    A file with an identity 错误 is rejected; it still stands for its town when the
    identity names one (the town's latest word, see the module docstring)."""
    data = result.input.data
    assert data is not None
    found = decide_identity(evidence_of(data, result.name), plan, source=result.name)
    result.report.extend(found.findings)
    result.template_version = found.version_text
    result.standard = found.standard
    result.town = found.town
    return found


# ------------------------------------------------------------------------- diff


def _row_key(sheet: EntrySheet, record: Record) -> tuple[str, ...]:
    return tuple(display(record.raw.get(c.key)).strip() for c in sheet.input_columns
                 if c.key != "seq")


def diff(old: FileResult, new: FileResult) -> tuple[Change, ...]:
    """Rows added / removed / changed from ``old`` to ``new``, by name per entry sheet."""
    changes = []
    for sheet in ENTRY_SHEETS:
        before = {match_key(display(r.raw.get("name"))): r for r in old.records(sheet.key)}
        after = {match_key(display(r.raw.get("name"))): r for r in new.records(sheet.key)}
        label = {k: display(r.raw.get("name")) for k, r in (before | after).items()}
        changes.append(Change(
            sheet.name,
            tuple(label[k] for k in after if k not in before),
            tuple(label[k] for k in before if k not in after),
            tuple(label[k] for k in after
                  if k in before and _row_key(sheet, after[k]) != _row_key(sheet, before[k])),
        ))
    return tuple(changes)


# ------------------------------------------------------------------------- build


def examine(item: Input, plan: Plan, *, keep_values: bool = True,
            cache: PlanCache | None = None) -> FileResult:
    """Identify and validate one input. ``keep_values=False`` drops the sheet values
    afterwards (the records keep what the city workbook needs): a worker process then
    sends back a small result, and 500 files do not sit in memory at once. ``cache``:
    see :class:`~xlz.core.validator.PlanCache`."""
    return examine_with_columns(item, plan, keep_values=keep_values, cache=cache)[0]


def examine_with_columns(item: Input, plan: Plan, *, keep_values: bool = True,
                         cache: PlanCache | None = None
                         ) -> tuple[FileResult, dict[str, SheetColumns]]:
    """:func:`examine`, and the validator's columns of the records (see
    :func:`~xlz.core.validator.validate_with_columns`; empty for an unreadable input)."""
    result = FileResult(item, Report(source=item.name))
    if item.data is None:
        code = item.error_code or "file.unreadable"
        rule = RULES[code]
        message = item.error_message or rule.title
        result.report.add(Finding(code, rule.severity, None, None, None, message, file=item.name))
        return result, {}
    if identify(result, plan).kind == "report":  # xlz's own report: never counted
        result.status = "skipped"
        return result, {}
    result.validation, columns = validate_with_columns(item.data.sheets, plan,
                                                       source=item.name, cache=cache,
                                                       standard=result.standard)
    result.report.extend(result.validation.report.findings)
    result.status = "accepted" if result.report.ok and result.town is not None else "rejected"
    if not keep_values:
        item.data.sheets = {}
    return result, columns


# ------------------------------------------------------------------------- order

SAVED_BASIS = "保存时间"  # the application's save time in the file's properties
FILE_TIME_BASIS = "文件时间"  # the file system's modified time: copying or validating changes it
TIE_BASIS = "时间相同"
_NO_TIME = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def order_evidence(item: Input) -> tuple[tuple[dt.datetime, str], tuple[dt.datetime, str]]:
    """When the clerk produced a submission, strongest evidence first: the application's
    save time (:attr:`Input.saved`), else what the inbox knew (the e-mail's Date, the
    archive member's time, the file time: :attr:`Input.received`); then the inbox's
    time again, to separate two files saved in the same second. Each as (time, basis)."""
    inbox = (item.received or _NO_TIME, item.received_from or FILE_TIME_BASIS)
    first = (item.saved, SAVED_BASIS) if item.saved is not None else inbox
    return first, inbox


def _order(result: FileResult) -> tuple[dt.datetime, dt.datetime, str, str]:
    first, inbox = order_evidence(result.input)
    return (first[0], inbox[0], result.name, result.input.sha256)


def decided_by(winner: FileResult, runner_up: FileResult) -> tuple[str, bool]:
    """What put ``winner`` after ``runner_up`` (see :func:`_order`), and whether that is
    uncertain: the file time (which copying, re-sending or an in-place validation
    changes) or a tie settled by the file name. Identical content is never uncertain."""
    (w_time, w_basis), w_inbox = order_evidence(winner.input)
    (r_time, r_basis), r_inbox = order_evidence(runner_up.input)
    if w_time == r_time:
        w_time, w_basis, r_time, r_basis = *w_inbox, *r_inbox
    if w_time == r_time:
        basis, uncertain = TIE_BASIS, True
    else:
        basis = w_basis if w_basis == r_basis else f"{w_basis}/{r_basis}"
        uncertain = FILE_TIME_BASIS in (w_basis, r_basis)
    if winner.input.sha256 and winner.input.sha256 == runner_up.input.sha256:
        uncertain = False
    return basis, uncertain


def evidence_text(item: Input) -> str:
    """The time a submission is ordered by, with its basis: ``保存时间 2023-03-05 18:00:00``
    (local time)."""
    (when, basis), _ = order_evidence(item)
    if when == _NO_TIME:
        return "无时间"
    return f"{basis} {when.astimezone().strftime('%Y-%m-%d %H:%M:%S')}"


def _order_finding(town: Town, winner: FileResult, runner_up: FileResult, basis: str
                   ) -> Finding:
    if basis == TIE_BASIS:
        why = (f"两份文件的时间完全相同（{evidence_text(winner.input)}），"
               "程序只能按文件名选取")
    else:
        why = (f"只能按文件时间判断（本文件：{evidence_text(winner.input)}；"
               f"另一份：{evidence_text(runner_up.input)}），而复制、转发或在本机校验都会改变文件时间")
    return file_finding("file.order_uncertain", winner.name, town=town.short,
                        other=base_name(runner_up.name), why=why)


def build(inputs: Iterable[Input], plan: Plan) -> Consolidation:
    cache = PlanCache(plan)
    return build_from([examine(item, plan, cache=cache) for item in inputs], plan)


def build_from(files: list[FileResult], plan: Plan, *,
               tallies: Sequence[Tally | None] = ()) -> Consolidation:
    """The city picture from examined files (see :func:`examine`). ``tallies[i]``, when
    given, is what ``files[i]``'s project records add up to (:func:`tally`), counted
    where the records were made, so that they need not all be read here."""
    known = {id(f): t for f, t in zip(files, tallies, strict=False) if t is not None}
    by_town: dict[str, list[FileResult]] = {}
    for f in files:
        if f.town is not None and f.validation is not None:
            by_town.setdefault(f.town.code, []).append(f)
    towns: list[TownResult] = []
    for town in plan.towns:
        candidates = sorted(by_town.get(town.code, []), key=_order)
        winner = candidates[-1] if candidates else None
        superseded = candidates[:-1]
        basis, uncertain = "", False
        if winner is not None and superseded:
            basis, uncertain = decided_by(winner, superseded[-1])
            if uncertain:
                winner.report.add(_order_finding(town, winner, superseded[-1], basis))
        elif winner is not None:
            basis = order_evidence(winner.input)[0][1]
        for old in superseded:
            assert winner is not None
            old.status = "superseded"
            old.superseded_by = winner
            old.changes = diff(old, winner)
        if winner is None:
            state: TownState = "未报送"
        else:
            state = "已报送" if winner.status == "accepted" else "未通过校验"
        if winner is not None and winner.status == "accepted":
            counted = known.get(id(winner))
            counts = counted if counted is not None else tally(winner.records("project"), plan)
        else:
            counts = Tally.empty()
        try:
            target = plan.target(town.code)
        except KeyError:  # a town without a 附件2 row has no targets, only completion
            target = None
        towns.append(TownResult(town, state, winner, list(reversed(superseded)),
                                progress_of(counts, target) if target else [],
                                basis, uncertain))
    accepted = [t.winner for t in towns if t.winner is not None and t.state == "已报送"]
    rows = {s.key: list(itertools.chain.from_iterable(
        _rows_of(f, f.town, s.key) for f in accepted if f.town)) for s in ENTRY_SHEETS}
    _mark_excluded_rows(files)
    issues = [Issue(f.name, f.town.short if f.town else "", finding)
              for f in files for finding in f.report.sorted()]
    done: dict[Metric, int] = dict.fromkeys(METRICS, 0)
    for t in towns:
        for p in t.progress:
            done[p.metric] += p.done
    result = Consolidation(
        plan, files, towns, rows["project"], rows["carrier"], rows["activity"], issues,
        computed_total(plan), done,  # type: ignore[arg-type]
        unassigned=[f for f in files if f.town is None],
    )
    check_conservation(result)
    return result


_FILE = operator.attrgetter("file")
_RECORD = operator.attrgetter("record")
_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)


def _rows_of(f: FileResult, town: Town, key: str) -> Iterator[Row]:
    """``f``'s accepted rows of sheet ``key`` as :class:`Row` s. Each tuple is made in C
    (``tuple.__new__`` over ``zip``), not through the named tuple's Python ``__new__``:
    100,000 rows in a city run."""
    records = f.records(key)
    return map(tuple.__new__, itertools.repeat(Row),
               zip(itertools.repeat(town), itertools.repeat(f), records, strict=False))


def _mark_excluded_rows(files: Sequence[FileResult]) -> None:
    """Give every row of a file that does not count a line on 问题清单, saying why."""
    for f in files:
        if f.status not in ("rejected", "superseded"):
            continue
        own_errors = {(x.sheet, x.row) for x in f.report.findings
                      if x.severity is Severity.ERROR and x.row is not None}
        for sheet in ENTRY_SHEETS:
            for record in f.records(sheet.key):
                if f.status == "rejected" and (sheet.name, record.row) in own_errors:
                    continue  # its own 错误 already says why it does not count
                address = f"{sheet.name}!A{record.row}"
                base = base_name(f.name)
                if f.status == "superseded":
                    assert f.superseded_by is not None and f.town is not None
                    message = RULES["file.row_superseded"].format(
                        address=address, file=base, town=f.town.short,
                        winner=base_name(f.superseded_by.name))
                    code = "file.row_superseded"
                else:
                    message = RULES["file.row_excluded"].format(address=address, file=base)
                    code = "file.row_excluded"
                f.report.add(Finding(code, RULES[code].severity, sheet.name, f"A{record.row}",
                                     display(record.raw.get("name")) or None, message,
                                     record.row, None, f.name))


def check_conservation(result: Consolidation) -> None:
    """Every entry row of every readable input is accepted or on 问题清单 — or this raises.

    Not an ``assert``: it must hold under ``python -O`` too, because a silently lost row
    is exactly the failure the city office has with hand-made consolidations.
    """
    # By identity: every file and record object is alive while this runs. A record
    # belongs to one file, so a row counts when its record object was accepted with its
    # own file; the sets are made and compared in C (100,000 rows in a city run).
    accepted: dict[int, set[int]] = {}
    for rows in (result.projects, result.carriers, result.activities):
        pairs = zip(map(id, map(_FILE, rows)), map(id, map(_RECORD, rows)), strict=True)
        for file_id, run in itertools.groupby(pairs, key=_FIRST):
            accepted.setdefault(file_id, set()).update(map(_SECOND, run))
    listed = {(i.file, i.finding.sheet, i.finding.row) for i in result.issues}
    lost = []
    for f in result.readable:
        counted = accepted.get(id(f), set())
        for sheet in ENTRY_SHEETS:
            records = f.records(sheet.key)
            if counted.issuperset(map(id, records)):
                continue
            for record in records:
                if id(record) in counted:
                    continue
                if (f.name, record.sheet, record.row) not in listed:
                    lost.append(f"{f.name} {record.sheet}!{record.row}")
    if lost:
        raise RuntimeError(f"汇总丢失了{len(lost)}行（程序错误）：{', '.join(lost[:5])}")

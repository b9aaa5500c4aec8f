"""``xlz consolidate``: sources → submissions → read → consolidate → city workbook.

The impure shell around :mod:`xlz._consolidate`: it expands the sources
(:mod:`xlz._sources`), guards and reads each workbook (:mod:`xlz._read`), hands the
values to the pure core and writes the result (:mod:`xlz._citybook`). Inputs are only
ever read; archive members and attachments live in a private temporary folder that is
removed before this returns.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlz._catalogue import RULES
from xlz._consolidate import Consolidation, Input, base_name, build
from xlz._plan import DEFAULT_PLAN, Plan, load_plan
from xlz._sources import DEFAULT_LIMITS, Expander, Limits, SourceProblem, Submission

Progress = Callable[[str], None]  # called once per submission, with its display name


@dataclass(slots=True)
class ConsolidationResult:
    out: Path
    consolidation: Consolidation

    @property
    def exit_code(self) -> int:
        """0 fine; 1 some file was rejected; 2 nothing could be read (section 6)."""
        c = self.consolidation
        if not c.readable:
            return 2
        return 1 if c.rejected else 0

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
                    "counts": f.counts(), "findings": f.report.counts(),
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
        }


_ZIP_MAGIC = b"PK\x03\x04"


def read_input(sub: Submission, limits: Limits = DEFAULT_LIMITS) -> Input:
    """One submission as values, or why not. Never raises for a bad file."""
    from xlz._intake import InputError
    from xlz._read import read_workbook
    from xlz._sources import check_container

    with sub.path.open("rb") as fh:
        head = fh.read(4)
    if head == _ZIP_MAGIC:
        problem = check_container(sub.path, limits)
        if problem is not None:
            code, reason = problem
            return _problem(sub, code, reason=reason)
    try:
        data = read_workbook(sub.path)
    except InputError as exc:
        return Input(sub.name, sub.sha256, sub.received, sub.received_from,
                     error_code=exc.code, error_message=exc.message)
    except MemoryError:  # pragma: no cover - guarded above; kept so one file cannot end the run
        return _problem(sub, "file.too_large", reason="读取时内存不足")
    return Input(sub.name, sub.sha256, sub.received, sub.received_from, data)


def _problem(sub: Submission | SourceProblem, code: str, **extra: Any) -> Input:
    base = base_name(sub.name)
    rule = RULES[code]
    message = rule.format(file=base, **{"reason": "", "suffix": "", "kind": "", **extra})
    if isinstance(sub, Submission):
        return Input(sub.name, sub.sha256, sub.received, sub.received_from,
                     error_code=code, error_message=message)
    return Input(sub.name, "", None, "", error_code=code, error_message=message)


def gather(sources: Iterable[str | os.PathLike[str]], *, limits: Limits = DEFAULT_LIMITS,
           on_file: Progress | None = None,
           on_start: Callable[[int], None] | None = None) -> list[Input]:
    inputs: list[Input] = []
    with Expander(limits) as expander:
        # Expand first (cheap: walking folders, unpacking mail) so progress has a total.
        items = list(expander.expand(sources))
        if on_start is not None:
            on_start(len(items))
        for item in items:
            if on_file is not None:
                on_file(item.name)
            if isinstance(item, SourceProblem):
                inputs.append(_problem(item, item.code, reason=item.reason))
            else:
                inputs.append(read_input(item, limits))
    return inputs


def consolidate(
    sources: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    out: str | os.PathLike[str],
    plan: Plan | str | None = None,
    *,
    on_file: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ConsolidationResult:
    """Consolidate town workbooks (files, folders, ``.zip``, ``.eml``) into the city
    workbook ``out``. Bad inputs become findings; nothing here raises for a bad file."""
    from xlz._citybook import write_city_workbook

    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    active = plan if isinstance(plan, Plan) else load_plan(plan or DEFAULT_PLAN)
    inputs = gather(sources, limits=limits, on_file=on_file, on_start=on_start)
    result = build(inputs, active)
    path = write_city_workbook(result, out)
    return ConsolidationResult(path, result)

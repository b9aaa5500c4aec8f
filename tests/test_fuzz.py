"""The short fuzz run of CI (issue 15): Hypothesis drives the mutators of
tests/fuzzing.py over the real seed files with a fixed seed (``derandomize``), each
mutant through validate --check, validate, fill and consolidate in a forked child with
caps (30 s, 3 GB of address space); about two minutes in all (:data:`BUDGET`).

A failure prints the mutant's seed and what happened; keep the mutant (the long run,
scripts/fuzz.py, does that itself), fix the cause, and add it to tests/corpus/.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import fuzzing as F

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="fork and rlimits")]

BUDGET = 110.0  # seconds of mutants; the examples after it pass without running
SEEDS = F.seeds()
_DATA = {p: p.read_bytes() for p in SEEDS}
_RUN = {"start": 0.0, "executions": 0}
_VERDICTS: dict[str, int] = {}


@settings(max_examples=800, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(seed=st.sampled_from(SEEDS), number=st.integers(0, 2**64 - 1))
def test_every_mutant_ends_in_a_verdict(seed: Path, number: int) -> None:
    # An integer seeds the mutator's own Random: Hypothesis's small examples would
    # otherwise be mostly the simplest mutant (the empty file); the failing number
    # reproduces the mutant (``F.mutate(random.Random(number), seed.name, data)``).
    rng = random.Random(number)
    now = time.monotonic()
    if not _RUN["start"]:
        _RUN["start"] = now
        F.warm_up()
    if now - _RUN["start"] > BUDGET:
        return
    mutant = F.mutate(rng, seed.name, _DATA[seed])
    outcome = F.run_isolated(mutant, seed.name, F.good_town())
    _RUN["executions"] += 1
    for verdict in outcome.verdicts.values():
        _VERDICTS[verdict] = _VERDICTS.get(verdict, 0) + 1
    assert outcome.died is None, f"{seed.name}: the child {outcome.died}"
    assert not outcome.problems, f"{seed.name}: " + "\n".join(outcome.problems)
    assert set(outcome.verdicts) == {"check", "validate", "fill", "consolidate"}


def test_report_executions() -> None:
    """Runs after the fuzz test (file order): how many mutants it ran."""
    print(f"\nfuzz: {_RUN['executions']} executions in "
          f"{time.monotonic() - _RUN['start']:.0f} s; verdicts {_VERDICTS}"
          if _RUN["start"] else "\nfuzz: not run")


def test_the_mutators_change_each_kind_of_seed() -> None:
    rng = random.Random(7)
    for seed in SEEDS:
        data = _DATA[seed]
        changed = sum(F.mutate(rng, seed.name, data) != data for _ in range(20))
        assert changed >= 15, seed.name


def test_the_harness_sees_a_native_crash() -> None:
    """A child that dies is an outcome, not the end of the run (the harness itself)."""
    import os

    F.warm_up()
    original = F.check_all
    try:
        F.check_all = lambda *a, **k: os.abort()  # type: ignore[assignment]
        outcome = F.run_isolated(b"x", "x.xlsx", F.good_town(), time_cap=20)
    finally:
        F.check_all = original
    assert outcome.died == "signal 6"

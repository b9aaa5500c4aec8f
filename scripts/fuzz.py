"""The long fuzz run (issue 15), started by hand:

    .venv/bin/python scripts/fuzz.py --minutes 60 [--seed 1] [--out fuzz-findings]

Mutates the seeds of tests/corpus/seeds/ (tests/fuzzing.py says how, and which
invariants are checked) and runs each mutant through validate --check, validate, fill
and consolidate in a forked child with caps on time and memory. Every mutant that
breaks an invariant is kept in ``--out`` with a .json of what happened; minimise it,
fix the cause, and move it to tests/corpus/ (tests/test_corpus.py then pins it).
Prints a line per finding and a summary (executions, findings by kind) at the end.

With ``--atheris`` (``pip install atheris``), atheris drives the same mutators: its
coverage feedback sees only the Python side (the inbox, the guard, the in-place writer),
not the Rust reader.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import fuzzing as F


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    parser.add_argument("--max", type=int, default=0, help="stop after this many executions")
    parser.add_argument("--atheris", action="store_true")
    args = parser.parse_args()
    seeds = [(p, p.read_bytes()) for p in F.seeds()]
    good = F.good_town()
    kinds: collections.Counter[str] = collections.Counter()
    executions = 0
    end = time.monotonic() + args.minutes * 60

    def one(rng: random.Random) -> None:
        nonlocal executions
        seed, data = rng.choice(seeds)
        mutant = F.mutate(rng, seed.name, data)
        outcome = F.run_isolated(mutant, seed.name, good)
        executions += 1
        if executions % 100 == 0:
            found = sum(n for kind, n in kinds.items() if kind.startswith("FINDING"))
            print(f"[{executions}] executions, {found} findings", flush=True)
        for verdict in outcome.verdicts.values():
            kinds[f"verdict {verdict}"] += 1
        if outcome.died or outcome.problems:
            kind = outcome.died or outcome.problems[0].split("\n")[0][:100]
            kinds[f"FINDING {kind}"] += 1
            path = F.save_finding(mutant, seed, outcome, args.out)
            print(f"[{executions}] {kind} → {path}", flush=True)

    print(f"seed {args.seed}; {len(seeds)} seeds; caps: {F.TIME_CAP:.0f} s, "
          f"{F.MEMORY_CAP >> 30} GB per mutant", flush=True)
    if args.atheris:
        import atheris

        def test_one(buf: bytes) -> None:
            if time.monotonic() > end:
                raise SystemExit(0)
            one(random.Random(buf))

        atheris.Setup([sys.argv[0], f"-seed={args.seed}"], test_one)
        try:
            atheris.Fuzz()
        except SystemExit:
            pass
    else:
        rng = random.Random(args.seed)
        try:
            while time.monotonic() < end and (not args.max or executions < args.max):
                one(random.Random(rng.getrandbits(64)))
        except KeyboardInterrupt:  # Ctrl-C: still the summary
            print("interrupted")
    print(f"{executions} executions")
    for kind, n in sorted(kinds.items()):
        print(f"{n:6d}  {kind}")
    return 1 if any(k.startswith("FINDING") for k in kinds) else 0


if __name__ == "__main__":
    raise SystemExit(main())

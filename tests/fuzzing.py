"""The mutational fuzz harness of issue 15, shared by tests/test_fuzz.py (a short run in
CI with a fixed seed) and scripts/fuzz.py (the long run a developer starts by hand).

Seeds are real files (tests/corpus/seeds/: a generated town template, a small .xls and
.ods saved by LibreOffice, an .eml and a .zip inbox holding a town workbook). A mutator
changes bytes, zip entries (the XML inside them, re-zipped; or the zip records
themselves), OLE/BIFF integers, and e-mail text. Each mutant is run in a forked child
process with caps (:data:`TIME_CAP` seconds, :data:`MEMORY_CAP` bytes of address space)
through ``validate --check``, ``validate``, ``fill`` and ``consolidate`` (the library
functions the command line calls), and the child reports what happened.

The invariants (:func:`violations`):

- every input ends in a verdict: the function returns, or raises an ``XlzError``
  (exit 0, 1 or 2 at the command line); anything else is a finding;
- the child finishes within the time cap and does not die (a native crash is a finding);
- the input's bytes are unchanged unless the command wrote in place on a file it
  accepted;
- consolidate writes the city workbook, the good town beside the mutant is accepted,
  and every row of an accepted file reaches the city workbook or 问题清单.

Linux only (fork, resource limits): it is a developer's and CI's tool.
"""

from __future__ import annotations

import faulthandler
import hashlib
import io
import json
import os
import random
import re
import resource
import shutil
import signal
import tempfile
import time
import traceback
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT / "corpus"
SEEDS = CORPUS / "seeds"
TIME_CAP = 30.0  # seconds per mutant, all four commands together
MEMORY_CAP = 3 << 30  # bytes of address space per child (RLIMIT_AS)

_SPECIAL_INTS = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFE,
                 0xFFFFFFFF)
_XML_NUMBER = re.compile(rb'"(\d{1,9})"')
_XML_REF = re.compile(rb'r="([A-Z]{1,3})(\d{1,7})"')
_XML_TAG = re.compile(rb"<[^<>]{1,200}>")


# --------------------------------------------------------------------------- mutators


def _bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    if not b:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    op = rng.randrange(6)
    if op == 0:  # truncate
        return bytes(b[:rng.randrange(len(b))])
    for _ in range(rng.choice((1, 2, 4, 8, 16))):
        i = rng.randrange(len(b))
        if op == 1:
            b[i] = rng.randrange(256)
        elif op == 2:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 3:  # a special integer, as an OLE/BIFF/zip length or count
            width = rng.choice((2, 4))
            value = rng.choice(_SPECIAL_INTS) & ((1 << (8 * width)) - 1)
            b[i:i + width] = value.to_bytes(width, "little")
        elif op == 4:  # delete a run
            del b[i:i + rng.randrange(1, 64)]
            if not b:
                break
        else:  # duplicate a run
            j = rng.randrange(len(b))
            b[i:i] = b[j:j + rng.randrange(1, 64)]
    return bytes(b)


def _xml(rng: random.Random, xml: bytes) -> bytes:
    op = rng.randrange(7)
    if op == 0:  # a number attribute (count, index, style, size) made extreme
        spans = [m.span(1) for m in _XML_NUMBER.finditer(xml)]
        if spans:
            a, b = rng.choice(spans)
            value = rng.choice((b"0", b"-1", b"4294967295", b"99999999", b"1048576", b"65536"))
            return xml[:a] + value + xml[b:]
    if op == 1:  # a cell reference moved (far, nowhere, backwards)
        spans = [m.span() for m in _XML_REF.finditer(xml)]
        if spans:
            a, b = rng.choice(spans)
            ref = rng.choice((b'r="XFD1048576"', b'r="A1048576"', b'r="XFD1"', b'r="A0"',
                              b'r="ZZZZ1"', b'r=""', b'r="A1"', b'r="AAA99999999"'))
            return xml[:a] + ref + xml[b:]
    if op in (2, 3):  # a tag deleted or duplicated
        spans = [m.span() for m in _XML_TAG.finditer(xml)]
        if spans:
            a, b = rng.choice(spans)
            return xml[:a] + (xml[a:b] * rng.randrange(2, 40) if op == 3 else b"") + xml[b:]
    if op == 4:  # cut off
        return xml[:rng.randrange(len(xml) + 1)]
    if op == 5:  # deep nesting, an entity, odd text
        a = rng.randrange(len(xml) + 1)
        insert = rng.choice((b"<a>" * 5000, b"&#0;", b"&bogus;", b"\xff\xfe", b"\x00",
                             b"<![CDATA[", b'<c r="B2" t="s"><v>99999</v></c>',
                             b'<c r="C3" t="e"><v>#N/A</v></c>', b"\xe4\xb8"))
        return xml[:a] + insert + xml[a:]
    return _bytes(rng, xml)


def _zip(rng: random.Random, data: bytes) -> bytes:
    """Mutate one entry's content and re-zip (a consistent package with odd content), or
    the zip's own records (sizes, methods, names)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            entries = [(i, zf.read(i.filename)) for i in zf.infolist()]
    except Exception:
        return _bytes(rng, data)
    if not entries or rng.random() < 0.25:
        return _bytes(rng, data)
    out = io.BytesIO()
    k = rng.randrange(len(entries))
    op = rng.randrange(10)
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zw:
        warnings.simplefilter("ignore")  # a duplicate name is one of the mutations
        for n, (info, content) in enumerate(entries):
            name = info.filename
            if n == k:
                if op == 0:
                    continue  # the entry dropped
                if op == 1:
                    name = rng.choice(("../../evil.xlsx", "/abs.xml", name.upper(),
                                       name + "\x00", "xl/" + "a" * 300))
                elif op == 2:  # a nested copy of the whole package
                    content = data
                elif name.endswith((".xml", ".rels")) or name == "mimetype":
                    content = _xml(rng, content)
                else:
                    content = _bytes(rng, content)
            try:
                zw.writestr(name, content)
            except Exception:
                zw.writestr(info.filename, content)
    return out.getvalue()


def _email(rng: random.Random, data: bytes) -> bytes:
    op = rng.randrange(6)
    text = data
    if op == 0:  # a charset nobody knows, or a broken encoded word
        return text.replace(b"utf-8", rng.choice((b"x-unknown", b"gb2312", b"utf-7", b"")), 1)
    if op == 1:  # the MIME boundary broken
        m = re.search(rb'boundary="([^"]+)"', text)
        if m:
            return text.replace(m.group(1), m.group(1)[:-3], rng.randrange(1, 3))
    if op == 2:  # base64 body damaged
        lines = text.split(b"\n")
        i = rng.randrange(len(lines))
        lines[i] = _bytes(rng, lines[i])
        return b"\n".join(lines)
    if op == 3:  # an RFC 2231 / encoded-word file name made odd
        return re.sub(rb'filename="[^"]*"', rng.choice((
            b'filename="=?gbk?B?1ePB+s/YLnhsc3g=?="', b'filename="=?x-bad?Q?=ZZ?="',
            b"filename*=gb18030''%D5%E3.xlsx", b'filename="../../etc/passwd.xlsx"',
            b'filename=""')), text, count=1)
    if op == 4:  # headers multiplied
        return text.replace(b"\n", b"\nX-Spam: " + b"a" * 1000 + b"\n", rng.randrange(1, 50))
    return _bytes(rng, text)


def mutate(rng: random.Random, seed_name: str, data: bytes) -> bytes:
    """One mutant of ``data`` (a seed called ``seed_name``); one to three rounds."""
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if seed_name.endswith(".eml"):
            data = _email(rng, data)
        elif data[:2] == b"PK" and rng.random() < 0.8:
            data = _zip(rng, data)
        else:
            data = _bytes(rng, data)
    return data


# --------------------------------------------------------------------------- running


@dataclass
class Outcome:
    """What the child reported for one mutant (or how it died)."""

    verdicts: dict[str, str] = field(default_factory=dict)  # command → "ok"/code/"exc:..."
    problems: list[str] = field(default_factory=list)  # invariant violations
    died: str | None = None  # "signal 6", "timeout", … when the child did not report
    seconds: float = 0.0


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_one(kind: str, call: Callable[[], Any], path: Path | None,
             outcome: Outcome) -> Any:
    from xlz.core.errors import XlzError

    before = _sha(path) if path is not None else None
    wrote = False
    result = None
    try:
        result = call()
        wrote = bool(getattr(result, "written", False)) or kind == "fill"
        outcome.verdicts[kind] = "ok"
    except XlzError as exc:
        outcome.verdicts[kind] = exc.code
    except BaseException as exc:  # a verdict missing: the finding
        if isinstance(exc, KeyboardInterrupt):
            raise
        outcome.verdicts[kind] = f"exc:{type(exc).__name__}"
        outcome.problems.append(f"{kind}: no verdict: {type(exc).__name__}: {exc}\n"
                                + "".join(traceback.format_exception(exc))[-2000:])
    if path is not None and not wrote and path.exists() and _sha(path) != before:
        outcome.problems.append(f"{kind}: the input's bytes changed without an accepted "
                                "in-place write")
    return result


def check_all(data: bytes, name: str, work: Path, good_town: Path) -> Outcome:
    """Run the four commands on ``data`` (saved as ``name``) in this process."""
    import xlz
    from xlz.ops.consolidate import consolidate

    outcome = Outcome()
    start = time.monotonic()
    target = work / name
    for kind in ("check", "validate", "fill"):
        target.write_bytes(data)
        if kind == "check":
            _run_one(kind, lambda: xlz.validate(target, check=True), target, outcome)
        elif kind == "validate":
            _run_one(kind, lambda: xlz.validate(target), target, outcome)
        else:
            _run_one(kind, lambda: xlz.fill(target), target, outcome)
        for extra in work.glob("*.校验报告.xlsx"):
            extra.unlink()
    inbox = work / "inbox"
    shutil.rmtree(inbox, ignore_errors=True)
    inbox.mkdir()
    (inbox / name).write_bytes(data)
    shutil.copyfile(good_town, inbox / good_town.name)
    out = work / "市级.xlsx"
    result = _run_one("consolidate", lambda: consolidate([inbox], out, workers=1), None,
                      outcome)
    if result is not None:
        outcome.problems.extend(_consolidation_problems(result, out, inbox / name, data,
                                                        good_town.name))
    out.unlink(missing_ok=True)
    outcome.seconds = time.monotonic() - start
    return outcome


def _consolidation_problems(result: Any, out: Path, mutant: Path, data: bytes,
                            good: str) -> list[str]:
    problems = []
    if result.exit_code not in (0, 1, 2):
        problems.append(f"consolidate: exit {result.exit_code}")
    if not out.exists():
        problems.append("consolidate: no city workbook written")
    if mutant.read_bytes() != data:
        problems.append("consolidate: the inbox file changed")
    c = result.consolidation
    if not any(f.status == "accepted" and f.name.endswith(good) for f in c.files):
        problems.append("consolidate: the good town beside the mutant was not accepted")
    accepted = {(id(r.file), r.record.sheet, r.record.row)
                for rows in (c.projects, c.carriers, c.activities) for r in rows}
    listed = {(i.file, i.finding.sheet, i.finding.row) for i in c.issues}
    files_listed = {i.file for i in c.issues}
    for f in c.readable:
        for key in ("project", "carrier", "activity"):
            for record in f.records(key):
                if (id(f), record.sheet, record.row) not in accepted and \
                        (f.name, record.sheet, record.row) not in listed and \
                        f.name not in files_listed:
                    problems.append(f"consolidate: row {record.sheet}!{record.row} of "
                                    f"{f.name} reached neither the city workbook nor 问题清单")
                    return problems
    return problems


def warm_up() -> None:
    """Import what the children run before forking them (each then starts at once)."""
    import python_calamine  # noqa: F401

    import xlz
    import xlz.books.citybook
    import xlz.books.reportbook
    import xlz.io.inplace
    import xlz.ops.consolidate

    xlz.load_plan()


def run_isolated(data: bytes, name: str, good_town: Path, *, time_cap: float = TIME_CAP,
                 memory_cap: int = MEMORY_CAP) -> Outcome:
    """:func:`check_all` in a forked child with the caps; a child that dies or overruns
    is an outcome too."""
    warm_up()
    with tempfile.TemporaryDirectory(prefix="xlz-fuzz-") as tmp:
        work = Path(tmp)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            code = 0
            try:
                os.close(read_fd)
                faulthandler.disable()  # pytest's: a native crash is reported by status
                if not os.environ.get("XLZ_FUZZ_STDERR"):  # Rust's panic messages
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, 2)
                resource.setrlimit(resource.RLIMIT_AS, (memory_cap, memory_cap))
                outcome = check_all(data, name, work, good_town)
                payload = json.dumps(outcome.__dict__).encode()
                with os.fdopen(write_fd, "wb") as fh:
                    fh.write(payload)
            except BaseException:
                code = 3
            finally:
                os._exit(code)
        os.close(write_fd)
        start = time.monotonic()
        chunks = []
        died = None
        with os.fdopen(read_fd, "rb") as fh:
            os.set_blocking(fh.fileno(), False)
            while True:
                try:
                    chunk = fh.read()
                except BlockingIOError:
                    chunk = None
                if chunk:
                    chunks.append(chunk)
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    rest = fh.read()
                    if rest:
                        chunks.append(rest)
                    if os.WIFSIGNALED(status):
                        died = f"signal {os.WTERMSIG(status)}"
                    elif os.WEXITSTATUS(status) != 0:
                        died = f"exit {os.WEXITSTATUS(status)}"
                    break
                if time.monotonic() - start > time_cap:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    died = f"timeout ({time_cap:.0f} s)"
                    break
                time.sleep(0.005)
        if died is not None or not chunks:
            return Outcome(died=died or "no report", seconds=time.monotonic() - start)
        return Outcome(**json.loads(b"".join(chunks)))


def seeds() -> list[Path]:
    return sorted(p for p in SEEDS.iterdir() if p.is_file())


def good_town() -> Path:
    """The good submission beside every mutant: a town workbook of another town than the
    seeds', with no entries but its 填报信息 (standard 2 requires 数据截至日期)."""
    from tests.xlz_books import build

    path = Path(tempfile.gettempdir()) / f"xlz-fuzz-good-{os.getpid()}" / "如皋市科技招商填报表-九华镇.xlsx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        build(path, {}, town="jiuhua")
    return path


def save_finding(data: bytes, seed: Path, outcome: Outcome, folder: Path) -> Path:
    """Keep a mutant that broke an invariant (named by its hash) with what it did."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:12]
    path = folder / f"{seed.stem}-{digest}{seed.suffix}"
    path.write_bytes(data)
    path.with_name(path.name + ".json").write_text(
        json.dumps({"seed": seed.name, **outcome.__dict__}, ensure_ascii=False, indent=1),
        encoding="utf-8")
    return path

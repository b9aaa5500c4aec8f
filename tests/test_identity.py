"""One identity decision (xlz.core.identity) through all four doors.

A real filled town workbook is altered the way such files come about — a mail gateway
or converter dropping docProps, a clerk un-hiding ``_xlz`` and typing into it (by zip
edits here, and in LibreOffice for the ``libreoffice`` tests), a file saved under another
town's name — and each variant goes through ``xlz validate --check``, ``xlz fill``, the
add-in's entry points (xlwings' remote engine, as in test_live.py) and ``consolidate``.
They must agree: accepted or refused, the same town, the same file findings. A door
that refuses leaves the file's bytes as they were.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import xlz
from xlz.books.townbook import build_town_workbook
from xlz.cli import main
from xlz.core import layout as L
from xlz.core.identity import Evidence, GuideTown, identify, towns_named_in
from xlz.io.intake import InputError
from xlz.io.read import read_workbook
from xlz.ops.consolidate import consolidate
from xlz.ops.demo import sample_entries
from xlz.ops.workbook import identify_workbook

PLAN = xlz.load_plan()
TOWN = "dingyan"
NAME = "丁堰镇.xlsx"
META_ROW = {key: i + 1 for i, key in enumerate(
    (L.META_TEMPLATE, L.META_STANDARD, L.META_PLAN, L.META_TOWN, L.META_GENERATED))}
# The file findings of identity; consolidation adds per-row lines of its own.
IDENTITY_CODES = frozenset({
    "file.not_template", "file.wrong_kind", "file.standard_mismatch", "file.plan_mismatch",
    "file.town_unknown", "file.town_from_cell", "file.town_conflict", "file.meta_conflict",
    "file.meta_incomplete", "file.name_other_town",
})

Parts = dict[str, bytes]


# ------------------------------------------------------------------ zip-part edits


def read_parts(path: Path) -> Parts:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def write_parts(path: Path, parts: Parts) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def _meta_sheet_part(parts: Parts) -> str:
    workbook = parts["xl/workbook.xml"].decode()
    rid = re.search(r'<sheet name="_xlz"[^>]*r:id="([^"]+)"', workbook)
    assert rid is not None
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    target = re.search(rf'<Relationship Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels)
    assert target is not None
    return "xl/" + target.group(1).lstrip("/").removeprefix("xl/")


def drop_property(key: str) -> Callable[[Parts], None]:
    def edit(parts: Parts) -> None:
        xml = parts["docProps/custom.xml"].decode()
        stripped = re.sub(rf'<property [^>]*name="{re.escape(key)}">.*?</property>', "", xml)
        assert stripped != xml
        parts["docProps/custom.xml"] = stripped.encode()
    return edit


def strip_docprops(parts: Parts) -> None:
    """What a mail gateway that strips document properties leaves: no custom.xml, and
    neither the relationship nor the content type pointing to it."""
    del parts["docProps/custom.xml"]
    parts["_rels/.rels"] = re.sub(rb'<Relationship [^>]*Target="docProps/custom.xml"/>', b"",
                                  parts["_rels/.rels"])
    parts["[Content_Types].xml"] = re.sub(rb'<Override PartName="/docProps/custom.xml"[^>]*/>',
                                          b"", parts["[Content_Types].xml"])


def show_and_edit_meta(key: str, value: str) -> Callable[[Parts], None]:
    """Un-hide _xlz and type ``value`` as the value of ``key`` (column B)."""
    def edit(parts: Parts) -> None:
        parts["xl/workbook.xml"] = re.sub(rb'(<sheet name="_xlz"[^>]*?) state="veryHidden"',
                                          rb"\1", parts["xl/workbook.xml"])
        part = _meta_sheet_part(parts)
        ref = f"B{META_ROW[key]}"
        xml = parts[part].decode()
        edited = re.sub(rf'<c r="{ref}"[^>]*?(/>|>.*?</c>)',
                        f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>', xml, count=1)
        assert edited != xml
        parts[part] = edited.encode()
    return edit


def forget_meta_sheet(parts: Parts) -> None:
    """Keys on _xlz no longer read as xlz.* (as if the sheet had been cleared)."""
    part = _meta_sheet_part(parts)
    strings = parts["xl/sharedStrings.xml"]
    parts["xl/sharedStrings.xml"] = strings.replace(b"<t>xlz.", b"<t>old.")
    assert parts["xl/sharedStrings.xml"] != strings or b"xlz." in parts[part]


# ------------------------------------------------------------------ the matrix


@dataclass(frozen=True)
class Case:
    id: str
    edits: tuple[Callable[[Parts], None], ...]
    accepted: bool
    town: str | None
    codes: frozenset[str]
    name: str = NAME


CASES = [
    Case("intact", (), True, TOWN, frozenset()),
    *(Case(f"property-{key}-missing", (drop_property(key),), True, TOWN,
           frozenset({"file.meta_incomplete"})) for key in META_ROW),
    Case("docprops-stripped", (strip_docprops,), True, TOWN,
         frozenset({"file.meta_incomplete"})),
    Case("xlz-town-edited", (show_and_edit_meta(L.META_TOWN, "motou"),), False, None,
         frozenset({"file.meta_conflict"})),
    Case("xlz-template-edited", (show_and_edit_meta(L.META_TEMPLATE, "city"),), False, None,
         frozenset({"file.meta_conflict"})),
    Case("xlz-standard-edited", (show_and_edit_meta(L.META_STANDARD, "3"),), False, TOWN,
         frozenset({"file.meta_conflict"})),
    # Without properties, _xlz alone speaks for the metadata — and the 镇区 cell on
    # 填报说明 contradicts it: no town.
    Case("docprops-stripped-xlz-town-edited",
         (strip_docprops, show_and_edit_meta(L.META_TOWN, "motou")), False, None,
         frozenset({"file.meta_incomplete", "file.town_conflict"})),
    Case("named-for-another-town", (), True, TOWN, frozenset({"file.name_other_town"}),
         name="磨头镇.xlsx"),
    Case("no-metadata-left", (strip_docprops, forget_meta_sheet), False, None,
         frozenset({"file.not_template"})),
]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("filled") / NAME
    build_town_workbook(PLAN, TOWN, path, sample_entries(PLAN, TOWN))
    assert xlz.validate(path, check=True).report.counts() == {"错误": 0, "提醒": 0}
    return path


def make_variant(filled: Path, case: Case, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    parts = read_parts(filled)
    for edit in case.edits:
        edit(parts)
    return write_parts(folder / case.name, parts)


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    town: str | None
    codes: frozenset[str]


def _codes(codes: Any) -> frozenset[str]:
    return frozenset(c for c in codes if c in IDENTITY_CODES)


def via_validate(path: Path) -> Outcome:
    """``xlz validate --check --json``: accepted = exit 0 (the entries are clean)."""
    result = CliRunner().invoke(main, ["validate", "--check", "--json", str(path)])
    data = json.loads(result.stdout)["files"][0]
    identity = identify_workbook(read_workbook(path), name=path.name)
    town = identity.town.code if identity.town else None
    return Outcome(result.exit_code == 0, town, _codes(f["code"] for f in data["findings"]))


def via_fill(path: Path) -> Outcome:
    """``xlz fill``: accepted = it wrote the summaries; refused = InputError, file as it was."""
    before = path.read_bytes()
    try:
        result = xlz.fill(path)
    except InputError as exc:
        assert path.read_bytes() == before, "fill refused but changed the file"
        return Outcome(False, None, frozenset({exc.code}) & IDENTITY_CODES)
    assert result.written and path.read_bytes() != before
    after = identify_workbook(read_workbook(path), name=path.name)
    return Outcome(True, after.town.code if after.town else None,
                   _codes(f.code for f in result.report))


def via_live(path: Path) -> Outcome:
    """The add-in's buttons on the open book (remote engine; the book's full name is the
    saved file, whose properties the entry points read as on a desktop)."""
    from tests.test_live import book_json

    xw = pytest.importorskip("xlwings")
    from xlz import live

    data = book_json(path)
    data["book"]["name"] = str(path)
    book = xw.Book(json=data)
    identity = live.identify_book(live.read_book(book))
    report = live.fill_book(book)
    wrote = bool(book.json()["actions"])
    assert wrote == identity.accepted
    checked = xw.Book(json=data)
    validated = live.validate_book(checked)
    assert _codes(f.code for f in validated) == _codes(f.code for f in report)
    town = identity.town.code if identity.town else None
    return Outcome(wrote and validated.ok, town, _codes(f.code for f in validated))


def via_consolidate(path: Path, out: Path) -> Outcome:
    before = path.read_bytes()
    result = consolidate([path], out, PLAN)
    assert path.read_bytes() == before
    (file,) = result.consolidation.files
    town = file.town.code if file.town else None
    return Outcome(file.status == "accepted", town,
                   _codes(f.code for f in file.report))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_four_doors_agree(case: Case, filled: Path, tmp_path: Path) -> None:
    expected = Outcome(case.accepted, case.town, case.codes)
    checked = make_variant(filled, case, tmp_path / "check")
    before = checked.read_bytes()
    assert via_validate(checked) == expected
    assert checked.read_bytes() == before  # --check never writes
    assert via_live(checked) == expected
    assert checked.read_bytes() == before
    assert via_consolidate(checked, tmp_path / "city.xlsx") == expected
    filled_copy = make_variant(filled, case, tmp_path / "fill")
    got = via_fill(filled_copy)
    # fill names the refusal's first error only; an accepted file carries all findings.
    if case.accepted:
        assert got == expected
    else:
        assert not got.accepted and got.codes <= case.codes and got.codes


# ------------------------------------------------------------------ in LibreOffice


@pytest.mark.libreoffice
def test_libreoffice_keeps_the_properties_and_an_edited_xlz_is_a_conflict(
        filled: Path, tmp_path: Path) -> None:
    """A clerk opens the file in LibreOffice: a plain save keeps the custom properties
    (and turns very hidden into hidden); typing another town into _xlz is a conflict that
    every door reports and none resolves silently."""
    from tests.lo.harness import run_job

    saved, edited = tmp_path / "saved" / NAME, tmp_path / "edited" / NAME
    saved.parent.mkdir()
    edited.parent.mkdir()
    run_job([{"op": "open", "path": str(filled)}, {"op": "save", "path": str(saved)},
             {"op": "set", "cells": [{"cell": f"_xlz!B{META_ROW[L.META_TOWN]}",
                                      "value": "motou"}]},
             {"op": "save", "path": str(edited)}], check=True)
    with zipfile.ZipFile(saved) as zf:
        custom = zf.read("docProps/custom.xml").decode()
    assert all(f'name="{key}"' in custom for key in META_ROW)
    for path, expected in ((saved, Outcome(True, TOWN, frozenset())),
                           (edited, Outcome(False, None, frozenset({"file.meta_conflict"})))):
        before = path.read_bytes()
        got_validate = via_validate(path)
        assert got_validate.town == expected.town and got_validate.codes == expected.codes
        assert via_consolidate(path, tmp_path / "city.xlsx") == Outcome(
            expected.accepted and got_validate.accepted, expected.town, expected.codes)
        live_got = via_live(path)
        assert (live_got.town, live_got.codes) == (expected.town, expected.codes)
        copy = tmp_path / "fill" / path.parent.name / NAME
        copy.parent.mkdir(parents=True)
        shutil.copy(path, copy)
        fill_got = via_fill(copy)
        assert fill_got.accepted == expected.accepted
        assert path.read_bytes() == before


# ------------------------------------------------------------------ the decision itself


def _evidence(props: dict[str, str] | None, sheet: dict[str, str] | None,
              name: str = NAME, cell: str | None = None) -> Evidence:
    guide = GuideTown(cell, L.STATUS_ROWS["town"], 1) if cell is not None else None
    return Evidence(name, props, sheet, guide)


META = {L.META_TEMPLATE: "town", L.META_STANDARD: "1", L.META_PLAN: PLAN.id,
        L.META_TOWN: TOWN, L.META_GENERATED: "2023-02-01T00:00:00"}


def test_properties_invisible_to_the_reader_are_not_missing() -> None:
    found = identify(_evidence(None, META), PLAN)
    assert found.accepted and found.findings == ()


def test_a_conflict_is_never_resolved_by_the_town_cell() -> None:
    found = identify(_evidence(META, {**META, L.META_TOWN: "motou"}, cell="丁堰镇"), PLAN)
    assert found.town is None and not found.accepted
    (finding,) = found.findings
    assert finding.code == "file.meta_conflict" and "motou" in finding.message
    assert "dingyan" in finding.message and finding.sheet == "_xlz"


def test_kinds() -> None:
    city = identify(_evidence({**META, L.META_TEMPLATE: "city", L.META_TOWN: ""},
                              {**META, L.META_TEMPLATE: "city", L.META_TOWN: ""}), PLAN)
    assert city.kind == "city" and [f.code for f in city.findings] == ["file.wrong_kind"]
    report = identify(_evidence({}, None, name="丁堰镇.校验报告.xlsx"), PLAN)
    assert report.kind == "report" and "校验报告" in report.findings[0].message
    plain = identify(_evidence({}, None, name="随手表.xlsx"), PLAN)
    assert plain.kind == "none" and [f.code for f in plain.findings] == ["file.not_template"]


def test_a_report_is_known_by_its_metadata_whatever_its_name() -> None:
    meta = {L.META_TEMPLATE: "report", L.META_STANDARD: L.STANDARD_VERSION}
    report = identify(_evidence(meta, meta, name="丁堰镇.xlsx"), PLAN)
    assert report.kind == "report" and not report.accepted
    # A note, not a 错误: skipping our own output is not a failed submission.
    assert [f.code for f in report.findings] == ["file.own_report"] and report.ok


def test_town_cell_fallback_and_conflict() -> None:
    no_town = {k: v for k, v in META.items() if k != L.META_TOWN}
    found = identify(_evidence(no_town, no_town, name="填报表.xlsx", cell="如皋港"), PLAN)
    assert found.town is not None and found.town.code == "changjiang" and found.accepted
    assert [f.code for f in found.findings] == ["file.town_from_cell"]
    clash = identify(_evidence(META, META, cell="东陈镇"), PLAN)
    assert clash.town is None and [f.code for f in clash.findings] == ["file.town_conflict"]


def test_towns_named_in_a_file_name() -> None:
    assert [t.code for t in towns_named_in("如皋高新技术产业开发区-0630.xlsx", PLAN)] == ["gaoxin"]
    assert [t.code for t in towns_named_in("丁堰镇科技招商填报表.xlsx", PLAN)] == [TOWN]
    assert towns_named_in("填报表(1).xlsx", PLAN) == []

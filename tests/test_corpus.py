"""Damaged and odd files (tests/corpus/, issue 15): each one through ``validate`` and
``consolidate`` ends in a verdict — exit 0, 1 or 2 with a Chinese message, never a
traceback — and consolidate still writes the city workbook with the good town beside it.

The files, each small and made here (tests/corpus/README.md says how):

- ``calamine-panic-cfb-slice.xls``: found by the fuzzer (one byte of a LibreOffice .xls
  changed); python-calamine panics (``PanicException``, a ``BaseException``) in its OLE
  reader. Before the reader boundary: a traceback from ``validate``, and no city workbook.
- ``far-cell-XFD1048576.xlsx``: A1 and one value in the last cell of the sheet; calamine
  would allocate 512 GB for the dense grid and abort the process. Refused first.
- ``sst-uniquecount-4294967295.xlsx``: found by the fuzzer (one attribute of a town
  workbook changed): calamine reserves room for 2³² shared strings (103 GB) and aborts.
  Refused first.
- ``cell-row-99999999.xlsx``: found by the fuzzer: a cell reference past Excel's last
  row (``AAA99999999``), which the first extent check did not parse. Refused.
- ``password-libreoffice.xls``: saved by LibreOffice with an open password (RC4).
- ``zero-byte.xlsx``, ``truncated-half.xlsx``, ``xls-renamed.xlsx`` (an .xls by content).
- ``traversal.zip``: member names ``../../../tmp/…`` and ``/abs/…``.
- ``odd-encodings.eml``: GBK/GB2312/GB18030 encoded words, an unknown charset, an RFC 2231
  name and an attachment whose base64 is garbage.
- ``native/``: files on which the reader kills the process itself (tested with the pool
  in tests/test_pool_crash.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.xlz_books import build
from xlz.cli import main
from xlz.ops.consolidate import consolidate

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(p for p in CORPUS.iterdir() if p.is_file() and p.suffix != ".md")
GOOD = Path("如皋市科技招商填报表-九华镇.xlsx")  # built per test: no entries, 填报信息 filled

# The verdict each file must keep (the rule code of its refusal, or "ok").
EXPECTED = {
    "calamine-panic-cfb-slice.xls": "file.reader_crashed",
    "far-cell-XFD1048576.xlsx": "file.too_large",
    "sst-uniquecount-4294967295.xlsx": "file.corrupt",
    "cell-row-99999999.xlsx": "file.too_large",
    "password-libreoffice.xls": "file.encrypted",
    "zero-byte.xlsx": "file.empty",
    "truncated-half.xlsx": "file.corrupt",
    "xls-renamed.xlsx": "ok",
}


def test_the_corpus_is_small() -> None:
    for path in CORPUS.rglob("*"):
        if path.is_file():
            assert path.stat().st_size < 100_000, path


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_validate_gives_a_verdict(path: Path, tmp_path: Path) -> None:
    target = tmp_path / path.name
    shutil.copyfile(path, target)
    for args in (["validate", "--check", str(target)], ["validate", str(target)]):
        result = CliRunner().invoke(main, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            result.exception
        assert result.exit_code in (0, 1, 2), result.output
        assert "Traceback" not in result.output
        if path.name in EXPECTED and EXPECTED[path.name] != "ok":
            assert result.exit_code == 2
        if result.exit_code == 2:
            assert "✗" in result.output and path.name in result.output
    if path.suffix in (".xls", ".zip", ".eml") or path.name in EXPECTED:
        assert target.read_bytes() == path.read_bytes()  # never written (refused or .xls)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_consolidate_lists_it_and_goes_on(path: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    shutil.copyfile(path, inbox / path.name)
    build(inbox / GOOD.name, {}, town="jiuhua")
    out = tmp_path / "市级.xlsx"
    result = consolidate([inbox], out)
    assert out.exists()
    files = result.consolidation.files
    assert any(f.status == "accepted" and f.name.endswith(GOOD.name) for f in files)
    ours = [f for f in files if path.name in f.name or path.stem in f.name]
    assert ours, [f.name for f in files]
    expected = EXPECTED.get(path.name)
    if expected is not None and expected != "ok":
        assert result.exit_code == 1
        codes = {i.finding.code for i in result.consolidation.issues}
        assert expected in codes, codes


def test_the_panicking_file_is_the_boundarys_finding(tmp_path: Path) -> None:
    import xlz
    from xlz.core.errors import InputError

    target = tmp_path / "x.xls"
    shutil.copyfile(CORPUS / "calamine-panic-cfb-slice.xls", target)
    with pytest.raises(InputError) as err:
        xlz.validate(target, check=True)
    assert err.value.code == "file.reader_crashed"
    assert "x.xls" in err.value.message and "另存为" in err.value.message
    assert "PanicException" in err.value.message


def _full_scans(xml: bytes) -> int:
    """How many times too_large scans ``xml`` reference by reference."""
    from unittest import mock

    from xlz.ooxml import extent

    with mock.patch.object(extent, "sheet_extent", wraps=extent.sheet_extent) as scan:
        extent.too_large(xml, 10_000_000)
    return scan.call_count


def test_the_extent_check_reads_what_calamine_reads() -> None:
    from xlz.ooxml.extent import impossible_string_count, too_large

    cap = 10_000_000
    assert too_large(b'<c r="A1"/><c r="U4001"/>', cap) is None  # a town sheet
    for far in (b'<c r="A1"/><c r="XFD1048576"/>', b'<c r="A1"/><c r="AAA99999999"/>',
                b'<row r="99999999"><c><v>1</v></c></row><row r="1"/>',
                b'<c\tr="A1"/><c\nr="xfd1048576"/>'):
        assert too_large(far, cap) is not None, far
    assert too_large(b'<c r="XFD1048576"/>', cap) is None  # one cell far out: a 1 x 1 grid
    # Excel's worksheet root declares xmlns:r="http://...": not a far reference, so a
    # near sheet is passed by the one search, without the full scan.
    root = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">')
    assert _full_scans(root + b'<row r="9999"><c r="ZZ9999"/></row></worksheet>') == 0
    assert _full_scans(root + b'<row r="10000"><c r="A10000"/></row></worksheet>') == 1
    assert _full_scans(root + b'<row r="1"><c r="AAA1"/></row></worksheet>') == 1
    sst = b'<sst xmlns="x" count="2" uniqueCount="%d"><si><t>a</t></si><si><t>b</t></si></sst>'
    assert impossible_string_count(sst % 2) is None
    assert impossible_string_count(sst % 4294967295) == 4294967295


@pytest.mark.parametrize("name", ["far-cell-XFD1048576.xlsx", "cell-row-99999999.xlsx",
                                  "sst-uniquecount-4294967295.xlsx"])
def test_the_guard_pass_measures_what_the_extent_check_measures(name: str) -> None:
    """read_workbook takes the extent check's verdict from the guard's inflation pass
    when it has one (consolidate, validate) and inflates the sheets again when not:
    both must refuse the same file with the same code and message."""
    from xlz.io.intake import InputError
    from xlz.io.read import MAX_SHEET_CELLS, check_extents, read_workbook, refused
    from xlz.ooxml.guard import guard_package

    path = CORPUS / name
    with pytest.raises(InputError) as again:
        check_extents(path)
    why = guard_package(path, max_cells=MAX_SHEET_CELLS).refusal
    assert why is not None
    measured = refused(path, why)
    assert (measured.code, measured.message) == (again.value.code, again.value.message)
    with pytest.raises(InputError) as read:
        read_workbook(path)
    assert (read.value.code, read.value.message) == (again.value.code, again.value.message)
    assert guard_package(path).refusal is None  # measured only when asked

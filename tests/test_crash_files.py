"""Files that crashed ``xlz validate``/``xlz fill`` with a traceback (issue 10): each now
gives exit 2 with a Chinese message naming the file, the rest of the batch is processed,
``--json`` lists every file, and the bad file's bytes do not change.

The bad files are made from a real generated town workbook, the way the software that
produces them does it: Strict Open XML (what Excel's "Strict Open XML 电子表格" save
does: the same package with the purl.oclc.org namespaces), a part compressed with
Deflate64 (zip method 9, as some archivers repack), a DTD with an entity declaration in
``xl/workbook.xml``, and a full disk while writing in place.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import struct
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import xlz
from tests.xlz_books import build
from xlz.cli import main
from xlz.core.errors import InputError, OutputError, PackageError, PlanError, XlzError

_T = "http://schemas.openxmlformats.org/"
_STRICT = {  # transitional → strict (ISO/IEC 29500-1 Strict), longest first
    _T + "officeDocument/2006/relationships": "http://purl.oclc.org/ooxml/officeDocument/relationships",
    _T + "officeDocument/2006/docPropsVTypes": "http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes",
    _T + "officeDocument/2006/custom-properties": "http://purl.oclc.org/ooxml/officeDocument/customProperties",
    _T + "officeDocument/2006/extended-properties": "http://purl.oclc.org/ooxml/officeDocument/extendedProperties",
    _T + "spreadsheetml/2006/main": "http://purl.oclc.org/ooxml/spreadsheetml/main",
    _T + "drawingml/2006/main": "http://purl.oclc.org/ooxml/drawingml/main",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("tpl") / "town.xlsx")


def _rewrite_parts(src: Path, dst: Path, change: dict[str, object]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            fn = change.get(info.filename) or change.get("*")
            if callable(fn):
                data = fn(info.filename, data)
            zout.writestr(info, data)
    return dst


def strict(template: Path, dst: Path) -> Path:
    def convert(name: str, data: bytes) -> bytes:
        if not name.endswith((".xml", ".rels")):
            return data
        text = data.decode("utf-8")
        for old, new in _STRICT.items():
            text = text.replace(old, new)
        if name == "xl/workbook.xml":
            text = text.replace("<workbook ", '<workbook conformance="strict" ', 1)
        return text.encode("utf-8")

    out = _rewrite_parts(template, dst, {"*": convert})
    with zipfile.ZipFile(out) as zf:  # it is what it claims to be
        assert b"purl.oclc.org/ooxml/spreadsheetml/main" in zf.read("xl/workbook.xml")
        assert _T.encode() + b"spreadsheetml" not in zf.read("xl/worksheets/sheet2.xml")
    return out


def deflate64(template: Path, dst: Path, part: str) -> Path:
    """The template with ``part``'s compression method set to 9 (Deflate64) in its local
    and central headers, as a repacking archiver leaves it."""
    data = bytearray(template.read_bytes())
    with zipfile.ZipFile(template) as zf:
        local = zf.getinfo(part).header_offset
    assert data[local:local + 4] == b"PK\x03\x04"
    assert struct.unpack_from("<H", data, local + 8)[0] == zipfile.ZIP_DEFLATED
    struct.pack_into("<H", data, local + 8, 9)
    end = data.rfind(b"PK\x05\x06")
    count, _, start = struct.unpack_from("<HII", data, end + 10)
    pos, patched = start, 0
    for _ in range(count):
        assert data[pos:pos + 4] == b"PK\x01\x02"
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        if data[pos + 46:pos + 46 + name_len].decode() == part:
            struct.pack_into("<H", data, pos + 10, 9)
            patched += 1
        pos += 46 + name_len + extra_len + comment_len
    assert patched == 1
    dst.write_bytes(bytes(data))
    with zipfile.ZipFile(dst) as zf:
        assert zf.getinfo(part).compress_type == 9
    return dst


def dtd(template: Path, dst: Path) -> Path:
    def add(_: str, data: bytes) -> bytes:
        out = re.sub(rb"(<\?xml[^>]*\?>)", rb'\1<!DOCTYPE workbook [<!ENTITY t "x">]>', data,
                     count=1)
        assert out != data
        return out

    return _rewrite_parts(template, dst, {"xl/workbook.xml": add})


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _batch(template: Path, folder: Path) -> tuple[Path, Path]:
    good1, good2 = folder / "甲镇.xlsx", folder / "乙镇.xlsx"
    shutil.copy(template, good1)
    shutil.copy(template, good2)
    return good1, good2


def assert_batch(command: str, good1: Path, bad: Path, good2: Path, code: str) -> None:
    """``xlz COMMAND good1 bad good2 --json``: exit 2, the bad file reported with
    ``code`` and a message naming it, both good files processed, bad bytes unchanged,
    nothing left beside the bad file."""
    before = bad.read_bytes()
    listing = sorted(bad.parent.iterdir())
    good_before = good1.read_bytes()
    exit_code, out, err = run(command, "--json", str(good1), str(bad), str(good2))
    assert exit_code == 2, err
    assert "Traceback" not in err + out
    data = json.loads(out)
    assert [Path(f["path"]).name for f in data["files"]] == [good1.name, good2.name]
    assert all(f["written"] for f in data["files"])  # processed in place
    assert good1.read_bytes() != good_before
    [failure] = data["unreadable"]
    assert failure["code"] == code and Path(failure["path"]).name == bad.name
    assert bad.name in failure["message"] and "请" in failure["message"]  # says what to do
    assert bad.name in err
    assert bad.read_bytes() == before
    assert sorted(bad.parent.iterdir()) == listing


@pytest.mark.parametrize("command", ["validate", "fill"])
def test_strict_open_xml(template: Path, tmp_path: Path, command: str) -> None:
    bad = strict(template, tmp_path / "严格格式.xlsx")
    # it is readable: --check works, only writing is refused
    assert run("validate", "--check", str(bad))[0] == 1
    good1, good2 = _batch(template, tmp_path)
    assert_batch(command, good1, bad, good2, "file.strict_ooxml")


@pytest.mark.parametrize("part", ["xl/workbook.xml", "docProps/custom.xml",
                                  "[Content_Types].xml", "xl/worksheets/sheet2.xml"])
@pytest.mark.parametrize("command", ["validate", "fill"])
def test_deflate64_part(template: Path, tmp_path: Path, command: str, part: str) -> None:
    bad = deflate64(template, tmp_path / "重新打包.xlsx", part)
    good1, good2 = _batch(template, tmp_path)
    assert_batch(command, good1, bad, good2, "file.unsupported_compression")
    with pytest.raises(InputError) as err:
        getattr(xlz, command)(bad)
    assert part in err.value.message and "Deflate64" in err.value.message


@pytest.mark.parametrize("command", ["validate", "fill"])
def test_dtd_in_workbook_part(template: Path, tmp_path: Path, command: str) -> None:
    bad = dtd(template, tmp_path / "文档类型.xlsx")
    good1, good2 = _batch(template, tmp_path)
    assert_batch(command, good1, bad, good2, "file.unsafe_xml")


# --- a full disk ----------------------------------------------------------------------


@contextlib.contextmanager
def _small_tmpfs(where: Path) -> Iterator[bool]:
    """A 256 KiB tmpfs at ``where`` when running as root and mount works; yields False
    (and mounts nothing) otherwise."""
    where.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        yield False
        return
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "xlz-test", str(where)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", str(where)], check=False)


def _fill_disk(folder: Path) -> None:
    with (folder / "filler.bin").open("wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


@pytest.mark.parametrize("command", ["validate", "fill"])
def test_full_disk(template: Path, tmp_path: Path, command: str,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The bad file sits on a full disk: a real 256 KiB tmpfs filled to the last block
    when the test runs as root and ``mount`` works; otherwise ENOSPC is injected where
    the package writer writes (``xlz.ooxml.zipcopy.rewrite`` writes part of the file,
    then the OS error is raised, as a full disk does). The good files are on another
    disk and are processed."""
    good1, good2 = _batch(template, tmp_path)
    with _small_tmpfs(tmp_path / "disk") as mounted:
        bad = tmp_path / "disk" / "满盘.xlsx"
        shutil.copy(template, bad)
        if mounted:
            _fill_disk(bad.parent)
        else:
            import xlz.io.inplace as inplace
            import xlz.ooxml.zipcopy as zc

            real, real_atomic = zc.rewrite, inplace.atomic_write
            target: list[Path] = []

            def tracking(path: Path, write: object) -> None:
                target[:] = [path]
                real_atomic(path, write)  # type: ignore[arg-type]

            def full(data: bytes, replacements: dict[str, bytes], out: object,
                     *args: object, **kwargs: object) -> None:
                if target and target[0].parent == bad.parent:
                    out.write(data[: len(data) // 2])  # type: ignore[attr-defined]
                    raise OSError(errno.ENOSPC, "No space left on device")
                real(data, replacements, out, *args, **kwargs)  # type: ignore[arg-type]

            monkeypatch.setattr(zc, "rewrite", full)
            monkeypatch.setattr(inplace, "atomic_write", tracking)
        assert_batch(command, good1, bad, good2, "output.disk_full")
        with pytest.raises(OutputError) as err:
            getattr(xlz, command)(bad)
        assert err.value.code == "output.disk_full" and "磁盘空间不足" in err.value.message


# --- the boundary ---------------------------------------------------------------------


def test_unexpected_error_is_an_internal_error(template: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A defect (here: a KeyError injected into the validator) is reported in Chinese as
    an internal error naming the file, the batch goes on, and the traceback is shown only
    with XLZ_DEBUG."""
    import xlz.ops.workbook as ops

    real = ops.validate_values
    victim = tmp_path / "丙镇.xlsx"
    shutil.copy(template, victim)

    def broken(sheets: object, plan: object, *, source: str, **kw: object) -> object:
        if source == victim.name:
            raise KeyError("项目信息")
        return real(sheets, plan, source=source, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ops, "validate_values", broken)
    good1, good2 = _batch(template, tmp_path)
    before = victim.read_bytes()
    exit_code, out, err = run("validate", "--json", str(good1), str(victim), str(good2))
    assert exit_code == 2 and "Traceback" not in err + out
    data = json.loads(out)
    assert len(data["files"]) == 2
    assert data["unreadable"][0]["code"] == "package.internal"
    assert "内部错误" in err and victim.name in err and "XLZ_DEBUG" in err
    assert victim.read_bytes() == before
    with pytest.raises(PackageError) as caught:
        xlz.validate(victim)
    assert isinstance(caught.value.__cause__, KeyError)
    monkeypatch.setenv("XLZ_DEBUG", "1")
    _, _, err = run("validate", str(victim))
    assert "Traceback" in err and "raise KeyError" in err


def test_plan_errors(tmp_path: Path, template: Path) -> None:
    with pytest.raises(PlanError) as err:
        xlz.load_plan("没有这个计划")
    assert err.value.code == "plan.not_found" and "rugao-2023" in err.value.message
    bad = tmp_path / "计划.json"
    bad.write_text('{"id": 1}', encoding="utf-8")
    with pytest.raises(PlanError) as err:
        xlz.load_plan(bad)
    assert err.value.code == "plan.invalid" and "计划.json" in err.value.message
    for args in (["validate", "--plan", str(bad), str(template)], ["plan", "--plan", "没有"],
                 ["templates", "--out", str(tmp_path / "t"), "--plan", str(bad)]):
        exit_code, out, err_text = run(*args)
        assert exit_code == 2 and "Traceback" not in out + err_text
        assert "计划" in err_text


def test_error_tree_codes_are_in_the_catalogue() -> None:
    for cls in (InputError, OutputError, PlanError, PackageError):
        assert issubclass(cls, XlzError)
    assert xlz.InputError is InputError
    for code in ("file.strict_ooxml", "file.unsupported_compression", "file.unsafe_xml",
                 "output.disk_full", "output.denied", "output.write_failed",
                 "package.internal", "package.broken", "plan.not_found", "plan.invalid"):
        assert code in xlz.RULES

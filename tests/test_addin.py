"""The 科技招商 add-in: compression, compound file, VBA project, package, LibreOffice run."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import olefile
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oletools.olevba import VBA_Parser, decompress_stream

from xlz.addin import MACROS_DIR, PROJECT_NAME, build_addin, build_test_workbook
from xlz.addin.cfb import write_compound_file
from xlz.addin.ovba import compress, decompress
from xlz.addin.vbaproject import decrypt, encrypt
from xlz.addin.xlam import ADDIN_CONTENT_TYPE, CUSTOM_UI_REL_TYPE, XLSM_CONTENT_TYPE

VERSION = "9.8.7"
CUSTOM_UI_NS = "{http://schemas.microsoft.com/office/2009/07/customui}"


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")


def _sources() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(MACROS_DIR.glob("*.bas"))}


# --- MS-OVBA compression ------------------------------------------------------------------

# Text-like input: repeated fragments (Chinese included) produce copy tokens at every
# offset/length split; arbitrary binary produces raw chunks.
_fragments = st.sampled_from(
    [b"a", b"ab", b"Sub ", b"End Sub\r\n", "校验提示".encode("cp936"), b"\x00", b"\xff\xfe"]
)
_texty = st.lists(_fragments, max_size=3000).map(b"".join)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=12000), _texty))
def test_ovba_round_trip_and_oletools_agree(data: bytes) -> None:
    packed = compress(data)
    assert decompress(packed) == data
    assert bytes(decompress_stream(bytearray(packed))) == data


@pytest.mark.parametrize("size", [0, 1, 3, 4095, 4096, 4097, 8192, 8193, 3700, 12345])
@pytest.mark.parametrize("kind", ["random", "zeros", "source"])
def test_ovba_chunk_boundaries(size: int, kind: str) -> None:
    import random

    rng = random.Random(size)
    source = "".join(_sources().values()).encode("cp936")
    data = {
        "random": bytes(rng.getrandbits(8) for _ in range(size)),
        "zeros": bytes(size),
        "source": (source * (size // max(len(source), 1) + 1))[:size],
    }[kind]
    packed = compress(data)
    assert decompress(packed) == data
    assert bytes(decompress_stream(bytearray(packed))) == data
    if kind != "random" and size >= 64:
        assert len(packed) < size  # really compressed, not stored raw


def test_ovba_decompresses_the_specification_example() -> None:
    # MS-OVBA 3.2.3 "Normal Compression" example.
    packed = bytes.fromhex(
        "012FB00023616161626364658266007061676869"
        "6A013808616B6C00306D6E6F70067102700410727374757610"
        "7778797A003C"
    )
    assert decompress(packed) == b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300).map(lambda b: b"\x01" + b))
def test_ovba_decompress_rejects_garbage_cleanly(data: bytes) -> None:
    try:
        decompress(data)
    except ValueError:
        pass


# --- compound file ------------------------------------------------------------------------


def _cfb_key(name: str) -> tuple[int, str]:
    return (len(name), name.upper())


def test_cfb_reads_back_with_olefile_and_orders_siblings() -> None:
    big = bytes(range(256)) * 40
    tree = {
        "PROJECT": b"p" * 100,
        "PROJECTwm": b"",
        "VBA": {f"Module{i}": bytes([i]) * (i * 97) for i in range(12)} | {"Big": big},
    }
    data = write_compound_file(tree)
    assert len(data) % 512 == 0
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
    assert ole.openstream("VBA/Big").read() == big
    for i in range(12):
        assert ole.openstream(f"VBA/Module{i}").read() == bytes([i]) * (i * 97)
    assert ole.openstream("PROJECTwm").read() == b""

    entries = ole.direntries

    def keys(sid: int) -> list[tuple[int, str]]:
        if sid == olefile.NOSTREAM:
            return []
        e = entries[sid]
        return [*keys(e.sid_left), _cfb_key(e.name), *keys(e.sid_right)]

    for entry in entries:
        if entry is not None and entry.entry_type in (olefile.STGTY_STORAGE, olefile.STGTY_ROOT):
            in_order = keys(entry.sid_child)
            assert in_order == sorted(in_order)  # a valid binary search tree


# --- VBA project --------------------------------------------------------------------------


def test_protection_fields_match_office() -> None:
    # CMG written by Office for an unprotected project with this ID.
    project_id = "{9E76F5A0-DAC8-4521-BCEF-644697F88708}"
    assert encrypt(project_id, bytes(4)) == "1715EF1A11262C2A2C2A2C2A2C2A"
    assert decrypt(project_id, encrypt(project_id, b"\xff", seed=0x5E)) == b"\xff"


@pytest.fixture(scope="module")
def addin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_addin(tmp_path_factory.mktemp("addin"), version=VERSION)


def test_olevba_reads_every_module_back_exactly(addin: Path) -> None:
    parser = VBA_Parser(str(addin))
    try:
        modules = {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()
    sources = _sources()
    assert sources, "no macros/*.bas"
    for name, source in sources.items():
        assert _lines(modules[name]) == _lines(source), name
    assert "校验提示" in modules["XlzMarks"]  # Chinese survived cp936 and back
    assert f'XLZ_VERSION As String = "{VERSION}"' in modules["XlzVersion"]
    assert 'Attribute VB_Base = "0{00020819-0000-0000-C000-000000000046}"' in modules[
        "ThisWorkbook"
    ]
    assert set(modules) == {*sources, "XlzVersion", "ThisWorkbook", "Sheet1"}


def test_project_streams_use_code_page_936(addin: Path) -> None:
    with zipfile.ZipFile(addin) as zf:
        ole = olefile.OleFileIO(zf.read("xl/vbaProject.bin"))
    project = ole.openstream("PROJECT").read().decode("cp936")
    assert f'Name="{PROJECT_NAME}"' in project
    assert "Document=ThisWorkbook/&H00000000" in project
    for name in _sources():
        assert f"Module={name}\r\n" in project
    assert ole.openstream("VBA/_VBA_PROJECT").read() == bytes.fromhex("CC61FFFF000000")
    dir_stream = decompress(ole.openstream("VBA/dir").read())
    assert bytes.fromhex("030002000000A803") in dir_stream  # PROJECTCODEPAGE = 936
    raw = decompress(ole.openstream("VBA/XlzMarks").read())
    source = _sources()["XlzMarks"]
    assert raw == source.replace("\n", "\r\n").encode("cp936")


def test_build_is_deterministic(addin: Path, tmp_path: Path) -> None:
    assert build_addin(tmp_path, version=VERSION).read_bytes() == addin.read_bytes()


# --- the package --------------------------------------------------------------------------


def test_package_references_ribbon_and_project(addin: Path) -> None:
    with zipfile.ZipFile(addin) as zf:
        assert zf.testzip() is None
        types = zf.read("[Content_Types].xml").decode()
        root_rels = ElementTree.fromstring(zf.read("_rels/.rels"))
        wb_rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        ui_targets = [
            r.get("Target") for r in root_rels if r.get("Type") == CUSTOM_UI_REL_TYPE
        ]
        assert ui_targets == ["customUI/customUI14.xml"]
        ui = ElementTree.fromstring(zf.read("customUI/customUI14.xml"))
    assert f'PartName="/xl/workbook.xml" ContentType="{ADDIN_CONTENT_TYPE}"' in types
    assert 'Target="vbaProject.bin"' in wb_rels

    assert ui.tag == f"{CUSTOM_UI_NS}customUI"
    tabs = ui.findall(f".//{CUSTOM_UI_NS}tab")
    assert [t.get("label") for t in tabs] == ["科技招商"]
    buttons = {b.get("label"): b.get("onAction") for b in ui.iter(f"{CUSTOM_UI_NS}button")}
    assert buttons == {
        "校验本表": "XlzValidate",
        "生成汇总": "XlzFill",
        "清除标记": "XlzClear",
        "关于": "XlzAbout",
    }
    ribbon = _sources()["XlzRibbon"]
    for callback in buttons.values():
        assert re.search(rf"^Public Sub {callback}\(control As IRibbonControl\)", ribbon, re.M)


def test_python_buttons_call_xlwings_runpython() -> None:
    vba = "\n".join(_sources().values())
    assert '"import xlz.live as L; L.validate_active()"' in vba
    assert '"import xlz.live as L; L.fill_active()"' in vba
    assert 'XLWINGS_ADDIN & "!RunPython"' in vba
    assert 'pip install "".[live]""' in vba and "xlwings addin install" in vba


def test_test_workbook_variant_has_same_project(addin: Path, tmp_path: Path) -> None:
    xlsm = build_test_workbook(tmp_path / "t.xlsm", version=VERSION)
    with zipfile.ZipFile(xlsm) as a, zipfile.ZipFile(addin) as b:
        assert a.read("xl/vbaProject.bin") == b.read("xl/vbaProject.bin")
        assert XLSM_CONTENT_TYPE in a.read("[Content_Types].xml").decode()


# --- LibreOffice --------------------------------------------------------------------------

_SYSTEM_PYTHON = "/usr/bin/python3"
_DRIVER = Path(__file__).with_name("lo_addin_driver.py")


def _uno_available() -> bool:
    if shutil.which("soffice") is None or not Path(_SYSTEM_PYTHON).exists():
        return False
    return subprocess.run([_SYSTEM_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0


def _run_driver(workbook: Path, out: Path) -> dict[str, object]:
    proc = subprocess.run(
        [_SYSTEM_PYTHON, str(_DRIVER), str(workbook), str(out), PROJECT_NAME],
        capture_output=True, text=True, timeout=300,
    )
    report: dict[str, object] = json.loads(proc.stdout)
    assert "fatal" not in report, report["fatal"]
    return report


needs_lo = pytest.mark.skipif(not _uno_available(), reason="needs soffice and python3-uno")


@pytest.mark.libreoffice
@needs_lo
def test_libreoffice_compiles_project_and_clears_marks(tmp_path: Path) -> None:
    xlsm = build_test_workbook(tmp_path / "addin-test.xlsm", version=VERSION)
    out = tmp_path / "after.xlsx"
    report = _run_driver(xlsm, out)

    modules = report["modules"]
    assert isinstance(modules, dict)
    assert set(modules) == {*_sources(), "XlzVersion", "ThisWorkbook", "Sheet1"}
    assert "校验提示" in modules["XlzMarks"]  # imported with the right code page
    # Every probe ran to its last line: the whole library compiled and nothing raised.
    assert report["probes"] == {
        "version": {"ok": True, "result": f"version {VERSION}"},
        "xlwings": {"ok": True, "result": "xlwings False"},
        "clear": {"ok": True, "result": "cleared"},
        "ribbon": {"ok": True, "result": "ribbon"},
    }
    assert report["protected_after"] == {"项目信息": True, "填报说明": True}

    wb = openpyxl.load_workbook(out)
    info = wb["项目信息"]
    assert [c.value for c in info[1]] == ["项目名称", "负责人", "校验提示"]
    assert [info.cell(r, 3).value for r in (2, 3, 4)] == [None, None, None]
    assert [info.cell(r, 1).value for r in (2, 3, 4)] == ["甲项目", "乙项目", "丙项目"]
    assert info.protection.sheet  # protected again after clearing
    results = wb["校验结果"]
    assert [c.value for c in results[1]] == ["工作表", "单元格", "级别", "说明"]
    assert all(c.value is None for row in results.iter_rows(min_row=2) for c in row)
    guide = wb["填报说明"]
    status = {guide.cell(r, 1).value: guide.cell(r, 2).value for r in range(1, 7)}
    assert status == {
        "填报说明": "请按表头填写",
        "校验状态": None,
        "校验时间": None,
        "错误数": None,
        "提醒数": None,
        "联系人": "办公室",
    }


@pytest.mark.libreoffice
@needs_lo
def test_libreoffice_probe_detects_a_compile_error(tmp_path: Path) -> None:
    # Negative control: the probes must fail when one module does not compile.
    macros = tmp_path / "macros"
    shutil.copytree(MACROS_DIR, macros)
    (macros / "XlzBroken.bas").write_text(
        'Attribute VB_Name = "XlzBroken"\nPublic Sub Oops()\n    If Then\nEnd Sub\n',
        encoding="utf-8",
    )
    xlsm = build_test_workbook(tmp_path / "broken.xlsm", macros_dir=macros, version=VERSION)
    report = _run_driver(xlsm, tmp_path / "broken.xlsx")
    probes = report["probes"]
    assert isinstance(probes, dict)
    assert probes["version"] != {"ok": True, "result": f"version {VERSION}"}

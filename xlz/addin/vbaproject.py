"""Build `vbaProject.bin` (MS-OVBA) from VBA module source text.

What goes in the compound file:
  PROJECT          text: project properties, module list, protection fields (2.3.1)
  PROJECTwm        module names in MBCS and UTF-16 (2.3.3)
  VBA/_VBA_PROJECT the version-independent 7-byte form, so Office discards no cached
                   p-code and recompiles the project from source on first load (2.3.4.1)
  VBA/dir          compressed project information, references and module records (2.3.4.2)
  VBA/<module>     each module's compressed source, with no performance cache

All MBCS text is encoded with the project's code page, 936 (GBK), so Chinese string
literals and comments survive; Office decodes module source with PROJECTCODEPAGE.
Everything is deterministic: the project ID is derived from the project name and the
protection fields use a fixed seed.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from xlz.addin import ovba
from xlz.addin.cfb import write_compound_file

CODE_PAGE = 936
ENCODING = "cp936"
LCID_EN_US = 0x0409
"""VBA itself always records 0x409 here, whatever the UI language (MS-OVBA 2.3.4.2.1.3)."""

_HOST_EXTENDER_VBE = "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000"


class ModuleKind(Enum):
    PROCEDURAL = 0x0021
    """A standard module (.bas)."""
    DOCUMENT = 0x0022
    """A module behind a host object: ThisWorkbook or a worksheet."""


@dataclass(frozen=True)
class Module:
    name: str
    source: str
    """Full module text as VBA stores it, `Attribute` lines included; any line endings."""
    kind: ModuleKind = ModuleKind.PROCEDURAL


@dataclass(frozen=True)
class Reference:
    name: str
    libid: str


# The two references Excel puts in every new project (MS-OVBA 2.1.1.8 LibidReference).
# The path is a hint only: VBA resolves a registered type library by GUID and version.
STDOLE = Reference(
    "stdole",
    r"*\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\Windows\System32\stdole2.tlb"
    "#OLE Automation",
)
OFFICE = Reference(
    "Office",
    r"*\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.8#0"
    r"#C:\Program Files\Common Files\Microsoft Shared\OFFICE16\MSO.DLL"
    "#Microsoft Office 16.0 Object Library",
)
"""Needed for IRibbonControl in the ribbon callbacks."""


def document_module(name: str, base_clsid: str, body: str = "") -> Module:
    """A host document module with the attributes Excel writes for it."""
    header = (
        f'Attribute VB_Name = "{name}"\r\n'
        f'Attribute VB_Base = "0{{{base_clsid}}}"\r\n'
        "Attribute VB_GlobalNameSpace = False\r\n"
        "Attribute VB_Creatable = False\r\n"
        "Attribute VB_PredeclaredId = True\r\n"
        "Attribute VB_Exposed = True\r\n"
        "Attribute VB_TemplateDerived = False\r\n"
        "Attribute VB_Customizable = True\r\n"
    )
    return Module(name, header + body, ModuleKind.DOCUMENT)


WORKBOOK_CLSID = "00020819-0000-0000-C000-000000000046"
WORKSHEET_CLSID = "00020820-0000-0000-C000-000000000046"


def _mbcs(text: str) -> bytes:
    return text.encode(ENCODING)


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def crlf(text: str) -> str:
    """Normalise line endings to CRLF, which is what the VBA editor stores."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


# --- VBA/dir -----------------------------------------------------------------------------


def _record(record_id: int, payload: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(payload)) + payload


def _u32(record_id: int, value: int) -> bytes:
    return _record(record_id, struct.pack("<I", value))


def _u16(record_id: int, value: int) -> bytes:
    return _record(record_id, struct.pack("<H", value))


def _dual(record_id: int, text: str, unicode_id: int) -> bytes:
    """A record holding MBCS text followed by its UTF-16 twin under a second id."""
    return _record(record_id, _mbcs(text)) + _record(unicode_id, _utf16(text))


def _project_information(name: str) -> bytes:
    return b"".join(
        [
            _u32(0x0001, 0x00000001),  # PROJECTSYSKIND: 32-bit Windows; Office adapts
            _u32(0x0002, LCID_EN_US),  # PROJECTLCID
            _u32(0x0014, LCID_EN_US),  # PROJECTLCIDINVOKE
            _u16(0x0003, CODE_PAGE),  # PROJECTCODEPAGE
            _record(0x0004, _mbcs(name)),  # PROJECTNAME
            _dual(0x0005, "", 0x0040),  # PROJECTDOCSTRING
            _dual(0x0006, "", 0x003D),  # PROJECTHELPFILEPATH (both paths empty)
            _u32(0x0007, 0),  # PROJECTHELPCONTEXT
            _u32(0x0008, 0),  # PROJECTLIBFLAGS
            # PROJECTVERSION: a fixed Reserved=4 instead of a size, then major and minor.
            struct.pack("<HIIH", 0x0009, 4, 1, 0),
            _dual(0x000C, "", 0x003C),  # PROJECTCONSTANTS
        ]
    )


def _reference(ref: Reference) -> bytes:
    libid = _mbcs(ref.libid)
    registered = struct.pack("<I", len(libid)) + libid + struct.pack("<IH", 0, 0)
    return _dual(0x0016, ref.name, 0x003E) + _record(0x000D, registered)


def _module_record(module: Module) -> bytes:
    return b"".join(
        [
            _record(0x0019, _mbcs(module.name)),  # MODULENAME
            _record(0x0047, _utf16(module.name)),  # MODULENAMEUNICODE
            _dual(0x001A, module.name, 0x0032),  # MODULESTREAMNAME
            _dual(0x001C, "", 0x0048),  # MODULEDOCSTRING
            _u32(0x0031, 0),  # MODULEOFFSET: source starts the stream (no p-code cache)
            _u32(0x001E, 0),  # MODULEHELPCONTEXT
            _u16(0x002C, 0xFFFF),  # MODULECOOKIE
            struct.pack("<HI", module.kind.value, 0),  # MODULETYPE
            struct.pack("<HI", 0x002B, 0),  # module terminator
        ]
    )


def dir_stream(name: str, references: Sequence[Reference], modules: Sequence[Module]) -> bytes:
    """The decompressed `VBA/dir` stream."""
    return b"".join(
        [
            _project_information(name),
            *(_reference(r) for r in references),
            _u16(0x000F, len(modules)),  # PROJECTMODULES count
            _u16(0x0013, 0xFFFF),  # PROJECTCOOKIE
            *(_module_record(m) for m in modules),
            struct.pack("<HI", 0x0010, 0),  # dir terminator
        ]
    )


# --- PROJECT protection fields (MS-OVBA 2.4.3 data encryption) ----------------------------


def encrypt(project_id: str, data: bytes, seed: int = 0x17) -> str:
    """Obfuscate a PROJECT field value (CMG, DPB, GC) as VBA does.

    The key is the byte sum of the project ID; VBA fills the 0-3 ignored bytes with
    the seed, which is reproduced so the output matches files written by Office.
    """
    proj_key = sum(project_id.encode("ascii")) & 0xFF
    version_enc = seed ^ 2
    proj_key_enc = seed ^ proj_key
    out = bytearray([seed, version_enc, proj_key_enc])
    unencrypted1, encrypted1, encrypted2 = proj_key, proj_key_enc, version_enc
    ignored = bytes([seed]) * ((seed & 6) // 2)
    for byte in ignored + struct.pack("<I", len(data)) + data:
        byte_enc = byte ^ ((encrypted2 + unencrypted1) & 0xFF)
        out.append(byte_enc)
        encrypted2, encrypted1, unencrypted1 = encrypted1, byte_enc, byte
    return out.hex().upper()


def decrypt(project_id: str, text: str) -> bytes:
    """Inverse of `encrypt`; raise ValueError if the version or key does not match."""
    raw = bytes.fromhex(text)
    seed, version_enc, proj_key_enc = raw[0], raw[1], raw[2]
    if seed ^ version_enc != 2:
        raise ValueError("unsupported encryption version")
    proj_key = seed ^ proj_key_enc
    if proj_key != sum(project_id.encode("ascii")) & 0xFF:
        raise ValueError("project key does not match the project ID")
    unencrypted1, encrypted1, encrypted2 = proj_key, proj_key_enc, version_enc
    plain = bytearray()
    for byte_enc in raw[3:]:
        byte = byte_enc ^ ((encrypted2 + unencrypted1) & 0xFF)
        plain.append(byte)
        encrypted2, encrypted1, unencrypted1 = encrypted1, byte_enc, byte
    body = plain[(seed & 6) // 2 :]
    (length,) = struct.unpack_from("<I", body)
    if length != len(body) - 4:
        raise ValueError("encrypted length does not match the data")
    return bytes(body[4:])


# --- PROJECT and PROJECTwm ---------------------------------------------------------------


def project_id_for(name: str) -> str:
    """A stable project GUID so that identical sources build identical files."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"xlz:vba:{name}")).upper() + "}"


_VISIBLE = b"\xff"
"""ProjectVisibilityState: the project is shown in the VBA editor."""


def project_stream(name: str, project_id: str, modules: Sequence[Module]) -> bytes:
    lines = [f'ID="{project_id}"']
    for m in modules:
        if m.kind is ModuleKind.DOCUMENT:
            lines.append(f"Document={m.name}/&H00000000")
        else:
            lines.append(f"Module={m.name}")
    lines += [
        f'Name="{name}"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        # Not protected, no password, visible: what Office writes for a fresh project.
        f'CMG="{encrypt(project_id, bytes(4))}"',
        f'DPB="{encrypt(project_id, bytes(1))}"',
        f'GC="{encrypt(project_id, _VISIBLE)}"',
        "",
        "[Host Extender Info]",
        _HOST_EXTENDER_VBE,
        "",
        "[Workspace]",
        *(f"{m.name}=0, 0, 0, 0, C" for m in modules),
    ]
    return _mbcs("\r\n".join(lines) + "\r\n")


def projectwm_stream(modules: Sequence[Module]) -> bytes:
    names = b"".join(_mbcs(m.name) + b"\0" + _utf16(m.name) + b"\0\0" for m in modules)
    return names + b"\0\0"


# --- the compound file -------------------------------------------------------------------

_VBA_PROJECT_VERSION_INDEPENDENT = struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0000)


def build_vba_project(
    modules: Sequence[Module],
    name: str = "VBAProject",
    references: Sequence[Reference] = (STDOLE, OFFICE),
) -> bytes:
    """Serialise a VBA project into the bytes of `vbaProject.bin`."""
    names = [m.name.upper() for m in modules]
    if len(set(names)) != len(names):
        raise ValueError("module names must be unique (VBA ignores case)")
    project_id = project_id_for(name)
    vba_storage: dict[str, bytes] = {
        "_VBA_PROJECT": _VBA_PROJECT_VERSION_INDEPENDENT,
        "dir": ovba.compress(dir_stream(name, references, modules)),
    }
    for m in modules:
        vba_storage[m.name] = ovba.compress(_mbcs(crlf(m.source)))
    return write_compound_file(
        {
            "PROJECT": project_stream(name, project_id, modules),
            "PROJECTwm": projectwm_stream(modules),
            "VBA": vba_storage,
        }
    )

"""Assemble the Office Open XML package around a vbaProject.bin and a ribbon.

The workbook is minimal: an add-in still needs one worksheet, which Excel keeps
hidden because the package's main content type marks it as an add-in. The same
parts with the macro-enabled *workbook* content type give an .xlsm, which is how
tests open the project in LibreOffice (it runs macros from documents, not add-ins).

Output is deterministic: parts in a fixed order, fixed timestamps and permissions.
"""

from __future__ import annotations

import io
import zipfile
from enum import Enum
from xml.sax.saxutils import escape

ADDIN_CONTENT_TYPE = "application/vnd.ms-excel.addin.macroEnabled.main+xml"
XLSM_CONTENT_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
CUSTOM_UI_PART = "customUI/customUI14.xml"
CUSTOM_UI_REL_TYPE = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
VBA_PROJECT_REL_TYPE = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


class PackageKind(Enum):
    ADDIN = ADDIN_CONTENT_TYPE
    MACRO_WORKBOOK = XLSM_CONTENT_TYPE


def _content_types(kind: PackageKind) -> str:
    return (
        _DECL
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{kind.value}"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        "</Types>"
    )


def _relationships(rels: list[tuple[str, str]]) -> str:
    items = "".join(
        f'<Relationship Id="rId{i}" Type="{rel_type}" Target="{target}"/>'
        for i, (rel_type, target) in enumerate(rels, start=1)
    )
    return f'{_DECL}<Relationships xmlns="{_PKG_R}">{items}</Relationships>'


_ROOT_RELS = _relationships(
    [
        (f"{_R}/officeDocument", "xl/workbook.xml"),
        (f"{_PKG_R}/metadata/core-properties", "docProps/core.xml"),
        (f"{_R}/extended-properties", "docProps/app.xml"),
        (CUSTOM_UI_REL_TYPE, CUSTOM_UI_PART),
    ]
)

_WORKBOOK_RELS = _relationships(
    [
        (f"{_R}/worksheet", "worksheets/sheet1.xml"),
        (f"{_R}/styles", "styles.xml"),
        (VBA_PROJECT_REL_TYPE, "vbaProject.bin"),
    ]
)

# codeName ties the workbook and the sheet to the ThisWorkbook and Sheet1 document
# modules in the VBA project.
_WORKBOOK = (
    f'{_DECL}<workbook xmlns="{_MAIN}" xmlns:r="{_R}">'
    '<workbookPr codeName="ThisWorkbook"/>'
    '<bookViews><workbookView/></bookViews>'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets>'
    "</workbook>"
)

_SHEET = (
    f'{_DECL}<worksheet xmlns="{_MAIN}" xmlns:r="{_R}">'
    '<sheetPr codeName="Sheet1"/><dimension ref="A1"/><sheetData/>'
    "</worksheet>"
)

_STYLES = (
    f'{_DECL}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="等线"/><family val="2"/>'
    '<charset val="134"/><scheme val="minor"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _core(title: str) -> str:
    return (
        f"{_DECL}<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{escape(title)}</dc:title><dc:creator>xlz</dc:creator>"
        "</cp:coreProperties>"
    )


_APP = (
    f"{_DECL}<Properties "
    'xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Microsoft Excel</Application></Properties>"
)


def package(vba_project: bytes, custom_ui: bytes, title: str, kind: PackageKind) -> bytes:
    """The zip bytes of an .xlam (or, for tests, .xlsm) holding the project and ribbon."""
    parts: list[tuple[str, bytes]] = [
        ("[Content_Types].xml", _content_types(kind).encode()),
        ("_rels/.rels", _ROOT_RELS.encode()),
        ("docProps/app.xml", _APP.encode()),
        ("docProps/core.xml", _core(title).encode()),
        ("xl/workbook.xml", _WORKBOOK.encode()),
        ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS.encode()),
        ("xl/styles.xml", _STYLES.encode()),
        ("xl/worksheets/sheet1.xml", _SHEET.encode()),
        ("xl/vbaProject.bin", vba_project),
        (CUSTOM_UI_PART, custom_ui),
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0  # otherwise the host OS leaks into the bytes
            info.external_attr = 0
            zf.writestr(info, data)
    return buffer.getvalue()

"""Issue 14: the WPS add-in on the portal, through its JSON endpoint (test client).

The endpoint (``POST /api/wps/{validate,fill,clear}``) gets what the add-in's JavaScript
reads from WPS (``tests/xlz_books.wps_payload``: every sheet's ``UsedRange.Value2``) and
answers blocks computed by :mod:`xlz.ops.live_edits`, the function the xlwings add-in
calls. Its blocks are compared cell by cell with what ``xlz validate`` / ``xlz fill``
write into a copy of the same file. The JavaScript itself runs in Chromium in
``tests/test_wps_browser.py``; the ribbon is checked here.
"""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

import xlz
from tests.xlz_books import block_cells, build, compare_cells, wps_payload
from xlz.ops import portal as ops
from xlz.web.server import create_app
from xlz.web.wpsaddin import FILES, manifest

with warnings.catch_warnings():  # starlette suggests httpx2 for its test client
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PLANTED = {"project": [  # one empty 项目类别 (error), one unknown 落户载体 (warning), a date
    {"seq": 1, "name": "氢能电堆项目", "category": None, "field": "氢能", "origin": "上海",
     "status": "已签约", "signed": "2023-03-05", "carrier": "不存在的载体",
     "invention_patents": 1, "utility_patents": 5, "prereview": "预审通过"},
    {"seq": 2, "name": "储能项目", "category": "科创类", "field": "氢能", "origin": "苏州",
     "status": "已签约", "signed": "2023-04-01", "invention_patents": "三",
     "utility_patents": 2, "prereview": "预审通过"}],
    "carrier": [{"seq": 1, "name": "凤凰科创园", "method": "新建载体", "level": "省级",
                 "type": "众创空间", "area": 5000, "progress": "在建"}]}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> ops.Setup:
    return ops.init_portal(tmp_path_factory.mktemp("portal") / "数据")


@pytest.fixture(scope="module")
def token(setup: ops.Setup) -> str:
    return next(x.url.rsplit("/", 1)[1] for x in setup.links if x.town == "dingyan")


@pytest.fixture()
def client(setup: ops.Setup) -> Iterator[TestClient]:
    with TestClient(create_app(setup.folder), follow_redirects=False) as c:
        yield c


@pytest.fixture()
def planted(tmp_path: Path) -> Path:
    return build(tmp_path / "丁堰镇.xlsx", PLANTED)


def _post(client: TestClient, token: str | None, action: str, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(f"/api/wps/{action}", json=body, headers=headers)


def test_validate_returns_what_xlz_validate_writes(client: TestClient, token: str,
                                                   planted: Path, tmp_path: Path) -> None:
    r = _post(client, token, "validate", wps_payload(planted))
    assert r.status_code == 200, r.text
    body = r.json()
    copy = tmp_path / "file" / planted.name
    copy.parent.mkdir()
    shutil.copy(planted, copy)
    result = xlz.validate(copy)
    counts = result.report.counts()
    assert counts["错误"] >= 2 and counts["提醒"] >= 1
    assert (body["errors"], body["warnings"]) == (counts["错误"], counts["提醒"])
    assert body["message"].startswith("校验完成：错误")
    cells = block_cells(body["blocks"])
    assert compare_cells(cells, copy, any_stamp=True) > 0
    assert cells[("填报说明", "B6")] == "有错误"
    # one block per edited sheet: the add-in writes once per sheet, never per cell
    sheets = [b["sheet"] for b in body["blocks"]]
    assert len(sheets) == len(set(sheets)) and {"项目信息", "校验结果", "填报说明"} <= set(sheets)
    # the 位置 links go through Range.Formula
    results = next(b for b in body["blocks"] if b["sheet"] == "校验结果")
    assert results["formulas"] and any(
        isinstance(v, str) and v.startswith("=HYPERLINK(") for row in results["values"]
        for v in row)


def test_fill_returns_what_xlz_fill_writes(client: TestClient, token: str, planted: Path,
                                           tmp_path: Path) -> None:
    good = build(tmp_path / "丁堰镇-好.xlsx", {"carrier": PLANTED["carrier"]})
    r = _post(client, token, "fill", wps_payload(good))
    assert r.status_code == 200, r.text
    body = r.json()
    copy = tmp_path / "copy.xlsx"
    shutil.copy(good, copy)
    xlz.fill(copy)
    cells = block_cells(body["blocks"])
    assert {s for s, _ in cells} == {"任务分解", "载体汇总"}
    assert compare_cells(cells, copy) > 0
    assert cells[("载体汇总", "E2")] == "省级众创空间"


def test_clear_empties_what_validate_wrote(client: TestClient, token: str, planted: Path
                                           ) -> None:
    xlz.validate(planted)  # a file that carries a previous check's marks
    body = _post(client, token, "clear", wps_payload(planted)).json()
    cells = block_cells(body["blocks"])
    assert cells[("填报说明", "B6")] is None
    marks = [v for (s, _), v in cells.items() if s in ("项目信息", "校验结果")]
    assert marks and all(v is None for v in marks)


def test_not_a_template_gets_no_blocks(client: TestClient, token: str) -> None:
    body = _post(client, token, "validate", {
        "name": "别的表.xlsx", "path": "别的表.xlsx", "properties": None,
        "sheets": [{"name": "Sheet1", "row": 1, "col": 1, "values": [["项目名称"], ["x"]]}],
    }).json()
    assert body["blocks"] == [] and "不是市里下发的标准模板" in body["message"]


def test_refusals_are_chinese_and_change_nothing(client: TestClient, token: str,
                                                 planted: Path) -> None:
    assert _post(client, None, "validate", wps_payload(planted)).status_code == 401
    assert _post(client, "x" * 40, "validate", {}).status_code == 401
    for bad in ({}, {"sheets": [{"name": "a", "row": 0, "col": 1, "values": []}]},
                {"sheets": [{"name": "a", "row": 1, "col": 1, "values": [[{"x": 1}]]}]}):
        r = _post(client, token, "validate", bad)
        assert r.status_code == 400 and "未作任何修改" in r.json()["message"]
    r = client.post("/api/wps/validate", content=b"{not json",
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400
    assert _post(client, token, "delete", {}).status_code == 404


def test_addin_files_and_manifest_per_town(client: TestClient, setup: ops.Setup,
                                           token: str) -> None:
    for name in ("ribbon.xml", "index.html", "xlz-wps.js", "images/validate.png"):
        r = client.get(f"/wps/t/{token}/{name}")
        assert r.status_code == 200 and r.content == (FILES / name).read_bytes()
    assert client.get(f"/wps/t/{token}/..%2Fapp.py").status_code == 404  # only listed files
    assert client.get(f"/wps/t/{token}/wpsaddin.py").status_code == 404
    assert client.get("/wps/t/wrong/ribbon.xml").status_code == 404
    r = client.get(f"/wps/t/{token}/jsplugins.xml")
    root = ElementTree.fromstring(r.content)
    (plugin,) = root.findall("jsplugin")
    assert plugin.get("type") == "et" and plugin.get("url", "").endswith(f"/wps/t/{token}/")
    assert plugin.get("url", "").startswith("http://127.0.0.1:8000/")  # the --url of --init
    page = client.get(f"/t/{token}/wps").text
    assert f"/wps/t/{token}/jsplugins.xml" in page and "JSPluginsServer=" in page
    assert "不需要安装 Python" in page
    assert f'href="/t/{token}/wps"' in client.get(f"/t/{token}").text
    assert client.get("/t/wrong/wps").status_code == 404
    odd = ElementTree.fromstring(manifest("http://x", 'a"b<'))  # attributes quoted
    assert odd[0].get("url") == 'http://x/wps/t/a"b</'


# --- the ribbon --------------------------------------------------------------------------
# No CustomUI XSD is on disk (test_addin.py checks customUI14.xml by structure too): the
# ribbon is checked for well-formedness, the namespace, the tab and its buttons, unique
# ids, attributes the Excel add-in's 2009/07 schema defines for these elements, and every
# callback being defined by the add-in's JavaScript.

CUSTOM_UI_2006 = "{http://schemas.microsoft.com/office/2006/01/customui}"
_ALLOWED = {  # the subset of the CustomUI schema this ribbon uses
    "customUI": {"onLoad"}, "ribbon": {"startFromScratch"}, "tabs": set(),
    "tab": {"id", "label"}, "group": {"id", "label"},
    "button": {"id", "label", "size", "getImage", "screentip", "supertip", "onAction"},
}


def test_ribbon_matches_the_excel_addin_and_the_javascript() -> None:
    ui = ElementTree.parse(FILES / "ribbon.xml").getroot()
    assert ui.tag == f"{CUSTOM_UI_2006}customUI"
    for element in ui.iter():
        local = element.tag.removeprefix(CUSTOM_UI_2006)
        assert element.tag.startswith(CUSTOM_UI_2006) and local in _ALLOWED, element.tag
        assert set(element.attrib) <= _ALLOWED[local], (local, element.attrib)
    ids = [e.get("id") for e in ui.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    (tab,) = ui.iter(f"{CUSTOM_UI_2006}tab")
    assert tab.get("label") == "科技招商"
    buttons = [b.get("label") for b in ui.iter(f"{CUSTOM_UI_2006}button")]
    assert buttons == ["校验本表", "生成汇总", "清除标记", "提交市里", "关于"]
    js = (FILES / "xlz-wps.js").read_text(encoding="utf-8")
    callbacks = {v for e in ui.iter() for k, v in e.attrib.items()
                 if k in ("onLoad", "onAction", "getImage")}
    assert callbacks == {"ribbon.OnAddinLoad", "ribbon.OnAction", "ribbon.GetImage"}
    for callback in callbacks:
        assert re.search(rf"^\s+{callback.split('.')[1]}: function \(", js, re.M), callback
    for button in ui.iter(f"{CUSTOM_UI_2006}button"):
        assert re.search(rf"^\s+{button.get('id')}: \"", js, re.M), button.get("id")
        image = re.search(rf"{button.get('id')}: \"(images/[a-z]+\.png)\"", js)
        assert image and (FILES / image.group(1)).is_file()

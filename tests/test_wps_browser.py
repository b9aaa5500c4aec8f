"""Issue 14: the WPS add-in's JavaScript (xlz/web/wps/xlz-wps.js) in Debian's headless
Chromium, served by a real ``xlz serve`` (uvicorn child process on 127.0.0.1), against
``tests/wps_fake.js``: a small documented fake of the WPS object model backed by the
values of a real workbook with planted errors. The fake records every write; the test
compares them with the endpoint's blocks and with what ``xlz validate`` writes into the
file. Also: the server unreachable (an alert in Chinese, nothing written), and 提交市里
reading the saved file and submitting it to the round.

This shows the JavaScript does what it should against the members it uses; only WPS on a
real PC can show that WPS has them (docs/release-checklist.md)."""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.bench_serve import Server, free_port, request, start_server
from tests.test_wps_addin import PLANTED
from tests.xlz_books import block_cells, build, compare_cells, wps_payload

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
_MISSING = next((p for p in (CHROMIUM, DRIVER) if not Path(p).exists()), None)
FAKE = Path(__file__).with_name("wps_fake.js")
PROTECTED = ["项目信息", "校验结果", "填报说明"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_MISSING is not None,
                       reason=f"{_MISSING} is absent (apt-get install chromium chromium-driver)"),
]


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[Server, Any, str]]:
    from xlz.ops.portal import init_portal

    port = free_port()
    setup = init_portal(tmp_path / "数据", base_url=f"http://127.0.0.1:{port}")
    token = next(x.url.rsplit("/", 1)[1] for x in setup.links if x.town == "dingyan")
    server = start_server(setup.folder, port)
    try:
        yield server, setup, token
    finally:
        server.stop()


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _open_addin(browser: Any, server: Server, token: str, payload: dict[str, Any],
                **options: Any) -> None:
    browser.get(f"{server.url}/wps/t/{token}/index.html")
    assert browser.execute_script("return typeof ribbon.OnAction") == "function"
    browser.execute_script(FAKE.read_text(encoding="utf-8")
                           + "\ninstallFake(arguments[0], arguments[1]);", payload, options)


def _press(browser: Any, button: str, seconds: float = 60) -> dict[str, Any]:
    browser.execute_script("ribbon.OnAction({Id: arguments[0]});", button)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        fake: dict[str, Any] = browser.execute_script("return window.__fake;")
        if fake["alerts"]:
            return fake
        time.sleep(0.1)
    raise AssertionError("the button never answered")


def _written(writes: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    from xlz.core.cells import parse_ref

    blocks = []
    for w in writes:
        row, col = parse_ref(w["address"].split(":")[0])
        blocks.append({"sheet": w["sheet"], "row": row, "col": col, "values": w["values"]})
    return block_cells(blocks)


def test_validate_in_chromium_writes_the_endpoints_blocks(served: Any, browser: Any,
                                                           tmp_path: Path) -> None:
    server, _, token = served
    planted = build(tmp_path / "丁堰镇.xlsx", PLANTED)
    payload = wps_payload(planted)
    _open_addin(browser, server, token, payload, protected=PROTECTED)
    fake = _press(browser, "xlzWpsValidate")
    assert fake["alerts"][0].startswith("校验完成：错误"), fake["alerts"]

    status, expected = request(f"{server.url}/api/wps/validate", token,
                               json.dumps(payload).encode(), "application/json")
    assert status == 200
    writes = fake["writes"]
    # one write per block, on the block's own range, Formula where the block has formulas
    assert [(w["sheet"], w["address"], w["via"]) for w in writes] == [
        (b["sheet"], b["address"], "Formula" if b["formulas"] else "Value2")
        for b in expected["blocks"]]
    got = _written(writes)
    want = {k: ("" if v is None else v) for k, v in block_cells(expected["blocks"]).items()}
    stamp = next(k for k, v in want.items() if k[0] == "填报说明" and isinstance(v, str)
                 and v[:2] == "20" and ":" in v)
    assert {k: v for k, v in got.items() if k != stamp} == {
        k: v for k, v in want.items() if k != stamp}
    copy = tmp_path / "file" / planted.name
    copy.parent.mkdir()
    shutil.copy(planted, copy)
    import xlz

    xlz.validate(copy)
    assert compare_cells(got, copy, any_stamp=True) == len(want)
    # each protected sheet was unlocked with no password and locked again as it was
    calls = fake["protection"]
    for sheet in {w["sheet"] for w in writes} & set(PROTECTED):
        mine = [c for c in calls if c["sheet"] == sheet]
        assert [c["call"] for c in mine] == ["Unprotect", "Protect"]
        assert mine[1]["args"][:5] == ["", True, True, True, True]
        assert mine[1]["args"][6] is True and mine[1]["args"][5] is False  # columns, cells


def test_unreachable_server_says_so_and_changes_nothing(served: Any, browser: Any,
                                                         tmp_path: Path) -> None:
    server, _, token = served
    payload = wps_payload(build(tmp_path / "丁堰镇.xlsx", PLANTED))
    _open_addin(browser, server, token, payload, protected=PROTECTED)
    server.stop()
    for button in ("xlzWpsValidate", "xlzWpsFill", "xlzWpsClear"):
        browser.execute_script("window.__fake.alerts = [];")
        fake = _press(browser, button)
        assert "连接不上市里的服务器，未作任何修改" in fake["alerts"][0]
        assert fake["writes"] == [] and fake["protection"] == []


def test_submit_reads_the_saved_file_and_submits_it(served: Any, browser: Any,
                                                     tmp_path: Path) -> None:
    server, setup, token = served
    planted = build(tmp_path / "丁堰镇.xlsx", PLANTED)
    payload = wps_payload(planted)
    _open_addin(browser, server, token, payload,
                file=base64.b64encode(planted.read_bytes()).decode())
    fake = _press(browser, "xlzWpsSubmit")
    assert fake["alerts"][0].startswith("已提交市里，但有错误"), fake["alerts"]
    status, state = request(f"{server.url}/api/status", setup.api_token)
    town = next(t for t in state["towns"] if t["town"] == "dingyan")
    assert status == 200 and town["uploads"] == 1 and town["state"] == "未通过校验"
    assert fake["writes"] == []


def test_submit_without_file_access_opens_the_towns_page(served: Any, browser: Any,
                                                          tmp_path: Path) -> None:
    server, _, token = served
    payload = wps_payload(build(tmp_path / "丁堰镇.xlsx", PLANTED))
    _open_addin(browser, server, token, payload)
    fake = _press(browser, "xlzWpsSubmit")
    assert fake["opened"] == [f"{server.url}/t/{token}"]
    assert "上传并校验" in fake["alerts"][0] and payload["path"] in fake["alerts"][0]

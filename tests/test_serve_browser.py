"""Issue 13's real-browser test: Debian's headless Chromium, driven by Selenium through
Debian's chromedriver (no browser download), against a real ``xlz serve`` on 127.0.0.1.

A clerk opens the town's link and downloads the town's template; LibreOffice (the
harness in ``tests/lo/``, one soffice session) types entries into it as a clerk does —
填报信息 on 填报说明 including 数据截至日期, projects, carriers, with planted errors: a
project whose 项目类别 is not on the list, a carrier whose 孵化面积 is "很大" — and saves
it as .xlsx, then the same entries corrected as a second .xlsx. The clerk uploads the
first, reads the findings on the page (sheet, cell, value), downloads the marked
workbook, then uploads the corrected one; the office logs in and sees the town as
已报送.

With ``XLZ_SCREENSHOTS=DIR`` the test saves the pictures of docs/clerk-guide.md
(``portal-town.png``, ``portal-result.png``, ``portal-passed.png``, ``portal-office.png``).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from bench.bench_serve import Server, free_port, start_server
from xlz.core.cells import column_letter
from xlz.core.entries import CARRIERS, FINDINGS_HEADER, PROJECTS
from xlz.core.layout import CONTACT_ROWS

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
_MISSING = next((p for p in (CHROMIUM, DRIVER) if not Path(p).exists()), None)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.libreoffice,  # tests/conftest.py skips (or, under CI, fails) without it
    pytest.mark.skipif(_MISSING is not None,
                       reason=f"{_MISSING} is absent (apt-get install chromium chromium-driver)"),
]

P = {c.key: column_letter(i) for i, c in enumerate(PROJECTS.columns)}
C = {c.key: column_letter(i) for i, c in enumerate(CARRIERS.columns)}
AS_OF = dt.date(2023, 6, 30)


def _serial(day: dt.date) -> int:
    """What a spreadsheet stores for a date typed into a date-formatted cell."""
    return (day - dt.date(1899, 12, 30)).days


def _row(sheet: str, cols: dict[str, str], row: int, entry: dict[str, Any]) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = [{"cell": f"{sheet}!{cols['seq']}{row}", "value": row - 1}]
    for key, value in entry.items():
        if isinstance(value, dt.date):
            value = _serial(value)
        cells.append({"cell": f"{sheet}!{cols[key]}{row}", "value": value})
    return cells


# What the clerk types: 填报信息, two projects (the second with a 项目类别 not on the
# list), two carriers (the second with 孵化面积 "很大").
TYPED: list[dict[str, Any]] = [
    {"cell": f"填报说明!B{CONTACT_ROWS['reporter']}", "value": "王芳"},
    {"cell": f"填报说明!B{CONTACT_ROWS['phone']}", "value": "0513-87654321"},
    {"cell": f"填报说明!B{CONTACT_ROWS['as_of']}", "value": _serial(AS_OF)},
    *_row("项目信息", P, 2, {"name": "合成生物中试平台", "category": "科创类",
                          "field": "合成生物学", "origin": "上海", "status": "已签约",
                          "signed": dt.date(2023, 3, 5), "prereview": "预审通过",
                          "invention_patents": 2}),
    *_row("项目信息", P, 3, {"name": "检测服务", "category": "错类", "field": "大健康",
                          "origin": "杭州", "status": "洽谈中"}),
    *_row("孵化载体", C, 2, {"name": "如皋合成生物孵化器", "method": "新建载体",
                          "level": "省级", "type": "专业孵化器", "specialty": "合成生物",
                          "area": 5000}),
    *_row("孵化载体", C, 3, {"name": "载体乙", "method": "升级", "area": "很大"}),
]
# The planted errors as the page lists them: (sheet, cell, value).
PLANTED = [("项目信息", f"{P['category']}3", "错类"), ("孵化载体", f"{C['area']}3", "很大")]
# The clerk's corrections, typed over the same file in the same session.
CORRECTED: list[dict[str, Any]] = [
    {"cell": f"项目信息!{P['category']}3", "value": "服务类"},
    {"cell": f"孵化载体!{C['area']}3", "value": 1200},
]


def _type_in_libreoffice(template: Path, planted: Path, corrected: Path) -> None:
    """One soffice session: type TYPED into the template, save; correct, save again."""
    from tests.lo.harness import run_job

    run_job([{"op": "open", "path": str(template)},
             {"op": "set", "cells": TYPED}, {"op": "recalc"},
             {"op": "save", "path": str(planted)},
             {"op": "set", "cells": CORRECTED}, {"op": "recalc"},
             {"op": "save", "path": str(corrected)}], check=True)


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[Server, object]]:
    from xlz.ops.portal import init_portal

    setup = init_portal(tmp_path / "数据")
    server = start_server(setup.folder, free_port())
    try:
        yield server, setup
    finally:
        server.stop()


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "下载"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1200,800",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False, "safebrowsing.enabled": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    # A click that submits a form returns before the next page has loaded; look-ups
    # then wait for their element (each looked-up element exists only on the next page).
    driver.implicitly_wait(30)
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


def _wait_for_download(folder: Path, seconds: float = 30) -> Path:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        # Chromium writes a hidden temporary (or .crdownload) and renames it when done
        done = [p for p in folder.iterdir()
                if not p.name.endswith(".crdownload") and not p.name.startswith(".")]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"nothing downloaded into {folder}")




def _shoot(driver: object, name: str) -> None:
    folder = os.environ.get("XLZ_SCREENSHOTS")
    if folder:
        driver.save_screenshot(str(Path(folder) / name))  # type: ignore[attr-defined]


def test_clerk_uploads_and_office_sees_it(served: tuple[Server, object], browser: object,
                                          tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    server, setup = served
    driver = browser
    assert isinstance(driver, WebDriver)
    downloads: Path = driver.downloads  # type: ignore[attr-defined]
    link = next(x for x in setup.links if x.town == "dingyan")  # type: ignore[attr-defined]
    url = link.url.replace("http://127.0.0.1:8000", server.url)

    # The town's link: download the template, fill it in LibreOffice.
    driver.get(url)
    assert "丁堰镇" in driver.title
    assert driver.find_element(By.ID, "state").text == "未报送"
    _shoot(driver, "portal-town.png")
    driver.find_element(By.ID, "template").click()
    downloaded = _wait_for_download(downloads)
    assert downloaded.suffix == ".xlsx" and "丁堰镇" in downloaded.name
    template = downloaded.rename(tmp_path / downloaded.name)
    planted, corrected = tmp_path / "丁堰镇-5月.xlsx", tmp_path / "丁堰镇-改.xlsx"
    _type_in_libreoffice(template, planted, corrected)

    # Upload the typed workbook: the planted errors are on the page, sheet and cell.
    driver.find_element(By.ID, "file").send_keys(str(planted))
    driver.find_element(By.ID, "upload").click()
    verdict = driver.find_element(By.ID, "verdict").text
    assert f"有 {len(PLANTED)} 个错误" in verdict, verdict
    rows = driver.find_elements(By.CSS_SELECTOR, "#findings tr.finding")
    cells = [[td.text for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]
    found = [tuple(c[1:4]) for c in cells if c[0] == "错误"]
    assert sorted(found) == sorted(PLANTED), cells
    _shoot(driver, "portal-result.png")
    driver.find_element(By.ID, "marked").click()
    marked = _wait_for_download(downloads)
    assert marked.suffix == ".xlsx" and marked.read_bytes()[:2] == b"PK"
    assert marked.read_bytes() != planted.read_bytes()
    # The marked copy carries the findings in 校验提示, on the planted rows.
    book = CalamineWorkbook.from_path(str(marked))
    for sheet, cell, value in PLANTED:
        rows = book.get_sheet_by_name(sheet).to_python()
        hints = rows[0].index(FINDINGS_HEADER)
        assert value in str(rows[int(cell[1:]) - 1][hints]), (sheet, cell)

    # The corrected workbook passes and counts.
    driver.get(url)
    driver.find_element(By.ID, "file").send_keys(str(corrected))
    driver.find_element(By.ID, "upload").click()
    assert "校验通过" in driver.find_element(By.ID, "verdict").text
    _shoot(driver, "portal-passed.png")
    driver.get(url)
    assert driver.find_element(By.ID, "state").text == "已报送"

    driver.get(server.url + "/office")
    driver.find_element(By.ID, "password").send_keys(setup.password)  # type: ignore[attr-defined]
    driver.find_element(By.ID, "login").click()
    row = driver.find_element(By.CSS_SELECTOR, 'tr.town[data-town="dingyan"]')
    assert row.find_element(By.CLASS_NAME, "state").text == "已报送"
    assert driver.find_element(By.ID, "n-ok").text == "1"
    assert driver.find_element(By.ID, "n-missing").text == "12"
    _shoot(driver, "portal-office.png")
    shutil.rmtree(downloads, ignore_errors=True)

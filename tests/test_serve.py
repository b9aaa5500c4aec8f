"""The portal (``xlz serve``, issue 13) through the application's test client: every page
and API route, and each refusal (wrong town, no token, revoked token, missing CSRF token,
oversize, zip bomb, traversal in the file name, a non-workbook)."""

from __future__ import annotations

import json
import re
import sqlite3
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from tests.xlz_books import build

with warnings.catch_warnings():  # starlette suggests httpx2 for its test client
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from xlz.cli import main
from xlz.io.portal import DB_NAME, Store
from xlz.ops import portal as ops
from xlz.web.server import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MAX_UPLOAD = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> ops.Setup:
    return ops.init_portal(tmp_path_factory.mktemp("portal") / "数据")


@pytest.fixture(scope="module")
def tokens(setup: ops.Setup) -> dict[str, str]:
    return {link.town: link.url.rsplit("/", 1)[1] for link in setup.links}


@pytest.fixture()
def client(setup: ops.Setup) -> Iterator[TestClient]:
    with TestClient(create_app(setup.folder, max_upload=MAX_UPLOAD),
                    follow_redirects=False) as c:
        yield c


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("books")
    return {
        "planted": build(folder / "丁堰镇-有错.xlsx", None, "dingyan"),
        "clean": build(folder / "丁堰镇.xlsx", {}, "dingyan"),
        "other": build(folder / "东陈镇.xlsx", {}, "dongchen"),
    }


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None, html
    return found.group(1)


def _api(client: TestClient, token: str | None, name: str, data: bytes) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post("/api/submissions", headers=headers, files={"file": (name, data)})


def _uploads(setup: ops.Setup) -> int:
    with sqlite3.connect(setup.folder / DB_NAME) as conn:
        return int(conn.execute("SELECT count(*) FROM uploads").fetchone()[0])


def _login(client: TestClient, setup: ops.Setup) -> str:
    page = client.get("/office/login")
    r = client.post("/office/login", data={"password": setup.password, "csrf": _csrf(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/office"
    return _csrf(client.get("/office").text)


# --------------------------------------------------------------------------- set-up
def test_init_stores_secrets_hashed_and_writes_the_links(setup: ops.Setup) -> None:
    assert setup.password and setup.api_token and len(setup.links) == 13
    raw = (setup.folder / DB_NAME).read_bytes()
    for secret in (setup.password, setup.api_token, *(x.url.rsplit("/", 1)[1]
                                                      for x in setup.links)):
        assert secret.encode() not in raw
    assert Store.open(setup.folder).setting("admin_password", ).startswith("scrypt$")
    ws = openpyxl.load_workbook(setup.links_workbook).active
    urls = [c.value for c in ws["B"] if isinstance(c.value, str) and "/t/" in c.value]
    assert urls == [x.url for x in setup.links]


def test_init_twice_is_refused_and_cli_json(tmp_path: Path, setup: ops.Setup) -> None:
    r = CliRunner().invoke(main, ["serve", "--data", str(setup.folder), "--init"])
    assert r.exit_code == 2 and "已经初始化过" in r.output
    r = CliRunner().invoke(main, ["serve", "--data", str(tmp_path / "x"), "--reissue", "丁堰镇"])
    assert r.exit_code == 2 and "--init" in r.output


def test_cli_reissue_and_revoke(tmp_path: Path, setup: ops.Setup, client: TestClient,
                                books: dict[str, Path]) -> None:
    r = CliRunner().invoke(main, ["serve", "--data", str(setup.folder), "--reissue", "下原",
                                  "--json"])
    assert r.exit_code == 0, r.output
    link = json.loads(r.output)["links"][0]
    token = link["url"].rsplit("/", 1)[1]
    assert link["town"] == "xiayuan"
    assert client.get(f"/t/{token}").status_code == 200
    r = CliRunner().invoke(main, ["serve", "--data", str(setup.folder), "--revoke", "下原镇"])
    assert r.exit_code == 0 and "已作废" in r.output
    page = client.get(f"/t/{token}")
    assert page.status_code == 404 and "无效或已作废" in page.text
    before = _uploads(setup)
    refused = _api(client, token, "a.xlsx", books["clean"].read_bytes())
    assert refused.status_code == 401 and refused.json()["code"] == "portal.link_invalid"
    assert _uploads(setup) == before
    r = CliRunner().invoke(main, ["serve", "--data", str(setup.folder), "--revoke", "火星镇"])
    assert r.exit_code == 2 and "不是方案中的镇区" in r.output


# --------------------------------------------------------------------------- clerk pages
def test_home_and_unknown_link(client: TestClient) -> None:
    assert "市科技局登录" in client.get("/").text
    r = client.get("/t/not-a-token")
    assert r.status_code == 404 and "无效或已作废" in r.text
    assert client.get("/nowhere").status_code == 404


def test_template_download_is_the_towns(client: TestClient, tokens: dict[str, str],
                                        tmp_path: Path) -> None:
    r = client.get(f"/t/{tokens['dingyan']}/template")
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    path = tmp_path / "t.xlsx"
    path.write_bytes(r.content)
    from xlz.io.read import read_workbook
    from xlz.ops.workbook import identify_workbook

    ident = identify_workbook(read_workbook(path))
    assert ident.town is not None and ident.town.code == "dingyan"


def test_page_upload_lists_findings_and_offers_the_marked_workbook(
        client: TestClient, tokens: dict[str, str], books: dict[str, Path],
        setup: ops.Setup, tmp_path: Path) -> None:
    token = tokens["dingyan"]
    page = client.get(f"/t/{token}")
    data = books["planted"].read_bytes()
    r = client.post(f"/t/{token}/upload", data={"csrf": _csrf(page.text)},
                    files={"file": ("丁堰镇 5月.xlsx", data)})
    assert r.status_code == 303
    result = client.get(r.headers["location"])
    assert result.status_code == 200
    assert "个错误" in result.text and "孵化载体" in result.text and "G3" in result.text
    assert "很大" in result.text  # the value as typed
    marked = client.get(r.headers["location"] + "/marked")
    assert marked.status_code == 200
    path = tmp_path / "marked.xlsx"
    path.write_bytes(marked.content)
    assert path.read_bytes() != data  # validated and marked, not the upload as sent
    assert "校验结果" in openpyxl.load_workbook(path).sheetnames
    # the bytes as sent are archived by their SHA-256
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    archived = list((setup.folder / "科技招商台账.sqlite.files" / digest[:2]).glob(digest[2:] + "*"))
    assert len(archived) == 1 and archived[0].read_bytes() == data
    # the town page lists it, and says which one counts
    page = client.get(f"/t/{token}").text
    assert "丁堰镇 5月.xlsx" in page and "计入（以此为准）" in page


def test_missing_csrf_changes_nothing(client: TestClient, tokens: dict[str, str],
                                      books: dict[str, Path], setup: ops.Setup) -> None:
    before = _uploads(setup)
    for form in ({}, {"csrf": "0" * 64}):
        r = client.post(f"/t/{tokens['dingyan']}/upload", data=form,
                        files={"file": ("a.xlsx", books["clean"].read_bytes())})
        assert r.status_code == 403 and "安全校验码" in r.text
    assert _uploads(setup) == before
    # another town's CSRF token does not fit this town's link
    other = _csrf(client.get(f"/t/{tokens['dongchen']}").text)
    r = client.post(f"/t/{tokens['dingyan']}/upload", data={"csrf": other},
                    files={"file": ("a.xlsx", books["clean"].read_bytes())})
    assert r.status_code == 403 and _uploads(setup) == before


def test_page_upload_without_a_file(client: TestClient, tokens: dict[str, str]) -> None:
    token = tokens["dingyan"]
    r = client.post(f"/t/{token}/upload", data={"csrf": _csrf(client.get(f"/t/{token}").text)})
    assert r.status_code == 400 and "没有收到文件" in r.text


# --------------------------------------------------------------------------- API refusals
def test_api_accepts_the_towns_file(client: TestClient, tokens: dict[str, str],
                                    books: dict[str, Path]) -> None:
    r = _api(client, tokens["dingyan"], "丁堰镇.xlsx", books["clean"].read_bytes())
    body = r.json()
    assert r.status_code == 200 and body["accepted"] and body["passed"]
    assert body["town"] == "dingyan" and body["findings"] == []
    r = _api(client, tokens["dingyan"], "丁堰镇.xlsx", books["planted"].read_bytes())
    body = r.json()
    assert body["accepted"] and not body["passed"] and body["errors"] > 0
    assert {"sheet", "cell", "value", "message", "code"} <= set(body["findings"][0])


def test_api_refuses_another_towns_file(client: TestClient, tokens: dict[str, str],
                                        books: dict[str, Path]) -> None:
    r = _api(client, tokens["dingyan"], "东陈镇.xlsx", books["other"].read_bytes())
    body = r.json()
    assert r.status_code == 422 and not body["accepted"]
    assert body["code"] == "portal.wrong_town" and "东陈镇" in body["message"]
    assert body["town"] == "dingyan"


def test_api_refuses_without_or_with_a_bad_token(client: TestClient,
                                                 books: dict[str, Path]) -> None:
    for token in (None, "", "x" * 32, "y" * 500):
        r = _api(client, token, "a.xlsx", books["clean"].read_bytes())
        assert r.status_code == 401 and r.json()["code"] == "portal.link_invalid"


def test_api_refuses_non_workbooks_and_wps(client: TestClient, tokens: dict[str, str]) -> None:
    cases = {"a.xlsx": (b"<html><table><tr><td>1</td></tr></table></html>",
                        "file.html_as_xls"),
             "a.docx": (b"just some text\n", "file.not_workbook"),
             "a.et": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "file.wps_et"),
             "empty.xlsx": (b"", "file.empty")}
    for name, (data, code) in cases.items():
        r = _api(client, tokens["dingyan"], name, data)
        assert r.status_code == 422, name
        assert r.json()["code"] == code, (name, r.json())
        assert "Traceback" not in r.text


def test_api_refuses_a_zip_bomb(client: TestClient, tokens: dict[str, str],
                                books: dict[str, Path], tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(books["clean"]) as zin, \
            zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * (200 << 20), 1)
            zout.writestr(info.filename, data)
    assert bomb.stat().st_size < MAX_UPLOAD
    r = _api(client, tokens["dingyan"], "bomb.xlsx", bomb.read_bytes())
    assert r.status_code == 422 and r.json()["code"] == "file.too_large", r.json()


def test_api_refuses_an_oversize_upload(client: TestClient, tokens: dict[str, str],
                                        setup: ops.Setup) -> None:
    before = _uploads(setup)
    r = _api(client, tokens["dingyan"], "big.xlsx", b"PK\x03\x04" + b"\0" * (MAX_UPLOAD + 1))
    assert r.status_code == 413 and r.json()["code"] == "portal.too_large"
    assert _uploads(setup) == before
    # the page says it in Chinese too
    token = tokens["dingyan"]
    r = client.post(f"/t/{token}/upload",
                    data={"csrf": _csrf(client.get(f"/t/{token}").text)},
                    files={"file": ("big.xlsx", b"\0" * (MAX_UPLOAD + 1))})
    assert r.status_code == 413 and "MB" in r.text


def test_a_traversal_name_is_never_a_path(client: TestClient, tokens: dict[str, str],
                                          books: dict[str, Path], setup: ops.Setup) -> None:
    evil = "../../../../tmp/xlz-evil.xlsx"
    r = _api(client, tokens["dingyan"], evil, books["clean"].read_bytes())
    assert r.status_code == 200 and r.json()["accepted"]
    assert not Path("/tmp/xlz-evil.xlsx").exists()
    upload = Store.open(setup.folder).upload(r.json()["upload"])
    assert upload is not None and upload.name == "xlz-evil.xlsx"
    for path in setup.folder.rglob("*"):
        assert path.resolve().is_relative_to(setup.folder.resolve())
        assert "evil" not in path.name
    r = _api(client, tokens["dingyan"], "..\\..\\windows\\丁堰.xlsx", books["clean"].read_bytes())
    assert r.json()["accepted"]


# --------------------------------------------------------------------------- office
def test_office_needs_the_login(client: TestClient, setup: ops.Setup) -> None:
    for url in ("/office", "/office/town/dingyan", "/office/u/1/marked",
                "/office/builds/1/city"):
        r = client.get(url)
        assert r.status_code == 303 and r.headers["location"] == "/office/login"
    assert client.post("/office/build", data={}).headers["location"] == "/office/login"
    page = client.get("/office/login")
    r = client.post("/office/login", data={"password": setup.password})  # no CSRF token
    assert r.status_code == 403 and "安全校验码" in r.text
    r = client.post("/office/login", data={"password": "wrong", "csrf": _csrf(page.text)})
    assert r.status_code == 403 and "口令不对" in r.text


def test_dashboard_build_and_status_api(client: TestClient, setup: ops.Setup,
                                        tokens: dict[str, str], books: dict[str, Path],
                                        tmp_path: Path) -> None:
    _api(client, tokens["dongchen"], "东陈镇.xlsx", books["other"].read_bytes())
    csrf = _login(client, setup)
    page = client.get("/office").text
    status = ops.round_status(Store.open(setup.folder), ops.load_plan())
    assert f'id="n-ok">{status.count("已报送")}<' in page
    assert f'id="n-missing">{status.count("未报送")}<' in page
    assert "东陈镇" in page and "未报送" in page
    town = client.get("/office/town/dingyan")
    assert town.status_code == 200 and "很大" in town.text
    # the API beside it
    assert client.get("/api/status").status_code == 401
    assert client.get("/api/status", headers={"Authorization": "Bearer x"}).status_code == 401
    api = client.get("/api/status", headers={"Authorization": f"Bearer {setup.api_token}"})
    body = api.json()
    assert body["counts"] == {s: status.count(s) for s in ("已报送", "未通过校验", "未报送")}
    assert {t["town"] for t in body["towns"]} >= {"dingyan", "dongchen"}
    # build without CSRF changes nothing; with it, the city workbook is offered
    assert client.post("/office/build", data={}).status_code == 403
    r = client.post("/office/build", data={"csrf": csrf})
    assert r.status_code == 200, r.text
    link = re.search(r'href="(/office/builds/\d+/city)"', r.text)
    assert link is not None
    city = client.get(link.group(1))
    assert city.status_code == 200 and city.content[:2] == b"PK"
    path = tmp_path / "city.xlsx"
    path.write_bytes(city.content)
    assert "项目信息库" in openpyxl.load_workbook(path, read_only=True).sheetnames
    assert (setup.folder / "科技招商台账.sqlite").is_file()
    # the audit log has every state change
    actions = {a["action"] for a in Store.open(setup.folder).audit_log()}
    assert {"init", "upload", "login", "login_failed", "build"} <= actions


def test_new_round_and_logout(setup: ops.Setup, tokens: dict[str, str],
                              books: dict[str, Path]) -> None:
    with TestClient(create_app(setup.folder), follow_redirects=False) as client:
        csrf = _login(client, setup)
        r = client.post("/office/new-round", data={"csrf": csrf})
        assert r.status_code == 200 and "新一轮" in r.text
        assert 'id="n-missing">13<' in r.text and 'id="n-uploads">0<' in r.text
        assert Store.open(setup.folder).uploads(1)  # the earlier round's uploads are kept
        r = client.post("/office/logout", data={"csrf": csrf})
        assert r.status_code == 303
        assert client.get("/office").headers["location"] == "/office/login"


def test_a_crash_shows_no_traceback(client: TestClient, setup: ops.Setup,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("secret internals")

    _login(client, setup)
    monkeypatch.setattr(ops, "round_status", broken)
    with TestClient(create_app(setup.folder), raise_server_exceptions=False) as c:
        c.cookies.update(client.cookies)
        r = c.get("/office")
        assert r.status_code == 500 and "服务器内部错误" in r.text
        assert "Traceback" not in r.text and "secret internals" not in r.text
        api = c.get("/api/status", headers={"Authorization": f"Bearer {setup.api_token}"})
        assert api.status_code == 500 and "secret" not in api.text

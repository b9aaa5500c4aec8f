"""The WPS add-in (WPS 加载项) on the portal: its files, its manifest, the page a clerk opens
once to register it, and the JSON endpoint its buttons call.

The add-in is served per town under ``/wps/t/<token>/`` (``ribbon.xml``, ``index.html``,
``xlz-wps.js``, ``images/``; the files are package data in ``xlz/web/wps/``), so the page's
own address tells its JavaScript which town it speaks for. WPS loads it in online mode
from ``/wps/t/<token>/jsplugins.xml`` (the manifest: name, type ``et``, the folder's
URL, version).

``POST /api/wps/{validate,fill,clear}`` (``Authorization: Bearer <town token>``) takes
the open workbook's values as JSON — ``{"name", "path", "properties", "sheets": [{"name",
"row", "col", "values"}]}``, ``row``/``col`` 1-based as ``UsedRange.Row``/``.Column``
give them — and answers ``{"message", "errors", "warnings", "blocks": [{"sheet",
"address", "row", "col", "values", "formulas"}]}``: the blocks
:mod:`xlz.ops.live_edits` computes, the same function the xlwings add-in calls.

WPS hands ``Value2``: a date typed as a date arrives as its serial number, which the
checks read as that date (:func:`xlz.core.normalize.parse_date`); a finding that
quotes such a cell quotes the number.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import quoteattr

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from xlz import __version__
from xlz.core.validator import SheetValues
from xlz.core.workbook import WorkbookData
from xlz.ops import live_edits
from xlz.web.app import Portal

Endpoint = Callable[[Request], Awaitable[Response]]

FILES: Final = Path(__file__).parent / "wps"
# What may be fetched from the add-in's folder, with its media type.
_SERVED: Final = {
    "ribbon.xml": "text/xml; charset=utf-8",
    "index.html": "text/html; charset=utf-8",
    "xlz-wps.js": "text/javascript; charset=utf-8",
    "images/validate.png": "image/png",
    "images/fill.png": "image/png",
    "images/clear.png": "image/png",
    "images/submit.png": "image/png",
    "images/about.png": "image/png",
}
ADDIN_NAME: Final = "xlzkjzs"  # WPS keys the add-in by this name: ASCII, never changed
_ACTIONS: Final = ("validate", "fill", "clear")
_BAD_BOOK: Final = "加载项发来的工作簿内容不完整，未作任何修改。请关闭后重新打开 WPS 再试。"


class BadBook(ValueError):
    pass


def manifest(base_url: str, token: str) -> str:
    """The add-in's ``jsplugins.xml`` for one town (WPS online mode)."""
    url = f"{base_url}/wps/t/{token}/"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<jsplugins>\n'
            f'  <jsplugin name={quoteattr(ADDIN_NAME)} type="et" url={quoteattr(url)} '
            f'version={quoteattr(__version__)} enable="true"/>\n</jsplugins>\n')


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadBook
        return value
    raise BadBook


def book_from_json(payload: Any) -> WorkbookData:
    """The add-in's JSON as the readers' :class:`WorkbookData`; :class:`BadBook` when it is
    not what the add-in sends."""
    if not isinstance(payload, dict) or not isinstance(payload.get("sheets"), list):
        raise BadBook
    name = payload.get("path") or payload.get("name") or "工作簿.xlsx"
    props = payload.get("properties")
    if props is not None and not (isinstance(props, dict)
                                  and all(isinstance(k, str) and isinstance(v, str)
                                          for k, v in props.items())):
        raise BadBook
    sheets: dict[str, SheetValues] = {}
    for sheet in payload["sheets"]:
        if not isinstance(sheet, dict):
            raise BadBook
        title, row, col, values = (sheet.get("name"), sheet.get("row"), sheet.get("col"),
                                   sheet.get("values"))
        if not (isinstance(title, str) and isinstance(row, int) and isinstance(col, int)
                and row >= 1 and col >= 1 and isinstance(values, list)
                and all(isinstance(r, list) for r in values)):
            raise BadBook
        rows = [[_cell(v) for v in r] for r in values]
        # Value2 gives "" for an empty cell inside the range; the readers give None.
        rows = [[None if v == "" else v for v in r] for r in rows]
        sheets[title] = SheetValues(title, rows, row, col - 1)
    if not isinstance(name, str):
        raise BadBook
    return WorkbookData(name, "xlsx", sheets, props, "")


def answer(action: str, data: WorkbookData) -> dict[str, Any]:
    """The endpoint's answer for one button: :mod:`xlz.ops.live_edits`, as JSON."""
    if action == "validate":
        done = live_edits.validate_edits(data)
    elif action == "fill":
        done = live_edits.fill_edits(data)
    else:
        done = live_edits.clear_edits(data)
    counts = done.report.counts()
    return {"message": done.message, "errors": counts["错误"], "warnings": counts["提醒"],
            "blocks": [b.to_dict() for b in done.blocks]}


def table(portal: Portal, bearer: Callable[[Request], str]
          ) -> list[tuple[str, Endpoint, list[str]]]:
    """(path, endpoint, methods) of the add-in's routes."""
    store = portal.store

    async def api(request: Request) -> Response:
        action = request.path_params["action"]
        if action not in _ACTIONS:
            return JSONResponse({"message": "没有这个按钮。"}, status_code=404)
        town = await run_in_threadpool(portal.town, bearer(request))
        if town is None:
            return JSONResponse({"message": "这个加载项的镇区链接已作废或不完整，未作任何修改。"
                                            "请按市里新发的链接重新注册加载项。"}, status_code=401)
        try:
            data = book_from_json(await request.json())
        except (ValueError, BadBook):  # json.JSONDecodeError is a ValueError
            return JSONResponse({"message": _BAD_BOOK}, status_code=400)
        body = await run_in_threadpool(answer, action, data)
        return JSONResponse(body)

    async def addin_file(request: Request) -> Response:
        town = await run_in_threadpool(portal.town, request.path_params["token"])
        name = request.path_params["name"]
        if town is None or name not in _SERVED:
            return portal.error_page(request, 404, "页面不存在。请检查链接是否完整。")
        # no-cache: a new version of the add-in reaches every PC at its next start
        return FileResponse(FILES / name, media_type=_SERVED[name],
                            headers={"Cache-Control": "no-cache"})

    def base_url() -> str:
        return (store.setting("base_url") or "").rstrip("/")

    async def addin_manifest(request: Request) -> Response:
        token = request.path_params["token"]
        town = await run_in_threadpool(portal.town, token)
        if town is None:
            return portal.error_page(request, 404, "页面不存在。请检查链接是否完整。")
        base = await run_in_threadpool(base_url)
        return Response(manifest(base or str(request.base_url).rstrip("/"), token),
                        media_type="text/xml; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    async def register_page(request: Request) -> Response:
        token = request.path_params["token"]
        town = await run_in_threadpool(portal.town, token)
        if town is None:
            return portal.error_page(request, 404, "链接无效或已作废。请向市科技局索取新的链接。")
        base = await run_in_threadpool(base_url) or str(request.base_url).rstrip("/")
        return portal.page(request, "wps.html", town=town, token=token,
                           manifest_url=f"{base}/wps/t/{token}/jsplugins.xml",
                           addin_url=f"{base}/wps/t/{token}/", addin_name=ADDIN_NAME)

    return [
        ("/api/wps/{action}", api, ["POST"]),
        ("/t/{token}/wps", register_page, ["GET"]),
        ("/wps/t/{token}/jsplugins.xml", addin_manifest, ["GET"]),
        ("/wps/t/{token}/{name:path}", addin_file, ["GET"]),
    ]

"""The portal's application factory: the routes of :mod:`xlz.web.routes` on the state of
:mod:`xlz.web.app`, with Chinese error pages (never a traceback) and the body cap."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from xlz.core.plan import Plan
from xlz.ops import portal as ops
from xlz.web import routes
from xlz.web.app import ENVELOPE, BodyLimit, Portal


def create_app(folder: str | os.PathLike[str], plan: Plan | None = None, *,
               max_upload: int = ops.DEFAULT_MAX_UPLOAD) -> ASGIApp:
    """The portal application on the data folder ``folder`` (made by ``--init``)."""
    portal = Portal(folder, plan, max_upload)
    app = Starlette(routes=[Route(path, endpoint, methods=methods)
                            for path, endpoint, methods in routes.table(portal)],
                    exception_handlers=_handlers(portal))
    app.state.portal = portal
    return BodyLimit(app, max_upload + ENVELOPE)


def _handlers(portal: Portal) -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        text = {404: "页面不存在。请检查链接是否完整。", 405: "不支持这种访问方式。"}.get(
            exc.status_code, str(exc.detail))
        if request.url.path.startswith("/api/"):
            return JSONResponse({"message": text}, status_code=exc.status_code)
        return portal.error_page(request, exc.status_code, text)

    async def crash(request: Request, exc: Exception) -> Response:
        # The message only: never a traceback in a page (it is in the server's log).
        text = "服务器内部错误，未做任何改动。请稍后重试；仍不行请联系市科技局。"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"message": text}, status_code=500)
        return portal.error_page(request, 500, text)

    return {HTTPException: http_error, Exception: crash}



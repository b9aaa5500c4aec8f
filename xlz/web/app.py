"""The portal's web door (``xlz serve``): the application's state and helpers; the
routes are in :mod:`xlz.web.routes`, the factory in :mod:`xlz.web.server`. Over
:mod:`xlz.ops.portal`. Pages are plain server-rendered HTML (Jinja2, no script, no CDN),
so any browser a town PC has can use them.

Who may do what:

- ``/t/<token>``: a town's secret link; it shows and submits for that town only.
- ``/office``: the office, after logging in with the admin password (a session cookie,
  HttpOnly, SameSite=Lax; the session is stored hashed in 门户.sqlite).
- ``/api/submissions`` (``Authorization: Bearer <town token>``) and ``/api/status``
  (``Bearer <admin API token>``): the same for scripts.

Every form carries a CSRF token, an HMAC of the session (or the town's link) under the
portal's secret; a POST without the right one changes nothing. Request bodies are
capped before they are read (:class:`BodyLimit`). No page ever shows a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xlz.core.catalogue import RULES
from xlz.core.errors import XlzError
from xlz.core.plan import Plan, Town, load_plan
from xlz.io.portal import Store
from xlz.ops import portal as ops

SESSION_COOKIE: Final = "xlz_session"
LOGIN_COOKIE: Final = "xlz_login"  # pre-login CSRF binding (double submit)
# The multipart envelope around the file: a few KB of headers and fields.
ENVELOPE: Final = 64 * 1024
_TEMPLATES: Final = Path(__file__).parent / "templates"


class TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse a request body over ``limit`` bytes before it is parsed or spooled: by its
    Content-Length at once, and by counting as it arrives (a chunked upload has none)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _too_large(self.limit)(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except TooLarge:
            if not started:
                await _too_large(self.limit)(scope, receive, send)


def _too_large(limit: int) -> Response:
    message = RULES["portal.too_large"].format(limit=limit // (1024 * 1024) or 1)
    return JSONResponse({"accepted": False, "code": "portal.too_large", "message": message},
                        status_code=413)


class Portal:
    """The application's state: the data folder, the plan, the upload cap."""

    def __init__(self, folder: str | os.PathLike[str], plan: Plan | None,
                 max_upload: int) -> None:
        self.store = Store.open(folder)
        self.plan = plan or load_plan(self.store.setting("plan"))
        self.max_upload = max_upload
        self.secret = (self.store.setting("secret") or "").encode()
        self.templates = Jinja2Templates(directory=str(_TEMPLATES))
        self.templates.env.filters["when"] = _when
        self.incoming = self.store.folder / ".incoming"
        self.incoming.mkdir(exist_ok=True)

    def csrf(self, bound_to: str) -> str:
        return hmac.new(self.secret, f"csrf:{bound_to}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, bound_to: str | None, given: Any) -> bool:
        return bool(bound_to) and isinstance(given, str) and hmac.compare_digest(
            self.csrf(str(bound_to)), given)

    def town(self, token: str) -> Town | None:
        code = self.store.town_of(token)
        return next((t for t in self.plan.towns if t.code == code), None)

    def page(self, request: Request, name: str, code: int = 200, **context: Any
             ) -> Response:
        return self.templates.TemplateResponse(request, name, context, status_code=code)

    def error_page(self, request: Request, status: int, message: str) -> Response:
        return self.page(request, "error.html", status, message=message)


def _when(stamp: str) -> str:
    """``2026-05-01T09:12:00+08:00`` → ``2026-05-01 09:12:00`` (the office's own clock)."""
    return stamp[:19].replace("T", " ")


async def receive_upload(portal: Portal, request: Request
                         ) -> tuple[dict[str, Any], Path | None, str]:
    """The form's fields, the file written to a temporary path inside the data folder
    (never under the browser's name) and the browser's name for it."""
    async with request.form(max_files=1, max_fields=10) as form:
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return fields, None, ""
        fd, tmp = tempfile.mkstemp(prefix="upload-", dir=portal.incoming)
        size = 0
        with os.fdopen(fd, "wb") as fh:
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > portal.max_upload:
                    fh.close()
                    Path(tmp).unlink(missing_ok=True)
                    raise TooLarge
                fh.write(chunk)
        return fields, Path(tmp), upload.filename


async def run_submit(portal: Portal, town: Town, path: Path, name: str, via: str
                     ) -> ops.Submission:
    try:
        return await run_in_threadpool(ops.submit, portal.store, portal.plan, town, path,
                                       name, via=via)
    finally:
        path.unlink(missing_ok=True)


def download(path: Path, name: str) -> Response:
    """A file with its Chinese name (RFC 6266 ``filename*``; an ASCII fallback for old
    browsers)."""
    quoted = urllib.parse.quote(name)
    return FileResponse(path, headers={
        "Content-Disposition": f"attachment; filename=\"download{path.suffix}\"; "
                               f"filename*=UTF-8''{quoted}"})


def refusal(code: str, status: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"accepted": False, "code": code,
                         "message": RULES[code].format(**extra)}, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def xlz_message(exc: XlzError) -> str:
    return exc.message

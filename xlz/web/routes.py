"""The portal's pages and API routes (see :mod:`xlz.web.app` for who may do what)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from xlz.core.catalogue import RULES
from xlz.core.errors import XlzError
from xlz.ops import portal as ops
from xlz.web import wpsaddin
from xlz.web.app import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Portal,
    TooLarge,
    download,
    receive_upload,
    redirect,
    refusal,
    run_submit,
)

Endpoint = Callable[[Request], Awaitable[Response]]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def table(portal: Portal) -> list[tuple[str, Endpoint, list[str]]]:
    """(path, endpoint, methods) of every route."""
    store, plan = portal.store, portal.plan

    def rule(code: str, **extra: Any) -> str:
        return RULES[code].format(**extra)

    def logged_in(request: Request) -> str | None:
        session = request.cookies.get(SESSION_COOKIE)
        return session if session and store.session_valid(session) else None

    # ------------------------------------------------------------------ clerk pages
    async def town_page(request: Request, notice: str = "", status: int = 200) -> Response:
        token = request.path_params["token"]
        town = await run_in_threadpool(portal.town, token)
        if town is None:
            return portal.error_page(request, 404, rule("portal.link_invalid"))
        state = await run_in_threadpool(_town_state, town)
        return portal.page(request, "town.html", status, town=town, state=state, token=token,
                           csrf=portal.csrf(f"t:{token}"), notice=notice,
                           max_mb=portal.max_upload // (1024 * 1024))

    def _town_state(town: Any) -> ops.TownState:
        round_id, _ = store.current_round()
        return ops.town_state(plan, town, store.uploads(round_id, town.code))

    async def town_template(request: Request) -> Response:
        town = await run_in_threadpool(portal.town, request.path_params["token"])
        if town is None:
            return portal.error_page(request, 404, rule("portal.link_invalid"))
        path = await run_in_threadpool(ops.template_path, store, plan, town)
        return download(path, path.name)

    async def town_upload(request: Request) -> Response:
        token = request.path_params["token"]
        town = await run_in_threadpool(portal.town, token)
        if town is None:
            return portal.error_page(request, 404, rule("portal.link_invalid"))
        try:
            fields, path, name = await receive_upload(portal, request)
        except TooLarge:
            return await town_page(request, rule("portal.too_large",
                                                 limit=portal.max_upload // 2**20), 413)
        if not portal.csrf_ok(f"t:{token}", fields.get("csrf")):
            if path is not None:
                path.unlink(missing_ok=True)
            return await town_page(request, rule("portal.form_expired"), 403)
        if path is None:
            return await town_page(request, rule("portal.no_file"), 400)
        submission = await run_submit(portal, town, path, name, "网页")
        return redirect(f"/t/{token}/u/{submission.upload.id}")

    async def town_result(request: Request) -> Response:
        token = request.path_params["token"]
        town = await run_in_threadpool(portal.town, token)
        upload = await run_in_threadpool(store.upload, request.path_params["upload"])
        if town is None:
            return portal.error_page(request, 404, rule("portal.link_invalid"))
        if upload is None or upload.town != town.code:
            return portal.error_page(request, 404, "没有这次上传。")
        state = await run_in_threadpool(_town_state, town)
        return portal.page(request, "result.html", town=town, upload=upload, token=token,
                           counts=state.counting is not None
                           and state.counting.id == upload.id)

    async def town_marked(request: Request) -> Response:
        token = request.path_params["token"]
        town = await run_in_threadpool(portal.town, token)
        upload = await run_in_threadpool(store.upload, request.path_params["upload"])
        if town is None or upload is None or upload.town != town.code:
            return portal.error_page(request, 404, rule("portal.link_invalid"))
        path = ops.marked_file(store, upload)
        if path is None:
            return portal.error_page(request, 404, "这次上传没有校验标注后的文件。")
        return download(path, path.name)

    # ------------------------------------------------------------------ office
    async def login_page(request: Request, message: str = "", status: int = 200) -> Response:
        binding = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
        response = portal.page(request, "login.html", status, csrf=portal.csrf(f"l:{binding}"),
                               message=message)
        response.set_cookie(LOGIN_COOKIE, binding, httponly=True, samesite="lax")
        return response

    async def login(request: Request) -> Response:
        async with request.form(max_files=0, max_fields=5) as form:
            password, given = form.get("password"), form.get("csrf")
        if not portal.csrf_ok(f"l:{request.cookies.get(LOGIN_COOKIE)}", given):
            return await login_page(request, rule("portal.form_expired"), 403)
        ok = isinstance(password, str) and await run_in_threadpool(
            ops.check_password, store, password)
        await run_in_threadpool(store.audit, "office", "login" if ok else "login_failed")
        if not ok:
            return await login_page(request, "口令不对，请重试。", 403)
        session = await run_in_threadpool(store.open_session)
        response = redirect("/office")
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax",
                            max_age=12 * 3600)
        return response

    async def logout(request: Request) -> Response:
        session = logged_in(request)
        async with request.form(max_files=0, max_fields=5) as form:
            given = form.get("csrf")
        if session is None or not portal.csrf_ok(f"s:{session}", given):
            return redirect("/office/login")
        await run_in_threadpool(store.close_session, session)
        await run_in_threadpool(store.audit, "office", "logout")
        response = redirect("/office/login")
        response.delete_cookie(SESSION_COOKIE)
        return response

    async def dashboard(request: Request, message: str = "", status: int = 200) -> Response:
        session = await run_in_threadpool(logged_in, request)
        if session is None:
            return redirect("/office/login")
        state = await run_in_threadpool(ops.round_status, store, plan)
        tokens = await run_in_threadpool(store.token_states)
        return portal.page(request, "office.html", status, status=state, tokens=tokens,
                           csrf=portal.csrf(f"s:{session}"), message=message)

    async def office_town(request: Request) -> Response:
        if await run_in_threadpool(logged_in, request) is None:
            return redirect("/office/login")
        town = next((t for t in plan.towns if t.code == request.path_params["town"]), None)
        if town is None:
            return portal.error_page(request, 404, "没有这个镇区。")
        state = await run_in_threadpool(_town_state, town)
        return portal.page(request, "office_town.html", town=town, state=state)

    async def office_file(request: Request) -> Response:
        if await run_in_threadpool(logged_in, request) is None:
            return redirect("/office/login")
        upload = await run_in_threadpool(store.upload, request.path_params["upload"])
        path = None if upload is None else ops.marked_file(store, upload)
        if path is None:
            return portal.error_page(request, 404, "没有这次上传的标注文件。")
        return download(path, path.name)

    async def office_post(request: Request, action: Callable[[], Any]) -> Response:
        session = await run_in_threadpool(logged_in, request)
        if session is None:
            return redirect("/office/login")
        async with request.form(max_files=0, max_fields=5) as form:
            given = form.get("csrf")
        if not portal.csrf_ok(f"s:{session}", given):
            return await dashboard(request, rule("portal.form_expired"), 403)
        try:
            message = await run_in_threadpool(action)
        except XlzError as exc:
            return await dashboard(request, exc.message, 409)
        return await dashboard(request, message)

    async def build(request: Request) -> Response:
        def action() -> str:
            built = ops.build_round(store, plan, bulletin=ops.default_bulletin())
            return f"已生成第 {built.build_id} 次汇总，请在下方下载。"
        return await office_post(request, action)

    async def new_round(request: Request) -> Response:
        def action() -> str:
            round_id = store.open_round()
            store.audit("office", "new_round", round=round_id)
            return f"已开始第 {round_id} 轮报送：各镇区需重新上传。"
        return await office_post(request, action)

    async def built(request: Request) -> Response:
        if await run_in_threadpool(logged_in, request) is None:
            return redirect("/office/login")
        kind = request.path_params["kind"]
        path = ops.built_file(store, request.path_params["build"], kind)
        if path is None:
            return portal.error_page(request, 404, "没有这个文件。")
        return download(path, path.name)

    # ------------------------------------------------------------------ API
    async def api_submit(request: Request) -> Response:
        town = await run_in_threadpool(portal.town, _bearer(request))
        if town is None:
            return refusal("portal.link_invalid", 401)
        try:
            _, path, name = await receive_upload(portal, request)
        except TooLarge:
            return refusal("portal.too_large", 413, limit=portal.max_upload // 2**20)
        if path is None:
            return refusal("portal.no_file", 400)
        submission = await run_submit(portal, town, path, name, "接口")
        return JSONResponse(submission.to_dict(),
                            status_code=200 if submission.accepted else 422)

    async def api_status(request: Request) -> Response:
        token = _bearer(request)
        allowed = bool(token) and await run_in_threadpool(ops.check_api_token, store, token)
        if not allowed:
            return JSONResponse({"message": "需要市科技局的接口令牌（Authorization: Bearer …）。"},
                                status_code=401)
        state = await run_in_threadpool(ops.round_status, store, plan)
        return JSONResponse(state.to_dict())

    async def home(request: Request) -> Response:
        return portal.page(request, "home.html")

    return [
        ("/", home, ["GET"]),
        ("/t/{token}", town_page, ["GET"]),
        ("/t/{token}/template", town_template, ["GET"]),
        ("/t/{token}/upload", town_upload, ["POST"]),
        ("/t/{token}/u/{upload:int}", town_result, ["GET"]),
        ("/t/{token}/u/{upload:int}/marked", town_marked, ["GET"]),
        ("/office/login", login_page, ["GET"]),
        ("/office/login", login, ["POST"]),
        ("/office/logout", logout, ["POST"]),
        ("/office", dashboard, ["GET"]),
        ("/office/town/{town}", office_town, ["GET"]),
        ("/office/u/{upload:int}/marked", office_file, ["GET"]),
        ("/office/build", build, ["POST"]),
        ("/office/new-round", new_round, ["POST"]),
        ("/office/builds/{build:int}/{kind}", built, ["GET"]),
        ("/api/submissions", api_submit, ["POST"]),
        ("/api/status", api_status, ["GET"]),
        *wpsaddin.table(portal, _bearer),
    ]

"""The service-center web app: pages for staff, a JSON API, OpenAPI docs, all assets served locally.

``create_app`` builds one app per database; ``complaints serve`` runs it with
uvicorn. Security measures live at this level: signed HttpOnly SameSite
session cookies, a strict Content-Security-Policy (no inline script, nothing
from other hosts), and uniform 404s for slips a user may not see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from pipeline import ledger
from pipeline.notify import notify_new_red_slips, webhook_settings
from pipeline.storage.db import session_factory, upgrade
from pipeline.storage.models import User
from webapp import api, pages
from webapp.config import WebConfig, load_web_config
from webapp.deps import CsrfRejected, LoginRequired, return_target
from webapp.errors import HTTP_ZH, validation_message
from webapp.security import IpThrottle, LoginGuard
from webapp.slipview import NotFound
from webapp.templating import make_templates, render

log = logging.getLogger(__name__)
_SLIP_FORM = re.compile(r"^/slips/[^/]+/(actions|comments|attachments)$")
STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)


def _signed_in(request: Request) -> User | None:
    """The signed-in user for error pages (so they keep the navigation bar), or None."""
    uid = request.session.get("uid") if "session" in request.scope else None
    if not isinstance(uid, int):
        return None
    with request.app.state.session_factory() as session:
        user = session.get(User, uid)
        if user is None or user.disabled or request.session.get("gen") != user.session_generation:
            return None
        session.expunge(user)
        return user


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/openapi.json", "/docs")


def _secure(response: Response, path: str = "") -> Response:
    """The security headers, also on answers that bypass the middleware (500s)."""
    response.headers.setdefault("Content-Security-Policy", DOCS_CSP if path == "/docs" else PAGE_CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    try:
        return render(request, "error.html", status, title=title, message=message, user=_signed_in(request))
    except Exception:
        log.exception("error page could not be rendered")
        return Response(f"{title}：{message}", status, media_type="text/plain; charset=utf-8")


def _notice_round(app: FastAPI) -> None:
    """In-app notices for new red slips and slips about to be overdue, then the webhook when configured."""
    with app.state.session_factory() as session:
        ledger.refresh_notifications(session, config=app.state.ledger_config)
        session.commit()
    if webhook_settings() is not None:
        notify_new_red_slips(app.state.session_factory)


async def _webhook_loop(app: FastAPI, every_s: int) -> None:
    """Notices and red-slip webhooks periodically; a failure is logged and tried next round."""
    while True:
        try:
            await asyncio.to_thread(_notice_round, app)
        except Exception:
            log.exception("notification round failed")
        await asyncio.sleep(every_s)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    task = None
    if app.state.config.webhook_poll_s > 0:
        task = asyncio.create_task(_webhook_loop(app, app.state.config.webhook_poll_s))
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def create_app(
    db_url: str | None = None,
    config: WebConfig | None = None,
    engine: Engine | None = None,
    ledger_config: ledger.LedgerConfig | None = None,
) -> FastAPI:
    """The app for the database at ``db_url`` (upgraded to the latest schema first) or the given engine."""
    engine = engine or upgrade(db_url)
    config = config or load_web_config()
    app = FastAPI(
        title="投诉风险预警服务中心 API",
        description="95598 来电 12398 投诉风险预警单的查询与处理。认证：`Authorization: Bearer <令牌>`，"
        "令牌由管理员用 `complaints users token 用户名` 生成。",
        version="1",
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    app.state.config = config
    app.state.templates = make_templates()
    app.state.throttle = IpThrottle(config.ip_max_attempts, config.ip_window_s)
    app.state.login_guard = LoginGuard(config.login_max_failures, config.lockout_minutes * 60)
    app.state.ledger_config = ledger_config or ledger.load_ledger_config()

    app.add_middleware(
        SessionMiddleware,
        secret_key=config.secret_key,
        session_cookie="complaints_session",
        max_age=config.session_max_age_s,
        same_site="lax",
        https_only=config.https_only,
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        return _secure(await call_next(request), request.url.path)

    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="投诉风险预警服务中心 API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired):
        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, exc: CsrfRejected):
        if _SLIP_FORM.match(request.url.path) and not isinstance(request.session.get("uid"), int):
            return RedirectResponse(f"/login?next={quote(return_target(request), safe='/')}", status_code=303)
        return _error_page(request, 403, "请求被拒绝", "表单已过期或来源不明，请刷新页面后重试。")

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return _error_page(request, 404, "未找到", "您要查看的预警单不存在，或不属于您的单位。")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        default = HTTP_ZH.get(exc.status_code, "请求无法完成。")
        detail = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else default
        if _is_api(request):
            return JSONResponse({"detail": detail}, exc.status_code, headers=getattr(exc, "headers", None))
        return _error_page(request, exc.status_code, f"错误 {exc.status_code}", detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError):
        message, errors = validation_message(exc.errors())
        if _is_api(request):
            return JSONResponse({"detail": message, "errors": errors}, 422)
        return _error_page(request, 422, "填写有误", message + " 请返回上一页修改后重试。")

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "服务器内部错误，请稍后重试；如果一再出现，请联系管理员。"
        if _is_api(request):
            return _secure(JSONResponse({"detail": message}, 500), request.url.path)
        return _secure(_error_page(request, 500, "服务器内部错误", message), request.url.path)

    return app

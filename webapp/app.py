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
from collections.abc import AsyncIterator
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from pipeline.notify import notify_new_red_slips, webhook_settings
from pipeline.storage.db import session_factory, upgrade
from pipeline.storage.models import User
from webapp import api, pages
from webapp.config import WebConfig, load_web_config
from webapp.deps import CsrfRejected, LoginRequired
from webapp.security import IpThrottle
from webapp.slipview import NotFound
from webapp.templating import make_templates, render

log = logging.getLogger(__name__)
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
        return None if user is None or user.disabled else user


async def _webhook_loop(app: FastAPI, every_s: int) -> None:
    """Queue and send red-slip notifications periodically; a failure is logged and tried next round."""
    while True:
        try:
            await asyncio.to_thread(notify_new_red_slips, app.state.session_factory)
        except Exception:
            log.exception("webhook round failed")
        await asyncio.sleep(every_s)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    task = None
    if app.state.config.webhook_poll_s > 0 and webhook_settings() is not None:
        task = asyncio.create_task(_webhook_loop(app, app.state.config.webhook_poll_s))
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def create_app(
    db_url: str | None = None, config: WebConfig | None = None, engine: Engine | None = None
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
        response = await call_next(request)
        docs = request.url.path == "/docs"
        response.headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else PAGE_CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

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
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, exc: CsrfRejected):
        return render(
            request, "error.html", 403, title="请求被拒绝", message="表单已过期或来源不明，请刷新页面后重试。"
        )

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return render(
            request, "error.html", 404, title="未找到", message="您要查看的预警单不存在，或不属于您的单位。"
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/api/") or request.url.path in ("/openapi.json", "/docs"):
            return JSONResponse(
                {"detail": exc.detail}, exc.status_code, headers=getattr(exc, "headers", None)
            )
        message = "页面不存在。" if exc.status_code == 404 else str(exc.detail)
        return render(
            request, "error.html", exc.status_code, title=f"错误 {exc.status_code}", message=message
        )

    return app

"""Server-rendered pages: login, slip queue, slip detail with actions, dashboard, exports."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from pipeline.labels import LABEL_ZH, RISK_LEVEL_ZH
from pipeline.storage.models import User
from pipeline.storage.types import utcnow
from webapp import charts, dashboard
from webapp.access import ACTION_ZH, can_act
from webapp.deps import check_csrf, db_session, page_user
from webapp.exports import ledger_xlsx, slip_pdf
from webapp.queue import FilterError, QueueFilters, iter_queue, parse_filters, queue_page, visible_units
from webapp.security import is_locked, record_failure, record_success, verify_password
from webapp.slipview import (
    Conflict,
    Forbidden,
    NotFound,
    act_on_slip,
    available_actions,
    customer_history,
    highlight_terms,
    slip_calls,
    slip_events,
    split_display_turns,
    visible_slip,
)
from webapp.templating import render
from webapp.users import find_user

router = APIRouter(include_in_schema=False)
FILTER_KEYS = ("unit", "level", "status", "category", "date_from", "date_to", "q", "supervised")


def _safe_next(target: str | None) -> str:
    """Only local paths, so the login page cannot be used to bounce users to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/slips"


def _flash(request: Request, kind: str, text: str) -> None:
    request.session["flash"] = {"kind": kind, "text": text}


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/slips", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None):
    return render(request, "login.html", next=_safe_next(next), error=None, username="")


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/slips"),
    session: Session = Depends(db_session),
):
    """Sign in; wrong passwords count per user (lockout) and per client address (throttle)."""
    config = request.app.state.config
    throttle = request.app.state.throttle
    ip = request.client.host if request.client else "unknown"
    username = username.strip()[:64]

    def fail(message: str, status: int = 401):
        return render(request, "login.html", status, next=_safe_next(next), error=message, username=username)

    if throttle.blocked(ip):
        return fail("登录尝试过于频繁，请稍后再试", 429)
    user = find_user(session, username) if username else None
    if user is not None and is_locked(user):
        throttle.hit(ip)
        minutes = max(1, int((user.locked_until - utcnow()).total_seconds() // 60) + 1)
        return fail(f"连续输错密码次数过多，账号已锁定，请 {minutes} 分钟后再试", 423)
    if user is None or not verify_password(user.password_hash, password):
        throttle.hit(ip)
        if user is not None:
            record_failure(user, config.login_max_failures, config.lockout_minutes)
            session.commit()
        return fail("用户名或密码错误")
    if user.disabled:
        return fail("该账号已停用，请联系管理员", 403)
    record_success(user)
    session.commit()
    request.session.clear()
    request.session["uid"] = user.id
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _filters_from(request: Request) -> tuple[QueueFilters, str | None]:
    params = {k: request.query_params.get(k) for k in FILTER_KEYS}
    try:
        return parse_filters(params), None
    except FilterError as exc:
        return QueueFilters(), str(exc)


@router.get("/slips")
def queue(request: Request, user: User = Depends(page_user), session: Session = Depends(db_session)):
    filters, error = _filters_from(request)
    try:
        page_no = int(request.query_params.get("page", "1"))
    except ValueError:
        page_no = 1
    page = queue_page(session, user, filters, page_no, request.app.state.config.per_page)
    query = filters.as_query()
    return render(
        request,
        "queue.html",
        status_code=400 if error else 200,
        user=user,
        page=page,
        filters=filters,
        filter_error=error,
        units=visible_units(session, user),
        query=urlencode(query),
        page_link=lambda n: "/slips?" + urlencode(query | {"page": n}),
        now=utcnow(),
    )


@router.get("/slips/{slip_no}")
def detail(
    slip_no: str, request: Request, user: User = Depends(page_user), session: Session = Depends(db_session)
):
    slip = visible_slip(session, user, slip_no)
    calls = slip_calls(session, slip)
    return render(
        request,
        "detail.html",
        user=user,
        slip=slip,
        calls=[(c, split_display_turns(c.transcript)) for c in calls],
        terms=highlight_terms(slip, calls),
        events=slip_events(session, slip),
        history=customer_history(session, user, slip),
        actions=available_actions(user, slip),
        read_only=not any(can_act(user, a) for a in ACTION_ZH),
    )


@router.post("/slips/{slip_no}/actions", dependencies=[Depends(check_csrf)])
def act(
    slip_no: str,
    request: Request,
    action: str = Form(...),
    note: str = Form(""),
    callback_result: str = Form(""),
    version: int | None = Form(None),
    user: User = Depends(page_user),
    session: Session = Depends(db_session),
):
    try:
        act_on_slip(session, user, slip_no, action, note[:2000], callback_result or None, version)
    except Forbidden:
        _flash(request, "error", f"您的角色无权执行“{ACTION_ZH.get(action, action)}”")
        return RedirectResponse(f"/slips/{slip_no}", status_code=303)
    except Conflict as exc:
        _flash(request, "error", str(exc))
        return RedirectResponse(f"/slips/{slip_no}", status_code=303)
    _flash(request, "ok", f"已{ACTION_ZH.get(action, action)}")
    return RedirectResponse(f"/slips/{slip_no}", status_code=303)


@router.get("/slips/{slip_no}/pdf")
def slip_pdf_view(
    slip_no: str, user: User = Depends(page_user), session: Session = Depends(db_session)
) -> Response:
    slip = visible_slip(session, user, slip_no)
    pdf = slip_pdf(slip, slip_calls(session, slip), slip_events(session, slip), user.username)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{slip.slip_no}.pdf"'},
    )


@router.get("/ledger.xlsx")
def ledger(
    request: Request, user: User = Depends(page_user), session: Session = Depends(db_session)
) -> Response:
    filters, _ = _filters_from(request)
    data = ledger_xlsx(iter_queue(session, user, filters))
    name = f"slip-ledger-{datetime.now():%Y%m%d-%H%M}.xlsx"
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/dashboard")
def dashboard_page(request: Request, user: User = Depends(page_user), session: Session = Depends(db_session)):
    return render(
        request,
        "dashboard.html",
        user=user,
        totals=dashboard.totals(session, user),
        open_table=dashboard.open_by_unit_level(session, user),
        overdue=dashboard.overdue_by_unit(session, user),
        rates=dashboard.rates_by_unit(session, user),
        on_time=dashboard.closed_on_time(session, user),
        trend_nights=dashboard.TREND_NIGHTS,
    )


def _chart(name: str, session: Session, user: User) -> bytes | None:
    if name == "open":
        table = dashboard.open_by_unit_level(session, user)
        levels = ("red", "orange", "yellow")
        return charts.stacked_bars(
            list(table),
            {RISK_LEVEL_ZH[lv]: [row[lv] for row in table.values()] for lv in levels},
            colors={RISK_LEVEL_ZH[lv]: charts.LEVEL_COLORS[lv] for lv in levels},
            ylabel="未销号预警单",
        )
    if name == "overdue":
        data = dashboard.overdue_by_unit(session, user)
        return charts.bars(
            list(data),
            list(data.values()),
            ylabel="超期预警单",
            color=charts.LEVEL_COLORS["red"],
            integer=True,
        )
    if name == "trend":
        days, series = dashboard.category_trend(session, user)
        return charts.lines(
            [d.strftime("%m-%d") for d in days], {LABEL_ZH[k]: v for k, v in series.items()}, ylabel="来电量"
        )
    if name == "rates":
        rates = dashboard.rates_by_unit(session, user)
        return charts.bars(
            [r.unit + ("*" if r.estimated else "") for r in rates],
            [r.calls_per_million for r in rates],
            ylabel="每百万户来电",
            value_format="{:,.0f}",
        )
    if name == "ontime":
        rows = dashboard.closed_on_time(session, user)
        return charts.bars(
            [r.unit for r in rows],
            [100 * r.share for r in rows],
            ylabel="按时销号率 (%)",
            value_format="{:.0f}%",
            color=charts.PALETTE[1],
            ymax=110,
        )
    return None


@router.get("/charts/{name}.svg")
def chart(name: str, user: User = Depends(page_user), session: Session = Depends(db_session)) -> Response:
    svg = _chart(name, session, user)
    if svg is None:
        raise NotFound(name)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=60"})

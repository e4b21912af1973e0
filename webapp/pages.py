"""Server-rendered pages: login, slip queue (search, bulk actions), slip detail with actions, comments and
photos, notices, dashboard, exports."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import corrections, ledger
from pipeline.labels import LABEL_ZH, RISK_LEVEL_ZH
from pipeline.ledger import Action, FilterError, LedgerFilters, parse_filters, parse_page
from pipeline.storage.models import User
from pipeline.storage.types import utcnow
from webapp import charts, dashboard
from webapp.access import allowed_actions, can_write
from webapp.api import attachment_response
from webapp.deps import check_csrf, db_session, page_user
from webapp.exports import slip_pdf
from webapp.queue import assignable_users, iter_queue, queue_page, visible_units
from webapp.security import client_ip, verify_password
from webapp.slipview import (
    BadCategory,
    Conflict,
    Forbidden,
    NotFound,
    act_on_slip,
    attach_to_slip,
    available_actions,
    comment_on_slip,
    customer_history,
    highlight_terms,
    label_call,
    slip_calls,
    slip_events,
    split_display_turns,
    visible_slip,
)
from webapp.templating import render
from webapp.users import find_user, revoke_sessions

router = APIRouter(include_in_schema=False)
FILTER_KEYS = (
    "unit",
    "level",
    "status",
    "category",
    "date_from",
    "date_to",
    "q",
    "supervised",
    "assignee",
    "sort",
    "escalated_12398",
    "false_alarm",
)
LOGIN_FAILED = "用户名或密码错误；同一账号连续输错多次后须等待一段时间再试"


def _safe_next(target: str | None) -> str:
    """Only local paths, so the login page cannot be used to bounce users to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/slips"


def _flash(request: Request, kind: str, text: str) -> None:
    request.session["flash"] = {"kind": kind, "text": text}


def _page(request: Request, name: str, session: Session, user: User, status_code: int = 200, **context):
    """A signed-in page: the user and their unread notices in the top bar."""
    return render(request, name, status_code, user=user, unread=ledger.unread_count(session, user), **context)


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
    """Sign in. Wrong passwords count per (name, address) and per address; a locked pair gets the same
    answer as a wrong password, so the page never tells which accounts exist."""
    config = request.app.state.config
    throttle = request.app.state.throttle
    guard = request.app.state.login_guard
    ip = client_ip(request, frozenset(config.trusted_proxies))
    username = username.strip()[:64]

    def fail(message: str, status: int = 401):
        return render(request, "login.html", status, next=_safe_next(next), error=message, username=username)

    if throttle.blocked(ip):
        return fail("登录尝试过于频繁，请稍后再试", 429)
    if guard.blocked(username, ip):
        throttle.hit(ip)
        verify_password(None, password)
        return fail(LOGIN_FAILED)
    user = find_user(session, username) if username else None
    if user is None or not verify_password(user.password_hash, password):
        throttle.hit(ip)
        guard.fail(username, ip)
        return fail(LOGIN_FAILED)
    if user.disabled:
        return fail("该账号已停用，请联系管理员", 403)
    guard.succeed(username, ip)
    user.failed_logins = 0
    session.commit()
    draft = request.session.get("draft")
    request.session.clear()
    request.session["uid"] = user.id
    request.session["gen"] = user.session_generation
    if draft:
        request.session["draft"] = draft
        _flash(request, "ok", "登录已超时，您填写的说明已保留，请确认后重新提交。")
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, session: Session = Depends(db_session)) -> RedirectResponse:
    """Sign out: the session generation moves on, so no copy of the cookie works any more."""
    uid = request.session.get("uid")
    user = session.get(User, uid) if isinstance(uid, int) else None
    if user is not None:
        revoke_sessions(user)
        session.commit()
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _filters_from(request: Request, user: User) -> tuple[LedgerFilters, str | None]:
    params = {k: request.query_params.get(k) for k in FILTER_KEYS}
    if request.query_params.get("mine") in ("1", "true", "on"):
        params["assignee"] = user.username
    try:
        return parse_filters(params), None
    except FilterError as exc:
        return LedgerFilters(status="open"), str(exc)


@router.get("/slips")
def queue(request: Request, user: User = Depends(page_user), session: Session = Depends(db_session)):
    filters, error = _filters_from(request, user)
    try:
        page_no = parse_page(request.query_params.get("page"))
    except FilterError as exc:
        page_no, error = 1, error or str(exc)
    page = queue_page(session, user, filters, page_no, request.app.state.config.per_page)
    query = filters.as_query()
    return _page(
        request,
        "queue.html",
        session,
        user,
        status_code=400 if error else 200,
        page=page,
        filters=filters,
        filter_error=error,
        units=visible_units(session, user),
        query=urlencode(query),
        back="/slips?" + urlencode(query | {"page": page.page}),
        page_link=lambda n: "/slips?" + urlencode(query | {"page": n}),
        mine=filters.assignee == user.username,
        assignees=_unit_staff(session, user),
        bulk_ok=any(a in available_for_role(request, user) for a in ("acknowledge", "assign")),
        now=utcnow(),
        ledger_config=request.app.state.ledger_config,
    )


def available_for_role(request: Request, user: User) -> frozenset[str]:
    return allowed_actions(user, request.app.state.ledger_config)


def _unit_staff(session: Session, user: User) -> list[str]:
    """Names offered for bulk 转派: the unit's staff for a unit user, every unit's staff for the province."""
    if user.role not in ("unit", "province"):
        return []
    query = select(User.username).where(User.role == "unit", User.disabled.is_(False))
    if user.role == "unit":
        query = query.where(User.unit == user.unit)
    return list(session.scalars(query.order_by(User.username)))


@router.post("/slips/bulk", dependencies=[Depends(check_csrf)])
async def bulk(request: Request, user: User = Depends(page_user), session: Session = Depends(db_session)):
    """签收 or 转派 every selected slip; one message says what was done and what was not."""
    form = await request.form()
    action = str(form.get("action") or "")
    back = _safe_next(str(form.get("back") or "/slips"))
    numbers = list(dict.fromkeys(str(n) for n in form.getlist("slip_no")))[:200]
    if action not in (Action.ACKNOWLEDGE, Action.ASSIGN):
        _flash(request, "error", "请选择批量操作：签收或转派")
        return RedirectResponse(back, status_code=303)
    if not numbers:
        _flash(request, "error", "请先勾选预警单")
        return RedirectResponse(back, status_code=303)
    assignee = str(form.get("assignee") or "").strip() or None
    done, failed = [], []
    for slip_no in numbers:
        try:
            act_on_slip(
                session, user, slip_no, action, None, None, None,
                assignee=assignee, config=request.app.state.ledger_config,
            )  # fmt: skip
            done.append(slip_no)
        except NotFound:
            failed.append(f"{slip_no}（不存在）")
        except Forbidden:
            failed.append(f"{slip_no}（无权操作）")
        except Conflict as exc:
            failed.append(f"{slip_no}（{exc}）")
    verb = Action(action).zh
    text = f"已{verb} {len(done)} 张预警单" + (f"{'，处理人 ' + assignee if assignee and done else ''}")
    if failed:
        text += f"；{len(failed)} 张未能{verb}：" + "；".join(failed[:5]) + ("……" if len(failed) > 5 else "")
    _flash(request, "ok" if done and not failed else "error", text)
    return RedirectResponse(back, status_code=303)


@router.get("/slips/{slip_no}")
def detail(
    slip_no: str, request: Request, user: User = Depends(page_user), session: Session = Depends(db_session)
):
    slip = visible_slip(session, user, slip_no)
    calls = slip_calls(session, slip)
    config = request.app.state.ledger_config
    draft = request.session.get("draft")
    if isinstance(draft, dict) and draft.get("path") == f"/slips/{slip.slip_no}":
        request.session.pop("draft", None)
    else:
        draft = None
    actions = available_actions(user, slip, config)
    events = slip_events(session, slip)
    return _page(
        request,
        "detail.html",
        session,
        user,
        slip=slip,
        calls=[(c, split_display_turns(c.transcript)) for c in calls],
        corrected=corrections.corrected_categories(session, [c.call_id for c in calls]),
        can_label=can_write(user),
        terms=highlight_terms(slip, calls),
        events=events,
        handling=[e for e in events if e.action == Action.HANDLE],
        history=customer_history(session, user, slip),
        actions=actions,
        read_only=not can_write(user),
        draft=draft,
        assignable=assignable_users(session, slip),
        comments=ledger.comments_of(session, slip),
        attachments=ledger.attachments_of(session, slip),
        max_mb=config.attachment_max_bytes // (1024 * 1024),
        now=utcnow(),
        ledger_config=config,
    )


@router.post("/slips/{slip_no}/actions", dependencies=[Depends(check_csrf)])
def act(
    slip_no: str,
    request: Request,
    action: str = Form(...),
    note: str = Form(""),
    callback_result: str = Form(""),
    assignee: str = Form(""),
    version: int | None = Form(None),
    user: User = Depends(page_user),
    session: Session = Depends(db_session),
):
    zh = Action(action).zh if action in Action.__members__.values() else action
    try:
        act_on_slip(
            session, user, slip_no, action, note[:2000], callback_result or None, version,
            assignee=assignee or None, config=request.app.state.ledger_config,
        )  # fmt: skip
    except Forbidden:
        _flash(request, "error", f"您的角色无权执行“{zh}”")
        return RedirectResponse(f"/slips/{slip_no}", status_code=303)
    except Conflict as exc:
        _flash(request, "error", str(exc))
        if note.strip():
            request.session["draft"] = {"path": f"/slips/{slip_no}", "action": action, "note": note[:2000]}
        return RedirectResponse(f"/slips/{slip_no}", status_code=303)
    _flash(
        request, "ok", Action(action).done_zh + (f"：处理人 {assignee}" if action == Action.ASSIGN else "")
    )
    return RedirectResponse(f"/slips/{slip_no}", status_code=303)


@router.post("/slips/{slip_no}/calls/{call_id}/label", dependencies=[Depends(check_csrf)])
def label(
    slip_no: str,
    call_id: str,
    request: Request,
    category: str = Form(""),
    user: User = Depends(page_user),
    session: Session = Depends(db_session),
):
    """Correct a call's category from the slip page; the call must be on this slip."""
    slip = visible_slip(session, user, slip_no)
    if call_id not in {c.call_id for c in slip_calls(session, slip)}:
        raise NotFound(call_id)
    try:
        label_call(session, user, call_id, category)
    except Forbidden:
        _flash(request, "error", "您的角色为只读，不能更正问题类别")
    except (BadCategory, Conflict) as exc:
        _flash(request, "error", str(exc))
    else:
        _flash(request, "ok", f"来电 {call_id} 的问题类别已更正为{LABEL_ZH[category]}")
    return RedirectResponse(f"/slips/{slip_no}#call-{call_id}", status_code=303)


@router.post("/slips/{slip_no}/comments", dependencies=[Depends(check_csrf)])
def comment(
    slip_no: str,
    request: Request,
    body: str = Form(""),
    user: User = Depends(page_user),
    session: Session = Depends(db_session),
):
    try:
        comment_on_slip(session, user, slip_no, body)
    except Forbidden:
        _flash(request, "error", "您的角色为只读，不能发表评论")
    except Conflict as exc:
        _flash(request, "error", str(exc))
    else:
        _flash(request, "ok", "评论已发表")
    return RedirectResponse(f"/slips/{slip_no}#comments", status_code=303)


@router.post("/slips/{slip_no}/attachments", dependencies=[Depends(check_csrf)])
async def attach(
    slip_no: str,
    request: Request,
    file: UploadFile = File(...),
    user: User = Depends(page_user),
    session: Session = Depends(db_session),
):
    data = await file.read(request.app.state.ledger_config.attachment_max_bytes + 1)
    try:
        attach_to_slip(session, user, slip_no, file.filename or "", data)
    except Forbidden:
        _flash(request, "error", "您的角色为只读，不能上传附件")
    except Conflict as exc:
        _flash(request, "error", str(exc))
    else:
        _flash(request, "ok", "照片已上传")
    return RedirectResponse(f"/slips/{slip_no}#attachments", status_code=303)


@router.get("/slips/{slip_no}/attachments/{attachment_id}")
def attachment(
    slip_no: str, attachment_id: int, user: User = Depends(page_user), session: Session = Depends(db_session)
):
    return attachment_response(session, user, slip_no, attachment_id)


@router.get("/slips/{slip_no}/pdf")
def slip_pdf_view(
    slip_no: str, user: User = Depends(page_user), session: Session = Depends(db_session)
) -> Response:
    slip = visible_slip(session, user, slip_no)
    pdf = slip_pdf(slip, slip_calls(session, slip), slip_events(session, slip), user.username)
    name = f"投诉风险预警单-{slip.slip_no}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename=\"{slip.slip_no}.pdf\"; filename*=UTF-8''{quote(name)}"
        },
    )


@router.get("/ledger.xlsx")
def ledger_export(request: Request, user: User = Depends(page_user), session: Session = Depends(db_session)):
    filters, error = _filters_from(request, user)
    if error:
        return _page(request, "error.html", session, user, 400, title="筛选条件有误", message=error)
    now = utcnow()
    data = ledger.xlsx_bytes(ledger.export_row(s, now) for s in iter_queue(session, user, filters))
    name = ledger.export_filename(now)
    ascii_name = f"slip-ledger-{name.split('-', 1)[1]}"
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
        },
    )


@router.get("/notifications")
def notifications(request: Request, user: User = Depends(page_user), session: Session = Depends(db_session)):
    ledger.refresh_notifications(session, config=request.app.state.ledger_config)
    session.commit()
    return _page(request, "notifications.html", session, user, items=ledger.notifications_for(session, user))


@router.post("/notifications/read", dependencies=[Depends(check_csrf)])
def notifications_read(
    request: Request, user: User = Depends(page_user), session: Session = Depends(db_session)
) -> RedirectResponse:
    count = ledger.mark_read(session, user)
    session.commit()
    _flash(request, "ok", f"已将 {count} 条通知标为已读")
    return RedirectResponse("/notifications", status_code=303)


@router.get("/dashboard")
def dashboard_page(request: Request, user: User = Depends(page_user), session: Session = Depends(db_session)):
    return _page(
        request,
        "dashboard.html",
        session,
        user,
        totals=dashboard.totals(session, user),
        open_table=dashboard.open_by_unit_level(session, user),
        overdue=dashboard.overdue_by_unit(session, user),
        rates=dashboard.rates_by_unit(session, user),
        on_time=dashboard.closed_on_time(session, user),
        outcomes=dashboard.outcomes_month(session, user),
        interview=dashboard.interview_list(session, user),
        incidents=dashboard.wide_incidents(session, user),
    )


def _chart(name: str, session: Session, user: User) -> bytes | None:
    if name == "open":
        table = dashboard.open_by_unit_level(session, user)
        levels = dashboard.SLIP_LEVELS
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
        rates = dashboard.rates_by_unit(session, user).rows
        return charts.bars(
            [r.unit for r in rates],
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
    if name == "interview":
        rows = dashboard.interview_list(session, user).rows
        return charts.bars(
            [r.unit for r in rows],
            [r.complaints for r in rows],
            ylabel="本月12398投诉（红色为约谈）",
            integer=True,
            highlight=[r.interview for r in rows],
        )
    return None


@router.get("/charts/{name}.svg")
def chart(name: str, user: User = Depends(page_user), session: Session = Depends(db_session)) -> Response:
    svg = _chart(name, session, user)
    if svg is None:
        raise NotFound(name)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=60"})

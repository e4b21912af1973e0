"""JSON API under /api: the slip queue, one slip, actions (one or many), comments, photos and notices.

The API takes no cookies, only ``Authorization: Bearer <token>``, so a
browser session can never be used against it from another site (no CSRF).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import ledger
from pipeline.ledger import MAX_PAGE, MAX_PER_PAGE, Action, CallbackResult, FilterError, parse_filters
from pipeline.storage.models import SlipAttachment, User
from webapp.deps import api_user, db_session
from webapp.queue import queue_page
from webapp.slipview import (
    BadCategory,
    Conflict,
    Forbidden,
    NotFound,
    act_on_slip,
    attach_to_slip,
    comment_on_slip,
    label_call,
    slip_detail,
    slip_summary,
    visible_slip,
)

router = APIRouter(prefix="/api", tags=["预警单"])
ACTION_HELP = " / ".join(f"{a.value} {a.zh}" for a in Action)
ERRORS = {
    403: {"description": "角色无权执行该操作"},
    404: {"description": "预警单不存在或无权查看"},
    409: {"description": "当前状态不允许该操作，或已被他人修改"},
}


class ActionIn(BaseModel):
    """An action on a slip."""

    action: Action = Field(description=ACTION_HELP)
    note: str | None = Field(None, max_length=2000, description="说明；记录处理时必填")
    callback_result: CallbackResult | None = Field(None, description="回访结果（callback 时必填）")
    assignee: str | None = Field(
        None, max_length=64, description="处理人用户名（assign 时必填，须为本单位用户）"
    )
    version: int | None = Field(None, description="读取时的 version；给出时若预警单已被他人修改则返回 409")


class BulkIn(BaseModel):
    """The same action on several slips (签收 or 转派)."""

    action: Action = Field(description="acknowledge 签收 / assign 转派")
    slip_nos: list[str] = Field(min_length=1, max_length=200, description="预警单编号")
    note: str | None = Field(None, max_length=2000)
    assignee: str | None = Field(None, max_length=64)


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=2000, description="评论内容")


class LabelIn(BaseModel):
    """A person's category for a call."""

    category: str = Field(max_length=32, description="meter_billing / outage / voltage / connection / other")


class SlipPageOut(BaseModel):
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    pages: int


def _config(request: Request) -> ledger.LedgerConfig:
    return request.app.state.ledger_config


@router.get("/slips", response_model=SlipPageOut, summary="预警单队列（按等级、办结时限排序，可搜索）")
def list_slips(
    unit: str | None = None,
    level: str | None = Query(None, description="red / orange / yellow，可逗号分隔"),
    status: str = Query(
        "open",
        description="open / due_soon / overdue / all / issued / acknowledged / in_progress / callback / closed",
    ),
    category: str | None = None,
    date_from: str | None = Query(None, description="生成日期起（YYYY-MM-DD，北京时间）"),
    date_to: str | None = Query(None, description="生成日期止（含）"),
    q: str | None = Query(None, description="搜索：预警单编号、来电手机尾号或号码、户号、区域"),
    assignee: str | None = Query(None, description="处理人用户名"),
    mine: bool = Query(False, description="只看我的待办（处理人为我）"),
    sort: str = Query("level", description="level 等级优先 / due 剩余时间"),
    supervised: bool = False,
    escalated_12398: bool = Query(False, description="只看已被投诉至 12398 的"),
    false_alarm: bool = Query(False, description="只看已标记误报的"),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    per_page: int = Query(50, ge=1, le=MAX_PER_PAGE),
    user: User = Depends(api_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    try:
        filters = parse_filters(
            {
                "unit": unit,
                "level": level,
                "status": status,
                "category": category,
                "date_from": date_from,
                "date_to": date_to,
                "q": q,
                "assignee": user.username if mine else assignee,
                "sort": sort,
                "supervised": "1" if supervised else None,
                "escalated_12398": "1" if escalated_12398 else None,
                "false_alarm": "1" if false_alarm else None,
            }
        )
    except FilterError as exc:
        raise HTTPException(422, str(exc)) from exc
    result = queue_page(session, user, filters, page, per_page)
    return {
        "items": [slip_summary(s) for s in result.items],
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "pages": result.pages,
    }


@router.post("/slips/bulk", summary="批量签收或转派", responses=ERRORS)
def bulk_action(
    body: BulkIn, request: Request, user: User = Depends(api_user), session: Session = Depends(db_session)
) -> dict[str, Any]:
    if body.action not in (Action.ACKNOWLEDGE, Action.ASSIGN):
        raise HTTPException(422, "批量操作只支持签收（acknowledge）和转派（assign）")
    done: list[str] = []
    failed: list[dict[str, Any]] = []
    for slip_no in dict.fromkeys(body.slip_nos):
        try:
            act_on_slip(
                session, user, slip_no, body.action, body.note, None, None,
                assignee=body.assignee, config=_config(request),
            )  # fmt: skip
            done.append(slip_no)
        except NotFound:
            failed.append({"slip_no": slip_no, "status": 404, "detail": f"预警单 {slip_no} 不存在"})
        except Forbidden:
            failed.append({"slip_no": slip_no, "status": 403, "detail": "您的角色无权执行该操作"})
        except Conflict as exc:
            failed.append({"slip_no": slip_no, "status": 409, "detail": str(exc)})
    if failed and not done and all(f["status"] == 403 for f in failed):
        raise HTTPException(403, "您的角色无权执行该操作")
    return {"action": body.action.value, "done": done, "failed": failed}


@router.get("/slips/{slip_no}", summary="预警单详情（来电、原因、处理记录、评论、附件）")
def get_slip(
    slip_no: str, request: Request, user: User = Depends(api_user), session: Session = Depends(db_session)
) -> dict[str, Any]:
    try:
        slip = visible_slip(session, user, slip_no)
    except NotFound as exc:
        raise HTTPException(404, f"预警单 {slip_no} 不存在") from exc
    return slip_detail(session, user, slip, _config(request))


def _answer(session: Session, user: User, slip_no: str, request: Request, run) -> dict[str, Any]:
    try:
        slip = run()
    except NotFound as exc:
        raise HTTPException(404, f"预警单 {slip_no} 不存在") from exc
    except Forbidden as exc:
        raise HTTPException(403, "您的角色无权执行该操作") from exc
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from exc
    return slip_detail(session, user, slip, _config(request))


@router.post("/slips/{slip_no}/actions", summary="对预警单执行操作", responses=ERRORS)
def post_action(
    slip_no: str,
    body: ActionIn,
    request: Request,
    user: User = Depends(api_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    return _answer(
        session, user, slip_no, request,
        lambda: act_on_slip(
            session, user, slip_no, body.action, body.note,
            body.callback_result.value if body.callback_result else None, body.version,
            assignee=body.assignee, config=_config(request),
        ),
    )  # fmt: skip


@router.post("/slips/{slip_no}/comments", summary="添加评论", responses=ERRORS)
def post_comment(
    slip_no: str,
    body: CommentIn,
    request: Request,
    user: User = Depends(api_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    return _answer(
        session, user, slip_no, request, lambda: comment_on_slip(session, user, slip_no, body.body)
    )


@router.post("/slips/{slip_no}/attachments", summary="上传现场照片（JPG/PNG/WebP）", responses=ERRORS)
async def post_attachment(
    slip_no: str,
    request: Request,
    file: UploadFile = File(..., description="照片文件"),
    user: User = Depends(api_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    data = await file.read(_config(request).attachment_max_bytes + 1)
    return _answer(
        session,
        user,
        slip_no,
        request,
        lambda: attach_to_slip(session, user, slip_no, file.filename or "", data),
    )


@router.get("/slips/{slip_no}/attachments/{attachment_id}", summary="下载附件")
def get_attachment(
    slip_no: str, attachment_id: int, user: User = Depends(api_user), session: Session = Depends(db_session)
) -> FileResponse:
    return attachment_response(session, user, slip_no, attachment_id)


def attachment_response(session: Session, user: User, slip_no: str, attachment_id: int) -> FileResponse:
    """The stored file of a slip's attachment, with its sniffed type; 404 for anything not visible."""
    try:
        slip = visible_slip(session, user, slip_no)
    except NotFound as exc:
        raise HTTPException(404, "附件不存在") from exc
    attachment = session.scalar(
        select(SlipAttachment).where(SlipAttachment.id == attachment_id, SlipAttachment.slip_id == slip.id)
    )
    path = ledger.attachment_path(attachment) if attachment else None
    if attachment is None or path is None or not path.is_file():
        raise HTTPException(404, "附件不存在")
    return FileResponse(
        path,
        media_type=attachment.content_type,
        filename=attachment.filename,
        content_disposition_type="inline",
        headers={"Cache-Control": "private, max-age=300"},
    )


@router.post(
    "/calls/{call_id}/label",
    summary="更正来电的问题类别（记为人工标注，并记入预警单处理记录）",
    responses={403: {"description": "角色无权更正"}, 404: {"description": "来电不存在或无权查看"}},
)
def post_call_label(
    call_id: str, body: LabelIn, user: User = Depends(api_user), session: Session = Depends(db_session)
) -> dict[str, Any]:
    try:
        call = label_call(session, user, call_id, body.category)
    except NotFound as exc:
        raise HTTPException(404, f"来电 {call_id} 不存在") from exc
    except Forbidden as exc:
        raise HTTPException(403, "您的角色无权更正问题类别") from exc
    except BadCategory as exc:
        raise HTTPException(422, str(exc)) from exc
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from exc
    return {
        "call_id": call.call_id,
        "predicted_category": call.category,
        "category": body.category,
        "by": user.username,
    }


@router.get("/notifications", summary="我的通知（新红色预警、即将超期）")
def get_notifications(
    user: User = Depends(api_user), session: Session = Depends(db_session)
) -> dict[str, Any]:
    items = ledger.notifications_for(session, user)
    return {
        "unread": ledger.unread_count(session, user),
        "items": [
            {
                "kind": n.kind,
                "text": n.text,
                "slip_no": slip_no,
                "created_at": n.created_at.isoformat(),
                "read": n.read_at is not None,
            }
            for n, slip_no in items
        ],
    }

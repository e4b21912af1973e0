"""JSON API under /api: the slip queue, one slip, and actions, for bearer-token clients.

The API takes no cookies, only ``Authorization: Bearer <token>``, so a
browser session can never be used against it from another site (no CSRF).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from pipeline.storage.models import User
from webapp.deps import api_user, db_session
from webapp.queue import MAX_PER_PAGE, FilterError, parse_filters, queue_page
from webapp.slipview import (
    Conflict,
    Forbidden,
    NotFound,
    act_on_slip,
    slip_detail,
    slip_summary,
    visible_slip,
)

router = APIRouter(prefix="/api", tags=["预警单"])


class ActionIn(BaseModel):
    """An action on a slip."""

    action: Literal["acknowledge", "handle", "callback", "close", "escalate"] = Field(
        description="acknowledge 签收 / handle 记录处理 / callback 回访结果 / close 销号 / escalate 提级督办"
    )
    note: str | None = Field(None, max_length=2000, description="说明；记录处理时必填")
    callback_result: Literal["满意", "基本满意", "不满意"] | None = Field(
        None, description="回访结果（callback 时必填）"
    )
    version: int | None = Field(None, description="读取时的 version；给出时若预警单已被他人修改则返回 409")


class SlipPageOut(BaseModel):
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    pages: int


@router.get("/slips", response_model=SlipPageOut, summary="预警单队列（按等级、办结时限排序）")
def list_slips(
    unit: str | None = None,
    level: Literal["red", "orange", "yellow"] | None = None,
    status: str = Query(
        "open", description="open / overdue / all / issued / acknowledged / in_progress / callback / closed"
    ),
    category: str | None = None,
    date_from: str | None = Query(None, description="生成日期起（YYYY-MM-DD，北京时间）"),
    date_to: str | None = Query(None, description="生成日期止（含）"),
    q: str | None = Query(None, description="预警单编号包含"),
    supervised: bool = False,
    page: int = Query(1, ge=1),
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
                "supervised": "1" if supervised else None,
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


@router.get("/slips/{slip_no}", summary="预警单详情（来电、原因、处理记录）")
def get_slip(
    slip_no: str, user: User = Depends(api_user), session: Session = Depends(db_session)
) -> dict[str, Any]:
    try:
        slip = visible_slip(session, user, slip_no)
    except NotFound as exc:
        raise HTTPException(404, f"预警单 {slip_no} 不存在") from exc
    return slip_detail(session, user, slip)


@router.post(
    "/slips/{slip_no}/actions",
    summary="对预警单执行操作",
    responses={
        403: {"description": "角色无权执行该操作"},
        404: {"description": "预警单不存在或无权查看"},
        409: {"description": "当前状态不允许该操作，或已被他人修改"},
    },
)
def post_action(
    slip_no: str, body: ActionIn, user: User = Depends(api_user), session: Session = Depends(db_session)
) -> dict[str, Any]:
    try:
        slip = act_on_slip(session, user, slip_no, body.action, body.note, body.callback_result, body.version)
    except NotFound as exc:
        raise HTTPException(404, f"预警单 {slip_no} 不存在") from exc
    except Forbidden as exc:
        raise HTTPException(403, "您的角色无权执行该操作") from exc
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from exc
    return slip_detail(session, user, slip)

"""The Jinja2 environment: autoescape on, Chinese labels and Beijing time as filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from pipeline.labels import LABEL_ZH, LABELS, RISK_LEVEL_ZH
from pipeline.storage.models import SLIP_STATUS_ZH
from webapp.access import CALLBACK_RESULTS, EVENT_ZH, ROLE_ZH
from webapp.deps import csrf_token
from webapp.exports import local_time
from webapp.highlight import highlight, reason_text
from webapp.queue import SLIP_LEVELS, is_overdue

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

STATUS_FILTER_ZH = {"open": "未销号", "overdue": "已超期", "all": "全部"} | SLIP_STATUS_ZH


def make_templates() -> Jinja2Templates:
    """Templates with the product's filters and constants available everywhere."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.autoescape = True
    env.filters.update(
        local_time=local_time,
        level_zh=lambda v: RISK_LEVEL_ZH.get(v, v),
        category_zh=lambda v: LABEL_ZH.get(v, v),
        status_zh=lambda v: STATUS_FILTER_ZH.get(v, v),
        action_zh=lambda v: EVENT_ZH.get(v, v),
        reason_text=reason_text,
        highlight=highlight,
    )
    env.globals.update(
        LABELS=LABELS,
        SLIP_LEVELS=SLIP_LEVELS,
        STATUS_FILTERS=list(STATUS_FILTER_ZH),
        CALLBACK_RESULTS=CALLBACK_RESULTS,
        ROLE_ZH=ROLE_ZH,
        is_overdue=is_overdue,
    )
    return templates


def render(request: Request, name: str, status_code: int = 200, **context: Any):
    """Render a page with the CSRF token, the user and any one-time message."""
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("user", None)
    context["csrf_token"] = csrf_token(request)
    context["flash"] = request.session.pop("flash", None)
    return templates.TemplateResponse(request, name, context, status_code=status_code)

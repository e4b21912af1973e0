"""The Jinja2 environment: autoescape on, Chinese labels and Beijing time as filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from pipeline import ledger
from pipeline.labels import LABEL_ZH, LABELS
from pipeline.text.mask import mask_pii
from webapp.access import ROLE_ZH
from webapp.deps import csrf_token
from webapp.highlight import highlight

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def make_templates() -> Jinja2Templates:
    """Templates with the product's filters and constants available everywhere."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.autoescape = True
    env.filters.update(
        local_time=ledger.local_time,
        level_zh=ledger.level_zh,
        category_zh=lambda v: LABEL_ZH.get(v, v),
        status_zh=ledger.status_zh,
        action_zh=lambda v: ledger.EVENT_ZH.get(v, v),
        reason_text=ledger.reason_text,
        highlight=highlight,
        masked=lambda v: mask_pii(v) if v else v,
        remaining_zh=ledger.remaining_zh,
    )
    env.globals.update(
        LABELS=LABELS,
        LABEL_ZH=LABEL_ZH,
        SLIP_LEVELS=[lv.value for lv in ledger.LEVELS],
        STATUS_FILTERS=list(ledger.STATUS_CHOICES),
        SORTS=ledger.SORTS,
        CALLBACK_RESULTS=ledger.CALLBACK_RESULTS,
        ROLE_ZH=ROLE_ZH,
        is_overdue=ledger.is_overdue,
        due_state=ledger.due_state,
    )
    return templates


def render(request: Request, name: str, status_code: int = 200, **context: Any):
    """Render a page with the CSRF token, the user, unread notices and any one-time message."""
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("user", None)
    context.setdefault("unread", 0)
    context["csrf_token"] = csrf_token(request)
    context["flash"] = request.session.pop("flash", None)
    return templates.TemplateResponse(request, name, context, status_code=status_code)

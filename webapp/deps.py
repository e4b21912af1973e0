"""Request dependencies: a database session, the signed-in user, the API user, CSRF checks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.storage.models import User
from webapp.security import csrf_matches, hash_token, new_csrf_token

bearer = HTTPBearer(auto_error=False, description="`complaints users token USERNAME` 生成的 API 令牌")
_SLIP_POST = re.compile(r"^/slips/([A-Za-z0-9\-]{1,40})/(actions|comments|attachments)$")


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class CsrfRejected(Exception):
    """A form without the session's CSRF token; answered with 403."""


def db_session(request: Request) -> Iterator[Session]:
    """One session per request, closed afterwards; handlers commit what they change."""
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse a form post whose csrf_token field does not match the session's.

    The form's action and note are kept on ``request.state`` first, so that a post whose
    sign-in has lapsed can keep what the person typed (see :func:`return_target`).
    """
    form = await request.form()
    request.state.posted = {
        "action": str(form.get("action") or "")[:32],
        "note": str(form.get("note") or "")[:2000],
    }
    if not csrf_matches(request.session.get("csrf"), form.get("csrf_token")):
        raise CsrfRejected()


def return_target(request: Request) -> str:
    """Where to go back to after signing in: the page itself for a GET, the slip page for a form post
    (the form's own URL only answers POST), keeping what was typed as a draft in the session."""
    if request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    match = _SLIP_POST.match(request.url.path)
    if not match:
        return "/slips"
    target = f"/slips/{match.group(1)}"
    posted = getattr(request.state, "posted", None) or {}
    if posted.get("note"):
        request.session["draft"] = {
            "path": target,
            "action": posted.get("action", ""),
            "note": posted["note"],
        }
    return target


def signed_in_user(request: Request, session: Session) -> User | None:
    """The session's user if enabled and the session was not revoked (logout bumps the generation)."""
    uid = request.session.get("uid")
    user = session.get(User, uid) if isinstance(uid, int) else None
    if user is None or user.disabled or request.session.get("gen") != user.session_generation:
        return None
    return user


def page_user(request: Request, session: Session = Depends(db_session)) -> User:
    """The signed-in, enabled user; otherwise a redirect to the login page."""
    user = signed_in_user(request, session)
    if user is None:
        request.session.pop("uid", None)
        request.session.pop("gen", None)
        raise LoginRequired(return_target(request))
    return user


def api_user(
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    session: Session = Depends(db_session),
) -> User:
    """The user owning the bearer token; 401 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(401, "需要 API 令牌（Authorization: Bearer ...）", {"WWW-Authenticate": "Bearer"})
    user = session.scalar(select(User).where(User.api_token_hash == hash_token(credentials.credentials)))
    if user is None or user.disabled:
        raise HTTPException(401, "API 令牌无效或用户已停用", {"WWW-Authenticate": "Bearer"})
    return user

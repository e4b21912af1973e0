"""Request dependencies: a database session, the signed-in user, the API user, CSRF checks."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.storage.models import User
from webapp.security import csrf_matches, hash_token, new_csrf_token

bearer = HTTPBearer(auto_error=False, description="`complaints users token USERNAME` 生成的 API 令牌")


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
    """Refuse a form post whose csrf_token field does not match the session's."""
    form = await request.form()
    if not csrf_matches(request.session.get("csrf"), form.get("csrf_token")):
        raise CsrfRejected()


def page_user(request: Request, session: Session = Depends(db_session)) -> User:
    """The signed-in, enabled user; otherwise a redirect to the login page."""
    uid = request.session.get("uid")
    user = session.get(User, uid) if isinstance(uid, int) else None
    if user is None or user.disabled:
        request.session.pop("uid", None)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(target, safe="/?=&"))
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

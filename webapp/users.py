"""User management shared by the CLI (``complaints users ...``) and the tests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.storage.models import USER_ROLES, User
from webapp.security import hash_password, new_api_token

MIN_PASSWORD_LENGTH = 8


class UserAdminError(Exception):
    """A user command that cannot be done; the message is one line in Chinese."""


def find_user(session: Session, username: str) -> User | None:
    """The user with this name, or None."""
    return session.scalar(select(User).where(User.username == username))


def add_user(session: Session, username: str, password: str, role: str, unit: str | None = None) -> User:
    """Create a user; unit users must name their supply unit, others must not."""
    username = username.strip()
    if not username or len(username) > 64:
        raise UserAdminError("用户名不能为空，且不超过 64 个字符")
    if role not in USER_ROLES:
        raise UserAdminError(f"角色必须是 {'/'.join(USER_ROLES)} 之一，收到 {role!r}")
    if role == "unit" and not (unit and unit.strip()):
        raise UserAdminError("供电单位用户必须用 --unit 指定所属单位")
    if role != "unit" and unit:
        raise UserAdminError("只有 unit 角色的用户才能指定 --unit")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserAdminError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    if find_user(session, username) is not None:
        raise UserAdminError(f"用户 {username} 已存在")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        unit=unit.strip() if unit else None,
        disabled=False,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return user


def disable_user(session: Session, username: str) -> User:
    """Disable a user: sign-in, open sessions and the API token stop working at once."""
    user = find_user(session, username)
    if user is None:
        raise UserAdminError(f"用户 {username} 不存在")
    user.disabled = True
    user.api_token_hash = None
    return user


def issue_token(session: Session, username: str) -> str:
    """A new API token for the user (the previous one stops working); only its hash is stored."""
    user = find_user(session, username)
    if user is None:
        raise UserAdminError(f"用户 {username} 不存在")
    if user.disabled:
        raise UserAdminError(f"用户 {username} 已停用")
    token, token_hash = new_api_token()
    user.api_token_hash = token_hash
    return token

"""User management shared by the CLI (``complaints users ...``) and the tests."""

from __future__ import annotations

import difflib

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.config import section
from pipeline.storage.models import USER_ROLES, Call, Slip, User
from webapp.security import hash_password, new_api_token

MIN_PASSWORD_LENGTH = 8
COMMON_PASSWORDS = frozenset(
    {"password", "password1", "passw0rd", "qwertyui", "qwerty123", "abc12345", "admin123", "iloveyou",
     "11111111", "12345678", "123456789", "1234567890", "87654321", "88888888", "66666666", "00000000",
     "a1234567", "aa123456", "woaini1314", "95598955", "12398123"}
)  # fmt: skip


class UserAdminError(Exception):
    """A user command that cannot be done; the message is one line in Chinese."""


def find_user(session: Session, username: str) -> User | None:
    """The user with this name, or None."""
    return session.scalar(select(User).where(User.username == username))


def password_problem(password: str, username: str = "") -> str | None:
    """Why a password is too weak (Chinese), or None: at least 8 characters, two kinds of characters
    (letters, digits, symbols), not a well-known password, not the user name itself."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少 {MIN_PASSWORD_LENGTH} 位"
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        return "密码过于常见或简单，请换一个"
    kinds = sum(
        (
            any(c.isalpha() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if kinds < 2:
        return "密码须包含字母、数字、符号中的至少两种"
    if username and username.lower() == lowered:
        return "密码不能与用户名相同"
    return None


def known_units(session: Session) -> set[str]:
    """Supply units the product knows: configured in [units], on stored calls or slips, or of existing users."""
    units = {str(u) for u in section("units")}
    units |= set(session.scalars(select(Call.unit).distinct()))
    units |= set(session.scalars(select(Slip.unit).distinct()))
    units |= {u for u in session.scalars(select(User.unit).distinct()) if u}
    return units


def check_unit(session: Session, unit: str) -> None:
    """Refuse a unit name nobody has heard of (a typo would give the user an empty queue forever)."""
    known = known_units(session)
    if not known or unit in known:
        return
    close = difflib.get_close_matches(unit, sorted(known), n=3, cutoff=0.5)
    hint = f"，是否为：{'、'.join(close)}" if close else ""
    raise UserAdminError(f"未知供电单位 {unit}{hint}；确为新单位请加 --new-unit")


def add_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    unit: str | None = None,
    *,
    new_unit: bool = False,
) -> User:
    """Create a user; unit users must name a known supply unit (or say it is new), others must not."""
    username = username.strip()
    if not username or len(username) > 64:
        raise UserAdminError("用户名不能为空，且不超过 64 个字符")
    if role not in USER_ROLES:
        raise UserAdminError(f"角色必须是 {'/'.join(USER_ROLES)} 之一，收到 {role!r}")
    if role == "unit" and not (unit and unit.strip()):
        raise UserAdminError("供电单位用户必须用 --unit 指定所属单位")
    if role != "unit" and unit:
        raise UserAdminError("只有 unit 角色的用户才能指定 --unit")
    problem = password_problem(password, username)
    if problem:
        raise UserAdminError(problem)
    if find_user(session, username) is not None:
        raise UserAdminError(f"用户 {username} 已存在")
    if role == "unit" and not new_unit:
        check_unit(session, unit.strip())
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        unit=unit.strip() if unit else None,
        disabled=False,
        failed_logins=0,
        session_generation=0,
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
    revoke_sessions(user)
    return user


def revoke_sessions(user: User) -> None:
    """End every signed-in session of the user (logout, disable): their cookies carry an older generation."""
    user.session_generation = (user.session_generation or 0) + 1


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

"""Passwords, API tokens, CSRF tokens and login throttling.

Passwords use argon2 (slow on purpose). API tokens are 256 random bits, so a
fast SHA-256 is enough to store them and lets a request find its user by an
indexed column; the raw token is shown once and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pipeline.storage.models import User
from pipeline.storage.types import utcnow

TOKEN_PREFIX = "cst_"
_hasher = PasswordHasher()
_dummy: dict[int, str] = {}


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; a missing user still costs one hash so timing tells nothing."""
    if password_hash is None:
        password_hash = _dummy.setdefault(id(_hasher), _hasher.hash("not-a-real-password"))
        known = False
    else:
        known = True
    try:
        return _hasher.verify(password_hash, password) and known
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_api_token() -> tuple[str, str]:
    """A fresh bearer token and the hash to store for it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_csrf_token() -> str:
    """A per-session token every form must echo back."""
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of the session's CSRF token with the submitted one."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def is_locked(user: User, now: datetime | None = None) -> bool:
    """True while a user is locked out after too many wrong passwords."""
    now = now or utcnow()
    return user.locked_until is not None and user.locked_until > now


def record_failure(user: User, max_failures: int, lockout_minutes: int, now: datetime | None = None) -> None:
    """Count a wrong password; the Nth in a row locks the account for a while."""
    now = now or utcnow()
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= max_failures:
        user.locked_until = now + timedelta(minutes=lockout_minutes)
        user.failed_logins = 0


def record_success(user: User) -> None:
    """A right password clears the failure count."""
    user.failed_logins = 0
    user.locked_until = None


class IpThrottle:
    """Login attempts per client address in a sliding window, so one address cannot try many users."""

    def __init__(self, max_attempts: int, window_s: int) -> None:
        self.max_attempts = max_attempts
        self.window_s = window_s
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, ip: str, now: float) -> deque[float]:
        attempts = self._attempts.setdefault(ip, deque())
        while attempts and attempts[0] <= now - self.window_s:
            attempts.popleft()
        return attempts

    def blocked(self, ip: str) -> bool:
        """True when this address has used up its attempts for now."""
        with self._lock:
            return len(self._recent(ip, time.monotonic())) >= self.max_attempts

    def hit(self, ip: str) -> None:
        """Count one failed attempt from this address."""
        with self._lock:
            self._recent(ip, time.monotonic()).append(time.monotonic())

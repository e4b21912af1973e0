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
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

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


def client_ip(request: Any, trusted_proxies: tuple[str, ...] | frozenset[str] = ()) -> str:
    """The client's address. ``X-Forwarded-For`` counts only when the peer is a configured proxy,
    and then the right-most address that is not itself a trusted proxy is taken (the left end is
    whatever the client chose to send)."""
    peer = request.client.host if getattr(request, "client", None) else "unknown"
    if peer not in trusted_proxies:
        return peer
    forwarded = [p.strip() for p in (request.headers.get("x-forwarded-for") or "").split(",") if p.strip()]
    for hop in reversed(forwarded):
        if hop not in trusted_proxies:
            return hop
    return peer


class LoginGuard:
    """Wrong passwords per (user name, client address), the same for names that exist and names that do not.

    Keying on the pair means a stranger elsewhere cannot lock a colleague out by guessing
    (the per-address throttle stops one address from trying many names), and the answer to a
    locked pair is the one a wrong password gets, so lockouts do not reveal which accounts exist.
    """

    def __init__(self, max_failures: int, lockout_s: int) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.lockout_s:
            failures.popleft()
        return failures

    def blocked(self, username: str, ip: str) -> bool:
        """True while this name has used up its tries from this address."""
        with self._lock:
            return len(self._recent((username.casefold(), ip), time.monotonic())) >= self.max_failures

    def fail(self, username: str, ip: str) -> None:
        with self._lock:
            self._recent((username.casefold(), ip), time.monotonic()).append(time.monotonic())

    def succeed(self, username: str, ip: str) -> None:
        with self._lock:
            self._failures.pop((username.casefold(), ip), None)


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

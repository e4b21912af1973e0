"""Web-app settings: the ``[webapp]`` table of complaints.toml, then COMPLAINTS_WEB_* variables.

The session secret must survive restarts (otherwise every restart logs all
staff out) and must never be a constant in the code, so when none is
configured one is generated once and kept in ``<home>/web-secret`` (mode 600).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import get_settings, section


@dataclass(frozen=True)
class WebConfig:
    """What the app needs besides the database URL."""

    secret_key: str
    session_max_age_s: int = 8 * 3600
    https_only: bool = False
    login_max_failures: int = 5
    lockout_minutes: int = 15
    ip_max_attempts: int = 30
    ip_window_s: int = 900
    per_page: int = 50
    webhook_poll_s: int = 60
    trusted_proxies: tuple[str, ...] = ()


def _secret_from_file(home: Path) -> str:
    path = home / "web-secret"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    home.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)
    return value


def load_web_config(**overrides: object) -> WebConfig:
    """Settings from config and environment; keyword overrides win (tests use them)."""
    table = section("webapp")
    secret = (
        overrides.pop("secret_key", None)
        or os.environ.get("COMPLAINTS_WEB_SECRET")
        or table.get("secret_key")
        or _secret_from_file(get_settings().home)
    )
    values: dict[str, object] = {}
    for name in WebConfig.__dataclass_fields__:
        if name == "secret_key":
            continue
        env = os.environ.get(f"COMPLAINTS_WEB_{name.upper()}")
        if env is not None:
            if name == "https_only":
                values[name] = env.lower() in ("1", "true", "yes")
            elif name == "trusted_proxies":
                values[name] = tuple(p.strip() for p in env.split(",") if p.strip())
            else:
                values[name] = int(env)
        elif name in table:
            values[name] = tuple(table[name]) if name == "trusted_proxies" else table[name]
    values.update(overrides)
    return WebConfig(secret_key=str(secret), **values)  # type: ignore[arg-type]

"""Where things live and how to override them.

Paths and service URLs are shared by every part of the product, so they are
resolved here once: environment variables first (COMPLAINTS_*), then an
optional ``complaints.toml``, then embedded defaults (SQLite files and a local
MLflow store under ``var/``). Domain thresholds stay next to the code that uses
them and read their own table of the same TOML file through :func:`section`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
SAMPLE_DIR = DATA_DIR / "sample"


def _config_file() -> Path | None:
    explicit = os.environ.get("COMPLAINTS_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path.cwd() / "complaints.toml"
    return local if local.exists() else None


@cache
def _toml() -> dict[str, Any]:
    path = _config_file()
    if path is None:
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def section(name: str) -> dict[str, Any]:
    """The ``[name]`` table of the config file, or an empty dict."""
    value = _toml().get(name, {})
    return dict(value) if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Settings:
    """Resolved locations of the database, MLflow store, models and reports."""

    home: Path
    db_url: str
    mlflow_tracking_uri: str
    mlflow_artifacts: Path
    models_dir: Path
    reports_dir: Path
    quarantine_dir: Path


def get_settings() -> Settings:
    """Settings for this process; cheap, so callers need not cache it."""
    paths = section("paths")
    home = Path(os.environ.get("COMPLAINTS_HOME") or paths.get("home") or Path.cwd() / "var").resolve()
    db_url = os.environ.get("COMPLAINTS_DB_URL") or paths.get("db_url") or f"sqlite:///{home / 'complaints.db'}"
    mlflow_uri = (
        os.environ.get("MLFLOW_TRACKING_URI")
        or paths.get("mlflow_tracking_uri")
        or f"sqlite:///{home / 'mlflow.db'}"
    )
    return Settings(
        home=home,
        db_url=db_url,
        mlflow_tracking_uri=mlflow_uri,
        mlflow_artifacts=Path(paths.get("mlflow_artifacts", home / "mlartifacts")),
        models_dir=Path(paths.get("models_dir", home / "models")),
        reports_dir=Path(paths.get("reports_dir", home / "reports")),
        quarantine_dir=Path(paths.get("quarantine_dir", home / "quarantine")),
    )


def offline_environment() -> None:
    """Forbid hub downloads in this process: the product never fetches weights."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

"""Where things live and how to override them: one typed settings loader for the whole product.

``complaints.toml`` (``COMPLAINTS_CONFIG``, else the working directory) is read
once and validated by :class:`ProductSettings` (pydantic-settings): every table
has a typed model, a misspelt key or table is rejected with one Chinese line
(:class:`ConfigError`) instead of being silently ignored, and there is one
``horizon_days`` (the escalation horizon: repeat-call window, reopen window,
history lookback and the risk model's label window all default to it).

Environment variables win over the file for locations (``COMPLAINTS_HOME``,
``COMPLAINTS_DB_URL``, ``MLFLOW_TRACKING_URI``); embedded defaults (SQLite files
and a local MLflow store under ``var/``) need no file at all.

The older accessors stay as thin wrappers so every caller keeps working:
:func:`get_settings` (paths), :func:`section` (a validated table as a dict),
:func:`horizon_days`. Tables owned by other parts and validated by their own
loaders (``[webapp]``, ``[simulator.*]``, ``[units]``) pass through as dicts.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
SAMPLE_DIR = DATA_DIR / "sample"
DEFAULT_HORIZON_DAYS = 30


class ConfigError(ValueError):
    """complaints.toml cannot be used (unknown key, wrong type); the message is one Chinese line."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PathsTable(_Table):
    home: Path | None = None
    db_url: str | None = None
    mlflow_tracking_uri: str | None = None
    mlflow_artifacts: Path | None = None
    models_dir: Path | None = None
    reports_dir: Path | None = None
    quarantine_dir: Path | None = None


class IngestTable(_Table):
    max_transcript_chars: int = Field(20_000, ge=1)
    max_duration_s: int = Field(6 * 3600, ge=1)
    earliest_call_date: date = date(2000, 1, 1)
    max_future_days: int = Field(2, ge=0)


class StorageTable(_Table):
    customer_secret: str | None = None
    customer_secret_file: Path | None = None


class FlowsTable(_Table):
    inbox: Path | None = None
    nightly_cron: str | None = None
    retrain_cron: str | None = None
    retrain_preset: str | None = None


class TextTable(_Table):
    user_dict: str | list[str] | None = None
    lexicon: str | list[str] | None = None
    stopwords: str | list[str] | None = None
    segmenter: str | None = None
    hmm: bool | None = None
    workers: int | None = None
    mp_context: str | None = None


class ClassifierTable(_Table):
    review_threshold: float | None = None
    gate_margin: float | None = None
    gate_min_class_f1: float | None = None
    gate_max_ece: float | None = None
    max_chars: int | None = None
    registered_name: str | None = None
    experiment: str | None = None
    onnx_threads: int | None = None


class RiskTable(_Table):
    repeat_calls: int | None = None
    repeat_window_days: int | None = None
    thresholds: dict[str, float] | None = None
    due_hours: dict[str, int] | None = None
    alert_budget_per_1000: float | None = None
    wide_incident_hours: int | None = None
    wide_incident_customers: int | None = None
    reopen_days: int | None = None
    max_reasons: int | None = None
    overdue_orange_factor: float | None = None
    rescore_days: int | None = None
    hazard_days: int | None = None
    unit_budget_floor: int | None = None


class OutcomesTable(_Table):
    match_min_similarity: float | None = Field(None, ge=0, le=1)
    match_margin: float | None = Field(None, ge=0, le=1)
    interview_min_complaints: int | None = Field(None, ge=1)
    interview_min_per_million: float | None = Field(None, ge=0)


class DriftTable(_Table):
    """When tonight's calls differ enough from the champion's training data to ask for a retrain."""

    category_psi: float | None = Field(None, ge=0)
    confidence_psi: float | None = Field(None, ge=0)
    review_share_delta: float | None = Field(None, ge=0, le=1)
    unknown_word_delta: float | None = Field(None, ge=0, le=1)
    min_calls: int | None = Field(None, ge=1)
    cooldown_days: int | None = Field(None, ge=0)
    trigger_retrain: bool | None = None
    retrain_deployment: str | None = None


class LearningTable(_Table):
    """How retraining uses the site's own labels and transcripts (the database)."""

    use_store: bool | None = None
    label_weight: int | None = Field(None, ge=1)
    holdout_fraction: float | None = Field(None, gt=0, lt=1)
    min_holdout: int | None = Field(None, ge=1)
    mlm_steps: int | None = Field(None, ge=0)
    mlm_min_texts: int | None = Field(None, ge=1)
    mlm_max_texts: int | None = Field(None, ge=1)


class WebhookTable(_Table):
    url: str | None = None
    secret: str | None = None
    timeout_s: float | None = None
    backoff_s: float | None = None
    backoff_max_s: float | None = None
    public_url: str | None = None


class ProductSettings(BaseSettings):
    """Every table of complaints.toml, typed; unknown tables and keys are refused."""

    model_config = SettingsConfigDict(extra="forbid")

    horizon_days: int = Field(DEFAULT_HORIZON_DAYS, ge=1, le=366)
    paths: PathsTable = PathsTable()
    ingest: IngestTable = IngestTable()
    storage: StorageTable = StorageTable()
    flows: FlowsTable = FlowsTable()
    text: TextTable = TextTable()
    classifier: ClassifierTable = ClassifierTable()
    risk: RiskTable = RiskTable()
    webhook: WebhookTable = WebhookTable()
    outcomes: OutcomesTable = OutcomesTable()
    drift: DriftTable = DriftTable()
    learning: LearningTable = LearningTable()
    webapp: dict[str, Any] = {}
    simulator: dict[str, Any] = {}
    units: dict[str, Any] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the file's values: locations read their environment variables in :func:`get_settings`,
        and the many other ``COMPLAINTS_*`` variables (web, tests) are not settings of this model."""
        return (init_settings,)


def _config_file() -> Path | None:
    explicit = os.environ.get("COMPLAINTS_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path.cwd() / "complaints.toml"
    return local if local.exists() else None


def _describe(error: dict[str, Any]) -> str:
    where = "".join(
        f"[{p}]" if i == 0 and len(error["loc"]) > 1 else f" {p}" for i, p in enumerate(error["loc"])
    )
    if error["type"] == "extra_forbidden":
        return f"未知配置项{where.strip() and ' ' + where.strip()}"
    return f"{where.strip()}: {error['msg']}"


@cache
def _toml() -> dict[str, Any]:
    """The config file's tables, validated (cached; ``_toml.cache_clear()`` rereads the file)."""
    path = _config_file()
    if path is None:
        return {}
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"无法读取配置文件 {path}: {exc}") from None
    try:
        ProductSettings(**raw)
    except ValidationError as exc:
        problems = "；".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"配置文件 {path} 有误: {problems}") from None
    return raw


def product_settings() -> ProductSettings:
    """The typed settings of this process (validated file values over the defaults)."""
    return ProductSettings(**_toml())


def section(name: str) -> dict[str, Any]:
    """The ``[name]`` table of the config file (validated), or an empty dict."""
    value = _toml().get(name, {})
    return dict(value) if isinstance(value, dict) else {}


def horizon_days() -> int:
    """The escalation horizon in days (``horizon_days``, default 30)."""
    return product_settings().horizon_days


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
    paths = product_settings().paths
    home = Path(os.environ.get("COMPLAINTS_HOME") or paths.home or Path.cwd() / "var").resolve()
    db_url = os.environ.get("COMPLAINTS_DB_URL") or paths.db_url or f"sqlite:///{home / 'complaints.db'}"
    mlflow_uri = (
        os.environ.get("MLFLOW_TRACKING_URI")
        or paths.mlflow_tracking_uri
        or f"sqlite:///{home / 'mlflow.db'}"
    )
    return Settings(
        home=home,
        db_url=db_url,
        mlflow_tracking_uri=mlflow_uri,
        mlflow_artifacts=paths.mlflow_artifacts or home / "mlartifacts",
        models_dir=paths.models_dir or home / "models",
        reports_dir=paths.reports_dir or home / "reports",
        quarantine_dir=paths.quarantine_dir or home / "quarantine",
    )


def offline_environment() -> None:
    """Forbid hub downloads in this process: the product never fetches weights."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

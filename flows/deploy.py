"""Schedules for both flows, served from this machine against a real local Prefect server.

Prefect's temporary server (the one a flow starts when no ``PREFECT_API_URL``
is set) runs no scheduler, so scheduled runs need ``prefect server start``.
:func:`ensure_server` uses the server named by ``PREFECT_API_URL`` when there
is one, or starts a local one in the background (database under the product
home) and waits until it answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from prefect import serve
from prefect.schedules import Cron
from prefect.settings import PREFECT_API_URL

from flows.nightly import nightly_scoring
from flows.retrain import retrain
from pipeline.config import get_settings, section

TIMEZONE = "Asia/Shanghai"
NIGHTLY_CRON = "0 2 * * *"
RETRAIN_CRON = "0 3 * * 0"
DEFAULT_PORT = 4200


class ServerError(Exception):
    """The Prefect server could not be reached or started; one Chinese line."""


@dataclass(frozen=True)
class Server:
    """A reachable Prefect API and whether this process started it."""

    api_url: str
    ui_url: str
    started: bool
    log: Path | None = None


def prefect_home() -> Path:
    """Prefect's own files (server database, profiles) next to the product's, not in ``~/.prefect``."""
    return get_settings().home / "prefect"


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def ensure_server(port: int = DEFAULT_PORT, timeout_s: float = 120) -> Server:
    """The configured Prefect server, or a local one started in the background and healthy."""
    configured = PREFECT_API_URL.value()
    if configured:
        if not _healthy(configured):
            raise ServerError(f"PREFECT_API_URL 指向的 Prefect 服务无响应: {configured}")
        return Server(configured, configured.removesuffix("/api"), started=False)
    api_url = f"http://127.0.0.1:{port}/api"
    ui_url = f"http://127.0.0.1:{port}"
    if _healthy(api_url):
        return Server(api_url, ui_url, started=False)
    home = prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    log = home / "server.log"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    prefect_bin = Path(sys.executable).with_name("prefect")
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(prefect_bin), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    (home / "server.pid").write_text(str(process.pid))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _healthy(api_url):
            return Server(api_url, ui_url, started=True, log=log)
        if process.poll() is not None:
            raise ServerError(f"Prefect 服务启动失败（退出码 {process.returncode}），见日志 {log}")
        time.sleep(1)
    raise ServerError(f"Prefect 服务 {timeout_s:.0f} 秒内未就绪，见日志 {log}")


def build_deployments(retrain_preset: str | None = None) -> list:
    """Nightly scoring at 02:00 Asia/Shanghai of yesterday's inbox folder; retraining on Sundays 03:00."""
    flows_cfg = section("flows")
    nightly = nightly_scoring.to_deployment(
        name="nightly",
        schedule=Cron(str(flows_cfg.get("nightly_cron", NIGHTLY_CRON)), timezone=TIMEZONE),
        description="每晚 02:00（北京时间）评分前一天的 95598 导出（inbox/YYYY-MM-DD/）",
        tags=["complaints"],
    )
    weekly = retrain.to_deployment(
        name="weekly",
        schedule=Cron(str(flows_cfg.get("retrain_cron", RETRAIN_CRON)), timezone=TIMEZONE),
        parameters={"preset": retrain_preset or str(flows_cfg.get("retrain_preset", "default"))},
        description="每周重训练分类模型与风险模型，通过门槛者晋升为冠军",
        tags=["complaints"],
    )
    return [nightly, weekly]


def serve_all(retrain_preset: str | None = None) -> None:
    """Register both deployments and run them here until interrupted (schedules stay active)."""
    serve(*build_deployments(retrain_preset), pause_on_shutdown=False)

"""The retrain flow registers every candidate, promotes one that passes the gate and refuses one that does not."""

from __future__ import annotations

import json

import pytest
from mlflow.tracking import MlflowClient
from prefect.artifacts import Artifact

from flows.retrain import retrain
from models.registry import alias_version, configure_mlflow
from pipeline import config

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture
def own_registry(product_env, monkeypatch, tmp_path):
    """A registry of its own: the gate's outcome must not depend on the session's champion."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'retrain-mlflow.db'}")
    yield
    config._toml.cache_clear()


def test_retrain_promotes_then_refuses(own_registry, tiny_data, tmp_path, monkeypatch) -> None:
    first = retrain(data_dir=str(tiny_data["train"]), kinds=["baseline"], eval_dir=str(tiny_data["eval"]))
    assert [r["model"] for r in first] == ["baseline"]
    assert first[0]["promoted"] is True and first[0]["champion"] is None
    configure_mlflow()
    champion = alias_version("complaint-classifier")
    assert first[0]["version"] == f"complaint-classifier/{champion}"

    strict = tmp_path / "strict.toml"
    strict.write_text("[classifier]\ngate_margin = -0.5\n", encoding="utf-8")
    monkeypatch.setenv("COMPLAINTS_CONFIG", str(strict))
    config._toml.cache_clear()
    second = retrain(data_dir=str(tiny_data["train"]), kinds=["baseline"], eval_dir=str(tiny_data["eval"]))
    assert second[0]["promoted"] is False
    assert second[0]["champion"] == first[0]["candidate"]
    assert "保留为挑战者" in second[0]["decision"]

    configure_mlflow()
    assert alias_version("complaint-classifier") == champion
    challenger = alias_version("complaint-classifier", "challenger")
    assert second[0]["version"] == f"complaint-classifier/{challenger}" != first[0]["version"]
    assert len(MlflowClient().search_model_versions("name='complaint-classifier'")) == 2

    table = Artifact.get("retrain-comparison")
    assert table is not None
    assert [row["promoted"] for row in json.loads(table.data)] == [False]


def test_retrain_rejects_unknown_kinds(own_registry) -> None:
    with pytest.raises(ValueError, match="未知的模型类型"):
        retrain(kinds=["gbm"])


def test_retrain_reads_the_sites_labels_from_the_store(own_registry, tiny_data, tmp_path) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from pipeline.storage import session_factory, upgrade
    from pipeline.storage.models import Call

    url = f"sqlite:///{tmp_path / 'site.db'}"
    engine = upgrade(url)
    start = datetime(2026, 10, 1, 20, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with session_factory(engine).begin() as session:
        for i in range(12):
            at = start + timedelta(hours=i)
            session.add(
                Call(
                    call_id=f"site-{i}",
                    night=at.date(),
                    call_time=at,
                    customer_key=f"k{i}",
                    customer_masked="户号****0001",
                    unit="大理供电局",
                    transcript=f"客户：屋头电压低得很，第{i}回了",
                    category="other",
                    confidence=0.5,
                    escalation_score=0.1,
                    risk_level="none",
                    coded_category="voltage",
                )
            )
    engine.dispose()
    rows = retrain(
        data_dir=str(tiny_data["train"]), kinds=["baseline"], eval_dir=str(tiny_data["eval"]), db_url=url
    )
    configure_mlflow()
    version = MlflowClient().get_model_version("complaint-classifier", rows[0]["version"].split("/")[1])
    params = MlflowClient().get_run(version.run_id).data.params
    assert int(params["site_labels_train"]) + int(params["site_labels_recent"]) == 12
    no_store = retrain(
        data_dir=str(tiny_data["train"]),
        kinds=["baseline"],
        eval_dir=str(tiny_data["eval"]),
        db_url=url,
        use_store=False,
    )
    version = MlflowClient().get_model_version("complaint-classifier", no_store[0]["version"].split("/")[1])
    assert MlflowClient().get_run(version.run_id).data.params["site_labels_train"] == "0"

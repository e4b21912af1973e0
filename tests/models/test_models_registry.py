"""Promotion gate and loading by alias against a real (temporary) MLflow SQLite registry."""

from __future__ import annotations

import os

from mlflow.tracking import MlflowClient

from models.gate import scalar_decision
from models.registry import alias_version, champion_exists, load_classifier, register_and_gate
from models.training import train_classifier


def test_gate_promotes_better_and_refuses_worse(baseline_champion):
    name = "gate-test"
    uri, run = baseline_champion.model_uri, baseline_champion.run_id
    assert not champion_exists(name)
    first = register_and_gate(name, uri, run, scalar_decision(0.80, None))
    assert first.promoted and champion_exists(name)
    worse = register_and_gate(name, uri, run, scalar_decision(0.70, 0.80))
    assert not worse.promoted
    assert alias_version(name, "champion") == first.version
    assert alias_version(name, "challenger") == worse.version
    within_margin = register_and_gate(name, uri, run, scalar_decision(0.79, 0.80, 0.02))
    assert within_margin.promoted and alias_version(name, "champion") == within_margin.version
    tags = MlflowClient().get_model_version(name, worse.version).tags
    assert tags["gate"] == "refused" and float(tags["candidate_score"]) == 0.70


def test_worse_retrain_stays_challenger(baseline_champion, tiny_data, scrambled_data):
    champion_before = alias_version("complaint-classifier", "champion")
    outcome = train_classifier("baseline", scrambled_data, eval_dir=tiny_data["eval"])
    assert outcome.gate is not None and not outcome.gate.promoted
    assert outcome.gate.champion_score > outcome.gate.candidate_score
    assert alias_version("complaint-classifier", "champion") == champion_before
    assert alias_version("complaint-classifier", "challenger") == outcome.gate.version


def test_load_champion_by_alias_offline(baseline_champion):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    clf = load_classifier("champion")
    number = alias_version("complaint-classifier", "champion")
    assert clf.version == f"complaint-classifier/{number}"
    (pred,) = clf.predict(["客户：我家停电了，整个村都停电了，什么时候来电？"])
    assert pred.category == "outage"


def test_the_sealed_test_split_decides_nothing(baseline_champion, tiny_data, tmp_path):
    """Two eval roots that differ only in test/ give the same temperature, review threshold and gate."""
    import json
    import shutil

    import mlflow

    decisions = []
    for variant, label in (("a", "outage"), ("b", "other")):
        root = tmp_path / variant
        shutil.copytree(tiny_data["eval"], root)
        (root / "independent" / "test").mkdir(parents=True)
        rows = [
            {
                "id": f"t{i}",
                "writer": "tx",
                "register": "app_message",
                "text": f"家里没电了{i}",
                "category": label,
            }
            for i in range(20)
        ]
        (root / "independent" / "test" / "tx.jsonl").write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8"
        )
        outcome = train_classifier("baseline", tiny_data["train"], eval_dir=root)
        params = mlflow.get_run(outcome.run_id).data.params
        decisions.append(
            (params["temperature_dev"], params["review_threshold_chosen"], outcome.gate.promoted)
        )
        assert "test_macro_f1" in outcome.metrics
    assert decisions[0] == decisions[1]

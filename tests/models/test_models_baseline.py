"""Baseline: trains on tiny data and gets clear cases right, with calibrated probabilities."""

from __future__ import annotations

import numpy as np

from models.baseline import BaselineClassifier
from models.data import load_labeled_texts
from models.text_prep import TextPrep, augmented

CLEAR = {
    "outage": "坐席：您好，国家电网95598。\n客户：我家突然停电了，整个村子都停电了，到现在还没来电。",
    "meter_billing": "客户：这个月电费怎么这么高，我交了电费也没到账。",
    "voltage": "客户：电压太低了，灯一闪一闪的，空调启动不了。",
    "connection": "客户：新房子要装电表，申请报装半个月了还没装。",
    "other": "客户：变压器离卧室太近，嗡嗡响个不停，怕有辐射。",
}


def test_baseline_predicts_clear_examples(tiny_data):
    df = load_labeled_texts(tiny_data["train"])
    prep = TextPrep(max_chars=256)
    texts, labels = augmented(df, prep)
    assert len(texts) > len(df)  # free-text variants were added
    clf = BaselineClassifier.fit(texts, labels, prep, review_threshold=0.6)
    preds = clf.predict(list(CLEAR.values()))
    assert [p.category for p in preds] == list(CLEAR)
    for p in preds:
        assert abs(sum(p.probabilities.values()) - 1.0) < 1e-3
        assert p.confidence == max(p.probabilities.values())
        assert p.needs_review == (p.confidence < 0.6)


def test_review_threshold_drives_needs_review(tiny_data):
    df = load_labeled_texts(tiny_data["train"])
    prep = TextPrep(max_chars=256)
    texts, labels = augmented(df, prep)
    strict = BaselineClassifier.fit(texts, labels, prep, review_threshold=0.999)
    assert all(p.needs_review for p in strict.predict(list(CLEAR.values())))
    proba = strict.predict_proba(list(CLEAR.values()))
    assert proba.shape == (5, 5)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_baseline_run_is_logged_and_registered(baseline_champion):
    import mlflow

    run = mlflow.get_run(baseline_champion.run_id)
    assert run.data.tags["data_sha256"] and len(run.data.tags["data_sha256"]) == 64
    assert "simulated_macro_f1" in run.data.metrics and "dev_macro_f1" in run.data.metrics
    assert run.data.metrics["simulated_macro_f1"] > 0.5  # chance is about 0.2
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(baseline_champion.run_id, "evaluation")}
    assert "evaluation/confusion_simulated.png" in artifacts
    assert "evaluation/reliability_dev.png" in artifacts
    assert baseline_champion.gate is not None


def test_saved_baseline_scores_in_workers_like_in_process(tiny_data, tmp_path):
    from models.featurize import shutdown

    df = load_labeled_texts(tiny_data["train"])
    prep = TextPrep(max_chars=256)
    texts, labels = augmented(df, prep)
    clf = BaselineClassifier.fit(texts, labels, prep, review_threshold=0.6)
    calls = [text + f"，第{i}次打电话了" for i in range(450) for text in CLEAR.values()]
    in_process = clf.predict_proba(calls)
    clf.save(tmp_path / "baseline.joblib")
    loaded = BaselineClassifier.load(tmp_path / "baseline.joblib", 0.6, "baseline/test")
    try:
        in_workers = loaded.predict_proba(calls)
    finally:
        shutdown()
    assert in_workers.shape == (len(calls), 5)
    assert np.allclose(in_workers, in_process, atol=1e-9)
    assert [p.category for p in loaded.predict(list(CLEAR.values()))] == list(CLEAR)

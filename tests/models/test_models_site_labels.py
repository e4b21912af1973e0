"""Retraining from the store (issue 14, item 3): the site's labels, its transcripts and its newest labels.

A call's label is its newest staff correction, else its export's code; the newest
labels are held out by time for the gate; a model trained with the store has
learned the site's own words; the gate refuses a challenger that is worse on the
recent labels; continued pretraining reads the stored transcripts; the risk model
gets rows only for calls whose 12398 outcome is known.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import mlflow
import pytest

from models.gate import GateConfig, RecentLabels, decide
from models.risk.site_rows import FEATURE_NEEDED, site_risk_rows
from models.site_data import load_site, site_labels, time_holdout, weighted
from pipeline import config
from pipeline.corrections import correct_category
from pipeline.risk.config import load_risk_config
from pipeline.storage import session_factory, upgrade
from pipeline.storage.models import Call
from pipeline.storage.outcomes import Label, Outcome12398

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 10, 1, 20, 0, tzinfo=SH)
SITE_WORD = "嘞个喔嚯嗦"
"""A phrase no simulator bank writes: only the site's labels can teach what it means."""


def _call(
    call_id: str, hours: float, transcript: str, coded: str | None, features: dict | None = None
) -> Call:
    at = T0 + timedelta(hours=hours)
    return Call(
        call_id=call_id,
        night=at.date(),
        call_time=at,
        customer_key=f"k-{call_id}",
        customer_masked="户号****0001",
        unit="大理供电局",
        transcript=transcript,
        category="other",
        confidence=0.5,
        probabilities={"other": 0.5},
        escalation_score=0.1,
        risk_level="none",
        reasons=[],
        features=features or {},
        coded_category=coded,
        scored_at=at + timedelta(hours=6),
    )


@pytest.fixture
def store(tmp_path):
    url = f"sqlite:///{tmp_path / 'site.db'}"
    engine = upgrade(url)
    yield url, session_factory(engine)
    engine.dispose()


@pytest.fixture
def learning_toml(tmp_path, monkeypatch):
    """``[learning]`` values for one test (a small holdout floor, no continued pretraining)."""

    def write(**values):
        body = "\n".join(f"{k} = {v}" for k, v in values.items())
        path = tmp_path / "learning.toml"
        path.write_text(f"[learning]\n{body}\n", encoding="utf-8")
        monkeypatch.setenv("COMPLAINTS_CONFIG", str(path))
        config._toml.cache_clear()

    yield write
    config._toml.cache_clear()


def test_newest_correction_wins_over_export_code_and_newest_labels_are_held_out(store) -> None:
    url, factory = store
    with factory.begin() as session:
        session.add_all(
            [
                _call("a", 0, "停电了", "outage"),
                _call("b", 1, "灯一闪一闪", "other"),
                _call("c", 2, "电费多扣了", None),
                _call("d", 3, "没有标注的来电", None),
            ]
        )
        session.flush()
        calls = {c.call_id: c for c in session.query(Call)}
        correct_category(session, calls["b"], "outage", "张三")
        correct_category(session, calls["b"], "voltage", "李四")
        correct_category(session, calls["c"], "meter_billing", "张三")
    with factory() as session:
        labels = site_labels(session)
    assert labels[["call_id", "category", "source"]].values.tolist() == [
        ["a", "outage", "export_coded"],
        ["b", "voltage", "correction"],
        ["c", "meter_billing", "correction"],
    ]
    train, holdout = time_holdout(labels, fraction=0.34, min_holdout=1)
    assert train["call_id"].tolist() == ["a", "b"] and holdout["call_id"].tolist() == ["c"]
    train, holdout = time_holdout(labels, fraction=0.34, min_holdout=2)
    assert len(train) == 3 and holdout.empty  # too few recent labels to judge on: none held out


def test_no_store_means_no_site_data(tmp_path) -> None:
    assert load_site(None) is None
    missing = tmp_path / "never-created.db"
    assert load_site(f"sqlite:///{missing}") is None
    assert not missing.exists()  # looking must not create an empty database


def test_real_labels_count_label_weight_times() -> None:
    import pandas as pd

    sim = pd.DataFrame({"call_id": ["s1"], "transcript": ["x"], "category": ["outage"]})
    site = pd.DataFrame({"call_id": ["r1"], "transcript": ["y"], "category": ["voltage"], "call_time": [T0]})
    out = weighted(sim, site, 3)
    assert out["category"].tolist() == ["outage", "voltage", "voltage", "voltage"]
    assert out["call_id"].is_unique


def _site_calls(n: int) -> list[Call]:
    fillers = ["那边", "我们屋头", "楼上楼下", "整个院子", "昨晚上开始", "今天一早"]
    return [
        _call(
            f"site-{i}",
            i,
            f"坐席：您好。\n客户：{SITE_WORD}，{fillers[i % len(fillers)]}又是这样。",
            "voltage",
        )
        for i in range(n)
    ]


def test_retraining_reads_stored_labels_and_gates_on_recent_ones(
    store, tiny_data, learning_toml, baseline_champion
) -> None:
    from models.training import train_classifier

    url, factory = store
    with factory.begin() as session:
        session.add_all(_site_calls(40))
    learning_toml(holdout_fraction=0.25, min_holdout=5, mlm_steps=0)
    probe = [f"坐席：您好。\n客户：{SITE_WORD}，又是这样。"]

    without = train_classifier(
        "baseline", tiny_data["train"], preset="quick", register=False, eval_dir=tiny_data["eval"]
    )
    with_site = train_classifier(
        "baseline", tiny_data["train"], preset="quick", eval_dir=tiny_data["eval"], site_db=url
    )
    p_without = mlflow.pyfunc.load_model(without.model_uri).unwrap_python_model()
    p_with = mlflow.pyfunc.load_model(with_site.model_uri).unwrap_python_model()
    before = p_without.classifier.predict(probe)[0]
    after = p_with.classifier.predict(probe)[0]
    assert after.category == "voltage"
    assert after.probabilities["voltage"] > before.probabilities["voltage"] + 0.2

    params = mlflow.get_run(with_site.run_id).data.params
    assert params["site_labels_train"] == "30" and params["site_labels_recent"] == "10"
    assert "site_recent_macro_f1" in with_site.metrics
    assert with_site.gate is not None and "现场最近 10 条标注" in with_site.gate.reason


def test_gate_refuses_a_challenger_worse_on_recent_site_labels() -> None:
    truth = ["outage", "voltage", "meter_billing", "connection", "other"] * 20
    recent_truth = ["voltage"] * 30 + ["outage"] * 30
    good = RecentLabels(recent_truth, recent_truth, recent_truth)
    bad = RecentLabels(recent_truth, ["outage"] * 60, recent_truth)
    cfg = GateConfig(n_boot=200)
    assert decide(truth, truth, 0.01, truth, cfg, good).promoted
    refused = decide(truth, truth, 0.01, truth, cfg, bad)
    assert not refused.promoted
    assert any("现场最近标注" in f for f in refused.failures)
    assert refused.recent_difference is not None and refused.recent_difference.value < -0.3


def test_continued_pretraining_reads_site_text_and_keeps_the_vocabulary(tiny_base, tmp_path) -> None:
    import torch
    from transformers import BertForMaskedLM

    from models.pretrain import continue_pretraining

    texts = [f"客户：{SITE_WORD}，第{i}回停电，屋头黑起" for i in range(40)]
    out = continue_pretraining(tiny_base, texts, tmp_path / "site-base", steps=3, progress=False)
    assert (out / "vocab.txt").read_text(encoding="utf-8") == (tiny_base / "vocab.txt").read_text(
        encoding="utf-8"
    )
    before = BertForMaskedLM.from_pretrained(str(tiny_base), local_files_only=True)
    after = BertForMaskedLM.from_pretrained(str(out), local_files_only=True)
    assert after.config.complaints_site_pretrain["texts"] == 40
    moved = [not torch.equal(a, b) for a, b in zip(before.parameters(), after.parameters(), strict=True)]
    assert any(moved)


def test_risk_rows_only_for_calls_whose_outcome_is_known(store) -> None:
    url, factory = store
    features = dict.fromkeys(FEATURE_NEEDED, 0.0)
    horizon = load_risk_config().hazard_days
    with factory.begin() as session:
        session.add_all(
            [
                _call("early-esc", 0, "停电", "outage", features),
                _call("early-calm", 1, "停电", "outage", features),
                _call("old-format", 2, "停电", "outage", {"repeat": 1.0}),
                _call("too-recent", 24 * (horizon + 3), "停电", "outage", features),
            ]
        )
        outcome = Outcome12398(
            ticket_no="Z-1",
            received_at=T0 + timedelta(days=horizon + 4),
            unit="大理供电局",
            status="matched",
        )
        session.add(outcome)
        session.flush()
        session.add(
            Label(
                call_id="early-esc",
                kind="escalation",
                value="1",
                source="outcome_12398",
                author="导入",
                observed_at=T0 + timedelta(days=2),
                outcome=outcome,
            )
        )
    rows = site_risk_rows(url, load_risk_config())
    assert len(rows) == 2  # the old-format row lacks features, the recent one's window is still open
    assert sorted(rows["y"].tolist()) == [0, 1]
    assert set(rows.columns) >= set(FEATURE_NEEDED) | {"y", "night", "rescore"}
    assert rows.columns.is_unique  # the replay's frame is concatenated with these rows


def test_fine_tuning_starts_from_a_base_that_read_the_site(tiny_base, tmp_path, learning_toml) -> None:
    import pandas as pd

    from models.site_data import SiteData
    from models.text_prep import TextPrep
    from models.training import site_base

    learning_toml(mlm_steps=2, mlm_min_texts=5)
    empty = pd.DataFrame(columns=["call_id", "transcript", "category", "call_time", "source"])
    site = SiteData(empty, empty, [f"客户：{SITE_WORD}，第{i}回" for i in range(6)])
    train = pd.DataFrame({"call_id": ["s"], "transcript": ["客户：停电了"], "category": ["outage"]})
    with mlflow.start_run() as run:
        out = site_base(tiny_base, site, TextPrep(max_chars=120), train, tmp_path)
    assert out != tiny_base and (out / "config.json").exists()
    assert mlflow.get_run(run.info.run_id).data.params["site_mlm_texts"] == "6"
    few = SiteData(empty, empty, site.transcripts[:4])  # below mlm_min_texts: the base as given
    assert site_base(tiny_base, few, TextPrep(max_chars=120), train, tmp_path) == tiny_base

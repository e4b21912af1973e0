"""The escalation-risk model: replay without leaks, a calibrated fit, MLflow registration and loading."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.risk.features import RISK_COLUMNS
from models.risk.model import RiskModel, load_risk_model
from models.risk.replay import load_replay
from models.risk.train import fit_estimator, split_by_night, train_and_register
from pipeline.risk.config import load_risk_config, risk_config_for
from pipeline.simulator import load_labeled


@pytest.fixture(scope="module")
def replayed(simulated_nights) -> pd.DataFrame:
    return load_replay(simulated_nights, load_risk_config())


def test_replay_counts_only_earlier_calls_and_labels_the_hazard_window(replayed, simulated_nights):
    truth = load_labeled(simulated_nights).set_index("call_id")
    calls = replayed[replayed["rescore"] == 0].set_index("call_id")
    assert len(calls) <= len(truth) and calls.index.is_unique
    first_calls = calls.sort_values("call_time").groupby("slip_key").head(1)
    assert (first_calls["problem_calls_30d"] == 0).mean() > 0.95, (
        "few problems lose early rows to an escalation"
    )
    within = calls.sort_values("call_time").groupby("slip_key")["problem_calls_30d"]
    assert (within.diff().dropna() >= 0).all(), "a problem's count of earlier calls never falls"
    positives = replayed[replayed["y"] == 1]
    assert len(positives) > 0
    assert (positives["escalated_at"] > positives["scored_at"]).all()
    assert ((positives["escalated_at"] - positives["scored_at"]) <= pd.Timedelta(days=7)).all()
    assert replayed.loc[replayed["escalated_at"].isna(), "y"].eq(0).all()
    assert (
        (replayed["scored_at"] < replayed["escalated_at"]).where(replayed["escalated_at"].notna(), True).all()
    )


def test_replay_rescores_quiet_problems_without_words(replayed):
    quiet = replayed[replayed["rescore"] == 1]
    assert len(quiet) > 0 and quiet["call_id"].isna().all()
    assert (quiet[["threat_regulator", "anger", "text_length"]] == 0).all().all()
    assert (quiet["days_since_last_contact"] > 0).all()
    assert quiet["y"].sum() > 0, (
        "some quiet problems escalate within the hazard window: that is why they are rows"
    )


def test_split_keeps_later_nights_for_validation(replayed):
    train, val = split_by_night(replayed)
    assert train["night"].max() < val["night"].min()
    assert len(train) > len(val) > 0


def test_fitted_model_gives_probabilities_that_rank_escalations_higher(replayed):
    train, val = split_by_night(replayed)
    model = RiskModel(fit_estimator(train), {"red": 0.6, "orange": 0.4, "yellow": 0.2})
    scores = model.predict_proba(val)
    assert scores.shape == (len(val),)
    assert np.all((scores >= 0) & (scores <= 1))
    assert scores[val["y"].to_numpy() == 1].mean() > scores[val["y"].to_numpy() == 0].mean()
    assert model.predict_proba(val.head(0)).shape == (0,)


@pytest.mark.slow
def test_train_registers_champion_then_gates_challenger(simulated_nights, mlflow_home):
    first = train_and_register(simulated_nights, budget_per_1000=120, progress=False)
    assert first.gate is not None and first.gate.promoted and first.gate.version == "1"
    t = first.thresholds
    assert t["yellow"] <= t["orange"] <= t["red"]
    loaded = load_risk_model()
    assert loaded.version == "escalation-risk/1"
    assert loaded.thresholds == t
    assert risk_config_for(loaded).thresholds == t
    second = train_and_register(simulated_nights, budget_per_1000=120, progress=False)
    assert second.gate.version == "2"
    assert second.gate.champion_score == pytest.approx(first.gate.candidate_score)
    assert list(RISK_COLUMNS) == loaded.columns
    from models.risk.evaluate import evaluate

    result = evaluate(simulated_nights, "champion", mlflow_home / "report", progress=False)
    assert result.plot.exists() and result.plot.stat().st_size > 10_000
    assert result.run_id is not None
    assert 0 <= result.model.recall <= 1 and result.model.escalated_problems > 0
    assert set(result.curves) == {"模型", "关键词基线"}
    assert any("升级前已有预警单" in line for line in result.lines)


def test_train_adds_stored_calls_whose_outcome_is_known(replayed, simulated_nights, mlflow_home, tmp_path):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from models.risk.site_rows import FEATURE_NEEDED
    from pipeline.storage import session_factory, upgrade
    from pipeline.storage.models import Call
    from pipeline.storage.outcomes import Label, Outcome12398

    url = f"sqlite:///{tmp_path / 'site.db'}"
    engine = upgrade(url)
    start = datetime(2026, 9, 1, 20, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    sample = replayed[replayed["rescore"] == 0].head(30)
    with session_factory(engine).begin() as session:
        for i, row in enumerate(sample.itertuples(index=False)):
            at = start + timedelta(hours=i)
            session.add(
                Call(
                    call_id=f"site-{i}",
                    night=at.date(),
                    call_time=at,
                    customer_key=f"k{i}",
                    customer_masked="户号****0001",
                    unit="大理供电局",
                    transcript="客户：又停电了",
                    category="outage",
                    confidence=0.9,
                    escalation_score=0.1,
                    risk_level="none",
                    features={c: float(getattr(row, c)) for c in FEATURE_NEEDED},
                    scored_at=at + timedelta(hours=6),
                )
            )
        outcome = Outcome12398(
            ticket_no="Z-1", received_at=start + timedelta(days=40), unit="大理供电局", status="matched"
        )
        session.add(outcome)
        session.flush()
        for i in range(3):
            session.add(
                Label(
                    call_id=f"site-{i}",
                    kind="escalation",
                    value="1",
                    source="outcome_12398",
                    author="导入",
                    observed_at=start + timedelta(days=1),
                    outcome=outcome,
                )
            )
    engine.dispose()
    result = train_and_register(
        simulated_nights, budget_per_1000=120, progress=False, register=False, site_db=url
    )
    assert any("加入现场已知结果的来电 30 条（其中 3 条 12398 升级）" in line for line in result.lines)

"""Label mix and the generative escalation process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import _toml
from pipeline.labels import LABELS
from pipeline.simulator import SimulationError, load_labeled, simulate


def test_every_label_in_sane_shares(train_df: pd.DataFrame) -> None:
    shares = train_df["category"].value_counts(normalize=True)
    assert set(shares.index) == set(LABELS)
    for label in LABELS:
        assert 0.07 <= shares[label] <= 0.40, (label, shares[label])
    assert shares["other"] < shares.drop("other").min() + 0.05


def test_escalation_flags_are_consistent(train_df: pd.DataFrame) -> None:
    esc = train_df[train_df["escalated_12398"]]
    not_esc = train_df[~train_df["escalated_12398"]]
    assert len(esc) > 10
    assert not_esc["escalated_at"].isna().all()
    assert esc["escalated_at"].notna().all()
    assert (esc["escalated_at"] > esc["call_time"]).all()
    assert (esc["escalated_at"] - esc["call_time"] <= timedelta(days=30)).all()
    per_problem = train_df.groupby("problem_id").agg(
        flags=("escalated_12398", "nunique"), at=("escalated_at", "nunique"), cat=("category", "nunique")
    )
    assert (per_problem["flags"] == 1).all()
    assert (per_problem["at"] <= 1).all()
    assert (per_problem["cat"] == 1).all()


def test_escalation_rate_and_repeat_callers(train_df: pd.DataFrame) -> None:
    problems = train_df.groupby("problem_id").agg(esc=("escalated_12398", "max"), calls=("call_id", "size"))
    assert 0.01 <= problems["esc"].mean() <= 0.10
    assert (problems["calls"] > 1).sum() > 30
    # Repeat calls drive escalation: problems called about again escalate more often.
    assert (
        problems.loc[problems["calls"] > 1, "esc"].mean()
        > 2 * problems.loc[problems["calls"] == 1, "esc"].mean()
    )
    # Not every escalation is preceded by a repeat call: some quiet callers escalate.
    assert problems.loc[problems["calls"] == 1, "esc"].sum() > 0


def test_events_cause_clusters_of_calls(train_df: pd.DataFrame) -> None:
    per_event = train_df.groupby("event_id")["customer_key"].nunique()
    assert per_event.max() >= 8
    same_evening = train_df[train_df["event_id"] == per_event.idxmax()]
    assert same_evening["area"].dropna().nunique() == 1


def test_escalation_weights_come_from_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "complaints.toml"
    config.write_text("[simulator.escalation]\nbase = -2.0\n", encoding="utf-8")
    monkeypatch.setenv("COMPLAINTS_CONFIG", str(config))
    _toml.cache_clear()
    try:
        summary = simulate(tmp_path / "hot", days=1, seed=5, scale=0.1)
        assert summary.escalation_rate > 0.3
        assert load_labeled(tmp_path / "hot")["escalated_12398"].mean() > 0.3
        config.write_text("[simulator.events]\nthunder = 1\n", encoding="utf-8")
        _toml.cache_clear()
        with pytest.raises(SimulationError, match="thunder"):
            simulate(tmp_path / "bad", days=1, seed=5, scale=0.1)
        assert not (tmp_path / "bad").exists()
    finally:
        monkeypatch.delenv("COMPLAINTS_CONFIG")
        _toml.cache_clear()

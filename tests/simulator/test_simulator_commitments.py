"""Commitments kept and missed, callbacks and their effect on escalation in labels.csv (issue 11, item 3)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from pipeline.risk.commitments import extract_commitments, working_days_after
from pipeline.simulator import simulate

KINDS = {"crew", "restore", "wd", "reconnect"}


@pytest.fixture(scope="module")
def problems(train_df: pd.DataFrame) -> pd.DataFrame:
    return train_df.sort_values("call_time").drop_duplicates("problem_id")


def test_commitment_columns_are_complete_and_well_formed(train_df: pd.DataFrame) -> None:
    promised = train_df["commitment"] != ""
    assert set(train_df.loc[promised, "commitment"]) == KINDS
    assert train_df.loc[promised, "commitment_due"].notna().all()
    assert train_df.loc[~promised, "commitment_due"].isna().all()
    assert set(train_df.loc[promised, "commitment_kept"]) == {"true", "false"}
    assert set(train_df.loc[~promised, "commitment_kept"]) == {""}
    assert set(train_df["missed_at_call"]) == {"true", "false"}


def test_a_call_after_a_missed_due_time_says_so_and_a_kept_commitment_is_never_missed(
    train_df: pd.DataFrame,
) -> None:
    missed = train_df[train_df["missed_at_call"] == "true"]
    assert len(missed) > 20
    assert (missed["call_time"] > missed["commitment_due"]).all()
    assert (missed["commitment_kept"] == "false").all()
    kept = train_df[train_df["commitment_kept"] == "true"]
    assert (kept["missed_at_call"] == "false").all()


def test_callbacks_have_the_three_results_and_a_time(train_df: pd.DataFrame, problems: pd.DataFrame) -> None:
    assert set(train_df["callback_result"]) == {"", "满意", "基本满意", "不满意"}
    has = train_df["callback_result"] != ""
    assert train_df.loc[has, "callback_at"].notna().all() and train_df.loc[~has, "callback_at"].isna().all()
    assert (train_df.loc[train_df["commitment"] == "", "callback_result"] == "").all()
    shares = problems.loc[problems["callback_result"] != "", "callback_result"].value_counts(normalize=True)
    assert 0.35 <= shares["满意"] <= 0.75
    assert 0.08 <= shares["基本满意"] <= 0.30
    assert 0.15 <= shares["不满意"] <= 0.45


def test_unsatisfied_callbacks_follow_missed_commitments_and_raise_escalation(problems: pd.DataFrame) -> None:
    called_back = problems[problems["callback_result"] != ""]
    unsat = called_back["callback_result"] == "不满意"
    missed = called_back["commitment_kept"] == "false"
    assert unsat[missed].mean() > 2 * unsat[~missed].mean()
    satisfied = called_back[~unsat]
    assert not satisfied["escalated_12398"].any()  # a satisfied customer stops there
    assert called_back.loc[unsat, "escalated_12398"].mean() > 0


def test_escalation_trigger_names_the_call_or_the_callback(train_df: pd.DataFrame) -> None:
    escalated = train_df["escalated_12398"]
    assert set(train_df.loc[escalated, "escalation_trigger"]) <= {"call", "callback"}
    assert (train_df.loc[~escalated, "escalation_trigger"] == "").all()
    by_callback = train_df[train_df["escalation_trigger"] == "callback"]
    assert (by_callback["callback_result"] == "不满意").all()
    assert (by_callback["escalated_at"] > by_callback["callback_at"]).all()


def test_the_agents_words_give_the_labelled_due_time(train_df: pd.DataFrame) -> None:
    """What the extractor reads from a problem's first call in the run matches the world's commitment.

    Problems that began in the warm-up days before the first night show a later call
    first, whose promise counts from that call: those few may differ.
    """
    first = train_df.sort_values("call_time").drop_duplicates("problem_id")
    first = first[(first["channel"] == "phone") & (first["commitment"] != "")]
    agree = {"wd": [], "crew": []}
    for row in first.itertuples(index=False):
        found = extract_commitments(row.transcript, row.call_time.to_pydatetime())
        due = row.commitment_due.to_pydatetime()
        if row.commitment == "wd":
            dated = [c for c in found if c.working_days is not None]
            if dated:
                agree["wd"].append(
                    working_days_after(row.call_time.to_pydatetime(), dated[0].working_days) == due
                )
        elif row.commitment == "crew":
            crews = [c for c in found if c.kind == "crew"]
            if crews:
                # the world's due time is the spoken promise plus up to 2.5 h of crew spread
                late = due - crews[0].due_at
                agree["crew"].append(-timedelta(seconds=1) <= late <= timedelta(hours=2.5, seconds=1))
    assert len(agree["wd"]) >= 50 and len(agree["crew"]) >= 10, {k: len(v) for k, v in agree.items()}
    for kind, hits in agree.items():
        assert sum(hits) / len(hits) >= 0.85, (kind, sum(hits), len(hits))


def test_new_label_columns_leave_calls_csv_alone_and_stay_deterministic(tmp_path: Path) -> None:
    simulate(tmp_path / "a", days=2, seed=31, scale=0.2)
    simulate(tmp_path / "b", days=2, seed=31, scale=0.2)
    for night in ("2026-06-01", "2026-06-02"):
        for name in ("calls.csv", "labels.csv"):
            assert (tmp_path / "a" / night / name).read_bytes() == (
                tmp_path / "b" / night / name
            ).read_bytes()
        header = (tmp_path / "a" / night / "calls.csv").read_text(encoding="utf-8").splitlines()[0]
        assert "callback" not in header and "commitment" not in header

"""Language drift: the comparison's known answers, the profile every champion carries, and the retrain
it asks Prefect for (one run per drift, none within the cooldown, no failure without a deployment)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from prefect.artifacts import Artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterTags

from flows import drift_trigger
from flows.nightly import nightly_scoring
from models.drift_profile import load_profile
from models.registry import configure_mlflow
from pipeline import config
from pipeline.drift import (
    NO_PROFILE,
    DriftOutcome,
    DriftSettings,
    NightStats,
    TrainingProfile,
    compare,
    profile_of,
    psi,
    unknown_word_rate,
    words,
)
from pipeline.labels import LABELS
from pipeline.report import CALL_COLUMNS, SLIP_COLUMNS, NightSummary, summary_markdown

UNIFORM = {label: 1 / len(LABELS) for label in LABELS}
HIST = [0.0, 0.0, 0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.1, 0.1]


@dataclass
class Pred:
    category: str
    confidence: float
    needs_review: bool


def _profile(n: int = 300) -> TrainingProfile:
    return TrainingProfile(
        n_calls=n,
        categories=dict(UNIFORM),
        confidence_edges=[i / 10 for i in range(11)],
        confidence_hist=list(HIST),
        review_share=0.10,
        unknown_word_rate=0.02,
        vocabulary=["停电", "电费"],
    )


def _same_night(n: int = 500) -> NightStats:
    return NightStats(n, dict(UNIFORM), list(HIST), 0.10, 0.02)


def _outage_night(n: int = 500) -> NightStats:
    mix = {label: 0.05 for label in LABELS} | {"outage": 0.80}
    return NightStats(n, mix, list(HIST), 0.12, 0.03)


def test_psi_has_the_textbook_value_and_is_zero_for_identical_shares() -> None:
    expected = 0.4 * math.log(0.9 / 0.5) + 0.4 * math.log(0.5 / 0.1)
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(expected)
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_identical_distributions_do_not_drift() -> None:
    check = compare(_profile(), _same_night(), DriftSettings())
    assert [m.value for m in check.measures[:2]] == [0.0, 0.0]
    assert not any(m.drifted for m in check.measures)
    assert check.status == "ok"
    assert "未超过漂移阈值" in check.summary()


def test_a_shifted_category_mix_drifts_and_says_which_measure() -> None:
    check = compare(_profile(), _outage_night(), DriftSettings())
    assert check.status == "drifted"
    assert [m.key for m in check.measures if m.drifted] == ["category_psi"]
    assert "类别分布" in check.summary()
    table = check.markdown_table()
    assert "| 类别分布 | PSI" in table and "| 漂移 |" in table
    assert "| 人工复核占比 | 12.0% | 10.0% | ±10.0 个百分点 | 正常 |" in table
    outcome = DriftOutcome(check.status, check)
    assert "- 类别分布：变化最大的是停电故障，训练 20% → 今晚 80%" in outcome.markdown()


def test_review_share_and_unknown_words_drift_by_absolute_change() -> None:
    night = NightStats(500, dict(UNIFORM), list(HIST), 0.25, 0.09)
    check = compare(_profile(), night, DriftSettings())
    assert [m.key for m in check.measures if m.drifted] == ["review_share_delta", "unknown_word_delta"]
    lower = compare(_profile(), replace(night, review_share=0.0, unknown_word_rate=0.0), DriftSettings())
    assert [m.key for m in lower.measures if m.drifted] == []


def test_below_min_calls_there_is_no_verdict() -> None:
    check = compare(_profile(), _outage_night(n=150), DriftSettings())
    assert check.status == "too_few_calls" and not check.drifted
    assert "仅 150 条来电，少于 min_calls 200" in check.summary()
    assert "来电不足" in check.markdown_table() and "| 漂移 |" not in check.markdown_table()


def test_the_report_has_a_drift_section_only_when_the_check_ran() -> None:
    summary = NightSummary(
        "2026-11-20", pd.DataFrame(columns=CALL_COLUMNS), pd.DataFrame(columns=SLIP_COLUMNS)
    )
    assert "语言漂移检查" not in summary_markdown(summary)
    check = compare(_profile(), _outage_night(), DriftSettings())
    summary.drift = DriftOutcome(check.status, check, ["已触发重训练"])
    text = summary_markdown(summary)
    section = text[text.index("## 语言漂移检查") : text.index("## 使用的模型版本")]
    assert "| 指标 | 今晚 | 训练数据 | 阈值 | 结论 |" in section and "| 类别分布 | PSI" in section
    assert "- 已触发重训练" in section
    summary.drift = DriftOutcome.no_profile()
    assert f"## 语言漂移检查\n\n- {NO_PROFILE}" in summary_markdown(summary)


def test_thresholds_come_from_the_drift_table(tmp_path, monkeypatch) -> None:
    path = tmp_path / "complaints.toml"
    path.write_text(
        "[drift]\nmin_calls = 20\ncategory_psi = 0.5\ntrigger_retrain = false\n", encoding="utf-8"
    )
    monkeypatch.setenv("COMPLAINTS_CONFIG", str(path))
    config._toml.cache_clear()
    try:
        settings = DriftSettings.from_config()
    finally:
        monkeypatch.delenv("COMPLAINTS_CONFIG")
        config._toml.cache_clear()
    assert (settings.min_calls, settings.category_psi, settings.trigger_retrain) == (20, 0.5, False)
    assert settings.confidence_psi == 0.25 and settings.retrain_deployment == "retrain/weekly"


def test_masked_personal_data_is_not_an_unknown_word() -> None:
    plain = "客户：我家停电了，电费也交了"
    masked = "客户：我家停电了，电话138****5678，户号******4567，手机13812345678，电费也交了"
    assert not any(any(c.isdigit() for c in w) for w in words(masked))
    assert "手机号" not in words(masked)
    vocabulary = frozenset(words(plain) + ["电话", "户号", "手机"])
    assert unknown_word_rate([masked], vocabulary, 256) == 0.0
    assert unknown_word_rate(["客户：光伏逆变器报警"], vocabulary, 256) == 1.0


def test_a_profile_round_trips_and_its_vocabulary_needs_two_sightings() -> None:
    train = ["客户：家里停电了", "客户：停电了，电费也贵", "客户：光伏并网"]
    held_out = ["客户：停电了，光伏怎么办", "客户：电费太高"]
    profile = profile_of(held_out, [Pred("outage", 0.91, False), Pred("meter_billing", 0.45, True)], train)
    assert profile.vocabulary == ["停电"]
    assert profile.review_share == 0.5 and profile.categories["outage"] == 0.5
    assert profile.confidence_hist[9] == 0.5 and profile.confidence_hist[4] == 0.5
    assert 0 < profile.unknown_word_rate < 1
    assert TrainingProfile.from_json(profile.to_json()) == profile


def test_a_trained_champion_carries_its_profile(product_env, champion) -> None:
    configure_mlflow()
    profile = load_profile(f"models:/{champion}")
    assert profile is not None
    name, version = champion.split("/")
    run_id = MlflowClient().get_model_version(name, version).run_id
    assert profile.n_calls == int(MlflowClient().get_run(run_id).data.params["n_val"])
    assert sum(profile.categories.values()) == pytest.approx(1.0)
    assert sum(profile.confidence_hist) == pytest.approx(1.0)
    assert "停电" in profile.vocabulary


class _Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: list[str], params=None) -> list[str]:
        return model_input


def test_an_older_champion_without_a_profile_skips_the_check(product_env, tmp_path) -> None:
    configure_mlflow()
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="classifier", python_model=_Echo())
    version = mlflow.register_model(info.model_uri, "old-classifier").version
    assert load_profile(f"models:/old-classifier/{version}") is None
    outcome = drift_trigger.night_outcome("2026-11-20", "sqlite://", None, DriftSettings())
    assert outcome.status == "no_profile" and outcome.notes == [NO_PROFILE]
    assert outcome.markdown() == f"- {NO_PROFILE}"


@pytest.fixture
def retrain_deployment(prefect_server, product_env):
    """``retrain/weekly`` registered with the test server (no worker: runs stay scheduled)."""
    from flows.retrain import retrain

    deployment_id = retrain.to_deployment(name="weekly").apply()
    yield deployment_id
    with get_client(sync_client=True) as client:
        client.delete_deployment(deployment_id)


def _drift_runs(deployment_id) -> list:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=["drift"]),
                deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]),
            )
        )


@pytest.fixture
def drifted_night(monkeypatch):
    """Every stored night reads as the outage-heavy one (the database side is the nightly test's)."""
    monkeypatch.setattr(drift_trigger, "stored_night_stats", lambda session, night, profile: _outage_night())


def test_a_drifted_night_creates_one_retrain_run_and_the_cooldown_holds_the_next(
    retrain_deployment, drifted_night, tmp_path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'unused.db'}"
    settings = DriftSettings()
    first = drift_trigger.night_outcome("2026-10-01", db_url, _profile(), settings)
    assert first.status == "drifted" and first.retrain_triggered
    (run,) = _drift_runs(retrain_deployment)
    assert "drift" in run.tags and run.name == "retrain-drift-2026-10-01"
    assert first.retrain_run == str(run.id)
    assert any("已触发重训练" in note and run.name in note for note in first.notes)

    second = drift_trigger.night_outcome("2026-10-02", db_url, _profile(), settings)
    assert second.status == "drifted" and not second.retrain_triggered
    assert any("7 天内已有漂移触发的重训练 retrain-drift-2026-10-01" in note for note in second.notes)
    assert len(_drift_runs(retrain_deployment)) == 1

    without_cooldown = drift_trigger.night_outcome(
        "2026-10-03", db_url, _profile(), replace(settings, cooldown_days=0)
    )
    assert without_cooldown.retrain_triggered
    assert len(_drift_runs(retrain_deployment)) == 2

    off = drift_trigger.night_outcome(
        "2026-10-04", db_url, _profile(), replace(settings, trigger_retrain=False)
    )
    assert not off.retrain_triggered and "trigger_retrain = false" in off.notes[-1]
    assert len(_drift_runs(retrain_deployment)) == 2


def test_a_missing_deployment_is_reported_without_failing(
    prefect_server, product_env, drifted_night, tmp_path, caplog
) -> None:
    settings = DriftSettings(retrain_deployment="retrain/absent")
    with caplog.at_level(logging.WARNING):
        outcome = drift_trigger.night_outcome(
            "2026-10-05", f"sqlite:///{tmp_path / 'x.db'}", _profile(), settings
        )
    message = "未找到重训练部署 retrain/absent，请运行 complaints deploy 后重试"
    assert outcome.status == "drifted" and not outcome.retrain_triggered
    assert outcome.notes == [message]
    assert message in caplog.text


def test_the_nightly_flow_reports_drift_and_triggers_once_per_cooldown(
    retrain_deployment, champion, make_night, tmp_path, monkeypatch
) -> None:
    strict = tmp_path / "drift.toml"
    strict.write_text(
        "[drift]\nmin_calls = 1\ncategory_psi = 0.0\nconfidence_psi = 0.0\n"
        "review_share_delta = 0.0\nunknown_word_delta = 0.0\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("COMPLAINTS_CONFIG", str(strict))
    config._toml.cache_clear()
    night = "2026-11-20"
    tiny = make_night(tmp_path / "inbox", night)
    db_url = f"sqlite:///{tmp_path / 'night.db'}"
    try:
        first = nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=40)
        text = Path(first["report"]).read_text(encoding="utf-8")
        second = nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=40)
    finally:
        monkeypatch.delenv("COMPLAINTS_CONFIG")
        config._toml.cache_clear()

    assert first["counts"]["drift"] == "drifted" and first["counts"]["retrain_triggered"] is True
    assert "## 语言漂移检查" in text and "| 指标 | 今晚 | 训练数据 | 阈值 | 结论 |" in text
    assert f"今晚 {len(tiny.good_ids)} 条来电" in text and "已触发重训练" in text
    assert second["counts"]["retrain_triggered"] is False
    assert "天内已有漂移触发的重训练" in Path(second["report"]).read_text(encoding="utf-8")
    assert "天内已有漂移触发的重训练" in second["drift"]
    (run,) = _drift_runs(retrain_deployment)
    assert run.name == f"retrain-drift-{night}"
    artifact = Artifact.get(f"nightly-{night}-drift")
    assert artifact is not None and "语言漂移检查" in str(artifact.data)

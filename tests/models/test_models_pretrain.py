"""`complaints pretrain`: an MLflow run with its loss and spread history, and a collapse check that can tell."""

from __future__ import annotations

from dataclasses import replace

import mlflow
import torch
from transformers import BertForMaskedLM, BertTokenizer
from typer.testing import CliRunner

from cli.main import app
from models.pretrain import COLLAPSED_SPREAD, representation_spread
from models.pretrain_tracking import EXPERIMENT, pretrain_logged
from models.transformer_training import check_base

TEXTS = [
    "客户：我家停电了，什么时候来电",
    "电费这个月特别高，电表是不是坏了",
    "光伏并网申请一直没有人联系",
] * 12


def test_pretraining_is_an_mlflow_run_with_history(tmp_path, tiny_pretrain_config):
    cfg = replace(tiny_pretrain_config, steps=12, check_every=5)
    outcome = pretrain_logged(TEXTS, tmp_path / "base", cfg, data_dir="inline")
    assert check_base(outcome.path) == outcome.path
    run = mlflow.get_run(outcome.run_id)
    experiment = mlflow.get_experiment(run.info.experiment_id)
    assert experiment.name == EXPERIMENT
    assert run.data.params["steps"] == "12" and len(run.data.params["corpus_sha256"]) == 64
    history = mlflow.MlflowClient().get_metric_history(outcome.run_id, "spread")
    assert [m.step for m in history] == [5, 10, 12]
    assert run.data.metrics["final_spread"] == outcome.final_spread
    assert outcome.collapsed == (outcome.final_spread < COLLAPSED_SPREAD)
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(outcome.run_id, "base")}
    assert {"base/config.json", "base/vocab.txt", "base/model.safetensors"} <= artifacts


def test_spread_tells_a_collapsed_encoder_from_a_random_one(tiny_base):
    tok = BertTokenizer.from_pretrained(str(tiny_base), local_files_only=True)
    model = BertForMaskedLM.from_pretrained(str(tiny_base), local_files_only=True)
    assert representation_spread(model.bert, tok, TEXTS[:3]) > COLLAPSED_SPREAD
    with torch.no_grad():
        # every token and position the same vector: the state an over-driven MLM run ends in
        model.bert.embeddings.word_embeddings.weight[:] = model.bert.embeddings.word_embeddings.weight[0]
        model.bert.embeddings.position_embeddings.weight.zero_()
    assert representation_spread(model.bert, tok, TEXTS[:3]) < 0.01


def test_pretrain_cli_reports_run_and_spread(tmp_path, tiny_data):
    out = tmp_path / "cli-base"
    result = CliRunner().invoke(
        app,
        [
            "pretrain",
            "--data",
            str(tiny_data["train"]),
            "--out",
            str(out),
            "--preset",
            "quick",
            "--steps",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "config.json").exists()
    assert "MLflow 运行" in result.output and "顶层离散度" in result.output

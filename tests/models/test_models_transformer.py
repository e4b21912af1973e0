"""Transformer path: compact base pretraining, fine-tuning from a base folder, ONNX int8 scoring."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, BertTokenizer
from typer.testing import CliRunner

from cli.main import app
from models.data import load_labeled_texts
from models.pretrain import whole_word_mask, word_ids_for
from models.registry import load_classifier
from models.training import train_classifier
from models.vocab import build_vocab, common_chinese_chars, write_vocab
from pipeline.labels import LABELS


def test_pretrained_base_is_a_checkpoint_with_common_vocab(tiny_base, tiny_data):
    for name in ("config.json", "vocab.txt", "model.safetensors", "tokenizer_config.json"):
        assert (tiny_base / name).exists(), name
    vocab = set((tiny_base / "vocab.txt").read_text(encoding="utf-8").split("\n"))
    corpus = "".join(load_labeled_texts(tiny_data["train"])["transcript"])
    unseen_common = [c for c in common_chinese_chars(300) if c not in corpus]
    assert unseen_common and all(c in vocab for c in unseen_common)
    assert {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} <= vocab
    model = BertForMaskedLM.from_pretrained(str(tiny_base), local_files_only=True)
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64


def test_whole_word_masking_masks_words_not_characters(tmp_path):
    import random

    write_vocab(build_vocab(["我家停电了电费很高"], limit=500), tmp_path / "vocab.txt")
    tok = BertTokenizer.from_pretrained(str(tmp_path), local_files_only=True)
    text = "我家停电了电费很高"
    enc = tok([text], return_offsets_mapping=True)
    wids = word_ids_for(text, enc["offset_mapping"][0])
    ids = torch.tensor(enc["input_ids"])
    for seed in range(20):
        _, labels = whole_word_mask(ids, [wids], tok, 0.3, random.Random(seed))
        masked = {wids[i] for i in range(len(wids)) if labels[0, i] != -100}
        for word in masked:
            positions = [i for i, w in enumerate(wids) if w == word]
            assert all(labels[0, i] != -100 for i in positions)  # every character of a chosen word
        assert labels[0, 0] == -100 and labels[0, -1] == -100  # never [CLS]/[SEP]


def test_finetune_from_pretrained_base_scores_through_onnx(tiny_base, tiny_data, tiny_finetune_config):
    outcome = train_classifier(
        "transformer",
        tiny_data["train"],
        base=tiny_base,
        preset=tiny_finetune_config,
        register=False,
        eval_dir=tiny_data["eval"],
    )
    assert outcome.metrics["onnx_agreement"] >= tiny_finetune_config.min_agreement
    assert outcome.metrics["best_val_macro_f1_torch"] > 0.5  # chance is about 0.2
    assert outcome.version is None and outcome.gate is None
    clf = load_classifier(model_uri=outcome.model_uri)
    assert type(clf).__name__ == "OnnxClassifier"
    texts = ["客户：我家停电了。", "电费太高了", "客户：新房子要装电表。" * 30]
    preds = clf.predict(texts)
    assert len(preds) == 3 and all(p.category in LABELS for p in preds)
    # length bucketing must restore the callers' order
    assert [p.category for p in clf.predict(texts[::-1])] == [p.category for p in preds][::-1]


def test_train_cli_accepts_any_saved_bert_dir(tmp_path, tiny_data):
    base = tmp_path / "my-bert"
    base.mkdir()
    write_vocab(build_vocab(limit=2000), base / "vocab.txt")
    tok = BertTokenizer.from_pretrained(str(base), local_files_only=True)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertForMaskedLM(config).save_pretrained(base)
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--model",
            "transformer",
            "--base",
            str(base),
            "--data",
            str(tiny_data["train"]),
            "--eval-dir",
            str(tiny_data["eval"]),
            "--preset",
            "quick",
            "--no-register",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.output and "simulated" in result.output


def test_train_cli_rejects_a_folder_that_is_not_bert(tmp_path, tiny_data):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--model",
            "transformer",
            "--base",
            str(tmp_path),
            "--data",
            str(tiny_data["train"]),
            "--preset",
            "quick",
            "--no-register",
        ],
    )
    assert result.exit_code == 2
    assert "不是可用的 BERT 检查点目录" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("preset", ["nope"])
def test_unknown_preset_is_a_user_error(preset, tiny_data):
    result = CliRunner().invoke(app, ["train", "--preset", preset, "--data", str(tiny_data["train"])])
    assert result.exit_code == 2 and "未知的预设" in result.output


def test_tiny_ensemble_fine_tunes_blends_and_loads_from_the_registry(
    tiny_base, tiny_data, tiny_finetune_config
):
    import mlflow

    from models.ensemble import WEIGHTS

    outcome = train_classifier(
        "ensemble",
        tiny_data["train"],
        base=tiny_base,
        preset=tiny_finetune_config,
        register=False,
        eval_dir=tiny_data["eval"],
    )
    params = mlflow.get_run(outcome.run_id).data.params
    assert float(params["ensemble_weight"]) in WEIGHTS
    assert params["early_stopping_set"] == "dev"
    assert 0.05 <= float(params["temperature_dev"]) <= 20
    clf = load_classifier(model_uri=outcome.model_uri)
    assert type(clf).__name__ == "EnsembleClassifier" and clf.weight == float(params["ensemble_weight"])
    chosen = params["cascade_skip_above"]
    assert clf.skip_above == (
        None if chosen == "None" else float(chosen)
    )  # the cascade travels with the model
    preds = clf.predict(["客户：我家停电了，什么时候来电", "这个月电费怎么这么高"])
    assert all(p.category in LABELS and abs(sum(p.probabilities.values()) - 1) < 1e-3 for p in preds)

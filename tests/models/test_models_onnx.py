"""The int8 ONNX model must agree with PyTorch, and the check must catch a model that does not."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

from models.onnx_classifier import OnnxClassifier
from models.onnx_export import (
    AgreementError,
    argmax_agreement,
    check_agreement,
    export_fused,
    export_onnx,
    quantize_int8,
)
from models.text_prep import TextPrep
from models.torch_classifier import TorchClassifier
from models.vocab import build_vocab, write_vocab
from pipeline.labels import LABELS

TEXTS = [
    "我家停电了",
    "电费太高了怎么回事",
    "电压低灯很暗",
    "申请装表很久了",
    "电线杆歪了",
    "整个村子都没电了，什么时候来电",
    "交了钱没到账",
    "空调开不了",
    "光伏并网进度",
    "态度太差",
] * 4


def _model(seed: int, vocab_size: int) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    model = BertForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(40)  # decisive logits, as a trained model has
    return model


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok")
    write_vocab(build_vocab(TEXTS, limit=1500), path / "vocab.txt")
    return path


def test_int8_model_agrees_and_mismatch_is_caught(tmp_path, tokenizer_dir):
    tok = BertTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    prep = TextPrep(max_chars=60)
    model_a, model_b = _model(1, len(tok)), _model(2, len(tok))
    fp32, exporter = export_onnx(model_a, tmp_path / "a.onnx")
    assert exporter in ("dynamo", "legacy")
    int8 = quantize_int8(fp32, tmp_path / "a8.onnx")
    onnx_clf = OnnxClassifier(int8, tokenizer_dir, LABELS, prep, 0.6, max_len=64, batch_size=7)
    prepared = prep.prepare_many(TEXTS)
    onnx_logits = onnx_clf.logits_prepared(prepared)
    torch_a = TorchClassifier(model_a, tok, prep, 0.6, max_len=64, batch_size=5).logits_prepared(prepared)
    torch_b = TorchClassifier(model_b, tok, prep, 0.6, max_len=64).logits_prepared(prepared)
    assert check_agreement(torch_a, onnx_logits) >= 0.99
    assert np.abs(torch_a - onnx_logits).max() < 0.25 * np.abs(torch_a).max()
    with pytest.raises(AgreementError, match="一致率"):
        check_agreement(torch_b, onnx_logits)


def test_agreement_ratio():
    a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    assert argmax_agreement(a, a) == 1.0
    assert argmax_agreement(a, a[::-1]) == 0.0
    with pytest.raises(AgreementError):
        check_agreement(a, a[[0, 1, 2, 2]], minimum=0.99)


def test_fused_int8_model_agrees_with_pytorch_and_the_plain_graph(tmp_path, tokenizer_dir):
    """The fused graph (one kernel per attention, GELU, residual+LayerNorm) scores like the model it came from."""
    tok = BertTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    prep = TextPrep(max_chars=60)
    model = _model(1, len(tok))
    fused = quantize_int8(export_fused(model, tmp_path / "f.onnx"), tmp_path / "f8.onnx", fused=True)
    plain = quantize_int8(export_onnx(model, tmp_path / "p.onnx")[0], tmp_path / "p8.onnx")
    prepared = prep.prepare_many(TEXTS)

    def logits(path):
        return OnnxClassifier(path, tokenizer_dir, LABELS, prep, 0.6, max_len=64).logits_prepared(prepared)

    torch_logits = TorchClassifier(model, tok, prep, 0.6, max_len=64).logits_prepared(prepared)
    assert check_agreement(torch_logits, logits(fused)) >= 0.99
    assert np.abs(logits(fused) - logits(plain)).max() < 0.1 * np.abs(torch_logits).max()
    assert model.config._attn_implementation != "eager"

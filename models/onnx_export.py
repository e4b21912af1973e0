"""Export the fine-tuned BERT to ONNX, quantize it to int8, and prove it still agrees with PyTorch.

torch 2.13 exports through the dynamo exporter by default (``dynamo=True``, with
onnxscript); the legacy TorchScript exporter is kept as a fallback because some
checkpoints trip the dynamo tracer. Either way the int8 model must reproduce the
PyTorch argmax on the validation set, or training stops.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import BertForSequenceClassification

log = logging.getLogger(__name__)

MIN_AGREEMENT = 0.99


class AgreementError(RuntimeError):
    """The ONNX model's predictions differ from PyTorch's on too many validation calls."""


class _LogitsOnly(torch.nn.Module):
    """Two tensors in, one out: a plain graph signature for the exporter."""

    def __init__(self, model: BertForSequenceClassification) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def export_onnx(model: BertForSequenceClassification, path: str | Path, opset: int = 18) -> tuple[Path, str]:
    """fp32 ONNX with dynamic batch and sequence axes; returns the path and the exporter used."""
    path = Path(path)
    wrapped = _LogitsOnly(model.eval())
    ids = torch.randint(5, min(100, model.config.vocab_size), (2, 16))
    mask = torch.ones_like(ids)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
            program = torch.onnx.export(
                wrapped,
                (ids, mask),
                dynamo=True,
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
                opset_version=opset,
                external_data=False,
                verbose=False,
            )
            program.save(str(path))
            return path, "dynamo"
        except Exception as exc:  # the dynamo tracer fails on some exotic checkpoints
            log.warning("dynamo ONNX export failed (%s); using the legacy exporter", exc)
            torch.onnx.export(
                wrapped,
                (ids, mask),
                str(path),
                dynamo=False,
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}},
                opset_version=17,
            )
            return path, "legacy"


def quantize_int8(fp32_path: str | Path, int8_path: str | Path) -> Path:
    """Dynamic int8 quantization of the weights (activations quantized at run time).

    One scale per output channel, not per tensor: small models have a few large weights per
    matrix that a single scale serves badly, and near-tie calls then flip class.
    """
    logging.getLogger("root").setLevel(logging.ERROR)
    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True)
    return Path(int8_path)


def argmax_agreement(reference_logits: np.ndarray, candidate_logits: np.ndarray) -> float:
    """Share of rows where both models pick the same class."""
    if len(reference_logits) == 0:
        return 1.0
    return float((reference_logits.argmax(axis=1) == candidate_logits.argmax(axis=1)).mean())


def check_agreement(
    reference_logits: np.ndarray, candidate_logits: np.ndarray, minimum: float = MIN_AGREEMENT
) -> float:
    """Agreement ratio; raises AgreementError when it is below ``minimum``."""
    agreement = argmax_agreement(reference_logits, candidate_logits)
    if agreement < minimum:
        raise AgreementError(
            f"ONNX int8 与 PyTorch 模型在验证集上的预测一致率 {agreement:.2%} 低于要求的 {minimum:.0%}"
        )
    return agreement

"""Export the fine-tuned BERT to ONNX, quantize it to int8, and prove it still agrees with PyTorch.

torch 2.13 exports through the dynamo exporter by default (``dynamo=True``, with
onnxscript); the legacy TorchScript exporter is kept as a fallback because some
checkpoints trip the dynamo tracer. Either way the int8 model must reproduce the
PyTorch argmax on the validation set, or training stops.

:func:`int8_candidates` first offers a *fused* graph: eager attention exported by the
TorchScript exporter is the pattern ONNX Runtime's BERT optimizer recognises, so
embeddings, attention, bias+GELU and residual+LayerNorm each become one kernel before
quantization (about 15 % more calls/s on two cores); the plain graph follows, for
checkpoints the optimizer cannot fuse or where the fused model disagrees.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
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


def quantize_int8(fp32_path: str | Path, int8_path: str | Path, *, fused: bool = False) -> Path:
    """Dynamic int8 quantization of the weights (activations quantized at run time).

    One scale per output channel, not per tensor: small models have a few large weights per
    matrix that a single scale serves badly, and near-tie calls then flip class. Weights use
    7 bits (``reduce_range``): on CPUs without VNNI (AVX2 only) the u8*s8 kernels saturate with
    full-range weights and logits drift far from PyTorch's; the 7-bit range is exact everywhere.
    """
    logging.getLogger("root").setLevel(logging.ERROR)
    quantize_dynamic(
        str(fp32_path),
        str(int8_path),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        # fused operators (com.microsoft domain) have no shape inference: their outputs are float
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT} if fused else {},
    )
    return Path(int8_path)


def export_fused(model: BertForSequenceClassification, path: str | Path) -> Path:
    """fp32 ONNX with BERT's operators fused by ONNX Runtime's transformer optimizer.

    Raises ``RuntimeError`` when attention did not fuse (the pattern of another architecture
    or exporter); the caller then uses the plain graph.
    """
    from onnxruntime.transformers import optimizer

    path = Path(path)
    raw = path.with_name(f"{path.stem}_unfused.onnx")
    wrapped = _LogitsOnly(model.eval())
    previous = model.config._attn_implementation
    model.set_attn_implementation("eager")
    ids = torch.randint(5, min(100, model.config.vocab_size), (2, 16))
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped,
                (ids, torch.ones_like(ids)),
                str(raw),
                dynamo=False,
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}},
                opset_version=17,
            )
    finally:
        model.set_attn_implementation(previous)
    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
    fused = optimizer.optimize_model(
        str(raw),
        model_type="bert",
        num_heads=model.config.num_attention_heads,
        hidden_size=model.config.hidden_size,
    )
    if fused.get_fused_operator_statistics().get("Attention", 0) < model.config.num_hidden_layers:
        raise RuntimeError("attention did not fuse")
    fused.save_model_to_file(str(path))
    raw.unlink(missing_ok=True)
    return path


def int8_candidates(model: BertForSequenceClassification, workdir: str | Path) -> Iterator[tuple[Path, str]]:
    """int8 models to try, fastest first: (path, how it was made); the caller keeps the first that agrees."""
    workdir = Path(workdir)
    try:
        fused = export_fused(model, workdir / "model_fused_fp32.onnx")
        yield quantize_int8(fused, workdir / "model_fused_int8.onnx", fused=True), "fused"
    except Exception as exc:  # an optimizer or exporter that cannot handle the checkpoint: plain graph
        log.warning("fused ONNX export unavailable (%s); using the plain graph", exc)
    fp32_path, exporter = export_onnx(model, workdir / "model_fp32.onnx")
    yield quantize_int8(fp32_path, workdir / "model_int8.onnx"), exporter


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

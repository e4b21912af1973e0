"""Fine-tune a BERT-family checkpoint on labelled calls, then export and verify the int8 ONNX model.

Any local BERT checkpoint folder works as ``base`` (vocab.txt + config.json +
weights); without one, the compact base from `complaints pretrain` is used and
built on first use. Class weights counter the skew toward outage and billing
calls; the best validation macro-F1 checkpoint is kept (early stopping).
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from sklearn.utils.class_weight import compute_class_weight
from tqdm.auto import tqdm
from transformers import BertForSequenceClassification, BertTokenizer, get_linear_schedule_with_warmup
from transformers.utils import logging as hf_logging

from models.onnx_classifier import OnnxClassifier
from models.onnx_export import MIN_AGREEMENT, argmax_agreement, check_agreement, int8_candidates
from models.pretrain import COLLAPSED_SPREAD, pretrain, pretrain_config, representation_spread
from models.settings import DEFAULT_BASE_NAME, default_base_dir, review_threshold
from models.text_prep import TextPrep, augmented
from models.torch_classifier import TorchClassifier
from pipeline.config import DATA_DIR, offline_environment
from pipeline.labels import LABELS

log = logging.getLogger(__name__)
SHIPPED_BASE = DATA_DIR / "base" / DEFAULT_BASE_NAME


class BaseModelError(Exception):
    """The --base folder is not a usable BERT checkpoint; message is user-facing."""


@dataclass(frozen=True)
class FinetuneConfig:
    """Fine-tuning schedule; ``max_steps`` caps the total optimizer steps (0 = no cap)."""

    epochs: int = 3
    lr: float = 3e-4
    batch_size: int = 32
    max_len: int = 128
    max_steps: int = 400
    eval_steps: int = 100
    patience: int = 2
    val_limit: int = 2000
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    min_base_spread: float = COLLAPSED_SPREAD
    threads: int = 0
    min_agreement: float = MIN_AGREEMENT
    seed: int = 11


FINETUNE_PRESETS: dict[str, FinetuneConfig] = {
    # the first run: from the shipped base, about three minutes on two cores
    "quick": FinetuneConfig(
        epochs=2,
        lr=5e-4,
        batch_size=32,
        max_len=128,
        max_steps=300,
        eval_steps=50,
        patience=3,
        val_limit=1000,
    ),
    "default": FinetuneConfig(
        epochs=3,
        lr=5e-4,
        batch_size=32,
        max_len=128,
        max_steps=2400,
        eval_steps=200,
        patience=4,
        val_limit=1000,
        warmup_ratio=0.06,
    ),
}


def finetune_config(preset: str | FinetuneConfig, **overrides) -> FinetuneConfig:
    if isinstance(preset, FinetuneConfig):
        return replace(preset, **overrides)
    if preset not in FINETUNE_PRESETS:
        raise ValueError(f"未知的预设: {preset}（可选: {', '.join(FINETUNE_PRESETS)}）")
    return replace(FINETUNE_PRESETS[preset], **overrides)


@dataclass
class TransformerResult:
    classifier: OnnxClassifier
    text_prep: TextPrep
    onnx_path: Path
    tokenizer_dir: Path
    hf_dir: Path
    max_len: int
    params: dict[str, object]
    metrics: dict[str, float]
    history: list[float] = field(default_factory=list)


def pretraining_texts(transcripts: Sequence[str], text_prep: TextPrep) -> list[str]:
    """Unlabelled text for MLM: each call as model input plus its free-text variants."""
    out: list[str] = []
    for t in transcripts:
        out.extend(text_prep.variants(t))
    return out


def check_base(path: str | Path) -> Path:
    """A folder with config.json, vocab.txt and weights, else BaseModelError."""
    path = Path(path)
    if not path.is_dir():
        raise BaseModelError(f"基础模型目录不存在: {path}")
    missing = [f for f in ("config.json", "vocab.txt") if not (path / f).exists()]
    has_weights = any((path / f).exists() for f in ("model.safetensors", "pytorch_model.bin")) or any(
        path.glob("model-*.safetensors")
    )
    if missing or not has_weights:
        what = ", ".join(missing + ([] if has_weights else ["权重文件"]))
        raise BaseModelError(f"{path} 不是可用的 BERT 检查点目录（缺少 {what}）")
    return path


def resolve_base(base: str | Path | None, train_texts: Sequence[str], preset: str | FinetuneConfig) -> Path:
    """The given base, else one pretrained here (`complaints pretrain`), else the base shipped in the
    repository (data/base/), else a quick MLM pretraining now."""
    if base is not None:
        return check_base(base)
    for default in (default_base_dir(), SHIPPED_BASE):
        if (default / "config.json").exists():
            return check_base(default)
    default = default_base_dir()
    name = preset if isinstance(preset, str) else "quick"
    print(f"未找到默认基础模型 {default}，先用 {name} 预设进行 MLM 预训练…")
    return pretrain(train_texts, default, pretrain_config(name))


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random, pool: int = 10) -> list[list[int]]:
    """Shuffled batches of similar length: sort within random pools of ``pool`` batches, then shuffle batches.

    Most calls fill max_len, but free-text variants are short; grouping them cuts padding
    while each batch still mixes calls from across the data.
    """
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    out: list[list[int]] = []
    span = batch_size * pool
    for start in range(0, len(idx), span):
        chunk = sorted(idx[start : start + span], key=lambda i: lengths[i])
        out.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(out)
    return out


def _collate(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad pre-tokenized rows to the longest in the batch (dynamic padding)."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        attention[i, : len(row)] = 1
    return ids, attention


def _param_groups(model: BertForSequenceClassification, cfg: FinetuneConfig) -> list[dict[str, object]]:
    """Weight decay on weight matrices only, the usual BERT recipe: LayerNorm gains and biases are not decayed."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    rest = [p for p in model.parameters() if p.ndim <= 1]
    return [
        {"params": decay, "lr": cfg.lr, "weight_decay": cfg.weight_decay},
        {"params": rest, "lr": cfg.lr, "weight_decay": 0.0},
    ]


def _macro_f1(clf: TorchClassifier, texts: list[str], labels: list[str]) -> tuple[float, np.ndarray]:
    logits = clf.logits_prepared(texts)
    pred = [clf.labels[i] for i in logits.argmax(axis=1)]
    return float(f1_score(labels, pred, labels=sorted(set(labels)), average="macro", zero_division=0)), logits


def train_transformer(
    train: pd.DataFrame,
    val: pd.DataFrame,
    text_prep: TextPrep,
    base: str | Path | None,
    preset: str | FinetuneConfig,
    workdir: str | Path,
    progress: bool = True,
) -> TransformerResult:
    """Fine-tune, keep the best validation checkpoint, export int8 ONNX and check agreement."""
    offline_environment()
    cfg = finetune_config(preset)
    previous_threads = torch.get_num_threads()
    # all cores by default: an inherited OMP_NUM_THREADS=1 nearly doubles the step time on two cores
    torch.set_num_threads(cfg.threads or len(os.sched_getaffinity(0)))
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    workdir = Path(workdir)

    train_texts, train_labels = augmented(train, text_prep)
    if cfg.val_limit and len(val) > cfg.val_limit:
        # early stopping and the agreement check need a steady estimate, not every validation call
        val = val.sample(n=cfg.val_limit, random_state=cfg.seed)
    val_texts = text_prep.prepare_many(val["transcript"].tolist())
    val_labels = val["category"].tolist()

    base_dir = resolve_base(base, train_texts, preset)
    labels = list(LABELS)
    hf_logging.set_verbosity_error()  # the head is new by design; the missing-weights table only alarms
    label2id = {label: i for i, label in enumerate(labels)}
    try:
        tokenizer = BertTokenizer.from_pretrained(str(base_dir), local_files_only=True)
        model = BertForSequenceClassification.from_pretrained(
            str(base_dir),
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id=label2id,
            local_files_only=True,
            ignore_mismatched_sizes=True,
            dtype=torch.float32,  # the shipped base is stored in half precision
        )
    except (OSError, ValueError) as exc:
        raise BaseModelError(f"无法从 {base_dir} 加载 BERT 模型: {str(exc).splitlines()[0]}") from exc
    spread = representation_spread(model.bert, tokenizer, train_texts[:32])
    if spread < cfg.min_base_spread:
        # a collapsed base is worse than none: keep its vocabulary and shape, start the weights afresh
        print(f"基础模型表示已坍缩（顶层离散度 {spread:.3f}），保留词表与结构，权重重新初始化")
        model = BertForSequenceClassification(model.config)
    max_len = min(cfg.max_len, int(model.config.max_position_embeddings))
    if text_prep.max_chars > max_len - 2:
        # condense calls to what the model can see rather than letting the tokenizer cut the tail
        text_prep = replace(text_prep, max_chars=max_len - 2)
        train_texts, train_labels = augmented(train, text_prep)
        val_texts = text_prep.prepare_many(val["transcript"].tolist())

    present = np.array(sorted(set(train_labels)))
    balanced = compute_class_weight("balanced", classes=present, y=np.array(train_labels))
    weights = torch.ones(len(labels))
    for label, w in zip(present, balanced, strict=True):
        weights[label2id[label]] = float(w)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    y = torch.tensor([label2id[label] for label in train_labels])
    # tokenized once: per-step tokenization costs a noticeable share of a small model's step
    train_ids: list[list[int]] = tokenizer(train_texts, truncation=True, max_length=max_len)["input_ids"]

    steps_per_epoch = math.ceil(len(train_texts) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    eval_every = max(1, min(cfg.eval_steps, steps_per_epoch))
    optimizer = torch.optim.AdamW(_param_groups(model, cfg))
    scheduler = get_linear_schedule_with_warmup(optimizer, math.ceil(total * cfg.warmup_ratio), total)
    scorer = TorchClassifier(model, tokenizer, text_prep, review_threshold(None), max_len)

    best_f1, best_state, history, bad_evals, step = -1.0, None, [], 0, 0
    started = time.perf_counter()
    bar = tqdm(total=total, desc="微调", disable=not progress)
    stop = False
    for _epoch in range(cfg.epochs):
        for batch in _batches([len(r) for r in train_ids], cfg.batch_size, rng):
            model.train()
            ids, attention = _collate([train_ids[i] for i in batch], tokenizer.pad_token_id)
            logits = model(input_ids=ids, attention_mask=attention).logits
            loss = loss_fn(logits, y[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", best_f1=f"{best_f1:.3f}")
            if step % eval_every == 0 or step == total:
                model.eval()
                f1, _ = _macro_f1(scorer, val_texts, val_labels)
                history.append(f1)
                if f1 > best_f1:
                    best_f1, bad_evals = f1, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    bad_evals += 1
                if bad_evals >= cfg.patience:
                    stop = True
            if stop or step >= total:
                stop = True
                break
        if stop:
            break
    bar.close()
    torch.set_num_threads(previous_threads)
    train_seconds = time.perf_counter() - started
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()

    hf_dir = workdir / "hf"
    model.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    tokenizer_dir = workdir / "tokenizer"
    tokenizer.save_pretrained(tokenizer_dir)

    _, torch_logits = _macro_f1(scorer, val_texts, val_labels)
    for int8_path, exporter in int8_candidates(model, workdir):
        onnx_clf = OnnxClassifier(
            int8_path, tokenizer_dir, labels, text_prep, review_threshold(None), max_len
        )
        onnx_logits = onnx_clf.logits_prepared(val_texts)
        if argmax_agreement(torch_logits, onnx_logits) >= cfg.min_agreement:
            break
        log.warning("%s int8 model disagrees with PyTorch; trying the next export", exporter)
    agreement = check_agreement(torch_logits, onnx_logits, cfg.min_agreement)

    params: dict[str, object] = {**asdict(cfg), "base_dir": str(base_dir), "onnx_exporter": exporter}
    params["n_train_augmented"] = len(train_texts)
    params["base_spread"] = round(spread, 4)
    params["base_reinitialised"] = spread < cfg.min_base_spread
    metrics = {
        "onnx_agreement": agreement,
        "best_val_macro_f1_torch": best_f1,
        "train_steps": float(step),
        "train_seconds": train_seconds,
        "train_seconds_per_step": train_seconds / max(step, 1),
    }
    return TransformerResult(
        onnx_clf, text_prep, int8_path, tokenizer_dir, hf_dir, max_len, params, metrics, history
    )

"""Offline default base: a compact Chinese BERT pretrained with whole-word masked language modelling.

No weights are ever fetched from a hub, so the product builds its own small BERT
on unlabelled call text. Masking whole jieba words (not single characters) makes
the model predict 停电 or 电费 from context instead of completing half a word.
The result is a normal HF checkpoint folder, itself a valid ``--base``.
"""

from __future__ import annotations

import math
import random
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import BertConfig, BertForMaskedLM, BertTokenizer, get_linear_schedule_with_warmup

from models.vocab import build_vocab, jieba_words, write_vocab
from pipeline.text import get_tokenizer

COLLAPSED_SPREAD = 0.1


@dataclass(frozen=True)
class PretrainConfig:
    """Model size and MLM schedule."""

    layers: int = 4
    hidden: int = 256
    heads: int = 4
    intermediate: int = 1024
    max_len: int = 128
    steps: int = 3000
    batch_size: int = 32
    lr: float = 5e-4
    warmup_ratio: float = 0.1
    check_every: int = 500
    mask_prob: float = 0.15
    max_texts: int = 60_000
    dictionary_fraction: float = 0.1
    vocab_limit: int = 7500
    seed: int = 7


PRETRAIN_PRESETS: dict[str, PretrainConfig] = {
    "quick": PretrainConfig(steps=40, batch_size=16, lr=1e-3, max_texts=4000, check_every=20),
    "default": PretrainConfig(),
}


def pretrain_config(preset: str | PretrainConfig, **overrides) -> PretrainConfig:
    """A named preset (quick/default) or a config object, with field overrides."""
    if isinstance(preset, PretrainConfig):
        return replace(preset, **overrides)
    if preset not in PRETRAIN_PRESETS:
        raise ValueError(f"未知的预设: {preset}（可选: {', '.join(PRETRAIN_PRESETS)}）")
    return replace(PRETRAIN_PRESETS[preset], **overrides)


def dictionary_sentences(n: int, seed: int, words_per_line: int = 12) -> list[str]:
    """Pseudo-sentences of frequent jieba dictionary words: embeddings for characters the calls lack."""
    if n <= 0:
        return []
    rng = random.Random(seed)
    words = [w for w, f in jieba_words(min_freq=50) if len(w) > 1]
    return ["".join(rng.choices(words, k=words_per_line)) for _ in range(n)]


def word_ids_for(text: str, offsets: Sequence[tuple[int, int]]) -> list[int]:
    """For each token (by character offsets) the index of the jieba word it belongs to; -1 for specials."""
    owner: list[int] = [0] * len(text)
    pos = 0
    for i, word in enumerate(get_tokenizer().cut(text, False)):
        for k in range(pos, min(pos + len(word), len(text))):
            owner[k] = i
        pos += len(word)
    out: list[int] = []
    for start, end in offsets:
        out.append(-1 if end <= start or start >= len(owner) else owner[start])
    return out


def whole_word_mask(
    input_ids: torch.Tensor,
    word_ids: list[list[int]],
    tokenizer: BertTokenizer,
    mask_prob: float,
    rng: random.Random,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask ~mask_prob of tokens by whole words: 80% [MASK], 10% random token, 10% unchanged."""
    inputs = input_ids.clone()
    labels = torch.full_like(input_ids, -100)
    vocab_size = len(tokenizer)
    for row, wids in enumerate(word_ids):
        groups: dict[int, list[int]] = {}
        for pos, wid in enumerate(wids[: inputs.shape[1]]):
            if wid >= 0:
                groups.setdefault(wid, []).append(pos)
        n_tokens = sum(len(g) for g in groups.values())
        budget = max(1, round(n_tokens * mask_prob))
        order = list(groups)
        rng.shuffle(order)
        chosen: list[int] = []
        for wid in order:
            if len(chosen) >= budget:
                break
            chosen.extend(groups[wid])
        for pos in chosen:
            labels[row, pos] = inputs[row, pos]
            draw = rng.random()
            if draw < 0.8:
                inputs[row, pos] = tokenizer.mask_token_id
            elif draw < 0.9:
                inputs[row, pos] = rng.randrange(len(tokenizer.all_special_ids), vocab_size)
    return inputs, labels


def masked_lm_loss(
    model: BertForMaskedLM, inputs: torch.Tensor, attention: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """MLM loss with the vocabulary projection applied to masked positions only.

    The output layer over ~7.6k characters costs about as much as half the
    encoder; computing it for the 15% of positions that have a label makes each
    step roughly a third cheaper on CPU, with the same loss.
    """
    hidden = model.bert(input_ids=inputs, attention_mask=attention).last_hidden_state
    picked = labels != -100
    logits = model.cls(hidden[picked])
    return torch.nn.functional.cross_entropy(logits, labels[picked])


def representation_spread(bert: torch.nn.Module, tokenizer: BertTokenizer, texts: Sequence[str]) -> float:
    """Mean spread of the top layer's vectors across the tokens of one text (0.5+ for a usable base).

    An MLM model that has only learned character frequencies maps every token to
    nearly the same vector (spread ~0.02); fine-tuning cannot climb out of that.
    ``bert`` is the encoder (``model.bert`` of any BERT head model).
    """
    enc = tokenizer(list(texts), truncation=True, max_length=64, padding=True, return_tensors="pt")
    was_training = bert.training
    bert.eval()
    with torch.inference_mode():
        hidden = bert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    bert.train(was_training)
    mask = enc["attention_mask"].bool()
    return float(torch.stack([h[m].std(dim=0).mean() for h, m in zip(hidden, mask, strict=True)]).mean())


def _examples(
    texts: Sequence[str], tokenizer: BertTokenizer, max_len: int, progress: bool
) -> list[tuple[list[int], list[int]]]:
    """Token ids of each text with the jieba word each token belongs to (for whole-word masking)."""
    enc = tokenizer(list(texts), truncation=True, max_length=max_len, return_offsets_mapping=True)
    return [
        (ids, word_ids_for(text, offs))
        for text, ids, offs in tqdm(
            zip(texts, enc["input_ids"], enc["offset_mapping"], strict=True),
            total=len(texts),
            desc="分词(整词掩码)",
            disable=not progress,
        )
    ]


def _mlm_steps(
    model: BertForMaskedLM,
    tokenizer: BertTokenizer,
    examples: list[tuple[list[int], list[int]]],
    cfg: PretrainConfig,
    rng: random.Random,
    probe: Sequence[str],
    progress: bool,
    desc: str,
) -> tuple[float, list[dict[str, float]]]:
    """``cfg.steps`` whole-word MLM steps on random batches; the top layer's spread and the loss history."""
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, math.ceil(cfg.steps * cfg.warmup_ratio), cfg.steps)
    spread = representation_spread(model.bert, tokenizer, probe)
    history: list[dict[str, float]] = []
    bar = tqdm(range(1, cfg.steps + 1), desc=desc, disable=not progress)
    for step in bar:
        batch = rng.sample(examples, min(cfg.batch_size, len(examples)))
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), tokenizer.pad_token_id, dtype=torch.long)
        attention = torch.zeros_like(ids)
        for i, (row, _) in enumerate(batch):
            ids[i, : len(row)] = torch.tensor(row)
            attention[i, : len(row)] = 1
        inputs, labels = whole_word_mask(ids, [w for _, w in batch], tokenizer, cfg.mask_prob, rng)
        loss = masked_lm_loss(model, inputs, attention, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        if step % cfg.check_every == 0 or step == cfg.steps:
            spread = representation_spread(model.bert, tokenizer, probe)
            history.append({"step": step, "loss": round(loss.item(), 4), "spread": round(spread, 4)})
        bar.set_postfix(loss=f"{loss.item():.3f}", spread=f"{spread:.3f}")
    return spread, history


def pretrain(
    texts: Sequence[str],
    out_dir: str | Path,
    config: PretrainConfig | str = "default",
    progress: bool = True,
) -> Path:
    """Build vocabulary and model, run whole-word MLM on texts, save an HF checkpoint to out_dir."""
    cfg = pretrain_config(config) if isinstance(config, str) else config
    if not texts:
        raise ValueError("预训练语料为空")
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    texts = list(texts)
    rng.shuffle(texts)
    texts = texts[: cfg.max_texts]
    texts += dictionary_sentences(int(len(texts) * cfg.dictionary_fraction), cfg.seed)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_vocab(build_vocab(texts, limit=cfg.vocab_limit), out / "vocab.txt")
    tokenizer = BertTokenizer.from_pretrained(str(out), local_files_only=True)
    tokenizer.model_max_length = cfg.max_len

    examples = _examples(texts, tokenizer, cfg.max_len, progress)

    model_config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        intermediate_size=cfg.intermediate,
        max_position_embeddings=cfg.max_len,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = BertForMaskedLM(model_config)
    probe = [t for t in texts[:64] if len(t) > 8][:32] or texts[:32]
    spread, history = _mlm_steps(model, tokenizer, examples, cfg, rng, probe, progress, "MLM 预训练")

    if spread < COLLAPSED_SPREAD:
        print(
            f"警告：预训练结束时顶层离散度 {spread:.3f} < {COLLAPSED_SPREAD}，表示尚未学到上下文"
            "（步数太少或学习率过高）；微调会重新初始化权重。请加大 --steps 后重跑。"
        )
    model.config.update({"complaints_pretrain": asdict(cfg), "complaints_pretrain_history": history})
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def continue_pretraining(
    base_dir: str | Path,
    texts: Sequence[str],
    out_dir: str | Path,
    steps: int,
    progress: bool = True,
    seed: int = 7,
) -> Path:
    """More whole-word MLM on ``texts`` (a site's stored calls) from an existing base, same vocabulary.

    The vocabulary stays the base's (the fine-tuning head and ONNX export expect
    it); what changes is what the encoder expects around the site's words. A
    lower learning rate than pretraining from scratch keeps what the base knew.
    """
    if not texts:
        raise ValueError("继续预训练的语料为空")
    base_dir, out = Path(base_dir), Path(out_dir)
    tokenizer = BertTokenizer.from_pretrained(str(base_dir), local_files_only=True)
    model = BertForMaskedLM.from_pretrained(str(base_dir), local_files_only=True, dtype=torch.float32)
    max_len = min(int(model.config.max_position_embeddings), tokenizer.model_max_length or 10**6)
    cfg = PretrainConfig(
        steps=steps, batch_size=16, lr=1e-4, check_every=max(1, steps), max_len=max_len, seed=seed
    )
    rng = random.Random(seed)
    torch.manual_seed(seed)
    texts = list(texts)
    examples = _examples(texts, tokenizer, cfg.max_len, progress)
    probe = [t for t in texts[:64] if len(t) > 8][:32] or texts[:32]
    spread, history = _mlm_steps(model, tokenizer, examples, cfg, rng, probe, progress, "现场语料继续预训练")
    model.config.update(
        {"complaints_site_pretrain": {"steps": steps, "texts": len(texts), "history": history}}
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    shutil.copy2(base_dir / "vocab.txt", out / "vocab.txt")  # the very same vocabulary, byte for byte
    return out

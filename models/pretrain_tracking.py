"""`complaints pretrain` as an MLflow run: what the base was built from and whether it learned context.

A compact base is the start of every default transformer, so a data scientist
needs to see, next to the classifier runs, its corpus fingerprint, schedule,
loss and the representation spread that tells a usable base from a collapsed
one. The checkpoint itself goes with the run, so any logged base can be
downloaded and passed to ``complaints train --base``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow

from models.pretrain import COLLAPSED_SPREAD, PretrainConfig, pretrain
from models.registry import configure_mlflow, ensure_experiment
from models.training import git_commit

EXPERIMENT = "bert-pretraining"


@dataclass
class PretrainOutcome:
    """Where the checkpoint went, the MLflow run, and the final loss and spread."""

    path: Path
    run_id: str
    final_loss: float
    final_spread: float

    @property
    def collapsed(self) -> bool:
        return self.final_spread < COLLAPSED_SPREAD


def corpus_fingerprint(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


def pretrain_logged(
    texts: Sequence[str],
    out_dir: str | Path,
    cfg: PretrainConfig,
    data_dir: str | Path,
    progress: bool = True,
) -> PretrainOutcome:
    """Pretrain into out_dir inside an MLflow run of the ``bert-pretraining`` experiment."""
    configure_mlflow()
    ensure_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=f"pretrain-{cfg.layers}x{cfg.hidden}-{cfg.steps}") as run:
        mlflow.set_tags({"kind": "pretrain", "git_commit": git_commit() or "none"})
        mlflow.log_params(
            {
                **asdict(cfg),
                "data_dir": str(data_dir),
                "n_texts": len(texts),
                "corpus_sha256": corpus_fingerprint(texts),
            }
        )
        path = pretrain(texts, out_dir, cfg, progress=progress)
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        history = config.get("complaints_pretrain_history", [])
        for point in history:
            mlflow.log_metrics(
                {"mlm_loss": point["loss"], "spread": point["spread"]}, step=int(point["step"])
            )
        final = history[-1] if history else {"loss": float("nan"), "spread": float("nan")}
        mlflow.log_metrics(
            {
                "final_mlm_loss": final["loss"],
                "final_spread": final["spread"],
                "vocab_size": config["vocab_size"],
            }
        )
        mlflow.log_artifacts(str(path), artifact_path="base")
        return PretrainOutcome(path, run.info.run_id, float(final["loss"]), float(final["spread"]))

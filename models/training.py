"""The one training code path: `complaints train` and the Prefect retrain flow both call train_classifier.

A run loads labelled data, trains the baseline or the transformer, scores it on a
validation split and on the frozen evaluation sets training never sees, logs all
of it to MLflow with a pyfunc model, and (optionally) registers the model through
the promotion gate.
"""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.model_selection import train_test_split

from models.calibration import fit_temperature
from models.data import eval_sets, fingerprint, load_labeled_texts
from models.drift_profile import ARTIFACT as DRIFT_PROFILE
from models.drift_profile import write_profile
from models.evaluation import EvalReport, evaluate_classifier, format_table, plot_confusion, plot_reliability
from models.gate import GateDecision, RecentLabels, decide
from models.pyfunc_model import ComplaintClassifierModel
from models.registry import (
    GateResult,
    ModelNotFoundError,
    champion_exists,
    configure_mlflow,
    ensure_experiment,
    load_classifier,
    register_and_gate,
)
from models.review import ReviewChoice, choose_threshold
from models.settings import classifier_settings, gate_config, review_threshold
from models.site_data import SiteData, learning_settings, load_site, weighted
from models.text_prep import TextPrep, augmented
from pipeline.config import REPO_ROOT

if TYPE_CHECKING:
    from models.transformer_training import FinetuneConfig

Kind = Literal["baseline", "transformer", "ensemble"]
KINDS: tuple[str, ...] = ("baseline", "transformer", "ensemble")
log = logging.getLogger(__name__)

GATE_SET = "dev"
RECENT_SET = "site_recent"
INPUT_EXAMPLE = ["坐席：您好，请问有什么可以帮您？\n客户：我家从早上开始就停电了，什么时候能来电？"]


@dataclass
class TrainOutcome:
    """What a training run produced: MLflow run, registered version (if any), metrics, gate decision."""

    run_id: str
    model_uri: str
    version: str | None
    metrics: dict[str, float]
    gate: GateResult | None
    reports: dict[str, EvalReport] = field(default_factory=dict)


@dataclass
class Trained:
    """A fitted classifier plus the files and metadata its pyfunc model is built from."""

    classifier: object
    artifacts: dict[str, str]
    meta: dict
    text_prep: TextPrep
    metrics: dict[str, float]


def git_commit() -> str | None:
    """Commit of the working tree, if it is a git repository with commits."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def split_train_val(
    df: pd.DataFrame, val_fraction: float = 0.15, seed: int = 13
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified split; classes too rare to stratify fall back to a plain random split."""
    stratify = df["category"] if df["category"].value_counts().min() >= 2 else None
    train, val = train_test_split(df, test_size=val_fraction, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), val.reset_index(drop=True)


def _train_baseline(train: pd.DataFrame, text_prep: TextPrep, workdir: Path) -> Trained:
    from models.baseline import BaselineClassifier

    texts, labels = augmented(train, text_prep)
    clf = BaselineClassifier.fit(texts, labels, text_prep, review_threshold(None))
    path = clf.save(workdir / "baseline.joblib")
    meta = {"kind": "baseline", "labels": clf.labels}
    return Trained(clf, {"baseline": str(path)}, meta, text_prep, {})


def site_base(
    base: str | Path | None, site: SiteData | None, text_prep: TextPrep, train: pd.DataFrame, workdir: Path
) -> str | Path | None:
    """The compact base after more masked-language steps on the site's stored calls, when there are enough.

    Fine-tuning then starts from an encoder that has read the site's own words
    (its place names, its dialect, its ASR errors), labelled or not.
    """
    settings = learning_settings()
    if site is None or settings.mlm_steps <= 0 or len(site.transcripts) < settings.mlm_min_texts:
        return base
    from models.pretrain import continue_pretraining
    from models.transformer_training import resolve_base

    start = resolve_base(base, text_prep.prepare_many(train["transcript"].tolist()[:2000]), "quick")
    texts = text_prep.prepare_many(site.transcripts)
    print(f"在现场 {len(texts)} 条转写上继续预训练 {settings.mlm_steps} 步（起点 {start}）…")
    out = continue_pretraining(start, texts, workdir / "site-base", settings.mlm_steps)
    mlflow.log_params(
        {"site_mlm_steps": settings.mlm_steps, "site_mlm_texts": len(texts), "site_mlm_from": str(start)}
    )
    return out


def _train_transformer(
    train: pd.DataFrame,
    val: pd.DataFrame,
    text_prep: TextPrep,
    base: str | Path | None,
    preset: str | FinetuneConfig,
    workdir: Path,
) -> Trained:
    from models.transformer_training import train_transformer

    result = train_transformer(train, val, text_prep, base=base, preset=preset, workdir=workdir)
    mlflow.log_params({f"ft_{k}": v for k, v in result.params.items()})
    # the PyTorch weights are kept with the run (not the pyfunc) for benchmarks and further fine-tuning
    mlflow.log_artifacts(str(result.hf_dir), artifact_path="hf_model")
    for step, value in enumerate(result.history):
        mlflow.log_metric("val_macro_f1_epoch", value, step=step)
    meta = {"kind": "transformer", "labels": result.classifier.labels, "max_len": result.max_len}
    artifacts = {"onnx": str(result.onnx_path), "tokenizer": str(result.tokenizer_dir)}
    return Trained(result.classifier, artifacts, meta, result.text_prep, result.metrics)


def _train_ensemble(
    train: pd.DataFrame,
    dev: pd.DataFrame,
    text_prep: TextPrep,
    base: str | Path | None,
    preset: str | FinetuneConfig,
    workdir: Path,
) -> Trained:
    """Both members, then the blend weight that does best on dev (0 or 1 keep one model alone)."""
    from models.ensemble import EnsembleClassifier, aligned, choose_skip, choose_weight

    ngram = _train_baseline(train, text_prep, workdir)
    transformer = _train_transformer(train, dev, text_prep, base, preset, workdir)
    texts, truth = dev["transcript"].tolist(), dev["category"].tolist()
    labels = transformer.classifier.labels
    ngram_proba = aligned(ngram.classifier.predict_proba(texts), ngram.classifier.labels, labels)
    transformer_proba = transformer.classifier.predict_proba(texts)
    choice = choose_weight(transformer_proba, ngram_proba, truth, labels)
    mlflow.log_param("ensemble_weight", choice.weight)
    mlflow.log_text(
        "\n".join(f"{w:.1f}\t{f:.4f}" for w, f in choice.scores.items()), "evaluation/ensemble_weights.tsv"
    )
    print(choice.summary())
    cascade = choose_skip(transformer_proba, ngram_proba, choice.weight, truth, labels)
    mlflow.log_params(
        {
            "cascade_skip_above": cascade.threshold,
            "cascade_skip_share_dev": round(cascade.skip_share, 4),
            "cascade_agreement_dev": round(cascade.agreement, 4),
        }
    )
    print(cascade.summary())
    clf = EnsembleClassifier(
        transformer.classifier,
        ngram.classifier,
        choice.weight,
        review_threshold(None),
        skip_above=cascade.threshold,
    )
    meta = {**transformer.meta, "kind": "ensemble", "weight": choice.weight, "skip_above": cascade.threshold}
    artifacts = {**transformer.artifacts, **ngram.artifacts}
    return Trained(clf, artifacts, meta, transformer.text_prep, transformer.metrics)


def champion_predictions(name: str, df: pd.DataFrame) -> list[str] | None:
    """The current champion's categories on df (the same items the candidate is judged on)."""
    if not champion_exists(name):
        return None
    try:
        champion = load_classifier(name=name)
    except ModelNotFoundError as err:
        # a champion that cannot be loaded cannot score tonight either: any working candidate beats it
        log.warning("champion of %s cannot be loaded (%s); gating as if there were none", name, err)
        return None
    return [p.category for p in champion.predict(df["transcript"].tolist())]


def choose_review(clf, df: pd.DataFrame) -> ReviewChoice:
    """Pick the needs_review threshold on the decision set and set it on the classifier."""
    predictions = clf.predict(df["transcript"].tolist())
    choice = choose_threshold(
        [p.confidence for p in predictions],
        [p.category == t for p, t in zip(predictions, df["category"], strict=True)],
    )
    clf.review_threshold = review_threshold(choice.threshold)
    return choice


def train_classifier(
    kind: Kind,
    data_dir: str | Path,
    base: str | Path | None = None,
    preset: str | FinetuneConfig = "default",
    register: bool = True,
    eval_dir: str | Path | None = None,
    site_db: str | None = None,
) -> TrainOutcome:
    """Train, evaluate, log and (if register) gate one classifier. Raises DataError on unusable data.

    With ``site_db`` the store's labelled calls join the simulated ones (each
    counted ``[learning] label_weight`` times), the transformer's base first
    reads the stored transcripts, and the newest labels are held out by time
    for the gate.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown model kind: {kind}")
    settings = classifier_settings()
    configure_mlflow()
    ensure_experiment(settings.experiment)
    data = load_labeled_texts(data_dir)
    frozen = eval_sets(eval_dir)
    train, val = split_train_val(data)
    site = load_site(site_db) if site_db else None
    if site is not None:
        print(site.summary())
        train = weighted(train, site.train, learning_settings().label_weight)
        if len(site.holdout):
            frozen[RECENT_SET] = site.holdout[["call_id", "transcript", "category"]]
    text_prep = TextPrep(max_chars=settings.max_chars)
    commit = git_commit()

    with mlflow.start_run(run_name=f"{kind}-{preset}") as run, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        mlflow.set_tags({"kind": kind, "git_commit": commit or "none", "data_sha256": fingerprint(data)})
        mlflow.log_params(
            {
                "kind": kind,
                "preset": preset if isinstance(preset, str) else "custom",
                "data_dir": str(data_dir),
                "data_sha256": fingerprint(data),
                "n_train": len(train),
                "n_val": len(val),
                "max_chars": text_prep.max_chars,
                "review_threshold_configured": str(settings.review_threshold),
                "base": str(base) if base else "default",
                "site_labels_train": len(site.train) if site else 0,
                "site_labels_recent": len(site.holdout) if site else 0,
                "site_transcripts": len(site.transcripts) if site else 0,
                "site_label_weight": learning_settings().label_weight if site else 0,
            }
        )
        if site is not None and site.labelled:
            mlflow.set_tag("site_labels_sha256", fingerprint(pd.concat([site.train, site.holdout])))
        if kind != "baseline":
            base = site_base(base, site, text_prep, train, workdir)
        # early stopping reads dev where there is one: hand-written text, not the simulator's
        stop_on = frozen.get(GATE_SET, val)
        mlflow.log_param("early_stopping_set", GATE_SET if GATE_SET in frozen else "val")
        if kind == "baseline":
            trained = _train_baseline(train, text_prep, workdir)
        elif kind == "transformer":
            trained = _train_transformer(train, stop_on, text_prep, base, preset, workdir)
        else:
            trained = _train_ensemble(train, stop_on, text_prep, base, preset, workdir)
        clf, artifacts, meta, text_prep = (
            trained.classifier,
            trained.artifacts,
            trained.meta,
            trained.text_prep,
        )

        mlflow.log_param("model_max_chars", text_prep.max_chars)
        decision_set = GATE_SET if GATE_SET in frozen else "val"
        decision_df = frozen.get(GATE_SET, val)
        clf.temperature = 1.0
        clf.temperature = meta["temperature"] = fit_temperature(
            clf.predict_proba(decision_df["transcript"].tolist()),
            decision_df["category"].tolist(),
            clf.labels,
        )
        mlflow.log_param("temperature_dev", clf.temperature)
        review = choose_review(clf, decision_df)
        meta["review_threshold"] = review.threshold
        mlflow.log_params({"review_threshold_chosen": review.threshold, "review_chosen_on": decision_set})
        mlflow.log_text(review.summary(), "evaluation/review_threshold.txt")
        reports: dict[str, EvalReport] = {}
        metrics: dict[str, float] = {
            **trained.metrics,
            "review_share_dev": review.review_share,
            "review_error_capture_dev": review.error_capture,
        }
        candidate_categories: dict[str, list[str]] = {}
        sets = {"val": val, **frozen}
        plots = workdir / "plots"
        plots.mkdir()
        for name, df in sets.items():
            report, preds = evaluate_classifier(name, clf, df)
            reports[name] = report
            candidate_categories[name] = [p.category for p in preds]
            metrics.update(report.metrics())
            plot_confusion(report, plots / f"confusion_{name}.png")
            plot_reliability(name, preds, df["category"].tolist(), plots / f"reliability_{name}.png")
            report.per_class.to_csv(plots / f"per_class_{name}.csv")
        mlflow.log_metrics(metrics)
        mlflow.log_artifacts(str(plots), artifact_path="evaluation")
        mlflow.log_text(format_table(list(reports.values())), "evaluation/summary.txt")

        # the nightly drift check compares each night with the data of the model that scored it
        artifacts[DRIFT_PROFILE] = str(write_profile(clf, val, train, text_prep, workdir))
        (workdir / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        artifacts["meta"] = str(workdir / "meta.json")
        artifacts["text_prep"] = str(text_prep.save(workdir / "text_prep.json"))
        example = pd.DataFrame({"transcript": INPUT_EXAMPLE})
        signature = infer_signature(example, ComplaintClassifierModel.example_output(clf, INPUT_EXAMPLE))
        info = mlflow.pyfunc.log_model(
            name="classifier",
            python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
            artifacts=artifacts,
            signature=signature,
            input_example=example,
        )
        run_id = run.info.run_id

    gate: GateResult | None = None
    version: str | None = None
    if register:
        gate_df = frozen.get(GATE_SET, val)
        set_name = GATE_SET if GATE_SET in frozen else "val"
        champion = champion_predictions(settings.registered_name, gate_df)
        recent = None
        if RECENT_SET in frozen:
            recent = RecentLabels(
                frozen[RECENT_SET]["category"].tolist(),
                candidate_categories[RECENT_SET],
                champion_predictions(settings.registered_name, frozen[RECENT_SET]),
            )
        decision: GateDecision = decide(
            gate_df["category"].tolist(),
            candidate_categories[set_name],
            reports[set_name].ece,
            champion,
            gate_config(settings),
            recent,
        )
        gate = register_and_gate(settings.registered_name, info.model_uri, run_id, decision)
        version = f"{gate.name}/{gate.version}"
    return TrainOutcome(run_id, info.model_uri, version, metrics, gate, reports)

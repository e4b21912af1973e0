"""How good a classifier is: macro-F1, per-class P/R/F1, confusion matrix and calibration (ECE)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support  # noqa: E402

from models.gate import Interval, macro_f1_interval  # noqa: E402
from models.types import Prediction  # noqa: E402
from pipeline.labels import LABELS  # noqa: E402


@dataclass
class EvalReport:
    """Scores of one classifier on one labelled set."""

    name: str
    n: int
    macro_f1: float
    accuracy: float
    ece: float
    review_rate: float
    per_class: pd.DataFrame
    confusion: np.ndarray
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    macro_f1_ci: Interval | None = None

    def metrics(self, prefix: str | None = None) -> dict[str, float]:
        """Flat metric dict for MLflow (``<prefix>_macro_f1`` ...)."""
        p = f"{prefix or self.name}_"
        out = {
            p + "macro_f1": self.macro_f1,
            p + "accuracy": self.accuracy,
            p + "ece": self.ece,
            p + "review_rate": self.review_rate,
        }
        if self.macro_f1_ci is not None:
            out[p + "macro_f1_low"] = self.macro_f1_ci.low
            out[p + "macro_f1_high"] = self.macro_f1_ci.high
        for label, row in self.per_class.iterrows():
            out[f"{p}f1_{label}"] = float(row["f1"])
        return out


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def evaluate_predictions(
    name: str, truth: Sequence[str], predictions: Sequence[Prediction], labels: Sequence[str] = LABELS
) -> EvalReport:
    """Score predictions against true labels; every taxonomy label gets a row even if absent."""
    labels = list(labels)
    y_true = np.asarray(list(truth))
    y_pred = np.asarray([p.category for p in predictions])
    conf = np.asarray([p.confidence for p in predictions], dtype=float)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    per_class = pd.DataFrame({"precision": p, "recall": r, "f1": f, "support": s}, index=labels)
    present = [label for label in labels if label in set(y_true)]
    return EvalReport(
        name=name,
        n=len(y_true),
        macro_f1=float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        accuracy=float((y_true == y_pred).mean()) if len(y_true) else 0.0,
        ece=expected_calibration_error(conf, y_true == y_pred),
        review_rate=float(np.mean([p.needs_review for p in predictions])) if predictions else 0.0,
        per_class=per_class,
        confusion=confusion_matrix(y_true, y_pred, labels=labels),
        labels=labels,
        macro_f1_ci=macro_f1_interval(y_true.tolist(), y_pred.tolist(), labels) if len(y_true) else None,
    )


def evaluate_classifier(name: str, classifier, df: pd.DataFrame) -> tuple[EvalReport, list[Prediction]]:
    """Run a classifier over a labelled frame (columns transcript, category) and score it."""
    predictions = classifier.predict(df["transcript"].tolist())
    return evaluate_predictions(name, df["category"].tolist(), predictions), predictions


def plot_confusion(report: EvalReport, path: str | Path) -> Path:
    """Confusion matrix written to path (PNG)."""
    fig = confusion_figure(report)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def confusion_figure(report: EvalReport):
    """Confusion matrix with English label names (no CJK font needed), row-normalised colours."""
    cm = report.confusion
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(report.labels)), report.labels, rotation=35, ha="right")
    ax.set_yticks(range(len(report.labels)), report.labels)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j, i, str(cm[i, j]), ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black"
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{report.name}: macro-F1 {report.macro_f1:.3f} (n={report.n})")
    fig.tight_layout()
    return fig


def plot_reliability(
    report_name: str, predictions: Sequence[Prediction], truth: Sequence[str], path: str | Path
) -> Path:
    """Reliability diagram of top-class confidence against accuracy, with the ECE in the title."""
    conf = np.asarray([p.confidence for p in predictions], dtype=float)
    correct = np.asarray([p.category == t for p, t in zip(predictions, truth, strict=True)], dtype=float)
    edges = np.linspace(0, 1, 11)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, 9)
    centers, accs, counts = [], [], []
    for b in range(10):
        mask = idx == b
        if mask.any():
            centers.append(conf[mask].mean())
            accs.append(correct[mask].mean())
            counts.append(int(mask.sum()))
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
    ax.plot(centers, accs, "o-", label="model")
    for x, y, c in zip(centers, accs, counts, strict=True):
        ax.annotate(str(c), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{report_name}: ECE {expected_calibration_error(conf, correct.astype(bool)):.3f}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def format_table(reports: Sequence[EvalReport]) -> str:
    """Plain-text table of the headline figures, one row per evaluation set."""
    lines = [f"{'set':<24}{'n':>7}{'macro-F1':>10}{'90% interval':>17}{'acc':>8}{'ECE':>8}{'review':>8}"]
    for r in reports:
        ci = f"[{r.macro_f1_ci.low:.3f}, {r.macro_f1_ci.high:.3f}]" if r.macro_f1_ci else ""
        lines.append(
            f"{r.name:<24}{r.n:>7}{r.macro_f1:>10.3f}{ci:>17}{r.accuracy:>8.3f}{r.ece:>8.3f}{r.review_rate:>8.1%}"
        )
    return "\n".join(lines)

"""Evaluation metrics on predictions whose right answers are known by construction."""

from __future__ import annotations

import numpy as np

from models.evaluation import (
    evaluate_predictions,
    expected_calibration_error,
    plot_confusion,
    plot_reliability,
)
from models.types import predictions_from_proba
from pipeline.labels import LABELS


def _preds(categories, confidence):
    rows = []
    for cat in categories:
        row = np.full(len(LABELS), (1 - confidence) / (len(LABELS) - 1))
        row[LABELS.index(cat)] = confidence
        rows.append(row)
    return predictions_from_proba(np.array(rows), LABELS, 0.6)


def test_perfect_and_wrong_predictions():
    truth = ["outage", "voltage", "other", "outage"]
    perfect = evaluate_predictions("t", truth, _preds(truth, 0.9))
    assert perfect.macro_f1 == 1.0
    assert perfect.confusion.trace() == 4
    wrong = evaluate_predictions("t", truth, _preds(["voltage", "outage", "outage", "voltage"], 0.9))
    assert wrong.macro_f1 == 0.0
    assert wrong.per_class.loc["outage", "recall"] == 0.0


def test_ece_measures_overconfidence():
    conf = np.array([0.9] * 10)
    assert expected_calibration_error(conf, np.array([True] * 9 + [False])) < 1e-9
    assert abs(expected_calibration_error(conf, np.array([True] * 5 + [False] * 5)) - 0.4) < 1e-9


def test_plots_are_written(tmp_path):
    truth = ["outage", "voltage", "connection"]
    preds = _preds(["outage", "outage", "connection"], 0.7)
    report = evaluate_predictions("t", truth, preds)
    assert plot_confusion(report, tmp_path / "c.png").stat().st_size > 1000
    assert plot_reliability("t", preds, truth, tmp_path / "r.png").stat().st_size > 1000

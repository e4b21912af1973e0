"""Compatibility names for code from before the risk evaluation moved to :mod:`models.risk`.

New code imports :mod:`models.risk.metrics`, :mod:`models.risk.plots` and
:mod:`models.risk.evaluate`; nothing in ``models.risk`` imports this module.
"""

from models.risk.evaluate import EvaluationResult, evaluate
from models.risk.metrics import (
    BATCH_HOUR,
    BUDGETS_PER_1000,
    AlertMetrics,
    alert_metrics,
    batch_time,
    call_metrics,
    choose_thresholds,
    flagged,
    level_table,
    recall_curve,
    summary_lines,
    threshold_for_budget,
)
from models.risk.plots import plot_recall_curves

__all__ = [
    "BATCH_HOUR",
    "BUDGETS_PER_1000",
    "AlertMetrics",
    "EvaluationResult",
    "alert_metrics",
    "batch_time",
    "call_metrics",
    "choose_thresholds",
    "evaluate",
    "flagged",
    "level_table",
    "plot_recall_curves",
    "recall_curve",
    "summary_lines",
    "threshold_for_budget",
]

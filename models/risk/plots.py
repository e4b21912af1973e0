"""The recall-versus-budget chart: recall before escalation against slips per 1,000 calls."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def plot_recall_curves(curves: dict[str, pd.DataFrame], path: Path) -> Path:
    """Recall before escalation against slips per 1,000 calls, one line per scorer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pipeline.report import cjk_font

    font = cjk_font()
    if font:
        plt.rcParams.update({"font.sans-serif": [font, "DejaVu Sans"], "axes.unicode_minus": False})
    zh = font is not None
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for name, curve in curves.items():
        ax.plot(curve["slips_per_1000"], curve["recall"], marker="o", label=name)
    ax.set_xlabel("每千通来电预警单数" if zh else "slips per 1,000 calls")
    ax.set_ylabel("升级前已预警的问题占比" if zh else "escalated problems warned in time")
    ax.set_title("预警召回率与预警量" if zh else "Recall vs alert budget")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

"""The nightly report: what came in, what it was about, and which calls got a warning slip.

A service-center lead reads it in the morning, so it is markdown with charts
(category mix per unit, risk distribution, slips by unit) rather than a table
dump. The same numbers also make the short summary the nightly flow publishes
as a Prefect artifact, so :func:`summary_markdown` and :func:`write_report`
share one :class:`NightSummary`.

Charts use a CJK font when the machine has one (``fc-list :lang=zh``); without
one they fall back to ASCII labels (label ids, ``U1``...) and the markdown maps
those back to the Chinese names, so a chart never shows empty boxes.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.config import get_settings
from pipeline.drift import DriftOutcome
from pipeline.labels import LABEL_ZH, LABELS, RISK_LEVEL_ZH, RISK_LEVELS
from pipeline.ledger import LEVELS
from pipeline.storage import Call, QuarantinedRow, Slip

SLIP_LEVELS: tuple[str, ...] = tuple(level.value for level in LEVELS)
LEVEL_COLORS = {"red": "#d62728", "orange": "#ff7f0e", "yellow": "#e5c100", "none": "#9e9e9e"}
CALL_COLUMNS = ("call_id", "unit", "category", "risk_probability", "risk_level")
SLIP_COLUMNS = ("slip_no", "unit", "level")


@dataclass
class NightSummary:
    """Everything the report shows about one night, already reduced to plain tables.

    ``calls`` has one row per scored call (``CALL_COLUMNS``), ``slips`` one row
    per slip raised that night (``SLIP_COLUMNS``); ``quarantine_reasons`` counts
    quarantined rows by reason (Chinese text).
    """

    night: str
    calls: pd.DataFrame
    slips: pd.DataFrame
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    model_versions: dict[str, str] = field(default_factory=dict)
    rows_read: int | None = None
    duplicates: int = 0
    identity: str | None = None
    notes: list[str] = field(default_factory=list)
    drift: DriftOutcome | None = None

    def __post_init__(self) -> None:
        for name, columns in (("calls", CALL_COLUMNS), ("slips", SLIP_COLUMNS)):
            frame = getattr(self, name)
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise ValueError(f"{name} lacks columns {missing}")

    @property
    def quarantined(self) -> int:
        return sum(self.quarantine_reasons.values())

    def category_by_unit(self) -> pd.DataFrame:
        """Calls per unit (rows) and category (columns, taxonomy order), with a total column."""
        table = pd.crosstab(self.calls["unit"], self.calls["category"])
        table = table.reindex(columns=[c for c in LABELS if c in table.columns] or list(LABELS), fill_value=0)
        table["total"] = table.sum(axis=1)
        return table.sort_values("total", ascending=False)

    def slips_by_unit(self) -> pd.DataFrame:
        """Slips per unit (rows) and level (columns red/orange/yellow)."""
        table = pd.crosstab(self.slips["unit"], self.slips["level"]) if len(self.slips) else pd.DataFrame()
        table = table.reindex(columns=list(SLIP_LEVELS), fill_value=0)
        table["total"] = table.sum(axis=1)
        return table.sort_values("total", ascending=False)

    def unit_codes(self) -> dict[str, str]:
        """ASCII stand-ins for unit names (``U1``...), busiest unit first, the same in every chart."""
        ordered = list(self.calls["unit"].value_counts().index)
        ordered += sorted(set(self.slips["unit"]) - set(ordered))
        return {unit: f"U{i + 1}" for i, unit in enumerate(ordered)}

    def slips_by_level(self) -> dict[str, int]:
        counts = Counter(self.slips["level"])
        return {level: int(counts.get(level, 0)) for level in SLIP_LEVELS}


@dataclass
class Report:
    """Where a written report lies."""

    directory: Path
    markdown: Path
    charts: dict[str, Path]


def _md_table(frame: pd.DataFrame, index_name: str) -> str:
    header = [index_name, *[str(c) for c in frame.columns]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index), *[str(v) for v in row.tolist()]]) + " |")
    return "\n".join(lines)


def _zh_columns(frame: pd.DataFrame) -> pd.DataFrame:
    names = {**LABEL_ZH, **RISK_LEVEL_ZH, "total": "合计"}
    return frame.rename(columns=lambda c: names.get(c, c))


def summary_markdown(summary: NightSummary) -> str:
    """The short summary: calls per unit and category, slips by level, quarantine, model versions."""
    levels = summary.slips_by_level()
    parts = [
        f"# {summary.night} 夜间评分摘要",
        "",
        f"- 评分来电: {len(summary.calls)} 条"
        + (f"（读入 {summary.rows_read} 行）" if summary.rows_read is not None else ""),
        f"- 隔离行: {summary.quarantined} 条；重复行: {summary.duplicates} 条",
        "- 预警单: "
        + "，".join(f"{RISK_LEVEL_ZH[lv]} {n}" for lv, n in levels.items())
        + f"（共 {sum(levels.values())}）",
        "",
        *(
            ["## 行数核对（读入 = 入库 + 已入库 + 隔离 + 重复）", "", summary.identity, ""]
            if summary.identity
            else []
        ),
        *([*(f"- {note}" for note in summary.notes), ""] if summary.notes else []),
        "## 各单位来电类别",
        "",
        _md_table(_zh_columns(summary.category_by_unit()), "供电单位")
        if len(summary.calls)
        else "（无来电）",
        "",
        "## 预警单等级",
        "",
        "| 等级 | 数量 |",
        "|---|---|",
        *[f"| {RISK_LEVEL_ZH[lv]} | {n} |" for lv, n in levels.items()],
        "",
        "## 隔离行原因",
        "",
    ]
    if summary.quarantine_reasons:
        parts += ["| 原因 | 行数 |", "|---|---|"]
        parts += [f"| {reason} | {n} |" for reason, n in sorted(summary.quarantine_reasons.items())]
    else:
        parts.append("（无）")
    if summary.drift is not None:
        parts += ["", "## 语言漂移检查", "", summary.drift.markdown()]
    parts += ["", "## 使用的模型版本", ""]
    if summary.model_versions:
        parts += [f"- {role}: `{version}`" for role, version in sorted(summary.model_versions.items())]
    else:
        parts.append("（未记录）")
    return "\n".join(parts) + "\n"


@cache
def cjk_font() -> str | None:
    """Family name of the system's best Chinese sans font, registered with matplotlib, or None."""
    if shutil.which("fc-list") is None or shutil.which("fc-match") is None:
        return None
    try:
        has_zh = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=20).stdout
        path = subprocess.run(
            ["fc-match", "-f", "%{file}", "sans-serif:lang=zh-cn"], capture_output=True, text=True, timeout=20
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if not has_zh.strip() or not path or not Path(path).exists():
        return None
    try:
        font_manager.fontManager.addfont(path)
        return font_manager.FontProperties(fname=path).get_name()
    except (RuntimeError, ValueError, OSError):
        return None


def _axis_names(summary: NightSummary, use_cjk: bool) -> dict[str, str]:
    codes = summary.unit_codes()
    return {u: u for u in codes} if use_cjk else codes


def _category_chart(summary: NightSummary, path: Path, use_cjk: bool) -> None:
    table = summary.category_by_unit().drop(columns="total")
    names = _axis_names(summary, use_cjk)
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(table) + 3), 4.5))
    bottom = pd.Series(0, index=table.index)
    for label in table.columns:
        ax.bar(
            [names[u] for u in table.index],
            table[label],
            bottom=bottom,
            label=LABEL_ZH[label] if use_cjk else label,
        )
        bottom += table[label]
    ax.set_title(
        f"{summary.night} 各单位来电类别" if use_cjk else f"{summary.night} calls by unit and category"
    )
    ax.set_ylabel("来电数" if use_cjk else "calls")
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _risk_chart(summary: NightSummary, path: Path, use_cjk: bool) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    probs = pd.to_numeric(summary.calls["risk_probability"], errors="coerce")
    levels = [lv for lv in RISK_LEVELS if ((summary.calls["risk_level"] == lv) & probs.notna()).any()]
    if levels:
        # Calibrated escalation probabilities sit far below 1: zoom on the range they occupy.
        upper = min(1.0, max(0.05, float(probs.max()) * 1.05))
        ax.hist(
            [probs[(summary.calls["risk_level"] == lv) & probs.notna()] for lv in levels],
            bins=40,
            range=(0, upper),
            stacked=True,
            color=[LEVEL_COLORS[lv] for lv in levels],
            label=[RISK_LEVEL_ZH[lv] if use_cjk else lv for lv in levels],
        )
        ax.legend(fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("12398 升级概率" if use_cjk else "escalation probability")
    ax.set_ylabel("来电数（对数）" if use_cjk else "calls (log)")
    ax.set_title(f"{summary.night} 风险分布" if use_cjk else f"{summary.night} risk distribution")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _slips_chart(summary: NightSummary, path: Path, use_cjk: bool) -> None:
    table = summary.slips_by_unit().drop(columns="total")
    names = _axis_names(summary, use_cjk)
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(table) + 3), 4))
    left = pd.Series(0, index=table.index)
    ys = [names[u] for u in table.index]
    for level in table.columns:
        label = RISK_LEVEL_ZH[level] if use_cjk else level
        ax.barh(ys, table[level], left=left, color=LEVEL_COLORS[level], label=label)
        left += table[level]
    ax.invert_yaxis()
    ax.set_xlabel("预警单数" if use_cjk else "slips")
    ax.set_title(f"{summary.night} 各单位预警单" if use_cjk else f"{summary.night} slips by unit")
    if len(table):
        ax.legend(fontsize=8)
    else:
        ax.text(
            0.5, 0.5, "无预警单" if use_cjk else "no slips", ha="center", va="center", transform=ax.transAxes
        )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def load_summary(session: Session, night: str) -> NightSummary:
    """What the database holds for ``night``: its calls, the slips they raised or joined, quarantine."""
    day = date.fromisoformat(night)
    call_rows = session.execute(
        select(
            Call.call_id,
            Call.unit,
            Call.category,
            Call.escalation_score,
            Call.risk_level,
            Call.classifier_version,
            Call.risk_model_version,
        ).where(Call.night == day)
    ).all()
    calls = pd.DataFrame(
        [r[:5] for r in call_rows], columns=["call_id", "unit", "category", "risk_probability", "risk_level"]
    )
    night_slips = select(Call.slip_id).where(Call.night == day, Call.slip_id.is_not(None))
    slip_rows = session.execute(
        select(Slip.slip_no, Slip.unit, Slip.level).where(Slip.id.in_(night_slips))
    ).all()
    slips = pd.DataFrame([tuple(r) for r in slip_rows], columns=list(SLIP_COLUMNS))
    reasons = dict(
        session.execute(
            select(QuarantinedRow.reason_code, func.count())
            .where(QuarantinedRow.night == day)
            .group_by(QuarantinedRow.reason_code)
        ).all()
    )
    versions: dict[str, str] = {}
    for role, position in (("classifier", 5), ("risk_model", 6)):
        found = sorted({r[position] for r in call_rows if r[position]})
        if found:
            versions[role] = ", ".join(found)
    return NightSummary(
        night=night, calls=calls, slips=slips, quarantine_reasons=reasons, model_versions=versions
    )


def write_report(summary: NightSummary, out_dir: Path | None = None) -> Report:
    """Write ``report.md`` and three PNG charts to ``reports_dir/<night>/`` (overwriting a rerun's)."""
    directory = Path(out_dir) if out_dir else get_settings().reports_dir / summary.night
    directory.mkdir(parents=True, exist_ok=True)
    plt.switch_backend("Agg")
    font = cjk_font()
    use_cjk = font is not None
    style = {"font.sans-serif": [font, "DejaVu Sans"], "axes.unicode_minus": False} if font else {}
    charts = {
        "category_by_unit": directory / "category_by_unit.png",
        "risk_distribution": directory / "risk_distribution.png",
        "slips_by_unit": directory / "slips_by_unit.png",
    }
    with plt.rc_context(style):
        _category_chart(summary, charts["category_by_unit"], use_cjk)
        _risk_chart(summary, charts["risk_distribution"], use_cjk)
        _slips_chart(summary, charts["slips_by_unit"], use_cjk)

    lines = [summary_markdown(summary).rstrip("\n"), "", "## 图表", ""]
    lines += [
        "![各单位来电类别](category_by_unit.png)",
        "",
        "![风险分布](risk_distribution.png)",
        "",
        "![各单位预警单](slips_by_unit.png)",
        "",
    ]
    if not use_cjk:
        lines += ["本机无中文字体，图中单位以编号表示:", ""]
        lines += [f"- {code}: {unit}" for unit, code in summary.unit_codes().items()]
        lines.append("")
    if len(summary.slips):
        lines += ["## 各单位预警单", "", _md_table(_zh_columns(summary.slips_by_unit()), "供电单位"), ""]
    markdown = directory / "report.md"
    markdown.write_text("\n".join(lines), encoding="utf-8")
    return Report(directory=directory, markdown=markdown, charts=charts)

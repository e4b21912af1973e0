"""Read simulator output back: every night's calls joined with their labels, one DataFrame."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.records import SHANGHAI


class DatasetError(ValueError):
    """The folder holds no simulator nights, or a night is incomplete."""


def nights(root: Path | str) -> list[Path]:
    """Night folders (``YYYY-MM-DD`` with a ``calls.csv``) under ``root``, in date order."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"目录不存在: {root}")
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "calls.csv").is_file())


def load_labeled(root: Path | str) -> pd.DataFrame:
    """All nights under ``root``: contract fields plus labels and simulator truth, ``call_time`` tz-aware."""
    found = nights(root)
    if not found:
        raise DatasetError(f"目录中没有模拟数据（YYYY-MM-DD/calls.csv）: {root}")
    frames = []
    for night in found:
        labels_path = night / "labels.csv"
        if not labels_path.is_file():
            raise DatasetError(f"缺少标签文件: {labels_path}")
        calls = pd.read_csv(night / "calls.csv", dtype=str, keep_default_na=False)
        labels = pd.read_csv(labels_path, dtype=str, keep_default_na=False)
        merged = calls.merge(labels, on="call_id", how="inner", validate="one_to_one")
        if len(merged) != len(calls):
            raise DatasetError(f"标签与通话记录不一致: {night}")
        frames.append(merged)
    df = pd.concat(frames, ignore_index=True)
    df["call_time"] = pd.to_datetime(df["call_time"], format="ISO8601", utc=True).dt.tz_convert(SHANGHAI)
    df["escalated_at"] = pd.to_datetime(
        df["escalated_at"].replace("", None), format="ISO8601", utc=True
    ).dt.tz_convert(SHANGHAI)
    for col in ("commitment_due", "callback_at"):
        if col in df.columns:
            df[col] = pd.to_datetime(df[col].replace("", None), format="ISO8601", utc=True).dt.tz_convert(
                SHANGHAI
            )
    df["escalated_12398"] = df["escalated_12398"].str.lower().eq("true")
    df["duration_s"] = pd.to_numeric(df["duration_s"].replace("", None)).astype("Int64")
    for col in ("customer_id", "area"):
        df[col] = df[col].replace("", None)
    return df

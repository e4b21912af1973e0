"""Labelled text for training and the frozen evaluation sets, as one small DataFrame shape.

Every loader returns columns ``call_id``, ``transcript``, ``category`` so training,
evaluation and the notebook need not care whether the data came from simulator
nights (calls.csv + labels.csv), a labelled export, or hand-written CSVs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from pipeline.config import DATA_DIR
from pipeline.labels import LABELS

TEXT_COLUMNS: tuple[str, ...] = ("transcript", "text", "complaint", "content", "customer_text")
EVAL_DIR = DATA_DIR / "eval"


class DataError(Exception):
    """Training or evaluation data that cannot be used; the message is shown to the user."""


def _clean(df: pd.DataFrame, source: str) -> pd.DataFrame:
    df = df.dropna(subset=["transcript", "category"])
    df = df[df["transcript"].astype(str).str.strip() != ""]
    df = df[df["category"].isin(LABELS)]
    if df.empty:
        raise DataError(f"{source} 中没有带有效类别标签的通话")
    out = df[["call_id", "transcript", "category"]].copy()
    out["call_id"] = out["call_id"].astype(str)
    out["transcript"] = out["transcript"].astype(str)
    return out.reset_index(drop=True)


def _has_simulator_layout(path: Path) -> bool:
    return (path / "labels.csv").exists() or any(path.glob("*/labels.csv"))


def _read_simulator(path: Path) -> pd.DataFrame:
    from pipeline.simulator import DatasetError, load_labeled

    try:
        return load_labeled(path)
    except DatasetError as err:
        raise DataError(str(err)) from err


def _read_text_csvs(path: Path) -> pd.DataFrame:
    files = [path] if path.is_file() else sorted(path.rglob("*.csv"))
    frames = []
    for file in files:
        df = pd.read_csv(file, dtype=str, keep_default_na=False)
        text_col = next((c for c in TEXT_COLUMNS if c in df.columns), None)
        if text_col is None or "category" not in df.columns:
            continue
        if "call_id" not in df.columns:
            df["call_id"] = [f"{file.stem}-{i}" for i in range(len(df))]
        frames.append(df.rename(columns={text_col: "transcript"})[["call_id", "transcript", "category"]])
    if not frames:
        raise DataError(f"{path} 中没有包含文本列和 category 列的 CSV 文件")
    return pd.concat(frames, ignore_index=True)


def _read_labelled_export(path: Path) -> pd.DataFrame:
    from pipeline.ingest import read_export

    result = read_export(path)
    rows = [
        {"call_id": r.call_id, "transcript": r.transcript, "category": r.category}
        for r in result.records
        if r.category
    ]
    return pd.DataFrame(rows, columns=["call_id", "transcript", "category"])


def load_labeled_texts(path: str | Path) -> pd.DataFrame:
    """Labelled calls from a simulator folder, a labelled export, or text+category CSVs."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"数据路径不存在: {path}")
    if path.is_dir() and _has_simulator_layout(path):
        df = _read_simulator(path)
    else:
        try:
            df = _read_text_csvs(path)
        except DataError:
            df = _read_labelled_export(path)
    return _clean(df, str(path))


def load_unlabeled_texts(path: str | Path) -> list[str]:
    """Every transcript under path, labelled or not, for masked-language-model pretraining."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"数据路径不存在: {path}")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("calls.csv"))
    if not files:
        files = [path] if path.is_file() else sorted(path.rglob("*.csv"))
    texts: list[str] = []
    for file in files:
        df = pd.read_csv(file, dtype=str, keep_default_na=False)
        col = next((c for c in TEXT_COLUMNS if c in df.columns), None)
        if col:
            texts.extend(t for t in df[col].tolist() if t.strip())
    return texts


def eval_sets(root: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """The frozen sets training never sees: ``simulated`` and ``independent`` (those present).

    When the independent folder holds several files (recorded calls, written
    complaints), each is also reported on its own as ``independent_<file stem>``.
    """
    root = Path(root) if root else EVAL_DIR
    sets: dict[str, pd.DataFrame] = {}
    for name in ("simulated", "independent"):
        folder = root / name
        if folder.exists() and any(folder.rglob("*.csv")):
            sets[name] = load_labeled_texts(folder)
    independent = root / "independent"
    files = sorted(independent.glob("*.csv")) if independent.is_dir() else []
    if len(files) > 1:
        for file in files:
            try:
                sets[f"independent_{file.stem}"] = load_labeled_texts(file)
            except DataError:
                continue
    return sets


def fingerprint(df: pd.DataFrame) -> str:
    """sha256 over call ids, texts and labels in a fixed order: what exactly a model was trained on."""
    digest = hashlib.sha256()
    for row in df.sort_values("call_id")[["call_id", "transcript", "category"]].itertuples(index=False):
        digest.update("\x1f".join(row).encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()

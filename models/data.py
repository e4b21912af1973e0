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


SPLITS: tuple[str, ...] = ("dev", "test")
# Registers of the hand-written sets: how the text reached the company.
_CHANNEL_REGISTER = {
    "app": "app_message",
    "wechat": "app_message",
    "web": "letter_post",
    "letter": "letter_post",
    "12398-forward": "work_order",
    "12398": "work_order",
    "12345": "work_order",
}


def _read_items(file: Path) -> pd.DataFrame:
    """A writer's JSON Lines file: one item a line with ``text``, ``category``, ``register``, ``writer``."""
    df = pd.read_json(file, lines=True, dtype=False)
    if df.empty:
        return pd.DataFrame(columns=["call_id", "transcript", "category", "register", "writer"])
    return pd.DataFrame(
        {
            "call_id": df["id"].astype(str),
            "transcript": df["text"].astype(str),
            "category": df["category"].astype(str),
            "register": df.get("register", pd.Series(["unknown"] * len(df))).astype(str),
            "writer": df.get("writer", pd.Series([file.stem] * len(df))).astype(str),
        }
    )


def _read_legacy_csv(file: Path) -> pd.DataFrame:
    """The first hand-written files: export-format calls, or id/channel/text/category free text."""
    df = pd.read_csv(file, dtype=str, keep_default_na=False)
    text_col = (
        "transcript" if "transcript" in df.columns else next(c for c in TEXT_COLUMNS if c in df.columns)
    )
    ids = (
        df["call_id"]
        if "call_id" in df.columns
        else df.get("id", pd.Series([f"{file.stem}-{i}" for i in range(len(df))]))
    )
    if "channel" in df.columns and text_col != "transcript":
        register = df["channel"].map(_CHANNEL_REGISTER).fillna("app_message")
    else:
        register = pd.Series(["phone_asr"] * len(df))
    return pd.DataFrame(
        {
            "call_id": ids.astype(str),
            "transcript": df[text_col].astype(str),
            "category": df["category"].astype(str),
            "register": register.astype(str).to_numpy(),
            "writer": f"legacy-{file.stem}",
        }
    )


def load_eval_split(folder: str | Path) -> pd.DataFrame:
    """Every item of one hand-written split (``*.jsonl`` writer files and legacy ``*.csv``), cleaned."""
    folder = Path(folder)
    files = sorted(folder.glob("*.jsonl")) + sorted(folder.glob("*.csv"))
    if not files:
        raise DataError(f"{folder} 中没有评估文件 (*.jsonl / *.csv)")
    frames = [_read_items(f) if f.suffix == ".jsonl" else _read_legacy_csv(f) for f in files]
    df = pd.concat(frames, ignore_index=True)
    df = df[df["category"].isin(LABELS) & (df["transcript"].str.strip() != "")]
    if df.empty:
        raise DataError(f"{folder} 中没有带有效类别标签的条目")
    return df.reset_index(drop=True)


def eval_sets(root: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """The frozen sets training never sees: ``simulated``, ``dev`` and the sealed ``test`` (those present).

    ``dev`` decides (early stopping, calibration, review threshold, the gate);
    ``test`` is reported and decides nothing. Hand-written CSVs lying directly in
    ``independent/`` (an older layout) count as dev.
    """
    root = Path(root) if root else EVAL_DIR
    sets: dict[str, pd.DataFrame] = {}
    simulated = root / "simulated"
    if simulated.exists() and any(simulated.rglob("*.csv")):
        sets["simulated"] = load_labeled_texts(simulated)
    independent = root / "independent"
    for split in SPLITS:
        folder = independent / split
        if folder.is_dir() and (any(folder.glob("*.jsonl")) or any(folder.glob("*.csv"))):
            sets[split] = load_eval_split(folder)
    if "dev" not in sets and independent.is_dir() and any(independent.glob("*.csv")):
        sets["dev"] = load_eval_split(independent)
    return sets


def by_register(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One frame per register of a hand-written split (calls, messages, work orders, letters)."""
    if "register" not in df.columns:
        return {}
    return {str(reg): part.reset_index(drop=True) for reg, part in df.groupby("register", sort=True)}


def fingerprint(df: pd.DataFrame) -> str:
    """sha256 over call ids, texts and labels in a fixed order: what exactly a model was trained on."""
    digest = hashlib.sha256()
    for row in df.sort_values("call_id")[["call_id", "transcript", "category"]].itertuples(index=False):
        digest.update("\x1f".join(row).encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()

"""A night's records cut into partitions on disk, with per-partition classification checkpoints.

Tasks, local processes and Dask workers all get a partition *path*, never the
records themselves, and a finished partition leaves a checkpoint file next to
it. A run killed halfway therefore resumes where it stopped: partitions with a
checkpoint for the same classifier version are not classified again. Files are
written to a temporary name and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import get_settings
from pipeline.records import CallRecord

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Partition:
    """One slice of a night: where its records lie and where its predictions go."""

    index: int
    records_path: str
    predictions_path: str


def work_dir(night: str) -> Path:
    """Scratch folder of one night's run (under the product home, so reruns find it)."""
    return get_settings().home / "work" / night


def source_fingerprint(source: Path) -> str:
    """Names, sizes and modification times of the export files: a changed export restarts the night."""
    files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def read_manifest(night: str) -> dict[str, Any] | None:
    """The manifest of an earlier (possibly interrupted) run of this night, if any."""
    path = work_dir(night) / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def write_partitions(
    night: str, records: Sequence[CallRecord], size: int, meta: dict[str, Any]
) -> list[Partition]:
    """Cut ``records`` (in call_id order, so reruns cut the same way) into files of ``size`` records."""
    base = work_dir(night)
    if base.exists():
        shutil.rmtree(base)
    ordered = sorted(records, key=lambda r: r.call_id)
    partitions = []
    for index, start in enumerate(range(0, len(ordered), max(1, size))):
        part = _partition(base, index)
        _atomic_write(Path(part.records_path), pickle.dumps(ordered[start : start + size]))
        partitions.append(part)
    manifest = {**meta, "partitions": len(partitions), "size": size}
    _atomic_write(base / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
    return partitions


def existing_partitions(night: str, manifest: dict[str, Any]) -> list[Partition]:
    """The partitions an earlier run of this night wrote (all must still be on disk)."""
    base = work_dir(night)
    parts = [_partition(base, i) for i in range(int(manifest["partitions"]))]
    if not all(Path(p.records_path).exists() for p in parts):
        raise FileNotFoundError(f"partition files of {night} are incomplete")
    return parts


def _partition(base: Path, index: int) -> Partition:
    return Partition(
        index=index,
        records_path=str(base / "records" / f"part-{index:05d}.pkl"),
        predictions_path=str(base / "predictions" / f"part-{index:05d}.pkl"),
    )


def load_records(part: Partition) -> list[CallRecord]:
    with open(part.records_path, "rb") as fh:
        return pickle.load(fh)


def load_checkpoint(part: Partition, classifier_version: str) -> list[Any] | None:
    """Predictions saved for this partition by the same classifier version, else None."""
    path = Path(part.predictions_path)
    if not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            saved = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError):
        return None
    return saved["predictions"] if saved.get("classifier_version") == classifier_version else None


def save_checkpoint(part: Partition, classifier_version: str, predictions: Sequence[Any]) -> None:
    payload = {"classifier_version": classifier_version, "predictions": list(predictions)}
    _atomic_write(Path(part.predictions_path), pickle.dumps(payload))


def clear(night: str) -> None:
    """Remove a night's scratch files once its results are safely stored."""
    shutil.rmtree(work_dir(night), ignore_errors=True)

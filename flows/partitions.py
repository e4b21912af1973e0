"""A night's records cut into partitions on disk, with per-partition classification checkpoints.

Tasks, local processes and Dask workers all get a partition *path*, never the
records themselves, and a finished partition leaves a checkpoint file next to
it. A run killed halfway therefore resumes where it stopped: partitions with a
checkpoint for the same classifier version and the same calls are not
classified again. Files are written to a temporary name and renamed, so a
crash never leaves half a file.

The scratch folder of a run is ``work/<night>/<key>/``, where the key hashes
the target database and the input fingerprint: partitions cut for one database
(holding only the calls *that* database lacked) are never reused by a run into
another one, nor after the export changed.

The record files hold raw calls (phones, account numbers, full transcripts).
They live only while a run is going: :func:`remove_records` deletes them when a
run ends, failed or not; a run killed outright leaves an ``owner.json`` whose
process is gone, and the next run of the night (for any database) removes its
records (:func:`remove_orphaned_records`). Checkpoints keep only what scoring needs
later (category, probabilities, keyword signals, the *masked* transcript).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import get_settings
from pipeline.records import CallRecord
from pipeline.storage.db import safe_url

MANIFEST = "manifest.json"
OWNER = "owner.json"
CHECKPOINT_FORMAT = 2


@dataclass(frozen=True)
class Partition:
    """One slice of a night: where its records lie, where its predictions go, and which calls it holds."""

    index: int
    records_path: str
    predictions_path: str
    ids_digest: str = ""


def run_key(db_url: str, fingerprint: str, size: int) -> str:
    """The scratch folder name of a run: one database, one input, one partition size."""
    text = f"{safe_url(db_url)}|{fingerprint}|{size}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def work_dir(night: str, key: str | None = None) -> Path:
    """Scratch folder of one night (under the product home, so reruns find it), or of one run key."""
    base = get_settings().home / "work" / night
    return base / key if key else base


def source_fingerprint(source: Path) -> str:
    """Names, sizes and modification times of the export files: a changed export restarts the night."""
    files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(source) if source.is_dir() else path.name}:".encode())
        digest.update(f"{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def _atomic_write(path: Path, data: bytes) -> None:
    _private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def read_manifest(night: str, key: str) -> dict[str, Any] | None:
    """The manifest of an earlier (possibly interrupted) run of this night and key, if any."""
    path = work_dir(night, key) / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _ids_digest(records: Sequence[CallRecord]) -> str:
    return hashlib.sha256("\n".join(r.call_id for r in records).encode("utf-8")).hexdigest()[:16]


def write_partitions(
    night: str, key: str, records: Sequence[CallRecord], size: int, meta: dict[str, Any]
) -> list[Partition]:
    """Cut ``records`` (in call_id order, so reruns cut the same way) into files of ``size`` records.

    Checkpoints of an earlier run with the same key stay: a partition that holds
    the same calls reuses its checkpoint.
    """
    _private_dir(work_dir(night))
    base = work_dir(night, key)
    shutil.rmtree(base / "records", ignore_errors=True)
    owner = {"host": socket.gethostname(), "pid": os.getpid()}
    _atomic_write(base / OWNER, json.dumps(owner).encode("utf-8"))
    ordered = sorted(records, key=lambda r: r.call_id)
    parts = []
    for index, start in enumerate(range(0, len(ordered), max(1, size))):
        chunk = ordered[start : start + size]
        part = _partition(base, index, _ids_digest(chunk))
        _atomic_write(Path(part.records_path), pickle.dumps(chunk))
        parts.append(part)
    for stale in (base / "predictions").glob("part-*.pkl") if (base / "predictions").exists() else ():
        if int(stale.stem.split("-")[1]) >= len(parts):
            stale.unlink(missing_ok=True)
    manifest = {**meta, "partitions": [p.ids_digest for p in parts], "size": size}
    _atomic_write(base / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
    return parts


def _partition(base: Path, index: int, ids_digest: str) -> Partition:
    return Partition(
        index=index,
        records_path=str(base / "records" / f"part-{index:05d}.pkl"),
        predictions_path=str(base / "predictions" / f"part-{index:05d}.pkl"),
        ids_digest=ids_digest,
    )


def load_records(part: Partition) -> list[CallRecord]:
    with open(part.records_path, "rb") as fh:
        return pickle.load(fh)


def _saved(part: Partition, classifier_version: str) -> list[dict[str, Any]] | None:
    path = Path(part.predictions_path)
    if not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            saved = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        return None
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT:
        return None
    if saved.get("classifier_version") != classifier_version or saved.get("ids") != part.ids_digest:
        return None
    return saved["predictions"]


def has_checkpoint(part: Partition, classifier_version: str) -> bool:
    """Whether this partition was classified already, by the same classifier, for the same calls."""
    return _saved(part, classifier_version) is not None


def load_checkpoint(part: Partition, classifier_version: str) -> list[Any] | None:
    """The partition's classified calls (records joined back from its record file), or None."""
    from pipeline.scoring import ClassifiedCall

    saved = _saved(part, classifier_version)
    if saved is None:
        return None
    records = {r.call_id: r for r in load_records(part)}
    return [ClassifiedCall(record=records[item.pop("call_id")], **item) for item in map(dict, saved)]


def save_checkpoint(part: Partition, classifier_version: str, predictions: Sequence[Any]) -> None:
    """Keep what scoring needs from each classified call, without the raw record."""
    items = []
    for c in predictions:
        items.append(
            {
                "call_id": c.record.call_id,
                "category": c.category,
                "confidence": c.confidence,
                "probabilities": c.probabilities,
                "needs_review": c.needs_review,
                "classifier_version": c.classifier_version,
                "signals": c.signals,
                "masked_transcript": c.masked_transcript,
            }
        )
    payload = {
        "format": CHECKPOINT_FORMAT,
        "classifier_version": classifier_version,
        "ids": part.ids_digest,
        "predictions": items,
    }
    _atomic_write(Path(part.predictions_path), pickle.dumps(payload))


def remove_records(night: str, key: str | None = None) -> None:
    """Delete the raw record files of a run (of every run of the night without ``key``)."""
    bases = [work_dir(night, key)] if key else [p for p in work_dir(night).glob("*") if p.is_dir()]
    for base in bases:
        shutil.rmtree(base / "records", ignore_errors=True)


def _owner_gone(base: Path) -> bool:
    try:
        owner = json.loads((base / OWNER).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return True
    if owner.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, KeyError, TypeError):
        return False
    return False


def remove_orphaned_records(night: str) -> list[str]:
    """Delete raw record files of this night left by runs whose process is gone; returns their keys."""
    night_dir = work_dir(night)
    removed = []
    for base in sorted(p for p in night_dir.glob("*") if p.is_dir()) if night_dir.exists() else []:
        if (base / "records").exists() and _owner_gone(base):
            shutil.rmtree(base / "records", ignore_errors=True)
            removed.append(base.name)
    return removed


def clear(night: str, key: str) -> None:
    """Remove a run's scratch files once its results are safely stored (and the night folder if empty)."""
    shutil.rmtree(work_dir(night, key), ignore_errors=True)
    night_dir = work_dir(night)
    if night_dir.exists() and not any(night_dir.iterdir()):
        night_dir.rmdir()

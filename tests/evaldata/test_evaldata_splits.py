"""The hand-written yardstick: dev decides, test is sealed, and both are clean taxonomy-labelled items."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from models.data import eval_sets, load_eval_split
from pipeline.labels import LABELS

ROOT = Path(__file__).resolve().parents[2] / "data" / "eval" / "independent"
SEAL = ROOT / "test" / "SHA256SUMS"
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _items(split: str) -> list[dict]:
    return [
        json.loads(line) for f in sorted((ROOT / split).glob("*.jsonl")) for line in f.open(encoding="utf-8")
    ]


def test_sealed_test_split_matches_its_recorded_hashes() -> None:
    """Changing the sealed split needs the recorded hash changed in the same commit: a deliberate act."""
    recorded = dict(
        reversed(line.split("  ", 1)) for line in SEAL.read_text(encoding="utf-8").splitlines() if line
    )
    files = sorted(p.name for p in (ROOT / "test").glob("*.jsonl"))
    assert sorted(recorded) == files
    for name in files:
        assert hashlib.sha256((ROOT / "test" / name).read_bytes()).hexdigest() == recorded[name], name


@pytest.mark.parametrize("split", ["dev", "test"])
def test_items_are_labelled_unique_and_masked(split: str) -> None:
    items = _items(split)
    assert items, split
    assert {i["category"] for i in items} <= set(LABELS)
    assert len({i["id"] for i in items}) == len(items)
    assert len({i["text"] for i in items}) == len(items)
    assert not [i["id"] for i in items if MOBILE.search(i["text"])]


def test_dev_and_test_share_no_writer_and_no_text() -> None:
    dev, test = _items("dev"), _items("test")
    assert not {i["writer"] for i in dev} & {i["writer"] for i in test}
    assert not {i["text"] for i in dev} & {i["text"] for i in test}


def test_eval_sets_reads_both_splits_with_registers() -> None:
    sets = eval_sets()
    assert {"dev", "test", "simulated"} <= set(sets)
    for split in ("dev", "test"):
        df = sets[split]
        assert set(df["category"]) == set(LABELS)
        assert df["register"].nunique() >= 3
    assert len(load_eval_split(ROOT / "dev")) == len(sets["dev"])


STORYLINES = ROOT / "storylines"


def test_sealed_storylines_match_their_recorded_hashes() -> None:
    """The early-warning yardstick's test split is sealed the same way."""
    recorded = dict(
        reversed(line.split("  ", 1))
        for line in (STORYLINES / "test" / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
        if line
    )
    files = sorted(p.name for p in (STORYLINES / "test").glob("*.jsonl"))
    assert files and sorted(recorded) == files
    for name in files:
        assert hashlib.sha256((STORYLINES / "test" / name).read_bytes()).hexdigest() == recorded[name], name


@pytest.mark.parametrize("split", ["dev", "test"])
def test_storylines_load_as_labelled_calls_in_time_order(split: str) -> None:
    from models.risk.storylines import load_storylines

    stories = load_storylines(split)
    assert len(stories.escalated_at) >= 40
    assert (
        0.2 <= sum(at is not None for at in stories.escalated_at.values()) / len(stories.escalated_at) <= 0.6
    )
    by_story: dict[str, list] = {}
    for record in stories.records:
        by_story.setdefault(stories.problem_of[record.call_id], []).append(record)
        assert record.call_time.tzinfo is not None and record.category in LABELS
        assert not MOBILE.search(record.transcript)
    for sid, calls in by_story.items():
        times = [c.call_time for c in calls]
        assert times == sorted(times), sid
        escalated = stories.escalated_at[sid]
        assert escalated is None or escalated > times[0], sid


def test_storyline_writers_differ_between_splits() -> None:
    from models.risk.storylines import load_storylines

    dev, test = load_storylines("dev"), load_storylines("test")
    assert not {r.transcript for r in dev.records} & {r.transcript for r in test.records}
    assert not {s.split("-")[0] for s in dev.escalated_at} & {s.split("-")[0] for s in test.escalated_at}

"""Behaviour in Chinese: each `other` situation and each boundary rule, classified as the taxonomy says.

The cases (tests/models/behaviour_cases.jsonl) were written from the taxonomy alone by
someone who saw neither the simulator's language nor the evaluation sets. The model
is the first run's champion recipe: the ensemble fine-tuned from the shipped base on
the bundled sample nights, gated on dev. Measured when this was written: 99 of 118 right;
every group at least half, fraud texts and live hazards with supply intact the weakest
(3 of 6 each). A group the model gets mostly wrong (under a third) is a defect of the recipe.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from models.transformer_training import SHIPPED_BASE
from pipeline.config import DATA_DIR, SAMPLE_DIR

CASES = [
    json.loads(line) for line in (Path(__file__).with_name("behaviour_cases.jsonl")).open(encoding="utf-8")
]
GROUPS = sorted({c["case"] for c in CASES})

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (SHIPPED_BASE / "config.json").exists(), reason="no shipped base in data/base"),
]


@pytest.fixture(scope="module")
def first_run_champion(mlflow_home):
    from models.registry import load_classifier
    from models.training import train_classifier

    outcome = train_classifier(
        "ensemble", SAMPLE_DIR, preset="quick", register=False, eval_dir=DATA_DIR / "eval"
    )
    return load_classifier(model_uri=outcome.model_uri)


@pytest.fixture(scope="module")
def verdicts(first_run_champion) -> dict[str, list[tuple[bool, str, str]]]:
    predictions = first_run_champion.predict([c["text"] for c in CASES])
    out: dict[str, list[tuple[bool, str, str]]] = defaultdict(list)
    for case, pred in zip(CASES, predictions, strict=True):
        out[case["case"]].append((pred.category == case["category"], pred.category, case["text"]))
    return out


def test_every_group_has_cases() -> None:
    assert {g for g in GROUPS if g.startswith("other:")} >= {
        "other:rude_staff",
        "other:line_close",
        "other:pole",
        "other:tree",
        "other:move_pole",
        "other:noise",
        "other:street_light",
        "other:fraud",
        "other:theft",
        "other:praise",
        "other:consult",
        "other:app_login",
        "other:hazard",
    }
    assert {f"rule{i}" for i in range(1, 6)} <= set(GROUPS)


@pytest.mark.parametrize("group", GROUPS)
def test_group_is_classified_as_the_taxonomy_says(group: str, verdicts) -> None:
    results = verdicts[group]
    right = sum(ok for ok, _, _ in results)
    misses = [f"{pred}: {text}" for ok, pred, text in results if not ok]
    assert right / len(results) >= 1 / 3, misses


def test_overall_behaviour(verdicts) -> None:
    results = [ok for group in verdicts.values() for ok, _, _ in group]
    assert sum(results) / len(results) >= 0.75

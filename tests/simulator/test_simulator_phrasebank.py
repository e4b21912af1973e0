"""The template grammar: expansion, partitions, and refusal of malformed templates."""

from __future__ import annotations

import random

import pytest

from pipeline.simulator.phrasebank import Grammar, partition_of


def test_expansion_uses_slots_alternatives_and_context() -> None:
    g = Grammar({"who": "我家|俺家|我们屋头", "say": "{who}[停电|没电]了，在{place}"})
    rng = random.Random(0)
    seen = {g.expand("say", rng, "train", {"place": "河尾村"}) for _ in range(200)}
    assert all(s.endswith("了，在河尾村") for s in seen)
    assert len(seen) >= 4


def test_partitions_are_stable_and_disjoint() -> None:
    items = [f"句式{i}" for i in range(30)]
    g = Grammar({"x": items})
    rng = random.Random(1)
    train = {g.expand("x", rng, "train", {}) for _ in range(400)}
    hold = {g.expand("x", rng, "holdout", {}) for _ in range(400)}
    assert train and hold and not train & hold
    assert hold == {i for i in items if partition_of(i) == "holdout"}


def test_shared_banks_serve_both_partitions() -> None:
    g = Grammar({"x": [f"好的{i}" for i in range(9)]}, shared=frozenset({"x"}))
    rng = random.Random(2)
    assert {g.expand("x", rng, "holdout", {}) for _ in range(300)} == {f"好的{i}" for i in range(9)}


def test_malformed_templates_are_refused() -> None:
    with pytest.raises(ValueError, match="brackets"):
        Grammar({"x": "a[b[c|d]|e]|f|g"})
    with pytest.raises(ValueError, match="shared"):
        Grammar({"x": "a|b|c"}, shared=frozenset({"y"}))
    with pytest.raises(KeyError):
        Grammar({"x": ["{missing}"]}).expand("x", random.Random(0), "train", {})

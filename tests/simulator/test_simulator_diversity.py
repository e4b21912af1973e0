"""Variety: no customer sentence in more than 1% of calls; held-out phrasings differ from train."""

from __future__ import annotations

import pandas as pd

from pipeline.simulator.banks import grammar
from pipeline.simulator.banks.common import SHARED
from pipeline.simulator.metrics import customer_speech, sentence_call_counts, sentences


def test_no_customer_sentence_in_more_than_one_percent_of_calls(train_df: pd.DataFrame) -> None:
    counts, n = sentence_call_counts(train_df["transcript"])
    assert n > 1000
    sentence, calls = counts.most_common(1)[0]
    assert calls / n < 0.01, (sentence, calls / n)


def test_holdout_run_also_obeys_the_one_percent_rule(holdout_df: pd.DataFrame) -> None:
    counts, n = sentence_call_counts(holdout_df["transcript"])
    sentence, calls = counts.most_common(1)[0]
    assert calls / n < 0.01, (sentence, calls / n)


def test_holdout_phrasings_differ_from_train(train_df: pd.DataFrame, holdout_df: pd.DataFrame) -> None:
    train = set().union(*(sentences(customer_speech(t)) for t in train_df["transcript"]))
    hold = [s for t in holdout_df["transcript"] for s in sentences(customer_speech(t))]
    shared = sum(s in train for s in hold) / len(hold)
    assert shared < 0.2, shared
    assert set(holdout_df["phrasing_split"]) == {"holdout"}


def test_partitioned_banks_have_disjoint_non_empty_sides() -> None:
    g = grammar()
    partitioned = 0
    for name, bank in g.banks.items():
        train, hold = bank.by_split["train"], bank.by_split["holdout"]
        assert train and hold, name
        if name in SHARED:
            assert not bank.partitioned, name
        if bank.partitioned:
            assert not set(train) & set(hold), name
            partitioned += 1
    assert partitioned > 100


def test_no_template_syntax_leaks_into_transcripts(train_df: pd.DataFrame) -> None:
    leaked = train_df["transcript"].str.contains(r"[\[\]{}|]", regex=True)
    assert not leaked.any(), train_df.loc[leaked, "transcript"].head(3).tolist()


def test_every_bank_expands_with_the_call_context() -> None:
    import random
    import re
    from datetime import date

    from pipeline.simulator.escalation import EscalationWeights
    from pipeline.simulator.events import EventGenerator
    from pipeline.simulator.render import Renderer
    from pipeline.simulator.world import build_world

    world = build_world(random.Random(1))
    plan = (
        EventGenerator(world, random.Random(2), 0.05, EscalationWeights()).day(date(2026, 6, 1))[0].calls[0]
    )
    rng = random.Random(3)
    # ``catname`` is added by the renderer only when the agent names the category.
    ctx = {**Renderer("train")._ctx(plan, rng, 0.5), "catname": "停电故障"}
    g = grammar()
    for split in ("train", "holdout"):
        for name in g.banks:
            for _ in range(15):
                text = g.expand(name, rng, split, ctx)
                assert not re.search(r"[\[\]{}|]", text), (name, text)

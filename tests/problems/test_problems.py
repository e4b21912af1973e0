"""Problems as the unit (issue 11, item 2, library part): grouping robust to a misclassified call,
signals carried forward, and every open problem listed for re-scoring."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from pipeline.labels import LABELS
from pipeline.problems import ProblemCall, group_calls, open_problems

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 19, 0, tzinfo=SH)


def _p(**probs: float) -> dict[str, float]:
    rest = (1.0 - sum(probs.values())) / (len(LABELS) - len(probs))
    return {label: probs.get(label, rest) for label in LABELS}


def _call(call_id, hours=0.0, *, probs, customer="c1", area="河尾村", flags=None) -> ProblemCall:
    return ProblemCall(call_id, T0 + timedelta(hours=hours), customer, area, probs, flags or {})


def test_a_misclassified_call_stays_in_its_problem_and_does_not_flip_its_category():
    calls = [
        _call("A1", probs=_p(outage=0.9)),
        _call("A2", 20, probs=_p(voltage=0.55, outage=0.4)),  # the classifier's top label is wrong
        _call("A3", 44, probs=_p(outage=0.8)),
    ]
    problem_of, problems = group_calls(calls)
    assert set(problem_of.values()) == {"A1"}
    assert problems["A1"].calls == 3 and problems["A1"].category == "outage"


def test_another_matter_another_place_or_a_long_gap_is_another_problem():
    calls = [
        _call("A1", probs=_p(outage=0.9)),
        _call("B1", 2, probs=_p(connection=0.9)),
        _call("C1", 3, probs=_p(outage=0.9), area="下关镇"),
        _call("D1", 24 * 40, probs=_p(outage=0.9)),
        _call("E1", 4, probs=_p(outage=0.9), customer="c2"),
        _call("A2", 2.5, probs=_p(outage=0.7), area=None),  # no area given: still the same problem
    ]
    problem_of, _ = group_calls(calls)
    assert problem_of == {"A1": "A1", "B1": "B1", "C1": "C1", "D1": "D1", "E1": "E1", "A2": "A1"}


def test_problems_continue_across_nights_with_stable_ids():
    _, night1 = group_calls([_call("A1", probs=_p(outage=0.9))])
    problem_of, night2 = group_calls([_call("A2", 26, probs=_p(outage=0.6))], night1.values())
    assert problem_of == {"A2": "A1"} and night2["A1"].call_ids == ["A1", "A2"]
    again, _ = group_calls([_call("A2", 26, probs=_p(outage=0.6))], night2.values())
    assert again == {"A2": "A1"} and night2["A1"].calls == 2  # a call seen again is not added twice


def test_a_threat_two_nights_ago_still_counts_on_the_problem():
    calls = [
        _call("A1", probs=_p(outage=0.9), flags={"threat_regulator": 1}),
        _call("A2", 48, probs=_p(outage=0.9), flags={"threat_regulator": 0}),
    ]
    _, problems = group_calls(calls)
    now = T0 + timedelta(hours=50)
    assert problems["A1"].carried(now) == {"threat_regulator": T0}
    assert problems["A1"].carried(T0 + timedelta(days=45)) == {}


def test_every_open_problem_is_listed_for_tonight_also_without_a_new_call():
    _, problems = group_calls(
        [_call("A1", probs=_p(outage=0.9)), _call("B1", 1, probs=_p(voltage=0.9), customer="c2")]
    )
    tonight = T0 + timedelta(days=3)
    assert [p.problem_id for p in open_problems(problems.values(), tonight)] == ["A1", "B1"]
    assert open_problems(problems.values(), T0 + timedelta(days=31)) == []


def _noisy(label: str, rng: random.Random) -> dict[str, float]:
    """Classifier-like probabilities: mostly right, one call in six with the top label wrong."""
    others = [lab for lab in LABELS if lab != label]
    if rng.random() < 1 / 6:
        wrong = rng.choice(others)
        top, second = rng.uniform(0.45, 0.6), rng.uniform(0.25, 0.4)
        probs = {wrong: top, label: second}
    else:
        probs = {label: rng.uniform(0.55, 0.95)}
    rest = (1.0 - sum(probs.values())) / (len(LABELS) - len(probs))
    return {lab: probs.get(lab, rest) for lab in LABELS}


def test_on_simulated_nights_probabilities_split_fewer_problems_than_top_labels(tmp_path):
    from pipeline.simulator import load_labeled, simulate

    simulate(tmp_path, days=6, seed=17, scale=0.3)
    df = load_labeled(tmp_path).sort_values("call_time")
    rng = random.Random(5)
    soft, hard = [], []
    for row in df.itertuples(index=False):
        probs = _noisy(row.category, rng)
        top = max(probs, key=probs.get)
        area = row.area if isinstance(row.area, str) else None
        base = (row.call_id, row.call_time.to_pydatetime(), row.customer_key, area)
        soft.append(ProblemCall(*base, probs))
        hard.append(ProblemCall(*base, {lab: float(lab == top) for lab in LABELS}))
    frame = pd.DataFrame({"call_id": df["call_id"], "truth": df["problem_id"]})
    frame["soft"] = frame["call_id"].map(group_calls(soft)[0])
    frame["hard"] = frame["call_id"].map(group_calls(hard)[0])
    multi = frame.groupby("truth").filter(lambda g: len(g) > 1)

    def split(column: str) -> float:
        return float((multi.groupby("truth")[column].nunique() > 1).mean())

    def merged(column: str) -> float:
        return float((frame.groupby(column)["truth"].nunique() > 1).mean())

    assert len(multi["truth"].unique()) > 100
    assert split("soft") < 0.5 * split("hard"), (split("soft"), split("hard"))
    assert split("soft") < 0.1 and merged("soft") < 0.04, (split("soft"), merged("soft"))

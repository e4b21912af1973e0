"""The simulator speaks whole-written bank items, only where the storyline allows, and perturbs them."""

from __future__ import annotations

import json
import random
import re

import pandas as pd
import pytest

from pipeline.labels import LABELS
from pipeline.simulator.metrics import agent_naming_share
from pipeline.simulator.textbank import BankItem, TextBank, Want, perturb_numbers, read_items, text_bank


def _item(
    text: str, mentions: tuple[str, ...] = (), region: str = "north", register: str = "phone_asr"
) -> BankItem:
    return BankItem(
        id=text,
        writer="t",
        region=region,
        register=register,
        persona="p",
        category="outage",
        subtype="home_no_power",
        stance="calm",
        mentions=frozenset(mentions),
        text=text,
    )


def _want(**overrides) -> Want:
    base = dict(
        category="outage",
        subtype="home_no_power",
        channel="phone",
        region="north",
        elderly=False,
        repeat=False,
        missed=False,
        vulnerable=False,
        wide=False,
    )
    return Want(**{**base, **overrides})


def _split_of(items: list[BankItem], split: str) -> list[BankItem]:
    return [i for i in items if i.split == split]


def test_a_first_call_never_says_it_called_before() -> None:
    items = [_item(f"我家又没电了，第{i}回打了") for i in range(30)]
    repeat = [_item(f"我家没电了{i}", mentions=("repeat",)) for i in range(30)]
    bank = TextBank(items + repeat)
    rng = random.Random(1)
    for split in ("train", "holdout"):
        drawn = [bank.draw(_want(), split, rng) for _ in range(200)]
        assert all(d is not None and "repeat" not in d.mentions for d in drawn)
        again = [bank.draw(_want(repeat=True), split, rng) for _ in range(200)]
        assert any("repeat" in d.mentions for d in again)


def test_holdout_calls_only_speak_holdout_items() -> None:
    items = [_item(f"停电了，第{i}句话") for i in range(60)]
    bank = TextBank(items)
    rng = random.Random(2)
    holdout = {i.text for i in _split_of(items, "holdout")}
    assert holdout and len(holdout) < len(items)
    assert all(bank.draw(_want(), "holdout", rng).text in holdout for _ in range(100))


def test_written_channels_draw_written_registers() -> None:
    bank = TextBank(
        [_item(f"说的{i}") for i in range(20)]
        + [_item(f"写的{i}", register="app_message") for i in range(20)]
    )
    rng = random.Random(3)
    for _ in range(50):
        got = bank.draw(_want(channel="app"), "train", rng)
        assert got is not None and got.register == "app_message"


def test_region_is_preferred_when_the_bank_has_it() -> None:
    items = [_item(f"北方话{i}") for i in range(40)] + [
        _item(f"西南话{i}", region="southwest") for i in range(40)
    ]
    bank = TextBank(items)
    rng = random.Random(4)
    regions = [bank.draw(_want(region="southwest"), "train", rng).region for _ in range(300)]
    assert regions.count("southwest") / len(regions) > 0.7


def test_a_broken_line_names_its_file_and_line(tmp_path) -> None:
    path = tmp_path / "w9.jsonl"
    path.write_text(json.dumps({"id": "a", "writer": "w9"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="w9.jsonl 第 1 行"):
        read_items([path])


def test_number_perturbation_changes_amounts_not_words() -> None:
    rng = random.Random(5)
    text = "上个月电费才120块，这个月要三百多块，我一直在家"
    outs = {perturb_numbers(text, rng, rate=1.0) for _ in range(20)}
    assert len(outs) > 1
    assert all("一直在家" in o and re.search(r"\d{3}块", o) for o in outs)


def test_bundled_bank_is_labelled_with_taxonomy_labels() -> None:
    bank = text_bank()
    assert len(bank) > 0
    assert {i.category for i in bank.items} <= set(LABELS)


def test_simulated_calls_mostly_speak_bank_items(train_df: pd.DataFrame) -> None:
    bank_sentences = {
        s for item in text_bank().items for s in re.split(r"[。！？!?；;，,]", item.text) if len(s) >= 8
    }
    hits = train_df["transcript"].map(lambda t: any(s in t for s in bank_sentences))
    assert hits.mean() > 0.4


def test_agent_names_the_category_in_at_most_15_percent_of_calls(train_df: pd.DataFrame) -> None:
    names = [
        "停电故障",
        "故障报修",
        "紧急抢修",
        "电压质量",
        "电能质量",
        "电压异常",
        "抄表收费",
        "电费核查",
        "计量异常",
        "电费电价",
        "用电办理",
        "业扩报装",
        "业务办理",
        "用电业务",
        "新装增容",
        "意见建议",
        "安全隐患",
        "服务投诉",
    ]
    assert agent_naming_share(train_df["transcript"], names) <= 0.15

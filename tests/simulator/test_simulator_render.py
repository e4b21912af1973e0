"""Transcripts read like exported ASR output: turns, label variants, dialect by region, noise, free text."""

from __future__ import annotations

import pandas as pd

from pipeline.simulator.asr import HOMOPHONES


def _unit_text(df: pd.DataFrame, units: tuple[str, ...]) -> str:
    return "\n".join(df.loc[df["unit"].isin(units), "transcript"])


def test_dialect_follows_geography(train_df: pd.DataFrame) -> None:
    southwest = _unit_text(train_df, ("大理供电局", "毕节供电局", "遵义供电局", "昭通供电局"))
    north = _unit_text(train_df, ("国网保定供电公司", "国网周口供电公司", "国网长春供电公司"))
    guangxi = _unit_text(train_df, ("南宁供电局", "玉林供电局", "梧州供电局"))
    for word in ("莫得", "晓得", "屋头", "啥子"):
        assert southwest.count(word) > 3 * max(1, north.count(word)), word
    assert north.count("俺") > 5 * max(1, southwest.count("俺"))
    assert guangxi.count("冇") > 5 * max(1, north.count("冇") + southwest.count("冇"))


def test_speaker_label_variants_and_layouts(train_df: pd.DataFrame) -> None:
    phone = train_df.loc[train_df["channel"] == "phone", "transcript"]
    for label in ("坐席：", "客服", "话务员", "用户", "来电人", "客户:"):
        assert phone.str.contains(label, regex=False).any(), label
    one_line = ~phone.str.contains("\n")
    assert 0.02 < one_line.mean() < 0.3
    assert phone.str.contains("很高兴为您服务").any()


def test_free_text_channels_have_no_turns(train_df: pd.DataFrame) -> None:
    free = train_df.loc[train_df["channel"] != "phone", "transcript"]
    assert len(free) > 50
    assert not free.str.contains("坐席|客服：|话务员").any()


def test_asr_noise_and_spoken_numbers(train_df: pd.DataFrame) -> None:
    text = "\n".join(train_df["transcript"])
    errors = {wrong for wrongs in HOMOPHONES.values() for wrong in wrongs if wrong in text}
    assert len(errors) > 25
    assert "幺" in text and "洞" in text


def test_boundary_cases_keep_the_cause_label(train_df: pd.DataFrame) -> None:
    # Arrears disconnections talk about lost power but are billing; surges on restoration are voltage.
    billing = train_df.loc[train_df["category"] == "meter_billing", "transcript"]
    assert billing.str.contains("欠费").any() and billing.str.contains("停|断电|没电|复电", regex=True).any()
    voltage = train_df.loc[train_df["category"] == "voltage", "transcript"]
    assert voltage.str.contains("来电|停电", regex=True).sum() > 5
    outage = train_df.loc[train_df["category"] == "outage", "transcript"]
    assert outage.str.contains("态度|难听|挂了|爱理不理", regex=True).any()


def test_repeat_calls_refer_to_earlier_calls(train_df: pd.DataFrame) -> None:
    ordered = train_df.sort_values("call_time")
    later = ordered[ordered.duplicated("problem_id")]
    first = ordered.drop_duplicates("problem_id")
    pattern = "上次|又|第[二三四五六七]次|工单号|打过|上回|之前"
    assert (
        later["transcript"].str.contains(pattern, regex=True).mean()
        > first["transcript"].str.contains(pattern, regex=True).mean() + 0.3
    )


def test_call_lengths_vary(train_df: pd.DataFrame) -> None:
    lengths = train_df.loc[train_df["channel"] == "phone", "transcript"].str.len()
    assert lengths.quantile(0.05) < 120 and lengths.quantile(0.95) > 400


def test_numbers_and_waits_are_said_the_chinese_way() -> None:
    import random
    from datetime import timedelta

    from pipeline.simulator.spoken import cn_int, count, duration

    assert [cn_int(n) for n in (0, 10, 15, 20, 105, 110, 1200, 2034)] == [
        "零", "十", "十五", "二十", "一百零五", "一百一十", "一千二百", "二千零三十四",
    ]  # fmt: skip
    assert count(2) == "两"
    rng = random.Random(0)
    waits = {duration(timedelta(days=d), rng) for d in range(1, 30) for _ in range(5)}
    assert not any(w.endswith("了") or ("多天" in w and w[0] not in "十二") for w in waits)

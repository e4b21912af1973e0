"""The independent evaluation set is ground truth: these checks keep it well-formed, balanced and clean."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pipeline.labels import LABELS
from pipeline.records import CHANNELS, CONTRACT_FIELDS

CALL_COLUMNS = [
    "call_id",
    "call_time",
    "customer_id",
    "phone",
    "unit",
    "area",
    "channel",
    "duration_s",
    "transcript",
    "category",
    "escalated_12398",
    "escalated_at",
]
FREETEXT_COLUMNS = ["id", "channel", "text", "category"]
FREETEXT_CHANNELS = {"app", "web", "wechat", "letter", "12398-forward"}
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
SPOKEN_DIGITS = str.maketrans("零〇幺一二三四五六七八九", "001123456789")
SPOKEN_RUN = re.compile(r"[零〇幺一二三四五六七八九](?: ?[零〇幺一二三四五六七八九]){10,}")
MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")
AGENT, CUSTOMER = "坐席：", "客户："
# Per-label minimum share of a file: five labels, `other` allowed to be somewhat smaller.
MIN_SHARE = {"meter_billing": 0.15, "outage": 0.15, "voltage": 0.15, "connection": 0.15, "other": 0.10}
MAX_SHARE = 0.30


def _squash(text: str) -> str:
    """Text with whitespace and punctuation removed, so near-copies count as duplicates."""
    return re.sub(r"[\s，。、！？!?,.：:；;“”\"'…]+", "", text)


def _naive(stamp: str) -> pd.Timestamp:
    """Wall-clock time; stamps without an offset are Asia/Shanghai, as are those with +08:00."""
    return pd.Timestamp.fromisoformat(stamp).tz_localize(None)


def test_calls_have_exactly_the_contract_columns(calls: pd.DataFrame) -> None:
    assert list(calls.columns) == CALL_COLUMNS
    assert set(CALL_COLUMNS) == set(CONTRACT_FIELDS)


def test_freetext_columns(freetext: pd.DataFrame) -> None:
    assert list(freetext.columns) == FREETEXT_COLUMNS


@pytest.mark.parametrize("frame_name,minimum", [("calls", 140), ("freetext", 230)])
def test_sizes(frame_name: str, minimum: int, request: pytest.FixtureRequest) -> None:
    assert len(request.getfixturevalue(frame_name)) >= minimum


@pytest.mark.parametrize("frame_name", ["calls", "freetext"])
def test_labels_are_taxonomy_labels_in_sane_shares(frame_name: str, request: pytest.FixtureRequest) -> None:
    frame = request.getfixturevalue(frame_name)
    assert set(frame["category"]) <= set(LABELS), set(frame["category"]) - set(LABELS)
    shares = frame["category"].value_counts(normalize=True)
    for label in LABELS:
        assert shares.get(label, 0.0) >= MIN_SHARE[label], (label, shares.get(label, 0.0))
        assert shares.get(label, 0.0) <= MAX_SHARE, (label, shares[label])


def test_ids_unique(calls: pd.DataFrame, freetext: pd.DataFrame) -> None:
    assert calls["call_id"].is_unique
    assert freetext["id"].is_unique
    assert (calls["call_id"] != "").all() and (freetext["id"] != "").all()


def test_no_duplicated_texts(calls: pd.DataFrame, freetext: pd.DataFrame) -> None:
    texts = [_squash(t) for t in list(calls["transcript"]) + list(freetext["text"])]
    assert all(texts)
    duplicated = pd.Series(texts)[pd.Series(texts).duplicated()]
    assert duplicated.empty, duplicated.tolist()


def test_most_calls_have_agent_and_customer_turns(calls: pd.DataFrame) -> None:
    phone = calls[calls["channel"] == "phone"]
    both = phone["transcript"].map(lambda t: AGENT in t and CUSTOMER in t)
    assert both.mean() >= 0.95
    assert len(phone) >= 0.9 * len(calls)


def test_turn_transcripts_have_one_prefixed_turn_per_line(calls: pd.DataFrame) -> None:
    for call_id, text in zip(calls["call_id"], calls["transcript"], strict=True):
        if AGENT in text or CUSTOMER in text:
            lines = text.split("\n")
            assert all(line.startswith((AGENT, CUSTOMER)) for line in lines), call_id


def test_mix_of_short_and_long_calls(calls: pd.DataFrame) -> None:
    turns = calls["transcript"].str.count("\n") + 1
    assert (turns <= 4).sum() >= 5
    assert (turns >= 9).sum() >= 5


@pytest.mark.parametrize(
    "region,markers,minimum",
    [
        ("southwest", r"莫得|咋个|啥子|晓得|要得|屋头|搞哪样", 25),
        ("guangxi", r"冇|系咪|唔|嘅|咗|喺|点解", 20),
        ("north", r"俺|咋整|闺女|整坏|咋回事|那玩意", 20),
    ],
)
def test_regional_speech_is_represented(calls: pd.DataFrame, region: str, markers: str, minimum: int) -> None:
    assert calls["transcript"].str.contains(markers).sum() >= minimum, region


def test_channels_are_known(calls: pd.DataFrame, freetext: pd.DataFrame) -> None:
    assert set(calls["channel"]) <= set(CHANNELS)
    assert set(freetext["channel"]) == FREETEXT_CHANNELS


def test_freetext_has_no_speaker_turns(freetext: pd.DataFrame) -> None:
    assert not freetext["text"].str.contains(f"{AGENT}|{CUSTOMER}").any()
    assert not freetext["text"].str.contains("\n").any()


def test_no_unmasked_mobile_numbers_anywhere(calls: pd.DataFrame, freetext: pd.DataFrame) -> None:
    for frame in (calls, freetext):
        for column in frame.columns:
            hits = frame[column].map(lambda v: bool(MOBILE.search(v)))
            assert not hits.any(), (column, frame.loc[hits, column].tolist()[:3])
    assert calls["phone"].map(lambda p: bool(MASKED_PHONE.match(p))).all()


def test_no_mobile_number_read_out_digit_by_digit(calls: pd.DataFrame, freetext: pd.DataFrame) -> None:
    """ASR writes spoken numbers as Chinese digits; a caller's mobile read aloud is personal data too."""
    texts = list(calls["transcript"]) + list(freetext["text"])
    spoken = [run.replace(" ", "").translate(SPOKEN_DIGITS) for t in texts for run in SPOKEN_RUN.findall(t)]
    assert spoken, "expected some digit-by-digit account numbers in the transcripts"
    assert not [s for s in spoken if MOBILE.search(s)]


def test_times_and_escalation_fields_are_consistent(calls: pd.DataFrame) -> None:
    times = calls["call_time"].map(pd.Timestamp.fromisoformat)
    assert times.notna().all()
    assert set(calls["escalated_12398"]) <= {"", "true", "false"}
    escalated = calls["escalated_12398"] == "true"
    assert escalated.any() and (calls["escalated_12398"] == "false").any()
    assert (calls.loc[escalated, "escalated_at"] != "").all()
    assert (calls.loc[~escalated, "escalated_at"] == "").all()
    for call_time, at in zip(
        calls.loc[escalated, "call_time"], calls.loc[escalated, "escalated_at"], strict=True
    ):
        assert _naive(at) > _naive(call_time)


def test_duration_is_a_positive_integer_when_given(calls: pd.DataFrame) -> None:
    given = calls.loc[calls["duration_s"] != "", "duration_s"].astype(int)
    assert (given > 0).all()
    assert (calls.loc[calls["channel"] == "phone", "duration_s"] != "").all()


def test_ingest_reads_every_call_without_quarantine(calls_path, calls: pd.DataFrame) -> None:
    ingest = pytest.importorskip("pipeline.ingest")
    result = ingest.read_export(calls_path)
    assert result.quarantined == [], [(q.call_id, q.reason_code) for q in result.quarantined[:5]]
    assert [r.call_id for r in result.records] == calls["call_id"].tolist()
    assert [r.category for r in result.records] == calls["category"].tolist()

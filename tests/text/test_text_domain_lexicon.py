"""The domain lexicon matches power words by sound, so speech-recognition homophones still count."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.labels import LABELS
from pipeline.text.domain_lexicon import DomainLexicon, Entry, domain_lexicon, load_entries, sound_of


def _top(text: str) -> str:
    return LABELS[int(np.argmax(domain_lexicon().evidence(text)))]


@pytest.mark.parametrize(
    "heard,term",
    [("店费", "电费"), ("强修", "抢修"), ("跳炸", "跳闸"), ("光福并网", "光伏并网"), ("灯很按", "灯很暗")],
)
def test_asr_homophones_match_the_term(heard: str, term: str) -> None:
    (match,) = domain_lexicon().matches(f"我想问一下{heard}的事")
    assert match.term == term and match.surface == heard and not match.exact


def test_southern_mergers_count_as_the_same_sound() -> None:
    assert sound_of("是") == sound_of("四")  # sh/s
    assert sound_of("能") == sound_of("楞")  # n/l and -eng/-en
    assert sound_of("平") == sound_of("频")  # -ing/-in


def test_a_sound_match_must_share_a_character() -> None:
    # 一点呀 sounds like 电压 but shares none of its characters
    assert domain_lexicon().matches("一点呀都没有") == []


def test_longest_term_wins_so_arrears_outweighs_outage() -> None:
    lex = domain_lexicon()
    assert [m.term for m in lex.matches("欠费停电了")][0] == "欠费停电"
    assert _top("欠费停电了，钱也交了") == "meter_billing"


@pytest.mark.parametrize(
    "text,label",
    [
        ("屋里冇电啊，几时有电", "outage"),
        ("晚上灯一闪一闪的，电饭锅煮不熟饭", "voltage"),
        ("新房想装电表，报装材料要哪些", "connection"),
        ("这个月店费咋这么贵", "meter_billing"),
        ("有人冒充供电局发短信链接，是不是骗子", "other"),
    ],
)
def test_evidence_points_at_the_category(text: str, label: str) -> None:
    assert _top(text) == label


def test_canonical_replaces_sound_matches_only() -> None:
    assert domain_lexicon().canonical("店费太高，电费单不对") == "电费太高，电费单不对"


def test_unknown_category_in_the_file_is_an_error(tmp_path) -> None:
    bad = tmp_path / "lexicon.tsv"
    bad.write_text("电费\tbilling\t1.0\tterm\n", encoding="utf-8")
    with pytest.raises(ValueError, match="未知类别"):
        load_entries(bad)


def test_exact_match_outweighs_sound_match() -> None:
    lex = DomainLexicon([Entry("电费", "meter_billing", 1.0, "term")])
    assert lex.evidence("电费")[0] > lex.evidence("店费")[0] > 0

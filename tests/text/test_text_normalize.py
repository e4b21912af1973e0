"""Normalization and turn splitting."""

from __future__ import annotations

import pytest

from pipeline.text import normalize, split_turns
from pipeline.text.turns import strip_speaker_labels


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("電費太貴了，跳閘又來了", "电费太贵了，跳闸又来了"),
        ("户号１２３４５，ＡＢＣ", "户号12345，ABC"),
        ("停电了😡👍🏻！！", "停电了！！"),
        ("停电了,什么时候来电?", "停电了，什么时候来电？"),
        ("停 电 了　三 天", "停电了三天"),
        ("电费\u200b多了\x07一百元", "电费多了一百元"),
        ("  第一行  \r\n\r\n  第二行 ", "第一行\n第二行"),
        ("电费10.5元", "电费10.5元"),
        ("ok thanks 好的", "ok thanks好的"),
        ("停电了。。。", "停电了。"),
        ("", ""),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_is_idempotent(call):
    once = normalize(call)
    assert normalize(once) == once


def test_standard_labels():
    turns = split_turns("坐席：您好\n客户：我家停电了\n坐席：好的")
    assert [(t.speaker, t.text) for t in turns] == [
        ("agent", "您好"),
        ("customer", "我家停电了"),
        ("agent", "好的"),
    ]


@pytest.mark.parametrize(
    ("agent", "customer"),
    [
        ("客服", "用户"),
        ("话务员", "来电人"),
        ("工作人员", "顾客"),
        ("座席", "客户"),
        ("客服人员", "来电客户"),
    ],
)
@pytest.mark.parametrize("colon", ["：", ":", " : "])
def test_label_variants_and_colons(agent, customer, colon):
    turns = split_turns(f"{agent}{colon}请讲\n{customer}{colon}电压太低了")
    assert [t.speaker for t in turns] == ["agent", "customer"]
    assert turns[1].text == "电压太低了"


def test_several_turns_on_one_line():
    turns = split_turns("坐席：您好，95598。 客户：我家跳闸了 坐席：好的")
    assert [t.speaker for t in turns] == ["agent", "customer", "agent"]
    assert turns[1].text == "我家跳闸了"


def test_unlabelled_line_continues_the_previous_speaker():
    turns = split_turns("客户：我家停电了\n已经三个小时了\n坐席：好的")
    assert turns[0] == turns[0].__class__("customer", "我家停电了 已经三个小时了")
    assert len(turns) == 2


def test_unlabelled_first_line_is_inferred():
    greeting = split_turns("您好，95598很高兴为您服务\n客户：停电了")
    assert [t.speaker for t in greeting] == ["agent", "customer"]
    complaint = split_turns("我家停电了\n坐席：请问地址")
    assert [t.speaker for t in complaint] == ["customer", "agent"]


def test_free_text_is_one_customer_turn():
    turns = split_turns("网上国网留言：我家电表走得太快\n上个月电费翻倍")
    assert len(turns) == 1
    assert turns[0].speaker == "customer"
    assert "电费翻倍" in turns[0].text


def test_label_word_inside_a_sentence_is_not_a_turn():
    turns = split_turns("客户：我是你们的老客户：十年了")
    assert len(turns) == 1
    assert turns[0].text == "我是你们的老客户：十年了"


def test_empty_transcript():
    assert split_turns("") == []
    assert split_turns("  \n ") == []


def test_strip_speaker_labels():
    assert "坐席" not in strip_speaker_labels("坐席：您好\n客户：停电")

"""customer_text and model_input: what the models read."""

from __future__ import annotations

import pytest

from pipeline.text import customer_text, model_input, model_inputs, strip_agent_phrases


def test_customer_text_is_customer_only_clean_and_masked(call):
    text = customer_text(call)
    assert "没有电" in text and "电费" in text and "跳闸" in text
    assert "95598" not in text and "工单" not in text
    assert "0531234567" not in text and "1234 5678" not in text
    assert "[户号]" in text and "[手机号]" in text


def test_free_text_is_all_customer():
    assert customer_text("電表走得太快，店费翻倍") == "电表走得太快，电费翻倍。"


def test_model_input_puts_customer_first_and_strips_greeting(call):
    text = model_input(call)
    assert text.startswith("我家里没有电了")
    assert "很高兴为您服务" not in text
    assert "\n坐席：" in text
    agent = text.split("坐席：", 1)[1]
    assert "停电问题" in agent
    assert "2026112700123" not in agent


def test_model_input_respects_budget(call, long_call):
    for transcript in (call, long_call):
        for budget in (16, 64, 128, 256):
            assert len(model_input(transcript, max_chars=budget)) <= budget


def test_model_input_keeps_customer_content_of_long_calls(long_call):
    head_cut = long_call[:256]
    assert "12398" not in head_cut
    text = model_input(long_call, max_chars=128)
    assert "12398" in text
    assert "抢修人员答应" in text
    assert "嗯" not in text.split("\n")[0]


def test_model_input_chooses_informative_sentences_when_customer_overflows():
    chatter = "".join(f"客户：今天天气还可以第{i}句。\n" for i in range(30))
    transcript = chatter + "客户：我家电压太低，空调启动不了。\n" + chatter
    text = model_input(transcript, max_chars=60)
    assert "电压太低" in text
    assert len(text) <= 60


def test_model_input_without_agent_has_no_agent_section():
    assert "坐席" not in model_input("我家低电压，电饭锅煮不熟饭")


def test_strip_agent_phrases():
    stripped = strip_agent_phrases(
        "您好，国家电网95598，很高兴为您服务，请问有什么可以帮您？好的，我给您登记抢修。"
    )
    assert "95598" not in stripped and "很高兴" not in stripped
    assert "登记抢修" in stripped


@pytest.mark.parametrize("transcript", ["", "   ", "坐席：您好，95598，很高兴为您服务"])
def test_model_input_of_empty_content(transcript):
    assert len(model_input(transcript)) <= 256


def test_model_input_carries_no_account_card_or_id_number():
    from pipeline.text import model_input

    text = "客户:0476286058346，卡号6222 0212 3456 7890 123，身份证5329 0119 9001 0112 34"
    prepared = model_input(text)
    for secret in ("0476286058346", "6222", "5329"):
        assert secret not in prepared


def test_agent_category_names_are_masked_but_customer_words_are_kept() -> None:
    from pipeline.text.prepare import CATEGORY_MASK, model_input

    text = model_input("坐席：您好，这个我给您登记为停电故障工单\n客户：我家停电故障好几个钟头了")
    agent = text.split("坐席：", 1)[1]
    assert "停电故障" not in agent and CATEGORY_MASK in agent
    assert text.startswith("我家停电故障")


def test_model_inputs_at_several_budgets_equal_model_input_at_each(call, long_call) -> None:
    """The ensemble cleans a call once for both members; each must still read what it was trained on."""
    for transcript in (call, long_call, "客户：停电了", ""):
        assert model_inputs(transcript, (126, 256, 40)) == [
            model_input(transcript, n) for n in (126, 256, 40)
        ]

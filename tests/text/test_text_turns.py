"""Speaker labels for the slip page: every labelled line keeps its speaker, 座席 included (issue 13, item 8)."""

from __future__ import annotations

from pipeline.text.turns import split_turns


def test_zuoxi_lines_are_agent_lines_each_on_their_own() -> None:
    turns = split_turns("座席：您好，95598。\n座席：请讲。\n客户：停电了\n【座席】：好的", merge=False)
    assert [t.speaker for t in turns] == ["agent", "agent", "customer", "agent"]
    assert [t.text for t in turns] == ["您好，95598。", "请讲。", "停电了", "好的"]


def test_merging_is_still_the_default() -> None:
    assert len(split_turns("座席：您好\n座席：请讲\n客户：停电了")) == 2

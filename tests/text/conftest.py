"""Fixtures for text tests: a typical 95598 call and a long one."""

from __future__ import annotations

import pytest

GREETING = "坐席：您好，国家电网95598，很高兴为您服务，请问有什么可以帮您？"


@pytest.fixture
def call() -> str:
    return (
        f"{GREETING}\n"
        "客户：我屋头莫得电了，咋个回事嘛，店费都交了，调闸好几次了。\n"
        "坐席:好的，请问您的户号是多少？\n"
        "客户：户号是0531234567，电话138 1234 5678。\n"
        "坐席：好的，您反映的停电问题我已经登记，工单编号是2026112700123。稍后会有工作人员回访。"
    )


@pytest.fixture
def long_call() -> str:
    agent_filler = "坐席：好的，请您稍等，我这边帮您查询一下相关信息，感谢您的耐心等待。\n" * 6
    customer_filler = "客户：嗯。\n客户：对对对，是的。\n" * 4
    key = "客户：我们整个村子已经停电两天了，抢修人员答应昨天来到现在都没来，冰箱里的肉全坏了，再不来我就打12398投诉。\n"
    return (
        GREETING
        + "\n"
        + agent_filler
        + customer_filler
        + "客户：喂，你好。\n"
        + key
        + "坐席：好的，我给您登记停电故障工单。"
    )

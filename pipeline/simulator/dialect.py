"""Regional speech applied to customer turns: word substitutions and sentence particles.

Substitution probability per occurrence is the caller's dialect strength, so an
elderly villager in 毕节 sounds different from a young caller in 南宁 even when the
frames are the same.
"""

from __future__ import annotations

import random
import re

from pipeline.simulator.world import CANTONESE, NORTHERN, SOUTHWEST

_SUBS: dict[str, dict[str, tuple[str, ...]]] = {
    SOUTHWEST: {
        "没有": ("莫得", "没得"),
        "怎么办": ("咋个办", "咋个整"),
        "怎么": ("咋个", "啷个"),
        "为什么": ("为啥子", "咋个"),
        "什么": ("啥子", "哪样"),
        "干什么": ("搞哪样", "做啥子"),
        "知道": ("晓得",),
        "家里": ("屋头", "屋里头"),
        "好的": ("要得", "好嘛"),
        "很多": ("好多",),
        "这里": ("这点", "这儿"),
        "那里": ("那点", "那儿"),
        "现在": ("这会儿", "而今"),
        "很": ("好", "硬是"),
        "孩子": ("娃娃", "娃儿"),
        "今天": ("今天", "今儿个"),
        "看看": ("瞧一下", "看一哈"),
        "一下子": ("一下子",),
        "一下": ("一哈", "一下下"),
        "厉害": ("凶", "恼火"),
        "不行": ("不得行",),
    },
    CANTONESE: {
        "没有": ("冇", "冇得"),
        "什么": ("咩", "乜嘢"),
        "可以吗": ("得唔得", "得不得"),
        "是不是": ("系唔系", "系不系"),
        "不要": ("唔要",),
        "这个": ("呢个",),
        "他们": ("佢哋", "他们"),
        "怎么": ("点样", "点解"),
        "现在": ("而家",),
        "知道": ("知", "识"),
        "不知道": ("唔知",),
        "一下": ("下",),
        "看看": ("睇下",),
        "很": ("好",),
    },
    NORTHERN: {
        "我": ("俺",),
        "我们": ("俺们", "咱"),
        "怎么办": ("咋整", "咋办"),
        "怎么": ("咋", "咋的"),
        "什么": ("啥", "啥玩意"),
        "可以": ("中", "行"),
        "很": ("贼", "老"),
        "好不好": ("中不中",),
        "这里": ("这旮", "这块儿"),
        "没有": ("没", "没得"),
        "现在": ("这会儿",),
        "特别": ("贼", "老"),
        "干什么": ("干啥",),
        "知道": ("知道",),
    },
}

# Words that mark one region: spoken elsewhere, they are put back into plain Mandarin first,
# so a bank item written with 晓得 still sounds northern in 保定.
_MARKERS: dict[str, dict[str, str]] = {
    SOUTHWEST: {
        "莫得": "没有", "没得": "没有", "咋个": "怎么", "啷个": "怎么", "啥子": "什么", "搞哪样": "干什么",
        "晓得": "知道", "屋里头": "家里", "屋头": "家里", "要得": "好的", "黑起": "黑了", "黢黢": "乎乎",
        "娃娃": "孩子", "恼火": "麻烦", "硬是": "真是", "这点": "这里", "一哈": "一下", "噻": "",
    },
    CANTONESE: {"冇得": "没有", "冇": "没有", "咩": "什么", "佢哋": "他们", "嘅": "的", "呢个": "这个", "而家": "现在", "得唔得": "可以吗"},
    NORTHERN: {"俺们": "我们", "俺": "我", "咋整": "怎么办", "中不中": "好不好", "贼": "很", "这旮": "这里"},
}  # fmt: skip
_MARKER_PATTERNS = {
    d: re.compile("|".join(sorted(map(re.escape, t), key=len, reverse=True))) for d, t in _MARKERS.items()
}

_PARTICLES: dict[str, tuple[str, ...]] = {
    SOUTHWEST: ("嘛", "噻", "哦", "喽", "撒", "哈"),
    CANTONESE: ("啦", "咯", "喔", "嘅", "呀"),
    NORTHERN: ("呗", "啊", "呐", "哈", "嘞"),
}


def _pattern(table: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    return re.compile("|".join(sorted(map(re.escape, table), key=len, reverse=True)))


_PATTERNS = {d: _pattern(t) for d, t in _SUBS.items()}
_CLAUSE_END = re.compile(r"([^，。！？,!?\s]{3})([，。！？]|$)")


def speak(text: str, dialect: str, strength: float, rng: random.Random) -> str:
    """Customer ``text`` as said by someone of ``dialect`` with ``strength`` in 0..1."""
    for other, pattern in _MARKER_PATTERNS.items():
        if other != dialect:
            markers = _MARKERS[other]
            text = pattern.sub(lambda m, t=markers: t[m.group(0)], text)
    if strength <= 0.05:
        return text
    table = _SUBS[dialect]

    def sub(m: re.Match[str]) -> str:
        return rng.choice(table[m.group(0)]) if rng.random() < strength else m.group(0)

    text = _PATTERNS[dialect].sub(sub, text)
    particles = _PARTICLES[dialect]

    def particle(m: re.Match[str]) -> str:
        if rng.random() < strength * 0.25:
            return m.group(1) + rng.choice(particles) + m.group(2)
        return m.group(0)

    return _CLAUSE_END.sub(particle, text)

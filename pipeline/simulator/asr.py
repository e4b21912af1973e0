"""Speech-recognition noise: homophones on power words, digits read out, broken punctuation."""

from __future__ import annotations

import random
import re

# Near-homophones an ASR engine produces for the words callers say most.
HOMOPHONES: dict[str, tuple[str, ...]] = {
    "电费": ("店费", "电飞", "点费", "垫费"),
    "跳闸": ("调闸", "挑闸", "跳炸", "条闸"),
    "抢修": ("枪修", "强修", "抢休"),
    "供电所": ("供点所", "公电所", "供电锁"),
    "供电局": ("供点局", "公电局", "供电居"),
    "变压器": ("变牙器", "便压器", "变压气", "边压器"),
    "光伏": ("光福", "光服", "光府"),
    "户号": ("护号", "沪号", "户好", "互号"),
    "电表": ("垫表", "点表", "电标"),
    "电压": ("电鸭", "点压", "电押"),
    "停电": ("挺电", "听电", "停店"),
    "缴费": ("较费", "叫费"),
    "交费": ("教费", "交非"),
    "欠费": ("欠非", "签费"),
    "报装": ("抱装", "报庄"),
    "过户": ("过护", "过沪"),
    "增容": ("增荣", "争容"),
    "台区": ("抬区", "台曲"),
    "工单": ("公单", "工担"),
    "回访": ("会访", "回放"),
    "峰谷": ("丰谷", "风谷"),
    "阶梯": ("接梯", "街题"),
    "充电桩": ("充电装", "冲电桩"),
    "电线": ("电现", "点线"),
    "电杆": ("电感", "电竿"),
    "空开": ("控开", "空凯"),
    "漏保": ("露保", "漏宝"),
    "三相": ("三项", "三箱"),
    "违约金": ("违约今", "为约金"),
    "并网": ("病网", "并王"),
    "抄表": ("超表", "抄标"),
    "来电": ("来店", "赖电"),
    "线路": ("线录", "现路"),
    "营业厅": ("营业听", "营业停"),
    "稳压器": ("稳鸭器", "文压器"),
    "12398": ("幺二三九八", "一二三九八"),
    "95598": ("九五五九八", "95598"),
    "12345": ("幺二三四五",),
}
_HOMO = re.compile("|".join(sorted(map(re.escape, HOMOPHONES), key=len, reverse=True)))
_DIGITS_SPOKEN = {
    "0": ("零", "洞", "零"),
    "1": ("幺", "一", "幺"),
    "2": ("二", "两", "二"),
    "3": ("三",),
    "4": ("四",),
    "5": ("五",),
    "6": ("六",),
    "7": ("七", "拐"),
    "8": ("八",),
    "9": ("九", "勾"),
}
_PUNCT = re.compile(r"[，。？！]")
# Everyday characters the recogniser confuses regardless of topic, and surnames it mishears.
CONFUSIONS: dict[str, tuple[str, ...]] = {
    "的": ("得", "地"),
    "在": ("再",),
    "再": ("在",),
    "那": ("哪",),
    "做": ("作",),
    "已经": ("以经", "已近"),
    "现在": ("线在",),
    "知道": ("只道",),
    "师傅": ("师父", "士傅"),
    "邻居": ("林居",),
    "姓王": ("姓黄",),
    "姓黄": ("姓王",),
    "姓刘": ("姓牛",),
    "姓胡": ("姓付",),
    "姓李": ("姓里",),
}
_CONFUSE = re.compile("|".join(sorted(map(re.escape, CONFUSIONS), key=len, reverse=True)))


def spoken_digits(digits: str, rng: random.Random, mode: float) -> str:
    """A digit string as the recogniser wrote it: Arabic, Chinese per digit, or mixed with pauses."""
    if mode < 0.3:
        return digits
    out: list[str] = []
    for i, d in enumerate(digits):
        spoken = rng.choice(_DIGITS_SPOKEN[d]) if d in _DIGITS_SPOKEN else d
        out.append(d if mode < 0.45 and rng.random() < 0.5 else spoken)
        if i % 4 == 3 and i < len(digits) - 1 and rng.random() < 0.4:
            out.append(rng.choice((" ", "，", " 呃 ", "…")))
    return "".join(out)


def garble(text: str, rng: random.Random, level: float) -> str:
    """Apply homophone errors (per-occurrence probability ``level``) and punctuation damage."""
    if level <= 0:
        return text

    def sub(m: re.Match[str]) -> str:
        return rng.choice(HOMOPHONES[m.group(0)]) if rng.random() < level else m.group(0)

    text = _HOMO.sub(sub, text)
    if rng.random() < level * 2:

        def confuse(m: re.Match[str]) -> str:
            return rng.choice(CONFUSIONS[m.group(0)]) if rng.random() < level * 0.5 else m.group(0)

        text = _CONFUSE.sub(confuse, text)
    if rng.random() < level * 1.5:
        marks = (" ", "", "，", "。", "")

        def punct(m: re.Match[str]) -> str:
            return rng.choice(marks) if rng.random() < 0.5 else m.group(0)

        text = _PUNCT.sub(punct, text)
    return text

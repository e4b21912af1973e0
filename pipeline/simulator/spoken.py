"""Numbers, durations and clock times the way callers say them (两个钟头, 一个半小时, 下午六点)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

_DIG = "零一二三四五六七八九"


def cn_int(n: int) -> str:
    """0..9999 in Chinese numerals (二十三, 一百零五, 一千二百)."""
    if n >= 1000:
        rest = n % 1000
        head = _DIG[n // 1000] + "千"
        return head if rest == 0 else head + ("零" + cn_int(rest) if rest < 100 else cn_int(rest))
    if n < 10:
        return _DIG[n]
    if n < 20:
        return "十" + (_DIG[n - 10] if n > 10 else "")
    if n < 100:
        return _DIG[n // 10] + "十" + (_DIG[n % 10] if n % 10 else "")
    rest = n % 100
    head = _DIG[n // 100] + "百"
    if rest == 0:
        return head
    return head + ("零" + _DIG[rest] if rest < 10 else cn_int(rest) if rest >= 20 else "一" + cn_int(rest))


def count(n: int) -> str:
    """A count before a measure word: 两 for 2."""
    return "两" if n == 2 else cn_int(n)


def duration(delta: timedelta, rng: random.Random) -> str:
    """A waiting time, rounded the way people round it."""
    hours = delta.total_seconds() / 3600
    if hours < 1:
        minutes = max(10, round(hours * 60 / 10) * 10)
        return rng.choice(
            (
                f"{cn_int(minutes)}分钟",
                f"{cn_int(minutes)}来分钟",
                "大半个钟头" if minutes > 30 else "半个钟头",
            )
        )
    if hours < 24:
        h = round(hours)
        if 1.3 < hours < 1.7:
            return rng.choice(("一个半小时", "个把小时", "一个半钟头"))
        return rng.choice(
            (f"{count(h)}个小时", f"{count(h)}个钟头", f"{count(h)}个多小时", f"{count(h)}个多钟头")
        )
    days = round(hours / 24)
    if days >= 14 and rng.random() < 0.5:
        return rng.choice(("半个多月", "大半个月", "快一个月", "二十来天")) if days >= 18 else "半个月"
    if days in (7, 8) and rng.random() < 0.5:
        return rng.choice(("一个礼拜", "一个星期", "一周多"))
    if days % 10 == 0 and rng.random() < 0.5:
        return f"{cn_int(days)}多天"
    return rng.choice((f"{count(days)}天", f"{count(days)}天多"))


def promise(hours: float) -> str:
    """The crew commitment as an agent says it."""
    if hours <= 0.8:
        return "四十五分钟"
    if hours <= 1.6:
        return "一个半小时"
    return "两个小时"


def clock(t: datetime, rng: random.Random) -> str:
    """A clock time: 下午六点 / 18点 / 六点半."""
    h, m = t.hour, t.minute
    part = "早上" if h < 9 else "上午" if h < 12 else "中午" if h < 13 else "下午" if h < 18 else "晚上"
    h12 = h if h <= 12 else h - 12
    half = "半" if 20 <= m < 45 else ""
    return rng.choice((f"{part}{cn_int(h12)}点{half}", f"{h}点{half}", f"{cn_int(h12)}点{half}"))


def money(amount: int, rng: random.Random) -> str:
    """An amount of money as said: 三百多, 八百六十几块, 1200块."""
    if amount >= 100:
        hundreds = amount // 100
        return rng.choice(
            (
                f"{cn_int(hundreds * 100)}多",
                f"{cn_int(hundreds * 100)}多块",
                f"{amount}块",
                f"{cn_int(amount // 10 * 10)}几块钱" if amount < 1000 else f"{amount}元",
                f"{amount}块钱",
            )
        )
    return rng.choice((f"{cn_int(amount)}块", f"{amount}块钱", f"{cn_int(amount // 10 * 10)}来块"))

"""Personal data is masked; amounts, dates and times are not."""

from __future__ import annotations

import pytest

from pipeline.text import mask_account, mask_phone, mask_pii


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("我电话13812345678", "13812345678"),
        ("打138 1234 5678找我", "138 1234 5678"),
        ("号码是138-1234-5678。", "138-1234-5678"),
        ("+86 138 1234 5678", "138 1234 5678"),
        ("+8613812345678", "13812345678"),
        ("座机0871-65432109", "65432109"),
        ("座机(0871)6543210", "6543210"),
        ("身份证532901199001011234", "532901199001011234"),
        ("身份证号53290119900101123X", "53290119900101123X"),
        ("户号是0531234567", "0531234567"),
        ("我的户号 5300 1234 567", "5300 1234 567"),
        ("账号1234567890123", "1234567890123"),
        ("电话幺三八一二三四五六七八", "幺三八一二三四五六七八"),
        ("电话是幺三八，一二三四，五六七八", "幺三八，一二三四，五六七八"),
    ],
)
def test_pii_is_masked(text, secret):
    masked = mask_pii(text)
    assert secret not in masked
    assert "*" in masked
    tagged = mask_pii(text, placeholder=True)
    assert secret not in tagged
    assert "[" in tagged


@pytest.mark.parametrize(
    "text",
    [
        "电费1200元",
        "这个月用了3456度电",
        "2026-11-27停电",
        "20261127那天",
        "晚上19:05停的电",
        "等了45分钟",
        "第3次打电话了",
        "10kV线路",
        "一二三月份电费都高",
        "95598和12398",
        "工单编号是2026112700123",
    ],
)
def test_non_pii_is_left_alone(text):
    assert mask_pii(text) == text


def test_mobile_keeps_first_three_and_last_four():
    assert mask_pii("电话13812345678") == "电话138****5678"
    assert mask_pii("电话13812345678", placeholder=True) == "电话[手机号]"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("138****5678", "138****5678"),
        ("", ""),
        (None, ""),
        ("a1b2c3", "a1b2c3"),
    ],
)
def test_mask_phone(value, expected):
    assert mask_phone(value) == expected


def test_mask_account():
    assert mask_account("") == ""
    assert mask_account("053***4567") == "053***4567"


def test_numbers_on_separate_lines_are_not_joined():
    text = "客户：电费是123\n4567890元"
    assert mask_pii(text) == text


def test_spoken_digits_with_ellipsis():
    assert "五三二四" not in mask_pii("来电人：两五四幺…五三二四拐三")


# -- issue 12, item 8 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("客户:0476286058346", "0476286058346"),
        ("客户：0476286058346", "0476286058346"),
        ("卡号6222021234567890123", "6222021234567890123"),
        ("银行卡 6222 0212 3456 7890 123", "6222 0212 3456 7890 123"),
        ("流水12345678901234567", "12345678901234567"),
        ("身份证 5329 0119 9001 0112 34", "5329 0119 9001 0112 34"),
        ("身份证532901 19900101 123X", "532901 19900101 123X"),
        ("联系人13912345678", "13912345678"),
        ("请回电13912345678，找王师傅", "13912345678"),
    ],
)
def test_more_personal_numbers_are_masked(text, secret):
    assert secret not in mask_pii(text)
    assert secret not in mask_pii(text, placeholder=True)


@pytest.mark.parametrize("account", ["0531234567", "户号0531234567", "户号:0531234567"])
def test_ten_digit_accounts_keep_only_their_last_four(account):
    masked = mask_pii(account)
    digits = [c for c in masked if c.isdigit()]
    assert "".join(digits) == "4567"


def test_mask_account_keeps_only_the_last_four():
    assert mask_account("0531234567") == "******4567"
    assert mask_account("532901199001011234") == "**************1234"


@pytest.mark.parametrize(
    "text",
    [
        "工单号2026112700123",
        "工单号是2026112700123456",
        "受理编号：20261127001234567",
        "您的受理编号是 2026 1127 0012 3456",
        "工单号是二零二六一一二七零零一二三",
    ],
)
def test_spoken_work_order_numbers_stay_unmasked(text):
    assert mask_pii(text) == text

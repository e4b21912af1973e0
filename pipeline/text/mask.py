"""Mask personal data (phones, ID numbers, account numbers) before text leaves the pipeline.

Phone masks keep the first three and last four digits (``138****5678``), the
form operators know; account, ID and bank-card numbers keep only their last
four (``******4567``): their first digits narrow a person down too much.
``placeholder=True`` replaces them with a tag (``[手机号]``) for model input,
where digits only add noise. Short numbers (amounts, dates, times, counts) are
left alone: only digit runs long enough to be a phone, ID, card or account
number are touched, also when written in groups with spaces. Work-order numbers
(``工单号``/``受理编号`` followed by digits, written or spoken) identify a case,
not a person, and stay as they are.

:func:`mask_pii` is also the function for any free text a person types
(slip notes, the ``area`` field).
"""

from __future__ import annotations

import re

_SPOKEN_DIGITS = "零〇洞一幺二两三四五六七八九拐勾"
_SEP = r"[ \t\-－—]?"

_ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
_MOBILE = re.compile(rf"(?<![\d+])(?:(?:\+|00)?86{_SEP})?1[3-9]\d(?:{_SEP}\d){{8}}(?!\d)")
_LANDLINE = re.compile(
    r"(?<!\d)(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3})[ \t\-－]?[2-9]\d{6,7}(?:-\d{1,4})?(?!\d)"
)
_ACCOUNT_CONTEXT = re.compile(
    r"(户号|用户编号|用户号|客户编号|账号|帐号|户头|缴费号)((?:是|为|：|:|[ \t])*)(\d[\d \t\-]{6,18}\d)"
)
_LONG_DIGITS = re.compile(r"(?<![\d.])\d{10,}(?![\d.])")
_SPACED_DIGITS = re.compile(r"(?<![\dA-Za-z])\d{3,}(?:[ \t]\d{2,}){2,}[Xx]?(?![\dA-Za-z])")
_SPACED_MIN_DIGITS = 14
_WORK_ORDER = re.compile(r"(工单|单号|编号|流水号)(是|为|：|:)?\s*$")
_ANY_DIGIT = re.compile(r"\d")
_SPOKEN_SEP = r"[，,、 \t…·.]{0,3}"
_SPOKEN = re.compile(rf"[{_SPOKEN_DIGITS}0-9](?:{_SPOKEN_SEP}[{_SPOKEN_DIGITS}0-9]){{6,}}")

PLACEHOLDERS: dict[str, str] = {
    "id": "[身份证号]",
    "mobile": "[手机号]",
    "landline": "[电话]",
    "account": "[户号]",
    "spoken": "[号码]",
    "card": "[证件或卡号]",
}


def _keep_last(chars: str, tail: int = 4) -> str:
    """All but the last ``tail`` characters hidden (account, ID and card numbers)."""
    if len(chars) <= tail:
        return "*" * len(chars)
    return "*" * (len(chars) - tail) + chars[-tail:]


def _work_order_before(text: str, start: int) -> bool:
    return bool(_WORK_ORDER.search(text, max(0, start - 8), start))


def _keep_ends(chars: str, head: int = 3, tail: int = 4) -> str:
    if len(chars) <= head + tail:
        return chars[:1] + "*" * (len(chars) - 1)
    return chars[:head] + "*" * (len(chars) - head - tail) + chars[-tail:]


def mask_phone(value: str | None) -> str:
    """A phone field as ``138****5678``; already-masked or hashed values pass through unchanged."""
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    if "*" in value or len(digits) < 7:
        return value
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits[:3] + "****" + digits[-4:]


def mask_account(value: str | None) -> str:
    """An account number (户号) or ID number field with only its last 4 characters shown."""
    if not value:
        return ""
    text = re.sub(r"[\s\-]", "", value)
    if "*" in text or len(text) < 6:
        return value
    return _keep_last(text)


def _spoken_is_number(run: str) -> bool:
    chars = re.sub(r"[，,、\s…·.]", "", run)
    return len(chars) >= 7 and any(c in _SPOKEN_DIGITS for c in chars)


def mask_pii(text: str, placeholder: bool = False) -> str:
    """Mask ID numbers, mobiles (also spaced, dashed, +86), landlines, account numbers and
    phone numbers read digit by digit (幺三八…); the order matters (longest patterns first)."""
    if not text:
        return text

    def sub(kind: str):
        keep = _keep_ends if kind in ("mobile", "landline") else _keep_last

        def repl(match: re.Match[str]) -> str:
            if placeholder:
                return PLACEHOLDERS[kind]
            return keep(re.sub(r"[\s\-－—()（）+]", "", match.group()))

        return repl

    def spoken(match: re.Match[str]) -> str:
        run = match.group()
        if not _spoken_is_number(run) or _work_order_before(match.string, match.start()):
            return run
        return PLACEHOLDERS["spoken"] if placeholder else _keep_last(re.sub(r"[，,、\s…·.]", "", run))

    if not _ANY_DIGIT.search(text):
        return _SPOKEN.sub(spoken, text)
    text = _ID_CARD.sub(sub("id"), text)

    def spaced(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        if len(digits) < _SPACED_MIN_DIGITS or _work_order_before(match.string, match.start()):
            return match.group()
        return sub("card")(match)

    text = _SPACED_DIGITS.sub(spaced, text)
    text = _MOBILE.sub(sub("mobile"), text)
    text = _LANDLINE.sub(sub("landline"), text)

    def account(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(3))
        if len(digits) < 8:
            return match.group()
        masked = PLACEHOLDERS["account"] if placeholder else _keep_last(digits)
        return match.group(1) + (match.group(2) or "") + masked

    text = _ACCOUNT_CONTEXT.sub(account, text)

    def long_digits(match: re.Match[str]) -> str:
        if _work_order_before(match.string, match.start()):
            return match.group()
        return sub("account")(match)

    text = _LONG_DIGITS.sub(long_digits, text)

    return _SPOKEN.sub(spoken, text)

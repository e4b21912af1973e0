"""What the models read: the customer's words first, the agent's after, within a character budget.

Customers say what is wrong; agents open with a set greeting and confirm in
the company's category names. A classifier that leans on agent words fails on
app, web and WeChat text where there is no agent, so the customer's turns come
first and in full where they fit, and the agent's turns, with greetings and
fixed phrases stripped, fill what budget is left. When a long call does not
fit, sentences are chosen by how many domain terms they carry (kept in spoken
order) instead of cutting the head off, which in a 95598 call is mostly
greeting and identity checks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from pipeline.text.lexicon import apply_lexicon
from pipeline.text.mask import mask_pii
from pipeline.text.normalize import normalize
from pipeline.text.resources import domain_terms
from pipeline.text.turns import Turn, split_turns

AGENT_SECTION = "坐席："
_END = "。！？!?；;"
_SENTENCE = re.compile(rf"[^{_END}\n]+[{_END}]*|[{_END}]+")
_CLAUSE = re.compile(r"[^，,、\s]+[，,、]?\s*")
_FIXED_AGENT = re.compile(
    r"(您好|你好)?[，,]?\s*(这里是)?(国家电网|南方电网|国网|南网)?\s*(95598|供电服务热线|客服中心)"
    r"(客服|热线)?(\d+号|工号\s*\d+)?(话务员|客服代表)?[，,]?"
    r"|很高兴为您服务|请问有什么(可以)?(帮|为)(您|你)(的|服务)?(吗)?"
    r"|请问您的户号(是多少)?|请(您)?稍等(一下)?|感谢您的(来电|耐心等待|支持)|祝您生活愉快"
    r"|请问(您)?还有(其他|别的|什么)(问题|需要|可以帮您的)?(吗)?|还有(其他|别的)(问题|需要)吗"
    r"|(您的)?工单(编号|号)(是|为|：)?\s*[0-9A-Za-z\-]{4,}|(稍后|之后)会有(工作人员|专人)(给您|与您)?回访"
    r"|感谢您的理解|不客气|再见|我(这边|这里)?(帮|给|为)您(查询|查|核实|核查)一下(相关信息|您的信息)?"
    r"|请(您)?(报|提供|说)一下(您的)?(户号|地址|联系方式|联系电话|电话)|(您的?)?户号(是)?多少"
    r"|(或者)?(报|说)一下(您的)?(详细)?地址(也行|也可以)?|您(能|可以)(再)?具体说一下吗|请(您)?记好"
    r"|(^|(?<=[。！？，]))(好的|嗯|是的|明白了?)[，,。]"
)
# The company's category names, as agents say them when they register a work order. Free-text
# channels have no agent, so a model must not learn the label from these words: they are masked.
CATEGORY_MASK = "某类"
_CATEGORY_NAMES = re.compile(
    r"停电故障|故障报修|紧急抢修|电压质量(问题)?|电能质量|电压异常|抄表收费|电费核查|计量异常|电费电价|缴费问题"
    r"|用电办理|业扩报装|业务办理|用电业务|新装增容|意见建议|安全隐患|服务投诉"
)
_REPEATED_END = re.compile(r"[，,；;]*([。！？])[。！？，,；;]*|([，,；;])[，,；;]+")
_FILLER_WORDS = (
    "喂|嗯|啊|哦|噢|哎|唉|诶|呃|好的|好嘛|好吧|好|对的|对|是的|是|谢谢你|谢谢您|谢谢|行吧|行|"
    "没有了|再见|拜拜|那个|你好|您好|就是|然后|知道了|明白了|麻烦了"
)
_FILLER = re.compile(rf"^(?:[\s，。！？、,.!?…~～]*(?:{_FILLER_WORDS}))*[\s，。！？、,.!?…~～]*$")


@cache
def _terms_pattern() -> re.Pattern[str] | None:
    terms = sorted(domain_terms(), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, terms))) if terms else None


def _clean(text: str) -> str:
    return apply_lexicon(mask_pii(text, placeholder=True))


def prepared_turns(transcript: str) -> list[Turn]:
    """Turns of a raw transcript, normalized, PII replaced by tags, lexicon applied.

    Cleaning runs once on the whole text (labels carry no digits and no lexicon
    entry spans a line), which is several times cheaper than once per turn.
    """
    return split_turns(_clean(normalize(transcript)))


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip() and not _FILLER.match(s)]


def _piece(sentence: str) -> str:
    return sentence if sentence[-1] in _END + "，," else sentence + "。"


def customer_text(transcript: str) -> str:
    """The customer's turns only, normalized, PII-tagged and lexicon-applied."""
    parts = [t.text for t in prepared_turns(transcript) if t.speaker == "customer"]
    return "".join(_piece(s) for part in parts for s in _sentences(part))


def _score(sentence: str) -> float:
    pattern = _terms_pattern()
    hits = len(pattern.findall(sentence)) if pattern else 0
    return hits + min(len(sentence), 60) / 120


def _split_long(sentence: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    clauses = [c.strip() for c in _CLAUSE.findall(sentence) if c.strip()] or [sentence]
    out: list[str] = []
    for clause in clauses:
        out.extend(clause[i : i + limit] for i in range(0, len(clause), limit))
    return out


def _select(sentences: list[str], budget: int) -> list[str]:
    """Sentences that fit in ``budget`` characters: all if they fit, else the most informative, in order."""
    if budget <= 0 or not sentences:
        return []
    pieces: list[str] = []
    seen: set[str] = set()
    for sentence in sentences:
        for part in _split_long(sentence, max(16, budget // 3)):
            piece = _piece(part)
            if piece not in seen:
                seen.add(piece)
                pieces.append(piece)
    if sum(map(len, pieces)) <= budget:
        return pieces
    ranked = sorted(range(len(pieces)), key=lambda i: (-_score(pieces[i]) - (0.5 if i == 0 else 0), i))
    chosen: set[int] = set()
    used = 0
    for i in ranked:
        if used + len(pieces[i]) <= budget:
            chosen.add(i)
            used += len(pieces[i])
    return [pieces[i] for i in sorted(chosen)]


def strip_agent_phrases(text: str) -> str:
    """Agent words without the greeting, other fixed phrases every call has, and the category names."""
    text = _CATEGORY_NAMES.sub(CATEGORY_MASK, _FIXED_AGENT.sub("", text))
    return _REPEATED_END.sub(lambda m: m.group(1) or m.group(2), text).lstrip("，,；;。")


def model_input(transcript: str, max_chars: int = 256) -> str:
    """The text a classifier sees, at most ``max_chars`` characters; see the module docstring."""
    return model_inputs(transcript, (max_chars,))[0]


def model_inputs(transcript: str, budgets: Sequence[int]) -> list[str]:
    """``model_input`` at several budgets from one cleaning pass (an ensemble's members read different lengths).

    Cleaning and sentence splitting cost far more than choosing sentences, so a model pair that
    reads 126 and 256 characters of the same call pays for them once.
    """
    turns = prepared_turns(transcript)
    customer = [s for t in turns if t.speaker == "customer" for s in _sentences(t.text)]
    agent = [s for t in turns if t.speaker == "agent" for s in _sentences(strip_agent_phrases(t.text))]
    out = []
    for max_chars in budgets:
        text = "".join(_select(customer, max_chars))
        budget = max_chars - len(text) - len(AGENT_SECTION) - (1 if text else 0)
        agent_part = "".join(_select(agent, budget))
        if agent_part:
            text = f"{text}\n{AGENT_SECTION}{agent_part}" if text else f"{AGENT_SECTION}{agent_part}"
        out.append(text[:max_chars])
    return out

"""Language written whole: customer utterances and written complaints from independent writers.

Templates with slots cannot sound like thousands of different people, so the
simulator's customers mostly speak items of ``data/simbank/*.jsonl``: each one
written as one piece by one writer playing one region, register and persona
(see data/simbank/README.md). The world model (events, storylines, escalation)
still decides who calls about what and when; a bank item only supplies the
words, and the renderer perturbs them (ASR noise, dialect, numbers, fillers).

Items are split into the ``train`` and ``holdout`` phrasing partitions by a
stable hash, like the template banks, so the frozen simulated set is spoken in
sentences training never saw.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipeline.config import DATA_DIR

BANK_DIR = DATA_DIR / "simbank"
SPOKEN = ("phone_asr", "elderly_phone")
WRITTEN = ("app_message", "work_order", "letter_post")
REGISTERS = SPOKEN + WRITTEN
# simulator dialects -> writers' regions
REGION_OF_DIALECT = {"southwest": "southwest", "cantonese": "guangxi", "northern": "north"}
MENTIONS = ("repeat", "missed_promise", "vulnerable", "wide_impact", "losses", "mixed")
_HOLDOUT_MOD = 3
_DIGITS = re.compile(r"\d+")
_CN_NUMERAL = re.compile(r"[二三四五六七八九两](?=[十百千万块元点个多度天回次号栋组])")


@dataclass(frozen=True)
class BankItem:
    id: str
    writer: str
    region: str
    register: str
    persona: str
    category: str
    subtype: str
    stance: str
    mentions: frozenset[str]
    text: str

    @property
    def split(self) -> str:
        return "holdout" if zlib.crc32(self.text.encode("utf-8")) % _HOLDOUT_MOD == 0 else "train"


def read_items(paths: Iterable[Path]) -> list[BankItem]:
    """Items of the given JSON Lines files; a line that does not parse names its file and line."""
    items: list[BankItem] = []
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                items.append(
                    BankItem(
                        id=str(d["id"]),
                        writer=str(d["writer"]),
                        region=str(d["region"]),
                        register=str(d["register"]),
                        persona=str(d.get("persona", "")),
                        category=str(d["category"]),
                        subtype=str(d["subtype"]),
                        stance=str(d.get("stance", "")),
                        mentions=frozenset(d.get("mentions") or ()),
                        text=str(d["text"]).strip(),
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise ValueError(f"{path.name} 第 {n} 行无法读取: {err}") from err
    return items


@dataclass(frozen=True)
class Want:
    """What the call being rendered needs from an item."""

    category: str
    subtype: str
    channel: str
    region: str
    elderly: bool
    repeat: bool
    missed: bool
    vulnerable: bool
    wide: bool


def _registers_for(want: Want, rng: random.Random) -> tuple[str, ...]:
    if want.channel == "phone":
        if want.elderly and rng.random() < 0.7:
            return ("elderly_phone", "phone_asr")
        return ("phone_asr", "elderly_phone")
    if want.channel in ("app", "wechat"):
        return ("app_message", "letter_post")
    return ("letter_post", "work_order") if rng.random() < 0.5 else ("work_order", "letter_post")


def _compatible(item: BankItem, want: Want) -> bool:
    """An item may not claim what the storyline did not do (a repeat call, a missed promise)."""
    m = item.mentions
    return not (
        ("repeat" in m and not want.repeat)
        or ("missed_promise" in m and not want.missed)
        or ("vulnerable" in m and not want.vulnerable)
        or ("wide_impact" in m and not want.wide and item.subtype != "area_out")
    )


class TextBank:
    """Items indexed by (split, category, subtype, register)."""

    def __init__(self, items: Iterable[BankItem]) -> None:
        self.items = list(items)
        self._index: dict[tuple[str, str, str, str], list[BankItem]] = {}
        for item in self.items:
            self._index.setdefault((item.split, item.category, item.subtype, item.register), []).append(item)

    def __len__(self) -> int:
        return len(self.items)

    def subtypes(self, category: str) -> set[str]:
        return {i.subtype for i in self.items if i.category == category}

    def draw(
        self, want: Want, split: str, rng: random.Random, writers: frozenset[str] | None = None
    ) -> BankItem | None:
        """An item for this call: same subtype, a register the channel allows, the region when possible.

        ``writers`` limits the items to some writers' (a site that speaks unlike the training data)."""
        for register in _registers_for(want, rng):
            pool = [
                i
                for i in self._index.get((split, want.category, want.subtype, register), ())
                if _compatible(i, want) and (writers is None or i.writer in writers)
            ]
            if not pool:
                continue
            local = [i for i in pool if i.region == want.region]
            if local and rng.random() < 0.7:
                pool = local
            return pool[rng.randrange(len(pool))]
        return None


@cache
def text_bank(folder: Path = BANK_DIR) -> TextBank:
    """Every writer's file under ``data/simbank``, loaded once per process (empty when there are none)."""
    return TextBank(read_items(sorted(folder.glob("*.jsonl"))) if folder.is_dir() else [])


def perturb_numbers(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """Other amounts, times and counts than the writer's, so numbers carry no writer's habit."""

    def digits(m: re.Match[str]) -> str:
        if rng.random() >= rate:
            return m.group()
        first = str(rng.randint(1, 9))
        return first + "".join(str(rng.randint(0, 9)) for _ in m.group()[1:])

    def numeral(m: re.Match[str]) -> str:
        return rng.choice("二三四五六七八九") if rng.random() < rate * 0.4 else m.group()

    return _CN_NUMERAL.sub(numeral, _DIGITS.sub(digits, text))


def sentences(text: str) -> list[str]:
    """The item cut at sentence ends, so a phone call can spread it over turns."""
    parts = [p for p in re.split(r"(?<=[。！？!?；;])", text) if p.strip()]
    return parts or [text]

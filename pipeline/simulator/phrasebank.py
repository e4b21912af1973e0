"""A tiny template grammar: slots, inline alternatives and train/holdout partitions.

Customer speech is built by composing frames from banks rather than picking whole
sentences, so no sentence dominates the data. Every bank item belongs to one
phrasing partition (a stable hash of its text), which lets ``--holdout`` generate
calls from frames and synonyms a model trained on the ``train`` partition never saw.

Glue banks (greetings, back-channels, closings) may be ``shared`` by both partitions:
they carry no request signal, and splitting them would only make holdout calls repetitive.

Syntax: ``{name}`` expands a bank (or a per-call context value); ``[a|b|]`` picks
one alternative inline (an empty alternative makes the part optional).
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SPLITS: tuple[str, ...] = ("train", "holdout")
_TOKEN = re.compile(r"\{(\w+)\}|\[([^\[\]]*)\]")
# One bank item in three goes to the holdout partition.
_HOLDOUT_MOD = 3

Part = str | tuple[str, object]


_STRAY = re.compile(r"[\[\]{}]")


def _literal(text: str, template: str) -> str:
    if _STRAY.search(text):
        raise ValueError(f"unbalanced or nested brackets in template: {template}")
    return text


def _compile(template: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    pos = 0
    for m in _TOKEN.finditer(template):
        if m.start() > pos:
            parts.append(_literal(template[pos : m.start()], template))
        if m.group(1) is not None:
            parts.append(("slot", m.group(1)))
        else:
            parts.append(("alt", tuple(_compile(a) for a in split_top(m.group(2)))))
        pos = m.end()
    if pos < len(template):
        parts.append(_literal(template[pos:], template))
    return tuple(parts)


def partition_of(item: str) -> str:
    """The phrasing partition of a bank item; stable across runs and machines."""
    return "holdout" if zlib.crc32(item.encode("utf-8")) % _HOLDOUT_MOD == 0 else "train"


@dataclass(frozen=True)
class Bank:
    """Items of one bank, compiled and divided into partitions (each side never empty)."""

    name: str
    by_split: dict[str, tuple[tuple[Part, ...], ...]]
    partitioned: bool = True

    @classmethod
    def build(cls, name: str, items: Sequence[str], shared: bool = False) -> Bank:
        if not items:
            raise ValueError(f"bank {name} is empty")
        if shared:
            compiled = tuple(map(_compile, items))
            return cls(name, {"train": compiled, "holdout": compiled}, partitioned=False)
        train = [i for i in items if partition_of(i) == "train"]
        hold = [i for i in items if partition_of(i) == "holdout"]
        if len(items) < 3:
            compiled = tuple(map(_compile, items))
            return cls(name, {"train": compiled, "holdout": compiled}, partitioned=False)
        if not hold:
            hold = [train.pop()]
        elif not train:
            train = [hold.pop()]
        return cls(name, {"train": tuple(map(_compile, train)), "holdout": tuple(map(_compile, hold))})


def split_top(text: str) -> list[str]:
    """Split on ``|`` outside brackets: bank items may carry inline ``[a|b]`` choices."""
    items: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "|" and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return items


def _split_items(items: str | Sequence[str]) -> list[str]:
    return split_top(items) if isinstance(items, str) else list(items)


class Grammar:
    """Named banks plus expansion; per-call values are passed as ``ctx``."""

    def __init__(
        self, banks: Mapping[str, str | Sequence[str]], shared: frozenset[str] = frozenset()
    ) -> None:
        unknown = shared - banks.keys()
        if unknown:
            raise ValueError(f"shared banks not defined: {sorted(unknown)}")
        self.banks = {
            name: Bank.build(name, _split_items(items), name in shared) for name, items in banks.items()
        }
        self._inline: dict[str, tuple[Part, ...]] = {}

    def has(self, name: str) -> bool:
        return name in self.banks

    def expand(self, name: str, rng: random.Random, split: str, ctx: Mapping[str, str]) -> str:
        """Expand bank ``name`` (or the context value of that name) to text."""
        if name in ctx:
            return ctx[name]
        bank = self.banks.get(name)
        if bank is None:
            raise KeyError(f"unknown bank or context slot: {name}")
        items = bank.by_split[split]
        return self._render(items[rng.randrange(len(items))], rng, split, ctx)

    def text(self, template: str, rng: random.Random, split: str, ctx: Mapping[str, str]) -> str:
        """Expand an inline template (not partitioned: partitions live in banks)."""
        parts = self._inline.get(template)
        if parts is None:
            parts = self._inline[template] = _compile(template)
        return self._render(parts, rng, split, ctx)

    def _render(self, parts: tuple[Part, ...], rng: random.Random, split: str, ctx: Mapping[str, str]) -> str:
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            elif part[0] == "slot":
                out.append(self.expand(part[1], rng, split, ctx))  # type: ignore[arg-type]
            else:
                alts = part[1]
                out.append(self._render(alts[rng.randrange(len(alts))], rng, split, ctx))  # type: ignore[index,arg-type]
        return "".join(out)

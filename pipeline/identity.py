"""Who is calling: one stable customer id across account number, phone and an account number read aloud.

A customer used to be "the account number, else the phone", so a caller who
gave the 户号 once and not the next time, or called from a new phone, became
two customers and lost their history (repeat counts, the third-call rule,
slip merging). Here every call contributes identity keys:

- ``account``: the export's ``customer_id``, or else an account number the
  customer read out in the call (digits one by one, 洞/幺/拐/勾 for 0/1/7/9);
- ``phone``: an unmasked phone number;
- ``masked``: a masked phone (``138****5678``) is a weak key: it links calls only
  with the same supply unit and area.

Calls sharing a key belong to one customer (union-find over the night plus
the stored links), except that two different account numbers never merge:
a phone shared by a family stays with the account it was first seen with.

A customer's id is the keyed hash of its first strongest key (account, else
phone), which is exactly the old ``customer_hash(customer_key)``, so history
stored before this module keeps matching. When a night joins two known
customers, the older id wins and the other becomes an alias
(:func:`aliases`), so history under either id is found.
Only keyed hashes are stored (``identity_links``), never raw numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.records import CallRecord
from pipeline.storage.db import customer_hash
from pipeline.storage.identity import IdentityLink
from pipeline.text.normalize import normalize
from pipeline.text.turns import split_turns

KIND_RANK: dict[str, int] = {"account": 0, "phone": 1, "masked": 2}
ACCOUNT_LENGTHS: tuple[int, ...] = (10, 12)
"""Lengths of an account number (State Grid 10 digits, China Southern Grid 12); others are not accounts."""

_SPOKEN = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3"}
_SPOKEN |= {"四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8", "九": "9", "勾": "9"}
_DIGIT = "[0-9" + "".join(_SPOKEN) + "]"
_FILLER = r"(?:[ \t，,、…·.\-]|呃|嗯|啊|那个){0,3}"
_RUN = re.compile(rf"{_DIGIT}(?:{_FILLER}{_DIGIT})+")
_ACCOUNT_WORD = re.compile(r"户号|用户编号|用户号|客户编号|户头|缴费号|账号|帐号")
_NOT_ACCOUNT_WORD = re.compile(r"工单|单号|流水号|电话|手机|号码|(?<![用客户])编号")
_MASKED = re.compile(r"\*")
SQL_CHUNK = 500


def _digits(run: str) -> str:
    return "".join(_SPOKEN.get(ch, ch) for ch in run if ch.isdigit() or ch in _SPOKEN)


def spoken_account(transcript: str) -> str | None:
    """The account number the customer read out, as digits, or None.

    A digit run counts when it has an account's length and the customer named it
    (户号是…) or answered the agent's question for it; work-order and phone
    numbers are not accounts.
    """
    turns = split_turns(normalize(transcript or ""))
    asked = False
    for turn in turns:
        if turn.speaker == "agent":
            asked = bool(_ACCOUNT_WORD.search(turn.text))
            continue
        for match in _RUN.finditer(turn.text):
            digits = _digits(match.group())
            if len(digits) not in ACCOUNT_LENGTHS or (len(digits) == 11 and digits.startswith("1")):
                continue
            before = turn.text[max(0, match.start() - 10) : match.start()]
            named = list(_ACCOUNT_WORD.finditer(before))
            other = list(_NOT_ACCOUNT_WORD.finditer(before))
            if other and (not named or other[-1].end() > named[-1].end()):
                continue  # the nearest word before it names a work order or a phone
            if asked or named:
                return digits
        asked = False
    return None


@dataclass(frozen=True)
class Key:
    """One identity key of a call; ``value`` is raw only in memory."""

    kind: str
    value: str

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.value}"


def call_keys(record: CallRecord) -> list[Key]:
    """The identity keys of a call, strongest first (an account, a phone, a masked phone in its unit/area)."""
    keys: list[Key] = []
    account = "".join((record.customer_id or "").split())
    if not account:
        account = spoken_account(record.transcript) or ""
    if account:
        keys.append(Key("account", account))
    phone = "".join((record.phone or "").split())
    if phone and not _MASKED.search(phone):
        keys.append(Key("phone", phone))
    elif phone and record.area:
        keys.append(Key("masked", f"{record.unit}|{record.area}|{phone}"))
    return keys


@dataclass
class StoredLink:
    """A link as the store knows it: key hash -> current customer id, and the id the key started with."""

    key_hash: str
    kind: str
    customer_id: str
    origin_id: str
    first_seen: datetime
    last_seen: datetime


@dataclass
class Resolution:
    """One night's identity: customer id per call, links to write, and ids merged into others."""

    customer_of: dict[str, str]
    links: dict[str, StoredLink]
    merged: dict[str, str] = field(default_factory=dict)


class _UnionFind:
    """Union-find over key hashes; a component holds at most one account key."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.account: dict[str, str | None] = {}

    def add(self, node: str, account: str | None) -> None:
        if node not in self.parent:
            self.parent[node] = node
            self.account[node] = account

    def find(self, node: str) -> str:
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: str, b: str) -> bool:
        """Join the components of ``a`` and ``b`` unless they hold two different accounts."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        acc_a, acc_b = self.account[ra], self.account[rb]
        if acc_a and acc_b and acc_a != acc_b:
            return False
        self.parent[rb] = ra
        self.account[ra] = acc_a or acc_b
        return True


def link_calls(
    records: Sequence[CallRecord],
    stored: Mapping[str, StoredLink],
    hasher: Callable[[str], str] = customer_hash,
) -> Resolution:
    """Customer ids for ``records`` given what the store knows (pure; the caller persists the links).

    ``stored`` holds the links of tonight's keys and every other link of the
    customers they point to (so each known customer's account is known).
    """
    uf = _UnionFind()
    links = {h: StoredLink(**vars(link)) for h, link in stored.items()}
    by_customer: dict[str, list[str]] = {}
    for h, link in sorted(links.items(), key=lambda item: (item[1].first_seen, item[0])):
        uf.add(h, h if link.kind == "account" else None)
        by_customer.setdefault(link.customer_id, []).append(h)
    for members in by_customer.values():
        for other in members[1:]:
            uf.union(members[0], other)
    call_root_key: dict[str, str] = {}
    ordered = sorted(records, key=lambda r: (r.call_time, r.call_id))
    for record in ordered:
        keys = call_keys(record)
        if not keys:
            keys = [Key("call", record.call_id)]
        hashes = []
        for key in keys:
            h = hasher(key.text)
            hashes.append(h)
            uf.add(h, h if key.kind == "account" else None)
            if h not in links:
                links[h] = StoredLink(h, key.kind, "", hasher(key.value), record.call_time, record.call_time)
            else:
                link = links[h]
                link.first_seen = min(link.first_seen, record.call_time)
                link.last_seen = max(link.last_seen, record.call_time)
        for h in hashes[1:]:
            uf.union(hashes[0], h)
        call_root_key[record.call_id] = hashes[0]
    components: dict[str, list[str]] = {}
    for h in links:
        components.setdefault(uf.find(h), []).append(h)
    customer_of_root: dict[str, str] = {}
    merged: dict[str, str] = {}
    for root, members in components.items():
        known = [links[h] for h in members if links[h].customer_id]
        if known:
            oldest = min(known, key=lambda link: (link.first_seen, link.customer_id))
            winner = oldest.customer_id
            for link in known:
                if link.customer_id != winner:
                    merged[link.customer_id] = winner
        else:
            best = min(members, key=lambda h: (KIND_RANK.get(links[h].kind, 9), links[h].first_seen, h))
            winner = links[best].origin_id
        customer_of_root[root] = winner
        for h in members:
            links[h].customer_id = winner
    customer_of = {cid: customer_of_root[uf.find(h)] for cid, h in call_root_key.items()}
    keep = {h: link for h, link in links.items() if link.kind != "call"}
    return Resolution(customer_of, keep, merged)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), SQL_CHUNK):
        yield items[start : start + SQL_CHUNK]


def _stored(row: IdentityLink) -> StoredLink:
    return StoredLink(row.key_hash, row.kind, row.customer_id, row.origin_id, row.first_seen, row.last_seen)


def load_links(session: Session, key_hashes: Iterable[str]) -> dict[str, StoredLink]:
    """The stored links of these keys plus every other link of the customers they belong to."""
    found: dict[str, StoredLink] = {}
    for chunk in _chunks(sorted(set(key_hashes))):
        for row in session.scalars(select(IdentityLink).where(IdentityLink.key_hash.in_(chunk))):
            found[row.key_hash] = _stored(row)
    customers = sorted({link.customer_id for link in found.values()})
    for chunk in _chunks(customers):
        for row in session.scalars(select(IdentityLink).where(IdentityLink.customer_id.in_(chunk))):
            found.setdefault(row.key_hash, _stored(row))
    return found


def resolve_night(
    session: Session, records: Sequence[CallRecord], hasher: Callable[[str], str] = customer_hash
) -> Resolution:
    """Link tonight's calls to the stored customers and store the links (the caller commits)."""
    wanted = {hasher(key.text) for record in records for key in call_keys(record)}
    stored = load_links(session, wanted)
    resolution = link_calls(records, stored, hasher)
    existing = {
        row.key_hash: row
        for chunk in _chunks(sorted(resolution.links))
        for row in session.scalars(select(IdentityLink).where(IdentityLink.key_hash.in_(chunk)))
    }
    for h, link in resolution.links.items():
        row = existing.get(h)
        if row is None:
            session.add(
                IdentityLink(
                    key_hash=h,
                    kind=link.kind,
                    customer_id=link.customer_id,
                    origin_id=link.origin_id,
                    first_seen=link.first_seen,
                    last_seen=link.last_seen,
                )
            )
        else:
            row.customer_id = link.customer_id
            row.first_seen = min(row.first_seen, link.first_seen)
            row.last_seen = max(row.last_seen, link.last_seen)
    session.flush()
    return resolution


def aliases(session: Session, customer_ids: Iterable[str]) -> dict[str, set[str]]:
    """Every id a customer's history may be stored under: its own and those of the keys merged into it."""
    out: dict[str, set[str]] = {cid: {cid} for cid in customer_ids}
    for chunk in _chunks(sorted(out)):
        query = select(IdentityLink.customer_id, IdentityLink.origin_id).where(
            IdentityLink.customer_id.in_(chunk)
        )
        for customer_id, origin_id in session.execute(query):
            out[customer_id].add(origin_id)
    return out

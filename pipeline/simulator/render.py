"""Turn a planned call into the transcript an export would carry.

Phone calls become speaker turns with the label variants real exports use (坐席/客服/
话务员, 客户/用户/来电人, half-width colons, missing labels, one run-on line); app, web
and wechat contacts become free text. The customer turns carry the signal: the agent
names the category only sometimes. Dialect and ASR noise are applied last.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from pipeline.labels import LABELS
from pipeline.simulator import spoken
from pipeline.simulator.asr import garble, spoken_digits
from pipeline.simulator.banks import grammar
from pipeline.simulator.dialect import speak
from pipeline.simulator.escalation import CallPlan
from pipeline.simulator.intents import INTENTS, Intent
from pipeline.simulator.textbank import (
    REGION_OF_DIALECT,
    BankItem,
    Want,
    perturb_numbers,
    sentences,
    text_bank,
)

AGENT_LABELS = ("坐席", "坐席", "坐席", "客服", "话务员", "座席")
CUSTOMER_LABELS = ("客户", "客户", "客户", "用户", "来电人", "客户")
FREE_TEXT_PREFIXES = (
    "",
    "",
    "",
    "【在线诉求】",
    "留言：",
    "诉求内容：",
    "客户留言：",
    "【网上国网】",
    "【微信公众号】",
)
WORK_ORDER_HEADERS = ("12345转办：", "12345热线转办工单：", "【12345转办】", "工单摘要：", "市长热线转来：")
_END_MARKS = "。！？!?；;，,…~～"


def join_clauses(parts: list[str]) -> str:
    """Clauses joined by commas, except where a clause already ends in punctuation (whole sentences)."""
    out = ""
    for part in parts:
        if not part:
            continue
        if out and out[-1] not in _END_MARKS:
            out += "，"
        out += part
    return out


_SECONDARY = {label: [i for i in INTENTS if i.label == label] for label in LABELS}
# Share of calls whose problem statement is a whole-written bank item (where one fits) rather than a template.
BANK_SHARE = 0.8
# Share of phone calls in which the agent names the category when confirming the work order.
AGENT_NAMES_CATEGORY = 0.12


@dataclass(frozen=True)
class Rendered:
    transcript: str
    duration_s: int | None
    gave_account: bool


class Renderer:
    """Renders calls of one phrasing partition (``train`` or ``holdout``), optionally by some writers only."""

    def __init__(self, split: str, writers: frozenset[str] | None = None) -> None:
        self.split = split
        self.writers = writers
        self.g = grammar()

    # -- helpers -------------------------------------------------------------------------
    def _b(self, name: str, rng: random.Random, ctx: dict[str, str]) -> str:
        return self.g.expand(name, rng, self.split, ctx)

    def _has(self, name: str) -> bool:
        return self.g.has(name)

    def _ctx(self, plan: CallPlan, rng: random.Random, asr_digits: float) -> dict[str, str]:
        p = plan.problem
        spec = p.area.unit.spec
        first = p.calls[0].time
        waited_from = p.deadline if plan.missed and p.deadline and rng.random() < 0.3 else first
        if waited_from == first:
            # The wait began before the first call: the application, the payment, the outage itself.
            waited_from -= {
                "wd": timedelta(days=rng.uniform(2, 25)),
                "reconnect": timedelta(hours=rng.uniform(2, 30)),
                "crew": timedelta(minutes=rng.uniform(15, 150)),
                "restore": timedelta(minutes=rng.uniform(30, 240)),
            }.get(p.intent.commitment, timedelta(0))
        usual = rng.choice((60, 80, 90, 100, 120, 150, 180, 200))
        bill = int(usual * rng.uniform(1.8, 6.0))
        end_at = p.end_at or p.deadline or p.resolve_at
        village = p.area.kind == "village"
        return {
            "landmark": self._b("landmark_village" if village else "landmark_town", rng, {}),
            "ask_address_kind": "您在哪个村哪个组"
            if village
            else rng.choice(("具体是哪个小区几栋几单元", "哪条街多少号")),
            "area": p.area.name if rng.random() < 0.6 else p.area.short,
            "village": p.area.short,
            "grid": spec.grid,
            "agent_no": str(rng.randrange(1000, 99999)),
            "account": spoken_digits(p.customer.account, rng, asr_digits),
            "order": spoken_digits(f"{first:%y%m%d}{int(p.problem_id[1:]) % 100000:05d}", rng, asr_digits),
            "nth": spoken.cn_int(plan.index + 1),
            "times": spoken.count(max(plan.index, 2) if rng.random() < 0.5 else plan.index + 1),
            "waited": spoken.duration(plan.time - waited_from, rng),
            "promise": spoken.promise(p.promise_h),
            "commit_days": spoken.cn_int(p.intent.commit_days),
            "end": spoken.clock(end_at, rng),
            "amount_bill": spoken.money(bill, rng),
            "amount_usual": spoken.money(usual, rng),
            "reading": spoken.cn_int(rng.randrange(180, 1500)),
            "reading2": str(rng.randrange(300, 3000)),
            "when": rng.choice(("昨天", "前天", "上周", "早上", "之前")),
        }

    def _customer_clauses(
        self, plan: CallPlan, rng: random.Random, ctx: dict[str, str]
    ) -> tuple[list[str], list[str], BankItem | None]:
        """The problem statement (opening clauses), what comes out later, and the bank item spoken."""
        p, intent = plan.problem, plan.problem.intent
        cust = p.customer
        key = intent.key
        opening: list[str] = []
        later: list[str] = []
        if plan.index > 0 and rng.random() < 0.85:
            opening.append(self._b("repeat_ref", rng, ctx))
        if p.after_restore and rng.random() < 0.7:
            opening.append(
                rng.choice(("刚刚停了电，", "停电停了一下午，", "前面停电，", "今天停了半天电，"))
                + "电来了以后"
            )
        item = self._bank_item(plan, rng)
        old = f"{key}_old"
        if item is not None:
            text = perturb_numbers(item.text.replace("{area}", ctx["area"]), rng)
            opening.extend(sentences(text))
        elif cust.elderly and self._has(old) and rng.random() < 0.65:
            opening.append(self._b(old, rng, ctx))
        else:
            opening.append(self._b(f"{key}_say", rng, ctx))
        said = item.mentions if item is not None else frozenset()
        more = f"{key}_more"
        if item is None and self._has(more) and rng.random() < 0.6:
            (later if rng.random() < 0.6 else opening).append(self._b(more, rng, ctx))
        if item is None and self._has(more) and rng.random() < 0.15:
            later.append(self._b(more, rng, ctx))
        if plan.missed and "missed_promise" not in said and rng.random() < 0.85:
            bank = {"crew": "missed_crew", "restore": "missed_restore"}.get(intent.commitment, "missed_wd")
            (opening if rng.random() < 0.5 else later).append(self._b(bank, rng, ctx))
        if plan.callback_unsat and rng.random() < 0.85:
            later.append(self._b("cb_unsat", rng, ctx))
        if p.wide and intent.key != "area_out" and "wide_impact" not in said and rng.random() < 0.35:
            later.append(self._b("wide", rng, ctx))
        if p.vulnerable and "vulnerable" not in said and rng.random() < 0.6:
            later.append(self._b("vulnerable", rng, ctx))
        if cust.temper > 0.45 and rng.random() < cust.temper * 0.7:
            later.append(self._b("angry", rng, ctx))
        if intent.label != "other" and rng.random() < 0.04:
            later.append(self._b("rude_addon", rng, ctx))
        if plan.threat:
            later.append(self._b("threat", rng, ctx))
        if item is None and rng.random() < 0.08 and plan.channel == "phone":
            other = rng.choice([lab for lab in LABELS if lab != intent.label])
            second: Intent = rng.choice(_SECONDARY[other])
            text = self._b("secondary_intro", rng, ctx) + "，" + self._b(f"{second.key}_say", rng, ctx)
            priority = self._b("priority", rng, ctx)
            if rng.random() < 0.5:
                opening.insert(0, text)
                opening.append(priority)
            else:
                later.append(text)
                later.append("不过" + priority)
        return opening, later, item

    def _bank_item(self, plan: CallPlan, rng: random.Random) -> BankItem | None:
        """A whole-written item for this call's problem, or None to speak from the templates."""
        if rng.random() >= BANK_SHARE:
            return None
        p = plan.problem
        want = Want(
            category=p.intent.label,
            subtype=p.intent.key,
            channel=plan.channel,
            region=REGION_OF_DIALECT.get(p.area.unit.spec.dialect, "standard"),
            elderly=p.customer.elderly,
            repeat=plan.index > 0,
            missed=plan.missed,
            vulnerable=p.vulnerable,
            wide=p.wide,
        )
        return text_bank().draw(want, self.split, rng, self.writers)

    def _voice(self, text: str, plan: CallPlan, rng: random.Random, level: float) -> str:
        cust = plan.problem.customer
        if rng.random() < (0.35 if cust.elderly else 0.2):
            text = self._b("filler", rng, {}) + rng.choice(("，", "", " ", "…")) + text
        if "，" in text and rng.random() < (0.3 if cust.elderly else 0.15):
            # Hesitation inside the sentence, not only before it.
            head, tail = text.split("，", 1)
            text = head + "，" + self._b("filler", rng, {}) + rng.choice(("", "，", " ")) + tail
        if len(text) > 3 and rng.random() < 0.06:
            # A stutter or restart: 我我家 / 那个不是，我是说…
            text = (
                text[0] + text if rng.random() < 0.6 else rng.choice(("不是，", "我是说，", "就是，")) + text
            )
        text = speak(text, plan.problem.area.unit.spec.dialect, cust.dialect_strength, rng)
        return garble(text, rng, level)

    # -- phone calls ---------------------------------------------------------------------
    def _phone(
        self, plan: CallPlan, rng: random.Random, level: float, ctx: dict[str, str]
    ) -> tuple[list[tuple[str, str]], bool]:
        p = plan.problem
        label = p.intent.label
        opening, later, _item = self._customer_clauses(plan, rng, ctx)
        r = rng.random()
        length = "short" if r < 0.15 else "long" if r > 0.85 else "normal"
        turns: list[tuple[str, str]] = []
        a = lambda name: turns.append(("A", self._b(name, rng, ctx)))  # noqa: E731
        c = lambda text: turns.append(("C", self._voice(text, plan, rng, level)))  # noqa: E731
        if r < 0.04:
            # The line drops after the first sentence: a very short record that still has its label.
            if rng.random() < 0.7:
                a("greet")
            c(opening[-1])
            turns.append(
                ("A", rng.choice(("喂？您好？还在吗", "喂，您好，听得到吗", "您好，信号不太好", "喂？")))
            )
            return turns, False
        if rng.random() < 0.92:
            a("greet")
        start = rng.random()
        if start < 0.4:
            opening.insert(0, self._b("hello", rng, ctx))
        elif start < 0.75:
            opening.insert(0, self._b("hello", rng, ctx) + "，" + self._b("intro", rng, ctx))
        if length != "short" and len(opening) > 2 and rng.random() < 0.5:
            cut = rng.randint(1, len(opening) - 1)
            c(join_clauses(opening[:cut]))
            turns.append(("A", rng.choice(("嗯，您说", "好的，您继续说", "嗯", "您慢慢说"))))
            c(join_clauses(opening[cut:]))
        else:
            c(join_clauses(opening))
        gave = False
        if length != "short" or rng.random() < 0.3:
            a("ask_account")
            if rng.random() < p.customer.knows_account:
                gave = True
                c(self._b("give_account", rng, ctx))
                if rng.random() < 0.2:
                    check = rng.choice(("您再说一遍", "不好意思没听清，再报一下", f"是{ctx['account']}吗"))
                    turns.append(("A", check))
                    c(self._b("give_account", rng, ctx))
            else:
                c(self._b("no_account", rng, ctx))
                a("ask_address")
                c(self._b("give_address", rng, ctx))
        if plan.index > 0 and rng.random() < 0.6:
            a("repeat_ack")
        pending = list(later)
        rounds = {"short": 0, "normal": rng.randint(1, 2), "long": rng.randint(3, 6)}[length]
        asked: set[str] = set()
        for _ in range(rounds):
            question = ""
            for _try in range(3):
                question = self._b(f"ask_{label}" if rng.random() < 0.3 else "ask_more", rng, ctx)
                if question not in asked:
                    break
            asked.add(question)
            turns.append(("A", question))
            if pending:
                c(pending.pop(0))
            else:
                c(self._b(rng.choice(("yes", "yes", "hurry", "ok_wait")), rng, ctx))
            if length == "long" and rng.random() < 0.3:
                c(
                    self._b("interrupt", rng, ctx)
                    + "，"
                    + (pending.pop(0) if pending else self._b("hurry", rng, ctx))
                )
        if length == "long":
            retell = self._b("retell", rng, ctx) + "，" + self._b(f"{p.intent.key}_say", rng, ctx)
            c(self._b("life", rng, ctx) + "，" + retell if rng.random() < 0.6 else retell)
            a("explain")
            c(
                self._b(
                    rng.choice(("hurry", "ok_wait", "angry" if p.customer.temper > 0.4 else "yes")), rng, ctx
                )
            )
            if self._has(f"{p.intent.key}_more"):
                turns.append(("A", rng.choice(("嗯，还有吗", "您接着说", "好的，我记一下"))))
                c(self._b(f"{p.intent.key}_more", rng, ctx))
            a("confirm_phone")
            c(
                self._b("yes", rng, ctx)
                + rng.choice(("，就打这个", "，这个号码一直开着", "", "，白天打不通就晚上打"))
            )
        while pending:
            c(join_clauses(pending[:2]))
            pending = pending[2:]
            if pending:
                a("soothe")
        if p.customer.temper > 0.5 and rng.random() < 0.6:
            a("soothe")
        confirm = self._b("confirm_open", rng, ctx)
        if rng.random() < AGENT_NAMES_CATEGORY:
            ctx = {**ctx, "catname": self._b(f"catname_{label}", rng, ctx)}
            confirm += "，" + self._b("named", rng, ctx)
        commitment = p.intent.commitment
        promise = {"crew": "promise_crew", "restore": "promise_restore", "wd": "promise_wd"}.get(commitment)
        if promise is None:
            promise = "promise_check" if label == "meter_billing" and commitment != "none" else "promise_none"
        if commitment != "none" or rng.random() < 0.3:
            confirm += "，" + self._b(promise, rng, ctx)
        if rng.random() < 0.6 and commitment != "none":
            confirm += "，" + self._b("give_order", rng, ctx)
        turns.append(("A", confirm))
        if length != "short" or rng.random() < 0.5:
            c(self._b("hurry", rng, ctx) if rng.random() < 0.4 else self._b("thanks", rng, ctx))
        if rng.random() < (0.3 if length == "short" else 0.7):
            a("close")
            if rng.random() < 0.5:
                c(self._b("thanks", rng, ctx))
        return turns, gave

    def _layout(self, turns: list[tuple[str, str]], rng: random.Random, level: float) -> str:
        agent, customer = rng.choice(AGENT_LABELS), rng.choice(CUSTOMER_LABELS)
        colon = ":" if rng.random() < 0.2 else "："
        style = rng.random()
        if style < 0.05:
            return "".join(turns_text for _, turns_text in turns)
        drop = 0.08 if style < 0.15 else 0.0
        lines = []
        for who, text in turns:
            text = garble(text, rng, level * 0.5) if who == "A" else text
            if rng.random() < drop:
                lines.append(text)
            else:
                lines.append(f"{agent if who == 'A' else customer}{colon}{text}")
        sep = " " if style < 0.1 else "\n"
        return sep.join(lines)

    # -- free text -----------------------------------------------------------------------
    def _free_text(self, plan: CallPlan, rng: random.Random, ctx: dict[str, str]) -> tuple[str, bool]:
        opening, later, item = self._customer_clauses(plan, rng, ctx)
        parts = opening + later
        gave = rng.random() < 0.7
        if item is not None and item.register == "work_order":
            # a clerk's summary forwarded by another hotline: its own header, no customer small talk
            header = rng.choice(WORK_ORDER_HEADERS)
            text = join_clauses(parts)
            if gave and rng.random() < 0.5:
                text += f"户号{plan.problem.customer.account}。"
            return header + garble(text, rng, 0.02), gave
        if gave and rng.random() < 0.5:
            parts.insert(0, f"户号{plan.problem.customer.account}")
        if rng.random() < 0.6:
            parts.insert(0 if rng.random() < 0.5 else len(parts), "地址：" + plan.problem.area.name)
        if rng.random() < 0.5:
            parts.append(self._b("hurry", rng, ctx))
        if item is None and rng.random() < 0.4:
            parts.insert(0, self._b("written_open", rng, ctx))
        if rng.random() < 0.3:
            parts.append(self._b("written_ask", rng, ctx))
        text = join_clauses(parts) + rng.choice(("。", "！", "", "!!", "。。"))
        prefix = rng.choice(FREE_TEXT_PREFIXES)
        text = speak(
            text, plan.problem.area.unit.spec.dialect, plan.problem.customer.dialect_strength * 0.5, rng
        )
        return prefix + garble(text, rng, 0.04), gave

    def render(self, plan: CallPlan, rng: random.Random) -> Rendered:
        """The transcript of ``plan`` and what it implies for the export row."""
        level = 0.0 if rng.random() < 0.25 else rng.uniform(0.05, 0.4)
        ctx = self._ctx(plan, rng, rng.random())
        if plan.channel != "phone":
            text, gave = self._free_text(plan, rng, ctx)
            return Rendered(text, None, gave)
        turns, gave = self._phone(plan, rng, level, ctx)
        transcript = self._layout(turns, rng, level)
        chars = sum(len(t) for _, t in turns)
        duration = int(chars / rng.uniform(3.5, 5.0) + rng.uniform(8, 40) + 6 * len(turns))
        return Rendered(transcript, duration, gave)

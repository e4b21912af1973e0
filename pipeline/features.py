"""Escalation-risk features of one call, from its words and from the history before it.

The same code serves production and training: production fills a
:class:`History` from the database plus the night's input, training replays
simulated nights in order into an in-memory History. Features only look at
calls before the one being scored, except the wide-incident count, which looks
at the whole night window around it (the nightly batch sees the whole night
before any slip is issued, so this is no peek into the future).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pipeline.labels import LABELS
from pipeline.problems import Problem, ProblemCall, assign
from pipeline.risk.commitments import Commitment, commitment_features
from pipeline.risk.config import RiskConfig
from pipeline.text import customer_text, split_turns
from pipeline.text.risk_cues import CUE_FLAG_AT, CUES, cue_scores

_THREAT_REGULATOR = re.compile(r"12398|能源局|能监办|能源监管|监管部门|国家能源")
_THREAT_OTHER = {
    "12345": re.compile(r"12345|市长热线|市民热线|政务热线"),
    "媒体": re.compile(r"媒体|记者|电视台|报社|曝光|网上发|发到网上|抖音|快手|微博|朋友圈"),
    "法院": re.compile(r"法院|律师|起诉|打官司|告你们|走法律|法律途径"),
    "上级部门": re.compile(r"信访|上访|纪委|上级部门|往上[告反映找]|上面来查|找政府|找领导"),
}
_ANGER = re.compile(
    r"太过分|气死|生气|火大|火气|气得|窝火|憋火|受够|忍无可忍|没法忍|没办法忍|要疯|疯了|什么态度|"
    r"(态度|服务|办事)[太好真]?[的]?差|管不管|推来推去|踢皮球|推皮|不算数|拖了又拖|收钱不办事|收电费不办事|"
    r"不负责|敷衍|糊弄|不当回事|当回事|官腔|凭什么|不像话|欺负人|坑人|骗人|岂有此理|"
    r"(每次|回回|次次)都这样|[！!]{2,}"
)
_URGENCY = re.compile(r"马上|立刻|赶紧|赶快|急死|急得|等不了|尽快|今天必须|十万火急|快点|要紧|急用")
_VULNERABLE = {
    "老人": re.compile(r"老人|老年人|老太太|老爷子|老伴|老头子|老婆子|[七八九]十多岁|独居|年纪大"),
    "病人": re.compile(r"病人|生病|卧床|瘫|住院|透析|呼吸机|制氧机|孕妇|发烧|身体不好|离不得电|离不开电"),
    "婴幼儿": re.compile(r"婴儿|娃娃还小|孩子还小|小孩还小|刚生|坐月子|新生儿"),
    "药品": re.compile(r"胰岛素|药品|药要冷藏|吃的药"),
}
_LOSS = {
    "冰箱/冷库": re.compile(r"冰箱|冷库|冷柜|冰柜|冷藏"),
    "冻品": re.compile(r"冻品|冻肉|海鲜|东西都要坏|货都要坏|化了|臭了"),
    "鱼塘": re.compile(r"鱼塘|增氧|鱼[都全]?要?死|翻塘|虾塘"),
    "养殖": re.compile(r"养殖|[猪鸡鸭牛]场|几百头|孵化|保温灯|大棚"),
    "工厂": re.compile(r"工厂|厂里|车间|生产线|停产|机器停|订单|赔钱|损失|几万块"),
}
_MISSED_COMMITMENT = re.compile(
    r"(说好|说是|讲好|说的|讲的|说了|答应|承诺|保证|通知上说|公告上说|说)[^。！？!?\n]{0,20}?"
    r"(还没|都没|没来|没人|没有来|没修|没弄|不来|没动静|没见|现在都|都几点|人呢|过了)"
    r"|人影[子]?都没|一点动静都没|没人管|没人理|石沉大海|没有?下文|从报修到现在|等了[^。！？!?]{1,8}了|拖了[^。！？!?]{0,6}了"
)
_CALLBACK_UNSATISFIED = re.compile(
    r"回访[^。！？!?]{0,16}(不满意|没解决|没弄好|根本没有|没下文|又没人|不认可)"
)
_EARLIER = re.compile(
    r"又|上次|上回|第[二三四五六两2-9]次|工单|打过|打了[两三四五几好多]+次|好几次|已经打了|反映过|说过多少次|再次|还是没|一直没"
)
_WIDE_TEXT = re.compile(
    r"全村|整个?村|整栋|整幢|整条街|一条街|整片|这一片|一片都|整个小区|全小区|全组|好几个组|好多户|几十户|"
    r"周围都|周围几|邻居也|邻居都|一个寨子|整个厂区"
)

REASON_PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    "threat_regulator": (_THREAT_REGULATOR,),
    "threat_other": tuple(_THREAT_OTHER.values()),
    "unsatisfied_callback": (_CALLBACK_UNSATISFIED,),
    "missed_commitment": (_MISSED_COMMITMENT,),
    "repeat": (_EARLIER,),
    "earlier_mention": (_EARLIER,),
    "reopened": (_EARLIER,),
    "wide_incident": (_WIDE_TEXT,),
    "vulnerable": tuple(_VULNERABLE.values()),
    "loss": tuple(_LOSS.values()),
    "anger": (_ANGER,),
    "urgency": (_URGENCY,),
}
"""The keyword patterns behind each reason code, so the web app can mark the words that raised it."""


TEXT_FLAGS: tuple[str, ...] = (
    "threat_regulator",
    "callback_complaint",
    "threat_other",
    "anger",
    "urgency",
    "vulnerable",
    "loss",
    "missed_commitment",
    "earlier_mention",
    "wide_text",
    "said_angry",
    "said_missed",
    "said_repeat",
)
"""Keyword flags, then the learned cues (:mod:`pipeline.text.risk_cues`) past their flag level."""
CUE_COLUMNS: tuple[str, ...] = tuple(f"cue_{cue}" for cue in CUES)
HISTORY_COLUMNS: tuple[str, ...] = (
    "customer_calls_7d",
    "customer_calls_30d",
    "problem_calls_30d",
    "problem_days_since_first",
    "problem_hours_since_last",
    "area_customers_window",
)
CARRIED_FLAGS: tuple[str, ...] = (
    "threat_regulator",
    "threat_other",
    "callback_complaint",
    "anger",
    "missed_commitment",
    "vulnerable",
    "loss",
    "said_angry",
    "said_missed",
    "said_repeat",
)
"""Text signals carried forward on a problem: a threat two nights ago still counts tonight."""
CARRIED_COLUMNS: tuple[str, ...] = tuple(f"prior_{flag}" for flag in CARRIED_FLAGS)
COMMITMENT_COLUMNS: tuple[str, ...] = ("commitments", "commitments_overdue", "commitment_overdue_hours")
STATE_COLUMNS: tuple[str, ...] = ("rescore", "days_since_last_contact")
"""``rescore`` is 1 for a problem re-scored on a night with no call about it."""
SLIP_COLUMNS: tuple[str, ...] = (
    "prior_slip",
    "prior_slip_open",
    "called_after_closure",
    "unsatisfied_callback",
    "slip_reopen_count",
)
MODEL_COLUMNS: tuple[str, ...] = (
    HISTORY_COLUMNS
    + TEXT_FLAGS
    + CUE_COLUMNS
    + ("anger_hits", "text_length", "duration_s", "free_text")
    + tuple(f"category_{label}" for label in LABELS)
    + CARRIED_COLUMNS
    + COMMITMENT_COLUMNS
    + STATE_COLUMNS
)
FEATURE_COLUMNS: tuple[str, ...] = MODEL_COLUMNS + SLIP_COLUMNS
NO_PREVIOUS_HOURS = 24.0 * 60


@dataclass(frozen=True)
class CallView:
    """What features need to know about a call, whether it comes from an export or the database.

    ``probabilities`` (the classifier's, one-hot of ``category`` when absent) group the call into a
    problem; ``flags`` are its text signals (carried forward on the problem); ``problem_id`` is set
    for stored calls, whose problem is already known.
    """

    call_id: str
    call_time: datetime
    customer_key: str
    unit: str
    area: str | None
    category: str
    transcript: str = ""
    duration_s: int | None = None
    probabilities: Mapping[str, float] | None = None
    flags: Mapping[str, int] | None = None
    commitments: tuple[Commitment, ...] = ()
    problem_id: str | None = None

    def distribution(self) -> Mapping[str, float]:
        return self.probabilities or {label: float(label == self.category) for label in LABELS}


@dataclass(frozen=True)
class SlipState:
    """What history knows about the latest slip on a customer problem."""

    status: str
    closed_at: datetime | None
    unsatisfied: bool
    reopen_count: int = 0


@dataclass
class TextSignals:
    """Risk signals found in what the customer said, with the words that triggered them."""

    flags: dict[str, int]
    matches: dict[str, list[str]]
    anger_hits: int
    length: int
    free_text: bool
    commitment_quote: str | None = None
    cues: dict[str, float] = field(default_factory=dict)


def customer_words(transcript: str) -> tuple[str, bool]:
    """The customer's side of the call (normalized, lexicon applied, PII tagged); second value is True
    for free text without speaker turns (app, web, WeChat)."""
    turns = split_turns(transcript or "")
    free_text = len(turns) <= 1 and all(t.speaker == "customer" for t in turns)
    return customer_text(transcript or ""), free_text


def _clause(text: str, start: int, end: int, limit: int = 30) -> str:
    """The matched words extended to the end of their clause, so a quote reads as a whole sentence part."""
    stop = re.search(r"[。！？!?，,；;]", text[end:])
    close = end + stop.start() if stop else len(text)
    return text[start : min(close, start + limit)]


def _hits(patterns: dict[str, re.Pattern[str]], text: str) -> list[str]:
    return [name for name, pattern in patterns.items() if pattern.search(text)]


def text_signals_many(transcripts: Sequence[str]) -> list[TextSignals]:
    """:func:`text_signals` of many calls, the learned cues scored in one batch."""
    words = [customer_words(t)[0] for t in transcripts]
    return [text_signals(t, c) for t, c in zip(transcripts, cue_scores(words), strict=True)]


def text_signals(transcript: str, cues: dict[str, float] | None = None) -> TextSignals:
    """Keyword signals and learned cues in the customer's words (agent phrases such as 工单号 are ignored)."""
    text, free_text = customer_words(transcript)
    cues = cues if cues is not None else cue_scores([text])[0]
    threat_other = _hits(_THREAT_OTHER, text)
    vulnerable = _hits(_VULNERABLE, text)
    loss = _hits(_LOSS, text)
    commitment = _MISSED_COMMITMENT.search(text)
    regulator = _THREAT_REGULATOR.search(text)
    wide = _WIDE_TEXT.search(text)
    anger_hits = len(_ANGER.findall(text))
    flags = {
        "threat_regulator": int(regulator is not None),
        "callback_complaint": int(_CALLBACK_UNSATISFIED.search(text) is not None),
        "threat_other": int(bool(threat_other)),
        "anger": int(anger_hits > 0),
        "urgency": int(_URGENCY.search(text) is not None),
        "vulnerable": int(bool(vulnerable)),
        "loss": int(bool(loss)),
        "missed_commitment": int(commitment is not None),
        "earlier_mention": int(_EARLIER.search(text) is not None),
        "wide_text": int(wide is not None),
        **{f"said_{cue}": int(cues.get(cue, 0.0) >= CUE_FLAG_AT) for cue in CUES},
    }
    matches = {
        "threat_regulator": [regulator.group(0)] if regulator else [],
        "threat_other": threat_other,
        "vulnerable": vulnerable,
        "loss": loss,
        "wide_text": [wide.group(0)] if wide else [],
    }
    return TextSignals(
        flags=flags,
        matches=matches,
        anger_hits=anger_hits,
        length=len(text),
        free_text=free_text,
        commitment_quote=_clause(text, commitment.start(), commitment.end()) if commitment else None,
        cues={cue: float(cues.get(cue, 0.0)) for cue in CUES},
    )


@dataclass
class _ProblemTrack:
    """A problem as history holds it: the grouping state plus its calls in time order and promises."""

    problem: Problem
    unit: str
    calls: list[tuple[datetime, str]] = field(default_factory=list)
    flags: list[tuple[datetime, str]] = field(default_factory=list)
    commitments: list[Commitment] = field(default_factory=list)


@dataclass
class History:
    """Calls, problems and slip states known before (and, for wide incidents, around) the calls scored.

    A call joins its customer's open problem by :func:`pipeline.problems.assign` (places agree,
    categories agree in probability), so repeat counts, carried signals, promises and slips
    are per problem, not per (customer, predicted label).
    """

    config: RiskConfig
    _by_customer: dict[str, list[tuple[datetime, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    _by_area: dict[tuple[str, str, str], list[tuple[datetime, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    _problems: dict[str, _ProblemTrack] = field(default_factory=dict)
    _customer_problems: dict[str, list[Problem]] = field(default_factory=lambda: defaultdict(list))
    _problem_of: dict[str, str] = field(default_factory=dict)
    _slips: dict[str, SlipState] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)

    def add_call(self, call: CallView) -> str:
        """Remember a call (idempotent per call_id) and return its problem id; lists stay sorted."""
        if call.call_id in self._seen:
            return self._problem_of[call.call_id]
        self._seen.add(call.call_id)
        _insort(self._by_customer[call.customer_key], (call.call_time, call.category, call.call_id))
        if call.area:
            key = (call.unit, call.area, call.category)
            _insort(self._by_area[key], (call.call_time, call.customer_key, call.call_id))
        grouped = ProblemCall(
            call.call_id, call.call_time, call.customer_key, call.area, call.distribution(), call.flags or {}
        )
        track = self._problems.get(call.problem_id) if call.problem_id else None
        if track is None and call.problem_id is None:
            found = assign(
                grouped,
                self._customer_problems[call.customer_key],
                window=timedelta(days=self.config.repeat_window_days),
            )
            track = self._problems[found.problem_id] if found else None
        if track is None:
            problem_id = call.problem_id or call.call_id
            problem = Problem(problem_id, call.customer_key, call.area, call.call_time, call.call_time)
            track = _ProblemTrack(problem, call.unit)
            self._problems[problem_id] = track
            self._customer_problems[call.customer_key].append(problem)
        track.problem.add(grouped)
        _insort(track.calls, (call.call_time, call.call_id))
        for flag, value in (call.flags or {}).items():
            if value:
                _insort(track.flags, (call.call_time, flag))
        track.commitments.extend(call.commitments)
        self._problem_of[call.call_id] = track.problem.problem_id
        return track.problem.problem_id

    def merge_customer(self, old: str, new: str) -> None:
        """Identity joined two customers: ``old``'s calls and problems now belong to ``new``."""
        if old == new or old not in self._by_customer and old not in self._customer_problems:
            return
        for item in self._by_customer.pop(old, []):
            _insort(self._by_customer[new], item)
        for problem in self._customer_problems.pop(old, []):
            problem.customer_id = new
            self._customer_problems[new].append(problem)

    def problem_of(self, call_id: str) -> str | None:
        return self._problem_of.get(call_id)

    def problem(self, problem_id: str) -> Problem:
        return self._problems[problem_id].problem

    def problem_unit(self, problem_id: str) -> str:
        return self._problems[problem_id].unit

    def problem_ids(self) -> list[str]:
        return list(self._problems)

    def set_slip(self, problem_id: str, state: SlipState | None) -> None:
        """Record the latest slip state on a problem (production: from the database as slips change)."""
        if state is None:
            self._slips.pop(problem_id, None)
        else:
            self._slips[problem_id] = state

    def slip_snapshot(self) -> dict[str, SlipState]:
        """A copy of the slip states, to restore when a database transaction is rolled back."""
        return dict(self._slips)

    def restore_slips(self, snapshot: dict[str, SlipState]) -> None:
        self._slips = dict(snapshot)

    def slip(self, problem_id: str | None) -> SlipState | None:
        return self._slips.get(problem_id) if problem_id else None

    def open_problems(self, now: datetime, quiet_days: int, exclude: set[str] = frozenset()) -> list[str]:
        """Problems to re-score at ``now`` with no new call: a call within ``quiet_days``, a promise
        due (or overdue by less than ``quiet_days``), or an open slip; all within the horizon."""
        horizon = timedelta(days=self.config.repeat_window_days)
        quiet = timedelta(days=quiet_days)
        out = []
        for problem_id, track in self._problems.items():
            if problem_id in exclude:
                continue
            last = track.problem.last_call
            if last > now or now - last > horizon:
                continue
            slip = self._slips.get(problem_id)
            if (
                now - last <= quiet
                or (slip is not None and slip.status != "closed")
                or any(c.promised_at <= now and c.due_at >= now - quiet for c in track.commitments)
            ):
                out.append(problem_id)
        return out

    def features(self, call: CallView, signals: TextSignals | None = None) -> dict[str, float]:
        """All feature columns of ``call`` (see FEATURE_COLUMNS); the call itself is not counted."""
        signals = signals or text_signals(call.transcript)
        problem_id = self.add_call(call)
        cfg = self.config
        t = call.call_time
        area_customers = 0
        if call.area:
            hours = timedelta(hours=cfg.wide_incident_hours)
            nearby = _window(
                self._by_area[(call.unit, call.area, call.category)], t - hours, t + hours, closed=True
            )
            area_customers = len({c[1] for c in nearby if c[1] != call.customer_key})
        values: dict[str, float] = {
            **self._state(call.customer_key, problem_id, t, exclude=call.call_id),
            "area_customers_window": area_customers,
            **signals.flags,
            **{f"cue_{cue}": signals.cues.get(cue, 0.0) for cue in CUES},
            "anger_hits": signals.anger_hits,
            "text_length": signals.length,
            "duration_s": float(call.duration_s) if call.duration_s is not None else -1.0,
            "free_text": int(signals.free_text),
            **{f"category_{label}": int(call.category == label) for label in LABELS},
            "rescore": 0,
        }
        return {column: float(values[column]) for column in FEATURE_COLUMNS}

    def rescore_features(self, problem_id: str, now: datetime) -> dict[str, float]:
        """Feature columns of a problem re-scored at ``now`` on a night with no call about it:
        no words tonight, but its calls, carried signals, promises and slip as they stand."""
        track = self._problems[problem_id]
        category = track.problem.category
        values: dict[str, float] = {
            **self._state(track.problem.customer_id, problem_id, now, exclude=None),
            "area_customers_window": 0,
            **dict.fromkeys(TEXT_FLAGS, 0),
            **dict.fromkeys(CUE_COLUMNS, 0.0),
            "anger_hits": 0,
            "text_length": 0,
            "duration_s": -1.0,
            "free_text": 0,
            **{f"category_{label}": int(category == label) for label in LABELS},
            "rescore": 1,
        }
        return {column: float(values[column]) for column in FEATURE_COLUMNS}

    def _state(self, customer: str, problem_id: str, t: datetime, exclude: str | None) -> dict[str, float]:
        """Customer, problem, carried-signal, promise and slip columns as known at ``t``.

        For a quiet problem (``exclude`` None) its latest call stands for "the call": the repeat
        count is that call's, so a re-score never counts one more call than was made."""
        cfg = self.config
        lookback = timedelta(days=max(30, cfg.repeat_window_days))
        before = [c for c in _window(self._by_customer[customer], t - lookback, t) if c[2] != exclude]
        track = self._problems[problem_id]
        window_start = t - timedelta(days=cfg.repeat_window_days)
        same = [c for c in _window(track.calls, window_start, t) if c[1] != exclude]
        if exclude is None:
            same += [c for c in track.calls if c[0] == t]
        first_same = same[0][0] if same else None
        last_same = same[-1][0] if same else None
        carried = {flag for when, flag in _window(track.flags, window_start, t)}
        promises = [
            c for c in track.commitments if c.promised_at < t or (exclude is None and c.promised_at <= t)
        ]
        slip = self._slips.get(problem_id)
        resolved = slip.closed_at if slip is not None and slip.status == "closed" else None
        after_closure = bool(
            slip
            and slip.status == "closed"
            and slip.closed_at is not None
            and t > slip.closed_at
            and t - slip.closed_at <= timedelta(days=cfg.reopen_days)
        )
        last_contact = last_same or track.problem.last_call
        return {
            "customer_calls_7d": len([c for c in before if c[0] >= t - timedelta(days=7)]),
            "customer_calls_30d": len([c for c in before if c[0] >= t - timedelta(days=30)]),
            "problem_calls_30d": len(same) if exclude is not None else max(0, len(same) - 1),
            "problem_days_since_first": (t - first_same).total_seconds() / 86400 if first_same else 0.0,
            "problem_hours_since_last": (t - last_same).total_seconds() / 3600
            if last_same
            else NO_PREVIOUS_HOURS,
            **{f"prior_{flag}": int(flag in carried) for flag in CARRIED_FLAGS},
            **commitment_features(promises, t, resolved),
            "days_since_last_contact": max(0.0, (t - last_contact).total_seconds() / 86400)
            if exclude is None
            else 0.0,
            "prior_slip": int(slip is not None),
            "prior_slip_open": int(slip is not None and slip.status != "closed"),
            "called_after_closure": int(after_closure),
            "unsatisfied_callback": int(bool(slip and slip.unsatisfied)),
            "slip_reopen_count": slip.reopen_count if slip else 0,
        }

    def commitments(self, problem_id: str) -> list[Commitment]:
        return list(self._problems[problem_id].commitments)


def _insort(items: list[tuple[Any, ...]], item: tuple[Any, ...]) -> None:
    items.insert(bisect_right(items, item), item)


def _window(
    items: list[tuple[Any, ...]], start: datetime, end: datetime, closed: bool = False
) -> list[tuple]:
    """Items with start <= time < end (or <= end when ``closed``); items are sorted by time."""
    lo = bisect_left(items, (start,))
    hi = bisect_right(items, (end, "\uffff", "\uffff")) if closed else bisect_left(items, (end,))
    return items[lo:hi]

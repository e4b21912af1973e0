"""Labels from what the site knows: staff corrections, false alarms (误报), 12398 outcomes, export codes.

Every label is a row of the append-only ``labels`` table (call, slip/problem,
kind, value, source, author, time). A correction never edits the call: the
stored ``calls.category`` stays the model's prediction (so drift and
evaluation can compare), and the newest correction of a call is its label.
Corrections on a call that belongs to a slip are also written to the slip's
audit trail. The category an export coded (``labels.*`` joined by ingest, or
a category column of the export) is kept on the call row as
``coded_category`` and listed here as source ``export_coded``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.labels import LABEL_ZH, LABELS
from pipeline.records import CallRecord
from pipeline.storage.models import Call, Slip, SlipCall, SlipEvent
from pipeline.storage.outcomes import Label
from pipeline.storage.types import utcnow
from pipeline.text.mask import mask_pii

KIND_ZH: dict[str, str] = {"category": "问题类别", "escalation": "12398投诉", "false_alarm": "误报"}
SOURCE_ZH: dict[str, str] = {
    "correction": "人工更正",
    "outcome_12398": "12398转办结果",
    "export_coded": "导出文件标注",
}
EXPORT_FIELDS: tuple[str, ...] = (
    "call_id",
    "slip_no",
    "problem_ref",
    "kind",
    "value",
    "source",
    "source_zh",
    "author",
    "at",
    "observed_at",
    "note",
)
EXPORT_CODED_AUTHOR = "export"


class LabelError(Exception):
    """A label that cannot be recorded; the message is Chinese and shown as is."""


def slips_of_call(session: Session, call: Call) -> list[Slip]:
    """The slips a call belongs to (its primary slip and any slip that gathered it)."""
    ids = set(session.scalars(select(SlipCall.slip_id).where(SlipCall.call_id == call.id)))
    if call.slip_id is not None:
        ids.add(call.slip_id)
    if not ids:
        return []
    return list(session.scalars(select(Slip).where(Slip.id.in_(sorted(ids))).order_by(Slip.id)))


def corrected_categories(session: Session, call_ids: Sequence[str]) -> dict[str, str]:
    """The newest corrected category of each call that has one."""
    if not call_ids:
        return {}
    rows = session.execute(
        select(Label.call_id, Label.value)
        .where(Label.kind == "category", Label.source == "correction", Label.call_id.in_(list(call_ids)))
        .order_by(Label.id)
    )
    return dict(rows.all())


def correct_category(
    session: Session, call: Call, category: str, by: str, *, now: datetime | None = None
) -> Label:
    """Record a person's category for a call (a label, and an audit row on its slips); flushes, never commits."""
    if category not in LABELS:
        raise LabelError(f"问题类别必须是 {'、'.join(f'{k}({v})' for k, v in LABEL_ZH.items())} 之一")
    if not by or not by.strip():
        raise LabelError("必须填写更正人")
    now = now or utcnow()
    corrected = corrected_categories(session, [call.call_id]).get(call.call_id)
    before = corrected or call.category
    if corrected == category:
        raise LabelError(f"来电 {call.call_id} 的类别已更正为{LABEL_ZH[category]}")
    slips = slips_of_call(session, call)
    label = Label(
        call_id=call.call_id,
        slip_id=slips[0].id if slips else None,
        problem_ref=slips[0].slip_no if slips else call.call_id,
        kind="category",
        value=category,
        source="correction",
        author=by.strip(),
        at=now,
    )
    session.add(label)
    for slip in slips:
        session.add(
            SlipEvent(
                slip=slip,
                at=now,
                by=by.strip(),
                action="label_category",
                from_status=slip.status,
                to_status=slip.status,
                note=f"来电 {call.call_id} 问题类别更正：{LABEL_ZH.get(before, before)} → {LABEL_ZH[category]}",
                details={"call_id": call.call_id, "from": before, "to": category},
            )
        )
    session.flush()
    return label


def label_false_alarm(session: Session, slip: Slip, by: str, reason: str, now: datetime) -> int:
    """One ``false_alarm`` label per call of the slip (called by ``apply_action``); returns how many."""
    call_ids = [c.call.call_id for c in slip.calls] or [c.call_id for c in slip.primary_calls]
    for call_id in dict.fromkeys(call_ids):
        session.add(
            Label(
                call_id=call_id,
                slip_id=slip.id,
                problem_ref=slip.slip_no,
                kind="false_alarm",
                value="1",
                source="correction",
                author=by,
                at=now,
                note=reason,
            )
        )
    return len(dict.fromkeys(call_ids))


def store_coded_categories(session: Session, records: Iterable[CallRecord]) -> int:
    """Keep the category an export coded on the stored call rows; returns how many rows changed."""
    coded = {r.call_id: r.category for r in records if r.category in LABELS}
    changed = 0
    ids = sorted(coded)
    for start in range(0, len(ids), 500):
        for call in session.scalars(select(Call).where(Call.call_id.in_(ids[start : start + 500]))):
            if call.coded_category != coded[call.call_id]:
                call.coded_category = coded[call.call_id]
                changed += 1
    session.flush()
    return changed


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def iter_labels(session: Session) -> Iterator[dict[str, Any]]:
    """Every label: the ``labels`` rows in order, then the categories coded in exports, one flat dict each."""
    slip_nos = dict(session.execute(select(Slip.id, Slip.slip_no)).all())
    for label in session.scalars(select(Label).order_by(Label.id).execution_options(yield_per=1000)):
        yield {
            "call_id": label.call_id,
            "slip_no": slip_nos.get(label.slip_id, "") if label.slip_id else "",
            "problem_ref": label.problem_ref or "",
            "kind": label.kind,
            "value": label.value,
            "source": label.source,
            "source_zh": SOURCE_ZH.get(label.source, label.source),
            "author": label.author,
            "at": _iso(label.at),
            "observed_at": _iso(label.observed_at),
            "note": mask_pii(label.note) if label.note else "",
        }
    query = select(Call).where(Call.coded_category.is_not(None)).order_by(Call.id)
    for call in session.scalars(query.execution_options(yield_per=1000)):
        yield {
            "call_id": call.call_id,
            "slip_no": slip_nos.get(call.slip_id, "") if call.slip_id else "",
            "problem_ref": "",
            "kind": "category",
            "value": call.coded_category,
            "source": "export_coded",
            "source_zh": SOURCE_ZH["export_coded"],
            "author": EXPORT_CODED_AUTHOR,
            "at": _iso(call.scored_at),
            "observed_at": _iso(call.call_time),
            "note": "",
        }

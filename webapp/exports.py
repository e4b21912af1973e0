"""Printable slip (投诉风险预警单, PDF); the Excel ledger is :func:`pipeline.ledger.write_xlsx`.

The PDF uses reportlab's built-in CID font STSong-Light, which every PDF
reader can show without embedding a font file, so no font has to ship with
the product. Every piece of slip or transcript text is XML-escaped before it
becomes a reportlab Paragraph, because Paragraph parses markup.
"""

from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from pipeline.labels import LABEL_ZH, RISK_LEVEL_ZH
from pipeline.ledger import EVENT_ZH, is_overdue, local_time, reason_text
from pipeline.records import SHANGHAI
from pipeline.slips import SYSTEM_USER
from pipeline.storage.models import SLIP_STATUS_ZH, Call, Slip, SlipEvent
from pipeline.text.mask import mask_pii

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _closed_late(slip: Slip) -> bool:
    return slip.closed_at is not None and slip.closed_at > slip.due_at


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=10, leading=14, wordWrap="CJK")
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, alignment=1, spaceAfter=4),
        "sub": ParagraphStyle("sub", parent=base, fontSize=9, alignment=1, textColor=colors.grey),
        "head": ParagraphStyle("head", parent=base, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4),
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=12),
    }


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text or "")).replace("\n", "<br/>"), style)


def _grid(rows: list[list[Paragraph]], widths: list[float], header: bool = False) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9e9e9e")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eceff1")))
    table.setStyle(TableStyle(style))
    return table


def slip_pdf(slip: Slip, calls: list[Call], events: list[SlipEvent], printed_by: str) -> bytes:
    """The printable 投诉风险预警单 of one slip: facts, reasons, calls, handling record, signatures."""
    s = _styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"投诉风险预警单 {slip.slip_no}",
        author="供电服务指挥中心",
    )
    width = A4[0] - 32 * mm
    label_w = 24 * mm
    value_w = width / 2 - label_w

    def kv(pairs: list[tuple[str, object]]) -> Table:
        rows = []
        for i in range(0, len(pairs), 2):
            row: list[Paragraph] = []
            for key, value in pairs[i : i + 2]:
                row += [_p(key, s["base"]), _p(value, s["base"])]
            while len(row) < 4:
                row.append(_p("", s["base"]))
            rows.append(row)
        table = _grid(rows, [label_w, value_w, label_w, value_w])
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f5f5f5")),
                    ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#f5f5f5")),
                ]
            )
        )
        return table

    story: list = [
        _p("投诉风险预警单", s["title"]),
        _p(
            f"编号 {slip.slip_no}　｜　打印时间 {local_time(datetime.now(SHANGHAI))}　｜　打印人 {printed_by}",
            s["sub"],
        ),
        Spacer(1, 6),
        kv(
            [
                (
                    "预警等级",
                    RISK_LEVEL_ZH.get(slip.level, slip.level) + ("（督办）" if slip.supervised else ""),
                ),
                (
                    "当前状态",
                    SLIP_STATUS_ZH.get(slip.status, slip.status) + ("（已超期）" if is_overdue(slip) else ""),
                ),
                ("供电单位", slip.unit),
                ("所在区域", slip.area or "—"),
                ("客户", slip.customer_masked),
                ("问题类别", LABEL_ZH.get(slip.category, slip.category)),
                ("风险评分", f"{slip.score:.2f}"),
                ("来电次数", slip.call_count),
                ("下发时间", local_time(slip.created_at)),
                ("办结时限", local_time(slip.due_at)),
                ("回访结果", slip.callback_result or "—"),
                ("处理人", slip.assignee or "—"),
                (
                    "销号时间",
                    (local_time(slip.closed_at) + ("（超期）" if _closed_late(slip) else "")) or "—",
                ),
            ]
        ),
        _p("预警原因", s["head"]),
    ]
    reasons = [[_p("序号", s["base"]), _p("原因", s["base"])]]
    reasons += [
        [_p(i, s["base"]), _p(reason_text(r), s["base"])] for i, r in enumerate(slip.reasons or [], 1)
    ]
    story.append(_grid(reasons, [14 * mm, width - 14 * mm], header=True))
    story.append(_p("建议措施", s["head"]))
    story.append(_p("；".join(str(a) for a in slip.recommended_actions or []) or "—", s["base"]))
    story.append(_p("来电记录", s["head"]))
    call_rows = [[_p("来电时间", s["base"]), _p("工单编号", s["base"]), _p("通话内容（已脱敏）", s["base"])]]
    for call in calls:
        call_rows.append(
            [
                _p(local_time(call.call_time), s["small"]),
                _p(call.call_id, s["small"]),
                _p(call.transcript, s["small"]),
            ]
        )
    story.append(_grid(call_rows, [28 * mm, 32 * mm, width - 60 * mm], header=True))
    story.append(_p("处理记录", s["head"]))
    event_rows = [
        [_p("时间", s["base"]), _p("操作人", s["base"]), _p("操作", s["base"]), _p("说明", s["base"])]
    ]
    for ev in events:
        event_rows.append(
            [
                _p(local_time(ev.at), s["small"]),
                _p("系统" if ev.by == SYSTEM_USER else ev.by, s["small"]),
                _p(EVENT_ZH.get(ev.action, ev.action), s["small"]),
                _p(mask_pii(ev.note) if ev.note else "", s["small"]),
            ]
        )
    story.append(_grid(event_rows, [28 * mm, 24 * mm, 22 * mm, width - 74 * mm], header=True))
    story.append(Spacer(1, 14))
    story.append(
        _grid(
            [
                [_p("签收人：", s["base"]), _p("处理人：", s["base"]), _p("审核人：", s["base"])],
                [_p("日期：", s["base"]), _p("日期：", s["base"]), _p("日期：", s["base"])],
            ],
            [width / 3] * 3,
        )
    )
    doc.build(story)
    return buf.getvalue()

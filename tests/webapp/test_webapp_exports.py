"""The printable slip (PDF) and the ledger (Excel) are valid files holding the slip's content."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from pypdf import PdfReader


def test_slip_pdf_is_valid_and_holds_the_slip(world, client_for) -> None:
    client = client_for("dali")
    slip_no = world.slips["dali_red"]
    response = client.get(f"/slips/{slip_no}/pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    compact = "".join(text.split())
    for expected in (
        "投诉风险预警单",
        slip_no,
        "大理供电局",
        "上关镇河尾村",
        "客户表示将向12398投诉",
        "GD2026112700017",
        "签收人",
    ):
        assert expected in compact, expected
    assert "13812345678" not in compact
    assert reader.metadata.title == f"投诉风险预警单 {slip_no}"


def test_pdf_escapes_markup_in_transcripts(world, client_for) -> None:
    response = client_for("kunming").get(f"/slips/{world.slips['km_yellow']}/pdf")
    text = "".join(PdfReader(io.BytesIO(response.content)).pages[0].extract_text().split())
    assert '<script>alert("xss")</script>' in text


def test_ledger_xlsx_lists_visible_slips_in_queue_order(world, client_for) -> None:
    response = client_for("prov").get("/ledger.xlsx?status=all")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[0] == "预警单编号" and "预警原因" in header
    assert {r[0] for r in body} == set(world.slips.values())
    assert body[0][0] == world.slips["dali_red"] and body[0][5] == "红色"
    reasons = body[0][header.index("预警原因")]
    assert "客户表示将向12398投诉" in reasons
    assert sheet.freeze_panes == "B2"


def test_ledger_respects_unit_scope_and_filters(world, client_for) -> None:
    client = client_for("kunming")
    sheet = load_workbook(io.BytesIO(client.get("/ledger.xlsx?level=yellow").content)).active
    numbers = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert numbers == [world.slips["km_yellow"]]

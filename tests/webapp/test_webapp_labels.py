"""Corrections become labels (issue 14, item 2): a call's category by API and slip page, a slip marked
误报; audited, scoped like every other action; and the dashboard's 12398 figures (item 5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pipeline.records import SHANGHAI
from pipeline.storage.models import Call, Slip, SlipEvent, User
from pipeline.storage.outcomes import Label, Outcome12398
from webapp import dashboard
from webapp.users import issue_token

RED_CALL = "GD2026112700017"  # Dali, on the red slip
KM_CALL = "GD2026112700063"  # Kunming


@pytest.fixture
def api(world):
    def client(username: str) -> TestClient:
        with world.factory() as session:
            token = issue_token(session, username)
            session.commit()
        c = TestClient(world.app)
        c.headers.update({"Authorization": f"Bearer {token}"})
        return c

    return client


def _labels(world, call_id: str) -> list[Label]:
    with world.factory() as session:
        return list(session.scalars(select(Label).where(Label.call_id == call_id).order_by(Label.id)))


def _events(world, slip_no: str, action: str) -> list[SlipEvent]:
    with world.factory() as session:
        slip = session.scalar(select(Slip).where(Slip.slip_no == slip_no))
        return list(
            session.scalars(select(SlipEvent).where(SlipEvent.slip_id == slip.id, SlipEvent.action == action))
        )


def test_api_correction_is_a_label_and_an_audit_row(world, api) -> None:
    response = api("dali").post(f"/api/calls/{RED_CALL}/label", json={"category": "voltage"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "call_id": RED_CALL,
        "predicted_category": "outage",
        "category": "voltage",
        "by": "dali",
    }
    [label] = _labels(world, RED_CALL)
    assert (label.kind, label.value, label.source, label.author) == (
        "category",
        "voltage",
        "correction",
        "dali",
    )
    assert label.problem_ref == world.slips["dali_red"]
    [event] = _events(world, world.slips["dali_red"], "label_category")
    assert event.by == "dali" and event.details == {"call_id": RED_CALL, "from": "outage", "to": "voltage"}
    with world.factory() as session:
        assert session.scalar(select(Call.category).where(Call.call_id == RED_CALL)) == "outage", (
            "the prediction stays as scored"
        )
    detail = api("prov").get(f"/api/slips/{world.slips['dali_red']}").json()
    assert detail["calls"][0]["corrected_category"] == "voltage"
    again = api("dali").post(f"/api/calls/{RED_CALL}/label", json={"category": "voltage"})
    assert again.status_code == 409 and "已更正为电压质量" in again.json()["detail"]


def test_api_correction_checks_category_role_and_unit(world, api) -> None:
    bad = api("prov").post(f"/api/calls/{RED_CALL}/label", json={"category": "weather"})
    assert bad.status_code == 422 and "问题类别必须是" in bad.json()["detail"]
    other_unit = api("kunming").post(f"/api/calls/{RED_CALL}/label", json={"category": "voltage"})
    assert other_unit.status_code == 404 and "不存在" in other_unit.json()["detail"]
    auditor = api("audit").post(f"/api/calls/{KM_CALL}/label", json={"category": "outage"})
    assert auditor.status_code == 403 and "无权" in auditor.json()["detail"]
    assert api("prov").post("/api/calls/NOPE/label", json={"category": "outage"}).status_code == 404
    assert _labels(world, RED_CALL) == [] and _labels(world, KM_CALL) == []
    assert api("kunming").post(f"/api/calls/{KM_CALL}/label", json={"category": "outage"}).status_code == 200


def test_false_alarm_needs_a_reason_is_audited_and_labels_the_slip_calls(world, api) -> None:
    slip_no = world.slips["km_orange"]
    url = f"/api/slips/{slip_no}/actions"
    assert api("audit").post(url, json={"action": "false_alarm", "note": "x"}).status_code == 403
    no_reason = api("kunming").post(url, json={"action": "false_alarm"})
    assert no_reason.status_code == 409 and "必须填写原因" in no_reason.json()["detail"]
    done = api("kunming").post(url, json={"action": "false_alarm", "note": "客户已撤回，增容已于上周完成"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["false_alarm"] is True and body["false_alarm_reason"] == "客户已撤回，增容已于上周完成"
    assert body["status"] == "issued", "marking 误报 does not move the slip through its lifecycle"
    assert "false_alarm" not in body["available_actions"]
    [event] = _events(world, slip_no, "false_alarm")
    assert event.by == "kunming" and event.note == "客户已撤回，增容已于上周完成"
    [label] = _labels(world, "GD2026112700088")
    assert (label.kind, label.source, label.author, label.note) == (
        "false_alarm",
        "correction",
        "kunming",
        "客户已撤回，增容已于上周完成",
    )
    twice = api("kunming").post(url, json={"action": "false_alarm", "note": "再次"})
    assert twice.status_code == 409
    listed = api("prov").get("/api/slips?status=all&false_alarm=true").json()["items"]
    assert [i["slip_no"] for i in listed] == [slip_no]


def test_slip_page_corrects_a_category(world, client_for, helpers) -> None:
    client = client_for("dali")
    slip_no = world.slips["dali_red"]
    page = client.get(f"/slips/{slip_no}")
    assert f'action="/slips/{slip_no}/calls/{RED_CALL}/label"' in page.text
    token = helpers.csrf_of(page.text)
    response = client.post(
        f"/slips/{slip_no}/calls/{RED_CALL}/label",
        data={"category": "other", "csrf_token": token},
        follow_redirects=True,
    )
    assert "问题类别已更正为其他" in response.text and "人工更正：其他" in response.text
    assert [lb.value for lb in _labels(world, RED_CALL)] == ["other"]
    forged = client.post(f"/slips/{slip_no}/calls/{RED_CALL}/label", data={"category": "outage"})
    assert forged.status_code in (400, 403) and len(_labels(world, RED_CALL)) == 1, "CSRF is checked"
    audit_page = client_for("audit").get(f"/slips/{slip_no}")
    assert "label-form" not in audit_page.text, "auditors get no correction form"


def test_escalation_shows_on_slip_api_page_and_ledger_filters(world, api, client_for) -> None:
    slip_no = world.slips["dali_orange"]
    when = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    with world.factory() as session:
        slip = session.scalar(select(Slip).where(Slip.slip_no == slip_no))
        slip.escalated_12398, slip.escalated_at = True, when
        session.commit()
    summary = api("prov").get("/api/slips?status=all&escalated_12398=1").json()["items"]
    assert [(i["slip_no"], i["escalated_12398"], i["escalated_at"]) for i in summary] == [
        (slip_no, True, when.isoformat())
    ]
    assert "已被投诉至12398（2026-11-28 17:30）" in client_for("dali").get(f"/slips/{slip_no}").text
    xlsx = client_for("prov").get("/ledger.xlsx?status=all&escalated_12398=1")
    assert xlsx.status_code == 200
    from io import BytesIO

    from openpyxl import load_workbook

    sheet = load_workbook(BytesIO(xlsx.content)).active
    header = [c.value for c in sheet[1]]
    values = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert (
        sheet.max_row == 2 and values["12398投诉"] == "是" and values["12398受理时间"] == "2026-11-28 17:30"
    )


# -- dashboard (item 5) --------------------------------------------------------------------------


NOW = datetime(2026, 11, 29, 12, 0, tzinfo=SHANGHAI)


def _outcome(ticket: str, unit: str, received: datetime, slip_id: int | None, status: str = "matched"):
    return Outcome12398(
        ticket_no=ticket,
        received_at=received,
        unit=unit,
        text_masked="",
        status=status,
        slip_id=slip_id,
        candidates=[],
    )


def test_dashboard_12398_figures_have_known_answers(world, helpers, monkeypatch) -> None:
    with world.factory() as session:
        slips = {s.slip_no: s for s in session.scalars(select(Slip))}
        red = slips[world.slips["dali_red"]]
        km = slips[world.slips["km_orange"]]
        red.created_at = datetime(2026, 11, 10, 8, 0, tzinfo=SHANGHAI)
        km.created_at = datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI)
        session.add_all(
            [
                _outcome("T1", helpers.DALI, red.created_at + timedelta(hours=10), red.id),
                _outcome("T2", helpers.DALI, red.created_at + timedelta(hours=20), red.id),
                _outcome("T3", helpers.DALI, red.created_at + timedelta(hours=36), red.id),
                _outcome("T4", helpers.KUNMING, km.created_at - timedelta(hours=5), km.id),
                _outcome("T5", helpers.DALI, NOW - timedelta(days=1), None, "unmatched"),
                _outcome("T6", helpers.DALI, datetime(2026, 10, 31, 23, 0, tzinfo=SHANGHAI), red.id),
            ]
        )
        session.commit()
    customers = {helpers.DALI: 1_000_000, helpers.KUNMING: 2_000_000}
    monkeypatch.setattr(dashboard, "configured_customers", lambda: customers)
    with world.factory() as session:
        prov = session.scalar(select(User).where(User.username == "prov"))
        month = dashboard.outcomes_month(session, prov, NOW)
        assert (month.month, month.total, month.matched, month.slip_before, month.slip_after) == (
            "2026年11月",
            5,
            4,
            3,
            1,
        )
        assert month.median_hours == 20.0
        interview = dashboard.interview_list(session, prov, NOW)
        rows = {r.unit: r for r in interview.rows}
        assert [r.unit for r in interview.rows] == [helpers.DALI, helpers.KUNMING]
        assert (rows[helpers.DALI].complaints, rows[helpers.DALI].per_million) == (4, 4.0)
        assert rows[helpers.DALI].count_condition and not rows[helpers.DALI].rate_condition
        assert not rows[helpers.DALI].interview, "4 per million is under the 5 per million condition"
        customers[helpers.DALI] = 500_000
        dali = {r.unit: r for r in dashboard.interview_list(session, prov, NOW).rows}[helpers.DALI]
        assert dali.per_million == 8.0 and dali.interview
        kunming = {r.unit: r for r in dashboard.interview_list(session, prov, NOW).rows}[helpers.KUNMING]
        assert not kunming.count_condition and not kunming.interview
        dali_user = session.scalar(select(User).where(User.username == "dali"))
        assert dashboard.outcomes_month(session, dali_user, NOW).total == 4, "a unit sees its own complaints"


def test_wide_incident_is_flagged_within_the_night(world, helpers) -> None:
    night = date(2026, 11, 25)
    evening = datetime(2026, 11, 25, 19, 0, tzinfo=SHANGHAI)
    specs = []
    for i in range(4):
        specs.append(
            helpers.CallSpec(
                f"W{i}", helpers.DALI, "喜洲镇周城村", f"05312000{i:05d}", "outage", "yellow", 0.2,
                "客户：我们村停电了。", [],
            )
        )  # fmt: skip
    specs.append(
        helpers.CallSpec(
            "W9", helpers.DALI, "凤仪镇", "0531200099999", "outage", "yellow", 0.2, "客户：停电了。", []
        )
    )
    now = datetime.now(UTC)
    helpers.store_calls(world.factory, specs, now)
    with world.factory() as session:
        for i, call in enumerate(
            session.scalars(select(Call).where(Call.call_id.like("W%")).order_by(Call.call_id))
        ):
            call.night = night
            call.call_time = evening + timedelta(minutes=40 * i)
        session.commit()
        prov = session.scalar(select(User).where(User.username == "prov"))
        [incident] = dashboard.wide_incidents(session, prov, night)
        assert (incident.unit, incident.area, incident.customers, incident.category) == (
            helpers.DALI,
            "喜洲镇周城村",
            4,
            "outage",
        )
        kunming = session.scalar(select(User).where(User.username == "kunming"))
        assert dashboard.wide_incidents(session, kunming, night) == []


def test_dashboard_page_shows_the_manager_sections(world, client_for) -> None:
    with world.factory() as session:
        red = session.scalar(select(Slip).where(Slip.slip_no == world.slips["dali_red"]))
        session.add(_outcome("P1", red.unit, datetime.now(UTC), red.id))
        session.commit()
    html = client_for("prov").get("/dashboard").text
    for text in ("12398 转办投诉", "本月约谈名单", "条件一", "条件二", "大面积来电", "用户数取自配置"):
        assert text in html
    assert '<span class="value" id="o-total">1</span>' in html
    assert 'src="/charts/interview.svg"' in html
    svg = client_for("prov").get("/charts/interview.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg")


def test_slip_page_marks_a_false_alarm(world, client_for, helpers) -> None:
    client = client_for("kunming")
    slip_no = world.slips["km_orange"]
    page = client.get(f"/slips/{slip_no}")
    assert 'data-action="false_alarm"' in page.text and "误报原因（必填）" in page.text
    response = client.post(
        f"/slips/{slip_no}/actions",
        data={"action": "false_alarm", "note": "客户已撤回", "csrf_token": helpers.csrf_of(page.text)},
        follow_redirects=True,
    )
    assert "已标记为误报" in response.text
    assert '<dd id="false-alarm-reason">客户已撤回</dd>' in response.text
    assert 'data-action="false_alarm"' not in response.text
    assert "标记误报" in response.text.split('id="audit"')[1]

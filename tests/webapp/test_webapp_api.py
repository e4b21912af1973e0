"""The JSON API: queue filters and paging, slip detail, actions and their errors, OpenAPI docs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from webapp.users import issue_token


@pytest.fixture
def api(world):
    """A TestClient with a province token, plus a helper for other users' headers."""

    def headers(username: str) -> dict[str, str]:
        with world.factory() as session:
            token = issue_token(session, username)
            session.commit()
        return {"Authorization": f"Bearer {token}"}

    client = TestClient(world.app)
    client.headers.update(headers("prov"))
    client.headers_for = headers
    yield client
    client.close()


def test_queue_is_ordered_by_level_then_due_time(world, api) -> None:
    items = api.get("/api/slips").json()["items"]
    ranks = [("red", "orange", "yellow").index(i["level"]) for i in items]
    assert ranks == sorted(ranks)
    for a, b in zip(items, items[1:], strict=False):
        if a["level"] == b["level"]:
            assert a["due_at"] <= b["due_at"]
    assert {i["slip_no"] for i in items} == set(world.slips.values())


def test_queue_filters(world, api) -> None:
    assert [i["slip_no"] for i in api.get("/api/slips?level=red").json()["items"]] == [
        world.slips["dali_red"]
    ]
    assert {i["unit"] for i in api.get("/api/slips?unit=昆明供电局").json()["items"]} == {"昆明供电局"}
    assert [i["category"] for i in api.get("/api/slips?category=voltage").json()["items"]] == ["voltage"]
    overdue = api.get("/api/slips?status=overdue").json()["items"]
    assert overdue and all(i["overdue"] for i in overdue)
    assert world.slips["dali_red"] in {i["slip_no"] for i in overdue}
    today = datetime.now(UTC).date()
    future = api.get(f"/api/slips?date_from={today + timedelta(days=2)}").json()
    assert future["total"] == 0
    assert api.get("/api/slips?status=closed").json()["total"] == 0
    assert api.get("/api/slips?category=weather").status_code == 422
    assert api.get("/api/slips?date_from=27/11/2026").status_code == 422


def test_paging(world, api, helpers) -> None:
    extra = [
        helpers.CallSpec(
            f"GD20261127{900 + i:05d}",
            helpers.DALI,
            f"喜洲镇{i}组",
            f"05312009{i:05d}",
            "outage",
            "yellow",
            0.2,
            "坐席：您好。\n客户：我家停电了，啥子时候来电？",
            [{"code": "repeat", "text": "同一问题30天内第3次来电", "weight": 0.3}],
            hours_ago=5 + i,
        )
        for i in range(7)
    ]
    helpers.store_calls(world.factory, extra)
    first = api.get("/api/slips?per_page=5").json()
    second = api.get("/api/slips?per_page=5&page=2").json()
    assert first["total"] == 11 and first["pages"] == 3
    assert len(first["items"]) == 5 and len(second["items"]) == 5
    assert not {i["slip_no"] for i in first["items"]} & {i["slip_no"] for i in second["items"]}
    assert api.get("/api/slips?per_page=1000").status_code == 422


def test_slip_detail_has_calls_reasons_and_audit(world, api) -> None:
    data = api.get(f"/api/slips/{world.slips['dali_red']}").json()
    assert data["level"] == "red" and data["unit"] == "大理供电局"
    assert data["customer"].endswith("5678") and "*" in data["customer"]
    assert data["calls"][0]["call_id"] == "GD2026112700017"
    assert "13812345678" not in data["calls"][0]["transcript"]
    assert any("12398" in r["text"] for r in data["reasons"])
    assert data["events"][0]["action"] == "create"
    assert set(data["available_actions"]) == {"acknowledge", "escalate", "assign", "false_alarm"}


def test_illegal_transition_is_409_with_chinese_message(world, api) -> None:
    response = api.post(
        f"/api/slips/{world.slips['dali_red']}/actions", json={"action": "close", "note": "x"}
    )
    assert response.status_code == 409 and "销号" in response.json()["detail"]
    handle = api.post(f"/api/slips/{world.slips['dali_red']}/actions", json={"action": "handle"})
    assert handle.status_code == 409


def test_stale_version_is_refused(world, api) -> None:
    slip_no = world.slips["km_yellow"]
    version = api.get(f"/api/slips/{slip_no}").json()["version"]
    assert (
        api.post(
            f"/api/slips/{slip_no}/actions", json={"action": "acknowledge", "version": version}
        ).status_code
        == 200
    )
    late = api.post(f"/api/slips/{slip_no}/actions", json={"action": "escalate", "version": version})
    assert late.status_code == 409 and "他人" in late.json()["detail"]
    assert world.slip("km_yellow").supervised is False


def test_full_lifecycle_through_api(world, api) -> None:
    slip_no = world.slips["dali_orange"]
    unit = api.headers_for("dali")
    center = api.headers_for("prov")
    steps = [
        ({"action": "acknowledge"}, unit),
        ({"action": "handle", "note": "现场校验电表，误差合格，已向客户解释阶梯电价"}, unit),
        ({"action": "callback", "callback_result": "不满意", "note": "客户仍认为电费偏高"}, center),
        ({"action": "handle", "note": "安排第三方复核并退还多收电费"}, unit),
        ({"action": "callback", "callback_result": "满意"}, center),
        ({"action": "close", "note": "客户满意，销号"}, unit),
    ]
    levels = []
    for body, headers in steps:
        response = api.post(f"/api/slips/{slip_no}/actions", json=body, headers=headers)
        assert response.status_code == 200, response.text
        levels.append(response.json()["level"])
    final = response.json()
    assert final["status"] == "closed" and final["callback_result"] == "满意"
    assert levels[2] == "red", "an unsatisfied callback raises the level"
    assert [e["action"] for e in final["events"][1:]] == [body["action"] for body, _ in steps]
    assert final["assignee"] == "dali", "签收 makes the acknowledging user the assignee"
    handling = final["handling_note"].splitlines()
    assert len(handling) == 2 and "误差合格" in handling[0] and "第三方复核" in handling[1], (
        "notes are appended"
    )


def test_unknown_action_is_422(world, api) -> None:
    assert (
        api.post(f"/api/slips/{world.slips['dali_red']}/actions", json={"action": "delete"}).status_code
        == 422
    )


def test_openapi_docs_are_served_locally(world) -> None:
    with TestClient(world.app) as client:
        docs = client.get("/docs")
        assert docs.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in docs.text
        assert "cdn" not in docs.text.lower()
        assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
        schema = client.get("/openapi.json").json()
        assert {"/api/slips", "/api/slips/{slip_no}", "/api/slips/{slip_no}/actions"} <= set(schema["paths"])

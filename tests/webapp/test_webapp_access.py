"""Every role against every action, through the API and the pages, incl. cross-unit attempts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pipeline.slips import apply_action, get_slip
from pipeline.storage.models import SlipEvent
from webapp.users import issue_token

# Steps that bring a fresh (issued) slip to a state where the action is legal: (action, by, result).
PREPARE = {
    "acknowledge": [],
    "handle": [("acknowledge", "setup", None)],
    "callback": [("acknowledge", "setup", None), ("handle", "setup", None)],
    "close": [("acknowledge", "setup", None), ("handle", "setup", None), ("callback", "center", "满意")],
    "escalate": [],
    "assign": [],
    "comment": [],
    "attach": [],
    "bulk_acknowledge": [],
    "bulk_assign": [],
}
STATUS_ACTIONS = ("acknowledge", "handle", "callback", "close", "escalate", "assign")
BODY = {
    "acknowledge": {"note": "已签收"},
    "handle": {"note": "已更换熔断器恢复送电"},
    "callback": {"note": "客户确认", "callback_result": "基本满意"},
    "close": {"note": "销号"},
    "escalate": {"note": "多次来电，省公司督办"},
    "assign": {"note": "请二班处理", "assignee": "dali2"},
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# (user, expected status) on a Dali slip: escalate is the province's alone; the callback is recorded
# by the province (default [slips] callback_roles), not by the unit that did the work.
EXPECTED = {
    "prov": dict.fromkeys(PREPARE, 200),
    "dali": dict.fromkeys(PREPARE, 200) | {"escalate": 403, "callback": 403},
    "kunming": dict.fromkeys(PREPARE, 404),
    "audit": dict.fromkeys(PREPARE, 403),
}
CASES = [(user, action, status) for user, row in EXPECTED.items() for action, status in row.items()]


def _prepare(world, slip_no: str, action: str) -> None:
    with world.factory() as session:
        for step, by, result in PREPARE[action]:
            note = "准备：已处理" if step == "handle" else None
            apply_action(session, slip_no, step, by, note, result)
        session.commit()


def _events(world, slip_no: str) -> int:
    with world.factory() as session:
        slip_id = get_slip(session, slip_no).id
        return session.scalar(select(func.count()).select_from(SlipEvent).where(SlipEvent.slip_id == slip_id))


def _token(world, username: str) -> str:
    with world.factory() as session:
        token = issue_token(session, username)
        session.commit()
    return token


def _call(client: TestClient, slip_no: str, action: str, headers: dict[str, str]) -> int:
    """One request of the matrix; bulk answers per slip, so its per-slip status is returned."""
    if action == "comment":
        return client.post(
            f"/api/slips/{slip_no}/comments", json={"body": "已协调抢修班"}, headers=headers
        ).status_code
    if action == "attach":
        files = {"file": ("现场.png", PNG, "image/png")}
        return client.post(f"/api/slips/{slip_no}/attachments", files=files, headers=headers).status_code
    if action.startswith("bulk_"):
        body = {"action": action[5:], "slip_nos": [slip_no], "assignee": "dali2"}
        response = client.post("/api/slips/bulk", json=body, headers=headers)
        if response.status_code != 200:
            return response.status_code
        data = response.json()
        return 200 if data["done"] == [slip_no] else data["failed"][0]["status"]
    body = {"action": action} | BODY[action]
    return client.post(f"/api/slips/{slip_no}/actions", json=body, headers=headers).status_code


@pytest.mark.parametrize(("username", "action", "expected"), CASES, ids=[f"{u}-{a}" for u, a, _ in CASES])
def test_api_role_action_matrix(world, username: str, action: str, expected: int) -> None:
    slip_no = world.slips["dali_red"]
    _prepare(world, slip_no, action)
    before = world.slip("dali_red")
    before_events = _events(world, slip_no)
    headers = {"Authorization": f"Bearer {_token(world, username)}"}
    with TestClient(world.app) as client:
        status = _call(client, slip_no, action, headers)
        detail = client.get(
            f"/api/slips/{slip_no}", headers={"Authorization": f"Bearer {_token(world, 'prov')}"}
        )
    assert status == expected
    after = world.slip("dali_red")
    data = detail.json()
    if expected != 200:
        assert (after.status, after.assignee, _events(world, slip_no)) == (
            before.status, before.assignee, before_events
        )  # fmt: skip
        assert not data["comments"] and not data["attachments"]
    elif action in ("comment", "attach"):
        assert (data["comments"] if action == "comment" else data["attachments"])[0]["by"] == username
    else:
        assert _events(world, slip_no) == before_events + 1
        event = data["events"][-1]
        assert event["by"] == username and event["action"] == action.removeprefix("bulk_")
        if action.endswith("assign"):
            assert after.assignee == "dali2"


@pytest.mark.parametrize(("username", "expected"), [("dali", 200), ("prov", 403)])
def test_callback_roles_are_configurable(tmp_path, helpers, template_db, username, expected) -> None:
    from pipeline.ledger import LedgerConfig
    from webapp.app import create_app

    world = helpers.build_world(tmp_path, template_db)
    app = create_app(engine=world.app.state.engine, config=world.app.state.config,
                     ledger_config=LedgerConfig(callback_roles=("unit",)))  # fmt: skip
    world.app = app
    slip_no = world.slips["dali_red"]
    _prepare(world, slip_no, "callback")
    with TestClient(app) as client:
        status = _call(client, slip_no, "callback", {"Authorization": f"Bearer {_token(world, username)}"})
    assert status == expected
    world.app.state.engine.dispose()


@pytest.mark.parametrize("username", ["prov", "dali", "kunming", "audit"])
def test_page_actions_follow_the_same_rules(world, helpers, client_for, username: str) -> None:
    slip_no = world.slips["dali_red"]
    client = client_for(username)
    detail = client.get(f"/slips/{slip_no}")
    if username == "kunming":
        assert detail.status_code == 404 and slip_no not in detail.text
        token = helpers.csrf_of(client.get("/slips").text)
    else:
        assert detail.status_code == 200
        token = helpers.csrf_of(detail.text)
    shown = {a for a in PREPARE if f'data-action="{a}"' in detail.text}
    expected_buttons = {"prov": {"acknowledge", "escalate", "assign"}, "dali": {"acknowledge", "assign"}}.get(
        username, set()
    )
    assert shown == expected_buttons
    response = client.post(
        f"/slips/{slip_no}/actions",
        data={"action": "escalate", "note": "试图督办", "csrf_token": token},
        follow_redirects=False,
    )
    if username == "kunming":
        assert response.status_code == 404
    else:
        assert response.status_code == 303
    assert world.slip("dali_red").supervised is (username == "prov")


def test_unit_user_cannot_see_other_units_anywhere(world, client_for) -> None:
    client = client_for("dali")
    other = world.slips["km_yellow"]
    queue = client.get("/slips?status=all")
    assert world.slips["dali_red"] in queue.text and other not in queue.text
    assert client.get(f"/slips/{other}").status_code == 404
    assert client.get(f"/slips/{other}/pdf").status_code == 404
    assert client.get("/slips?unit=昆明供电局").text.count('data-slip="') == 0
    with world.factory() as session:
        token = issue_token(session, "dali")
        session.commit()
    api = TestClient(world.app)
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get(f"/api/slips/{other}", headers=headers).status_code == 404
    listing = api.get("/api/slips?status=all", headers=headers).json()
    assert {item["unit"] for item in listing["items"]} == {"大理供电局"}
    assert api.get("/api/slips/YJ19990101-0001", headers=headers).status_code == 404
    api.close()


def test_auditor_reads_everything_but_sees_no_action_forms(world, client_for) -> None:
    client = client_for("audit")
    queue = client.get("/slips")
    assert all(no in queue.text for no in world.slips.values())
    detail = client.get(f"/slips/{world.slips['km_orange']}")
    assert detail.status_code == 200 and "action-form" not in detail.text and "只读" in detail.text


def test_api_needs_a_valid_token(world) -> None:
    with TestClient(world.app) as client:
        assert client.get("/api/slips").status_code == 401
        assert client.get("/api/slips", headers={"Authorization": "Bearer cst_forged"}).status_code == 401
        cookie_only = client.get("/api/slips", cookies={"complaints_session": "x"})
        assert cookie_only.status_code == 401

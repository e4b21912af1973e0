"""What staff expect: assignment and 我的待办, bulk 签收/转派, appended notes, comments, photos, notices,
Chinese file names and confirmations."""

from __future__ import annotations

import re
from urllib.parse import unquote

from fastapi.testclient import TestClient

from pipeline import ledger
from pipeline.slips import apply_action
from pipeline.storage.models import User

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 128


def _post(client, helpers, url: str, data: dict, page: str | None = None, **kwargs):
    token = helpers.csrf_of(client.get(page or "/slips").text)
    return client.post(url, data=data | {"csrf_token": token}, **kwargs)


def test_acknowledging_makes_me_the_assignee_and_fills_my_todo(world, client_for, helpers) -> None:
    dali, dali2 = client_for("dali"), client_for("dali2")
    slip_no = world.slips["dali_red"]
    page = _post(dali, helpers, f"/slips/{slip_no}/actions", {"action": "acknowledge"})
    assert "已签收" in page.text and world.slip("dali_red").assignee == "dali"
    mine = dali.get("/slips?mine=1&status=open").text
    assert re.findall(r'data-slip="([^"]+)"', mine) == [slip_no] and "我的待办" in mine
    assert re.findall(r'data-slip="([^"]+)"', dali2.get("/slips?mine=1").text) == []

    moved = _post(dali, helpers, f"/slips/{slip_no}/actions", {"action": "assign", "assignee": "dali2"})
    assert "已转派：处理人 dali2" in moved.text
    assert re.findall(r'data-slip="([^"]+)"', dali2.get("/slips?mine=1").text) == [slip_no]
    refused = _post(dali, helpers, f"/slips/{slip_no}/actions", {"action": "assign", "assignee": "kunming"})
    assert "在用账号" in refused.text and world.slip("dali_red").assignee == "dali2"


def test_bulk_acknowledge_and_assign_on_the_queue(world, client_for, helpers) -> None:
    dali = client_for("dali")
    numbers = [world.slips["dali_red"], world.slips["dali_orange"]]
    queue = dali.get("/slips")
    assert 'id="bulk-ack"' in queue.text
    done = _post(
        dali, helpers, "/slips/bulk", {"action": "acknowledge", "slip_no": numbers, "back": "/slips"}
    )
    assert "已签收 2 张预警单" in done.text
    assert {world.slip(n).status for n in ("dali_red", "dali_orange")} == {"acknowledged"}
    again = _post(dali, helpers, "/slips/bulk", {"action": "acknowledge", "slip_no": numbers[:1]})
    assert "1 张未能签收" in again.text
    moved = _post(
        dali, helpers, "/slips/bulk", {"action": "assign", "assignee": "dali2", "slip_no": numbers + ["YJ1"]}
    )
    assert "已转派 2 张" in moved.text and "YJ1（不存在）" in moved.text
    assert {world.slip(n).assignee for n in ("dali_red", "dali_orange")} == {"dali2"}
    audit = client_for("audit").get("/slips").text
    assert 'id="bulk-ack"' not in audit and 'name="slip_no"' not in audit


def test_handling_notes_are_appended_never_replaced(world, client_for, helpers) -> None:
    slip_no = world.slips["km_orange"]
    with world.factory() as session:
        apply_action(session, slip_no, "acknowledge", "kunming", None)
        apply_action(session, slip_no, "handle", "kunming", "已联系客户，约定周三装表")
        apply_action(session, slip_no, "handle", "kunming", "周三已装表，客户电话13612345678")
        session.commit()
    html = client_for("kunming").get(f"/slips/{slip_no}").text
    section = html[html.index('id="handling"') :]
    assert "约定周三装表" in section and "周三已装表" in section
    assert "13612345678" not in html and "136****5678" in html, "numbers in notes are masked on display"


def test_comments_are_kept_and_masked(world, client_for, helpers) -> None:
    slip_no = world.slips["dali_red"]
    client = client_for("dali")
    page = _post(client, helpers, f"/slips/{slip_no}/comments", {"body": "客户另留电话13712345678，下午联系"})
    assert "评论已发表" in page.text and "137****5678" in page.text and "13712345678" not in page.text
    empty = _post(client, helpers, f"/slips/{slip_no}/comments", {"body": "  "})
    assert "评论内容不能为空" in empty.text


def test_photo_upload_checks_type_and_size_and_stays_in_the_unit(
    world, client_for, helpers, data_home
) -> None:
    slip_no = world.slips["dali_red"]
    client = client_for("dali")
    token = helpers.csrf_of(client.get(f"/slips/{slip_no}").text)

    def upload(name: str, data: bytes, kind: str):
        return client.post(
            f"/slips/{slip_no}/attachments",
            data={"csrf_token": token},
            files={"file": (name, data, kind)},
        )

    assert "只能上传" in upload("notes.png", b"<html>not an image</html>", "image/png").text
    big = b"\xff\xd8\xff" + b"\x00" * (ledger.LedgerConfig().attachment_max_bytes + 10)
    assert "不能超过" in upload("big.jpg", big, "image/jpeg").text
    ok = upload("../../现场照片.png", PNG, "image/png")
    assert "照片已上传" in ok.text
    link = re.search(rf'href="(/slips/{slip_no}/attachments/\d+)"', ok.text).group(1)
    photo = client.get(link)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
    assert photo.headers["x-content-type-options"] == "nosniff" and photo.content == PNG
    stored = list((data_home / "attachments").rglob("*.png"))
    assert len(stored) == 1 and ".." not in str(stored[0].relative_to(data_home))
    assert client_for("kunming").get(link).status_code == 404


def test_in_app_notices_for_red_and_due_soon_slips(world, client_for, helpers) -> None:
    with world.factory() as session:
        added = ledger.refresh_notifications(session)
        again = ledger.refresh_notifications(session)
        session.commit()
        users = {u.username: u for u in session.query(User).all()}
        dali_notes = [n.text for n, _ in ledger.notifications_for(session, users["dali"])]
        km_notes = ledger.notifications_for(session, users["kunming"])
        audit_notes = ledger.notifications_for(session, users["audit"])
    assert added > 0 and again == 0, "one notice per user, slip and kind"
    assert any(world.slips["dali_red"] in t and "新红色预警" in t for t in dali_notes)
    assert not km_notes and not audit_notes
    client = client_for("dali")
    queue = client.get("/slips").text
    assert re.search(r'id="unread">\d+<', queue)
    page = client.get("/notifications")
    assert world.slips["dali_red"] in page.text
    read = _post(client, helpers, "/notifications/read", {}, page="/notifications")
    assert "已将" in read.text and 'id="unread"' not in read.text


def test_excel_file_name_and_confirmations_are_chinese(world, client_for, helpers) -> None:
    response = client_for("prov").get("/ledger.xlsx")
    disposition = response.headers["content-disposition"]
    assert "预警单台账-" in unquote(disposition.split("filename*=UTF-8''")[1])
    slip_no = world.slips["dali_orange"]
    with world.factory() as session:
        apply_action(session, slip_no, "acknowledge", "dali", None)
        apply_action(session, slip_no, "handle", "dali", "已校验电表")
        session.commit()
    page = _post(
        client_for("prov"),
        helpers,
        f"/slips/{slip_no}/actions",
        {"action": "callback", "callback_result": "满意"},
    )
    assert "回访结果已记录" in page.text and "已回访结果" not in page.text


def test_api_notifications_and_detail_show_assignee_and_time_left(world) -> None:
    with world.factory() as session:
        ledger.refresh_notifications(session)
        session.commit()
        from webapp.users import issue_token

        token = issue_token(session, "dali")
        session.commit()
    with TestClient(world.app) as api:
        headers = {"Authorization": f"Bearer {token}"}
        notes = api.get("/api/notifications", headers=headers).json()
        detail = api.get(f"/api/slips/{world.slips['dali_red']}", headers=headers).json()
        mine = api.get("/api/slips?mine=true", headers=headers).json()
    assert notes["unread"] >= 1 and notes["items"][0]["slip_no"]
    assert detail["remaining"].startswith("已超期") and detail["due_state"] == "overdue"
    assert detail["assignable"] == ["dali", "dali2"] and mine["total"] == 0

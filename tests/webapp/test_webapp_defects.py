"""Defects 1-9 of issue 13, each a test that failed before its fix."""

from __future__ import annotations

import csv
import io
import json
import re
from base64 import b64encode
from datetime import UTC, datetime, timedelta

import itsdangerous
import pytest
import typer
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from pipeline.slips import apply_action
from webapp.users import UserAdminError, add_user, issue_token

runner = CliRunner()
FORMULA = '=HYPERLINK("http://evil.example","点我")'


def _token(world, username: str) -> dict[str, str]:
    with world.factory() as session:
        token = issue_token(session, username)
        session.commit()
    return {"Authorization": f"Bearer {token}"}


# 1. Formula injection in exports -------------------------------------------------------------


def test_exports_write_formula_like_notes_as_text(world, client_for) -> None:
    from cli import slips as slips_cli

    slip_no = world.slips["dali_red"]
    with world.factory() as session:
        apply_action(session, slip_no, "acknowledge", "dali", None)
        apply_action(session, slip_no, "handle", "dali", FORMULA)
        session.commit()
    book = load_workbook(io.BytesIO(client_for("prov").get("/ledger.xlsx?status=all").content))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    column = header.index("处理情况")
    cells = [row[column] for row in sheet.iter_rows(min_row=2) if row[0].value == slip_no]
    assert cells and cells[0].data_type != "f"
    assert not str(cells[0].value).startswith("=")
    assert "HYPERLINK" in str(cells[0].value)

    app = typer.Typer()
    slips_cli.register(app)
    result = runner.invoke(app, ["slips", "export", "--format", "csv", "--db", world.db_url])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output.lstrip("\ufeff"))))
    mine = [r for r in rows if r["预警单编号"] == slip_no]
    assert mine and "HYPERLINK" in mine[0]["处理情况"]
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())


# 2. Logout ends the session, also for a copied cookie -------------------------------------------


def test_logout_revokes_a_copied_cookie(world, helpers, client_for) -> None:
    client = client_for("dali")
    stolen = client.cookies.get("complaints_session")
    token = helpers.csrf_of(client.get("/slips").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    with TestClient(world.app, cookies={"complaints_session": stolen}) as thief:
        response = thief.get("/slips", follow_redirects=False)
    assert response.status_code == 303 and "/login" in response.headers["location"]


# 3. Absurd paging and dates answer in Chinese, with security headers -----------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/slips?page=1e20",
        "/slips?page=100000000000000000000",
        "/slips?date_to=9999-12-31",
        "/slips?date_from=0001-01-01",
        "/ledger.xlsx?date_to=9999-12-31",
        "/ledger.xlsx?date_from=0001-01-01",
    ],
)
def test_pages_with_absurd_paging_or_dates_do_not_fail(world, client_for, url: str) -> None:
    client = client_for("prov")
    client_nofail = TestClient(world.app, raise_server_exceptions=False, cookies=client.cookies)
    response = client_nofail.get(url)
    assert response.status_code < 500, response.text[:300]
    assert "Content-Security-Policy" in response.headers
    if response.headers["content-type"].startswith("text/html"):
        assert re.search(r"[\u4e00-\u9fff]", response.text)


@pytest.mark.parametrize(
    "query", ["page=4611686018427387904", "date_to=9999-12-31", "date_from=0001-01-01", "page=abc"]
)
def test_api_with_absurd_paging_or_dates_is_422_in_chinese(world, query: str) -> None:
    with TestClient(world.app, raise_server_exceptions=False) as client:
        response = client.get(f"/api/slips?{query}", headers=_token(world, "prov"))
    assert response.status_code == 422, response.text[:300]
    assert re.search(r"[\u4e00-\u9fff]", json.dumps(response.json(), ensure_ascii=False))
    assert "Content-Security-Policy" in response.headers


def test_unexpected_error_is_a_chinese_500_with_security_headers(world, client_for, monkeypatch) -> None:
    from webapp import dashboard

    cookies = client_for("prov").cookies

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(dashboard, "totals", broken)
    with TestClient(world.app, raise_server_exceptions=False, cookies=cookies) as client:
        response = client.get("/dashboard")
    assert response.status_code == 500
    assert "服务器" in response.text and "boom" not in response.text
    assert "Content-Security-Policy" in response.headers and response.headers["X-Frame-Options"] == "DENY"


def test_404_and_405_are_chinese(world, client_for) -> None:
    client = client_for("prov")
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.text
    wrong = client.post("/dashboard")
    assert wrong.status_code == 405 and "Method Not Allowed" not in wrong.text
    assert re.search(r"[\u4e00-\u9fff]", wrong.text)
    api = TestClient(world.app).delete("/api/slips", headers=_token(world, "prov"))
    assert api.status_code == 405 and "Method Not Allowed" not in api.text


# 4. A unit name with $...$ does not break the charts ----------------------------------------------


def test_dollar_signs_in_unit_names_do_not_break_charts(world, client_for, helpers) -> None:
    odd = "测试$x^$供电局"
    spec = helpers.CallSpec(
        "GD2026112799001", odd, "某镇", "0531209900001", "outage", "red", 0.8,
        "客户：停电了，我要打12398。", [{"code": "threat_regulator", "text": "客户表示将向12398投诉", "weight": 0.9}],
        hours_ago=3,
    )  # fmt: skip
    helpers.store_calls(world.factory, [spec])
    client = client_for("prov")
    for name in ("open", "rates", "ontime", "overdue"):
        response = client.get(f"/charts/{name}.svg")
        assert response.status_code == 200, name
    assert "x^" in client.get("/charts/open.svg").text


# 5. Login hardening -----------------------------------------------------------------------------


def test_lockout_does_not_reveal_which_accounts_exist(world, helpers) -> None:
    answers = {}
    for name in ("dali", "ghost-user"):
        with TestClient(world.app) as client:
            for _ in range(3):
                helpers.login(client, name, "bad-guess-123")
            response = helpers.login(client, name, "bad-guess-123")
            text = re.sub(r'name="csrf_token" value="[^"]+"', "", response.text)
            answers[name] = (response.status_code, re.sub(r"ghost-user|dali", "", text))
    assert answers["dali"] == answers["ghost-user"]


def test_strangers_cannot_lock_the_province_account(world, helpers) -> None:
    with TestClient(world.app, client=("203.0.113.9", 40000)) as attacker:
        for _ in range(5):
            helpers.login(attacker, "prov", "wrong-password-1")
    with TestClient(world.app, client=("10.1.2.3", 50000)) as staff:
        assert helpers.login(staff, "prov").status_code == 303


def test_serve_does_not_trust_forwarded_headers_by_default(world, monkeypatch) -> None:
    import uvicorn

    from cli import web

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    app = typer.Typer()
    web.register(app)
    result = runner.invoke(app, ["serve", "--db", world.db_url, "--port", "0"])
    assert result.exit_code == 0, result.output
    assert seen.get("proxy_headers") is False


def test_client_address_ignores_forwarded_for_unless_from_a_trusted_proxy() -> None:
    from types import SimpleNamespace

    from webapp.security import client_ip

    def request(peer: str, forwarded: str | None):
        headers = {"x-forwarded-for": forwarded} if forwarded else {}
        return SimpleNamespace(client=SimpleNamespace(host=peer), headers=headers)

    assert client_ip(request("198.51.100.7", "1.2.3.4"), ()) == "198.51.100.7"
    assert client_ip(request("10.0.0.2", "1.2.3.4, 10.0.0.9"), ("10.0.0.2", "10.0.0.9")) == "1.2.3.4"


@pytest.mark.parametrize("password", ["12345678", "password", "aaaaaaaaaa", "11111111", "87654321"])
def test_weak_passwords_are_refused(world, password: str) -> None:
    with world.factory() as session, pytest.raises(UserAdminError):
        add_user(session, "weakling", password, "auditor")


def test_users_add_refuses_a_misspelled_unit(world) -> None:
    from cli import web

    app = typer.Typer()
    web.register(app)
    result = runner.invoke(
        app,
        ["users", "add", "typo", "--role", "unit", "--unit", "大理供电句", "--db", world.db_url],
        input="Typo-user-2026\n",
    )
    assert result.exit_code == 2 and "大理供电局" in result.output


# 6. The closing loop cannot be gamed ---------------------------------------------------------------


def test_no_second_callback_without_new_handling(world) -> None:
    api = TestClient(world.app)
    slip_no = world.slips["dali_orange"]
    prov, dali = _token(world, "prov"), _token(world, "dali")

    def post(body, headers):
        return api.post(f"/api/slips/{slip_no}/actions", json=body, headers=headers)

    assert post({"action": "acknowledge"}, dali).status_code == 200
    assert post({"action": "handle", "note": "已校验电表"}, dali).status_code == 200
    assert post({"action": "callback", "callback_result": "不满意"}, prov).status_code == 200
    again = post({"action": "callback", "callback_result": "满意"}, prov)
    assert again.status_code == 409 and "处理" in again.json()["detail"]
    assert post({"action": "close"}, dali).status_code == 409
    assert world.slip("dali_orange").status == "in_progress"


def test_callback_is_not_recorded_by_the_unit_that_did_the_work(world) -> None:
    api = TestClient(world.app)
    slip_no = world.slips["dali_orange"]
    dali = _token(world, "dali")
    api.post(f"/api/slips/{slip_no}/actions", json={"action": "acknowledge"}, headers=dali)
    api.post(f"/api/slips/{slip_no}/actions", json={"action": "handle", "note": "已处理"}, headers=dali)
    response = api.post(
        f"/api/slips/{slip_no}/actions", json={"action": "callback", "callback_result": "满意"}, headers=dali
    )
    assert response.status_code == 403
    assert world.slip("dali_orange").callback_result is None


def test_the_person_who_handled_cannot_record_the_callback(world) -> None:
    from pipeline.slips import SlipActionError

    slip_no = world.slips["km_orange"]
    with world.factory() as session:
        apply_action(session, slip_no, "acknowledge", "张三", None)
        apply_action(session, slip_no, "handle", "张三", "已联系客户")
        with pytest.raises(SlipActionError):
            apply_action(session, slip_no, "callback", "张三", None, "满意")


# 7. Sessions, forms and filters ---------------------------------------------------------------------


def test_relogin_returns_to_the_page_with_every_filter(world, helpers) -> None:
    with TestClient(world.app) as client:
        first = client.get("/slips?level=red&status=all&unit=大理供电局", follow_redirects=False)
        login_url = first.headers["location"]
        page = client.get(login_url)
        next_value = re.search(r'name="next" value="([^"]+)"', page.text).group(1)
        response = client.post(
            "/login",
            data={
                "username": "prov",
                "password": helpers.PASSWORD,
                "csrf_token": helpers.csrf_of(page.text),
                "next": next_value.replace("&amp;", "&"),
            },
            follow_redirects=False,
        )
        target = response.headers["location"]
    assert "level=red" in target and "status=all" in target and "unit=" in target


def _expired_cookie(csrf: str) -> str:
    """A session cookie as it looks once sign-in has lapsed: the CSRF token is there, the user is not."""
    signer = itsdangerous.TimestampSigner("test-secret")
    return signer.sign(b64encode(json.dumps({"csrf": csrf}).encode())).decode()


def test_expired_session_during_a_form_keeps_the_note(world, helpers) -> None:
    slip_no = world.slips["dali_red"]
    with TestClient(world.app) as client:
        client.cookies.set("complaints_session", _expired_cookie("tok-123"))
        response = client.post(
            f"/slips/{slip_no}/actions",
            data={"action": "acknowledge", "note": "已安排抢修班组前往河尾村", "csrf_token": "tok-123"},
        )
        assert "/login" in str(response.url)
        page = response.text
        next_value = re.search(r'name="next" value="([^"]+)"', page).group(1)
        after = client.post(
            "/login",
            data={
                "username": "dali",
                "password": helpers.PASSWORD,
                "csrf_token": helpers.csrf_of(page),
                "next": next_value,
            },
        )
    assert after.status_code == 200, after.text[:200]
    assert "已安排抢修班组前往河尾村" in after.text
    assert world.slip("dali_red").status == "issued", "nothing is done without a fresh submit"


def test_invalid_form_field_is_a_chinese_page_not_json(world, client_for, helpers) -> None:
    client = client_for("dali")
    slip_no = world.slips["dali_red"]
    token = helpers.csrf_of(client.get(f"/slips/{slip_no}").text)
    response = client.post(
        f"/slips/{slip_no}/actions",
        data={"action": "acknowledge", "version": "not-a-number", "csrf_token": token},
    )
    assert response.headers["content-type"].startswith("text/html")
    assert re.search(r"[\u4e00-\u9fff]", response.text) and '"detail"' not in response.text


def test_invalid_ledger_filter_is_refused_not_ignored(world, client_for) -> None:
    response = client_for("prov").get("/ledger.xlsx?level=purple")
    assert response.status_code == 400
    assert "预警等级" in response.text


# 8. Agent lines labelled 座席 ------------------------------------------------------------------------


def test_agent_lines_labelled_zuoxi_are_shown_as_agent(world, client_for, helpers) -> None:
    spec = helpers.CallSpec(
        "GD2026112799002", helpers.DALI, "挖色镇", "0531209900002", "outage", "orange", 0.5,
        "座席：您好，95598，请讲。\n客户：我家停电了，老人在家。\n座席：好的，马上派人。",
        [{"code": "vulnerable", "text": "涉及老人、病人等特殊群体", "weight": 0.5}],
        hours_ago=2,
    )  # fmt: skip
    [slip_no] = helpers.store_calls(world.factory, [spec])
    html = client_for("dali").get(f"/slips/{slip_no}").text
    agent = re.findall(r'<p class="turn agent">.*?</p>', html, re.S)
    assert len(agent) == 2 and "座席：" not in html


# 9. The nightly batch sends the red-slip webhook -------------------------------------------------------


def test_notify_task_sends_red_slips_and_makes_in_app_notifications(world, monkeypatch) -> None:
    from flows import notify as notify_flow

    calls = []
    monkeypatch.setattr(notify_flow.notify, "notify_new_red_slips", lambda factory: calls.append(factory))
    result = notify_flow.notify_after_store.fn(world.db_url, now=datetime.now(UTC) + timedelta(minutes=1))
    assert len(calls) == 1
    assert result["notified_in_app"] > 0
